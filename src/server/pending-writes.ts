// The writes of transactions that have run but whose commit is not yet
// published, in key order: what a transaction's range read must add to the
// last published commit to see the store as its own point reads (tx.get) do.
//
// Why: a write transaction (db.transaction) runs when the store prepares
// its commit, on top of every commit before it, published or not; its
// `get`s see all of them, but a range read (db.getRange) sees only the last
// published commit. Every server write that a range read may need (hashes,
// lists, sets, sorted sets, expiry records: everything but plain string
// puts) goes through a transaction (keyspace.ts), which records its writes
// here as it makes them and releases them once its commit has published
// (or failed). Published + pending is then exactly what the transaction's
// gets see.
//
// What must hold:
// - entries are added in the order transactions run, which is commit order;
// - a key written by several pending transactions keeps each one's entry,
//   newest on top: releasing one (published, or failed) uncovers the one
//   below, never loses it;
// - memory is bounded by the writes in flight (two commits and the queue).
import { OrderedMap } from '@js-sdsl/ordered-map';

/** One transaction's write of a key: its value, or undefined for a removal. */
interface Entry {
  key: Buffer;
  value: Buffer | undefined;
  owner: number;
  /** The entry of an older pending transaction this one covers. */
  below: Entry | undefined;
  /** The entry of a newer pending transaction covering this one; undefined for the newest (the one in `byKey`). */
  above: Entry | undefined;
}

export class PendingWrites {
  private readonly byKey = new OrderedMap<Buffer, Entry>([], Buffer.compare);
  /**
   * The entries each owner wrote, to release them. Entries, not keys: a key
   * every transaction writes (the layout's counters) has an entry of every
   * pending transaction, and releasing the oldest, the bottom one, must not
   * walk the chain from the top.
   */
  private readonly written = new Map<number, Entry[]>();

  get size(): number {
    return this.byKey.size();
  }

  /** `owner` (a running transaction) wrote `key`. */
  set(key: Buffer, value: Buffer | undefined, owner: number): void {
    const top = this.byKey.getElementByKey(key);
    if (top?.owner === owner) {
      top.value = value;
      return;
    }
    const entry: Entry = { key, value, owner, below: top, above: undefined };
    if (top !== undefined) top.above = entry;
    this.byKey.setElement(key, entry);
    let entries = this.written.get(owner);
    if (entries === undefined) this.written.set(owner, (entries = []));
    entries.push(entry);
  }

  /** Puts back `owner`'s entry for `key` as it was (a savepoint's rollback): `before` is its value then, `absent` when it had none. */
  restore(key: Buffer, owner: number, before: Buffer | undefined, absent: boolean): void {
    if (!absent) return this.set(key, before, owner);
    // Only the running transaction rolls back, and its entry is the newest of its key.
    const top = this.byKey.getElementByKey(key);
    if (top?.owner !== owner) return;
    this.unlink(top);
    const entries = this.written.get(owner);
    const at = entries?.lastIndexOf(top) ?? -1;
    if (at >= 0) entries!.splice(at, 1);
  }

  /** `owner`'s entry for `key`: `{ value }`, or undefined when it wrote none. */
  own(key: Buffer, owner: number): { value: Buffer | undefined } | undefined {
    const top = this.byKey.getElementByKey(key);
    return top?.owner === owner ? { value: top.value } : undefined;
  }

  /** Drops `owner`'s entries: its commit published (the store has them now) or failed (nobody ever will). */
  release(owner: number): void {
    const entries = this.written.get(owner);
    if (entries === undefined) return;
    this.written.delete(owner);
    for (const entry of entries) this.unlink(entry);
  }

  /** Takes `entry` out of its key's chain: O(1), but for the newest of its key (one lookup). */
  private unlink(entry: Entry): void {
    const { above, below } = entry;
    if (below !== undefined) below.above = above;
    if (above !== undefined) {
      above.below = below;
      return;
    }
    if (below === undefined) this.byKey.eraseElementByKey(entry.key);
    else this.byKey.setElement(entry.key, below);
  }

  /** The newest pending value of each key in [start, end) (end undefined: no end; value undefined: removed), in key order, or reversed. */
  *range(start: Buffer, end: Buffer | undefined, reverse: boolean): Generator<[Buffer, Buffer | undefined]> {
    if (this.byKey.size() === 0) return;
    if (!reverse) {
      const stop = this.byKey.end();
      for (const it = this.byKey.lowerBound(start); !it.equals(stop); it.next()) {
        const [key, entry] = it.pointer;
        if (end !== undefined && Buffer.compare(key, end) >= 0) return;
        yield [key, entry.value];
      }
      return;
    }
    // reverseUpperBound: the last key below `end`, as a forward iterator stepped back with pre().
    const first = this.byKey.begin();
    const it = end === undefined ? this.byKey.find(this.byKey.back()![0]) : this.byKey.reverseUpperBound(end);
    if (it.equals(this.byKey.end())) return;
    for (;;) {
      const [key, entry] = it.pointer;
      if (Buffer.compare(key, start) < 0) return;
      yield [key, entry.value];
      if (it.equals(first)) return;
      it.pre();
    }
  }
}
