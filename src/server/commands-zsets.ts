// Sorted sets: a metadata record (size), one record per member (member ->
// score) and one per member in the score index (score, member -> ''), as
// Kvrocks keeps its zset_score column family (layout.ts). ZSCORE and ZADD
// of a member touch its records; ranges by score or by lex are range
// reads; ranks walk the index from the nearer end (O(min(rank, size -
// rank)); Kvrocks walks from one end, O(rank)).
// Scores print as Redis 7.0 prints them ("%.17g"). Replies and errors as
// in Redis 7.0.
import { ReplyError, SYNTAX, dataCommand, int64, positions, positiveCount, word, type DataContext } from './command-spec.js';
import { take } from './data.js';
import { KeyType, prefixEnd, readScoreBytes, scoreBytes, scoreValue, type Meta } from './layout.js';
import { array, bulk, bulks, double, formatDouble, integer, nil, type Reply } from './resp-writer.js';
import { randomMembersReply } from './random-members.js';
import { scanCommand } from './scan.js';

const key1 = { firstKey: 1, lastKey: 1, step: 1 };
const read = { ...key1, group: 'sorted-set', access: 'read' as const };
const write = { ...key1, group: 'sorted-set', access: 'write' as const };
const EMPTY = Buffer.alloc(0);

/** A score as strtod reads it (decimal or C's hexadecimal 0x1.8p3; inf and -inf too); undefined for anything else, NaN, or out of a double's range. */
export function parseScore(arg: Buffer): number | undefined {
  const s = arg.toString('latin1');
  if (/^[+-]?inf(inity)?$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?\d{1,7}))?$/.exec(s);
  if (hex) return hexDouble(hex[1] === '-', hex[2]!, hex[3] ?? '', Number(hex[4] ?? '0'));
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  const n = Number(s);
  if (!Number.isFinite(n) || (n === 0 && /[1-9]/.test(s.split(/[eE]/)[0]!))) return undefined;
  return n === 0 ? 0 : n;
}

/** C's hexadecimal float (digits before and after the point, a binary exponent) as a double; undefined where strtod says ERANGE (overflow, or a nonzero value that becomes 0). */
function hexDouble(negative: boolean, whole: string, fraction: string, exponent: number): number | undefined {
  if (whole === '' && fraction === '') return undefined;
  let digits = BigInt(`0x${whole}${fraction}`);
  if (digits === 0n) return 0;
  let e = exponent - 4 * fraction.length;
  // Past 1,000 bits, what is cut cannot move a 53-bit rounding but at an exact tie.
  const extra = digits.toString(2).length - 1000;
  if (extra > 0) [digits, e] = [digits >> BigInt(extra), e + extra];
  // Scaled in two steps, so that neither overflows or underflows on the way.
  const half = Math.trunc(e / 2);
  const n = Number(digits) * 2 ** half * 2 ** (e - half);
  if (n === 0 || !Number.isFinite(n)) return undefined;
  return negative ? -n : n;
}

export function score(arg: Buffer): number {
  const n = parseScore(arg);
  if (n === undefined) throw new ReplyError('ERR value is not a valid float');
  return n;
}

export interface Entry {
  member: Buffer;
  score: number;
}

// ---- records -------------------------------------------------------------------------

/** The sorted set at `key` (undefined: none; WRONGTYPE for another type). */
export function zsetOf(cmd: DataContext, key: Buffer): Meta | undefined {
  return cmd.data.collection(key, KeyType.ZSet);
}

/** `member`'s score in the sorted set `key` (its metadata `meta`), undefined when it is not a member. */
export function scoreOfMember(cmd: DataContext, key: Buffer, meta: Meta, member: Buffer): number | undefined {
  return scoreOf(cmd, key, meta, member);
}

function scoreOf(cmd: DataContext, key: Buffer, meta: Meta, member: Buffer): number | undefined {
  const v = cmd.data.memberValue(key, meta, member);
  return v === undefined ? undefined : v.readDoubleBE(0);
}

/** Sets `member`'s score (`old`: its score now, undefined when new); counts a new member in `meta`. */
export function putScore(cmd: DataContext, key: Buffer, meta: Meta, member: Buffer, newScore: number, old: number | undefined): void {
  // A member has one score index record, with its score (layout.ts): the old one is there.
  if (old !== undefined) cmd.data.removeMember(cmd.data.memberRecord(key, meta, Buffer.concat([scoreBytes(old), member]), 'score'), true);
  else meta.size++;
  cmd.data.putMember(cmd.data.memberRecord(key, meta, member), scoreValue(newScore), old === undefined);
  // A member has one score index record, its old one was just removed: the new one is new.
  cmd.data.putMember(cmd.data.memberRecord(key, meta, Buffer.concat([scoreBytes(newScore), member]), 'score'), EMPTY, true);
}

/** Removes `e`, a member the caller has just read (with its score): both its records are there. */
function removeEntry(cmd: DataContext, key: Buffer, meta: Meta, e: Entry): void {
  cmd.data.removeMember(cmd.data.memberRecord(key, meta, e.member), true);
  cmd.data.removeMember(cmd.data.memberRecord(key, meta, Buffer.concat([scoreBytes(e.score), e.member]), 'score'), true);
  meta.size--;
}

/** Members in score order (then member order), or reversed, from score bounds `from`/`to` (as index record names). */
function* byScore(cmd: DataContext, key: Buffer, meta: Meta, reverse = false, from?: Buffer, to?: Buffer): Generator<Entry> {
  for (const [name] of cmd.data.members(key, meta, { space: 'score', reverse, from, to })) yield { member: name.subarray(8), score: readScoreBytes(name) };
}

// ---- ranges ----------------------------------------------------------------------------

export interface ScoreRange {
  min: number;
  minOpen: boolean;
  max: number;
  maxOpen: boolean;
}

function scoreBound(arg: Buffer): { value: number; open: boolean } {
  const s = arg.toString('latin1');
  const open = s.startsWith('(');
  const value = parseScore(Buffer.from(open ? s.slice(1) : s, 'latin1'));
  if (value === undefined) throw new ReplyError('ERR min or max is not a float');
  return { value, open };
}

function scoreRange(minArg: Buffer, maxArg: Buffer): ScoreRange {
  const min = scoreBound(minArg);
  const max = scoreBound(maxArg);
  return { min: min.value, minOpen: min.open, max: max.value, maxOpen: max.open };
}

const aboveMin = (r: ScoreRange, s: number) => (r.minOpen ? s > r.min : s >= r.min);
const belowMax = (r: ScoreRange, s: number) => (r.maxOpen ? s < r.max : s <= r.max);

/** The members with scores in `r`, in score order or reversed. */
export function* inScoreRange(cmd: DataContext, key: Buffer, meta: Meta, r: ScoreRange, reverse: boolean): Generator<Entry> {
  const entries = reverse ? byScore(cmd, key, meta, true, undefined, prefixEnd(scoreBytes(r.max))) : byScore(cmd, key, meta, false, scoreBytes(r.min));
  for (const e of entries) {
    if (!reverse && !aboveMin(r, e.score)) continue;
    if (reverse && !belowMax(r, e.score)) continue;
    if (reverse ? !aboveMin(r, e.score) : !belowMax(r, e.score)) return;
    yield e;
  }
}

interface LexBound {
  value: Buffer | undefined;
  open: boolean;
  /** '-' or '+' */
  infinite: '-' | '+' | undefined;
}

function lexBound(arg: Buffer): LexBound {
  if (arg.length === 1 && (arg[0] === 0x2d || arg[0] === 0x2b)) return { value: undefined, open: false, infinite: arg[0] === 0x2d ? '-' : '+' };
  if (arg.length === 0 || (arg[0] !== 0x5b && arg[0] !== 0x28)) throw new ReplyError('ERR min or max not valid string range item');
  return { value: arg.subarray(1), open: arg[0] === 0x28, infinite: undefined };
}

function lexAbove(b: LexBound, m: Buffer): boolean {
  if (b.infinite !== undefined) return b.infinite === '-';
  const c = Buffer.compare(m, b.value!);
  return b.open ? c > 0 : c >= 0;
}

function lexBelow(b: LexBound, m: Buffer): boolean {
  if (b.infinite !== undefined) return b.infinite === '+';
  const c = Buffer.compare(m, b.value!);
  return b.open ? c < 0 : c <= 0;
}

/** The members in a lex range, read in member order (Redis assumes they all have one score). */
function* inLexRange(cmd: DataContext, key: Buffer, meta: Meta, min: LexBound, max: LexBound, reverse: boolean): Generator<Entry> {
  for (const [member, v] of cmd.data.members(key, meta, { reverse })) {
    const inside = lexAbove(min, member) && lexBelow(max, member);
    if (!inside) {
      if (reverse ? !lexAbove(min, member) : !lexBelow(max, member)) return;
      continue;
    }
    yield { member, score: v.readDoubleBE(0) };
  }
}

function* slice<T>(items: Iterable<T>, offset: number, limit: number): Generator<T> {
  if (offset < 0 || limit === 0) return;
  let i = 0;
  for (const item of items) {
    if (i++ < offset) continue;
    yield item;
    if (limit > 0 && i - offset === limit) return;
  }
}

/** Entries as ZRANGE answers them: members, or with their scores (RESP3: pairs). */
export function entriesReply(entries: Entry[], withScores: boolean, proto: 2 | 3): Reply {
  if (!withScores) return bulks(entries.map((e) => e.member));
  if (proto === 3) return array(entries.map((e) => array([bulk(e.member), double(e.score, 3)])));
  return array(entries.flatMap((e) => [bulk(e.member), double(e.score, 2)]));
}

export interface RangeQuery {
  by: 'rank' | 'score' | 'lex';
  rev: boolean;
  withScores: boolean;
  offset: number;
  limit: number;
  hasLimit: boolean;
}

/** ZRANGE's options from `args[from..]` (the BYSCORE/BYLEX/REV given by ZRANGEBYSCORE and friends come in `base`). */
export function rangeOptions(args: Buffer[], from: number, base: Partial<RangeQuery>, allowed: string[]): RangeQuery {
  const q: RangeQuery = { by: 'rank', rev: false, withScores: false, offset: 0, limit: -1, hasLimit: false, ...base };
  for (let i = from; i < args.length; i++) {
    const opt = word(args[i]);
    if (!allowed.includes(opt)) throw SYNTAX();
    if (opt === 'withscores') q.withScores = true;
    else if (opt === 'limit' && i + 2 < args.length) {
      q.offset = Number(int64(args[++i]!));
      q.limit = Number(int64(args[++i]!));
      q.hasLimit = true;
    } else if (opt === 'byscore' && q.by === 'rank') q.by = 'score';
    else if (opt === 'bylex' && q.by === 'rank') q.by = 'lex';
    else if (opt === 'rev') q.rev = true;
    else throw SYNTAX();
  }
  if (q.hasLimit && q.by === 'rank') throw new ReplyError('ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX');
  if (q.withScores && q.by === 'lex') throw new ReplyError('ERR syntax error, WITHSCORES not supported in combination with BYLEX');
  return q;
}

/** The entries a range query selects; `lo` and `hi` as given (for REV by score or lex: max first). */
export function select(cmd: DataContext, key: Buffer, q: RangeQuery, lo: Buffer, hi: Buffer): Entry[] {
  if (q.by === 'score') {
    const r = q.rev ? scoreRange(hi, lo) : scoreRange(lo, hi);
    const meta = cmd.data.collection(key, KeyType.ZSet);
    return meta === undefined ? [] : [...slice(inScoreRange(cmd, key, meta, r, q.rev), q.offset, q.limit)];
  }
  if (q.by === 'lex') {
    const [min, max] = q.rev ? [lexBound(hi), lexBound(lo)] : [lexBound(lo), lexBound(hi)];
    const meta = cmd.data.collection(key, KeyType.ZSet);
    return meta === undefined ? [] : [...slice(inLexRange(cmd, key, meta, min, max, q.rev), q.offset, q.limit)];
  }
  const meta = cmd.data.collection(key, KeyType.ZSet);
  const [from, to] = positions(lo, hi, meta?.size ?? 0);
  if (meta === undefined || from >= to) return [];
  // Walked from the nearer end of the index: the ones past `to` are fewer than the ones before `from`.
  if (meta.size - to < from) return [...slice(byScore(cmd, key, meta, !q.rev), meta.size - to, to - from)].reverse();
  return [...slice(byScore(cmd, key, meta, q.rev), from, to - from)];
}

const rangeCommand = (name: string, arity: number, base: Partial<RangeQuery>, allowed: string[], summary: string, since: string) =>
  dataCommand(name, { arity, flags: ['readonly'], ...read, summary, since }, (cmd, args) => {
    const q = rangeOptions(args, 4, base, allowed);
    return entriesReply(select(cmd, args[1]!, q, args[2]!, args[3]!), q.withScores, cmd.proto);
  });

export const ZRANGE = rangeCommand('zrange', -4, {}, ['withscores', 'limit', 'byscore', 'bylex', 'rev'], 'Returns members by rank, score (BYSCORE) or lex (BYLEX), optionally reversed (REV) and limited.', '1.2.0');
export const ZREVRANGE = rangeCommand('zrevrange', -4, { rev: true }, ['withscores'], 'Returns members by rank, highest score first.', '1.2.0');
export const ZRANGEBYSCORE = rangeCommand('zrangebyscore', -4, { by: 'score' }, ['withscores', 'limit'], 'Returns members with scores in a range.', '1.0.5');
export const ZREVRANGEBYSCORE = rangeCommand('zrevrangebyscore', -4, { by: 'score', rev: true }, ['withscores', 'limit'], 'Returns members with scores in a range, highest first.', '2.2.0');
export const ZRANGEBYLEX = rangeCommand('zrangebylex', -4, { by: 'lex' }, ['limit'], 'Returns members in a lex range ([a, (a, - and +; for members of one score).', '2.8.9');
export const ZREVRANGEBYLEX = rangeCommand('zrevrangebylex', -4, { by: 'lex', rev: true }, ['limit'], 'Returns members in a lex range, last first (max, then min).', '2.8.9');

export const ZLEXCOUNT = dataCommand('zlexcount', { arity: 4, flags: ['readonly', 'fast'], ...read, summary: 'Returns the number of members in a lex range.', since: '2.8.9' }, (cmd, [, key, min, max]) => {
  const [lo, hi] = [lexBound(min!), lexBound(max!)];
  const meta = cmd.data.collection(key!, KeyType.ZSet);
  let n = 0;
  if (meta !== undefined) for (const _ of inLexRange(cmd, key!, meta, lo, hi, false)) n++;
  return integer(n);
});

// ---- writes ----------------------------------------------------------------------------

export const ZADD = dataCommand('zadd', { arity: -4, flags: ['write', 'denyoom', 'fast'], ...write, summary: 'Adds members with scores, or updates their scores (NX XX GT LT CH INCR).', since: '1.2.0' }, (cmd, args) => {
  const o = { nx: false, xx: false, gt: false, lt: false, ch: false, incr: false };
  let i = 2;
  for (; i < args.length; i++) {
    const opt = word(args[i]) as keyof typeof o;
    if (!(opt in o)) break;
    o[opt] = true;
  }
  const rest = args.length - i;
  if (rest === 0 || rest % 2 !== 0) throw SYNTAX();
  if (o.nx && o.xx) throw new ReplyError('ERR XX and NX options at the same time are not compatible');
  if ((o.gt && o.nx) || (o.lt && o.nx) || (o.gt && o.lt)) throw new ReplyError('ERR GT, LT, and/or NX options at the same time are not compatible');
  if (o.incr && rest > 2) throw new ReplyError('ERR INCR option supports a single increment-element pair');
  const pairs: Entry[] = [];
  for (let j = i; j < args.length; j += 2) pairs.push({ score: score(args[j]!), member: args[j + 1]! });
  const key = args[1]!;
  const existing = cmd.data.collection(key, KeyType.ZSet, false);
  if (existing === undefined && o.xx) return o.incr ? nil(cmd.proto) : integer(0);
  const { before, meta } = cmd.data.openCollection(key, KeyType.ZSet);
  for (const p of pairs) cmd.data.memberRecord(key, meta, Buffer.concat([scoreBytes(0), p.member]), 'score'); // every record fits, or nothing is written
  let added = 0;
  let changed = 0;
  let last: number | undefined;
  for (const p of pairs) {
    const old = scoreOf(cmd, key, meta, p.member);
    let next = p.score;
    if (old !== undefined) {
      if (o.nx) continue;
      if (o.incr) {
        next = old + p.score;
        if (Number.isNaN(next)) throw new ReplyError('ERR resulting score is not a number (NaN)');
      }
      if ((o.gt && next <= old) || (o.lt && next >= old)) continue;
      last = next;
      if (next !== old) {
        putScore(cmd, key, meta, p.member, next, old);
        changed++;
      }
    } else {
      if (o.xx) continue;
      putScore(cmd, key, meta, p.member, next, undefined);
      added++;
      last = next;
    }
  }
  if (added + changed > 0) cmd.data.saveMeta(key, before, meta);
  if (o.incr) return last === undefined ? nil(cmd.proto) : double(last, cmd.proto);
  return integer(o.ch ? added + changed : added);
});

export const ZINCRBY = dataCommand('zincrby', { arity: 4, flags: ['write', 'denyoom', 'fast'], ...write, summary: "Adds to a member's score (0 when missing); returns the new score.", since: '1.2.0' }, (cmd, [, key, by, member]) => {
  const increment = score(by!);
  const { before, meta } = cmd.data.openCollection(key!, KeyType.ZSet);
  const old = scoreOf(cmd, key!, meta, member!);
  const next = (old ?? 0) + increment;
  if (Number.isNaN(next)) throw new ReplyError('ERR resulting score is not a number (NaN)');
  if (next !== old) putScore(cmd, key!, meta, member!, next, old);
  cmd.data.saveMeta(key!, before, meta);
  return double(next, cmd.proto);
});

export const ZREM = dataCommand('zrem', { arity: -3, flags: ['write', 'fast'], ...write, summary: 'Removes members; returns how many were there.', since: '1.2.0' }, (cmd, args) => {
  const key = args[1]!;
  const before = cmd.data.collection(key, KeyType.ZSet, false);
  if (before === undefined) return integer(0);
  const meta = { ...before };
  for (const member of args.slice(2)) {
    const s = scoreOf(cmd, key, meta, member);
    if (s !== undefined) removeEntry(cmd, key, meta, { member, score: s });
  }
  if (meta.size !== before.size) cmd.data.saveMeta(key, before, meta);
  return integer(before.size - meta.size);
});

/** Removes `entries` (chosen by the caller) from the sorted set; how many. */
function removeAll(cmd: DataContext, key: Buffer, before: Meta, entries: Entry[]): number {
  const meta = { ...before };
  for (const e of entries) removeEntry(cmd, key, meta, e);
  if (entries.length > 0) cmd.data.saveMeta(key, before, meta);
  return entries.length;
}

export const ZREMRANGEBYRANK = dataCommand('zremrangebyrank', { arity: 4, flags: ['write'], ...write, summary: 'Removes the members with ranks from start to stop.', since: '2.0.0' }, (cmd, [, key, start, stop]) => {
  const before = cmd.data.collection(key!, KeyType.ZSet, false);
  const [from, to] = positions(start!, stop!, before?.size ?? 0);
  if (before === undefined) return integer(0);
  return integer(removeAll(cmd, key!, before, [...slice(byScore(cmd, key!, before), from, to - from)]));
});

export const ZREMRANGEBYLEX = dataCommand('zremrangebylex', { arity: 4, flags: ['write'], ...write, summary: 'Removes the members in a lex range.', since: '2.8.9' }, (cmd, [, key, min, max]) => {
  const [lo, hi] = [lexBound(min!), lexBound(max!)];
  const before = cmd.data.collection(key!, KeyType.ZSet, false);
  if (before === undefined) return integer(0);
  return integer(removeAll(cmd, key!, before, [...inLexRange(cmd, key!, before, lo, hi, false)]));
});

export const ZREMRANGEBYSCORE = dataCommand('zremrangebyscore', { arity: 4, flags: ['write'], ...write, summary: 'Removes the members with scores in a range.', since: '1.2.0' }, (cmd, [, key, min, max]) => {
  const r = scoreRange(min!, max!);
  const before = cmd.data.collection(key!, KeyType.ZSet, false);
  if (before === undefined) return integer(0);
  return integer(removeAll(cmd, key!, before, [...inScoreRange(cmd, key!, before, r, false)]));
});

/** Pops up to `wanted` members of the sorted set at `key` with the lowest (or, with `max`, highest) scores, in that order; none when it is missing. */
export function popScored(cmd: DataContext, key: Buffer, max: boolean, wanted: number): { member: Buffer; score: number }[] {
  const before = cmd.data.collection(key, KeyType.ZSet, false);
  if (before === undefined) return [];
  const popped = [...take(byScore(cmd, key, before, max), wanted)];
  removeAll(cmd, key, before, popped);
  return popped;
}

/** ZPOPMIN and ZPOPMAX [count]. */
function popCommand(name: string, max: boolean, summary: string) {
  return dataCommand(name, { arity: -2, flags: ['write', 'fast'], ...write, summary, since: '5.0.0' }, (cmd, args) => {
    if (args.length > 3) throw SYNTAX();
    const wanted = args.length === 3 ? positiveCount(args[2]!) : 1;
    const popped = popScored(cmd, args[1]!, max, wanted);
    if (cmd.proto === 3 && args.length === 3) return array(popped.map((e) => array([bulk(e.member), double(e.score, 3)])));
    return array(popped.flatMap((e) => [bulk(e.member), double(e.score, cmd.proto)]));
  });
}

export const ZPOPMIN = popCommand('zpopmin', false, 'Removes and returns the members with the lowest scores.');
export const ZPOPMAX = popCommand('zpopmax', true, 'Removes and returns the members with the highest scores.');

// ---- reads -----------------------------------------------------------------------------

export const ZSCORE = dataCommand('zscore', { arity: 3, flags: ['readonly', 'fast'], ...read, summary: "Returns a member's score.", since: '1.2.0' }, (cmd, [, key, member]) => {
  const meta = cmd.data.collection(key!, KeyType.ZSet);
  const s = meta && scoreOf(cmd, key!, meta, member!);
  return s === undefined ? nil(cmd.proto) : double(s, cmd.proto);
});

export const ZMSCORE = dataCommand('zmscore', { arity: -3, flags: ['readonly', 'fast'], ...read, summary: "Returns members' scores.", since: '6.2.0' }, (cmd, args) => {
  const meta = cmd.data.collection(args[1]!, KeyType.ZSet);
  return array(
    args.slice(2).map((m) => {
      const s = meta && scoreOf(cmd, args[1]!, meta, m);
      return s === undefined ? nil(cmd.proto) : double(s, cmd.proto);
    }),
  );
});

export const ZCARD = dataCommand('zcard', { arity: 2, flags: ['readonly', 'fast'], ...read, summary: 'Returns the number of members.', since: '1.2.0' }, ({ data }, [, key]) =>
  integer(data.collection(key!, KeyType.ZSet)?.size ?? 0),
);

export const ZCOUNT = dataCommand('zcount', { arity: 4, flags: ['readonly', 'fast'], ...read, summary: 'Returns the number of members with scores in a range.', since: '2.0.0' }, (cmd, [, key, min, max]) => {
  const r = scoreRange(min!, max!);
  const meta = cmd.data.collection(key!, KeyType.ZSet);
  let n = 0;
  if (meta !== undefined) for (const _ of inScoreRange(cmd, key!, meta, r, false)) n++;
  return integer(n);
});

function rankCommand(name: string, reverse: boolean, summary: string) {
  return dataCommand(name, { arity: 3, flags: ['readonly', 'fast'], ...read, summary, since: '2.0.0' }, (cmd, [, key, member]) => {
    const meta = cmd.data.collection(key!, KeyType.ZSet);
    const score = meta && scoreOf(cmd, key!, meta, member!);
    if (score === undefined) return nil(cmd.proto);
    const rank = rankOf(cmd, key!, meta!, Buffer.concat([scoreBytes(score), member!]));
    return integer(reverse ? meta!.size - 1 - rank : rank);
  });
}

/**
 * How many members come before the one whose score index record is `name`
 * (score, member): counted from whichever end of the index is nearer, by
 * stepping from the member toward both ends in turn until one is reached,
 * O(min(rank, size - rank)). No count of a subtree is kept (the store's
 * pages count only their own entries), so no walk can skip members.
 */
function rankOf(cmd: DataContext, key: Buffer, meta: Meta, name: Buffer): number {
  const below = cmd.data.members(key, meta, { space: 'score', to: name, reverse: true });
  const from = cmd.data.members(key, meta, { space: 'score', from: name });
  let before = 0;
  let atOrAfter = 0;
  try {
    for (;;) {
      if (below.next().done) return before;
      before++;
      if (from.next().done) return meta.size - atOrAfter;
      atOrAfter++;
    }
  } finally {
    // Each holds a snapshot until closed.
    below.return(undefined);
    from.return(undefined);
  }
}

export const ZRANK = rankCommand('zrank', false, "Returns a member's rank, lowest score first (counted from the nearer end: O(min(rank, size - rank))).");
export const ZREVRANK = rankCommand('zrevrank', true, "Returns a member's rank, highest score first.");

export const ZSCAN = scanCommand('zscan', KeyType.ZSet, 'sorted-set', 'Iterates over the members (in member order) and their scores.', ([m, v]) => [m, formatDouble(v.readDoubleBE(0))]);

export const ZRANDMEMBER = dataCommand(
  'zrandmember',
  { arity: -2, flags: ['readonly', 'random'], ...read, summary: 'Returns members from random places of a sorted set (a negative count may repeat them), WITHSCORES their scores too.', since: '6.2.0' },
  (cmd, args) => randomMembersReply(cmd, args, KeyType.ZSet, 'withscores', (meta, member) => double(scoreOf(cmd, args[1]!, meta, member)!, cmd.proto)),
);

export const ZSET_COMMANDS = [
  ZADD,
  ZREM,
  ZSCORE,
  ZMSCORE,
  ZINCRBY,
  ZCARD,
  ZCOUNT,
  ZRANK,
  ZREVRANK,
  ZRANGE,
  ZRANGEBYSCORE,
  ZREVRANGE,
  ZREVRANGEBYSCORE,
  ZRANGEBYLEX,
  ZREVRANGEBYLEX,
  ZLEXCOUNT,
  ZPOPMIN,
  ZPOPMAX,
  ZREMRANGEBYRANK,
  ZREMRANGEBYSCORE,
  ZREMRANGEBYLEX,
  ZRANDMEMBER,
  ZSCAN,
];
