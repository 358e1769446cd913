// Entries appended past the end of the tree, kept as encoded bytes.
//
// A bulk load puts ascending keys after every key the tree holds. Kept as
// nodes, each entry would be a key and a value Buffer in a leaf's arrays
// until the commit; here the entries go straight into one growing buffer in
// the leaf entry format of docs/FORMAT.md (slots aside), and the commit
// copies them into pages as they are: no object per entry.
//
// Invariants:
// - the tail belongs to the rightmost leaf of the tree (tx.ts), and every key
//   in it is above every key of that leaf and of the tree, ascending;
// - every value in it is inline-sized (at most `maxInline(p)` bytes).
import { LEAF_ENTRY, maxInline } from './page.js';

const INITIAL_BYTES = 64 * 1024;

/**
 * Copies `len` bytes from `src` at `from` to `dst` at `to`. Short runs (keys,
 * values up to a few hundred bytes) copy faster in a loop than through a
 * call into C++ or a subarray's allocation; longer ones go to set().
 */
export function copyBytes(src: Uint8Array, from: number, len: number, dst: Uint8Array, to: number): void {
  if (len > 256) {
    dst.set(src.subarray(from, from + len), to);
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

export class AppendTail {
  /** Entries back to back: keyLen u16, kind u8 (0, inline), reserved u8, valueLen u32, key, value. */
  private bytes = Buffer.allocUnsafeSlow(INITIAL_BYTES);
  private used = 0;
  /** Where each entry starts in `bytes` (the first `count`). */
  private starts = new Uint32Array(1024);
  count = 0;
  private readonly maxInline: number;

  constructor(p: number) {
    this.maxInline = maxInline(p);
  }

  /** Bytes the entries take in pages, slots included. */
  get pageBytes(): number {
    return this.used + 2 * this.count;
  }

  /**
   * Whether the key at `src[keyStart..+keyLen]` may follow the last entry
   * (it is greater) with a value of `valueLen` bytes inline.
   */
  takes(src: Buffer, keyStart: number, keyLen: number, valueLen: number): boolean {
    if (valueLen > this.maxInline) return false;
    const n = this.count;
    if (n === 0) return true;
    const at = this.starts[n - 1];
    return compareRanges(src, keyStart, keyLen, this.bytes, at + LEAF_ENTRY, this.bytes.readUInt16LE(at)) > 0;
  }

  /** Appends the entry `takes` accepted. */
  push(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    const size = LEAF_ENTRY + keyLen + valueLen;
    if (this.used + size > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.used + size));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const at = this.used;
    const b = this.bytes;
    b.writeUInt16LE(keyLen, at);
    b[at + 2] = 0;
    b[at + 3] = 0;
    b.writeUInt32LE(valueLen, at + 4);
    copyBytes(src, keyStart, keyLen, b, at + LEAF_ENTRY);
    copyBytes(src, valueStart, valueLen, b, at + LEAF_ENTRY + keyLen);
    if (this.count === this.starts.length) {
      const grown = new Uint32Array(2 * this.starts.length);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.starts[this.count++] = at;
    this.used += size;
  }

  /** Entry `i`'s bytes in a page, its slot included. */
  entrySize(i: number): number {
    const end = i + 1 < this.count ? this.starts[i + 1] : this.used;
    return 2 + end - this.starts[i];
  }

  /** Entry `i`'s key (a view: valid while the tail lives). */
  key(i: number): Buffer {
    const at = this.starts[i];
    return this.bytes.subarray(at + LEAF_ENTRY, at + LEAF_ENTRY + this.bytes.readUInt16LE(at));
  }

  /** Copies entry `i` (without its slot) to `page` at `off`. */
  copyEntry(i: number, page: Buffer, off: number): void {
    copyBytes(this.bytes, this.starts[i], this.entrySize(i) - 2, page, off);
  }

  /** Every entry as a key and a value (views), for a leaf node to take over. */
  entries(): { keys: Buffer[]; values: Buffer[] } {
    const keys: Buffer[] = [];
    const values: Buffer[] = [];
    for (let i = 0; i < this.count; i++) {
      const k = this.key(i);
      keys.push(k);
      const at = this.starts[i];
      const valueStart = at + LEAF_ENTRY + k.length;
      values.push(this.bytes.subarray(valueStart, valueStart + this.bytes.readUInt32LE(at + 4)));
    }
    return { keys, values };
  }
}
