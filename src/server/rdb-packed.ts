// The packed encodings Redis puts inside RDB strings for small values:
// listpacks (Redis 7), ziplists (Redis 6 and before, in payloads of RDB
// version 9) and intsets. Readers check every offset against the buffer
// and throw BadPayload; integers come back as their decimal text, as
// Redis's own readers hand them out. The listpack writer is for DUMP.
import { BadPayload, canonicalInt } from './rdb-format.js';

const bad = (why: string) => new BadPayload(why);

function need(b: Buffer, at: number, n: number): void {
  if (at + n > b.length) throw bad('packed value cut short');
}

const intText = (n: number | bigint) => Buffer.from(String(n));

// ---- listpack ---------------------------------------------------------------------------

/** Bytes a listpack entry's back length takes for an entry of `len` bytes. */
function backlenSize(len: number): number {
  return len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
}

/** A listpack's elements. */
export function readListpack(b: Buffer): Buffer[] {
  need(b, 0, 7);
  if (b.readUInt32LE(0) !== b.length) throw bad('listpack size differs from its header');
  const out: Buffer[] = [];
  let p = 6;
  for (;;) {
    need(b, p, 1);
    const e = b[p]!;
    if (e === 0xff) break;
    let size: number;
    let value: Buffer;
    if ((e & 0x80) === 0) {
      size = 1;
      value = intText(e);
    } else if ((e & 0xc0) === 0x80) {
      const len = e & 0x3f;
      size = 1 + len;
      need(b, p, size);
      value = Buffer.from(b.subarray(p + 1, p + size));
    } else if ((e & 0xe0) === 0xc0) {
      need(b, p, 2);
      let v = ((e & 0x1f) << 8) | b[p + 1]!;
      if (v >= 1 << 12) v -= 1 << 13;
      size = 2;
      value = intText(v);
    } else if ((e & 0xf0) === 0xe0) {
      need(b, p, 2);
      const len = ((e & 0x0f) << 8) | b[p + 1]!;
      size = 2 + len;
      need(b, p, size);
      value = Buffer.from(b.subarray(p + 2, p + size));
    } else if (e === 0xf0) {
      need(b, p, 5);
      const len = b.readUInt32LE(p + 1);
      size = 5 + len;
      need(b, p, size);
      value = Buffer.from(b.subarray(p + 5, p + size));
    } else if (e === 0xf1) {
      need(b, p, 3);
      size = 3;
      value = intText(b.readInt16LE(p + 1));
    } else if (e === 0xf2) {
      need(b, p, 4);
      size = 4;
      value = intText(b.readIntLE(p + 1, 3));
    } else if (e === 0xf3) {
      need(b, p, 5);
      size = 5;
      value = intText(b.readInt32LE(p + 1));
    } else if (e === 0xf4) {
      need(b, p, 9);
      size = 9;
      value = intText(b.readBigInt64LE(p + 1));
    } else throw bad(`unknown listpack encoding ${e}`);
    out.push(value);
    p += size + backlenSize(size);
  }
  if (p !== b.length - 1) throw bad('bytes after the end of a listpack');
  return out;
}

/** An entry's encoding and data, as lpAppend writes it: integers as integers, strings by length. */
function listpackEntry(v: Buffer): Buffer {
  const n = canonicalInt(v);
  if (n !== undefined) {
    if (n >= 0n && n <= 127n) return Buffer.from([Number(n)]);
    if (n >= -4096n && n <= 4095n) {
      const u = Number(n) & 0x1fff;
      return Buffer.from([0xc0 | (u >> 8), u & 0xff]);
    }
    const widths: [number, number, bigint][] = [
      [0xf1, 2, 1n << 15n],
      [0xf2, 3, 1n << 23n],
      [0xf3, 4, 1n << 31n],
    ];
    for (const [tag, bytes, limit] of widths) {
      if (n >= -limit && n < limit) {
        const out = Buffer.allocUnsafe(1 + bytes);
        out[0] = tag;
        out.writeIntLE(Number(n), 1, bytes);
        return out;
      }
    }
    const out = Buffer.allocUnsafe(9);
    out[0] = 0xf4;
    out.writeBigInt64LE(n, 1);
    return out;
  }
  if (v.length < 64) return Buffer.concat([Buffer.from([0x80 | v.length]), v]);
  if (v.length < 4096) return Buffer.concat([Buffer.from([0xe0 | (v.length >> 8), v.length & 0xff]), v]);
  const head = Buffer.allocUnsafe(5);
  head[0] = 0xf0;
  head.writeUInt32LE(v.length, 1);
  return Buffer.concat([head, v]);
}

function backlen(len: number): Buffer {
  const size = backlenSize(len);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) {
    const shift = 7 * (size - 1 - i);
    out[i] = (Math.floor(len / 2 ** shift) & 127) | (i > 0 ? 128 : 0);
  }
  return out;
}

/** A listpack holding `values`. */
export function writeListpack(values: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.alloc(6)];
  for (const v of values) {
    const entry = listpackEntry(v);
    parts.push(entry, backlen(entry.length));
  }
  parts.push(Buffer.from([0xff]));
  const out = Buffer.concat(parts);
  out.writeUInt32LE(out.length, 0);
  out.writeUInt16LE(Math.min(values.length, 65535), 4);
  return out;
}

// ---- ziplist ------------------------------------------------------------------------------

/** A ziplist's elements (Redis 6 and before). */
export function readZiplist(b: Buffer): Buffer[] {
  need(b, 0, 11);
  if (b.readUInt32LE(0) !== b.length) throw bad('ziplist size differs from its header');
  const out: Buffer[] = [];
  let p = 10;
  for (;;) {
    need(b, p, 1);
    if (b[p] === 0xff) break;
    p += b[p] === 0xfe ? 5 : 1; // the previous entry's length
    need(b, p, 1);
    const e = b[p]!;
    const kind = e >> 6;
    if (kind === 0 || kind === 1 || e === 0x80) {
      let len: number;
      if (kind === 0) {
        len = e & 0x3f;
        p += 1;
      } else if (kind === 1) {
        need(b, p, 2);
        len = ((e & 0x3f) << 8) | b[p + 1]!;
        p += 2;
      } else {
        need(b, p, 5);
        len = b.readUInt32BE(p + 1);
        p += 5;
      }
      need(b, p, len);
      out.push(Buffer.from(b.subarray(p, p + len)));
      p += len;
      continue;
    }
    p += 1;
    if (e === 0xc0) {
      need(b, p, 2);
      out.push(intText(b.readInt16LE(p)));
      p += 2;
    } else if (e === 0xd0) {
      need(b, p, 4);
      out.push(intText(b.readInt32LE(p)));
      p += 4;
    } else if (e === 0xe0) {
      need(b, p, 8);
      out.push(intText(b.readBigInt64LE(p)));
      p += 8;
    } else if (e === 0xf0) {
      need(b, p, 3);
      out.push(intText(b.readIntLE(p, 3)));
      p += 3;
    } else if (e === 0xfe) {
      need(b, p, 1);
      out.push(intText(b.readInt8(p)));
      p += 1;
    } else if (e >= 0xf1 && e <= 0xfd) out.push(intText((e & 0x0f) - 1));
    else throw bad(`unknown ziplist encoding ${e}`);
  }
  if (p !== b.length - 1) throw bad('bytes after the end of a ziplist');
  return out;
}

// ---- intset -------------------------------------------------------------------------------

/** An intset's members, as decimal text. */
export function readIntset(b: Buffer): Buffer[] {
  need(b, 0, 8);
  const width = b.readUInt32LE(0);
  const count = b.readUInt32LE(4);
  if (width !== 2 && width !== 4 && width !== 8) throw bad(`intset of ${width}-byte integers`);
  if (b.length !== 8 + width * count) throw bad('intset size differs from its header');
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + i * width;
    out.push(intText(width === 8 ? b.readBigInt64LE(at) : b.readIntLE(at, width)));
  }
  return out;
}
