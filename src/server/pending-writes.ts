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
// - writes are added in the order transactions run, which is commit order;
// - a key written by several pending transactions keeps each one's write,
//   the newest winning: releasing one (published, or failed) uncovers the
//   one below, never loses it;
// - memory is bounded by the writes in flight (two commits and the queue).
//
// Writes are kept as each transaction made them, in arrays, with no lookup:
// nearly every write (HSET, LPUSH, SADD, ZADD) never meets a range read, and
// a map keyed by each key's bytes as a latin1 string cost them a string and
// an entry per write (about a tenth of LPUSH's time). The first range read
// builds the newest write of each key into such a map, and its keys in
// order (latin1 strings compare as their bytes do, so their order is the
// store's key order); writes keep it up to date from then on, and a
// release or an undo drops it, to be built again by the next range read.

/** One transaction's writes, in the order made: a key written again has a later entry, which wins. */
interface Written {
  keys: Buffer[];
  /** undefined: removed. */
  values: (Buffer | undefined)[];
}

export class PendingWrites {
  /** Each pending transaction's writes, by owner, in the order the transactions ran. */
  private readonly written = new Map<number, Written>();
  /** The newest pending write of each key, by its latin1 string: built by a range read, undefined until one needs it. */
  private index: Map<string, [Buffer, Buffer | undefined]> | undefined;
  /** The keys of `index` in order, built by the first range read after a key came. */
  private ordered: string[] | undefined;
  private writes = 0;

  /** Writes held (a key written twice counts twice). */
  get size(): number {
    return this.writes;
  }

  /** `owner` (a running transaction) wrote `key`. */
  set(key: Buffer, value: Buffer | undefined, owner: number): void {
    let mine = this.written.get(owner);
    if (mine === undefined) this.written.set(owner, (mine = { keys: [], values: [] }));
    mine.keys.push(key);
    mine.values.push(value);
    this.writes++;
    if (this.index !== undefined) this.indexWrite(key, value);
  }

  /**
   * Runs `fn` (a command of `owner`, the running transaction); if it
   * throws, the writes it made are taken back and the error thrown on.
   * Only the running transaction writes meanwhile. Calls nest.
   */
  nested<T>(owner: number, fn: () => T): T {
    const before = this.written.get(owner)?.keys.length ?? 0;
    try {
      return fn();
    } catch (e) {
      const mine = this.written.get(owner);
      if (mine !== undefined && mine.keys.length > before) {
        this.writes -= mine.keys.length - before;
        mine.keys.length = before;
        mine.values.length = before;
        this.dropIndex();
      }
      throw e;
    }
  }

  /** Drops `owner`'s writes: its commit published (the store has them now) or failed (nobody ever will). */
  release(owner: number): void {
    const mine = this.written.get(owner);
    if (mine === undefined) return;
    this.written.delete(owner);
    this.writes -= mine.keys.length;
    this.dropIndex();
  }

  /**
   * The newest pending value of each key in [start, end) (end undefined: no
   * end; value undefined: removed), in key order, or reversed. Keys added
   * while it iterates are not seen.
   */
  *range(start: Buffer, end: Buffer | undefined, reverse: boolean): Generator<[Buffer, Buffer | undefined]> {
    if (this.writes === 0) return;
    const index = this.buildIndex();
    const ids = (this.ordered ??= [...index.keys()].sort());
    const low = start.toString('latin1');
    const high = end?.toString('latin1');
    if (!reverse) {
      for (let i = firstAtOrAfter(ids, low); i < ids.length && (high === undefined || ids[i]! < high); i++) {
        const entry = index.get(ids[i]!);
        if (entry !== undefined) yield entry;
      }
      return;
    }
    for (let i = (high === undefined ? ids.length : firstAtOrAfter(ids, high)) - 1; i >= 0 && ids[i]! >= low; i--) {
      const entry = index.get(ids[i]!);
      if (entry !== undefined) yield entry;
    }
  }

  private buildIndex(): Map<string, [Buffer, Buffer | undefined]> {
    if (this.index !== undefined) return this.index;
    this.index = new Map();
    for (const { keys, values } of this.written.values()) for (let i = 0; i < keys.length; i++) this.indexWrite(keys[i]!, values[i]);
    return this.index;
  }

  private indexWrite(key: Buffer, value: Buffer | undefined): void {
    const id = key.toString('latin1');
    const entry = this.index!.get(id);
    if (entry !== undefined) {
      entry[1] = value;
      return;
    }
    this.index!.set(id, [key, value]);
    this.ordered = undefined;
  }

  private dropIndex(): void {
    this.index = undefined;
    this.ordered = undefined;
  }
}

/** The index of the first of `ids` (in order) at or after `id`; ids.length when none is. */
function firstAtOrAfter(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
