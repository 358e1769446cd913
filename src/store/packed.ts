// A batch's operations packed into one buffer: each key and value copied
// once, back to back, with their places in a number array. A batch of
// 100,000 puts is then two objects instead of 300,000 (an operation and two
// Buffers each) kept alive until its commit, which is what a bulk load's
// time went to: allocating them, and the garbage collector moving them.
//
// A put is packed as a leaf entry (docs/FORMAT.md: the 8-byte entry header,
// the key, the value inline), so a run of ascending puts is already the
// bytes of its leaves' entries: the append tail (append.ts) keeps such runs
// as they are, and the addon writes pages from them (leaves.ts).
import { LEAF_ENTRY, LEAF_ENTRY_FIELDS, ValueKind } from '../format/page.js';
import type { KeyOrder } from './key-order.js';

const { keyLen: KEY_LEN, valueKind: VALUE_KIND, reserved: RESERVED, valueLen: VALUE_LEN } = LEAF_ENTRY_FIELDS;

export const PUT = 1;
export const REMOVE = 2;

/** Numbers per operation in `ops`: type, key start, key length, value start, value length. */
export const FIELDS = 5;

export class PackedOps {
  bytes: Buffer;
  private used = 0;
  /** FIELDS numbers per operation. */
  ops: Float64Array;
  count = 0;
  /** Set when the writer takes the batch for a commit: nothing may be added after. */
  sealed = false;
  /**
   * Set for db.put's batches: each operation is a write of its own, which a
   * damaged page fails alone (a db.batch is all or nothing).
   */
  independent = false;
  /** The operations of an `independent` batch that failed, by index, with why; undefined while none has. */
  failures: Map<number, unknown> | undefined;
  /**
   * The operations in key order (key-order.ts), once a tree transaction has
   * asked (ops.ts): null when issue order is key order. Kept for the
   * commit's second attempt, if an item fails: a sealed batch does not change.
   */
  keyOrder: KeyOrder | null | undefined;

  constructor(operations: number, expectedBytes: number) {
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, expectedBytes));
    this.ops = new Float64Array(FIELDS * operations);
  }

  /** Bytes packed so far. */
  get byteLength(): number {
    return this.used;
  }

  /** `key` must be at most maxKeyLen long (the key codec checks): its length fits the header's u16. */
  put(key: Uint8Array, value: Uint8Array): void {
    const keyLen = key.length;
    const valueLen = value.length;
    const at = this.reserve(LEAF_ENTRY + keyLen + valueLen);
    const b = this.bytes;
    b[at + KEY_LEN] = keyLen;
    b[at + KEY_LEN + 1] = keyLen >>> 8;
    // Inline: a value too long to sit inline never goes to a page from here.
    b[at + VALUE_KIND] = ValueKind.Inline;
    b[at + RESERVED] = 0;
    b[at + VALUE_LEN] = valueLen;
    b[at + VALUE_LEN + 1] = valueLen >>> 8;
    b[at + VALUE_LEN + 2] = valueLen >>> 16;
    b[at + VALUE_LEN + 3] = valueLen >>> 24;
    // Whole arrays: TypedArray#set is a memcpy without a call into C++.
    b.set(key, at + LEAF_ENTRY);
    b.set(value, at + LEAF_ENTRY + keyLen);
    this.record(PUT, at + LEAF_ENTRY, keyLen, at + LEAF_ENTRY + keyLen, valueLen);
  }

  remove(key: Uint8Array): void {
    const at = this.reserve(key.length);
    this.bytes.set(key, at);
    this.record(REMOVE, at, key.length, 0, 0);
  }

  private record(type: number, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    const at = FIELDS * this.count++;
    if (at === this.ops.length) {
      const grown = new Float64Array(Math.max(2 * at, FIELDS * 64));
      grown.set(this.ops);
      this.ops = grown;
    }
    const o = this.ops;
    o[at] = type;
    o[at + 1] = keyStart;
    o[at + 2] = keyLen;
    o[at + 3] = valueStart;
    o[at + 4] = valueLen;
  }

  /** Where the next `n` bytes go (the buffer grown to hold them). */
  private reserve(n: number): number {
    if (this.used + n > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.used + n));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const at = this.used;
    this.used += n;
    return at;
  }
}
