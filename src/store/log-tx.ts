// A write transaction that the log can take (log.ts): it collects each
// key's final state in this commit, reading through the last commit (log
// and tree) for keys it has not touched. Nothing is written until
// writer.ts decides the commit goes to the log, or runs the commit again on
// a tree transaction (tx.ts) instead.
//
// A server's commit is a few hundred SETs, each of which passes through
// here, so changes are kept as the overlay keeps versions (overlay.ts):
// an open-addressing table of change numbers by key hash, and per change the
// key's and the value's byte ranges in the buffers they came in (a packed
// batch, or a transaction's Buffers), not views or strings of them.
//
// Invariants: a key has at most one change; `slots` is at most half full;
// a change's ranges stay valid until the commit is written (a batch is not
// changed once the writer has taken it; what outlives the commit copies
// them: the overlay into its arena, a tree commit into pages).
import { LogKind, loggable, type LogRecord } from '../format/log.js';
import { hashOf, place, sameBytes } from './overlay.js';
import type { Snapshot } from './snapshot.js';

/** -1 in `valueLen`: the change removes the key. */
const REMOVED = -1;
const EMPTY = Buffer.alloc(0);

export class LogTx {
  /** [hash, change + 1] pairs; 0 marks an empty slot. */
  private slots: Int32Array;
  private count = 0;
  // Per change, grown together (sized for the commit's operations, so a
  // batch's commit allocates them once).
  private hashes: Int32Array;
  private keySrc: Buffer[];
  private keyAt: Int32Array;
  private keyLen: Int32Array;
  private valueSrc: Buffer[];
  private valueAt: Int32Array;
  /** REMOVED for a removal. */
  private valueLen: Int32Array;
  /** 1 where the key was there before this commit. */
  private existed: Uint8Array;
  /** Set when a value is too long for a log record: the commit must rewrite the tree. */
  tooLarge = false;
  /** A hash table: the order keys come in costs nothing (ops.ts). */
  readonly prefersKeyOrder = false;

  /** `expected`: how many keys the commit is likely to change (its operations, if known). */
  constructor(
    private readonly base: Snapshot,
    expected = 64,
  ) {
    const n = Math.max(16, expected);
    this.hashes = new Int32Array(n);
    this.keySrc = new Array<Buffer>(n);
    this.keyAt = new Int32Array(n);
    this.keyLen = new Int32Array(n);
    this.valueSrc = new Array<Buffer>(n);
    this.valueAt = new Int32Array(n);
    this.valueLen = new Int32Array(n);
    this.existed = new Uint8Array(n);
    let slots = 64;
    while (slots < 4 * n) slots *= 2;
    this.slots = new Int32Array(2 * slots);
  }

  get size(): number {
    return this.count;
  }

  get(key: Buffer): Buffer | undefined {
    const c = this.changeOf(key, 0, key.length, hashOf(key));
    if (c < 0) return this.base.get(key);
    const len = this.valueLen[c];
    return len === REMOVED ? undefined : this.valueSrc[c].subarray(this.valueAt[c], this.valueAt[c] + len);
  }

  put(key: Buffer, value: Buffer): void {
    this.set(key, 0, key.length, value, 0, value.length);
  }

  /** The same as `put` for bytes in a packed batch (packed.ts): ranges of it, not views. */
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    this.set(src, keyStart, keyLen, src, valueStart, valueLen);
  }

  /** `put` of a key the caller has just read through this transaction: `existed` is what it found (ops.ts applyWrites), so no lookup counts it. */
  putKnown(key: Buffer, value: Buffer, existed: boolean): void {
    this.set(key, 0, key.length, value, 0, value.length, existed);
  }

  /** Whether `key` was there. */
  remove(key: Buffer): boolean {
    return this.removeKnown(key, undefined);
  }

  /** `remove`; `existed`, when the caller has just read the key through this transaction, spares the lookup. */
  removeKnown(key: Buffer, existed: boolean | undefined): boolean {
    const h = hashOf(key);
    const c = this.changeOf(key, 0, key.length, h);
    if (c >= 0) {
      const had = this.valueLen[c] !== REMOVED;
      this.valueLen[c] = REMOVED;
      return had;
    }
    const there = existed ?? this.base.holds(key, 0, key.length, h);
    if (there) this.add(key, 0, key.length, h, EMPTY, 0, REMOVED, true);
    return there;
  }

  /**
   * The changes that make log records, in the order they were made: all
   * but removals of keys that were not there.
   */
  recordChanges(): Int32Array {
    const out = new Int32Array(this.count);
    let n = 0;
    for (let c = 0; c < this.count; c++) {
      if (this.valueLen[c] !== REMOVED || this.existed[c] !== 0) out[n++] = c;
    }
    return out.subarray(0, n);
  }

  /**
   * Change `c` as a log record (what it did to the key since the last
   * commit), written into `rec` and returned: a commit reuses one record
   * for all its changes, so that thousands of them are not kept as objects
   * across the turns its preparation takes. Valid until the next call.
   */
  recordOf(c: number, rec: LogRecord): LogRecord {
    const removed = this.valueLen[c] === REMOVED;
    rec.kind = removed ? LogKind.Remove : this.existed[c] === 1 ? LogKind.Overwrite : LogKind.Insert;
    rec.keySrc = this.keySrc[c];
    rec.keyAt = this.keyAt[c];
    rec.keyLen = this.keyLen[c];
    rec.valueSrc = this.valueSrc[c];
    rec.valueAt = this.valueAt[c];
    rec.valueLen = removed ? 0 : this.valueLen[c];
    rec.hash = this.hashes[c];
    return rec;
  }

  /**
   * Reads what it needs (whether the key was there, unless `known` says)
   * before it changes anything: a page that cannot be read leaves this as
   * it was.
   */
  private set(keySrc: Buffer, keyAt: number, keyLen: number, valueSrc: Buffer, valueAt: number, valueLen: number, known?: boolean): void {
    const h = hashOf(keySrc, keyAt, keyLen);
    const c = this.changeOf(keySrc, keyAt, keyLen, h);
    const existed = c < 0 && (known ?? this.base.holds(keySrc, keyAt, keyLen, h));
    if (!loggable(valueLen, this.base.store.pageSize)) this.tooLarge = true;
    if (c >= 0) {
      this.valueSrc[c] = valueSrc;
      this.valueAt[c] = valueAt;
      this.valueLen[c] = valueLen;
      return;
    }
    this.add(keySrc, keyAt, keyLen, h, valueSrc, valueAt, valueLen, existed);
  }

  private add(keySrc: Buffer, keyAt: number, keyLen: number, h: number, valueSrc: Buffer, valueAt: number, valueLen: number, existed: boolean): void {
    const c = this.count++;
    if (c === this.hashes.length) this.grow();
    this.hashes[c] = h;
    this.keySrc[c] = keySrc;
    this.keyAt[c] = keyAt;
    this.keyLen[c] = keyLen;
    this.valueSrc[c] = valueSrc;
    this.valueAt[c] = valueAt;
    this.valueLen[c] = valueLen;
    this.existed[c] = existed ? 1 : 0;
    if (2 * this.count > this.slots.length >> 1) {
      this.slots = new Int32Array(2 * this.slots.length);
      for (let i = 0; i < this.count; i++) place(this.slots, this.hashes[i], i);
    } else {
      place(this.slots, h, c);
    }
  }

  /** Doubles the room for changes. */
  private grow(): void {
    const n = 2 * this.hashes.length;
    const wider = (a: Int32Array) => {
      const b = new Int32Array(n);
      b.set(a);
      return b;
    };
    this.hashes = wider(this.hashes);
    this.keyAt = wider(this.keyAt);
    this.keyLen = wider(this.keyLen);
    this.valueAt = wider(this.valueAt);
    this.valueLen = wider(this.valueLen);
    const existed = new Uint8Array(n);
    existed.set(this.existed);
    this.existed = existed;
    this.keySrc.length = n;
    this.valueSrc.length = n;
  }

  /** The change of the key `src[at, at + len)` (`h` its hash), or -1. */
  private changeOf(src: Buffer, at: number, len: number, h: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const c = slots[2 * s + 1] - 1;
      if (c < 0) return -1;
      if (slots[2 * s] !== h || this.keyLen[c] !== len) continue;
      if (sameBytes(this.keySrc[c], this.keyAt[c], src, at, len)) return c;
    }
  }
}
