// Helpers of `xrpkv xrp bench` and `xrp run`: random scratch fields and
// hex dumps. Pure, so tests check them directly.
import { randomFillSync } from 'node:crypto';

const TWO_64 = 1n << 64n;

/** A u64 field of each chain's scratch, filled with a uniformly random value in `min..max` (inclusive). */
export interface RandomU64Field {
  offset: number;
  min: bigint;
  max: bigint;
}

/** Parses `OFFSET=MIN..MAX` (decimal or 0x-hex); throws a RangeError saying what is wrong. */
export function parseRandomU64(spec: string): RandomU64Field {
  const m = /^\s*(\w+)\s*=\s*(\w+)\s*\.\.\s*(\w+)\s*$/.exec(spec);
  const int = (s: string) => (/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s) ? BigInt(s) : undefined);
  const [offset, min, max] = m ? [int(m[1]!), int(m[2]!), int(m[3]!)] : [];
  if (offset === undefined || min === undefined || max === undefined) {
    throw new RangeError(`expected OFFSET=MIN..MAX (e.g. 0=1..1000000), got '${spec}'`);
  }
  if (offset > 4096n - 8n) throw new RangeError(`the offset of a u64 in a 4096-byte scratch page is at most 4088, got ${offset}`);
  if (max >= TWO_64) throw new RangeError(`MAX must be below 2^64, got ${max}`);
  if (min > max) throw new RangeError(`MIN must not exceed MAX, got ${min}..${max}`);
  return { offset: Number(offset), min, max };
}

/** Uniform random u64s from the system's CSPRNG, drawn in blocks. */
export class RandomU64 {
  #pool = new BigUint64Array(1024);
  #next = this.#pool.length;

  /** 64 random bits. */
  bits(): bigint {
    if (this.#next === this.#pool.length) {
      randomFillSync(this.#pool);
      this.#next = 0;
    }
    return this.#pool[this.#next++]!;
  }

  /** Uniform in `min..max` inclusive, without modulo bias (rejection sampling). */
  inRange(min: bigint, max: bigint): bigint {
    const range = max - min + 1n;
    if (range === TWO_64) return this.bits();
    const limit = TWO_64 - (TWO_64 % range); // the largest multiple of range that fits
    for (;;) {
      const r = this.bits();
      if (r < limit) return min + (r % range);
    }
  }
}

/** A scratch prefix long enough for every field, each filled with its random value; undefined when there are no fields. */
export function randomScratch(fields: readonly RandomU64Field[], random: RandomU64): Buffer | undefined {
  if (fields.length === 0) return undefined;
  const scratch = Buffer.alloc(Math.max(...fields.map((f) => f.offset + 8)));
  for (const f of fields) scratch.writeBigUInt64LE(random.inRange(f.min, f.max), f.offset);
  return scratch;
}

/** `length` bytes as hexdump -C does: offset, 16 bytes in two groups, ASCII. */
export function hexDump(bytes: Uint8Array, length = bytes.length): string {
  const lines: string[] = [];
  for (let at = 0; at < length; at += 16) {
    const row = bytes.subarray(at, Math.min(at + 16, length));
    const hexes = [...row].map((b) => b.toString(16).padStart(2, '0'));
    const left = hexes.slice(0, 8).join(' ');
    const right = hexes.slice(8).join(' ');
    const ascii = [...row].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
    lines.push(`${at.toString(16).padStart(4, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  |${ascii}|`);
  }
  return lines.join('\n');
}

/** Bytes up to the end of the last 16-byte row holding a non-zero byte (0 when all are zero). */
export function nonZeroPrefix(bytes: Uint8Array): number {
  let last = bytes.length - 1;
  while (last >= 0 && bytes[last] === 0) last--;
  return last < 0 ? 0 : Math.min(bytes.length, (Math.floor(last / 16) + 1) * 16);
}
