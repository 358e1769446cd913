// The log in memory: for each key the log has changed since the last
// checkpoint, its versions, newest first, each tagged with the txid of the
// commit that logged it. A snapshot of txid S sees, for such a key, the
// newest version with txid <= S, and the tree (at its own root) for every
// other key. A checkpoint (writer.ts) folds the latest versions into the tree
// and starts a new, empty overlay; snapshots taken before keep the old one,
// which nothing changes any more.
//
// Every read of a store with a log asks here first, and every logged commit
// writes here, so the overlay is laid out for the memory cache rather than
// as objects (on this kind of VM a random memory access costs more than the
// instructions around it):
// - `slots`, an open-addressing table of [hash, row + 1] (FNV-1a, 32 bits;
//   0 marks an empty slot), at most half full;
// - `rows`, four numbers per key, its newest version: where its bytes are in
//   the arena, the key's length, the value's length (-1: removed), the txid;
// - the arena: each version's key and value bytes, back to back, copied in
//   (so a version holds neither a log page nor a client's read buffer);
// - `older`: for a key overwritten while a snapshot may still read an older
//   version, those versions, newest first. Most keys have none.
// A lookup whose snapshot sees the newest version touches one slot, one row
// and one run of arena bytes, and a commit's record the same.
//
// Invariants:
// - a key, once in the overlay, keeps its row until the overlay is replaced;
// - a key's versions are its row and then its `older` chain, txids falling;
//   only versions no snapshot can see are dropped: those below the newest
//   one with txid <= the oldest snapshot's;
// - `delta` is what the log adds to the tree's count of keys: the meta's
//   `entries` minus the keys in the tree's leaves.
import { LogKind, countDelta, type LogRecord } from './log.js';

/**
 * What the log holds for a key as a snapshot sees it: the value's bytes,
 * null where the key was removed, undefined where the log has no say (the
 * tree decides).
 */
export type Recent = Buffer | null | undefined;

/** A version older than a key's newest. */
interface Older {
  txid: number;
  /** Where its key and value start in the arena. */
  at: number;
  /** -1: removed. */
  valueLength: number;
  older: Older | undefined;
}

/** Arena chunk size: far above the largest log record, so every version fits in one chunk. */
const CHUNK = 1 << 20;
const ROW = 4;
const ROW_AT = 0;
const ROW_KEY_LENGTH = 1;
const ROW_VALUE_LENGTH = 2;
const ROW_TXID = 3;

export class Overlay {
  private slots = new Int32Array(2 * 1024);
  private rows = new Float64Array(ROW * 512);
  /** Each row's hash, for growing `slots`. */
  private hashes = new Int32Array(512);
  private count = 0;
  private readonly older = new Map<number, Older>();
  private readonly chunks: Buffer[] = [];
  private used = CHUNK;
  /** Rows in key order, rebuilt when a key joins; never changed once handed out. */
  private ordered: number[] | undefined;
  delta = 0;

  /** Keys the log has changed (removed ones included). */
  get size(): number {
    return this.count;
  }

  /** `key` as a snapshot of `txid` sees it in the log. */
  find(key: Buffer, txid: number): Recent {
    const row = this.rowOf(key, hashOf(key));
    return row < 0 ? undefined : this.versionAt(row, txid);
  }

  /** Row `row`'s key as a snapshot of `txid` sees it. */
  versionAt(row: number, txid: number): Recent {
    const r = row * ROW;
    const rows = this.rows;
    const keyLength = rows[r + ROW_KEY_LENGTH];
    if (rows[r + ROW_TXID] <= txid) return this.bytes(rows[r + ROW_AT] + keyLength, rows[r + ROW_VALUE_LENGTH]);
    let v = this.older.get(row);
    while (v && v.txid > txid) v = v.older;
    return v && this.bytes(v.at + keyLength, v.valueLength);
  }

  /** Row `row`'s key (a view of the arena). */
  keyAt(row: number): Buffer {
    const r = row * ROW;
    return this.bytes(this.rows[r + ROW_AT], this.rows[r + ROW_KEY_LENGTH])!;
  }

  /**
   * Adds the records of commit `txid`, dropping versions that no snapshot
   * can see: below the newest one with txid <= `oldestSnapshot`.
   */
  apply(records: LogRecord[], txid: number, oldestSnapshot: number): void {
    for (const rec of records) {
      const h = hashOf(rec.key);
      let row = this.rowOf(rec.key, h);
      const at = this.copyIn(rec.key, rec.value);
      const valueLength = rec.kind === LogKind.Remove ? -1 : rec.value!.length;
      if (row < 0) row = this.add(h);
      else this.keepOlder(row, txid, oldestSnapshot);
      const r = row * ROW;
      this.rows[r + ROW_AT] = at;
      this.rows[r + ROW_KEY_LENGTH] = rec.key.length;
      this.rows[r + ROW_VALUE_LENGTH] = valueLength;
      this.rows[r + ROW_TXID] = txid;
      this.delta += countDelta(rec.kind);
    }
  }

  /** Every row, in key order. */
  sorted(): number[] {
    if (!this.ordered) {
      // Sorted as latin1 strings (one char per byte, so string order is the
      // tree's key order): the built-in string sort took about 28 ms for
      // 65,000 keys here, a comparator of bytes about 40.
      const byId = new Map<string, number>();
      for (let row = 0; row < this.count; row++) byId.set(this.keyAt(row).toString('latin1'), row);
      this.ordered = [...byId.keys()].sort().map((id) => byId.get(id)!);
    }
    return this.ordered;
  }

  /**
   * Row `row` is about to take a version of txid `txid`: moves its newest
   * version to `older` if a snapshot may still read it, and drops what none can.
   */
  private keepOlder(row: number, txid: number, oldestSnapshot: number): void {
    const r = row * ROW;
    const newestTxid = this.rows[r + ROW_TXID];
    if (txid <= oldestSnapshot) {
      // Every snapshot sees the version being added (a replay at open).
      if (this.older.size > 0) this.older.delete(row);
      return;
    }
    // The newest stays readable (it is at or below the oldest snapshot, or newer still).
    const kept: Older = { txid: newestTxid, at: this.rows[r + ROW_AT], valueLength: this.rows[r + ROW_VALUE_LENGTH], older: undefined };
    if (newestTxid > oldestSnapshot) {
      kept.older = this.older.get(row);
      for (let v = kept.older; v; v = v.older) {
        if (v.txid <= oldestSnapshot) {
          v.older = undefined;
          break;
        }
      }
    }
    this.older.set(row, kept);
  }

  /** `length` bytes of the arena from `at`; null for a removal's length (-1). */
  private bytes(at: number, length: number): Buffer | null {
    if (length < 0) return null;
    const chunk = (at / CHUNK) | 0;
    const start = at - chunk * CHUNK;
    return this.chunks[chunk].subarray(start, start + length);
  }

  /** `key`'s row, or -1. */
  private rowOf(key: Buffer, h: number): number {
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    const n = key.length;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const row = slots[2 * s + 1] - 1;
      if (row < 0) return -1;
      if (slots[2 * s] !== h) continue;
      const r = row * ROW;
      if (this.rows[r + ROW_KEY_LENGTH] !== n) continue;
      const at = this.rows[r + ROW_AT];
      const chunk = (at / CHUNK) | 0;
      if (sameBytes(this.chunks[chunk], at - chunk * CHUNK, key)) return row;
    }
  }

  /** A new key's row (its numbers set by the caller). */
  private add(h: number): number {
    const row = this.count++;
    this.ordered = undefined;
    if (row === this.hashes.length) {
      const hashes = new Int32Array(2 * row);
      hashes.set(this.hashes);
      this.hashes = hashes;
      const rows = new Float64Array(2 * row * ROW);
      rows.set(this.rows);
      this.rows = rows;
    }
    this.hashes[row] = h;
    if (2 * this.count > this.slots.length >> 1) this.rehash(this.slots.length * 2);
    else place(this.slots, h, row);
    return row;
  }

  private rehash(length: number): void {
    this.slots = new Int32Array(length);
    for (let row = 0; row < this.count; row++) place(this.slots, this.hashes[row], row);
  }

  /** Copies `key` then `value` into the arena, back to back; returns where they start (chunk * CHUNK + offset). */
  private copyIn(key: Buffer, value: Buffer | undefined): number {
    const n = key.length + (value?.length ?? 0);
    if (this.used + n > CHUNK) {
      this.chunks.push(Buffer.allocUnsafeSlow(Math.max(CHUNK, n)));
      this.used = 0;
    }
    const chunk = this.chunks[this.chunks.length - 1];
    const start = this.used;
    key.copy(chunk, start);
    value?.copy(chunk, start + key.length);
    this.used += n;
    return (this.chunks.length - 1) * CHUNK + start;
  }
}

/** Puts `row` in the first free slot from `h`'s. */
function place(slots: Int32Array, h: number, row: number): void {
  const mask = (slots.length >> 1) - 1;
  let s = h & mask;
  while (slots[2 * s + 1] !== 0) s = (s + 1) & mask;
  slots[2 * s] = h;
  slots[2 * s + 1] = row + 1;
}

/** FNV-1a over the bytes: 32 bits. */
export function hashOf(key: Buffer): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key[i], 0x01000193);
  return h | 0;
}

/** Whether `chunk[at..]` starts with `key`'s bytes (compared in place: no view per probe). */
function sameBytes(chunk: Buffer, at: number, key: Buffer): boolean {
  for (let i = 0; i < key.length; i++) if (chunk[at + i] !== key[i]) return false;
  return true;
}
