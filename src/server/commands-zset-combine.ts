// Sorted sets combined: ZUNION, ZINTER, ZDIFF, their STORE forms, and
// ZINTERCARD, as Redis 7.0 has them. Sources are sorted sets or sets (a
// set's members score 1), missing keys empty; WEIGHTS multiply each
// source's scores, AGGREGATE SUM (the default), MIN or MAX joins a
// member's scores (a NaN, inf times 0 or inf plus -inf, counts 0, as in
// Redis). Results in score order, then member order.
import { ReplyError, SYNTAX, cardinalityArgs, dataCommand, keysAfterCount, word, type DataContext } from './command-spec.js';
import { WRONGTYPE } from './data.js';
import { entriesReply, parseScore, putScore, rangeOptions, select, type Entry } from './commands-zsets.js';
import { KeyType } from './layout.js';
import { integer, type Reply } from './resp-writer.js';

type How = 'union' | 'inter' | 'diff';

/** A source's members and scores (a set's score 1); none when it is missing. */
function sourceOf(cmd: DataContext, key: Buffer): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const found = cmd.data.find(key);
  if (found === undefined) return out;
  const { meta } = found;
  if (meta.type !== KeyType.ZSet && meta.type !== KeyType.Set) throw WRONGTYPE();
  for (const [member, value] of cmd.data.members(key, meta)) {
    out.set(member.toString('latin1'), { member, score: meta.type === KeyType.ZSet ? value.readDoubleBE(0) : 1 });
  }
  return out;
}

interface Combine {
  keys: Buffer[];
  weights: number[];
  aggregate: 'sum' | 'min' | 'max';
  withScores: boolean;
}

/** numkeys at `at`, the keys, then WEIGHTS, AGGREGATE (not for a diff) and, where `withScores` may be asked, WITHSCORES. */
function parse(name: string, args: Buffer[], at: number, how: How, scoresAllowed: boolean): Combine {
  const text = args[at]!.toString('latin1');
  if (!/^-?\d{1,16}$/.test(text)) throw new ReplyError('ERR value is not an integer or out of range');
  const n = Number(text);
  if (n <= 0) throw new ReplyError(`ERR at least 1 input key is needed for '${name}' command`);
  if (at + 1 + n > args.length) throw SYNTAX();
  const c: Combine = { keys: args.slice(at + 1, at + 1 + n), weights: new Array<number>(n).fill(1), aggregate: 'sum', withScores: false };
  for (let i = at + 1 + n; i < args.length; i++) {
    const opt = word(args[i]);
    if (opt === 'weights' && how !== 'diff' && i + n < args.length) {
      for (let j = 0; j < n; j++) {
        const w = parseScore(args[++i]!);
        if (w === undefined) throw new ReplyError('ERR weight value is not a float');
        c.weights[j] = w;
      }
    } else if (opt === 'aggregate' && how !== 'diff' && i + 1 < args.length) {
      const a = word(args[++i]);
      if (a !== 'sum' && a !== 'min' && a !== 'max') throw SYNTAX();
      c.aggregate = a;
    } else if (opt === 'withscores' && scoresAllowed) c.withScores = true;
    else throw SYNTAX();
  }
  return c;
}

const weighted = (score: number, weight: number) => {
  const v = score * weight;
  return Number.isNaN(v) ? 0 : v;
};

function join(a: number, b: number, how: Combine['aggregate']): number {
  if (how === 'min') return Math.min(a, b);
  if (how === 'max') return Math.max(a, b);
  const sum = a + b;
  return Number.isNaN(sum) ? 0 : sum;
}

/** The members of the combination, in score then member order. */
function combine(cmd: DataContext, c: Combine, how: How): Entry[] {
  // Every source is read (and type-checked) first, as Redis looks them all up before it combines.
  const sources = c.keys.map((k) => sourceOf(cmd, k));
  let result = new Map<string, Entry>();
  sources[0]!.forEach((e, id) => result.set(id, { member: e.member, score: weighted(e.score, c.weights[0]!) }));
  for (let i = 1; i < sources.length; i++) {
    const source = sources[i]!;
    if (how === 'diff') {
      for (const id of source.keys()) result.delete(id);
    } else if (how === 'inter') {
      const kept = new Map<string, Entry>();
      result.forEach((e, id) => {
        const other = source.get(id);
        if (other !== undefined) kept.set(id, { member: e.member, score: join(e.score, weighted(other.score, c.weights[i]!), c.aggregate) });
      });
      result = kept;
    } else {
      source.forEach((e, id) => {
        const v = weighted(e.score, c.weights[i]!);
        const had = result.get(id);
        result.set(id, { member: e.member, score: had === undefined ? v : join(had.score, v, c.aggregate) });
      });
    }
  }
  return [...result.values()].sort((a, b) => a.score - b.score || Buffer.compare(a.member, b.member));
}

/** Writes `entries` as the sorted set at `dest`, replacing what it held (an empty result removes it); how many. */
export function storeEntries(cmd: DataContext, dest: Buffer, entries: Entry[]): Reply {
  cmd.data.remove(dest);
  if (entries.length > 0) {
    const { before, meta } = cmd.data.openCollection(dest, KeyType.ZSet);
    for (const e of entries) putScore(cmd, dest, meta, e.member, e.score, undefined);
    cmd.data.saveMeta(dest, before, meta);
  }
  return integer(entries.length);
}

const readMeta = { flags: ['readonly'], firstKey: 2, lastKey: -1, step: 1, group: 'sorted-set', access: 'read' as const };
const storeMeta = { flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 1, group: 'sorted-set', access: 'write' as const };

function readCommand(name: string, how: How, summary: string, since: string) {
  return dataCommand(name, { ...readMeta, arity: -3, keysOf: (args) => keysAfterCount(args, 1), summary, since }, (cmd, args) => {
    const c = parse(name, args, 1, how, true);
    return entriesReply(combine(cmd, c, how), c.withScores, cmd.proto);
  });
}

function storeCommand(name: string, how: How, summary: string, since: string) {
  return dataCommand(name, { ...storeMeta, arity: -4, keysOf: (args) => [args[1]!, ...keysAfterCount(args, 2)], summary, since }, (cmd, args) =>
    storeEntries(cmd, args[1]!, combine(cmd, parse(name, args, 2, how, false), how)),
  );
}

export const ZUNION = readCommand('zunion', 'union', 'Returns the members of any of the sorted sets (or sets), their scores joined (WEIGHTS, AGGREGATE, WITHSCORES).', '6.2.0');
export const ZINTER = readCommand('zinter', 'inter', 'Returns the members of every one of the sorted sets (or sets), their scores joined.', '6.2.0');
export const ZDIFF = readCommand('zdiff', 'diff', 'Returns the members of the first sorted set in none of the others.', '6.2.0');
/** ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]: ZRANGE's selection stored at dst; how many. */
export const ZRANGESTORE = dataCommand(
  'zrangestore',
  { flags: ['write', 'denyoom'], firstKey: 1, lastKey: 2, step: 1, group: 'sorted-set', access: 'write', arity: -5, summary: "Stores ZRANGE's members (by rank, BYSCORE or BYLEX, REV, LIMIT) with their scores at a key; returns how many.", since: '6.2.0' },
  (cmd, args) => storeEntries(cmd, args[1]!, select(cmd, args[2]!, rangeOptions(args, 5, {}, ['limit', 'byscore', 'bylex', 'rev']), args[3]!, args[4]!)),
);

export const ZUNIONSTORE = storeCommand('zunionstore', 'union', 'Stores ZUNION at a key; returns its size.', '2.0.0');
export const ZINTERSTORE = storeCommand('zinterstore', 'inter', 'Stores ZINTER at a key; returns its size.', '2.0.0');
export const ZDIFFSTORE = storeCommand('zdiffstore', 'diff', 'Stores ZDIFF at a key; returns its size.', '6.2.0');

export const ZINTERCARD = dataCommand(
  'zintercard',
  { ...readMeta, arity: -3, keysOf: (args) => keysAfterCount(args, 1), summary: 'The size of ZINTER of the keys, counted up to LIMIT (0: no limit).', since: '7.0.0' },
  (cmd, args) => {
    const { keys, limit } = cardinalityArgs(args);
    const size = combine(cmd, { keys, weights: new Array<number>(keys.length).fill(1), aggregate: 'sum', withScores: false }, 'inter').length;
    return integer(limit > 0 ? Math.min(size, limit) : size);
  },
);

export const ZSET_COMBINE_COMMANDS = [ZUNION, ZINTER, ZDIFF, ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE, ZINTERCARD, ZRANGESTORE];
