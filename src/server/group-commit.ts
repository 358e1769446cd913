// Group commit across connections. The store commits, in one transaction,
// every write issued in one event-loop turn, and starts the next commit as
// soon as one ends, with whatever has queued meanwhile. Under load that
// splits the clients in two halves that take turns: those waiting for the
// commit in flight, and those queued behind it; each commit holds about
// half of the writes in flight. A commit's cost is mostly per page
// rewritten, not per write, so fewer, larger commits give more writes per
// second.
//
// So this class holds writes while a group commits. When it ends, the
// clients it answered usually write again at once: the next group waits
// for them, until as many writes are held as the group just committed plus
// those already waiting, or for at most a quarter of the last commit's
// duration (never more than MAX_WAIT_MS), then issues every held write in
// one turn: one commit. Like PostgreSQL's commit_delay, it trades a little
// latency for larger commits; a lone client never waits (its next write is
// the whole group); no write is acknowledged before it is durable.

/** Longest pause between one group's end and the next group's start. */
const MAX_WAIT_MS = 10;

export class GroupCommit {
  private held: (() => Promise<unknown> | undefined)[] = [];
  private committing = false;
  private timer: NodeJS.Timeout | undefined;
  private immediate = false;
  /** While waiting: issue once this many writes are held. */
  private target = 1;
  private lastDuration = 0;

  /** Issues `start` (a store write) with the next group; resolves or rejects as it does. */
  add<T>(start: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.held.push(() => {
        let p: Promise<T>;
        try {
          p = start();
        } catch (e) {
          reject(e);
          return undefined;
        }
        p.then(resolve, reject);
        return p;
      });
      if (this.committing) return;
      if (this.timer && this.held.length >= this.target) {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.issueSoon();
      } else if (!this.timer) {
        this.issueSoon();
      }
    });
  }

  /** After this turn, so that every write of the turn joins the group. */
  private issueSoon(): void {
    if (this.immediate) return;
    this.immediate = true;
    setImmediate(() => {
      this.immediate = false;
      this.issue();
    });
  }

  private issue(): void {
    if (this.held.length === 0) return;
    const group = this.held;
    this.held = [];
    this.committing = true;
    const started = performance.now();
    Promise.allSettled(group.map((issue) => issue())).then(() => {
      this.committing = false;
      this.lastDuration = performance.now() - started;
      this.target = group.length + this.held.length;
      if (this.held.length >= this.target) this.issueSoon();
      else this.timer = setTimeout(() => {
        this.timer = undefined;
        this.issue();
      }, Math.min(MAX_WAIT_MS, this.lastDuration / 4));
    });
  }
}
