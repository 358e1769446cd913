// Entries appended past the end of the tree, kept as runs of leaf entries.
//
// A bulk load puts ascending keys after every key the tree holds. A batch
// packs each put as a leaf entry (packed.ts), so consecutive puts of one
// batch are one run of bytes already in page form: the tail keeps views of
// those runs, nothing per entry, and the commit has the addon write pages
// straight from them (leaves.ts).
//
// Invariants:
// - the tail belongs to the rightmost leaf of the tree (tx.ts), and every key
//   in it is above every key of that leaf and of the tree, ascending;
// - every entry is a leaf entry with an inline value (at most `maxInline(p)`
//   bytes), its header right before its key and its value right after;
// - the source buffers are not changed while the tail lives.
import { LEAF_ENTRY, LEAF_ENTRY_FIELDS, SLOT_SIZE, ValueKind, maxInline } from '../format/page.js';

const { keyLen: KEY_LEN, valueKind: VALUE_KIND, reserved: RESERVED, valueLen: VALUE_LEN } = LEAF_ENTRY_FIELDS;

/** memcmp order, then the shorter first, of two byte ranges (a loop: keys are short). */
function compareRanges(a: Uint8Array, aStart: number, aLen: number, b: Uint8Array, bStart: number, bLen: number): number {
  const n = Math.min(aLen, bLen);
  for (let i = 0; i < n; i++) {
    const d = a[aStart + i] - b[bStart + i];
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/** Whether `src` holds, around the key and value given, the leaf entry for them (an inline one). */
function isLeafEntry(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): boolean {
  const h = keyStart - LEAF_ENTRY;
  return (
    h >= 0 &&
    valueStart === keyStart + keyLen &&
    (src[h + KEY_LEN] | (src[h + KEY_LEN + 1] << 8)) === keyLen &&
    src[h + VALUE_KIND] === ValueKind.Inline &&
    src[h + RESERVED] === 0 &&
    src.readUInt32LE(h + VALUE_LEN) === valueLen
  );
}

/** The entries of a tail in page form, and each one's place in them. */
export interface TailEntries {
  /** The entries back to back. */
  bytes: Buffer;
  /** Entry i's offset in `bytes`. */
  starts: Int32Array;
  /** Entry i's bytes in a page, its slot included. */
  sizes: Int32Array;
}

export class AppendTail {
  /** Closed runs of entries; the open one is `src[runStart..runEnd]`. */
  private readonly runs: Buffer[] = [];
  private src: Buffer | undefined;
  private runStart = 0;
  private runEnd = 0;
  /** The last entry's key, for `takes`. */
  private lastSrc: Buffer | undefined;
  private lastKeyStart = 0;
  private lastKeyLen = 0;
  count = 0;
  /** Bytes the entries take in pages, slots included. */
  pageBytes = 0;
  private readonly maxInline: number;

  constructor(p: number) {
    this.maxInline = maxInline(p);
  }

  /**
   * Whether the put of the key at `src[keyStart..+keyLen]` and the value at
   * `src[valueStart..+valueLen]` may follow the last entry: an inline value,
   * the bytes a leaf entry, and the key greater than the last.
   */
  takes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): boolean {
    if (valueLen > this.maxInline || !isLeafEntry(src, keyStart, keyLen, valueStart, valueLen)) return false;
    return this.count === 0 || compareRanges(src, keyStart, keyLen, this.lastSrc!, this.lastKeyStart, this.lastKeyLen) > 0;
  }

  /** Appends the entry `takes` accepted; `src` must not change while the tail lives. */
  push(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    const start = keyStart - LEAF_ENTRY;
    const end = valueStart + valueLen;
    if (src !== this.src || start !== this.runEnd) {
      this.closeRun();
      this.src = src;
      this.runStart = start;
    }
    this.runEnd = end;
    this.lastSrc = src;
    this.lastKeyStart = keyStart;
    this.lastKeyLen = keyLen;
    this.count++;
    this.pageBytes += 2 + end - start;
  }

  private closeRun(): void {
    if (this.src) this.runs.push(this.src.subarray(this.runStart, this.runEnd));
    this.src = undefined;
  }

  /** The entries in page form: a view of the batch's bytes when one run holds them all. */
  entries(): TailEntries {
    this.closeRun();
    const bytes = this.runs.length === 1 ? this.runs[0] : Buffer.concat(this.runs);
    const starts = new Int32Array(this.count);
    const sizes = new Int32Array(this.count);
    for (let i = 0, at = 0; i < this.count; i++) {
      // Inline values only: header, key, value.
      const size = LEAF_ENTRY + (bytes[at + KEY_LEN] | (bytes[at + KEY_LEN + 1] << 8)) + bytes.readUInt32LE(at + VALUE_LEN);
      starts[i] = at;
      sizes[i] = SLOT_SIZE + size;
      at += size;
    }
    return { bytes, starts, sizes };
  }

  /** Each entry's key and value (views of the sources), in order. */
  forEach(fn: (key: Buffer, value: Buffer) => void): void {
    const { bytes, starts } = this.entries();
    for (const at of starts) {
      const key = entryKey(bytes, at);
      const valueStart = at + LEAF_ENTRY + key.length;
      fn(key, bytes.subarray(valueStart, valueStart + bytes.readUInt32LE(at + VALUE_LEN)));
    }
  }
}

/** The key of the leaf entry at `at` (a view). */
export function entryKey(bytes: Buffer, at: number): Buffer {
  return bytes.subarray(at + LEAF_ENTRY, at + LEAF_ENTRY + bytes.readUInt16LE(at + KEY_LEN));
}
