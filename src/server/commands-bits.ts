// Bits of string values: GETBIT, SETBIT, BITCOUNT, BITPOS and BITOP, as
// Redis 7.0 has them. Bit 0 is the most significant bit of byte 0; a
// missing key reads as zero bits; SETBIT grows the string with zero bytes
// (up to proto-max-bulk-len) and keeps its deadline.
import { ReplyError, SYNTAX, dataCommand, int64, word, type DataContext } from './command-spec.js';
import { checkLength, stringAt } from './commands-strings.js';
import { integer } from './resp-writer.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1, group: 'bitmap' };
const EMPTY = Buffer.alloc(0);

/** A bit offset: below 8 times proto-max-bulk-len. */
function bitOffset(cmd: DataContext, arg: Buffer): number {
  const s = arg.toString('latin1');
  // Redis's string2ll: no sign, no leading zeros.
  const n = /^(0|[1-9]\d{0,15})$/.test(s) ? Number(s) : -1;
  if (n < 0 || Math.floor(n / 8) >= cmd.server.config.maxBulkLen) throw new ReplyError('ERR bit offset is not an integer or out of range');
  return n;
}

/** The bit at `offset` of `v`, most significant first; 0 past its end. */
export const bitAt = (v: Buffer, offset: number) => (offset >> 3 < v.length ? (v[offset >> 3]! >> (7 - (offset & 7))) & 1 : 0);

/** Sets (`bit` 1) or clears the bit at `offset` of `v`, which holds it. */
export function setBitAt(v: Buffer, offset: number, bit: number): void {
  const mask = 1 << (7 - (offset & 7));
  v[offset >> 3] = bit ? v[offset >> 3]! | mask : v[offset >> 3]! & ~mask;
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}

/**
 * BITCOUNT's (`count`) and BITPOS's range, Redis's arithmetic: start and
 * end (end undefined: to the last unit) in bytes or, with BIT, bits,
 * negatives from the end, clamped; as an inclusive range of bits, or
 * undefined when empty.
 */
function bitRange(length: number, startArg: Buffer, endArg: Buffer | undefined, unit: Buffer | undefined, count: boolean): [number, number] | undefined {
  let bits = false;
  if (unit !== undefined) {
    const u = word(unit);
    if (u !== 'bit' && u !== 'byte') throw SYNTAX();
    bits = u === 'bit';
  }
  const total = bits ? length * 8 : length;
  let start = Number(int64(startArg));
  let end = endArg === undefined ? total - 1 : Number(int64(endArg));
  // BITCOUNT's own shortcut (BITPOS has none: -2 -3 of one byte is byte 0 there).
  if (count && start < 0 && end < 0 && start > end) return undefined;
  if (start < 0) start += total;
  if (end < 0) end += total;
  start = Math.max(start, 0);
  end = Math.min(Math.max(end, 0), total - 1);
  if (start > end) return undefined;
  return bits ? [start, end] : [start * 8, end * 8 + 7];
}

export const GETBIT = dataCommand('getbit', { ...key1, arity: 3, flags: ['readonly', 'fast'], access: 'read', summary: 'Returns the bit at an offset of a string value (0 past its end).', since: '2.2.0' }, (cmd, [, key, offset]) => {
  const at = bitOffset(cmd, offset!);
  return integer(bitAt(stringAt(cmd, key!, true)?.value ?? EMPTY, at));
});

export const SETBIT = dataCommand(
  'setbit',
  { ...key1, arity: 4, flags: ['write', 'denyoom'], access: 'write', summary: 'Sets or clears the bit at an offset of a string value (grown with zero bytes); returns the bit before.', since: '2.2.0' },
  (cmd, [, key, offset, bitArg]) => {
    const at = bitOffset(cmd, offset!);
    const b = bitArg!.toString('latin1');
    if (b !== '0' && b !== '1') throw new ReplyError('ERR bit is not an integer or out of range');
    const found = stringAt(cmd, key!);
    const old = found?.value ?? EMPTY;
    checkLength(cmd, (at >> 3) + 1);
    const value = Buffer.alloc(Math.max(old.length, (at >> 3) + 1));
    old.copy(value);
    const before = bitAt(value, at);
    setBitAt(value, at, b === '1' ? 1 : 0);
    cmd.data.setString(key!, value, found?.meta.deadline ?? 0, found);
    return integer(before);
  },
);

export const BITCOUNT = dataCommand(
  'bitcount',
  { ...key1, arity: -2, flags: ['readonly'], access: 'read', summary: 'Counts the set bits of a string value, or of a range of its bytes (or, with BIT, bits).', since: '2.6.0' },
  (cmd, args) => {
    // As Redis 7.0: a missing key counts 0 before its range is looked at.
    const value = stringAt(cmd, args[1]!, true)?.value;
    if (value === undefined) return integer(0);
    if (args.length !== 2 && args.length !== 4 && args.length !== 5) throw SYNTAX();
    const range = args.length === 2 ? (value.length === 0 ? undefined : ([0, value.length * 8 - 1] as [number, number])) : bitRange(value.length, args[2]!, args[3]!, args[4], true);
    if (range === undefined) return integer(0);
    let n = 0;
    const [lo, hi] = range;
    for (let byte = lo >> 3; byte <= hi >> 3; byte++) {
      let b = value[byte]!;
      if (byte === lo >> 3) b &= 0xff >> (lo & 7);
      if (byte === hi >> 3) b &= (0xff << (7 - (hi & 7))) & 0xff;
      n += popcount(b);
    }
    return integer(n);
  },
);

export const BITPOS = dataCommand(
  'bitpos',
  { ...key1, arity: -3, flags: ['readonly'], access: 'read', summary: 'The first bit set (1) or clear (0) of a string value, or of a range of its bytes (or, with BIT, bits).', since: '2.8.7' },
  (cmd, args) => {
    const want = Number(int64(args[2]!));
    if (want !== 0 && want !== 1) throw new ReplyError('ERR The bit argument must be 1 or 0.');
    // A missing key is zero bits without end: as Redis, answered before its range is looked at.
    const value = stringAt(cmd, args[1]!, true)?.value;
    if (value === undefined) return integer(want === 1 ? -1 : 0);
    if (args.length > 6) throw SYNTAX();
    const endGiven = args.length >= 5;
    const range = args.length === 3 ? (value.length === 0 ? undefined : ([0, value.length * 8 - 1] as [number, number])) : bitRange(value.length, args[3]!, args[4], args[5], false);
    if (range === undefined) return integer(-1);
    const [lo, hi] = range;
    for (let at = lo; at <= hi; at++) if (bitAt(value, at) === want) return integer(at);
    // No clear bit in a range without an explicit end: the string goes on as zero bits.
    return integer(want === 0 && !endGiven ? hi + 1 : -1);
  },
);

export const BITOP = dataCommand(
  'bitop',
  { arity: -4, flags: ['write', 'denyoom'], firstKey: 2, lastKey: -1, step: 1, group: 'bitmap', access: 'write', summary: 'BITOP AND|OR|XOR|NOT dest key...: stores the bitwise result of the strings (zero-padded to the longest); returns its length.', since: '2.6.0' },
  (cmd, args) => {
    const op = word(args[1]);
    if (op !== 'and' && op !== 'or' && op !== 'xor' && op !== 'not') throw SYNTAX();
    const sources = args.slice(3);
    if (op === 'not' && sources.length !== 1) throw new ReplyError('ERR BITOP NOT must be called with a single source key.');
    const values = sources.map((k) => stringAt(cmd, k)?.value ?? EMPTY);
    const length = Math.max(...values.map((v) => v.length));
    const out = Buffer.alloc(length);
    for (let i = 0; i < length; i++) {
      let b = values[0]![i] ?? 0;
      if (op === 'not') b = ~b & 0xff;
      for (let j = 1; j < values.length; j++) {
        const c = values[j]![i] ?? 0;
        b = op === 'and' ? b & c : op === 'or' ? b | c : b ^ c;
      }
      out[i] = b;
    }
    const dest = args[2]!;
    if (length === 0) cmd.data.remove(dest);
    else cmd.data.setString(dest, out);
    return integer(length);
  },
);

export const BIT_COMMANDS = [GETBIT, SETBIT, BITCOUNT, BITPOS, BITOP];
