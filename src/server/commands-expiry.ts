// Expiry: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX, XX, GT, LT), TTL, PTTL,
// EXPIRETIME, PEXPIRETIME, PERSIST, and the parsing of SET's, GETEX's and
// SETEX's times. Deadlines are milliseconds since the epoch, stored with
// the key (layout.ts); a key past its deadline is gone at once for every
// command (data.ts) and its records are removed by the sweep (sweep.ts).
// Errors, limits and replies follow Redis 7.0.
import { ReplyError, dataCommand, int64, word, type CommandSpec, type DataContext } from './command-spec.js';
import { integer, type Reply } from './resp-writer.js';

const I64_MAX = 0x7fff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;

export const invalidExpireTime = (command: string) => new ReplyError(`ERR invalid expire time in '${command}' command`);

/** A time argument as given: in seconds or milliseconds, relative to now or absolute. */
export interface TimeArg {
  amount: bigint;
  unit: 's' | 'ms';
  absolute: boolean;
}

/**
 * SET's and GETEX's deadline from their EX/PX/EXAT/PXAT argument, as Redis
 * checks it: the amount must be positive and the deadline fit 64 bits.
 */
export function optionDeadline(t: TimeArg, now: number, command: string): number {
  if (t.amount <= 0n || (t.unit === 's' && t.amount > I64_MAX / 1000n)) throw invalidExpireTime(command);
  let ms = t.unit === 's' ? t.amount * 1000n : t.amount;
  if (!t.absolute) ms += BigInt(now);
  if (ms <= 0n || ms > I64_MAX) throw invalidExpireTime(command);
  return Number(ms);
}

const timeUnits: Record<string, Omit<TimeArg, 'amount'>> = {
  ex: { unit: 's', absolute: false },
  px: { unit: 'ms', absolute: false },
  exat: { unit: 's', absolute: true },
  pxat: { unit: 'ms', absolute: true },
};

/** SET's and GETEX's options, as Redis 7.0 parses them. */
export interface StringOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
  keepTtl: boolean;
  persist: boolean;
  time: TimeArg | undefined;
}

export function stringOptions(args: Buffer[], from: number, command: 'set' | 'getex'): StringOptions {
  const o: StringOptions = { nx: false, xx: false, get: false, keepTtl: false, persist: false, time: undefined };
  const isSet = command === 'set';
  for (let i = from; i < args.length; i++) {
    const opt = word(args[i]);
    const unit = timeUnits[opt];
    if (opt === 'nx' && isSet && !o.xx) o.nx = true;
    else if (opt === 'xx' && isSet && !o.nx) o.xx = true;
    else if (opt === 'get' && isSet) o.get = true;
    else if (opt === 'keepttl' && isSet && !o.time) o.keepTtl = true;
    else if (opt === 'persist' && !isSet && !o.time) o.persist = true;
    else if (unit !== undefined && !o.keepTtl && !o.persist && (!o.time || sameUnit(o.time, unit)) && i + 1 < args.length) {
      o.time = { ...unit, amount: int64(args[++i]!) };
    } else throw new ReplyError('ERR syntax error');
  }
  return o;
}

const sameUnit = (a: Omit<TimeArg, 'amount'>, b: Omit<TimeArg, 'amount'>) => a.unit === b.unit && a.absolute === b.absolute;

// ---- EXPIRE and its family ---------------------------------------------------------

interface Condition {
  nx: boolean;
  xx: boolean;
  gt: boolean;
  lt: boolean;
}

function condition(args: Buffer[]): Condition {
  const c: Condition = { nx: false, xx: false, gt: false, lt: false };
  for (const arg of args.slice(3)) {
    const opt = word(arg);
    if (opt === 'nx' || opt === 'xx' || opt === 'gt' || opt === 'lt') c[opt] = true;
    else throw new ReplyError(`ERR Unsupported option ${arg.toString('utf8')}`);
  }
  if (c.nx && (c.xx || c.gt || c.lt)) throw new ReplyError('ERR NX and XX, GT or LT options at the same time are not compatible');
  if (c.gt && c.lt) throw new ReplyError('ERR GT and LT options at the same time are not compatible');
  return c;
}

/** The deadline EXPIRE & co. ask for, as Redis computes it (a negative one is allowed: the key goes at once). */
function expireDeadline(command: string, when: bigint, unit: 's' | 'ms', absolute: boolean, now: number): number {
  const negative = when < 0n;
  if (unit === 's') {
    if (when > I64_MAX / 1000n || when < I64_MIN / 1000n) throw invalidExpireTime(command);
    when *= 1000n;
  }
  const base = absolute ? 0n : BigInt(now);
  const sum = when + base;
  if (sum > I64_MAX || sum < I64_MIN || (sum < 0n && !negative) || (sum - base > 0n && negative)) throw invalidExpireTime(command);
  return Number(sum);
}

function expireCommand(name: string, unit: 's' | 'ms', absolute: boolean, summary: string, since: string): CommandSpec {
  return dataCommand(
    name,
    { arity: -3, flags: ['write', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', summary, since, access: 'write' },
    ({ data }: DataContext, args): Reply => {
      const c = condition(args);
      const deadline = expireDeadline(name, int64(args[2]!), unit, absolute, data.now);
      const key = args[1]!;
      const found = data.find(key);
      if (found === undefined) return integer(0);
      const current = found.meta.deadline; // 0: none, an infinite TTL for GT and LT
      if ((c.nx && current !== 0) || (c.xx && current === 0)) return integer(0);
      if (c.gt && (current === 0 || deadline <= current)) return integer(0);
      if (c.lt && current !== 0 && deadline >= current) return integer(0);
      if (deadline <= data.now) data.remove(key, found);
      else data.setDeadline(key, deadline, found);
      return integer(1);
    },
  );
}

export const EXPIRE = expireCommand('expire', 's', false, "Sets a key's time to live in seconds (NX, XX, GT, LT conditions).", '1.0.0');
export const PEXPIRE = expireCommand('pexpire', 'ms', false, "Sets a key's time to live in milliseconds.", '2.6.0');
export const EXPIREAT = expireCommand('expireat', 's', true, "Sets a key's deadline as a Unix time in seconds.", '1.2.0');
export const PEXPIREAT = expireCommand('pexpireat', 'ms', true, "Sets a key's deadline as a Unix time in milliseconds.", '2.6.0');

/** TTL and its family: -2 for a missing key, -1 for a key without a deadline. */
function ttlCommand(name: string, answer: (deadline: number, now: number) => number, summary: string, since: string): CommandSpec {
  return dataCommand(
    name,
    { arity: 2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', summary, since, access: 'read' },
    ({ data }, args) => {
      const found = data.read(args[1]!);
      if (found === undefined) return integer(-2);
      const { deadline } = found.meta;
      return integer(deadline === 0 ? -1 : answer(deadline, data.now));
    },
  );
}

const seconds = (ms: number) => Math.floor((ms + 500) / 1000);

export const TTL = ttlCommand('ttl', (d, now) => seconds(Math.max(0, d - now)), "Returns a key's time to live in seconds.", '1.0.0');
export const PTTL = ttlCommand('pttl', (d, now) => Math.max(0, d - now), "Returns a key's time to live in milliseconds.", '2.6.0');
export const EXPIRETIME = ttlCommand('expiretime', (d) => seconds(d), "Returns a key's deadline as a Unix time in seconds.", '7.0.0');
export const PEXPIRETIME = ttlCommand('pexpiretime', (d) => d, "Returns a key's deadline as a Unix time in milliseconds.", '7.0.0');

export const PERSIST = dataCommand(
  'persist',
  { arity: 2, flags: ['write', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', summary: "Removes a key's deadline; 1 if it had one.", since: '2.2.0', access: 'write' },
  ({ data }, args) => {
    const found = data.find(args[1]!);
    if (found === undefined || found.meta.deadline === 0) return integer(0);
    data.setDeadline(args[1]!, 0, found);
    return integer(1);
  },
);

export const EXPIRY_COMMANDS = [EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT, TTL, PTTL, EXPIRETIME, PEXPIRETIME, PERSIST];
