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
  value: Buffer | undefined;
  owner: number;
  /** The entry of an older pending transaction this one covers. */
  below: Entry | undefined;
}

export class PendingWrites {
  private readonly byKey = new OrderedMap<Buffer, Entry>([], Buffer.compare);
  /** The keys each owner wrote, to release them. */
  private readonly written = new Map<number, Buffer[]>();

  get size(): number {
    return this.byKey.size();
  }

  /** `owner` (a running transaction) wrote `key`. */
  set(key: Buffer, value: Buffer | undefined, owner: number): void {
    const it = this.byKey.find(key);
    const top = it.equals(this.byKey.end()) ? undefined : it.pointer[1];
    if (top?.owner === owner) {
      top.value = value;
      return;
    }
    this.byKey.setElement(key, { value, owner, below: top });
    let keys = this.written.get(owner);
    if (keys === undefined) this.written.set(owner, (keys = []));
    keys.push(key);
  }

  /** Puts back `owner`'s entry for `key` as it was (a savepoint's rollback): `before` is its value then, `absent` when it had none. */
  restore(key: Buffer, owner: number, before: Buffer | undefined, absent: boolean): void {
    if (!absent) return this.set(key, before, owner);
    this.unlink(key, owner);
  }

  /** `owner`'s entry for `key`: `{ value }`, or undefined when it wrote none. */
  own(key: Buffer, owner: number): { value: Buffer | undefined } | undefined {
    const it = this.byKey.find(key);
    if (it.equals(this.byKey.end())) return undefined;
    const top = it.pointer[1];
    return top.owner === owner ? { value: top.value } : undefined;
  }

  /** Drops `owner`'s entries: its commit published (the store has them now) or failed (nobody ever will). */
  release(owner: number): void {
    const keys = this.written.get(owner);
    if (keys === undefined) return;
    this.written.delete(owner);
    for (const key of keys) this.unlink(key, owner);
  }

  private unlink(key: Buffer, owner: number): void {
    const it = this.byKey.find(key);
    if (it.equals(this.byKey.end()) || it.equals(this.byKey.rEnd())) return;
    const top = it.pointer[1];
    if (top.owner === owner) {
      if (top.below === undefined) this.byKey.eraseElementByIterator(it);
      else it.pointer[1] = top.below;
      return;
    }
    for (let e = top; e.below !== undefined; e = e.below) {
      if (e.below.owner === owner) {
        e.below = e.below.below;
        return;
      }
    }
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
