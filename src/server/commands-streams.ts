// Streams: XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM and XSETID, as Redis
// 7.0 answers them, on the layout of stream.ts (XREAD and XREADGROUP:
// commands-stream-read.ts; consumer groups: commands-stream-groups.ts;
// XINFO: commands-stream-info.ts).
//
// Trimming with `~`: Redis removes whole nodes of its radix tree (up to 100
// entries each) and no more than LIMIT; xrpkv has no nodes, so `~` removes
// what exact trimming would, rounded down to a multiple of 100, at most
// LIMIT (default 10,000): the stream keeps at least what was asked, and at
// most 99 entries more, as with Redis; the same count as Redis's where its
// nodes hold 100 entries each (small entries added in order), not always
// otherwise.
import { ReplyError, SYNTAX, dataCommand, int64, word, type CommandSpec, type DataContext } from './command-spec.js';
import { KeyType, type Meta } from './layout.js';
import { OK, array, bulk, integer, nil, nullArray, type Reply } from './resp-writer.js';
import {
  MAX_ID,
  MIN_ID,
  compareIds,
  decodeFields,
  encodeFields,
  idBytes,
  idFromBytes,
  idText,
  nextId,
  parseId,
  previousId,
  setStreamState,
  streamState,
  type StreamId,
  type StreamShape,
} from './stream.js';

export const key1 = { firstKey: 1, lastKey: 1, step: 1, group: 'stream' };
/** Entries `~` removes at a time, Redis's stream-node-max-entries default. */
const NODE_ENTRIES = 100;

export interface Entry {
  id: StreamId;
  fields: Buffer[];
}

export const streamOf = (cmd: DataContext, key: Buffer, counted = true): Meta | undefined => cmd.data.collection(key, KeyType.Stream, counted);

/** Entries from `from` to `to` inclusive, in ID order or reversed, at most `count` (0: all). */
export function range(cmd: DataContext, key: Buffer, meta: Meta, from: StreamId, to: StreamId, reverse: boolean, count: number): Entry[] {
  const out: Entry[] = [];
  if (compareIds(from, to) > 0) return out;
  const next = nextId(to);
  for (const [name, value] of cmd.data.members(key, meta, { from: idBytes(from), to: next && idBytes(next), reverse })) {
    out.push({ id: idFromBytes(name), fields: decodeFields(value) });
    if (count > 0 && out.length === count) break;
  }
  return out;
}

/** The stream's first or last entry, or undefined when it is empty. */
export const edgeEntry = (cmd: DataContext, key: Buffer, meta: Meta, last: boolean): Entry | undefined => range(cmd, key, meta, MIN_ID, MAX_ID, last, 1)[0];

/** What a group's read counter is reckoned from (stream.ts `StreamShape`): its fields, length and first entry's ID. */
export const streamShape = (cmd: DataContext, key: Buffer, meta: Meta): StreamShape => ({ state: streamState(meta), length: meta.size, first: edgeEntry(cmd, key, meta, false)?.id ?? MIN_ID });

export const entryReply = (e: Entry): Reply => array([bulk(idText(e.id)), array(e.fields.map((f) => bulk(f)))]);

export const entriesReply = (entries: Entry[]): Reply => array(entries.map(entryReply));

/** MAXLEN or MINID, exact or `~`, and LIMIT: XADD's and XTRIM's trimming. */
interface Trim {
  strategy: 'maxlen' | 'minid';
  approx: boolean;
  maxlen: number;
  minid: StreamId;
  limit: number;
}

/** Removes what `trim` says from the front of the stream (`meta` changed in place); how many. */
function trimStream(cmd: DataContext, key: Buffer, meta: Meta, trim: Trim): number {
  const doomed: Buffer[] = [];
  // `~` removes at most LIMIT: no need to read past them (a stream far over its MAXLEN would be read whole by every XADD).
  const cap = trim.approx && trim.limit > 0 ? trim.limit : Infinity;
  for (const [name] of cmd.data.members(key, meta)) {
    if (doomed.length >= cap) break;
    if (trim.strategy === 'maxlen' ? meta.size - doomed.length <= trim.maxlen : compareIds(idFromBytes(name), trim.minid) >= 0) break;
    doomed.push(name);
  }
  let n = doomed.length;
  if (trim.approx) n = Math.min(n - (n % NODE_ENTRIES), trim.limit > 0 ? trim.limit - (trim.limit % NODE_ENTRIES) : n);
  for (const name of doomed.slice(0, n)) cmd.data.removeMember(cmd.data.memberRecord(key, meta, name), true);
  meta.size -= n;
  return n;
}

/** Trimming options from `args[at]` on (Redis's streamParseAddOrTrimArgsOrReply); for XADD, where its ID is. */
function parseTrim(args: Buffer[], at: number, xadd: boolean): { trim: Trim | undefined; idAt: number; noMkStream: boolean } {
  let trim: Trim | undefined;
  let limit: number | undefined;
  let noMkStream = false;
  let i = at;
  for (; i < args.length; i++) {
    const more = args.length - 1 - i;
    const w = word(args[i]);
    if (xadd && args[i]!.length === 1 && args[i]![0] === 0x2a) break; // '*'
    if ((w === 'maxlen' || w === 'minid') && more > 0) {
      if (trim !== undefined) throw new ReplyError('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      let approx = false;
      const next = args[i + 1]!.toString('latin1');
      if (more >= 2 && (next === '~' || next === '=')) {
        approx = next === '~';
        i++;
      }
      const arg = args[++i]!;
      if (w === 'maxlen') {
        const n = int64(arg);
        if (n < 0n) throw new ReplyError('ERR The MAXLEN argument must be >= 0.');
        trim = { strategy: 'maxlen', approx, maxlen: Number(n), minid: MAX_ID, limit: 0 };
      } else trim = { strategy: 'minid', approx, maxlen: 0, minid: parseId(arg, 0n, false).id, limit: 0 };
    } else if (w === 'limit' && more > 0) {
      const n = int64(args[++i]!);
      if (n < 0n) throw new ReplyError('ERR The LIMIT argument must be >= 0.');
      limit = Number(n);
    } else if (xadd && w === 'nomkstream') noMkStream = true;
    else if (xadd) break;
    else throw SYNTAX();
  }
  if (limit && trim === undefined) throw new ReplyError('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && trim === undefined) throw new ReplyError('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (trim !== undefined) {
    if (limit !== undefined && !trim.approx) throw new ReplyError('ERR syntax error, LIMIT cannot be used without the special ~ option');
    trim.limit = trim.approx ? (limit ?? NODE_ENTRIES * 100) : 0;
  }
  return { trim, idAt: i, noMkStream };
}

export const XADD = dataCommand(
  'xadd',
  { arity: -5, flags: ['write', 'denyoom', 'fast'], ...key1, access: 'write', summary: 'Appends an entry (ID * for a new one), trimming with MAXLEN or MINID; returns its ID.', since: '5.0.0' },
  (cmd, args) => {
    const key = args[1]!;
    const { trim, idAt, noMkStream } = parseTrim(args, 2, true);
    const idArg = args[idAt];
    const auto = idArg !== undefined && idArg.length === 1 && idArg[0] === 0x2a;
    const given = idArg === undefined || auto ? undefined : parseId(idArg, 0n, false, true);
    const fields = args.slice(idAt + 1);
    if (fields.length < 2 || fields.length % 2 === 1) throw new ReplyError("ERR wrong number of arguments for 'xadd' command");
    if (given && !given.autoSeq && given.id.ms === 0n && given.id.seq === 0n) throw new ReplyError('ERR The ID specified in XADD must be greater than 0-0');
    const existing = streamOf(cmd, key, false);
    if (existing === undefined && noMkStream) return nil(cmd.proto);
    const { before, meta } = cmd.data.openCollection(key, KeyType.Stream);
    const state = streamState(meta);
    if (state.last.ms === MAX_ID.ms && state.last.seq === MAX_ID.seq) throw new ReplyError('ERR The stream has exhausted the last possible ID, unable to add more items');
    let id: StreamId;
    const tooSmall = () => new ReplyError('ERR The ID specified in XADD is equal or smaller than the target stream top item');
    if (given === undefined) {
      const now = BigInt(Date.now());
      id = now > state.last.ms ? { ms: now, seq: 0n } : nextId(state.last)!;
    } else if (given.autoSeq) {
      if (given.id.ms === state.last.ms) {
        const next = nextId(state.last);
        if (next === undefined || next.ms !== state.last.ms) throw tooSmall();
        id = next;
      } else id = given.id;
    } else id = given.id;
    if (compareIds(id, state.last) <= 0) throw tooSmall();
    cmd.data.memberFits(key, 16);
    cmd.data.putMember(cmd.data.memberRecord(key, meta, idBytes(id)), encodeFields(fields), true);
    meta.size++;
    setStreamState(meta, { ...state, last: id, entriesAdded: state.entriesAdded + 1n });
    if (trim !== undefined) trimStream(cmd, key, meta, trim);
    cmd.data.saveMeta(key, before, meta);
    return bulk(idText(id));
  },
);

export const XLEN = dataCommand('xlen', { arity: 2, flags: ['readonly', 'fast'], ...key1, access: 'read', summary: 'The number of entries in a stream.', since: '5.0.0' }, (cmd, [, key]) =>
  integer(streamOf(cmd, key!)?.size ?? 0),
);

/** A bound of an ID interval: an ID, `-` or `+`, or `(` and an ID for an exclusive one (Redis's streamParseIntervalIDOrReply). */
export function intervalBound(arg: Buffer, missingSeq: bigint): { id: StreamId; exclusive: boolean } {
  const exclusive = arg.length > 1 && arg[0] === 0x28; // '('
  return { exclusive, id: parseId(exclusive ? arg.subarray(1) : arg, missingSeq, !exclusive).id };
}

/** The first ID an interval starting at `bound` holds. */
export function intervalStart(bound: { id: StreamId; exclusive: boolean }): StreamId {
  const from = bound.exclusive ? nextId(bound.id) : bound.id;
  if (from === undefined) throw new ReplyError('ERR invalid start ID for the interval');
  return from;
}

/** The last ID an interval ending at `bound` holds. */
export function intervalEnd(bound: { id: StreamId; exclusive: boolean }): StreamId {
  const to = bound.exclusive ? previousId(bound.id) : bound.id;
  if (to === undefined) throw new ReplyError('ERR invalid end ID for the interval');
  return to;
}

/** XRANGE (start, end) and XREVRANGE (end, start), with '(' for exclusive bounds and COUNT. */
function rangeCommand(name: string, reverse: boolean, summary: string, since: string): CommandSpec {
  return dataCommand(name, { arity: -4, flags: ['readonly'], ...key1, access: 'read', summary, since }, (cmd, args) => {
    const [startArg, endArg] = reverse ? [args[3]!, args[2]!] : [args[2]!, args[3]!];
    // Both parsed before either is moved past its exclusive bound, as Redis's XRANGE does.
    const start = intervalBound(startArg, 0n);
    const end = intervalBound(endArg, MAX_ID.seq);
    const from = intervalStart(start);
    const to = intervalEnd(end);
    let count = -1;
    for (let i = 4; i < args.length; i++) {
      if (word(args[i]) === 'count' && i + 1 < args.length) {
        const n = int64(args[++i]!);
        count = n < 0n ? 0 : Number(n);
      } else throw SYNTAX();
    }
    const meta = streamOf(cmd, args[1]!);
    if (meta === undefined) return array([]);
    if (count === 0) return nullArray(cmd.proto);
    return entriesReply(range(cmd, args[1]!, meta, from, to, reverse, Math.max(count, 0)));
  });
}

export const XRANGE = rangeCommand('xrange', false, 'Entries with IDs from start to end (- and +; ( excludes), at most COUNT.', '5.0.0');
export const XREVRANGE = rangeCommand('xrevrange', true, 'XRANGE from end to start, last first.', '5.0.0');

export const XDEL = dataCommand('xdel', { arity: -3, flags: ['write', 'fast'], ...key1, access: 'write', summary: 'Deletes entries by ID; returns how many there were.', since: '5.0.0' }, (cmd, args) => {
  const ids = args.slice(2).map((a) => parseId(a, 0n, false).id);
  const key = args[1]!;
  const before = streamOf(cmd, key, false);
  if (before === undefined) return integer(0);
  const meta = { ...before };
  const state = streamState(meta);
  let deleted = 0;
  for (const id of ids) {
    const record = cmd.data.memberRecord(key, meta, idBytes(id));
    if (cmd.data.memberValue(key, meta, idBytes(id)) === undefined) continue;
    cmd.data.removeMember(record, true);
    meta.size--;
    deleted++;
    if (compareIds(id, state.maxDeleted) > 0) state.maxDeleted = id;
  }
  if (deleted > 0) {
    setStreamState(meta, state);
    cmd.data.saveMeta(key, before, meta);
  }
  return integer(deleted);
});

export const XTRIM = dataCommand('xtrim', { arity: -4, flags: ['write'], ...key1, access: 'write', summary: 'Trims a stream to MAXLEN entries or to IDs from MINID on (~: roughly); returns how many went.', since: '5.0.0' }, (cmd, args) => {
  const { trim } = parseTrim(args, 2, false);
  const key = args[1]!;
  const before = streamOf(cmd, key, false);
  if (before === undefined) return integer(0);
  const meta = { ...before };
  const n = trimStream(cmd, key, meta, trim!);
  if (n > 0) cmd.data.saveMeta(key, before, meta);
  return integer(n);
});

export const XSETID = dataCommand(
  'xsetid',
  { arity: -3, flags: ['write', 'denyoom', 'fast'], ...key1, access: 'write', summary: "Sets a stream's last ID (ENTRIESADDED, MAXDELETEDID too), which XADD's next must exceed.", since: '5.0.0' },
  (cmd, args) => {
    const id = parseId(args[2]!, 0n, false).id;
    let entriesAdded: bigint | undefined;
    let maxDeleted: StreamId | undefined;
    for (let i = 3; i < args.length; i++) {
      const w = word(args[i]);
      if (w === 'entriesadded' && i + 1 < args.length) {
        entriesAdded = int64(args[++i]!);
        if (entriesAdded < 0n) throw new ReplyError('ERR entries_added must be positive');
      } else if (w === 'maxdeletedid' && i + 1 < args.length) {
        maxDeleted = parseId(args[++i]!, 0n, false).id;
        if (compareIds(id, maxDeleted) < 0) throw new ReplyError('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      } else throw SYNTAX();
    }
    const key = args[1]!;
    const before = streamOf(cmd, key, false);
    if (before === undefined) throw new ReplyError('ERR no such key');
    const meta = { ...before };
    const state = streamState(meta);
    if (meta.size > 0) {
      const top = edgeEntry(cmd, key, meta, true)!.id;
      if (compareIds(id, top) < 0) throw new ReplyError('ERR The ID specified in XSETID is smaller than the target stream top item');
      if (entriesAdded !== undefined && BigInt(meta.size) > entriesAdded) throw new ReplyError('ERR The entries_added specified in XSETID is smaller than the target stream length');
    }
    setStreamState(meta, {
      ...state,
      last: id,
      entriesAdded: entriesAdded ?? state.entriesAdded,
      maxDeleted: maxDeleted !== undefined && (maxDeleted.ms !== 0n || maxDeleted.seq !== 0n) ? maxDeleted : state.maxDeleted,
    });
    cmd.data.saveMeta(key, before, meta);
    return OK;
  },
);

export const STREAM_COMMANDS = [XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XSETID];
