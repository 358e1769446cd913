// The store as one command sees it: records (storage keys and values, see
// layout.ts) to get, put, remove and read in key ranges. Two kinds:
// - PublishedView: the last published commit, for reads outside a
//   transaction (what another client can see: every acknowledged write);
// - TxnView: inside a write transaction (db.transaction), on top of every
//   commit before it. Point reads are the transaction's own (tx.get); range
//   reads add the pending writes of transactions not yet published
//   (pending-writes.ts) and this one's own to the last published commit.
// Both answer copies: what a command holds stays valid whatever it does next.
import type { Database, Transaction } from '../store/db.js';
import type { PendingWrites } from './pending-writes.js';

export interface StoreView {
  /** The command's clock (ms since the epoch), fixed for the whole command as Redis fixes it. */
  readonly now: number;
  readonly writable: boolean;
  get(key: Buffer): Buffer | undefined;
  /** `absent`: the caller knows the key holds nothing now (a savepoint then need not look). */
  put(key: Buffer, value: Buffer, absent?: boolean): void;
  /** Whether the key was there. */
  remove(key: Buffer): boolean;
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

  range(start: Buffer, end: Buffer | undefined, reverse = false): Iterable<[Buffer, Buffer]> {
    return publishedRange(this.db, start, end, reverse);
  }
}

/** What a savepoint keeps of one key the command wrote: its record and its pending entry before. */
interface Undo {
  key: Buffer;
  before: Buffer | undefined;
  pendingBefore: { value: Buffer | undefined } | undefined;
}

export class TxnView implements StoreView {
  readonly writable = true;
  /** While a savepoint is open (EXEC runs several commands): what each written key was before it. */
  private undo: Map<string, Undo> | undefined;
  /** The map `undo` is while a savepoint is open, reused: a write group opens one per command. */
  private readonly undoMap = new Map<string, Undo>();
  /**
   * The last key read and what it held, until the next write: a command
   * reads a record just before it writes it (a member's, the metadata's),
   * and the savepoint then needs that value, not a second lookup.
   */
  private lastKey: Buffer | undefined;
  private lastValue: Buffer | undefined;

  constructor(
    private readonly tx: Transaction<Buffer, Buffer>,
    private readonly db: Database<Buffer, Buffer>,
    private readonly pending: PendingWrites,
    /** This transaction's number in `pending`. */
    private readonly owner: number,
    public now: number,
  ) {}

  get(key: Buffer): Buffer | undefined {
    const value = this.tx.get(key);
    if (this.undo !== undefined) {
      this.lastKey = key;
      this.lastValue = value;
    }
    return value;
  }

  put(key: Buffer, value: Buffer, absent = false): void {
    this.saving(key, absent);
    this.tx.put(key, value);
    this.pending.set(key, value, this.owner);
  }

  remove(key: Buffer): boolean {
    this.saving(key);
    const existed = this.tx.remove(key);
    this.pending.set(key, undefined, this.owner);
    return existed;
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

  /** Starts recording what the next writes change, so that `rollback` can undo them. */
  savepoint(): void {
    this.undoMap.clear();
    this.undo = this.undoMap;
    this.lastKey = undefined;
  }

  /** Keeps the writes since `savepoint`. */
  release(): void {
    this.undo = undefined;
    this.lastKey = undefined;
  }

  /** Undoes the writes since `savepoint` (a command of an EXEC that failed). */
  rollback(): void {
    const undo = this.undo;
    this.undo = undefined;
    this.lastKey = undefined;
    if (undo === undefined) return;
    for (const { key, before, pendingBefore } of undo.values()) {
      if (before === undefined) this.tx.remove(key);
      else this.tx.put(key, before);
      this.pending.restore(key, this.owner, pendingBefore?.value, pendingBefore === undefined);
    }
  }

  private saving(key: Buffer, absent = false): void {
    const undo = this.undo;
    if (undo === undefined) return;
    // Whatever is written next, what was read before no longer holds.
    const lastKey = this.lastKey;
    this.lastKey = undefined;
    const id = key.toString('latin1');
    if (undo.has(id)) return;
    const before = absent ? undefined : lastKey !== undefined && lastKey.equals(key) ? this.lastValue : this.tx.get(key);
    undo.set(id, { key, before, pendingBefore: this.pending.own(key, this.owner) });
  }
}
