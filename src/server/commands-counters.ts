// Numbers in strings: INCR, INCRBY, DECR, DECRBY (signed 64-bit, Redis's
// parsing and overflow errors) and INCRBYFLOAT (Redis's long double
// arithmetic and printing: long-double.ts). Each keeps the key's deadline.
import { ReplyError, dataCommand, int64, type CommandSpec, type DataContext } from './command-spec.js';
import { WRONGTYPE } from './data.js';
import { KeyType } from './layout.js';
import { addLongDouble, formatLongDouble, isInfinity, parseLongDouble } from './long-double.js';
import { bulk, integer, type Reply } from './resp-writer.js';

const I64_MAX = 0x7fff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;

const key1 = { firstKey: 1, lastKey: 1, step: 1 };

/** The string at `key` (undefined when missing), for a command that rewrites it in place. */
function stringFound({ data }: DataContext, key: Buffer) {
  const found = data.find(key);
  if (found !== undefined && found.meta.type !== KeyType.String) throw WRONGTYPE();
  return found;
}

/** Adds `delta` to the integer stored at `key` (0 when absent). */
function incrementBy(cmd: DataContext, key: Buffer, delta: bigint): Reply {
  const found = stringFound(cmd, key);
  const n = found === undefined ? 0n : int64(found.value!);
  const sum = n + delta;
  if (sum > I64_MAX || sum < I64_MIN) throw new ReplyError('ERR increment or decrement would overflow');
  cmd.data.setString(key, Buffer.from(sum.toString(), 'latin1'), found?.meta.deadline ?? 0, found);
  return integer(sum);
}

const counter = (name: string, summary: string, arity: number, sign: 1n | -1n): CommandSpec =>
  dataCommand(
    name,
    { arity, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary, since: '1.0.0', access: 'write' },
    (cmd, args) => {
      const by = arity === 3 ? int64(args[2]!) : 1n;
      if (sign < 0n && by === I64_MIN) throw new ReplyError('ERR decrement would overflow');
      return incrementBy(cmd, args[1]!, sign * by);
    },
  );

export const INCR = counter('incr', 'Adds one to the integer value of a key (0 when absent).', 2, 1n);
export const INCRBY = counter('incrby', 'Adds an integer to the integer value of a key (0 when absent).', 3, 1n);
export const DECR = counter('decr', 'Subtracts one from the integer value of a key (0 when absent).', 2, -1n);
export const DECRBY = counter('decrby', 'Subtracts an integer from the integer value of a key (0 when absent).', 3, -1n);

/** `old` (a number as text, or undefined for 0) plus `increment`, as Redis's INCRBYFLOAT and HINCRBYFLOAT print it. */
export function addFloat(old: Buffer | undefined, increment: Buffer, notFloat: string): Buffer {
  const byText = increment.toString('latin1');
  const by = parseLongDouble(byText);
  if (by === undefined && !isInfinity(byText)) throw new ReplyError('ERR value is not a valid float');
  const baseText = old?.toString('latin1');
  const base = baseText === undefined ? { m: 0n, e: 0 } : parseLongDouble(baseText);
  if (base === undefined && !isInfinity(baseText!)) throw new ReplyError(notFloat);
  // Infinity plus anything is infinite or NaN, which Redis refuses to store.
  if (by === undefined || base === undefined) throw new ReplyError('ERR increment would produce NaN or Infinity');
  const sum = addLongDouble(base, by);
  if (sum === undefined) throw new ReplyError('ERR increment would produce NaN or Infinity');
  return Buffer.from(formatLongDouble(sum), 'latin1');
}

export const INCRBYFLOAT = dataCommand(
  'incrbyfloat',
  { arity: 3, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary: 'Adds a floating point number to the value of a key (0 when absent).', since: '2.6.0', access: 'write' },
  (cmd, args) => {
    const key = args[1]!;
    const found = stringFound(cmd, key);
    const value = addFloat(found?.value, args[2]!, 'ERR value is not a valid float');
    cmd.data.setString(key, value, found?.meta.deadline ?? 0, found);
    return bulk(value);
  },
);

export const COUNTER_COMMANDS = [INCR, INCRBY, DECR, DECRBY, INCRBYFLOAT];
