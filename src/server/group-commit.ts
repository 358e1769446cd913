// Group commit across connections: the writes every connection issues in
// one event-loop turn are handed to the store together, after the turn, so
// that the puts among them join one batch (keyspace.ts) and the store
// commits them in one transaction.
//
// It does not hold writes back while a commit is in flight: the store
// prepares the next commit while the one before is written and synced
// (src/store/writer.ts), and whatever queues meanwhile joins that next
// commit. An earlier version waited for the commit in flight, then for the
// clients it answered, to make commits larger; with the store's log a
// commit costs per key rather than per page rewritten, and the wait only
// left the store idle (SET under redis-benchmark went from about 150k/s to
// about 160k/s without it). No write is acknowledged before it is durable.

export class GroupCommit {
  private held: (() => void)[] = [];

  /** Issues `start` (a store write) after this turn, with the turn's other writes; resolves or rejects as it does. */
  add<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.held.length === 0) setImmediate(() => this.issue());
      this.held.push(() => {
        try {
          start().then(resolve, reject);
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  private issue(): void {
    const group = this.held;
    this.held = [];
    for (const issue of group) issue();
  }
}
