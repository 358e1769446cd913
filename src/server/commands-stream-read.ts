// XREAD and XREADGROUP (COUNT, BLOCK, and for groups NOACK), as Redis 7.0
// answers them. XREADGROUP is a write: it moves its group's last delivered
// ID and adds what it delivers to the pending entries (stream-groups.ts).
// Inside EXEC, as in Redis, BLOCK does not wait; a script may not ask for it.
import { ReplyError, SYNTAX, dataCommand, int64, timedAs, word, type CommandSpec, type Context, type DataContext } from './command-spec.js';
import { edgeEntry, entriesReply, entryReply, range, streamOf, streamShape, type Entry } from './commands-streams.js';
import type { Meta } from './layout.js';
import { array, bulk, map, nullArray, type Protocol, type Reply } from './resp-writer.js';
import { MAX_ID, MIN_ID, compareIds, decodeFields, entriesUpTo, idBytes, idText, nextId, parseId, streamState, tombstonesFrom, type StreamId, type StreamShape } from './stream.js';
import { StreamGroups, type Consumer, type Group } from './stream-groups.js';

/** Entries a blocked read is served at most when it gave no COUNT (Redis's XREAD_BLOCKED_DEFAULT_COUNT). */
const BLOCKED_COUNT = 1000;

/** The arguments of XREAD and XREADGROUP: COUNT, BLOCK (ms; -1: none), the streams with their IDs, and XREADGROUP's group. */
interface ReadArgs {
  count: number;
  block: number;
  keys: Buffer[];
  ids: Buffer[];
  group: Buffer | undefined;
  consumer: Buffer | undefined;
  noack: boolean;
}

function readArgs(args: Buffer[], grouped: boolean, fromScript: boolean): ReadArgs {
  const name = grouped ? 'xreadgroup' : 'xread';
  const r: ReadArgs = { count: 0, block: -1, keys: [], ids: [], group: undefined, consumer: undefined, noack: false };
  for (let i = 1; i < args.length; i++) {
    const w = word(args[i]);
    const more = args.length - 1 - i;
    if (w === 'block' && more > 0) {
      if (fromScript) throw new ReplyError(`ERR ${name} command is not allowed with BLOCK option from scripts`);
      const ms = int64(args[++i]!, 'timeout is not an integer or out of range');
      if (ms < 0n) throw new ReplyError('ERR timeout is negative');
      r.block = Number(ms);
    } else if (w === 'count' && more > 0) {
      const n = int64(args[++i]!);
      r.count = n < 0n ? 0 : Number(n);
    } else if (w === 'streams' && more > 0) {
      const rest = args.slice(i + 1);
      if (rest.length % 2 !== 0) throw new ReplyError("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      r.keys = rest.slice(0, rest.length / 2);
      r.ids = rest.slice(rest.length / 2);
      if (grouped && r.group === undefined) throw new ReplyError('ERR Missing GROUP option for XREADGROUP');
      return r;
    } else if (w === 'group' && more >= 2) {
      if (!grouped) throw new ReplyError('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      r.group = args[++i]!;
      r.consumer = args[++i]!;
    } else if (w === 'noack') {
      if (!grouped) throw new ReplyError('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      r.noack = true;
    } else throw SYNTAX();
  }
  throw SYNTAX();
}

const isOne = (arg: Buffer, c: number): boolean => arg.length === 1 && arg[0] === c;

/** Both commands' replies: [key, entries] for each stream served (RESP3: a map). */
function streamsReply(found: [Buffer, Reply][], proto: Protocol): Reply {
  const pairs = found.map(([k, e]) => [bulk(k), e] as [Reply, Reply]);
  return proto === 3 ? map(pairs, 3) : array(pairs.map(([k, e]) => array([k, e])));
}

// ---- XREAD ----------------------------------------------------------------------------

/** The IDs to read after, `$` taken as each stream's last ID now. */
function resolveIds(cmd: DataContext, r: ReadArgs): StreamId[] {
  return r.keys.map((key, i) => {
    const meta = streamOf(cmd, key);
    const arg = r.ids[i]!;
    if (isOne(arg, 0x24)) return meta === undefined ? MIN_ID : streamState(meta).last; // '$'
    if (isOne(arg, 0x3e)) throw new ReplyError('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
    return parseId(arg, 0n, false).id;
  });
}

/** What XREAD answers now for entries after `after`, or undefined when no stream has any. */
function readAfter(cmd: DataContext, r: ReadArgs, after: StreamId[], count: number): Reply | undefined {
  const found: [Buffer, Reply][] = [];
  r.keys.forEach((key, i) => {
    const meta = streamOf(cmd, key);
    const from = nextId(after[i]!);
    if (meta === undefined || meta.size === 0 || from === undefined) return;
    const entries = range(cmd, key, meta, from, MAX_ID, false, count);
    if (entries.length > 0) found.push([key, entriesReply(entries)]);
  });
  return found.length === 0 ? undefined : streamsReply(found, cmd.proto);
}

/** XREAD's and XREADGROUP's key positions: after STREAMS, the first half. */
function streamKeys(args: Buffer[]): Buffer[] {
  const at = args.findIndex((a, i) => i > 0 && word(a) === 'streams');
  return at < 0 ? [] : args.slice(at + 1, at + 1 + Math.floor((args.length - at - 1) / 2));
}

const readMeta = { firstKey: 0, lastKey: 0, step: 0, keysOf: streamKeys, group: 'stream', since: '5.0.0' };

export const XREAD = dataCommand(
  'xread',
  {
    ...readMeta,
    arity: -4,
    flags: ['readonly', 'blocking'],
    access: 'read',
    summary: 'Entries after the given IDs ($: new ones only) of one or more streams, at most COUNT each; BLOCK waits for them.',
  },
  (cmd, args) => {
    const r = readArgs(args, false, cmd.fromScript === true);
    return readAfter(cmd, r, resolveIds(cmd, r), r.count) ?? nullArray(cmd.proto);
  },
  (ctx, args) => {
    const r = readArgs(args, false, false);
    const read = ctx.keyspace.reading(ctx);
    const after = resolveIds(read, r);
    const now = readAfter(read, r, after, r.count);
    if (now !== undefined || r.block < 0) return now ?? nullArray(ctx.client.proto);
    const none = nullArray(ctx.client.proto);
    // Each try reads behind the writes that woke it (a write group, like a blocked pop's), so it sees them.
    const attempt = () => ctx.keyspace.writing(ctx, (cmd) => readAfter(cmd, r, after, r.count || BLOCKED_COUNT) ?? none, args, []);
    return ctx.keyspace.blocked.block(ctx.client, r.keys, r.block, attempt, none);
  },
);
XREAD.blocks = true;

// ---- XREADGROUP -----------------------------------------------------------------------

/** One stream of an XREADGROUP: its group, and whether it reads new entries (`>`) or the consumer's history after an ID. */
interface GroupRead {
  key: Buffer;
  before: Meta;
  groups: StreamGroups;
  group: Group;
  /** undefined: `>`, new entries. */
  after: StreamId | undefined;
}

const noGroup = (key: Buffer, group: Buffer) => new ReplyError(`NOGROUP No such key '${key.toString()}' or consumer group '${group.toString()}' in XREADGROUP with GROUP option`);

/** Each stream's group and ID, checked in Redis's order (the key's type and group, then its ID); a stream named twice is one. */
function groupReads(cmd: DataContext, r: ReadArgs): GroupRead[] {
  const streams = new Map<string, { before: Meta; groups: StreamGroups }>();
  return r.keys.map((key, i) => {
    const before = streamOf(cmd, key);
    let groups = streams.get(key.toString('latin1'))?.groups;
    if (before !== undefined && groups === undefined) {
      groups = new StreamGroups(cmd, key, { ...before });
      streams.set(key.toString('latin1'), { before, groups });
    }
    const group = groups?.group(r.group!);
    if (group === undefined) throw noGroup(key, r.group!);
    const arg = r.ids[i]!;
    if (isOne(arg, 0x24)) {
      throw new ReplyError(
        'ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.',
      );
    }
    // The largest ID stands for `>` in Redis: given as a number, it means `>` too.
    const id = isOne(arg, 0x3e) ? undefined : parseId(arg, 0n, false).id;
    return { key, before: before!, groups: groups!, group, after: id && compareIds(id, MAX_ID) === 0 ? undefined : id };
  });
}

/** The stream's shape for a group's read counter (its first entry read only when needed). */
function shapeOf(cmd: DataContext, read: GroupRead): () => StreamShape {
  let shape: StreamShape | undefined;
  return () => (shape ??= streamShape(cmd, read.key, read.groups.meta));
}

/** Delivers entries after the group's last ID to `consumer`: the group moves on; unless NOACK, each becomes pending for it. */
function deliverNew(cmd: DataContext, read: GroupRead, consumer: Consumer, count: number, noack: boolean): Entry[] {
  const { groups, group } = read;
  const entries = range(cmd, read.key, groups.meta, nextId(group.lastId)!, MAX_ID, false, count);
  const shape = shapeOf(cmd, read);
  for (const e of entries) {
    if (compareIds(e.id, group.lastId) > 0) {
      if (group.entriesRead !== -1n && !tombstonesFrom(shape(), e.id)) group.entriesRead++;
      else if (shape().state.entriesAdded !== 0n) group.entriesRead = entriesUpTo(shape(), e.id);
      group.lastId = e.id;
      groups.changed(group);
    }
    if (noack) continue;
    const p = groups.pending(group, e.id);
    if (p === undefined) groups.own(group, { id: e.id, consumer: consumer.name, deliveryTime: cmd.data.now, deliveries: 1n }, consumer, true);
    else {
      // Already pending (XGROUP SETID moved the group back): it is this consumer's now, delivered once.
      p.deliveryTime = cmd.data.now;
      p.deliveries = 1n;
      groups.own(group, p, consumer, false);
    }
  }
  return entries;
}

/** The consumer's pending entries after `after`, delivered again; one deleted from the stream comes as [ID, nil]. */
function deliverHistory(cmd: DataContext, read: GroupRead, consumer: Consumer, after: StreamId, count: number): Reply {
  const { groups, group } = read;
  const out: Reply[] = [];
  const from = nextId(after);
  if (from === undefined) return array(out);
  for (const p of [...groups.pendingRange(group, from, MAX_ID, consumer)]) {
    if (count > 0 && out.length === count) break;
    const value = cmd.data.memberValue(read.key, groups.meta, idBytes(p.id));
    if (value === undefined) {
      out.push(array([bulk(idText(p.id)), nullArray(cmd.proto)]));
      continue;
    }
    out.push(entryReply({ id: p.id, fields: decodeFields(value) }));
    p.deliveryTime = cmd.data.now;
    p.deliveries++;
    groups.update(group, p);
  }
  return array(out);
}

/**
 * What XREADGROUP answers now, or undefined when it served no stream: a
 * stream is served when it reads history, or when it has entries after its
 * group's last ID (`blocked`: when its last ID is past the group's, as
 * Redis serves a blocked reader).
 */
function readGroup(cmd: DataContext, r: ReadArgs, reads: GroupRead[], count: number, blocked: boolean): Reply | undefined {
  const found: [Buffer, Reply][] = [];
  for (const read of reads) {
    const { groups, group } = read;
    const meta = groups.meta;
    let reply: Reply | undefined;
    if (read.after !== undefined) {
      reply = deliverHistory(cmd, read, groups.seenConsumer(group, r.consumer!), read.after, count);
    } else {
      const last = blocked ? streamState(meta).last : edgeEntry(cmd, read.key, meta, true)?.id;
      if (last !== undefined && compareIds(last, group.lastId) > 0) {
        reply = entriesReply(deliverNew(cmd, read, groups.seenConsumer(group, r.consumer!), count, r.noack));
      }
    }
    groups.save(read.before);
    if (reply !== undefined) found.push([read.key, reply]);
  }
  return found.length === 0 ? undefined : streamsReply(found, cmd.proto);
}

/** A blocked XREADGROUP's try: its streams as they are now (none not a stream: it waits on), its group gone: NOGROUP. */
function blockedTry(cmd: DataContext, r: ReadArgs): Reply | undefined {
  for (const key of r.keys) {
    let before: Meta | undefined;
    try {
      before = streamOf(cmd, key, false);
    } catch {
      continue; // another type now: Redis serves only streams
    }
    if (before === undefined) continue;
    const groups = new StreamGroups(cmd, key, { ...before });
    const group = groups.group(r.group!);
    if (group === undefined) throw new ReplyError('NOGROUP the consumer group this client was blocked on no longer exists');
    const reply = readGroup(cmd, r, [{ key, before, groups, group, after: undefined }], r.count || BLOCKED_COUNT, true);
    if (reply !== undefined) return reply;
  }
  return undefined;
}

function xreadgroupRun(ctx: Context, args: Buffer[]): Promise<Reply> | Reply {
  const r = readArgs(args, true, false);
  const none = nullArray(ctx.client.proto);
  const WAIT = '';
  const first = ctx.keyspace.writing(ctx, timedAs('xreadgroup', (cmd) => readGroup(cmd, r, groupReads(cmd, r), r.count, false) ?? (r.block < 0 ? none : WAIT)), args, r.keys);
  if (r.block < 0) return first;
  return first.then((reply) => {
    if (reply !== WAIT) return reply;
    const attempt = () => ctx.keyspace.writing(ctx, (cmd) => blockedTry(cmd, r) ?? none, args, r.keys);
    return ctx.keyspace.blocked.block(ctx.client, r.keys, r.block, attempt, none);
  });
}

export const XREADGROUP: CommandSpec = dataCommand(
  'xreadgroup',
  {
    ...readMeta,
    arity: -7,
    flags: ['write', 'blocking'],
    access: 'write',
    summary: "A consumer group's new entries (>) for a consumer, or that consumer's pending ones after an ID; BLOCK waits, NOACK leaves nothing pending.",
  },
  (cmd, args) => {
    const r = readArgs(args, true, cmd.fromScript === true);
    return readGroup(cmd, r, groupReads(cmd, r), r.count, false) ?? nullArray(cmd.proto);
  },
  xreadgroupRun,
);
XREADGROUP.blocks = true;

export const STREAM_READ_COMMANDS = [XREAD, XREADGROUP];
