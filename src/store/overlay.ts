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
// - `slots`, an open-addressing table of [hash, row + 1, where the row's
//   newest version is in the arena] (FNV-1a, 32 bits; row + 1 = 0 marks an
//   empty slot), at most half full;
// - `rows`, eight numbers per key: its newest version (where its bytes are
//   in the arena, the key's length, the value's length (-1: removed), the
//   txid), then the version before it (where, value length, txid; txid -1:
//   none kept), then whether the tree held the key when the log first
//   changed it (its first record's kind: all but an insert), which a
//   checkpoint that cannot fold the key needs (writer.ts). A key
//   overwritten while the previous commit is not yet published keeps that
//   one there, since readers still see it;
// - the arena: each version's header (its txid, key length, value length)
//   then its key and value bytes, back to back, copied in (so a version
//   holds neither a log page nor a client's read buffer). A version's place
//   (`at`) is where its key starts; its header is the 16 bytes before, at a
//   multiple of 8, read through the chunk's Float64Array and Int32Array;
// - `older`: versions older still that a snapshot may read, newest first.
//   Most keys have none.
// A lookup whose snapshot sees the newest version touches one slot and one
// run of arena bytes (header, key, value): two cache misses where the
// table is larger than the cache, the row being a third. A commit's record
// touches its row too.
//
// Invariants:
// - a key, once in the overlay, keeps its row until the overlay is replaced;
// - a key's versions are its row's two and then its `older` chain, txids
//   falling; a key has an `older` chain only when its row holds two;
//   only versions no snapshot can see are dropped: those below the newest
//   one with txid <= the oldest snapshot's;
// - a slot's place of the newest version is its row's ROW_AT; a version's
//   header agrees with the row (or `Older`) that names it, and never changes;
// - `delta` is what the log adds to the tree's count of keys: the meta's
//   `entries` minus the keys in the tree's leaves.
import { LogKind, copyBytes, countDelta, type LogRecord } from '../format/log.js';
import { UNPACED, eachPaced, finish, type Pace, type Steps } from './pace.js';
import { sortKeys } from './sort-keys.js';

/**
 * What the log holds for a key as a snapshot sees it: the value's bytes,
 * null where the key was removed, undefined where the log has no say (the
 * tree decides).
 */
export type Recent = Buffer | null | undefined;

/** Keys and their newest versions at one moment, in key order (`Overlay.newest`). */
export interface NewestVersions {
  count: number;
  /** Key `i` (a view of the arena). */
  key(i: number): Buffer;
  /** Its value then, null where it was removed. */
  value(i: number): Buffer | null;
  /** Whether the tree held key `i` when the log first changed it. */
  treeHeld(i: number): boolean;
}

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
/** A version's header in the arena, before its key: txid (float64), key length, value length (int32, -1: removed). */
const HEADER = 16;
/** `header`'s fields: the txid (a float64 16 bytes before the key), then the int32s 8 and 4 bytes before it. */
const HEADER_TXID = 0;
const HEADER_KEY_LENGTH = 2;
const HEADER_VALUE_LENGTH = 1;
/** Numbers per slot, as int32s: hash, row + 1, then the newest version's place as a float64 (index 2 * slot + 1). */
const SLOT = 4;
const ROW = 8;
const ROW_AT = 0;
const ROW_KEY_LENGTH = 1;
const ROW_VALUE_LENGTH = 2;
const ROW_TXID = 3;
const ROW_PREV_AT = 4;
const ROW_PREV_VALUE_LENGTH = 5;
/** -1: no previous version kept. */
const ROW_PREV_TXID = 6;
/** 1 where the tree held the key when the log first changed it, else 0. */
const ROW_TREE_HELD = 7;

/**
 * Arrays whose elements are written before they are read (the rows and
 * hashes below `count`), so they need not be zeroed: a zeroed array of a
 * megabyte took 1 to 5 ms in one turn on this project's VM (a zeroing pass
 * over memory new to the process, 16 us a page fault), where these leave
 * the faults to the writes, which a commit makes in slices.
 */
const unfilledF64 = (n: number) => new Float64Array(Buffer.allocUnsafeSlow(8 * n).buffer, 0, n);
const unfilledI32 = (n: number) => new Int32Array(Buffer.allocUnsafeSlow(4 * n).buffer, 0, n);

export class Overlay {
  /** Slots: twice the rows' room, so that the table is at most half full. */
  private slots: Int32Array;
  /** `slots` as float64s: the newest version's place of slot s at 2 * s + 1. */
  private slotAt: Float64Array;
  private rows: Float64Array;
  /** Each row's hash, for growing `slots`. */
  private hashes: Int32Array;
  private count = 0;
  private readonly older = new Map<number, Older>();
  private readonly chunks: Buffer[] = [];
  /** The chunks as float64s and int32s, for the versions' headers. */
  private readonly chunkF64: Float64Array[] = [];
  private readonly chunkI32: Int32Array[] = [];
  /** Bytes used of the last chunk. */
  private used = 0;
  /** A buffer for `note` to copy the rows into (the last fold's, which it no longer reads). */
  private spare: Float64Array | undefined;
  /** Rows in key order, rebuilt when a key joins; never changed once handed out. */
  private ordered: Int32Array | undefined;
  delta = 0;

  /**
   * `expectedKeys`: room made at once, so that an overlay that replaces one
   * of that many keys (after a checkpoint) reaches that size with no
   * doubling. Each doubling copies the rows and rehashes every key in one
   * call: at 65,536 keys 20 to 35 ms of one turn, in a process whose memory
   * is new to it; a server filled its log again after every checkpoint.
   */
  constructor(expectedKeys = 0) {
    let room = 512;
    while (room < expectedKeys) room *= 2;
    this.slots = new Int32Array(SLOT * 2 * room);
    this.slotAt = new Float64Array(this.slots.buffer);
    this.rows = unfilledF64(ROW * room);
    this.hashes = unfilledI32(room);
  }

  /** Keys the log has changed (removed ones included). */
  get size(): number {
    return this.count;
  }

  /** `key` as a snapshot of `txid` sees it in the log. */
  find(key: Buffer, txid: number): Recent {
    const s = this.slotOf(key, 0, key.length, hashOf(key, 0, key.length));
    if (s < 0) return undefined;
    // The newest version, from its header: no visit to the row.
    const at = this.slotAt[2 * s + 1];
    if (this.header(at, HEADER_TXID) > txid) return this.versionAt(this.slots[SLOT * s + 1] - 1, txid);
    return this.bytes(at + key.length, this.header(at, HEADER_VALUE_LENGTH));
  }

  /**
   * Whether a snapshot of `txid` sees the key `src[at, at + len)` in the
   * log (false: removed; undefined: the log has no say), without making a
   * view of its value. `h` is the key's `hashOf`.
   */
  holds(src: Buffer, at: number, len: number, h: number, txid: number): boolean | undefined {
    const s = this.slotOf(src, at, len, h);
    if (s < 0) return undefined;
    const newest = this.slotAt[2 * s + 1];
    if (this.header(newest, HEADER_TXID) <= txid) return this.header(newest, HEADER_VALUE_LENGTH) >= 0;
    const row = this.slots[SLOT * s + 1] - 1;
    const r = row * ROW;
    const rows = this.rows;
    const prevTxid = rows[r + ROW_PREV_TXID];
    if (prevTxid < 0) return undefined;
    if (prevTxid <= txid) return rows[r + ROW_PREV_VALUE_LENGTH] >= 0;
    let v = this.older.get(row);
    while (v && v.txid > txid) v = v.older;
    return v && v.valueLength >= 0;
  }

  /** Row `row`'s key as a snapshot of `txid` sees it. */
  versionAt(row: number, txid: number): Recent {
    const r = row * ROW;
    const rows = this.rows;
    const keyLength = rows[r + ROW_KEY_LENGTH];
    if (rows[r + ROW_TXID] <= txid) return this.bytes(rows[r + ROW_AT] + keyLength, rows[r + ROW_VALUE_LENGTH]);
    const prevTxid = rows[r + ROW_PREV_TXID];
    if (prevTxid < 0) return undefined;
    if (prevTxid <= txid) return this.bytes(rows[r + ROW_PREV_AT] + keyLength, rows[r + ROW_PREV_VALUE_LENGTH]);
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
    for (const rec of records) this.applyRecord(rec, txid, oldestSnapshot);
  }

  /**
   * `apply` of one record. A commit's records may be applied over several
   * turns (log-commit.ts): each leaves the overlay whole, and a snapshot
   * older than `txid` sees none of them.
   */
  applyRecord(rec: LogRecord, txid: number, oldestSnapshot: number): void {
    const h = rec.hash ?? hashOf(rec.keySrc, rec.keyAt, rec.keyLen);
    const s = this.slotOf(rec.keySrc, rec.keyAt, rec.keyLen, h);
    const removed = rec.kind === LogKind.Remove;
    const at = this.copyIn(rec, removed, txid);
    let row: number;
    if (s < 0) {
      row = this.add(h, at);
      this.rows[row * ROW + ROW_TREE_HELD] = rec.kind === LogKind.Insert ? 0 : 1;
    } else {
      row = this.slots[SLOT * s + 1] - 1;
      this.keepOlder(row, txid, oldestSnapshot);
      this.slotAt[2 * s + 1] = at;
    }
    const r = row * ROW;
    const rows = this.rows;
    rows[r + ROW_AT] = at;
    rows[r + ROW_KEY_LENGTH] = rec.keyLen;
    rows[r + ROW_VALUE_LENGTH] = removed ? -1 : rec.valueLen;
    rows[r + ROW_TXID] = txid;
    this.delta += countDelta(rec.kind);
  }

  /**
   * Each key's newest version as it is now, in key order: what a
   * checkpoint folds into the tree (writer.ts).
   */
  newest(): NewestVersions {
    const noted = this.note();
    this.ordered ??= noted.keyOrder();
    return noted.inOrder(this.ordered);
  }

  /**
   * Where each key's newest version is now: what a fold of the log as of
   * the newest commit reads (fold.ts). Later commits neither change it nor
   * need to keep those versions readable for it: the arena only ever
   * grows, so their bytes stay where they are.
   */
  note(): NotedLog {
    // One copy of the rows (a memcpy), into the buffer the last fold noted
    // into when there is one: a fold notes the whole log in the turn it
    // starts. Fresh memory costs a page fault per page as it is written
    // (30 to 60 ms for 130,000 rows on this project's VM), and a loop
    // picking fields out, run once per fold, ran unoptimized at about
    // 200 ns a row.
    const n = this.count * ROW;
    let into = this.spare;
    this.spare = undefined;
    if (into === undefined || into.length < n) into = unfilledF64(this.hashes.length * ROW);
    into.set(this.rows.subarray(0, n));
    return new NotedLog(this.chunks, into, this.count);
  }

  /** Gives `note` a buffer to copy the rows into: a fold's noted rows, which it no longer reads (fold.ts). */
  reuseForNote(buffer: Float64Array): void {
    this.spare = buffer;
  }

  /** Every row, in key order (sort-keys.ts, over the keys copied side by side). */
  sorted(): Int32Array {
    return (this.ordered ??= this.note().keyOrder());
  }

  /**
   * Row `row` is about to take a version of txid `txid`: keeps its newest
   * version as the previous one if a snapshot may still read it, moving the
   * previous one down to `older` if that may be read too, and drops what no
   * snapshot can see (below the newest version with txid <= the oldest
   * snapshot's).
   */
  private keepOlder(row: number, txid: number, oldestSnapshot: number): void {
    const r = row * ROW;
    const rows = this.rows;
    if (txid <= oldestSnapshot) {
      // Every snapshot sees the version being added (a replay at open).
      rows[r + ROW_PREV_TXID] = -1;
      if (this.older.size > 0) this.older.delete(row);
      return;
    }
    const newestTxid = rows[r + ROW_TXID];
    const prevTxid = rows[r + ROW_PREV_TXID];
    if (newestTxid > oldestSnapshot && prevTxid >= 0) {
      // The previous version may be read too: it heads `older`, which keeps
      // what is readable below it.
      const kept: Older = { txid: prevTxid, at: rows[r + ROW_PREV_AT], valueLength: rows[r + ROW_PREV_VALUE_LENGTH], older: undefined };
      if (prevTxid > oldestSnapshot) {
        kept.older = this.older.get(row);
        for (let v = kept.older; v; v = v.older) {
          if (v.txid <= oldestSnapshot) {
            v.older = undefined;
            break;
          }
        }
      }
      this.older.set(row, kept);
    } else if (this.older.size > 0) {
      this.older.delete(row);
    }
    // The newest stays readable (it is at or below the oldest snapshot, or newer still).
    rows[r + ROW_PREV_AT] = rows[r + ROW_AT];
    rows[r + ROW_PREV_VALUE_LENGTH] = rows[r + ROW_VALUE_LENGTH];
    rows[r + ROW_PREV_TXID] = newestTxid;
  }

  /** `length` bytes of the arena from `at`; null for a removal's length (-1). */
  private bytes(at: number, length: number): Buffer | null {
    return arenaBytes(this.chunks, at, length);
  }

  /** The slot of the key `src[at, at + n)` (`h` its hash), or -1. */
  private slotOf(src: Buffer, keyAt: number, n: number, h: number): number {
    const slots = this.slots;
    const mask = slots.length / SLOT - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      if (slots[SLOT * s + 1] === 0) return -1;
      if (slots[SLOT * s] !== h) continue;
      const at = this.slotAt[2 * s + 1];
      if (this.header(at, HEADER_KEY_LENGTH) !== n) continue;
      const chunk = (at / CHUNK) | 0;
      if (sameBytes(this.chunks[chunk], at - chunk * CHUNK, src, keyAt, n)) return s;
    }
  }

  /** Puts row `row` (hash `h`, newest version at `at`) in the first free slot from `h`'s. */
  private placeRow(h: number, row: number, at: number): void {
    const slots = this.slots;
    const mask = slots.length / SLOT - 1;
    let s = h & mask;
    while (slots[SLOT * s + 1] !== 0) s = (s + 1) & mask;
    slots[SLOT * s] = h;
    slots[SLOT * s + 1] = row + 1;
    this.slotAt[2 * s + 1] = at;
  }

  /**
   * Makes room for `keys` keys in all, at once: a commit about to add
   * thousands grows the table in one step rather than doubling through
   * each size, each doubling one unit of its slices (on this project's VM,
   * with memory new to the process, the one at 8,192 keys took 2 to 4 ms).
   */
  reserve(keys: number): void {
    let room = this.hashes.length;
    if (keys <= room) return;
    while (room < keys) room *= 2;
    this.grow(room);
    this.rehash(SLOT * 2 * room);
  }

  /** Rows for `room` keys, the rows so far kept. */
  private grow(room: number): void {
    const hashes = unfilledI32(room);
    hashes.set(this.hashes.subarray(0, this.count));
    this.hashes = hashes;
    const rows = unfilledF64(room * ROW);
    rows.set(this.rows.subarray(0, this.count * ROW));
    this.rows = rows;
  }

  /** A new key's row, its newest version at `at` (its other numbers set by the caller). */
  private add(h: number, at: number): number {
    const row = this.count++;
    this.ordered = undefined;
    if (row === this.hashes.length) this.grow(2 * row);
    this.hashes[row] = h;
    this.rows[row * ROW + ROW_AT] = at;
    this.rows[row * ROW + ROW_PREV_TXID] = -1;
    if (2 * this.count > this.slots.length / SLOT) this.rehash(2 * this.slots.length);
    else this.placeRow(h, row, at);
    return row;
  }

  private rehash(length: number): void {
    this.slots = new Int32Array(length);
    this.slotAt = new Float64Array(this.slots.buffer);
    for (let row = 0; row < this.count; row++) this.placeRow(this.hashes[row], row, this.rows[row * ROW + ROW_AT]);
  }

  /** Copies `rec`'s key then value (none if `removed`) into the arena, as a version of `txid`; returns its place. */
  private copyIn(rec: LogRecord, removed: boolean, txid: number): number {
    const valueLength = removed ? -1 : rec.valueLen;
    const at = this.room(txid, rec.keyLen, valueLength);
    const chunk = this.chunks[this.chunks.length - 1];
    const offset = at - (this.chunks.length - 1) * CHUNK;
    copyBytes(rec.keySrc, rec.keyAt, rec.keyLen, chunk, offset);
    if (!removed) copyBytes(rec.valueSrc, rec.valueAt, rec.valueLen, chunk, offset + rec.keyLen);
    return at;
  }

  /**
   * Room in the arena for a version of `txid` (its key and value lengths;
   * -1: removed), a new chunk begun if the last has none: writes the
   * header and returns where the key goes (chunk * CHUNK + offset).
   */
  private room(txid: number, keyLength: number, valueLength: number): number {
    const n = HEADER + keyLength + Math.max(valueLength, 0);
    let header = (this.used + 7) & ~7;
    if (this.chunks.length === 0 || header + n > this.chunks[this.chunks.length - 1].length) {
      const chunk = Buffer.allocUnsafeSlow(Math.max(CHUNK, n));
      this.chunks.push(chunk);
      this.chunkF64.push(new Float64Array(chunk.buffer, chunk.byteOffset, chunk.length >> 3));
      this.chunkI32.push(new Int32Array(chunk.buffer, chunk.byteOffset, chunk.length >> 2));
      header = 0;
    }
    const last = this.chunks.length - 1;
    const i = header >> 2;
    this.chunkF64[last][header >> 3] = txid;
    this.chunkI32[last][i + 2] = keyLength;
    this.chunkI32[last][i + 3] = valueLength;
    this.used = header + n;
    return last * CHUNK + header + HEADER;
  }

  /** A field of the header of the version at `at` (its key's place). */
  private header(at: number, field: typeof HEADER_TXID | typeof HEADER_KEY_LENGTH | typeof HEADER_VALUE_LENGTH): number {
    const chunk = (at / CHUNK) | 0;
    const offset = at - chunk * CHUNK;
    return field === HEADER_TXID ? this.chunkF64[chunk][(offset >> 3) - 2] : this.chunkI32[chunk][(offset >> 2) - field];
  }
}

/** The overlay's keys and their newest versions at one moment, by row (`Overlay.note`): a copy of its rows. */
export class NotedLog {
  constructor(
    /** The overlay's arena: chunks are only ever added, and never written again where a version is. */
    private readonly chunks: readonly Buffer[],
    /** The overlay's rows as they were then, ROW numbers each (the buffer may hold more). */
    private readonly rows: Float64Array,
    readonly count: number,
  ) {}

  /** The buffer the rows are in, for the next `note` once nothing reads this any more (fold.ts). */
  get buffer(): Float64Array {
    return this.rows;
  }

  /** Row `row`'s key (a view of the arena). */
  key(row: number): Buffer {
    const r = row * ROW;
    return this.slice(this.rows[r + ROW_AT], this.rows[r + ROW_KEY_LENGTH])!;
  }

  /** Its value, null where it was removed. */
  value(row: number): Buffer | null {
    const r = row * ROW;
    return this.slice(this.rows[r + ROW_AT] + this.rows[r + ROW_KEY_LENGTH], this.rows[r + ROW_VALUE_LENGTH]);
  }

  /** Whether the tree held its key when the log first changed it. */
  treeHeld(row: number): boolean {
    return this.rows[row * ROW + ROW_TREE_HELD] === 1;
  }

  /**
   * The keys copied side by side, for sort-keys.ts, in slices of `pace` (a
   * row a unit): about 5 ms for 100,000 keys of 16 bytes once V8 has
   * optimized it, but a fold runs it once, and in a server it took 30 ms.
   */
  *keysSideBySide(pace: Pace): Steps<{ flat: Buffer; starts: Int32Array; lengths: Int32Array }> {
    const n = this.count;
    const rows = this.rows;
    const lengths = new Int32Array(n);
    let bytes = 0;
    yield* eachPaced(n, pace, (row) => {
      lengths[row] = rows[row * ROW + ROW_KEY_LENGTH];
      bytes += lengths[row];
    });
    const flat = Buffer.allocUnsafe(bytes);
    const starts = new Int32Array(n);
    let to = 0;
    yield* eachPaced(n, pace, (row) => {
      const at = rows[row * ROW + ROW_AT];
      const chunk = (at / CHUNK) | 0;
      copyBytes(this.chunks[chunk], at - chunk * CHUNK, lengths[row], flat, to);
      starts[row] = to;
      to += lengths[row];
    });
    return { flat, starts, lengths };
  }

  /** The rows in key order, sorted at once (a fold sorts in slices: fold.ts). */
  keyOrder(): Int32Array {
    const { flat, starts, lengths } = finish(this.keysSideBySide(UNPACED));
    return sortKeys(this.count, flat, starts, lengths);
  }

  /** The keys and values in `order` (rows, in key order). */
  inOrder(order: Int32Array): NewestVersions {
    return { count: order.length, key: (i) => this.key(order[i]), value: (i) => this.value(order[i]), treeHeld: (i) => this.treeHeld(order[i]) };
  }

  private slice(at: number, length: number): Buffer | null {
    return arenaBytes(this.chunks, at, length);
  }
}

/** `length` bytes of an arena (`chunks`) from `at` (chunk * CHUNK + offset); null for a removal's length (-1). */
function arenaBytes(chunks: readonly Buffer[], at: number, length: number): Buffer | null {
  if (length < 0) return null;
  const chunk = (at / CHUNK) | 0;
  const start = at - chunk * CHUNK;
  return chunks[chunk].subarray(start, start + length);
}

/** Puts `row` in the first free slot from `h`'s, in a table of [hash, row + 1] pairs (log-tx.ts). */
export function place(slots: Int32Array, h: number, row: number): void {
  const mask = (slots.length >> 1) - 1;
  let s = h & mask;
  while (slots[2 * s + 1] !== 0) s = (s + 1) & mask;
  slots[2 * s] = h;
  slots[2 * s + 1] = row + 1;
}

/** FNV-1a over the bytes `key[at, at + len)`: 32 bits. */
export function hashOf(key: Uint8Array, at = 0, len = key.length): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + len; i++) h = Math.imul(h ^ key[i], 0x01000193);
  return h | 0;
}

/** Whether `chunk[at..]` starts with `src[srcAt, srcAt + n)` (compared in place: no view per probe). */
export function sameBytes(chunk: Buffer, at: number, src: Buffer, srcAt: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (chunk[at + i] !== src[srcAt + i]) return false;
  return true;
}
