// Entries appended past the end of the tree, kept as places in bytes.
//
// A bulk load puts ascending keys after every key the tree holds. Kept as
// nodes, each entry would be a key and a value Buffer in a leaf's arrays
// until the commit. Here an entry is five numbers: which source buffer (a
// batch's packed bytes, packed.ts, alive until the commit) and where its key
// and value lie in it; the commit copies them into pages from there. No
// object per entry, and one copy fewer.
//
// Invariants:
// - the tail belongs to the rightmost leaf of the tree (tx.ts), and every key
//   in it is above every key of that leaf and of the tree, ascending;
// - every value in it is inline-sized (at most `maxInline(p)` bytes);
// - the source buffers are not changed while the tail lives.
import { LEAF_ENTRY, maxInline } from './page.js';


/**
 * Copies `len` bytes from `src` at `from` to `dst` at `to`. Up to about 32
 * bytes a loop is faster than Buffer#copy's call into C++ (measured here:
 * 29 against 53 ns for 16 bytes; 150 against 60 ns for 100).
 */
function copyBytes(src: Buffer, from: number, len: number, dst: Buffer, to: number): void {
  if (len > 32) {
    src.copy(dst, to, from, from + len);
    return;
  }
  for (let i = 0; i < len; i++) dst[to + i] = src[from + i];
}

/** memcmp order, then the shorter first, of two byte ranges (a loop: keys are short). */
function compareRanges(a: Uint8Array, aStart: number, aLen: number, b: Uint8Array, bStart: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i] - b[bStart + i];
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/** Numbers per entry in `places`: source, key start, key length, value start, value length. */
const PLACE = 5;

export class AppendTail {
  private readonly sources: Buffer[] = [];
  private places = new Float64Array(PLACE * 1024);
  count = 0;
  /** Bytes the entries take in pages, slots included. */
  pageBytes = 0;
  private readonly maxInline: number;

  constructor(p: number) {
    this.maxInline = maxInline(p);
  }

  /**
   * Whether the key at `src[keyStart..+keyLen]` may follow the last entry
   * (it is greater) with a value of `valueLen` bytes inline.
   */
  takes(src: Buffer, keyStart: number, keyLen: number, valueLen: number): boolean {
    if (valueLen > this.maxInline) return false;
    if (this.count === 0) return true;
    const at = PLACE * (this.count - 1);
    const p = this.places;
    return compareRanges(src, keyStart, keyLen, this.sources[p[at]], p[at + 1], p[at + 2]) > 0;
  }

  /** Appends the entry `takes` accepted; `src` must not change while the tail lives. */
  push(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    const sources = this.sources;
    if (sources[sources.length - 1] !== src) sources.push(src);
    if (PLACE * (this.count + 1) > this.places.length) {
      const grown = new Float64Array(2 * this.places.length);
      grown.set(this.places);
      this.places = grown;
    }
    const at = PLACE * this.count++;
    const p = this.places;
    p[at] = sources.length - 1;
    p[at + 1] = keyStart;
    p[at + 2] = keyLen;
    p[at + 3] = valueStart;
    p[at + 4] = valueLen;
    this.pageBytes += 2 + LEAF_ENTRY + keyLen + valueLen;
  }

  /** Entry `i`'s bytes in a page, its slot included. */
  entrySize(i: number): number {
    return 2 + LEAF_ENTRY + this.places[PLACE * i + 2] + this.places[PLACE * i + 4];
  }

  /** Entry `i`'s key (a view of its source). */
  key(i: number): Buffer {
    const at = PLACE * i;
    const p = this.places;
    return this.sources[p[at]].subarray(p[at + 1], p[at + 1] + p[at + 2]);
  }

  /** Entry `i`'s value (a view of its source). */
  value(i: number): Buffer {
    const at = PLACE * i;
    const p = this.places;
    return this.sources[p[at]].subarray(p[at + 3], p[at + 3] + p[at + 4]);
  }

  /** Writes entry `i` (without its slot) in leaf format to `page` at `off`. */
  writeEntry(i: number, page: Buffer, off: number): void {
    const at = PLACE * i;
    const p = this.places;
    const src = this.sources[p[at]];
    const keyLen = p[at + 2];
    const valueLen = p[at + 4];
    page.writeUInt16LE(keyLen, off);
    page[off + 2] = 0;
    page[off + 3] = 0;
    page.writeUInt32LE(valueLen, off + 4);
    copyBytes(src, p[at + 1], keyLen, page, off + LEAF_ENTRY);
    copyBytes(src, p[at + 3], valueLen, page, off + LEAF_ENTRY + keyLen);
  }
}
