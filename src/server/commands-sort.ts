// SORT and SORT_RO: the elements of a list, set or sorted set, sorted as
// Redis 7.0 sorts them (numbers as strtod reads them, ties by the bytes;
// ALPHA by the bytes, Redis's strcoll in the C locale; BY weights from keys
// or hash fields named by a pattern; BY without '*' keeps the collection's
// order), LIMIT, GET patterns, STORE as a list.
//
// A set's own order is xrpkv's key order, not Redis's hash order: it shows
// only where SORT does not sort (BY without '*', ALPHA BY with equal
// weights), as in SMEMBERS (docs/SERVER.md, Differences).
import { ReplyError, SYNTAX, dataCommand, int64, keysWithDestinations, word, type CommandSpec, type DataContext } from './command-spec.js';
import { pushElements } from './commands-lists.js';
import { parseScore, select } from './commands-zsets.js';
import { KeyType } from './layout.js';
import { array, bulk, integer, nil, type Reply } from './resp-writer.js';

/** The value a pattern names for `element` (SORT's lookupKeyByPattern): a string key, or a field after "->"; undefined where there is none. */
function byPattern(cmd: DataContext, pattern: Buffer, element: Buffer): Buffer | undefined {
  if (pattern.length === 1 && pattern[0] === 0x23) return element; // '#'
  const star = pattern.indexOf(0x2a);
  if (star < 0) return undefined;
  const arrow = pattern.indexOf('->', star + 1);
  const field = arrow >= 0 && arrow + 2 < pattern.length ? pattern.subarray(arrow + 2) : undefined;
  const key = Buffer.concat([pattern.subarray(0, star), element, pattern.subarray(star + 1, field ? arrow : pattern.length)]);
  const found = cmd.data.find(key);
  if (found === undefined) return undefined;
  if (field === undefined) return found.meta.type === KeyType.String ? found.value! : undefined;
  return found.meta.type === KeyType.Hash ? cmd.data.memberValue(key, found.meta, field) : undefined;
}

/** The collection's type and elements in its own order (a list's, a set's key order, a sorted set's score order); none for no key. */
function elementsOf(cmd: DataContext, key: Buffer): { type: KeyType | undefined; elements: Buffer[] } {
  const found = cmd.data.read(key);
  if (found === undefined) return { type: undefined, elements: [] };
  const { meta } = found;
  const elements = (): Buffer[] => {
    if (meta.type === KeyType.List) return [...cmd.data.memberValues(key, meta)];
    if (meta.type === KeyType.Set) return [...cmd.data.members(key, meta)].map(([m]) => m);
    if (meta.type === KeyType.ZSet) return select(cmd, key, { by: 'rank', rev: false, withScores: false, offset: 0, limit: -1, hasLimit: false }, Buffer.from('0'), Buffer.from('-1')).map((e) => e.member);
    throw new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value');
  };
  return { type: meta.type, elements: elements() };
}

/**
 * A weight as Redis reads it, with C's strtod on a C string: leading
 * whitespace skipped, the bytes after a NUL unseen ("" and "\0x" are 0),
 * and the rest must be a number.
 */
function strtodWhole(weight: Buffer): number | undefined {
  const nul = weight.indexOf(0);
  const raw = (nul < 0 ? weight : weight.subarray(0, nul)).toString('latin1');
  const text = raw.replace(/^[ \t\n\v\f\r]+/, '');
  // Nothing at all is 0 (strtod stops at once, on the NUL); blanks alone are not a number.
  if (text === '') return raw === '' ? 0 : undefined;
  return parseScore(Buffer.from(text, 'latin1'));
}

function sort(cmd: DataContext, args: Buffer[], readOnly: boolean): Reply {
  const key = args[1]!;
  let by: Buffer | undefined;
  let alpha = false;
  let desc = false;
  let limit: [number, number] | undefined;
  let store: Buffer | undefined;
  const gets: Buffer[] = [];
  let dontSort = false;
  for (let i = 2; i < args.length; i++) {
    const w = word(args[i]);
    const left = args.length - i - 1;
    if (w === 'asc') desc = false;
    else if (w === 'desc') desc = true;
    else if (w === 'alpha') alpha = true;
    else if (w === 'limit' && left >= 2) {
      limit = [Number(int64(args[i + 1]!)), Number(int64(args[i + 2]!))];
      i += 2;
    } else if (w === 'store' && left >= 1 && !readOnly) store = args[++i];
    else if (w === 'by' && left >= 1) {
      by = args[++i];
      // A pattern without '*' names no weights: nothing to sort by.
      if (!by!.includes(0x2a)) dontSort = true;
    } else if (w === 'get' && left >= 1) gets.push(args[++i]!);
    else throw SYNTAX();
  }
  const source = elementsOf(cmd, key);
  let elements = source.elements;
  // Redis sorts a set by ALPHA when its own order would be stored (its hash order is no order).
  if (dontSort && source.type === KeyType.Set && store !== undefined) {
    dontSort = false;
    alpha = true;
    by = undefined;
  }
  if (!dontSort) {
    const items = elements.map((element) => {
      const weight = by === undefined ? element : byPattern(cmd, by, element);
      let score = 0;
      if (!alpha && weight !== undefined) {
        const s = strtodWhole(weight);
        if (s === undefined || Number.isNaN(s)) throw new ReplyError("ERR One or more scores can't be converted into double");
        score = s;
      }
      return { element, weight: alpha && by !== undefined ? weight : undefined, score };
    });
    items.sort((a, b) => {
      let c: number;
      if (!alpha) c = a.score > b.score ? 1 : a.score < b.score ? -1 : Buffer.compare(a.element, b.element);
      else if (by !== undefined) c = a.weight === undefined || b.weight === undefined ? (a.weight === b.weight ? 0 : a.weight === undefined ? -1 : 1) : Buffer.compare(a.weight, b.weight);
      else c = Buffer.compare(a.element, b.element);
      return desc ? -c : c;
    });
    elements = items.map((i) => i.element);
  }
  if (limit !== undefined) {
    const n = elements.length;
    let start = Math.max(0, limit[0]);
    let end = limit[1] < 0 ? n - 1 : start + limit[1] - 1;
    if (start >= n) {
      start = n - 1;
      end = n - 2;
    }
    if (end >= n) end = n - 1;
    elements = end < start ? [] : elements.slice(start, end + 1);
  }
  const values: (Buffer | undefined)[] = gets.length === 0 ? elements : elements.flatMap((e) => gets.map((g) => byPattern(cmd, g, e)));
  if (store === undefined) return array(values.map((v) => (v === undefined ? nil(cmd.proto) : bulk(v))));
  cmd.data.remove(store);
  if (values.length > 0) pushElements(cmd, store, values.map((v) => v ?? Buffer.alloc(0)), false, false);
  return integer(values.length);
}

function sortCommand(name: string, readOnly: boolean): CommandSpec {
  return dataCommand(
    name,
    {
      arity: -2,
      flags: readOnly ? ['readonly'] : ['write', 'denyoom'],
      firstKey: 1,
      lastKey: 1,
      step: 1,
      // STORE's destination is a key too (for the keys in flight).
      keysOf: (args) => keysWithDestinations(args, ['store']),
      group: 'generic',
      access: readOnly ? 'read' : 'write',
      summary: readOnly ? 'SORT without STORE.' : 'Sorts the elements of a list, set or sorted set (BY LIMIT GET ASC DESC ALPHA STORE).',
      since: readOnly ? '7.0.0' : '1.0.0',
    },
    (cmd, args) => sort(cmd, args, readOnly),
  );
}

export const SORT_COMMANDS = [sortCommand('sort', false), sortCommand('sort_ro', true)];
