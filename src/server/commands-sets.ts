// Sets: a metadata record (size) and one record per member, member -> ''
// (layout.ts). SADD, SREM, SISMEMBER touch only their members' records;
// SMEMBERS and SSCAN read one range, in member order (Redis's order is its
// hash table's: the differential test compares sets sorted). SPOP and
// SRANDMEMBER pick from random places in member order. Replies and errors
// as in Redis 7.0.
import { ReplyError, cardinalityArgs, dataCommand, keysAfterCount, positiveCount, type DataContext } from './command-spec.js';
import { KeyType, type Meta } from './layout.js';
import { array, bulk, integer, nil, set } from './resp-writer.js';
import { distinctMembers, randomMember, randomMembersReply } from './random-members.js';
import { scanCommand } from './scan.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1 };
const keys = { firstKey: 1, lastKey: -1, step: 1 };
const read = { ...key1, group: 'set', access: 'read' as const };
const write = { ...key1, group: 'set', access: 'write' as const };

const EMPTY = Buffer.alloc(0);
const members = (items: readonly Buffer[], proto: 2 | 3) => set(items.map((m) => bulk(m)), proto);
const has = (cmd: DataContext, key: Buffer, meta: Meta | undefined, member: Buffer) => meta !== undefined && cmd.data.memberValue(key, meta, member) !== undefined;

/** Adds `items` to the set at `key` (creating it); how many were new. */
function addMembers(cmd: DataContext, key: Buffer, items: readonly Buffer[]): number {
  const { before, meta } = cmd.data.openCollection(key, KeyType.Set);
  for (const m of items) cmd.data.memberRecord(key, meta, m); // every record fits, or nothing is written
  let added = 0;
  for (const m of items) if (cmd.data.putMember(cmd.data.memberRecord(key, meta, m), EMPTY)) added++;
  meta.size += added;
  cmd.data.saveMeta(key, before, meta);
  return added;
}

/** Removes `items` from the set (`before`: its metadata); how many were there. */
function removeMembers(cmd: DataContext, key: Buffer, before: Meta, items: readonly Buffer[]): number {
  const meta = { ...before };
  for (const m of items) if (has(cmd, key, meta, m) && cmd.data.removeMember(cmd.data.memberRecord(key, meta, m))) meta.size--;
  if (meta.size !== before.size) cmd.data.saveMeta(key, before, meta);
  return before.size - meta.size;
}

export const SADD = dataCommand('sadd', { arity: -3, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Adds members to a set; returns how many are new.', since: '1.0.0' }, (cmd, args) =>
  integer(addMembers(cmd, args[1]!, args.slice(2))),
);

export const SREM = dataCommand('srem', { arity: -3, flags: ['write', 'fast'], ...write, summary: 'Removes members from a set; returns how many were there.', since: '1.0.0' }, (cmd, args) => {
  const before = cmd.data.collection(args[1]!, KeyType.Set, false);
  return integer(before === undefined ? 0 : removeMembers(cmd, args[1]!, before, args.slice(2)));
});

/** Every member of the set at `key` (none when missing), in member order. */
function all(cmd: DataContext, key: Buffer): Buffer[] {
  const meta = cmd.data.collection(key, KeyType.Set);
  return meta === undefined ? [] : [...cmd.data.members(key, meta)].map(([m]) => m);
}

export const SMEMBERS = dataCommand('smembers', { arity: 2, flags: ['readonly'], ...read, summary: 'Returns every member of a set, in member order.', since: '1.0.0' }, (cmd, [, key]) =>
  members(all(cmd, key!), cmd.proto),
);

export const SISMEMBER = dataCommand('sismember', { arity: 3, flags: ['readonly', 'fast'], ...read, summary: 'Whether a member is in a set (1 or 0).', since: '1.0.0' }, (cmd, [, key, m]) =>
  integer(has(cmd, key!, cmd.data.collection(key!, KeyType.Set), m!) ? 1 : 0),
);

export const SMISMEMBER = dataCommand('smismember', { arity: -3, flags: ['readonly', 'fast'], ...read, summary: 'Whether each member is in a set (1 or 0 each).', since: '6.2.0' }, (cmd, args) => {
  const meta = cmd.data.collection(args[1]!, KeyType.Set);
  return array(args.slice(2).map((m) => integer(has(cmd, args[1]!, meta, m) ? 1 : 0)));
});

export const SCARD = dataCommand('scard', { arity: 2, flags: ['readonly', 'fast'], ...read, summary: 'Returns the number of members of a set.', since: '1.0.0' }, ({ data }, [, key]) =>
  integer(data.collection(key!, KeyType.Set)?.size ?? 0),
);

export const SPOP = dataCommand('spop', { arity: -2, flags: ['write', 'random', 'fast'], ...write, summary: 'Removes and returns members from random places of a set.', since: '1.0.0' }, (cmd, args) => {
  if (args.length > 3) throw new ReplyError('ERR syntax error');
  const key = args[1]!;
  const wanted = args.length === 3 ? positiveCount(args[2]!) : undefined;
  const before = cmd.data.collection(key, KeyType.Set);
  if (before === undefined) return wanted === undefined ? nil(cmd.proto) : members([], cmd.proto);
  const popped = wanted === undefined ? [randomMember(cmd, key, before)] : distinctMembers(cmd, key, before, wanted);
  removeMembers(cmd, key, before, popped);
  return wanted === undefined ? bulk(popped[0]!) : members(popped, cmd.proto);
});

export const SRANDMEMBER = dataCommand(
  'srandmember',
  { arity: -2, flags: ['readonly', 'random'], ...read, summary: 'Returns members from random places of a set (a negative count may repeat them).', since: '1.0.0' },
  // No WITH option: a fourth argument is a syntax error.
  (cmd, args) => randomMembersReply(cmd, args, KeyType.Set, '', () => nil(cmd.proto)),
);

/** The members of SINTER, SUNION or SDIFF of `names` (WRONGTYPE if any is not a set). */
function combine(cmd: DataContext, names: Buffer[], how: 'inter' | 'union' | 'diff'): Buffer[] {
  const metas = names.map((k) => cmd.data.collection(k, KeyType.Set));
  if (how === 'inter') {
    if (metas.some((m) => m === undefined)) return [];
    // Walk the smallest set, and look its members up in the others.
    const order = metas.map((m, i) => ({ m: m!, k: names[i]! })).sort((a, b) => a.m.size - b.m.size);
    const [small, ...rest] = order;
    return [...cmd.data.members(small!.k, small!.m)].map(([m]) => m).filter((m) => rest.every(({ k, m: meta }) => has(cmd, k, meta, m)));
  }
  const result = new Map<string, Buffer>();
  names.forEach((k, i) => {
    const meta = metas[i];
    if (meta === undefined || (how === 'diff' && i > 0 && result.size === 0)) return;
    for (const [m] of cmd.data.members(k, meta)) {
      const id = m.toString('latin1');
      if (how === 'diff' && i > 0) result.delete(id);
      else result.set(id, m);
    }
  });
  return [...result.values()].sort(Buffer.compare);
}

const combineCommand = (name: string, how: 'inter' | 'union' | 'diff', summary: string) =>
  dataCommand(name, { arity: -2, flags: ['readonly'], ...keys, group: 'set', summary, since: '1.0.0', access: 'read' }, (cmd, args) => members(combine(cmd, args.slice(1), how), cmd.proto));

const storeCommand = (name: string, how: 'inter' | 'union' | 'diff', summary: string) =>
  dataCommand(name, { arity: -3, flags: ['write', 'denyoom'], ...keys, group: 'set', summary, since: '1.0.0', access: 'write' }, (cmd, args) => {
    const result = combine(cmd, args.slice(2), how);
    const dest = args[1]!;
    cmd.data.remove(dest);
    if (result.length > 0) addMembers(cmd, dest, result);
    return integer(result.length);
  });

export const SINTER = combineCommand('sinter', 'inter', 'Returns the members in every one of the sets.');
export const SUNION = combineCommand('sunion', 'union', 'Returns the members in any of the sets.');
export const SDIFF = combineCommand('sdiff', 'diff', 'Returns the members of the first set in none of the others.');
export const SINTERSTORE = storeCommand('sinterstore', 'inter', 'Stores SINTER of the sets at a key; returns its size.');
export const SUNIONSTORE = storeCommand('sunionstore', 'union', 'Stores SUNION of the sets at a key; returns its size.');
export const SDIFFSTORE = storeCommand('sdiffstore', 'diff', 'Stores SDIFF of the sets at a key; returns its size.');

export const SINTERCARD = dataCommand(
  'sintercard',
  {
    arity: -3,
    flags: ['readonly'],
    firstKey: 2,
    lastKey: -1,
    step: 1,
    keysOf: (args) => keysAfterCount(args, 1),
    group: 'set',
    summary: 'The size of SINTER of the keys, counted up to LIMIT (0: no limit).',
    since: '7.0.0',
    access: 'read',
  },
  (cmd, args) => {
    const { keys, limit } = cardinalityArgs(args);
    const size = combine(cmd, keys, 'inter').length;
    return integer(limit > 0 ? Math.min(size, limit) : size);
  },
);

export const SMOVE = dataCommand(
  'smove',
  { arity: 4, flags: ['write', 'fast'], firstKey: 1, lastKey: 2, step: 1, group: 'set', summary: 'Moves a member from one set to another; 1 if it was in the first.', since: '1.0.0', access: 'write' },
  (cmd, [, from, to, m]) => {
    // As Redis: 0 for a missing source before any type is checked, then WRONGTYPE for either key.
    if (!cmd.data.exists(from!)) return integer(0);
    const source = cmd.data.collection(from!, KeyType.Set, false)!;
    const dest = cmd.data.collection(to!, KeyType.Set, false);
    if (!has(cmd, from!, source, m!)) return integer(0);
    if (from!.equals(to!)) return integer(1);
    removeMembers(cmd, from!, source, [m!]);
    if (!has(cmd, to!, dest, m!)) addMembers(cmd, to!, [m!]);
    return integer(1);
  },
);

export const SSCAN = scanCommand('sscan', KeyType.Set, 'set', 'Iterates over the members of a set in member order.', ([m]) => [m]);

export const SET_COMMANDS = [SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SINTER, SUNION, SDIFF, SINTERSTORE, SUNIONSTORE, SDIFFSTORE, SINTERCARD, SMOVE, SSCAN];
