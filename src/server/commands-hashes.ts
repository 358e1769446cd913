// Hashes: a metadata record (size) and one record per field, field ->
// value (layout.ts), so HGET, HSET, HDEL touch only their fields' records
// and HGETALL, HKEYS, HVALS, HSCAN read one range. Replies and errors as in
// Redis 7.0.
import { ReplyError, dataCommand, int64, wrongArgs, type DataContext } from './command-spec.js';
import { addFloat } from './commands-counters.js';
import { KeyType, type Meta } from './layout.js';
import { OK, array, bulk, bulkOrNil, bulks, integer, map, type Reply } from './resp-writer.js';
import { randomMembersReply } from './random-members.js';
import { scanCommand } from './scan.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1 };
const read = { ...key1, group: 'hash', access: 'read' as const };
const write = { ...key1, group: 'hash', access: 'write' as const };

/** Sets the field whose record is `record` (`Data.memberRecord`): new or not; whether it is new. */
function setField(cmd: DataContext, meta: Meta, record: Buffer, value: Buffer): boolean {
  const fresh = cmd.data.putMember(record, value);
  if (fresh) meta.size++;
  return fresh;
}

/** HSET and HMSET: the field-value pairs from `args[2]` on; how many fields are new. */
function setFields(cmd: DataContext, args: Buffer[], name: string): number {
  if (args.length % 2 !== 0) throw wrongArgs(name);
  const key = args[1]!;
  const { before, meta } = cmd.data.openCollection(key, KeyType.Hash);
  // Every record name is made (and checked) before any is written.
  const records: Buffer[] = [];
  for (let i = 2; i < args.length; i += 2) records.push(cmd.data.memberRecord(key, meta, args[i]!));
  let added = 0;
  for (let i = 0; i < records.length; i++) if (setField(cmd, meta, records[i]!, args[2 * i + 3]!)) added++;
  cmd.data.saveMeta(key, before, meta);
  return added;
}

export const HSET = dataCommand('hset', { arity: -4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Sets fields of a hash; returns how many are new.', since: '2.0.0' }, (cmd, args) =>
  integer(setFields(cmd, args, 'hset')),
);

export const HMSET = dataCommand('hmset', { arity: -4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Sets fields of a hash (as HSET, answering OK).', since: '2.0.0' }, (cmd, args) => {
  setFields(cmd, args, 'hmset');
  return OK;
});

export const HSETNX = dataCommand('hsetnx', { arity: 4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Sets a field of a hash only if it is missing; 1 if it did.', since: '2.0.0' }, (cmd, args) => {
  const [, key, field, value] = args as [Buffer, Buffer, Buffer, Buffer];
  const { before, meta } = cmd.data.openCollection(key, KeyType.Hash);
  if (before !== undefined && cmd.data.memberValue(key, before, field) !== undefined) return integer(0);
  setField(cmd, meta, cmd.data.memberRecord(key, meta, field), value);
  cmd.data.saveMeta(key, before, meta);
  return integer(1);
});

export const HGET = dataCommand('hget', { arity: 3, flags: ['readonly', 'fast'], ...read, summary: 'Returns the value of a field of a hash.', since: '2.0.0' }, ({ data, proto }, [, key, field]) => {
  const meta = data.collection(key!, KeyType.Hash);
  return bulkOrNil(meta && data.memberValue(key!, meta, field!), proto);
});

export const HMGET = dataCommand('hmget', { arity: -3, flags: ['readonly', 'fast'], ...read, summary: 'Returns the values of fields of a hash.', since: '2.0.0' }, ({ data, proto }, args) => {
  const meta = data.collection(args[1]!, KeyType.Hash);
  return array(args.slice(2).map((f) => bulkOrNil(meta && data.memberValue(args[1]!, meta, f), proto)));
});

export const HDEL = dataCommand('hdel', { arity: -3, flags: ['write', 'fast'], ...write, summary: 'Removes fields of a hash; returns how many were there.', since: '2.0.0' }, ({ data }, args) => {
  const key = args[1]!;
  const before = data.collection(key, KeyType.Hash, false);
  if (before === undefined) return integer(0);
  const meta = { ...before };
  for (const field of args.slice(2)) {
    if (data.memberValue(key, meta, field) !== undefined && data.removeMember(data.memberRecord(key, meta, field))) meta.size--;
  }
  if (meta.size !== before.size) data.saveMeta(key, before, meta);
  return integer(before.size - meta.size);
});

/** The fields and values of the hash at `key` (none when missing). */
function* fields({ data }: DataContext, key: Buffer): Generator<[Buffer, Buffer]> {
  const meta = data.collection(key, KeyType.Hash);
  if (meta !== undefined) yield* data.members(key, meta);
}

export const HGETALL = dataCommand('hgetall', { arity: 2, flags: ['readonly'], ...read, summary: 'Returns every field and value of a hash (a map in RESP3), in field order.', since: '2.0.0' }, (cmd, [, key]) =>
  map(
    [...fields(cmd, key!)].map(([f, v]): [Reply, Reply] => [bulk(f), bulk(v)]),
    cmd.proto,
  ),
);

export const HKEYS = dataCommand('hkeys', { arity: 2, flags: ['readonly'], ...read, summary: 'Returns every field of a hash, in field order.', since: '2.0.0' }, (cmd, [, key]) =>
  bulks([...fields(cmd, key!)].map(([f]) => f)),
);

export const HVALS = dataCommand('hvals', { arity: 2, flags: ['readonly'], ...read, summary: 'Returns every value of a hash, in field order.', since: '2.0.0' }, (cmd, [, key]) =>
  bulks([...fields(cmd, key!)].map(([, v]) => v)),
);

export const HLEN = dataCommand('hlen', { arity: 2, flags: ['readonly', 'fast'], ...read, summary: 'Returns the number of fields of a hash.', since: '2.0.0' }, ({ data }, [, key]) =>
  integer(data.collection(key!, KeyType.Hash)?.size ?? 0),
);

export const HEXISTS = dataCommand('hexists', { arity: 3, flags: ['readonly', 'fast'], ...read, summary: 'Whether a field of a hash exists (1 or 0).', since: '2.0.0' }, ({ data }, [, key, field]) => {
  const meta = data.collection(key!, KeyType.Hash);
  return integer(meta !== undefined && data.memberValue(key!, meta, field!) !== undefined ? 1 : 0);
});

export const HSTRLEN = dataCommand('hstrlen', { arity: 3, flags: ['readonly', 'fast'], ...read, summary: 'Returns the length of the value of a field of a hash (0 when missing).', since: '3.2.0' }, ({ data }, [, key, field]) => {
  const meta = data.collection(key!, KeyType.Hash);
  return integer((meta && data.memberValue(key!, meta, field!))?.length ?? 0);
});

/** HINCRBY and HINCRBYFLOAT: the field's new value from its old one (undefined: missing). */
function updateField(cmd: DataContext, args: Buffer[], next: (old: Buffer | undefined) => Buffer): Buffer {
  const [, key, field] = args as [Buffer, Buffer, Buffer];
  const { before, meta } = cmd.data.openCollection(key, KeyType.Hash);
  const old = before && cmd.data.memberValue(key, before, field);
  const value = next(old);
  setField(cmd, meta, cmd.data.memberRecord(key, meta, field), value);
  cmd.data.saveMeta(key, before, meta);
  return value;
}

const I64_MAX = 0x7fff_ffff_ffff_ffffn;
const I64_MIN = -0x8000_0000_0000_0000n;

export const HINCRBY = dataCommand('hincrby', { arity: 4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Adds an integer to a field of a hash (0 when missing).', since: '2.0.0' }, (cmd, args) => {
  const by = int64(args[3]!);
  const value = updateField(cmd, args, (old) => {
    const n = old === undefined ? 0n : int64(old, 'hash value is not an integer');
    const sum = n + by;
    if (sum > I64_MAX || sum < I64_MIN) throw new ReplyError('ERR increment or decrement would overflow');
    return Buffer.from(sum.toString(), 'latin1');
  });
  return integer(BigInt(value.toString('latin1')));
});

export const HINCRBYFLOAT = dataCommand(
  'hincrbyfloat',
  { arity: 4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Adds a floating point number to a field of a hash (0 when missing).', since: '2.6.0' },
  (cmd, args) => bulk(updateField(cmd, args, (old) => addFloat(old, args[3]!, 'ERR hash value is not a float'))),
);

export const HSCAN = scanCommand('hscan', KeyType.Hash, 'hash', 'Iterates over the fields and values of a hash in field order.', ([f, v]) => [f, v]);

export const HRANDFIELD = dataCommand(
  'hrandfield',
  { arity: -2, flags: ['readonly', 'random'], ...read, summary: 'Returns fields from random places of a hash (a negative count may repeat them), WITHVALUES their values too.', since: '6.2.0' },
  (cmd, args) => randomMembersReply(cmd, args, KeyType.Hash, 'withvalues', (meta, field) => bulk(cmd.data.memberValue(args[1]!, meta, field)!)),
);

export const HASH_COMMANDS = [HSET, HMSET, HSETNX, HGET, HMGET, HDEL, HGETALL, HKEYS, HVALS, HLEN, HEXISTS, HSTRLEN, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN];
