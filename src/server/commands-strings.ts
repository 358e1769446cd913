// Commands on string values: GET, SET, DEL, EXISTS, MGET, MSET and the
// INCR family. Every write resolves its reply only once the store says the
// commit holding it is durable; plain SETs are puts that join the turn's
// batch (db.put), and share its promise and the promise of their reply.
// MSET is one store batch. Read-modify-write commands (SET NX/XX/GET,
// DEL's count, INCR*) run as one `db.transaction`, so nothing another client
// writes can slip in between their read and their write.
import { ReplyError, SYNTAX, command, int64, valueCommand, word, wrongArgs, type CommandSpec, type Context } from './command-spec.js';
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
);

export const SET = command(
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
  (ctx, args) => {
    const [, key, value] = args as [Buffer, Buffer, Buffer];
    let nx = false;
    let xx = false;
    let get = false;
    for (let i = 3; i < args.length; i++) {
      const opt = word(args[i]);
      if (opt === 'nx' && !xx) nx = true;
      else if (opt === 'xx' && !nx) xx = true;
      else if (opt === 'get') get = true;
      else if (opt === 'keepttl') continue; // no key has a TTL
      else if (['ex', 'px', 'exat', 'pxat'].includes(opt)) throw new ReplyError(`ERR SET ${opt.toUpperCase()}: xrpkv does not expire keys`);
      else throw SYNTAX();
    }
    if (!nx && !xx && !get) return okOnceDurable(ctx.keyspace.put(key, value));
    return setChecked(ctx, key, value, nx, xx, get);
  },
);

/**
 * SET with NX, XX or GET: a read and a write in one transaction. Apart from
 * SET's handler, so that a plain SET allocates no context for these closures.
 */
function setChecked({ keyspace, client }: Context, key: Buffer, value: Buffer, nx: boolean, xx: boolean, get: boolean): Promise<Reply> {
  // The reply is encoded later: in the protocol of when it ran, not of a HELLO pipelined after it.
  const proto = client.proto;
  return keyspace
    .write(() =>
      keyspace.db.transaction((tx) => {
        const old = tx.get(key);
        const applies = nx ? old === undefined : xx ? old !== undefined : true;
        if (applies) tx.put(key, value);
        return { old, applies };
      }),
    )
    .then(({ old, applies }) => (get ? bulkOrNil(old, proto) : applies ? OK : nil(proto)));
}

export const DEL = command(
  'del',
  { arity: -2, flags: ['write'], firstKey: 1, lastKey: -1, step: 1, group: 'generic', summary: 'Deletes keys; replies how many existed.', since: '1.0.0', access: 'write' },
  ({ keyspace }, args) => {
    const keys = args.slice(1);
    return keyspace
      .write(() => keyspace.db.transaction((tx) => keys.reduce((n, k) => n + (tx.remove(k) ? 1 : 0), 0)))
      .then(integer);
  },
);

export const EXISTS = command(
  'exists',
  { arity: -2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: -1, step: 1, group: 'generic', summary: 'How many of the keys exist (a key named twice counts twice).', since: '1.0.0', access: 'read' },
  ({ keyspace }, args) => integer(args.slice(1).reduce((n, k) => n + (keyspace.has(k) ? 1 : 0), 0)),
);

export const MGET = command(
  'mget',
  { arity: -2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: -1, step: 1, group: 'string', summary: 'Returns the values of keys (from one commit).', since: '1.0.0', access: 'read' },
  ({ keyspace, client }, args) => array(args.slice(1).map((k) => bulkOrNil(keyspace.get(k), client.proto))),
);

export const MSET = command(
  'mset',
  { arity: -3, flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 2, group: 'string', summary: 'Sets several keys in one commit.', since: '1.0.1', access: 'write' },
  ({ keyspace }, args) => {
    if (args.length % 2 === 0) throw wrongArgs('mset');
    const ops: BatchOp<Buffer, Buffer>[] = [];
    for (let i = 1; i < args.length; i += 2) ops.push({ type: 'put' as const, key: args[i]!, value: args[i + 1]! });
    return keyspace.putAll(ops).then(() => OK);
  },
);

/** Adds `delta` to the integer stored at `key` (0 when absent) in one transaction. */
function incrementBy({ keyspace }: Context, key: Buffer, delta: bigint): Promise<string> {
  return keyspace
    .write(() =>
      keyspace.db.transaction((tx) => {
        const old = tx.get(key);
        const n = old === undefined ? 0n : int64(old);
        const sum = n + delta;
        if (sum > I64_MAX || sum < I64_MIN) throw new ReplyError('ERR increment or decrement would overflow');
        tx.put(key, Buffer.from(sum.toString(), 'latin1'));
        return sum;
      }),
    )
    .then(integer);
}

const counter = (name: string, summary: string, arity: number, sign: 1n | -1n): CommandSpec =>
  command(
    name,
    { arity, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary, since: '1.0.0', access: 'write' },
    (ctx, args) => {
      const by = arity === 3 ? int64(args[2]!) : 1n;
      if (sign < 0n && by === I64_MIN) throw new ReplyError('ERR decrement would overflow');
      return incrementBy(ctx, args[1]!, sign * by);
    },
  );

export const INCR = counter('incr', 'Adds one to the integer value of a key (0 when absent).', 2, 1n);
export const INCRBY = counter('incrby', 'Adds an integer to the integer value of a key (0 when absent).', 3, 1n);
export const DECR = counter('decr', 'Subtracts one from the integer value of a key (0 when absent).', 2, -1n);
export const DECRBY = counter('decrby', 'Subtracts an integer from the integer value of a key (0 when absent).', 3, -1n);

export const STRING_COMMANDS = [GET, SET, DEL, EXISTS, MGET, MSET, INCR, INCRBY, DECR, DECRBY];
