// Commands on string values: GET, SET and its family, MGET, MSET, MSETNX,
// APPEND, STRLEN, GETRANGE, SETRANGE (the INCR family is in
// commands-counters.ts). Every write resolves its reply only once the store says the
// commit holding it is durable. Each command's `data` is what it does on
// the data (inside EXEC, or in the turn's write group); GET, a plain SET
// and MSET have faster ways outside EXEC: GET reads the value straight into
// the reply, a plain SET is a put that joins the turn's batch
// (db.putJoined: answered with the batch, each put's failure on a damaged
// page its own), and MSET is one batch.
import { ReplyError, commandKeys, dataCommand, int64, valueCommand, wrongArgs, type CommandSpec, type DataContext } from './command-spec.js';
import type { BatchOp } from '../store/db.js';
import { optionDeadline, stringOptions } from './commands-expiry.js';
import { WRONGTYPE, type Found } from './data.js';
import { KeyType } from './layout.js';
import { OK, array, bulk, bulkOrNil, integer, nil, type Reply } from './resp-writer.js';
import { LCS } from './commands-lcs.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1 };

/** A durable write's OK: one function for every SET, so that answering one makes no closure. */
const answerOk = (): Reply => OK;

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
);
// A plain SET, a blind put of the key's raw record when that leaves the key
// one record (keyspace.ts, plainPut), joins the turn's batch of puts, and a
// connection answers its SETs of one batch together (session.ts); any other
// SET (or one while writes are refused, which then says why) runs on the data.
SET.joinedPut = ({ keyspace, client }, args) => (args.length === 3 && keyspace.plainPut(args[1]!) ? keyspace.putJoined(args[1]!, args[2]!, client) : undefined);

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
      if (!keyspace.plainPut(args[i]!)) return keyspace.writing(ctx, MSET.data!, args, commandKeys(MSET, args));
      ops.push({ type: 'put' as const, key: args[i]!, value: args[i + 1]! });
    }
    return keyspace.putAll(ops, ctx.client).then(answerOk);
  },
);

export const SETNX = dataCommand(
  'setnx',
  { arity: 3, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary: 'Sets a key only if it is missing; 1 if it did.', since: '1.0.0', access: 'write' },
  ({ data }, [, key, value]) => {
    if (data.find(key!) !== undefined) return integer(0);
    data.setString(key!, value!, 0, undefined);
    return integer(1);
  },
);

export const MSETNX = dataCommand(
  'msetnx',
  { arity: -3, flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 2, group: 'string', summary: 'Sets several keys, only if none of them exists; 1 if it did (one commit).', since: '1.0.1', access: 'write' },
  ({ data }, args) => {
    if (args.length % 2 === 0) throw wrongArgs('msetnx');
    for (let i = 1; i < args.length; i += 2) if (data.find(args[i]!) !== undefined) return integer(0);
    for (let i = 1; i < args.length; i += 2) data.setString(args[i]!, args[i + 1]!);
    return integer(1);
  },
);

/** The string at `key` for a command that needs one: undefined when missing, WRONGTYPE for another type. */
export function stringAt({ data }: DataContext, key: Buffer, counted = false): Found | undefined {
  const found = counted ? data.read(key) : data.find(key);
  if (found !== undefined && found.meta.type !== KeyType.String) throw WRONGTYPE();
  return found;
}

export const GETSET = dataCommand(
  'getset',
  { arity: 3, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary: 'Sets a string value and returns the old one (the deadline goes).', since: '1.0.0', access: 'write' },
  (cmd, [, key, value]) => {
    const found = stringAt(cmd, key!, true);
    cmd.data.setString(key!, value!, 0, found);
    return bulkOrNil(found?.value, cmd.proto);
  },
);

export const GETDEL = dataCommand(
  'getdel',
  { arity: 2, flags: ['write', 'fast'], ...key1, group: 'string', summary: 'Returns a string value and deletes its key.', since: '6.2.0', access: 'write' },
  (cmd, [, key]) => {
    const found = stringAt(cmd, key!, true);
    if (found !== undefined) cmd.data.remove(key!, found);
    return bulkOrNil(found?.value, cmd.proto);
  },
);

export const APPEND = dataCommand(
  'append',
  { arity: 3, flags: ['write', 'denyoom', 'fast'], ...key1, group: 'string', summary: 'Appends to a string value (creating it); returns its new length.', since: '2.0.0', access: 'write' },
  (cmd, [, key, tail]) => {
    const found = stringAt(cmd, key!);
    const value = found === undefined ? tail! : Buffer.concat([found.value!, tail!]);
    checkLength(cmd, value.length);
    cmd.data.setString(key!, value, found?.meta.deadline ?? 0, found);
    return integer(value.length);
  },
);

/** A string may grow up to proto-max-bulk-len, as in Redis. */
export function checkLength({ server }: DataContext, length: number): void {
  if (length > server.config.maxBulkLen) throw new ReplyError('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
}

export const STRLEN = dataCommand(
  'strlen',
  { arity: 2, flags: ['readonly', 'fast'], ...key1, group: 'string', summary: 'Returns the length of a string value (0 when missing).', since: '2.2.0', access: 'read' },
  (cmd, [, key]) => integer(stringAt(cmd, key!, true)?.value!.length ?? 0),
);

/** An index argument of GETRANGE and SETRANGE: a signed 64-bit integer. */
const index = (arg: Buffer) => Number(int64(arg));

export const GETRANGE = dataCommand(
  'getrange',
  { arity: 4, flags: ['readonly'], ...key1, group: 'string', summary: 'Returns the bytes of a string value from start to end, inclusive (negative: from the end).', since: '2.4.0', access: 'read' },
  (cmd, [, key, startArg, endArg]) => {
    let start = index(startArg!);
    let end = index(endArg!);
    const value = stringAt(cmd, key!, true)?.value ?? Buffer.alloc(0);
    const n = value.length;
    // Redis's arithmetic, to the same empty results.
    if (start < 0 && end < 0 && start > end) return bulk(Buffer.alloc(0));
    if (start < 0) start = Math.max(0, n + start);
    if (end < 0) end = Math.max(0, n + end);
    if (end >= n) end = n - 1;
    if (start > end || n === 0) return bulk(Buffer.alloc(0));
    return bulk(value.subarray(start, end + 1));
  },
);

export const SETRANGE = dataCommand(
  'setrange',
  { arity: 4, flags: ['write', 'denyoom'], ...key1, group: 'string', summary: 'Overwrites part of a string value at an offset, padding with zero bytes; returns its new length.', since: '2.2.0', access: 'write' },
  (cmd, [, key, offsetArg, part]) => {
    const offset = index(offsetArg!);
    if (offset < 0) throw new ReplyError('ERR offset is out of range');
    const found = stringAt(cmd, key!);
    const old = found?.value ?? Buffer.alloc(0);
    if (part!.length === 0) return integer(old.length);
    checkLength(cmd, offset + part!.length);
    const value = Buffer.alloc(Math.max(old.length, offset + part!.length));
    old.copy(value);
    part!.copy(value, offset);
    cmd.data.setString(key!, value, found?.meta.deadline ?? 0, found);
    return integer(value.length);
  },
);

/** SUBSTR: GETRANGE's old name, which Redis keeps. */
export const SUBSTR = { ...GETRANGE, name: 'substr', since: '1.0.0', summary: 'GETRANGE, by its old name.' };

export const STRING_COMMANDS = [GET, SET, SETEX, PSETEX, GETEX, MGET, MSET, SETNX, MSETNX, GETSET, GETDEL, APPEND, STRLEN, GETRANGE, SUBSTR, SETRANGE, LCS];
