// Lists: a metadata record (head and tail indexes) and one record per
// element, index -> element (layout.ts), the elements at consecutive
// indexes [head, tail) as in Kvrocks. Pushes and pops at either end (LMOVE:
// one of each), LINDEX and LSET touch one record; LRANGE reads one range; LTRIM removes what it
// cuts. LREM and LINSERT move the elements after (or, for LINSERT, before,
// whichever side is shorter) the change by one index, as Kvrocks does:
// O(elements moved). Replies and errors as in Redis 7.0.
import { ReplyError, SYNTAX, dataCommand, int64, positions, positiveCount, word, type DataContext } from './command-spec.js';
import { KeyType, LIST_MIDDLE, indexBytes, type Meta } from './layout.js';

/** An element record's member: its index (layout.ts `indexBytes`). */
const INDEX_BYTES = 8;
import { OK, array, bulk, bulkOrNil, bulks, integer, nil, nullArray, type Reply } from './resp-writer.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1 };
const read = { ...key1, group: 'list', access: 'read' as const };
const write = { ...key1, group: 'list', access: 'write' as const };

const at = (cmd: DataContext, key: Buffer, meta: Meta, index: number) => cmd.data.memberRecord(key, meta, indexBytes(index));

/** The elements at positions [from, to) of the list, in order. */
function elements(cmd: DataContext, key: Buffer, meta: Meta, from: number, to: number): Buffer[] {
  if (from >= to) return [];
  return [...cmd.data.memberValues(key, meta, { from: indexBytes(meta.head + from), to: indexBytes(meta.head + to) })];
}

/** Pushes `items` at the left or right end of the list at `key` (creating it unless `onlyExisting`); its new length (0: no list, with `onlyExisting`). */
export function pushElements(cmd: DataContext, key: Buffer, items: Buffer[], left: boolean, onlyExisting: boolean): number {
  const { before, meta } = cmd.data.openCollection(key, KeyType.List);
  if (before === undefined) {
    if (onlyExisting) return 0;
    meta.head = meta.tail = LIST_MIDDLE;
  }
  cmd.data.memberFits(key, INDEX_BYTES); // a key too long for element records fails before anything is written
  for (const element of items) {
    // Indexes outside [head, tail) hold nothing.
    if (left) cmd.data.putMember(at(cmd, key, meta, --meta.head), element, true);
    else cmd.data.putMember(at(cmd, key, meta, meta.tail++), element, true);
  }
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key, before, meta);
  return meta.size;
}

/** LPUSH, RPUSH, LPUSHX, RPUSHX: the new length (0 for the X forms on a missing key). */
const push = (cmd: DataContext, args: Buffer[], left: boolean, onlyExisting: boolean): Reply => integer(pushElements(cmd, args[1]!, args.slice(2), left, onlyExisting));

const pushCommand = (name: string, left: boolean, onlyExisting: boolean, summary: string, since: string) =>
  dataCommand(name, { arity: -3, flags: ['write', 'denyoom', 'fast'], ...write, summary, since }, (cmd, args) => push(cmd, args, left, onlyExisting));

export const LPUSH = pushCommand('lpush', true, false, 'Prepends elements to a list (creating it); returns its length.', '1.0.0');
export const RPUSH = pushCommand('rpush', false, false, 'Appends elements to a list (creating it); returns its length.', '1.0.0');
export const LPUSHX = pushCommand('lpushx', true, true, 'Prepends elements to a list only if it exists.', '2.2.0');
export const RPUSHX = pushCommand('rpushx', false, true, 'Appends elements to a list only if it exists.', '2.2.0');

/** LPOP and RPOP [count]. */
function pop(cmd: DataContext, args: Buffer[], left: boolean): Reply {
  if (args.length > 3) throw new ReplyError(`ERR wrong number of arguments for '${left ? 'lpop' : 'rpop'}' command`);
  const key = args[1]!;
  const wanted = args.length === 3 ? positiveCount(args[2]!) : undefined;
  const before = cmd.data.collection(key, KeyType.List);
  if (before === undefined) return wanted === undefined ? nil(cmd.proto) : nullArray(cmd.proto);
  const meta = { ...before };
  const popped: Buffer[] = [];
  for (let n = Math.min(wanted ?? 1, meta.size); n > 0; n--) {
    const record = at(cmd, key, meta, left ? meta.head++ : --meta.tail);
    popped.push(cmd.data.view.get(record)!);
    cmd.data.removeMember(record);
  }
  meta.size = meta.tail - meta.head;
  if (popped.length > 0) cmd.data.saveMeta(key, before, meta);
  return wanted === undefined ? bulk(popped[0]!) : bulks(popped);
}

/** Pops the element at the left or right end of the list at `key`: undefined when there is none. */
export function popElement(cmd: DataContext, key: Buffer, left: boolean): Buffer | undefined {
  const before = cmd.data.collection(key, KeyType.List);
  if (before === undefined) return undefined;
  const meta = { ...before };
  const record = at(cmd, key, meta, left ? meta.head++ : --meta.tail);
  const element = cmd.data.view.get(record)!;
  cmd.data.removeMember(record);
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key, before, meta);
  return element;
}

/**
 * LMOVE's move (RPOPLPUSH's, BLMOVE's): pops an end of `source` and pushes
 * it at an end of `destination` (the same list: a rotation); the element,
 * or undefined when `source` has none. WRONGTYPE, with nothing moved, when
 * either holds another type.
 */
export function moveElement(cmd: DataContext, source: Buffer, destination: Buffer, fromLeft: boolean, toLeft: boolean): Buffer | undefined {
  const before = cmd.data.collection(source, KeyType.List);
  if (before === undefined) return undefined;
  cmd.data.collection(destination, KeyType.List, false);
  if (source.equals(destination)) {
    // A rotation: the element changes ends under one metadata, so the list is never empty on the way (an emptied list is removed, its deadline with it).
    const meta = { ...before };
    const record = at(cmd, source, meta, fromLeft ? meta.head++ : --meta.tail);
    const element = cmd.data.view.get(record)!;
    cmd.data.removeMember(record);
    cmd.data.putMember(at(cmd, source, meta, toLeft ? --meta.head : meta.tail++), element, true);
    cmd.data.saveMeta(source, before, meta);
    return element;
  }
  const element = popElement(cmd, source, fromLeft)!;
  pushElements(cmd, destination, [element], toLeft, false);
  return element;
}

/** LEFT or RIGHT (any case): whether LEFT; a syntax error otherwise. */
export function side(arg: Buffer): boolean {
  const w = word(arg);
  if (w !== 'left' && w !== 'right') throw SYNTAX();
  return w === 'left';
}

const twoKeys = { firstKey: 1, lastKey: 2, step: 1, group: 'list', access: 'write' as const };

export const LMOVE = dataCommand(
  'lmove',
  { arity: 5, flags: ['write', 'denyoom'], ...twoKeys, summary: "Pops an element from one end of a list and pushes it at an end of another (or the same); returns it, or nil when the source is empty.", since: '6.2.0' },
  (cmd, [, source, destination, from, to]) => bulkOrNil(moveElement(cmd, source!, destination!, side(from!), side(to!)), cmd.proto),
);

export const RPOPLPUSH = dataCommand(
  'rpoplpush',
  { arity: 3, flags: ['write', 'denyoom'], ...twoKeys, summary: 'LMOVE source destination RIGHT LEFT.', since: '1.2.0' },
  (cmd, [, source, destination]) => bulkOrNil(moveElement(cmd, source!, destination!, false, true), cmd.proto),
);

export const LPOP = dataCommand('lpop', { arity: -2, flags: ['write', 'fast'], ...write, summary: 'Removes and returns the first elements of a list.', since: '1.0.0' }, (cmd, args) => pop(cmd, args, true));
export const RPOP = dataCommand('rpop', { arity: -2, flags: ['write', 'fast'], ...write, summary: 'Removes and returns the last elements of a list.', since: '1.0.0' }, (cmd, args) => pop(cmd, args, false));

export const LLEN = dataCommand('llen', { arity: 2, flags: ['readonly', 'fast'], ...read, summary: 'Returns the length of a list.', since: '1.0.0' }, ({ data }, [, key]) =>
  integer(data.collection(key!, KeyType.List)?.size ?? 0),
);

export const LRANGE = dataCommand('lrange', { arity: 4, flags: ['readonly'], ...read, summary: 'Returns the elements of a list from start to stop, inclusive (negative: from the end).', since: '1.0.0' }, (cmd, [, key, start, end]) => {
  const meta = cmd.data.collection(key!, KeyType.List);
  const [from, to] = positions(start!, end!, meta?.size ?? 0);
  return bulks(meta === undefined ? [] : elements(cmd, key!, meta, from, to));
});

export const LPOS = dataCommand(
  'lpos',
  { arity: -3, flags: ['readonly'], ...read, summary: 'The position of matching elements: RANK r (from the r-th match; negative: from the end), COUNT n (0: all), MAXLEN len (at most len compared).', since: '6.0.6' },
  (cmd, args) => {
    const [, key, element] = args;
    let rank = 1;
    let count: number | undefined;
    let maxlen = 0;
    for (let i = 3; i < args.length; i += 2) {
      const opt = word(args[i]);
      if (i + 1 >= args.length) throw SYNTAX();
      const n = int64(args[i + 1]!);
      if (opt === 'rank') {
        if (n === 0n || n === -(2n ** 63n)) throw new ReplyError("ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list");
        rank = Number(n);
      } else if (opt === 'count') {
        if (n < 0n) throw new ReplyError("ERR COUNT can't be negative");
        count = Number(n);
      } else if (opt === 'maxlen') {
        if (n < 0n) throw new ReplyError("ERR MAXLEN can't be negative");
        maxlen = Number(n);
      } else throw SYNTAX();
    }
    const meta = cmd.data.collection(key!, KeyType.List);
    const wanted = count === undefined ? 1 : count === 0 ? Infinity : count;
    const found: number[] = [];
    if (meta !== undefined) {
      const reverse = rank < 0;
      let skip = Math.abs(rank) - 1;
      let i = 0;
      for (const value of cmd.data.memberValues(key!, meta, { reverse })) {
        if (maxlen > 0 && i === maxlen) break;
        if (value.equals(element!) && skip-- <= 0) {
          found.push(reverse ? meta.size - 1 - i : i);
          if (found.length === wanted) break;
        }
        i++;
      }
    }
    if (count === undefined) return found.length > 0 ? integer(found[0]!) : nil(cmd.proto);
    return array(found.map((p) => integer(p)));
  },
);

/** A position argument (negative: from the end) as a position in [0, n), or undefined when outside. */
function position(arg: Buffer, n: number): number | undefined {
  let i = Number(int64(arg));
  if (i < 0) i += n;
  return i >= 0 && i < n ? i : undefined;
}

export const LINDEX = dataCommand('lindex', { arity: 3, flags: ['readonly'], ...read, summary: 'Returns the element at a position of a list (negative: from the end).', since: '1.0.0' }, (cmd, [, key, index]) => {
  const meta = cmd.data.collection(key!, KeyType.List);
  const i = meta && position(index!, meta.size);
  return bulkOrNil(i === undefined ? undefined : cmd.data.memberValue(key!, meta!, indexBytes(meta!.head + i)), cmd.proto);
});

export const LSET = dataCommand('lset', { arity: 4, flags: ['write', 'denyoom'], ...write, summary: 'Sets the element at a position of a list.', since: '1.0.0' }, (cmd, [, key, index, element]) => {
  const meta = cmd.data.collection(key!, KeyType.List, false);
  if (meta === undefined) throw new ReplyError('ERR no such key');
  const i = position(index!, meta.size);
  if (i === undefined) throw new ReplyError('ERR index out of range');
  cmd.data.putMember(at(cmd, key!, meta, meta.head + i), element!);
  cmd.data.saveMeta(key!, meta, meta);
  return OK;
});

/** Rewrites the list as `kept` from position `from` on (the ones before stay), removing what is left past its new end. */
function rewriteFrom(cmd: DataContext, key: Buffer, before: Meta, from: number, kept: Buffer[]): void {
  const meta = { ...before };
  for (let i = 0; i < kept.length; i++) cmd.data.putMember(at(cmd, key, meta, meta.head + from + i), kept[i]!);
  const end = meta.head + from + kept.length;
  for (let i = end; i < before.tail; i++) cmd.data.removeMember(at(cmd, key, meta, i));
  meta.tail = end;
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key, before, meta);
}

/** Rewrites the list as `kept` up to position `to` (exclusive; the ones after stay), its head moved up past what is left before. */
function rewriteUpTo(cmd: DataContext, key: Buffer, before: Meta, to: number, kept: Buffer[]): void {
  const meta = { ...before };
  meta.head = before.head + to - kept.length;
  for (let i = 0; i < kept.length; i++) cmd.data.putMember(at(cmd, key, meta, meta.head + i), kept[i]!);
  for (let i = before.head; i < meta.head; i++) cmd.data.removeMember(at(cmd, key, meta, i));
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key, before, meta);
}

/**
 * The positions LREM removes: elements equal to `element`, at most `limit`
 * (0: all), from the head (limit > 0) or the tail (limit < 0), read one at
 * a time and no further than the last one it needs.
 */
function matches(cmd: DataContext, key: Buffer, meta: Meta, element: Buffer, limit: number): number[] {
  const found: number[] = [];
  const fromTail = limit < 0;
  let i = fromTail ? meta.size - 1 : 0;
  for (const e of cmd.data.memberValues(key, meta, { reverse: fromTail })) {
    if (e.equals(element)) found.push(i);
    if (limit !== 0 && found.length === Math.abs(limit)) break;
    i += fromTail ? -1 : 1;
  }
  return fromTail ? found.reverse() : found;
}

export const LREM = dataCommand('lrem', { arity: 4, flags: ['write'], ...write, summary: 'Removes elements equal to one from a list (count > 0: from the head, < 0: from the tail, 0: all).', since: '1.0.0' }, (cmd, [, key, countArg, element]) => {
  const limit = Number(int64(countArg!));
  const before = cmd.data.collection(key!, KeyType.List, false);
  if (before === undefined) return integer(0);
  const removed = matches(cmd, key!, before, element!, limit);
  if (removed.length === 0) return integer(0);
  // The elements between the first and the last removed move either way; the ones outside them on the shorter side stay.
  const first = removed[0]!;
  const last = removed[removed.length - 1]!;
  const gone = new Set(removed);
  if (before.size - first <= last + 1) {
    const after = elements(cmd, key!, before, first, before.size);
    rewriteFrom(cmd, key!, before, first, after.filter((_, j) => !gone.has(first + j)));
  } else {
    const upTo = elements(cmd, key!, before, 0, last + 1);
    rewriteUpTo(cmd, key!, before, last + 1, upTo.filter((_, j) => !gone.has(j)));
  }
  return integer(removed.length);
});

export const LTRIM = dataCommand('ltrim', { arity: 4, flags: ['write'], ...write, summary: 'Keeps only the elements of a list from start to stop, inclusive.', since: '1.0.0' }, (cmd, [, key, start, end]) => {
  const before = cmd.data.collection(key!, KeyType.List, false);
  if (before === undefined) return OK;
  const [from, to] = positions(start!, end!, before.size);
  const meta = { ...before };
  for (let i = before.head; i < before.tail; i++) if (i < before.head + from || i >= before.head + to) cmd.data.removeMember(at(cmd, key!, meta, i));
  meta.head = before.head + from;
  meta.tail = before.head + Math.max(from, to);
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key!, before, meta);
  return OK;
});

export const LINSERT = dataCommand('linsert', { arity: 5, flags: ['write', 'denyoom'], ...write, summary: 'Inserts an element before or after the first element equal to a pivot; returns the new length (-1: no pivot).', since: '2.2.0' }, (cmd, [, key, where, pivot, element]) => {
  const side = word(where);
  if (side !== 'before' && side !== 'after') throw SYNTAX();
  const before = cmd.data.collection(key!, KeyType.List, false);
  if (before === undefined) return integer(0);
  const p = matches(cmd, key!, before, pivot!, 1)[0];
  if (p === undefined) return integer(-1);
  const q = side === 'before' ? p : p + 1;
  const meta = { ...before };
  // The elements on the shorter side of the new one move by one place.
  if (q < before.size - q) {
    const moved = elements(cmd, key!, before, 0, q);
    meta.head--;
    for (let i = 0; i < q; i++) cmd.data.putMember(at(cmd, key!, meta, meta.head + i), moved[i]!);
  } else {
    const moved = elements(cmd, key!, before, q, before.size);
    for (let i = moved.length - 1; i >= 0; i--) cmd.data.putMember(at(cmd, key!, meta, meta.head + q + i + 1), moved[i]!);
    meta.tail++;
  }
  cmd.data.putMember(at(cmd, key!, meta, meta.head + q), element!);
  meta.size = meta.tail - meta.head;
  cmd.data.saveMeta(key!, before, meta);
  return integer(meta.size);
});

export const LIST_COMMANDS = [LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LMOVE, RPOPLPUSH, LLEN, LRANGE, LINDEX, LPOS, LSET, LREM, LTRIM, LINSERT];
