// Pops from the first of several keys that has something: LMPOP and ZMPOP,
// and the blocking pops BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN,
// BZPOPMAX and BZMPOP. Each blocking one is its non-blocking form (the first
// non-empty key's LPOP, RPOP, ZPOPMIN or ZPOPMAX, LMOVE, LMPOP, ZMPOP) tried
// as an ordinary write; when there was nothing to pop, the client waits
// (blocked.ts) until a write to one of its keys lets a try pop something,
// or its timeout passes (seconds, fractions allowed; 0: for ever), and
// sends nothing else meanwhile: commands it pipelined after wait
// (session.ts). Inside MULTI they do not block, as in Redis: EXEC runs the
// non-blocking form.
import { ReplyError, SYNTAX, commandKeys, dataCommand, keysAfterCount, word, type CommandSpec, type DataContext } from './command-spec.js';
import { moveElement, popElement, side } from './commands-lists.js';
import { parseScore, popScored } from './commands-zsets.js';
import { array, bulk, bulkOrNil, bulks, double, nil, nullArray, type Protocol, type Reply } from './resp-writer.js';

/** A timeout argument in seconds as milliseconds (0: none), with Redis's errors. */
function timeoutMs(arg: Buffer): number {
  // As strtold reads it (hexadecimal too), as Redis does.
  const seconds = parseScore(arg);
  if (seconds === undefined || !Number.isFinite(seconds)) throw new ReplyError('ERR timeout is not a float or out of range');
  if (seconds < 0) throw new ReplyError('ERR timeout is negative');
  // Under a millisecond, but not 0: the shortest wait there is.
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000));
}

/**
 * A blocking command over `pop`, its non-blocking form (which checks the
 * timeout too, so that EXEC refuses a bad one); `keys` are the keys it
 * waits on (its sources: not BLMOVE's destination), `none` its reply when
 * there is nothing to pop.
 */
function blocking(
  name: string,
  meta: Omit<Parameters<typeof dataCommand>[1], 'access' | 'group'>,
  pop: (cmd: DataContext, args: Buffer[]) => Reply,
  keys: (args: Buffer[]) => Buffer[],
  none: (proto: Protocol) => Reply,
  /** Where the timeout is (default: last). */
  timeoutAt?: number,
): CommandSpec {
  const group = name.startsWith('bz') ? 'sorted-set' : 'list';
  const spec = dataCommand(name, { ...meta, group, access: 'write' }, pop, (ctx, args) => {
    const ms = timeoutMs(args[timeoutAt ?? args.length - 1]!);
    // Every key it may write is in flight while a try is (BLMOVE's destination too: a plain SET of it must not take the raw path meanwhile).
    const written = commandKeys(spec, args);
    const attempt = () => ctx.keyspace.writing(ctx, pop, args, written);
    return ctx.keyspace.blocked.block(ctx.client, keys(args), ms, attempt, none(ctx.client.proto));
  });
  spec.blocks = true;
  return spec;
}

/**
 * BLPOP, BRPOP, BZPOPMIN and BZPOPMAX (`key... timeout`): [key, what `pop`
 * took] from the first of the keys it takes something from; nil when none
 * has anything.
 */
function firstKeyPop(name: string, summary: string, since: string, pop: (cmd: DataContext, key: Buffer) => Reply[] | undefined): CommandSpec {
  return blocking(
    name,
    // noscript: Redis 7.0's flags (a script may not call these; BLMPOP and BZMPOP it may, without waiting).
    { arity: -3, flags: ['write', 'noscript', 'blocking'], firstKey: 1, lastKey: -2, step: 1, summary, since },
    (cmd, args) => {
      timeoutMs(args[args.length - 1]!);
      for (const key of args.slice(1, -1)) {
        const taken = pop(cmd, key);
        if (taken !== undefined) return array([bulk(key), ...taken]);
      }
      return nullArray(cmd.proto);
    },
    (args) => args.slice(1, -1),
    nullArray,
  );
}

/** A list's end element, as a reply. */
const element = (left: boolean) => (cmd: DataContext, key: Buffer) => {
  const e = popElement(cmd, key, left);
  return e === undefined ? undefined : [bulk(e)];
};

/** A sorted set's lowest (or highest) member and its score, as replies. */
const scored = (max: boolean) => (cmd: DataContext, key: Buffer) => {
  const [e] = popScored(cmd, key, max, 1);
  return e === undefined ? undefined : [bulk(e.member), double(e.score, cmd.proto)];
};

export const BLPOP = firstKeyPop('blpop', 'LPOP of the first non-empty list of the keys, as [key, element]; blocks until one has an element, or the timeout (seconds; 0: none) passes (nil).', '2.0.0', element(true));
export const BRPOP = firstKeyPop('brpop', 'BLPOP from the right end.', '2.0.0', element(false));
export const BZPOPMIN = firstKeyPop('bzpopmin', 'ZPOPMIN of the first non-empty sorted set of the keys, as [key, member, score]; blocks until one has a member, or the timeout passes (nil).', '5.0.0', scored(false));
export const BZPOPMAX = firstKeyPop('bzpopmax', 'BZPOPMIN of the highest scores.', '5.0.0', scored(true));

/** BLMOVE and BRPOPLPUSH (`source destination ... timeout`): LMOVE from the ends `ends` reads (checked before the timeout, as Redis does), waiting on the source. */
function blockingMove(name: string, arity: number, summary: string, since: string, ends: (args: Buffer[]) => [fromLeft: boolean, toLeft: boolean]): CommandSpec {
  return blocking(
    name,
    { arity, flags: ['write', 'denyoom', 'noscript', 'blocking'], firstKey: 1, lastKey: 2, step: 1, summary, since },
    (cmd, args) => {
      const [fromLeft, toLeft] = ends(args);
      timeoutMs(args[args.length - 1]!);
      return bulkOrNil(moveElement(cmd, args[1]!, args[2]!, fromLeft, toLeft), cmd.proto);
    },
    (args) => [args[1]!],
    nil,
  );
}

export const BLMOVE = blockingMove('blmove', 6, 'LMOVE that blocks until the source has an element, or the timeout (seconds; 0: none) passes (nil).', '6.2.0', (args) => [side(args[3]!), side(args[4]!)]);
export const BRPOPLPUSH = blockingMove('brpoplpush', 4, 'BLMOVE source destination RIGHT LEFT timeout.', '2.2.0', () => [false, true]);

/** LMPOP's and ZMPOP's arguments from `at` (numkeys): the keys, whether LEFT or MIN (`ends[0]`), and COUNT (1 unless given). */
function mpopArgs(args: Buffer[], at: number, ends: readonly [string, string]): { keys: Buffer[]; first: boolean; count: number } {
  const text = args[at]!.toString('latin1');
  if (!/^-?\d{1,16}$/.test(text)) throw new ReplyError('ERR value is not an integer or out of range');
  const n = Number(text);
  if (n <= 0) throw new ReplyError('ERR numkeys should be greater than 0');
  const endAt = at + 1 + n;
  if (endAt >= args.length) throw SYNTAX();
  const end = word(args[endAt]);
  if (end !== ends[0] && end !== ends[1]) throw SYNTAX();
  let count = 1;
  const rest = args.slice(endAt + 1);
  if (rest.length === 2 && word(rest[0]) === 'count') {
    const c = rest[1]!.toString('latin1');
    count = /^\d{1,16}$/.test(c) ? Number(c) : 0;
    if (count <= 0) throw new ReplyError('ERR count should be greater than 0');
  } else if (rest.length !== 0) throw SYNTAX();
  return { keys: args.slice(at + 1, endAt), first: end === ends[0], count };
}

/** LMPOP from `at`: [key, [elements]] from the first of the keys with an element. */
function lmpop(cmd: DataContext, args: Buffer[], at: number): Reply {
  const { keys, first, count } = mpopArgs(args, at, ['left', 'right']);
  for (const key of keys) {
    const popped: Buffer[] = [];
    for (let element; popped.length < count && (element = popElement(cmd, key, first)) !== undefined; ) popped.push(element);
    if (popped.length > 0) return array([bulk(key), bulks(popped)]);
  }
  return nullArray(cmd.proto);
}

/** ZMPOP from `at`: [key, [[member, score], ...]] from the first of the keys with a member. */
function zmpop(cmd: DataContext, args: Buffer[], at: number): Reply {
  const { keys, first, count } = mpopArgs(args, at, ['min', 'max']);
  for (const key of keys) {
    const popped = popScored(cmd, key, !first, count);
    if (popped.length > 0) return array([bulk(key), array(popped.map((e) => array([bulk(e.member), double(e.score, cmd.proto)])))]);
  }
  return nullArray(cmd.proto);
}

const mpopMeta = { flags: ['write'], firstKey: 2, lastKey: -2, step: 1 };

export const LMPOP = dataCommand(
  'lmpop',
  { ...mpopMeta, arity: -4, group: 'list', access: 'write', keysOf: (args) => keysAfterCount(args, 1), summary: 'LMPOP numkeys key... LEFT|RIGHT [COUNT n]: pops elements from the first non-empty list, as [key, [elements]].', since: '7.0.0' },
  (cmd, args) => lmpop(cmd, args, 1),
);

export const ZMPOP = dataCommand(
  'zmpop',
  { ...mpopMeta, arity: -4, group: 'sorted-set', access: 'write', keysOf: (args) => keysAfterCount(args, 1), summary: 'ZMPOP numkeys key... MIN|MAX [COUNT n]: pops members from the first non-empty sorted set, as [key, [[member, score]...]].', since: '7.0.0' },
  (cmd, args) => zmpop(cmd, args, 1),
);

/** BLMPOP and BZMPOP: the timeout first, then their MPOP's arguments. */
function blockingMpop(name: string, summary: string, pop: (cmd: DataContext, args: Buffer[], at: number) => Reply): CommandSpec {
  return blocking(
    name,
    { flags: ['write', 'blocking'], arity: -5, firstKey: 3, lastKey: -2, step: 1, keysOf: (args: Buffer[]) => keysAfterCount(args, 2), summary, since: '7.0.0' },
    (cmd, args) => {
      timeoutMs(args[1]!);
      return pop(cmd, args, 2);
    },
    (args) => keysAfterCount(args, 2),
    nullArray,
    1,
  );
}

export const BLMPOP = blockingMpop('blmpop', 'LMPOP that blocks until a list has an element, or the timeout (seconds; 0: none) passes (nil): BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n].', lmpop);
export const BZMPOP = blockingMpop('bzmpop', 'ZMPOP that blocks until a sorted set has a member, or the timeout passes (nil): BZMPOP timeout numkeys key... MIN|MAX [COUNT n].', zmpop);

export const BLOCKING_COMMANDS = [BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN, BZPOPMAX, LMPOP, ZMPOP, BLMPOP, BZMPOP];
