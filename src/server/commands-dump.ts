// DUMP and RESTORE with Redis 7.0's payloads (dump-payload.ts), so that
// keys move between redis-server and xrpkv both ways with the tools that
// use them (MIGRATE-less copies, RIOT, redis-shake and the like, or a
// script of DUMP on one and RESTORE on the other). RESTORE's IDLETIME and
// FREQ are taken and ignored: xrpkv keeps no access times or frequencies.
import { ReplyError, SYNTAX, dataCommand, int64, word, type DataContext } from './command-spec.js';
import { putScore } from './commands-zsets.js';
import { BadPayload } from './rdb-format.js';
import { KeyType, LIST_MIDDLE, indexBytes, type Meta } from './layout.js';
import { readPayload, payloadVerified, writePayload, type DumpValue, type StreamValue } from './dump-payload.js';
import { OK, bulk, nil } from './resp-writer.js';
import { MAX_ID, MIN_ID, compareIds, decodeFields, encodeFields, idBytes, idFromBytes, idText, setStreamState, streamState } from './stream.js';
import { StreamGroups } from './stream-groups.js';

/** What the key holds, as a payload takes it. */
export function valueOf(cmd: DataContext, key: Buffer, meta: Meta, stringValue: Buffer | undefined): DumpValue {
  const members = () => [...cmd.data.members(key, meta)];
  switch (meta.type) {
    case KeyType.String:
      return { type: 'string', value: stringValue! };
    case KeyType.Hash:
      return { type: 'hash', entries: members() };
    case KeyType.Set:
      return { type: 'set', members: members().map(([m]) => m) };
    case KeyType.ZSet:
      return { type: 'zset', entries: members().map(([member, v]) => ({ member, score: v.readDoubleBE(0) })) };
    case KeyType.List:
      return { type: 'list', elements: [...cmd.data.memberValues(key, meta)] };
    default:
      return { type: 'stream', stream: streamValue(cmd, key, meta) };
  }
}

function streamValue(cmd: DataContext, key: Buffer, meta: Meta): StreamValue {
  const state = streamState(meta);
  const groups = new StreamGroups(cmd, key, meta);
  return {
    entries: [...cmd.data.members(key, meta)].map(([id, v]) => ({ id: idFromBytes(id), fields: decodeFields(v) })),
    last: state.last,
    maxDeleted: state.maxDeleted,
    entriesAdded: state.entriesAdded,
    groups: groups.groups().map((g) => ({
      name: g.name,
      lastId: g.lastId,
      entriesRead: g.entriesRead,
      pending: [...groups.pendingRange(g, MIN_ID, MAX_ID)].map((p) => ({ id: p.id, deliveryTime: p.deliveryTime, deliveries: p.deliveries })),
      consumers: groups.consumers(g).map((c) => ({ name: c.name, seenTime: c.seenTime, pending: [...groups.pendingRange(g, MIN_ID, MAX_ID, c)].map((p) => p.id) })),
    })),
  };
}

export const DUMP = dataCommand(
  'dump',
  { arity: 2, flags: ['readonly'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', access: 'read', summary: "The key's value serialized as Redis 7.0 serializes it, for RESTORE here or on redis-server.", since: '2.6.0' },
  (cmd, [, key]) => {
    const found = cmd.data.read(key!);
    return found === undefined ? nil(cmd.proto) : bulk(writePayload(valueOf(cmd, key!, found.meta, found.value)));
  },
);

const badFormat = () => new ReplyError('ERR Bad data format');

/** Throws Bad data format unless every name in `names` is there once. */
function distinct(names: Buffer[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    const k = n.toString('latin1');
    if (seen.has(k)) throw badFormat();
    seen.add(k);
  }
}

/** Writes `value` at the free key `key`, with `deadline` (0: none). */
function restoreValue(cmd: DataContext, key: Buffer, value: DumpValue, deadline: number): void {
  const { data } = cmd;
  if (value.type === 'string') return data.setString(key, value.value, deadline, undefined);
  const type = { hash: KeyType.Hash, set: KeyType.Set, zset: KeyType.ZSet, list: KeyType.List, stream: KeyType.Stream }[value.type];
  const meta = data.newCollection(type, deadline);
  switch (value.type) {
    case 'hash':
      distinct(value.entries.map(([f]) => f));
      for (const [f, v] of value.entries) data.putMember(data.memberRecord(key, meta, f), v, true);
      meta.size = value.entries.length;
      break;
    case 'set':
      distinct(value.members);
      for (const m of value.members) data.putMember(data.memberRecord(key, meta, m), Buffer.alloc(0), true);
      meta.size = value.members.length;
      break;
    case 'zset':
      distinct(value.entries.map((e) => e.member));
      for (const e of value.entries) {
        if (Number.isNaN(e.score)) throw badFormat();
        putScore(cmd, key, meta, e.member, e.score, undefined);
      }
      meta.size = value.entries.length;
      break;
    case 'list':
      meta.head = meta.tail = LIST_MIDDLE;
      for (const e of value.elements) data.putMember(data.memberRecord(key, meta, indexBytes(meta.tail++)), e, true);
      meta.size = value.elements.length;
      break;
    case 'stream':
      return restoreStream(cmd, key, meta, value.stream);
  }
  data.saveMeta(key, undefined, meta);
}

function restoreStream(cmd: DataContext, key: Buffer, meta: Meta, s: StreamValue): void {
  const { data } = cmd;
  const top = s.entries[s.entries.length - 1]?.id;
  if (top !== undefined && compareIds(top, s.last) > 0) throw badFormat();
  for (const e of s.entries) data.putMember(data.memberRecord(key, meta, idBytes(e.id)), encodeFields(e.fields), true);
  meta.size = s.entries.length;
  setStreamState(meta, { last: s.last, maxDeleted: s.maxDeleted, entriesAdded: s.entriesAdded, groupRecords: 0 });
  const groups = new StreamGroups(cmd, key, meta);
  for (const g of s.groups) {
    const group = groups.createGroup(g.name, g.lastId, g.entriesRead);
    if (group === undefined) throw badFormat();
    const owners = new Map<string, Buffer>();
    for (const c of g.consumers) {
      if (groups.createConsumer(group, c.name, c.seenTime) === undefined) throw badFormat();
      for (const id of c.pending) {
        if (owners.has(idText(id))) throw badFormat();
        owners.set(idText(id), c.name);
      }
    }
    for (const p of g.pending) {
      const owner = owners.get(idText(p.id));
      // Each pending entry owned by one consumer, once: the group's and the consumers' lists are the same entries.
      if (owner === undefined) throw badFormat();
      owners.delete(idText(p.id));
      groups.own(group, { id: p.id, consumer: Buffer.alloc(0), deliveryTime: p.deliveryTime, deliveries: p.deliveries }, groups.consumer(group, owner, false)!, true);
    }
  }
  groups.save(undefined);
}

export const RESTORE = dataCommand(
  'restore',
  {
    arity: -4,
    flags: ['write', 'denyoom'],
    firstKey: 1,
    lastKey: 1,
    step: 1,
    group: 'generic',
    access: 'write',
    summary: 'Creates a key from a DUMP payload (of xrpkv or redis-server) with a TTL in ms (0: none; ABSTTL: a time); REPLACE overwrites.',
    since: '2.6.0',
  },
  (cmd, args) => {
    let replace = false;
    let absttl = false;
    let idle = false;
    let freq = false;
    for (let j = 4; j < args.length; j++) {
      const w = word(args[j]);
      const more = args.length - j - 1;
      if (w === 'replace') replace = true;
      else if (w === 'absttl') absttl = true;
      else if (w === 'idletime' && more >= 1 && !freq) {
        if (int64(args[++j]!) < 0n) throw new ReplyError('ERR Invalid IDLETIME value, must be >= 0');
        idle = true;
      } else if (w === 'freq' && more >= 1 && !idle) {
        const f = int64(args[++j]!);
        if (f < 0n || f > 255n) throw new ReplyError('ERR Invalid FREQ value, must be >= 0 and <= 255');
        freq = true;
      } else throw SYNTAX();
    }
    const key = args[1]!;
    const found = cmd.data.find(key);
    if (!replace && found !== undefined) throw new ReplyError('BUSYKEY Target key name already exists.');
    const ttl = int64(args[2]!);
    if (ttl < 0n) throw new ReplyError('ERR Invalid TTL value, must be >= 0');
    const payload = args[3]!;
    if (!payloadVerified(payload)) throw new ReplyError('ERR DUMP payload version or checksum are wrong');
    let value: DumpValue;
    try {
      value = readPayload(payload);
    } catch (e) {
      if (e instanceof BadPayload) throw badFormat();
      throw e;
    }
    if (replace && found !== undefined) cmd.data.remove(key, found);
    const deadline = ttl === 0n ? 0 : absttl ? Number(ttl) : cmd.data.now + Number(ttl);
    // Already past: Redis answers OK and keeps nothing (the old key, if replaced, is gone).
    if (deadline !== 0 && deadline <= cmd.data.now) return OK;
    restoreValue(cmd, key, value, deadline);
    return OK;
  },
);

/** RESTORE as a cluster's importing node takes it (after ASKING); without a cluster, RESTORE itself, as Redis runs it. */
export const RESTORE_ASKING = { ...RESTORE, name: 'restore-asking', flags: ['write', 'denyoom', 'asking'], summary: 'RESTORE, as sent to a cluster node that is importing the key.', since: '3.0.0' };

export const DUMP_COMMANDS = [DUMP, RESTORE, RESTORE_ASKING];
