// The pieces of Redis's RDB serialization that a DUMP payload is made of
// (Redis 7.0's rdb.c, RDB version 10): lengths, strings (plain, integers,
// LZF-compressed), doubles, millisecond times, and the CRC-64 that ends a
// payload. Written here from the format's description; dump-payload.ts
// puts the values together. A reader never reads past its buffer: any
// malformed input throws BadPayload.

/** A DUMP payload that cannot be read (RESTORE answers Redis's `Bad data format`). */
export class BadPayload extends Error {
  override name = 'BadPayload';
}

const bad = (why: string) => new BadPayload(why);

// ---- CRC-64 (Jones polynomial, reflected, as Redis's crc64) -----------------------------

/** The table of the reflected polynomial 0x95ac9329ac4bc9b5, as two 32-bit halves. */
const CRC_HI = new Uint32Array(256);
const CRC_LO = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  let hi = 0;
  let lo = i;
  for (let k = 0; k < 8; k++) {
    const odd = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (odd) {
      hi = (hi ^ 0x95ac9329) >>> 0;
      lo = (lo ^ 0xac4bc9b5) >>> 0;
    }
  }
  CRC_HI[i] = hi;
  CRC_LO[i] = lo;
}

/** Redis's crc64(0, bytes): 0xe9c6d914c4b8d9ca for "123456789". */
export function crc64(bytes: Uint8Array): bigint {
  let hi = 0;
  let lo = 0;
  for (let i = 0; i < bytes.length; i++) {
    const t = (lo ^ bytes[i]!) & 0xff;
    lo = ((lo >>> 8) | ((hi & 0xff) << 24)) ^ CRC_LO[t]!;
    hi = (hi >>> 8) ^ CRC_HI[t]!;
  }
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

// ---- LZF ------------------------------------------------------------------------------

/** liblzf's decompression, into exactly `length` bytes. */
export function lzfDecompress(input: Buffer, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let ip = 0;
  let op = 0;
  while (ip < input.length) {
    const ctrl = input[ip++]!;
    if (ctrl < 32) {
      const run = ctrl + 1;
      if (ip + run > input.length || op + run > length) throw bad('LZF literal run past its end');
      input.copy(out, op, ip, ip + run);
      ip += run;
      op += run;
      continue;
    }
    let len = ctrl >> 5;
    if (len === 7) {
      if (ip >= input.length) throw bad('LZF back reference cut short');
      len += input[ip++]!;
    }
    if (ip >= input.length) throw bad('LZF back reference cut short');
    const ref = op - ((ctrl & 0x1f) << 8) - 1 - input[ip++]!;
    len += 2;
    if (ref < 0 || op + len > length) throw bad('LZF back reference out of range');
    for (let i = 0; i < len; i++) out[op++] = out[ref + i]!;
  }
  if (op !== length) throw bad('LZF data shorter than its length');
  return out;
}

// ---- reading ------------------------------------------------------------------------------

const ENC_INT8 = 0;
const ENC_INT16 = 1;
const ENC_INT32 = 2;
const ENC_LZF = 3;

/** A cursor over RDB bytes. */
export class RdbReader {
  at = 0;
  constructor(readonly bytes: Buffer) {}

  get done(): boolean {
    return this.at >= this.bytes.length;
  }

  private need(n: number): number {
    if (n < 0 || this.at + n > this.bytes.length) throw bad('payload cut short');
    const at = this.at;
    this.at += n;
    return at;
  }

  byte(): number {
    return this.bytes[this.need(1)]!;
  }

  raw(n: number): Buffer {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }

  /** A length, or (encoded) the kind of a specially encoded string. */
  private lenOrEncoding(): { len: number; encoded: boolean; big?: bigint } {
    const b = this.byte();
    const kind = b >> 6;
    if (kind === 3) return { len: b & 0x3f, encoded: true };
    if (kind === 0) return { len: b & 0x3f, encoded: false };
    if (kind === 1) return { len: ((b & 0x3f) << 8) | this.byte(), encoded: false };
    if (b === 0x80) return { len: this.bytes.readUInt32BE(this.need(4)), encoded: false };
    if (b === 0x81) {
      const big = this.bytes.readBigUInt64BE(this.need(8));
      return { len: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : Number.MAX_SAFE_INTEGER, encoded: false, big };
    }
    throw bad(`unknown length encoding ${b}`);
  }

  /** A length (a count of items, or a number saved as one). */
  len(): number {
    const l = this.lenOrEncoding();
    if (l.encoded) throw bad('an encoded string where a length was expected');
    return l.len;
  }

  /** A number saved as a 64-bit length (IDs, counters; -1 reads as 2^64-1). */
  u64(): bigint {
    const l = this.lenOrEncoding();
    if (l.encoded) throw bad('an encoded string where a number was expected');
    return l.big ?? BigInt(l.len);
  }

  /** A count of items that must each take at least a byte: no more than the bytes left. */
  count(): number {
    const n = this.len();
    if (n > this.bytes.length - this.at) throw bad('a count larger than the payload');
    return n;
  }

  string(): Buffer {
    const l = this.lenOrEncoding();
    if (!l.encoded) return Buffer.from(this.raw(l.len));
    switch (l.len) {
      case ENC_INT8:
        return Buffer.from(String(this.bytes.readInt8(this.need(1))));
      case ENC_INT16:
        return Buffer.from(String(this.bytes.readInt16LE(this.need(2))));
      case ENC_INT32:
        return Buffer.from(String(this.bytes.readInt32LE(this.need(4))));
      case ENC_LZF: {
        const compressed = this.len();
        const length = this.len();
        if (length > 512 * 1024 * 1024) throw bad('an LZF string over 512 MB');
        return lzfDecompress(this.raw(compressed), length);
      }
      default:
        throw bad(`unknown string encoding ${l.len}`);
    }
  }

  /** A double as RDB 8 and later save it: 8 bytes, little-endian. */
  binaryDouble(): number {
    return this.bytes.readDoubleLE(this.need(8));
  }

  /** A time in ms: 8 bytes, little-endian. */
  millis(): bigint {
    return this.bytes.readBigInt64LE(this.need(8));
  }
}

// ---- writing --------------------------------------------------------------------------------

/** Whether `s` is an integer as Redis's string2ll reads one and writes it back alike. */
export function canonicalInt(s: Buffer): bigint | undefined {
  if (s.length === 0 || s.length > 20) return undefined;
  const text = s.toString('latin1');
  if (!/^(0|-?[1-9]\d*)$/.test(text)) return undefined;
  const n = BigInt(text);
  return n >= -(1n << 63n) && n < 1n << 63n ? n : undefined;
}

/** Collects RDB bytes. */
export class RdbWriter {
  private readonly parts: Buffer[] = [];
  /** Bytes written so far. */
  size = 0;

  raw(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }

  byte(b: number): this {
    return this.raw(Buffer.from([b]));
  }

  len(n: number | bigint): this {
    const v = BigInt(n);
    if (v < 64n) return this.byte(Number(v));
    if (v < 16384n) return this.raw(Buffer.from([0x40 | Number(v >> 8n), Number(v & 0xffn)]));
    if (v <= 0xffff_ffffn) {
      const b = Buffer.allocUnsafe(5);
      b[0] = 0x80;
      b.writeUInt32BE(Number(v), 1);
      return this.raw(b);
    }
    const b = Buffer.allocUnsafe(9);
    b[0] = 0x81;
    b.writeBigUInt64BE(BigInt.asUintN(64, v), 1);
    return this.raw(b);
  }

  /** A string as rdbSaveRawString saves it, but never compressed: a short integer in its integer encoding. */
  string(s: Buffer): this {
    const n = s.length <= 11 ? canonicalInt(s) : undefined;
    if (n !== undefined && n >= -(1n << 31n) && n < 1n << 31n) {
      const v = Number(n);
      if (v >= -128 && v <= 127) return this.raw(Buffer.from([0xc0 | ENC_INT8, v & 0xff]));
      if (v >= -32768 && v <= 32767) {
        const b = Buffer.allocUnsafe(3);
        b[0] = 0xc0 | ENC_INT16;
        b.writeInt16LE(v, 1);
        return this.raw(b);
      }
      const b = Buffer.allocUnsafe(5);
      b[0] = 0xc0 | ENC_INT32;
      b.writeInt32LE(v, 1);
      return this.raw(b);
    }
    return this.len(s.length).raw(s);
  }

  binaryDouble(d: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleLE(d, 0);
    return this.raw(b);
  }

  millis(t: number | bigint): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigInt64LE(BigInt(t), 0);
    return this.raw(b);
  }

  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}
