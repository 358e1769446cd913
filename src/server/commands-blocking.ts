// The blocking list pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH. Each is its
// non-blocking form (the first non-empty key's LPOP or RPOP, LMOVE) tried as
// an ordinary write; when there was nothing to pop, the client waits
// (blocked.ts) until a write to one of its keys lets a try pop something,
// or its timeout passes (seconds, fractions allowed; 0: for ever), and
// sends nothing else meanwhile: commands it pipelined after wait
// (session.ts). Inside MULTI they do not block, as in Redis: EXEC runs the
// non-blocking form.
import { ReplyError, dataCommand, type CommandSpec, type DataContext } from './command-spec.js';
import { moveElement, popElement, side } from './commands-lists.js';
import { array, bulk, bulkOrNil, nil, nullArray, type Protocol, type Reply } from './resp-writer.js';

/** A timeout argument in seconds as milliseconds (0: none), with Redis's errors. */
function timeoutMs(arg: Buffer): number {
  const s = arg.toString('latin1');
  const seconds = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s) ? Number(s) : NaN;
  if (!Number.isFinite(seconds)) throw new ReplyError('ERR timeout is not a float or out of range');
  if (seconds < 0) throw new ReplyError('ERR timeout is negative');
  // Under a millisecond, but not 0: the shortest wait there is.
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000));
}

/**
 * A blocking command over `pop`, its non-blocking form (which checks the
 * timeout too, so that EXEC refuses a bad one); `keys` are the keys it
 * waits on, `none` its reply when there is nothing to pop.
 */
function blocking(
  name: string,
  meta: Omit<Parameters<typeof dataCommand>[1], 'access' | 'group'>,
  pop: (cmd: DataContext, args: Buffer[]) => Reply,
  keys: (args: Buffer[]) => Buffer[],
  none: (proto: Protocol) => Reply,
): CommandSpec {
  const spec = dataCommand(name, { ...meta, group: 'list', access: 'write' }, pop, (ctx, args) => {
    const ms = timeoutMs(args[args.length - 1]!);
    const waitOn = keys(args);
    const attempt = () => ctx.keyspace.writing(ctx, pop, args, waitOn);
    return ctx.keyspace.blocked.block(ctx.client, waitOn, ms, attempt, none(ctx.client.proto));
  });
  spec.blocks = true;
  return spec;
}

/** BLPOP and BRPOP: [key, element] from the first of the keys with an element. */
function popFirst(cmd: DataContext, args: Buffer[], left: boolean): Reply {
  timeoutMs(args[args.length - 1]!);
  for (const key of args.slice(1, -1)) {
    const element = popElement(cmd, key, left);
    if (element !== undefined) return array([bulk(key), bulk(element)]);
  }
  return nullArray(cmd.proto);
}

const popKeys = { arity: -3, flags: ['write', 'blocking'], firstKey: 1, lastKey: -2, step: 1 };
const moveKeys = { flags: ['write', 'denyoom', 'blocking'], firstKey: 1, lastKey: 2, step: 1 };

export const BLPOP = blocking(
  'blpop',
  { ...popKeys, summary: 'LPOP of the first non-empty list of the keys, as [key, element]; blocks until one has an element, or the timeout (seconds; 0: none) passes (nil).', since: '2.0.0' },
  (cmd, args) => popFirst(cmd, args, true),
  (args) => args.slice(1, -1),
  nullArray,
);

export const BRPOP = blocking(
  'brpop',
  { ...popKeys, summary: 'BLPOP from the right end.', since: '2.0.0' },
  (cmd, args) => popFirst(cmd, args, false),
  (args) => args.slice(1, -1),
  nullArray,
);

export const BLMOVE = blocking(
  'blmove',
  { ...moveKeys, arity: 6, summary: 'LMOVE that blocks until the source has an element, or the timeout (seconds; 0: none) passes (nil).', since: '6.2.0' },
  (cmd, [, source, destination, from, to, timeout]) => {
    const fromLeft = side(from!);
    const toLeft = side(to!);
    timeoutMs(timeout!);
    return bulkOrNil(moveElement(cmd, source!, destination!, fromLeft, toLeft), cmd.proto);
  },
  (args) => [args[1]!],
  nil,
);

export const BRPOPLPUSH = blocking(
  'brpoplpush',
  { ...moveKeys, arity: 4, summary: 'BLMOVE source destination RIGHT LEFT timeout.', since: '2.2.0' },
  (cmd, [, source, destination, timeout]) => {
    timeoutMs(timeout!);
    return bulkOrNil(moveElement(cmd, source!, destination!, false, true), cmd.proto);
  },
  (args) => [args[1]!],
  nil,
);

export const BLOCKING_COMMANDS = [BLPOP, BRPOP, BLMOVE, BRPOPLPUSH];
