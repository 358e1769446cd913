// The store as one command sees it: records (storage keys and values, see
// layout.ts) to get, put, remove and read in key ranges. Two kinds:
// - PublishedView: the last published commit, for reads outside a
//   transaction (what another client can see: every acknowledged write);
// - TxnView: inside a write transaction (db.transaction), on top of every
//   commit before it. Point reads are the transaction's own (tx.get); range
//   reads add the pending writes of transactions not yet published
//   (pending-writes.ts) and this one's own to the last published commit.
// What either answers stays as it is whatever the command does next: a
// copy, or bytes nothing writes again (a transaction's own write, a log
// record's). The data layer never changes a buffer it passes or receives.
import type { Database, KnownTransaction } from '../store/db.js';
import type { PendingWrites } from './pending-writes.js';

export interface StoreView {
  /** The command's clock (ms since the epoch), fixed for the whole command as Redis fixes it. */
  readonly now: number;
  readonly writable: boolean;
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  /** Whether the key was there. */
  remove(key: Buffer): boolean;
  /**
   * `put` and `remove` of a key the caller knows is (`present`) or is not
   * there, which the store then does not look up (db.ts KnownTransaction):
   * for a record whose presence follows from the layout (a list's new
   * index, a sorted set's score record).
   */
  putKnown(key: Buffer, value: Buffer, present: boolean): void;
  removeKnown(key: Buffer, present: boolean): void;
  /** Records with keys in [start, end) (end undefined: to the last), in key order (descending with `reverse`); lazy. */
  range(start: Buffer, end: Buffer | undefined, reverse?: boolean): Iterable<[Buffer, Buffer]>;
}

/** Records in [start, end) of the last published commit. */
function* publishedRange(db: Database<Buffer, Buffer>, start: Buffer, end: Buffer | undefined, reverse: boolean): Generator<[Buffer, Buffer]> {
  if (!reverse) {
    for (const { key, value } of db.getRange({ start, end })) yield [key, value];
    return;
  }
  // Reversed, getRange's `start` is the inclusive upper end: skip `end` itself, stop below `start`.
  for (const { key, value } of db.getRange({ start: end, reverse: true })) {
    if (end !== undefined && key.equals(end)) continue;
    if (Buffer.compare(key, start) < 0) return;
    yield [key, value];
  }
}

export class PublishedView implements StoreView {
  readonly writable = false;
  constructor(
    private readonly db: Database<Buffer, Buffer>,
    readonly now: number,
  ) {}

  get(key: Buffer): Buffer | undefined {
    return this.db.getSync(key);
  }

  put(): void {
    throw new Error('a read-only view was written');
  }

  remove(): boolean {
    throw new Error('a read-only view was written');
  }

  putKnown(): void {
    throw new Error('a read-only view was written');
  }

  removeKnown(): void {
    throw new Error('a read-only view was written');
  }

  range(start: Buffer, end: Buffer | undefined, reverse = false): Iterable<[Buffer, Buffer]> {
    return publishedRange(this.db, start, end, reverse);
  }
}

export class TxnView implements StoreView {
  readonly writable = true;
  constructor(
    private readonly tx: KnownTransaction<Buffer, Buffer>,
    private readonly db: Database<Buffer, Buffer>,
    private readonly pending: PendingWrites,
    /** This transaction's number in `pending`. */
    private readonly owner: number,
    public now: number,
  ) {}

  // The data layer's keys and values are Buffers it never changes: they pass uncopied (db.ts `getOwned`).
  get(key: Buffer): Buffer | undefined {
    return this.tx.getOwned(key);
  }

  put(key: Buffer, value: Buffer): void {
    this.tx.putOwned(key, value);
    this.pending.set(key, value, this.owner);
  }

  remove(key: Buffer): boolean {
    const existed = this.tx.remove(key);
    this.pending.set(key, undefined, this.owner);
    return existed;
  }

  putKnown(key: Buffer, value: Buffer, present: boolean): void {
    this.tx.putKnown(key, value, present);
    this.pending.set(key, value, this.owner);
  }

  removeKnown(key: Buffer, present: boolean): void {
    this.tx.removeKnown(key, present);
    this.pending.set(key, undefined, this.owner);
  }

  *range(start: Buffer, end: Buffer | undefined, reverse = false): Generator<[Buffer, Buffer]> {
    const stored = publishedRange(this.db, start, end, reverse)[Symbol.iterator]();
    const newer = this.pending.range(start, end, reverse)[Symbol.iterator]();
    const sign = reverse ? -1 : 1;
    let a = stored.next();
    let b = newer.next();
    while (!a.done || !b.done) {
      const order = a.done ? 1 : b.done ? -1 : sign * Buffer.compare(a.value[0], b.value[0]);
      if (order < 0) {
        yield a.value;
        a = stored.next();
        continue;
      }
      const [key, value] = b.value!;
      if (value !== undefined) yield [key, value];
      if (order === 0) a = stored.next();
      b = newer.next();
    }
  }

  /**
   * Runs `fn` (one command of EXEC or of a write group); if it throws, its
   * writes are undone, in the store's transaction and in the pending
   * writes, and the error thrown on. Nothing is read to make this possible:
   * both keep a journal of what `fn` replaced.
   */
  nested<T>(fn: () => T): T {
    return this.pending.nested(this.owner, () => this.tx.nested(fn));
  }
}
