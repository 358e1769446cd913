// Commands on string values: GET, SET, DEL, EXISTS, MGET, MSET and the
// INCR family. Every write resolves its reply only once the store says the
// commit holding it is durable. Each command's `data` is what it does on
// the data (inside EXEC, or in a transaction of its own); GET, a plain SET
// and MSET have faster ways outside EXEC: GET reads the value straight into
// the reply, a plain SET is a put that joins the turn's batch (db.put) and
// shares its promise and the promise of its reply, and MSET is one batch.
import { ReplyError, SYNTAX, dataCommand, int64, valueCommand, word, wrongArgs, type CommandSpec, type DataContext } from './command-spec.js';
import type { BatchOp } from '../store/db.js';
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

interface SetOptions {
  nx: boolean;
  xx: boolean;
  get: boolean;
}

function setOptions(args: Buffer[]): SetOptions {
  const o: SetOptions = { nx: false, xx: false, get: false };
  for (let i = 3; i < args.length; i++) {
    const opt = word(args[i]);
    if (opt === 'nx' && !o.xx) o.nx = true;
    else if (opt === 'xx' && !o.nx) o.xx = true;
    else if (opt === 'get') o.get = true;
    else if (opt === 'keepttl') continue; // no key has a TTL
    else if (['ex', 'px', 'exat', 'pxat'].includes(opt)) throw new ReplyError(`ERR SET ${opt.toUpperCase()}: xrpkv does not expire keys`);
    else throw SYNTAX();
  }
  return o;
}

/** SET on the data: NX only if absent, XX only if present, GET answers the old value. */
function set({ data, proto }: DataContext, args: Buffer[]): Reply {
  const [, key, value] = args as [Buffer, Buffer, Buffer];
  const o = setOptions(args);
  const old = data.string(key);
  const applies = o.nx ? old === undefined : o.xx ? old !== undefined : true;
  if (applies) data.setString(key, value);
  return o.get ? bulkOrNil(old, proto) : applies ? OK : nil(proto);
}

export const SET = dataCommand(
  'set',
  {
    arity: -3,
    flags: ['write', 'denyoom'],
    ...key1,
    group: 'string',
    summary: 'Sets the string value of a key; NX only if absent, XX only if present, GET returns the old value. No expiry: xrpkv keeps keys until deleted.',
    since: '1.0.0',
    access: 'write',
  },
  set,
  (ctx, args) => {
    // A plain SET is a blind put into the turn's batch; with options it reads first, in a transaction.
    if (args.length === 3) return okOnceDurable(ctx.keyspace.put(args[1]!, args[2]!));
    setOptions(args);
    return ctx.keyspace.writing(ctx, (cmd) => set(cmd, args));
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
  ({ data, proto }, args) => array(args.slice(1).map((k) => bulkOrNil(data.string(k), proto))),
);

export const MSET = dataCommand(
  'mset',
  { arity: -3, flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 2, group: 'string', summary: 'Sets several keys in one commit.', since: '1.0.1', access: 'write' },
  ({ data }, args) => {
    if (args.length % 2 === 0) throw wrongArgs('mset');
    for (let i = 1; i < args.length; i += 2) data.setString(args[i]!, args[i + 1]!);
    return OK;
  },
  ({ keyspace }, args) => {
    if (args.length % 2 === 0) throw wrongArgs('mset');
    const ops: BatchOp<Buffer, Buffer>[] = [];
    for (let i = 1; i < args.length; i += 2) ops.push({ type: 'put' as const, key: args[i]!, value: args[i + 1]! });
    return keyspace.putAll(ops).then(() => OK);
  },
);

/** Adds `delta` to the integer stored at `key` (0 when absent). */
function incrementBy({ data }: DataContext, key: Buffer, delta: bigint): Reply {
  const old = data.string(key);
  const n = old === undefined ? 0n : int64(old);
  const sum = n + delta;
  if (sum > I64_MAX || sum < I64_MIN) throw new ReplyError('ERR increment or decrement would overflow');
  data.setString(key, Buffer.from(sum.toString(), 'latin1'));
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

export const STRING_COMMANDS = [GET, SET, DEL, EXISTS, MGET, MSET, INCR, INCRBY, DECR, DECRBY];
