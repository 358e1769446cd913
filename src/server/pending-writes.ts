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
//
// Keys are held in a hash map (by their bytes as a latin1 string), and put in
// order only when a range read asks, once per set of keys: nearly every
// write (HSET, LPUSH, SADD, ZADD) never reads a range, and keeping a
// search tree in order cost them a comparison of Buffers per level on every
// write. Latin1 strings compare as their bytes do, so their order is the
// store's key order.

/** In a journal: the change made the entry (it had no value before). */
const CREATED = Symbol('created');

/** One transaction's write of a key: its value, or undefined for a removal. */
interface Entry {
  key: Buffer;
  /** `key` as a latin1 string: its name in `byKey`. */
  id: string;
  value: Buffer | undefined;
  owner: number;
  /** The entry of an older pending transaction this one covers. */
  below: Entry | undefined;
  /** The entry of a newer pending transaction covering this one; undefined for the newest (the one in `byKey`). */
  above: Entry | undefined;
}

export class PendingWrites {
  /** The newest entry of each key. */
  private readonly byKey = new Map<string, Entry>();
  /** The keys of `byKey` in order, built by the first range read after a key came or went. */
  private ordered: string[] | undefined;
  /**
   * The entries each owner wrote, to release them. Entries, not keys: a key
   * every transaction writes (the layout's counters) has an entry of every
   * pending transaction, and releasing the oldest, the bottom one, must not
   * walk the chain from the top.
   */
  private readonly written = new Map<number, Entry[]>();
  /**
   * While `nested` runs (innermost last): each change `set` made, to undo:
   * the entry, and its value before (`CREATED` when `set` made the entry).
   */
  private readonly journals: { entries: Entry[]; before: (Buffer | undefined | typeof CREATED)[] }[] = [];

  get size(): number {
    return this.byKey.size;
  }

  /** `owner` (a running transaction) wrote `key`. */
  set(key: Buffer, value: Buffer | undefined, owner: number): void {
    const id = key.toString('latin1');
    const top = this.byKey.get(id);
    if (top?.owner === owner) {
      this.journal(top, top.value);
      top.value = value;
      return;
    }
    const entry: Entry = { key, id, value, owner, below: top, above: undefined };
    if (top !== undefined) top.above = entry;
    else this.ordered = undefined;
    this.byKey.set(id, entry);
    let entries = this.written.get(owner);
    if (entries === undefined) this.written.set(owner, (entries = []));
    entries.push(entry);
    this.journal(entry, CREATED);
  }

  /**
   * Runs `fn` (a command of the running transaction); if it throws, the
   * entries it set are put back as they were and the error thrown on.
   * Only the running transaction sets entries meanwhile, so each entry it
   * made is still the newest of its key when undone. Calls nest.
   */
  nested<T>(fn: () => T): T {
    const journal = { entries: [] as Entry[], before: [] as (Buffer | undefined | typeof CREATED)[] };
    this.journals.push(journal);
    let value: T;
    try {
      value = fn();
    } catch (e) {
      this.journals.pop();
      for (let i = journal.entries.length - 1; i >= 0; i--) this.undo(journal.entries[i], journal.before[i]);
      throw e;
    }
    this.journals.pop();
    const outer = this.journals[this.journals.length - 1];
    if (outer !== undefined) {
      for (let i = 0; i < journal.entries.length; i++) {
        outer.entries.push(journal.entries[i]);
        outer.before.push(journal.before[i]);
      }
    }
    return value;
  }

  private journal(entry: Entry, before: Buffer | undefined | typeof CREATED): void {
    const journal = this.journals[this.journals.length - 1];
    if (journal === undefined) return;
    journal.entries.push(entry);
    journal.before.push(before);
  }

  /** Undoes one change of a failed `nested` call. */
  private undo(entry: Entry, before: Buffer | undefined | typeof CREATED): void {
    if (before !== CREATED) {
      entry.value = before;
      return;
    }
    this.unlink(entry);
    const entries = this.written.get(entry.owner);
    const at = entries?.lastIndexOf(entry) ?? -1;
    if (at >= 0) entries!.splice(at, 1);
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
    if (below !== undefined) {
      this.byKey.set(entry.id, below);
      return;
    }
    this.byKey.delete(entry.id);
    this.ordered = undefined;
  }

  /**
   * The newest pending value of each key in [start, end) (end undefined: no
   * end; value undefined: removed), in key order, or reversed. Keys added
   * while it iterates are not seen.
   */
  *range(start: Buffer, end: Buffer | undefined, reverse: boolean): Generator<[Buffer, Buffer | undefined]> {
    if (this.byKey.size === 0) return;
    const ids = (this.ordered ??= [...this.byKey.keys()].sort());
    const low = start.toString('latin1');
    const high = end?.toString('latin1');
    if (!reverse) {
      for (let i = firstAtOrAfter(ids, low); i < ids.length && (high === undefined || ids[i]! < high); i++) {
        const entry = this.byKey.get(ids[i]!);
        if (entry !== undefined) yield [entry.key, entry.value];
      }
      return;
    }
    for (let i = (high === undefined ? ids.length : firstAtOrAfter(ids, high)) - 1; i >= 0 && ids[i]! >= low; i--) {
      const entry = this.byKey.get(ids[i]!);
      if (entry !== undefined) yield [entry.key, entry.value];
    }
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
