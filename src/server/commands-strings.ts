// Commands on string values: GET, SET, DEL, EXISTS, MGET, MSET and the
// INCR family. Every write resolves its reply only once the store says the
// commit holding it is durable. Each command's `data` is what it does on
// the data (inside EXEC, or in a transaction of its own); GET, a plain SET
// and MSET have faster ways outside EXEC: GET reads the value straight into
// the reply, a plain SET is a put that joins the turn's batch (db.put) and
// shares its promise and the promise of its reply, and MSET is one batch.
import { ReplyError, commandKeys, dataCommand, int64, valueCommand, wrongArgs, type CommandSpec, type DataContext } from './command-spec.js';
import type { BatchOp } from '../store/db.js';
import { optionDeadline, stringOptions } from './commands-expiry.js';
import { WRONGTYPE } from './data.js';
import { KeyType } from './layout.js';
import { OK, array, bulkOrNil, integer, nil, type Reply } from './resp-writer.js';

const I64_MAX = 0x7fff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;

const key1 = { firstKey: 1, lastKey: 1, step: 1 };

/** One promise of OK per store batch: the SETs that share a batch share it (a session then holds one slot for them). */
const okReplies = new WeakMap<Promise<void>, Promise<Reply>>();
function okOnceDurable(done: Promise<void>): Promise<Reply> {
  let ok = okReplies.get(done);
  if (ok === undefined) okReplies.set(done, (ok = done.then(() => OK)));
  return ok;
}

export const GET = valueCommand(
  'get',
  { arity: 2, flags: ['readonly', 'fast'], ...key1, group: 'string', summary: 'Returns the string value of a key.', since: '1.0.0', access: 'read' },
  ({ keyspace }, args) => keyspace.get(args[1]!),
  ({ data, proto }, args) => bulkOrNil(data.string(args[1]!), proto),
);

/** SET on the data: NX only if absent, XX only if present, GET answers the old value; EX, PX, EXAT, PXAT, KEEPTTL. */
function set({ data, proto }: DataContext, args: Buffer[]): Reply {
  const [, key, value] = args as [Buffer, Buffer, Buffer];
  const o = stringOptions(args, 3, 'set');
  const deadline = o.time === undefined ? 0 : optionDeadline(o.time, data.now, 'set');
  const found = data.find(key);
  if (o.get && found !== undefined && found.meta.type !== KeyType.String) throw WRONGTYPE();
  const applies = o.nx ? found === undefined : o.xx ? found !== undefined : true;
  if (applies) data.setString(key, value, o.keepTtl ? (found?.meta.deadline ?? 0) : deadline, found);
  return o.get ? bulkOrNil(found?.value, proto) : applies ? OK : nil(proto);
}

export const SET = dataCommand(
  'set',
  {
    arity: -3,
    flags: ['write', 'denyoom'],
    ...key1,
    group: 'string',
    summary: 'Sets the string value of a key; NX only if absent, XX only if present, GET returns the old value; EX, PX, EXAT, PXAT set a deadline, KEEPTTL keeps it.',
    since: '1.0.0',
    access: 'write',
  },
  set,
  (ctx, args) => {
    // A plain SET is a blind put into the turn's batch when that leaves the key one record (keyspace.ts, plainPut).
    if (args.length === 3 && ctx.keyspace.plainPut(args[1]!)) return okOnceDurable(ctx.keyspace.put(args[1]!, args[2]!));
    return ctx.keyspace.writing(ctx, (cmd) => set(cmd, args), [args[1]!]);
  },
);

/** SETEX and PSETEX: SET with EX or PX. */
const setWithTime = (name: string, unit: 's' | 'ms', summary: string, since: string): CommandSpec =>
  dataCommand(name, { arity: 4, flags: ['write', 'denyoom'], ...key1, group: 'string', summary, since, access: 'write' }, ({ data }, args) => {
    const deadline = optionDeadline({ amount: int64(args[2]!), unit, absolute: false }, data.now, name);
    data.setString(args[1]!, args[3]!, deadline);
    return OK;
  });

export const SETEX = setWithTime('setex', 's', 'Sets a string value with a time to live in seconds.', '2.0.0');
export const PSETEX = setWithTime('psetex', 'ms', 'Sets a string value with a time to live in milliseconds.', '2.6.0');

export const GETEX = dataCommand(
  'getex',
  { arity: -2, flags: ['write', 'fast'], ...key1, group: 'string', summary: "Returns a string value and sets (EX, PX, EXAT, PXAT) or removes (PERSIST) its deadline.", since: '6.2.0', access: 'write' },
  ({ data, proto }, args) => {
    const key = args[1]!;
    const o = stringOptions(args, 2, 'getex');
    const deadline = o.time === undefined ? undefined : optionDeadline(o.time, data.now, 'getex');
    const found = data.read(key);
    if (found === undefined) return nil(proto);
    if (found.meta.type !== KeyType.String) throw WRONGTYPE();
    // An absolute deadline already past removes the key, as Redis does.
    if (deadline !== undefined && deadline <= data.now) data.remove(key, found);
    else if (deadline !== undefined) data.setDeadline(key, deadline, found);
    else if (o.persist) data.setDeadline(key, 0, found);
    return bulkOrNil(found.value, proto);
  },
);

export const DEL = dataCommand(
  'del',
  { arity: -2, flags: ['write'], firstKey: 1, lastKey: -1, step: 1, group: 'generic', summary: 'Deletes keys; replies how many existed.', since: '1.0.0', access: 'write' },
  ({ data }, args) => integer(args.slice(1).reduce((n, k) => n + (data.remove(k) ? 1 : 0), 0)),
);

export const EXISTS = dataCommand(
  'exists',
  { arity: -2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: -1, step: 1, group: 'generic', summary: 'How many of the keys exist (a key named twice counts twice).', since: '1.0.0', access: 'read' },
  ({ data }, args) => integer(args.slice(1).reduce((n, k) => n + (data.exists(k) ? 1 : 0), 0)),
);

export const MGET = dataCommand(
  'mget',
  { arity: -2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: -1, step: 1, group: 'string', summary: 'Returns the values of keys (from one commit).', since: '1.0.0', access: 'read' },
  // A key of another type answers nil, as in Redis.
  ({ data, proto }, args) =>
    array(
      args.slice(1).map((k) => {
        const found = data.read(k);
        return bulkOrNil(found?.meta.type === KeyType.String ? found.value : undefined, proto);
      }),
    ),
);

export const MSET = dataCommand(
  'mset',
  { arity: -3, flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 2, group: 'string', summary: 'Sets several keys in one commit.', since: '1.0.1', access: 'write' },
  ({ data }, args) => {
    if (args.length % 2 === 0) throw wrongArgs('mset');
    for (let i = 1; i < args.length; i += 2) data.setString(args[i]!, args[i + 1]!);
    return OK;
  },
  (ctx, args) => {
    if (args.length % 2 === 0) throw wrongArgs('mset');
    const { keyspace } = ctx;
    const ops: BatchOp<Buffer, Buffer>[] = [];
    for (let i = 1; i < args.length; i += 2) {
      // A key that may have a metadata record: the whole MSET runs as a transaction.
      if (!keyspace.plainPut(args[i]!)) return keyspace.writing(ctx, (cmd) => MSET.data!(cmd, args), commandKeys(MSET, args));
      ops.push({ type: 'put' as const, key: args[i]!, value: args[i + 1]! });
    }
    return keyspace.putAll(ops).then(() => OK);
  },
);

/** Adds `delta` to the integer stored at `key` (0 when absent). */
function incrementBy({ data }: DataContext, key: Buffer, delta: bigint): Reply {
  const found = data.find(key);
  if (found !== undefined && found.meta.type !== KeyType.String) throw WRONGTYPE();
  const n = found === undefined ? 0n : int64(found.value!);
  const sum = n + delta;
  if (sum > I64_MAX || sum < I64_MIN) throw new ReplyError('ERR increment or decrement would overflow');
  // The key keeps its deadline, as in Redis.
  data.setString(key, Buffer.from(sum.toString(), 'latin1'), found?.meta.deadline ?? 0, found);
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

export const STRING_COMMANDS = [GET, SET, DEL, EXISTS, MGET, MSET, INCR, INCRBY, DECR, DECRBY, SETEX, PSETEX, GETEX];
