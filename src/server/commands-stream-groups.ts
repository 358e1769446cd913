// Consumer groups: XGROUP, XACK, XPENDING, XCLAIM and XAUTOCLAIM, as Redis
// 7.0 answers them, on the records of stream-groups.ts (XREADGROUP, which
// delivers: commands-stream-read.ts).
import { ReplyError, SYNTAX, dataCommand, int64, word, subcommandSyntax, type DataContext } from './command-spec.js';
import { entryReply, intervalBound, intervalEnd, intervalStart, key1, streamOf } from './commands-streams.js';
import { KeyType, type Meta } from './layout.js';
import { OK, array, bulk, helpLines, integer, nil, nullArray, type Reply } from './resp-writer.js';
import { MAX_ID, MIN_ID, compareIds, decodeFields, idBytes, idText, parseId, streamState, type StreamId } from './stream.js';
import { StreamGroups, type Consumer, type Group, type Pending } from './stream-groups.js';

/** The stream at `key` with its groups, or undefined when there is none (WRONGTYPE for another type). */
function open(cmd: DataContext, key: Buffer, counted: boolean): { before: Meta; groups: StreamGroups } | undefined {
  const before = streamOf(cmd, key, counted);
  return before && { before, groups: new StreamGroups(cmd, key, { ...before }) };
}

/** The stream and its group named by `args[1]` and `args[2]`, or NOGROUP (XPENDING's, XCLAIM's and XAUTOCLAIM's error). */
function groupOf(cmd: DataContext, args: Buffer[]): { before: Meta; groups: StreamGroups; group: Group } {
  const s = open(cmd, args[1]!, true);
  const group = s?.groups.group(args[2]!);
  if (group === undefined) throw new ReplyError(`NOGROUP No such key '${args[1]!.toString()}' or consumer group '${args[2]!.toString()}'`);
  return { ...s!, group };
}

/** The entry's reply, or undefined when the stream has no such entry. */
function entryAt(cmd: DataContext, groups: StreamGroups, id: StreamId): Reply | undefined {
  const value = cmd.data.memberValue(groups.key, groups.meta, idBytes(id));
  return value && entryReply({ id, fields: decodeFields(value) });
}

// ---- XGROUP ----------------------------------------------------------------------------

const XGROUP_ARITY = { create: -5, setid: -5, destroy: 4, createconsumer: 5, delconsumer: 5, help: 2 };

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Prints this help.',
];

const isDollar = (arg: Buffer) => arg.length === 1 && arg[0] === 0x24;

export const XGROUP = dataCommand(
  'xgroup',
  {
    arity: -2,
    flags: ['write'],
    firstKey: 2,
    lastKey: 2,
    step: 1,
    group: 'stream',
    access: 'write',
    summary: 'CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER: manages the consumer groups of a stream.',
    since: '5.0.0',
    subcommands: XGROUP_ARITY,
  },
  // The subcommand and its arity are checked before (arityError).
  (cmd, args) => {
    const sub = word(args[1]);
    if (sub === 'help') return helpLines(XGROUP_HELP);
    let mkstream = false;
    let entriesRead = -1n;
    for (let i = 5; i < args.length; i++) {
      const w = word(args[i]);
      if (sub === 'create' && w === 'mkstream') mkstream = true;
      else if ((sub === 'create' || sub === 'setid') && w === 'entriesread' && i + 1 < args.length) {
        entriesRead = int64(args[++i]!);
        if (entriesRead < 0n && entriesRead !== -1n) throw new ReplyError('ERR value for ENTRIESREAD must be positive or -1');
      } else throw subcommandSyntax(args, 'XGROUP');
    }
    const key = args[2]!;
    const name = args[3]!;
    const s = open(cmd, key, false);
    let group: Group | undefined;
    if (!mkstream) {
      if (s === undefined) {
        throw new ReplyError(
          'ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.',
        );
      }
      group = s.groups.group(name);
      if (group === undefined && sub !== 'create' && sub !== 'destroy') throw new ReplyError(`NOGROUP No such consumer group '${name.toString()}' for key name '${key.toString()}'`);
    }
    switch (sub) {
      case 'create': {
        if (args.length > 8) throw subcommandSyntax(args, 'XGROUP');
        const id = isDollar(args[4]!) ? (s ? streamState(s.before).last : MIN_ID) : parseId(args[4]!, 0n, false).id;
        const groups = s?.groups ?? new StreamGroups(cmd, key, cmd.data.openCollection(key, KeyType.Stream).meta);
        if (groups.createGroup(name, id, entriesRead) === undefined) throw new ReplyError('BUSYGROUP Consumer Group name already exists');
        groups.save(s?.before);
        return OK;
      }
      case 'setid': {
        if (args.length !== 5 && args.length !== 7) throw subcommandSyntax(args, 'XGROUP');
        group!.lastId = isDollar(args[4]!) ? streamState(s!.before).last : parseId(args[4]!, 0n).id;
        group!.entriesRead = entriesRead;
        s!.groups.changed(group!);
        s!.groups.save(s!.before);
        return OK;
      }
      case 'destroy': {
        if (group === undefined) return integer(0);
        s!.groups.destroyGroup(group);
        s!.groups.save(s!.before);
        return integer(1);
      }
      case 'createconsumer': {
        const created = s!.groups.createConsumer(group!, args[4]!);
        s!.groups.save(s!.before);
        return integer(created ? 1 : 0);
      }
      default: {
        const consumer = s!.groups.consumer(group!, args[4]!, false);
        const pending = consumer === undefined ? 0 : s!.groups.deleteConsumer(group!, consumer);
        s!.groups.save(s!.before);
        return integer(pending);
      }
    }
  },
);

// ---- XACK ------------------------------------------------------------------------------

export const XACK = dataCommand(
  'xack',
  { arity: -4, flags: ['write', 'fast'], ...key1, access: 'write', summary: "Acknowledges entries of a group: they are pending no more; returns how many were.", since: '5.0.0' },
  (cmd, args) => {
    const s = open(cmd, args[1]!, true);
    const group = s?.groups.group(args[2]!);
    // No stream or no group: nothing to acknowledge (and IDs not even parsed, as in Redis).
    if (group === undefined) return integer(0);
    const ids = args.slice(3).map((a) => parseId(a, 0n, false).id);
    let acked = 0;
    for (const id of ids) {
      const p = s!.groups.pending(group, id);
      if (p === undefined) continue;
      s!.groups.ack(group, p);
      acked++;
    }
    s!.groups.save(s!.before);
    return integer(acked);
  },
);

// ---- XPENDING --------------------------------------------------------------------------

export const XPENDING = dataCommand(
  'xpending',
  {
    arity: -3,
    flags: ['readonly'],
    ...key1,
    access: 'read',
    summary: "A group's pending entries: their count, first and last IDs and owners; or, with a range, each one's owner, idle time and deliveries.",
    since: '5.0.0',
  },
  (cmd, args) => {
    const n = args.length;
    if (n !== 3 && (n < 6 || n > 9)) throw SYNTAX();
    let range: { from: StreamId; to: StreamId; count: number; minIdle: number; consumer: Buffer | undefined } | undefined;
    if (n >= 6) {
      let at = 3;
      let minIdle = 0;
      if (word(args[3]) === 'idle') {
        minIdle = Number(int64(args[4]!));
        if (n < 8) throw SYNTAX();
        at += 2;
      }
      const count = int64(args[at + 2]!);
      const from = intervalStart(intervalBound(args[at]!, 0n));
      const to = intervalEnd(intervalBound(args[at + 1]!, MAX_ID.seq));
      range = { from, to, count: count < 0n ? 0 : Number(count), minIdle, consumer: args[at + 3] };
    }
    const { groups, group } = groupOf(cmd, args);
    if (range === undefined) {
      if (group.pending === 0) return array([integer(0), nil(cmd.proto), nil(cmd.proto), nullArray(cmd.proto)]);
      const owners = groups.consumers(group).filter((c) => c.pending > 0);
      return array([
        integer(group.pending),
        bulk(idText(groups.edgePending(group, false)!.id)),
        bulk(idText(groups.edgePending(group, true)!.id)),
        array(owners.map((c) => array([bulk(c.name), bulk(String(c.pending))]))),
      ]);
    }
    let owner: Consumer | undefined;
    if (range.consumer !== undefined) {
      owner = groups.consumer(group, range.consumer, false);
      if (owner === undefined) return array([]);
    }
    const now = cmd.data.now;
    const out: Reply[] = [];
    if (range.count > 0 && compareIds(range.from, range.to) <= 0) {
      for (const p of groups.pendingRange(group, range.from, range.to, owner)) {
        if (range.minIdle !== 0 && now - p.deliveryTime < range.minIdle) continue;
        out.push(array([bulk(idText(p.id)), bulk(p.consumer), integer(Math.max(0, now - p.deliveryTime)), integer(p.deliveries)]));
        if (out.length === range.count) break;
      }
    }
    return array(out);
  },
);

// ---- XCLAIM and XAUTOCLAIM -------------------------------------------------------------

/**
 * Gives `p` to the consumer `name` (made, and seen, the first time one is
 * claimed: `claimer` keeps it): delivered at `deliveryTime`, its deliveries
 * set to `retryCount` when given (>= 0), else one more unless JUSTID.
 */
function claim(
  groups: StreamGroups,
  group: Group,
  p: Pending,
  isNew: boolean,
  claimer: { name: Buffer; consumer?: Consumer },
  options: { deliveryTime: number; retryCount: bigint; justId: boolean },
): void {
  claimer.consumer ??= groups.seenConsumer(group, claimer.name);
  p.deliveryTime = options.deliveryTime;
  if (options.retryCount >= 0n) p.deliveries = options.retryCount;
  else if (!options.justId) p.deliveries++;
  groups.own(group, p, claimer.consumer, isNew);
}

export const XCLAIM = dataCommand(
  'xclaim',
  {
    arity: -6,
    flags: ['write', 'fast'],
    ...key1,
    access: 'write',
    summary: 'Gives pending entries idle at least min-idle-time to a consumer (IDLE, TIME, RETRYCOUNT, FORCE, JUSTID, LASTID); returns them.',
    since: '5.0.0',
  },
  (cmd, args) => {
    const { before, groups, group } = groupOf(cmd, args);
    let minIdle = Number(int64(args[4]!, 'Invalid min-idle-time argument for XCLAIM'));
    if (minIdle < 0) minIdle = 0;
    const ids: StreamId[] = [];
    let j = 5;
    for (; j < args.length; j++) {
      try {
        ids.push(parseId(args[j]!, 0n, false).id);
      } catch {
        break; // not an ID: the options start here
      }
    }
    const now = cmd.data.now;
    let force = false;
    let justId = false;
    let deliveryTime = -1;
    let retryCount = -1n;
    let lastId: StreamId = MIN_ID;
    for (; j < args.length; j++) {
      const w = word(args[j]);
      const more = args.length - 1 - j;
      if (w === 'force') force = true;
      else if (w === 'justid') justId = true;
      else if (w === 'idle' && more > 0) deliveryTime = now - Number(int64(args[++j]!, 'Invalid IDLE option argument for XCLAIM'));
      else if (w === 'time' && more > 0) deliveryTime = Number(int64(args[++j]!, 'Invalid TIME option argument for XCLAIM'));
      else if (w === 'retrycount' && more > 0) retryCount = int64(args[++j]!, 'Invalid RETRYCOUNT option argument for XCLAIM');
      else if (w === 'lastid' && more > 0) lastId = parseId(args[++j]!, 0n, false).id;
      else throw new ReplyError(`ERR Unrecognized XCLAIM option '${args[j]!.toString()}'`);
    }
    if (compareIds(lastId, group.lastId) > 0) {
      group.lastId = lastId;
      groups.changed(group);
    }
    // A time in the future or before the epoch is taken as now (clients' clocks differ), as Redis does.
    if (deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
    const claimer: { name: Buffer; consumer?: Consumer } = { name: args[3]! };
    const out: Reply[] = [];
    for (const id of ids) {
      let p = groups.pending(group, id);
      const entry = entryAt(cmd, groups, id);
      if (entry === undefined) {
        // Deleted from the stream: pending no more.
        if (p !== undefined) groups.ack(group, p);
        continue;
      }
      let isNew = false;
      if (p === undefined && force) {
        p = { id, consumer: Buffer.alloc(0), deliveryTime: now, deliveries: 1n };
        isNew = true;
      }
      if (p === undefined) continue;
      if (!isNew && minIdle !== 0 && now - p.deliveryTime < minIdle) continue;
      claim(groups, group, p, isNew, claimer, { deliveryTime, retryCount, justId });
      out.push(justId ? bulk(idText(id)) : entry);
    }
    groups.save(before);
    return array(out);
  },
);

/** XAUTOCLAIM looks at no more than this many pending entries for each it may claim (Redis's attempts factor). */
const ATTEMPTS_FACTOR = 10;
const MAX_COUNT = 0x7fff_ffff_ffff_ffffn / 16n;

export const XAUTOCLAIM = dataCommand(
  'xautoclaim',
  {
    arity: -6,
    flags: ['write', 'fast'],
    ...key1,
    access: 'write',
    summary: 'Gives a consumer the pending entries idle at least min-idle-time from start on, COUNT at most (100); returns the next start, them, and those deleted.',
    since: '6.2.0',
  },
  (cmd, args) => {
    let minIdle = Number(int64(args[4]!, 'Invalid min-idle-time argument for XAUTOCLAIM'));
    if (minIdle < 0) minIdle = 0;
    const start = intervalStart(intervalBound(args[5]!, 0n));
    let count = 100;
    let justId = false;
    for (let j = 6; j < args.length; j++) {
      const w = word(args[j]);
      if (w === 'count' && j + 1 < args.length) {
        let n: bigint;
        try {
          n = int64(args[++j]!);
        } catch {
          n = 0n;
        }
        if (n < 1n || n > MAX_COUNT) throw new ReplyError('ERR COUNT must be > 0');
        count = Number(n);
      } else if (w === 'justid') justId = true;
      else throw SYNTAX();
    }
    const { before, groups, group } = groupOf(cmd, args);
    let attempts = count * ATTEMPTS_FACTOR;
    // The entries it may look at, and the one after them (the next call's start).
    const seen: Pending[] = [];
    for (const p of groups.pendingRange(group, start, MAX_ID)) {
      seen.push(p);
      if (seen.length > attempts) break;
    }
    const now = cmd.data.now;
    const claimer: { name: Buffer; consumer?: Consumer } = { name: args[3]! };
    const claimed: Reply[] = [];
    const deleted: Reply[] = [];
    let i = 0;
    for (; attempts > 0 && count > 0 && i < seen.length; i++, attempts--) {
      const p = seen[i]!;
      const entry = entryAt(cmd, groups, p.id);
      if (entry === undefined) {
        groups.ack(group, p);
        deleted.push(bulk(idText(p.id)));
        count--;
        continue;
      }
      if (minIdle !== 0 && now - p.deliveryTime < minIdle) continue;
      claim(groups, group, p, false, claimer, { deliveryTime: now, retryCount: -1n, justId });
      claimed.push(justId ? bulk(idText(p.id)) : entry);
      count--;
    }
    groups.save(before);
    const next = seen[i]?.id ?? MIN_ID;
    return array([bulk(idText(next)), array(claimed), array(deleted)]);
  },
);

export const STREAM_GROUP_COMMANDS = [XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM];
