// BITFIELD and BITFIELD_RO: integers of 1 to 64 bits (u1-u63, i1-i64) at
// any bit offset of a string value, read, set and incremented with
// Redis 7.0's overflow rules (WRAP, SAT, FAIL). Bit 0 is the most
// significant bit of byte 0, as for GETBIT; 64-bit arithmetic is BigInt.
import { ReplyError, SYNTAX, dataCommand, int64, word, type DataContext } from './command-spec.js';
import { checkLength, stringAt } from './commands-strings.js';
import { bitAt, setBitAt } from './commands-bits.js';
import { array, integer, nil, type Reply } from './resp-writer.js';

type Overflow = 'wrap' | 'sat' | 'fail';

interface Op {
  kind: 'get' | 'set' | 'incrby';
  signed: boolean;
  bits: number;
  offset: number;
  value: bigint;
  overflow: Overflow;
}

const BAD_TYPE = 'ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.';

function type(arg: Buffer): { signed: boolean; bits: number } {
  const s = arg.toString('latin1');
  const signed = s[0] === 'i';
  if (!signed && s[0] !== 'u') throw new ReplyError(BAD_TYPE);
  let bits: bigint;
  try {
    bits = int64(arg.subarray(1));
  } catch {
    throw new ReplyError(BAD_TYPE);
  }
  if (bits < 1n || bits > (signed ? 64n : 63n)) throw new ReplyError(BAD_TYPE);
  return { signed, bits: Number(bits) };
}

/** A bit offset, or with `#` an index of `bits`-wide fields, below 8 times proto-max-bulk-len. */
function offset(cmd: DataContext, arg: Buffer, bits: number): number {
  const byField = arg[0] === 0x23; // '#'
  let n: bigint;
  try {
    n = int64(byField ? arg.subarray(1) : arg);
  } catch {
    throw new ReplyError('ERR bit offset is not an integer or out of range');
  }
  if (byField) n *= BigInt(bits);
  if (n < 0n || n >> 3n >= BigInt(cmd.server.config.maxBulkLen)) throw new ReplyError('ERR bit offset is not an integer or out of range');
  return Number(n);
}

function parse(cmd: DataContext, args: Buffer[]): Op[] {
  const ops: Op[] = [];
  let overflow: Overflow = 'wrap';
  for (let j = 2; j < args.length; j++) {
    const rest = args.length - j - 1;
    const w = word(args[j]);
    if (w === 'overflow' && rest >= 1) {
      const o = word(args[++j]);
      if (o !== 'wrap' && o !== 'sat' && o !== 'fail') throw new ReplyError('ERR Invalid OVERFLOW type specified');
      overflow = o;
      continue;
    }
    if (!((w === 'get' && rest >= 2) || ((w === 'set' || w === 'incrby') && rest >= 3))) throw SYNTAX();
    const t = type(args[j + 1]!);
    const at = offset(cmd, args[j + 2]!, t.bits);
    const value = w === 'get' ? 0n : int64(args[j + 3]!);
    ops.push({ kind: w, ...t, offset: at, value, overflow });
    j += w === 'get' ? 2 : 3;
  }
  return ops;
}

function read(v: Buffer, at: number, bits: number): bigint {
  let out = 0n;
  for (let i = 0; i < bits; i++, at++) out = (out << 1n) | BigInt(bitAt(v, at));
  return out;
}

function write(v: Buffer, at: number, bits: number, value: bigint): void {
  for (let i = 0; i < bits; i++, at++) setBitAt(v, at, Number((value >> BigInt(bits - 1 - i)) & 1n));
}

/**
 * `value` plus `incr` in a field of `bits` (Redis's checkSignedBitfieldOverflow
 * and checkUnsignedBitfieldOverflow): the result, and whether it overflowed
 * (then the result is the wrapped or saturated one). Which way a value
 * overflows is decided as Redis's C decides it, in wrapping 64-bit
 * arithmetic: a SET of a signed field to a value so negative that
 * `max - value` wraps (INT64_MIN into i5) counts as over the top, and
 * saturates to the maximum, as it does in Redis.
 */
function add(value: bigint, incr: bigint, bits: number, signed: boolean, overflow: Overflow): { result: bigint; over: boolean } {
  const b = BigInt(bits);
  const max = signed ? (1n << (b - 1n)) - 1n : (1n << b) - 1n;
  const min = signed ? -max - 1n : 0n;
  const i64 = (n: bigint) => BigInt.asIntN(64, n);
  let direction: 1 | -1 | 0;
  if (signed) {
    const maxincr = i64(BigInt.asUintN(64, max) - BigInt.asUintN(64, value));
    const minincr = i64(min - value);
    if (value > max || (bits !== 64 && incr > maxincr) || (value >= 0n && incr > 0n && incr > maxincr)) direction = 1;
    else if (value < min || (bits !== 64 && incr < minincr) || (value < 0n && incr < 0n && incr < minincr)) direction = -1;
    else direction = 0;
  } else {
    const maxincr = i64(max - value);
    const minincr = i64(-value);
    direction = value > max || (incr > 0n && incr > maxincr) ? 1 : incr < 0n && incr < minincr ? -1 : 0;
  }
  const sum = value + incr;
  if (direction === 0) return { result: sum, over: false };
  if (overflow === 'sat') return { result: direction > 0 ? max : min, over: true };
  // WRAP (FAIL writes nothing): the sum modulo 2^bits, as two's complement for a signed field.
  const wrapped = BigInt.asUintN(bits, sum);
  return { result: signed ? BigInt.asIntN(bits, wrapped) : wrapped, over: true };
}

function run(cmd: DataContext, args: Buffer[], readOnly: boolean): Reply {
  const ops = parse(cmd, args);
  const key = args[1]!;
  const writes = ops.some((op) => op.kind !== 'get');
  if (!writes) {
    const v = stringAt(cmd, key, true)?.value ?? Buffer.alloc(0);
    return array(ops.map((op) => integer(field(v, op))));
  }
  if (readOnly) throw new ReplyError('ERR BITFIELD_RO only supports the GET subcommand');
  const found = stringAt(cmd, key);
  const old = found?.value ?? Buffer.alloc(0);
  const needed = Math.max(...ops.filter((op) => op.kind !== 'get').map((op) => ((op.offset + op.bits - 1) >> 3) + 1));
  checkLength(cmd, needed);
  // The string grows to the farthest field written, even where FAIL then writes nothing (as Redis).
  const v = Buffer.alloc(Math.max(old.length, needed));
  old.copy(v);
  let changed = found === undefined || v.length > old.length;
  const replies = ops.map((op) => {
    if (op.kind === 'get') return integer(field(v, op));
    const before = field(v, op);
    // SET of a negative value into an unsigned field: the value as 64 unsigned bits (over any field's maximum), as Redis casts it.
    const set = op.signed ? op.value : BigInt.asUintN(64, op.value);
    const { result, over } = op.kind === 'incrby' ? add(before, op.value, op.bits, op.signed, op.overflow) : add(set, 0n, op.bits, op.signed, op.overflow);
    if (over && op.overflow === 'fail') return nil(cmd.proto);
    if (result !== before) changed = true;
    write(v, op.offset, op.bits, BigInt.asUintN(op.bits, result));
    return integer(op.kind === 'incrby' ? result : before);
  });
  // Unchanged, it is not written: a WATCH of it holds, as in Redis.
  if (changed) cmd.data.setString(key, v, found?.meta.deadline ?? 0, found);
  return array(replies);
}

/** The field's value, signed or not. */
function field(v: Buffer, op: Op): bigint {
  const raw = read(v, op.offset, op.bits);
  return op.signed ? BigInt.asIntN(op.bits, raw) : raw;
}

const key1 = { firstKey: 1, lastKey: 1, step: 1, group: 'bitmap', since: '3.2.0' };

export const BITFIELD = dataCommand(
  'bitfield',
  { ...key1, arity: -2, flags: ['write', 'denyoom'], access: 'write', summary: 'GET, SET and INCRBY integer fields (u1-u63, i1-i64) at bit offsets of a string, OVERFLOW WRAP, SAT or FAIL; their values.' },
  (cmd, args) => run(cmd, args, false),
);

export const BITFIELD_RO = dataCommand(
  'bitfield_ro',
  { ...key1, since: '6.0.0', arity: -2, flags: ['readonly', 'fast'], access: 'read', summary: 'BITFIELD with GET only, for replicas and read-only scripts.' },
  (cmd, args) => run(cmd, args, true),
);

export const BITFIELD_COMMANDS = [BITFIELD, BITFIELD_RO];
