// A batch's operations packed into one buffer: each key and value copied
// once, back to back, with their places in a number array. A batch of
// 100,000 puts is then two objects instead of 300,000 (an operation and two
// Buffers each) kept alive until its commit, which is what a bulk load's
// time went to: allocating them, and the garbage collector moving them.
export const PUT = 1;
export const REMOVE = 2;

/** Numbers per operation in `ops`: type, key start, key length, value start, value length. */
export const FIELDS = 5;

export class PackedOps {
  bytes: Buffer;
  private used = 0;
  /** FIELDS numbers per operation. */
  readonly ops: Float64Array;
  count = 0;

  constructor(operations: number, expectedBytes: number) {
    this.bytes = Buffer.allocUnsafeSlow(Math.max(1024, expectedBytes));
    this.ops = new Float64Array(FIELDS * operations);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const k = this.copy(key);
    this.record(PUT, k, key.length, this.copy(value), value.length);
  }

  remove(key: Uint8Array): void {
    this.record(REMOVE, this.copy(key), key.length, 0, 0);
  }

  private record(type: number, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    const at = FIELDS * this.count++;
    const o = this.ops;
    o[at] = type;
    o[at + 1] = keyStart;
    o[at + 2] = keyLen;
    o[at + 3] = valueStart;
    o[at + 4] = valueLen;
  }

  /** Copies `b` in; returns where it starts. */
  private copy(b: Uint8Array): number {
    if (this.used + b.length > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.bytes.length, this.used + b.length));
      grown.set(this.bytes.subarray(0, this.used));
      this.bytes = grown;
    }
    const at = this.used;
    this.bytes.set(b, at); // a whole array: TypedArray#set is a memcpy without a call into C++
    this.used += b.length;
    return at;
  }
}
