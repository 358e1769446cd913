// HyperLogLog values as Redis stores them: a string of a 16-byte header
// ("HYLL", the encoding, 3 unused bytes, the cached cardinality: 8 bytes
// little-endian, its top bit set when stale) then 16,384 6-bit registers,
// dense (12,288 bytes, register i at bit 6i, low bits first) or sparse (runs:
// ZERO 00xxxxxx and XZERO 01xxxxxx xxxxxxxx of zero registers, VAL 1vvvvvxx
// of up to 4 registers of value v + 1). Elements hash with MurmurHash64A
// (seed 0xadc83b19) as Redis's, and the count is Redis's estimator (Ertl's
// improved raw estimate), so PFADD and PFCOUNT answer as Redis's do for the
// same elements, and a value copied from Redis reads here.
//
// What must hold:
// - a value is read whole into registers and written whole from them: a
//   sparse value is written in canonical form (each run as long as its
//   opcode allows), so its bytes may differ from Redis's, whose sparse
//   updates are incremental; a dense one is byte for byte Redis's but for
//   the cached cardinality, which xrpkv does not write back on PFCOUNT;
// - a value that would be more than SPARSE_MAX bytes sparse, or holds a
//   register above 32 (VAL's limit), is dense, as Redis converts it;
// - anything that is not such a value is refused (`HllError`): never a
//   count from damaged bytes.

export const REGISTERS = 16384;
const P = 14;
const Q = 64 - P;
const HEADER = 16;
const DENSE_BYTES = HEADER + (REGISTERS * 6) / 8;
/** Redis's hll-sparse-max-bytes default. */
export const SPARSE_MAX = 3000;
const SPARSE_VAL_MAX = 32;
const MAGIC = Buffer.from('HYLL', 'latin1');

/** What is wrong with a value: not an HLL string at all (`WRONGTYPE`), or one whose registers do not add up (`INVALIDOBJ`). */
export class HllError extends Error {
  constructor(readonly kind: 'not-hll' | 'corrupt') {
    super(kind === 'not-hll' ? 'WRONGTYPE Key is not a valid HyperLogLog string value.' : 'INVALIDOBJ Corrupted HLL object detected');
  }
}

/** An HLL read into one byte per register, with what its value said of itself. */
export interface Hll {
  registers: Uint8Array;
  dense: boolean;
  /** The cached cardinality, when the value's cache is valid. */
  cached: bigint | undefined;
}

export function emptyHll(): Hll {
  return { registers: new Uint8Array(REGISTERS), dense: false, cached: 0n };
}

/**
 * The count a value caches, undefined when stale; HllError if it is not an
 * HLL. Redis's PFCOUNT of one key answers it without reading the registers.
 */
export function cachedCount(value: Buffer): bigint | undefined {
  if (value.length < HEADER || !value.subarray(0, 4).equals(MAGIC) || value[4]! > 1) throw new HllError('not-hll');
  if (value[4] === 0 && value.length !== DENSE_BYTES) throw new HllError('not-hll');
  return (value[15]! & 0x80) === 0 ? value.readBigUInt64LE(8) : undefined;
}

/** Reads a value (HllError if it is not a sound HLL). */
export function readHll(value: Buffer): Hll {
  const cached = cachedCount(value);
  const dense = value[4] === 0;
  const registers = new Uint8Array(REGISTERS);
  if (dense) {
    for (let i = 0; i < REGISTERS; i++) registers[i] = denseRegister(value, i);
    return { registers, dense, cached };
  }
  let r = 0;
  for (let at = HEADER; at < value.length; ) {
    const op = value[at]!;
    let run: number;
    let v = 0;
    if ((op & 0xc0) === 0x00) {
      run = (op & 0x3f) + 1;
      at++;
    } else if ((op & 0xc0) === 0x40) {
      if (at + 1 >= value.length) throw new HllError('corrupt');
      run = (((op & 0x3f) << 8) | value[at + 1]!) + 1;
      at += 2;
    } else {
      v = ((op >> 2) & 0x1f) + 1;
      run = (op & 0x3) + 1;
      at++;
    }
    if (r + run > REGISTERS) throw new HllError('corrupt');
    registers.fill(v, r, r + run);
    r += run;
  }
  if (r !== REGISTERS) throw new HllError('corrupt');
  return { registers, dense, cached };
}

function denseRegister(value: Buffer, i: number): number {
  const bit = i * 6;
  const b = HEADER + (bit >> 3);
  const shift = bit & 7;
  const next = b + 1 < value.length ? value[b + 1]! : 0;
  return ((value[b]! >> shift) | (next << (8 - shift))) & 63;
}

/**
 * The value for `hll`: sparse unless it was dense, has a register above 32
 * or would be over SPARSE_MAX bytes; the cached count `cached` (undefined:
 * marked stale).
 */
export function writeHll(hll: Hll, cached: bigint | undefined): Buffer {
  const sparse = hll.dense ? undefined : sparseBytes(hll.registers);
  const body = sparse ?? denseBytes(hll.registers);
  const out = Buffer.alloc(HEADER + body.length);
  MAGIC.copy(out, 0);
  out[4] = sparse === undefined ? 0 : 1;
  out.writeBigUInt64LE(cached ?? 0n, 8);
  if (cached === undefined) out[15] = out[15]! | 0x80;
  body.copy(out, HEADER);
  return out;
}

function denseBytes(registers: Uint8Array): Buffer {
  const out = Buffer.alloc(DENSE_BYTES - HEADER);
  for (let i = 0; i < REGISTERS; i++) {
    const bit = i * 6;
    const b = bit >> 3;
    const shift = bit & 7;
    out[b] = out[b]! | ((registers[i]! << shift) & 0xff);
    if (shift > 2 && b + 1 < out.length) out[b + 1] = out[b + 1]! | (registers[i]! >> (8 - shift));
  }
  return out;
}

/** The canonical sparse encoding, or undefined where the value must be dense. */
function sparseBytes(registers: Uint8Array): Buffer | undefined {
  const out: number[] = [];
  for (let i = 0; i < REGISTERS; ) {
    const v = registers[i]!;
    if (v > SPARSE_VAL_MAX) return undefined;
    let run = 1;
    while (i + run < REGISTERS && registers[i + run] === v) run++;
    i += run;
    while (run > 0) {
      if (v === 0 && run > 64) {
        const n = Math.min(run, 16384);
        out.push(0x40 | ((n - 1) >> 8), (n - 1) & 0xff);
        run -= n;
      } else if (v === 0) {
        out.push(run - 1);
        run = 0;
      } else {
        const n = Math.min(run, 4);
        out.push(0x80 | ((v - 1) << 2) | (n - 1));
        run -= n;
      }
    }
    if (HEADER + out.length > SPARSE_MAX) return undefined;
  }
  return Buffer.from(out);
}

const M = 0xc6a4a7935bd1e995n;
const MASK = (1n << 64n) - 1n;

/** MurmurHash64A of `key` with seed 0xadc83b19, as Redis's HyperLogLog hashes an element (little-endian blocks). */
export function murmur64a(key: Buffer): bigint {
  let h = (0xadc83b19n ^ (BigInt(key.length) * M)) & MASK;
  const blocks = key.length >> 3;
  for (let i = 0; i < blocks; i++) {
    let k = (key.readBigUInt64LE(i * 8) * M) & MASK;
    k ^= k >> 47n;
    k = (k * M) & MASK;
    h ^= k;
    h = (h * M) & MASK;
  }
  const rest = key.length & 7;
  if (rest > 0) {
    for (let i = rest - 1; i >= 0; i--) h ^= BigInt(key[blocks * 8 + i]!) << BigInt(8 * i);
    h = (h * M) & MASK;
  }
  h ^= h >> 47n;
  h = (h * M) & MASK;
  h ^= h >> 47n;
  return h;
}

/** Adds `element`: whether a register grew. */
export function addElement(registers: Uint8Array, element: Buffer): boolean {
  let h = murmur64a(element);
  const index = Number(h & BigInt(REGISTERS - 1));
  h >>= BigInt(P);
  h |= 1n << BigInt(Q);
  let count = 1;
  while ((h & 1n) === 0n) {
    count++;
    h >>= 1n;
  }
  if (registers[index]! >= count) return false;
  registers[index] = count;
  return true;
}

/** Redis's cardinality estimate of `registers` (hllCount: Ertl's improved estimator). */
export function estimate(registers: Uint8Array): bigint {
  const m = REGISTERS;
  const histogram = new Array<number>(64).fill(0);
  for (let i = 0; i < m; i++) histogram[registers[i]!]!++;
  let z = m * tau((m - histogram[Q + 1]!) / m);
  for (let j = Q; j >= 1; j--) {
    z += histogram[j]!;
    z *= 0.5;
  }
  z += m * sigma(histogram[0]! / m);
  const alphaInf = 0.721347520444481703680; // 1 / (2 ln 2)
  return BigInt(Math.round((alphaInf * m * m) / z));
}

function sigma(x: number): number {
  if (x === 1) return Infinity;
  let y = 1;
  let z = x;
  for (;;) {
    x *= x;
    const before = z;
    z += x * y;
    y += y;
    if (before === z) return z;
  }
}

function tau(x: number): number {
  if (x === 0 || x === 1) return 0;
  let y = 1;
  let z = 1 - x;
  for (;;) {
    x = Math.sqrt(x);
    const before = z;
    y *= 0.5;
    z -= Math.pow(1 - x, 2) * y;
    if (before === z) return z / 3;
  }
}

/** A sparse value's opcodes as Redis's PFDEBUG DECODE writes them (`z:run` zeros, `Z:run` long zeros, `v:value,run`); undefined for a dense one. */
export function describeSparse(value: Buffer): string | undefined {
  if (value[4] === 0) return undefined;
  const parts: string[] = [];
  for (let at = HEADER; at < value.length; ) {
    const op = value[at]!;
    if ((op & 0xc0) === 0x00) {
      parts.push(`z:${(op & 0x3f) + 1}`);
      at++;
    } else if ((op & 0xc0) === 0x40) {
      parts.push(`Z:${(((op & 0x3f) << 8) | (value[at + 1] ?? 0)) + 1}`);
      at += 2;
    } else {
      parts.push(`v:${((op >> 2) & 0x1f) + 1},${(op & 0x3) + 1}`);
      at++;
    }
  }
  return parts.join(' ');
}
