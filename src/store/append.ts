// Entries appended past the end of the tree, kept where they already are.
//
// A bulk load puts ascending keys after every key the tree holds. A batch
// packs each put as a leaf entry (packed.ts), so the tail needs no object
// per entry: it keeps each entry's place (its batch, where it starts, its
// size in a page), and the commit has the addon write pages straight from
// those bytes (leaves.ts). Consecutive puts of one batch in issue order
// are one run of bytes that the addon reads as it lies; entries scattered
// in one batch (a shuffled batch applied in key order: ops.ts) are read by
// the addon from where each starts; entries from several batches are
// gathered, a few hundred pages' worth at a time, into one small buffer
// reused between calls, never into a copy of the whole tail (a fresh
// buffer of 100 MB costs a page fault per 4 KiB here: a quarter second).
//
// Invariants:
// - the tail belongs to the rightmost leaf of the tree (tx.ts), and every key
//   in it is above every key of that leaf and of the tree, ascending;
// - every entry is a leaf entry with an inline value (at most `maxInline(p)`
//   bytes), its header right before its key and its value right after;
// - the source buffers are not changed while the tail lives.
import { LEAF_ENTRY, LEAF_ENTRY_FIELDS, SLOT_SIZE, ValueKind, maxInline } from '../format/page.js';
import type { EntryRun } from './leaves.js';

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

export class AppendTail {
  count = 0;
  /** Bytes the entries take in pages, slots included. */
  pageBytes = 0;
  /** The batches the entries lie in, each once, in the order they came. */
  private readonly sources: Buffer[] = [];
  // Per entry, grown together: its batch (in `sources`), where it starts, its bytes in a page with its slot.
  private sourceOf = new Int32Array(64);
  private starts = new Int32Array(64);
  private entrySizes = new Int32Array(64);
  /** Whether every entry follows the one before it in the same batch: then any run of them is a view. */
  private adjacent = true;
  private readonly maxInline: number;
  /** What `run` gathers entries into, kept for its next call. */
  private scratch = Buffer.alloc(0);

  constructor(p: number) {
    this.maxInline = maxInline(p);
  }

  /**
   * Whether the put of the key at `src[keyStart..+keyLen]` and the value at
   * `src[valueStart..+valueLen]` may follow the last entry: an inline value,
   * the bytes a leaf entry, and the key greater than the last. `follows`:
   * the caller knows the last two (a packed batch's next put in key order,
   * after the put that was the last entry), so the bytes are not read: in
   * a shuffled batch they lie scattered, a cache miss each.
   */
  takes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number, follows = false): boolean {
    if (valueLen > this.maxInline) return false;
    if (follows && this.count > 0) return true;
    if (!isLeafEntry(src, keyStart, keyLen, valueStart, valueLen)) return false;
    if (this.count === 0) return true;
    const last = this.count - 1;
    const lastSrc = this.sources[this.sourceOf[last]];
    const lastKey = this.starts[last] + LEAF_ENTRY;
    return compareRanges(src, keyStart, keyLen, lastSrc, lastKey, lastSrc[lastKey - LEAF_ENTRY + KEY_LEN] | (lastSrc[lastKey - LEAF_ENTRY + KEY_LEN + 1] << 8)) > 0;
  }

  /** Appends the entry `takes` accepted (its value follows its key); `src` must not change while the tail lives. */
  push(src: Buffer, keyStart: number, keyLen: number, valueLen: number): void {
    const i = this.count;
    if (i === this.starts.length) this.grow();
    const start = keyStart - LEAF_ENTRY;
    let source = this.sources.length - 1;
    if (source < 0 || this.sources[source] !== src) {
      this.sources.push(src);
      source++;
      if (i > 0) this.adjacent = false;
    } else if (i > 0 && this.starts[i - 1] + this.entrySizes[i - 1] - SLOT_SIZE !== start) {
      this.adjacent = false;
    }
    const size = SLOT_SIZE + LEAF_ENTRY + keyLen + valueLen;
    this.sourceOf[i] = source;
    this.starts[i] = start;
    this.entrySizes[i] = size;
    this.count++;
    this.pageBytes += size;
  }

  private grow(): void {
    const wider = (a: Int32Array) => {
      const b = new Int32Array(2 * a.length);
      b.set(a);
      return b;
    };
    this.sourceOf = wider(this.sourceOf);
    this.starts = wider(this.starts);
    this.entrySizes = wider(this.entrySizes);
  }

  /** Entry i's bytes in a page, its slot included (a view: read it before the tail changes). */
  sizes(): Int32Array {
    return this.entrySizes.subarray(0, this.count);
  }

  /** Entry i's key (a view of its batch). */
  key(i: number): Buffer {
    return entryKey(this.sources[this.sourceOf[i]], this.starts[i]);
  }

  /**
   * Entries `from..to` in page form, for the addon (leaves.ts): a view of
   * their batch when they lie back to back there; their places in it when
   * they all lie in one; else gathered into a buffer that the next call
   * reuses (read it before calling again).
   */
  run(from: number, to: number): EntryRun {
    if (from === to) return { bytes: Buffer.alloc(0) };
    // A view of `starts` (offsets, never negative): the addon reads it before the tail changes.
    if (!this.adjacent && this.sources.length === 1) return { bytes: this.sources[0], starts: new Uint32Array(this.starts.buffer, this.starts.byteOffset + 4 * from, to - from) };
    let bytes = 0;
    for (let i = from; i < to; i++) bytes += this.entrySizes[i] - SLOT_SIZE;
    if (this.adjacent) {
      const start = this.starts[from];
      return { bytes: this.sources[this.sourceOf[from]].subarray(start, start + bytes) };
    }
    if (this.scratch.length < bytes) this.scratch = Buffer.allocUnsafeSlow(Math.max(bytes, 2 * this.scratch.length));
    const out = this.scratch;
    // A copy per stretch of entries that lie back to back in one batch (a
    // byte loop in JS cost six times as much for 124-byte entries).
    for (let i = from, at = 0; i < to; ) {
      const source = this.sourceOf[i];
      const start = this.starts[i];
      let end = start + this.entrySizes[i] - SLOT_SIZE;
      for (i++; i < to && this.sourceOf[i] === source && this.starts[i] === end; i++) end += this.entrySizes[i] - SLOT_SIZE;
      at += this.sources[source].copy(out, at, start, end);
    }
    return { bytes: out.subarray(0, bytes) };
  }

  /** Each entry's key and value (views of their batches), in order. */
  forEach(fn: (key: Buffer, value: Buffer) => void): void {
    for (let i = 0; i < this.count; i++) {
      const src = this.sources[this.sourceOf[i]];
      const key = entryKey(src, this.starts[i]);
      const valueStart = this.starts[i] + LEAF_ENTRY + key.length;
      fn(key, src.subarray(valueStart, valueStart + src.readUInt32LE(this.starts[i] + VALUE_LEN)));
    }
  }
}

/** The key of the leaf entry at `at` (a view). */
export function entryKey(bytes: Buffer, at: number): Buffer {
  return bytes.subarray(at + LEAF_ENTRY, at + LEAF_ENTRY + bytes.readUInt16LE(at + KEY_LEN));
}
