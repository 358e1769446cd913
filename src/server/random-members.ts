// Members from random places of a collection (SPOP, SRANDMEMBER,
// HRANDFIELD, ZRANDMEMBER): records are in member order in the tree, with
// no index by position, so a pick is the first member at or after a random
// point between the first and the last; members after large gaps come up
// more often than others (docs/SERVER.md, "Differences from Redis").
import { randomBytes } from 'node:crypto';
import { ReplyError, int64, word, type DataContext } from './command-spec.js';
import { take } from './data.js';
import type { KeyType, Meta } from './layout.js';
import { array, bulk, bulkOrNil, bulks, nil, type Reply } from './resp-writer.js';

/** A member from a random place in member order: the first at or after a random point between the first and the last member. */
export function randomMember(cmd: DataContext, key: Buffer, meta: Meta): Buffer {
  const [[first]] = [...take(cmd.data.members(key, meta), 1)] as [[Buffer, Buffer]];
  const [[last]] = [...take(cmd.data.members(key, meta, { reverse: true }), 1)] as [[Buffer, Buffer]];
  let common = 0;
  while (common < first.length && common < last.length && first[common] === last[common]) common++;
  const lo = first[common] ?? 0;
  const hi = Math.max(lo, last[common] ?? 0);
  const point = Buffer.concat([first.subarray(0, common), Buffer.from([lo + Math.floor(Math.random() * (hi - lo + 1))]), randomBytes(4)]);
  for (const [m] of take(cmd.data.members(key, meta, { from: point }), 1)) return m;
  return first;
}

/** `n` distinct members from random places (all of them when the set has no more). */
export function distinctMembers(cmd: DataContext, key: Buffer, meta: Meta, n: number): Buffer[] {
  if (n >= meta.size) return [...cmd.data.members(key, meta)].map(([m]) => m);
  const picked = new Map<string, Buffer>();
  // Random picks until enough distinct ones (few tries when n is small against the size), then the rest in order from a random member.
  for (let tries = 0; picked.size < n && tries < 3 * n; tries++) {
    const m = randomMember(cmd, key, meta);
    picked.set(m.toString('latin1'), m);
  }
  if (picked.size < n) {
    const from = randomMember(cmd, key, meta);
    for (const [m] of chain(cmd.data.members(key, meta, { from }), cmd.data.members(key, meta))) {
      if (picked.size === n) break;
      picked.set(m.toString('latin1'), m);
    }
  }
  return [...picked.values()];
}

function* chain<T>(...parts: Iterable<T>[]): Generator<T> {
  for (const part of parts) yield* part;
}

/**
 * HRANDFIELD's and ZRANDMEMBER's reply: `key [count [WITH...]]`, a member
 * (nil when the key is missing), or `count` distinct ones (a negative count:
 * that many, repeats allowed), each with its value (`valueOf`) when asked:
 * RESP2 one flat array, RESP3 pairs.
 */
export function randomMembersReply(cmd: DataContext, args: Buffer[], type: KeyType, withWord: string, valueOf: (meta: Meta, member: Buffer) => Reply): Reply {
  if (args.length > 4 || (args.length === 4 && word(args[3]) !== withWord)) throw new ReplyError('ERR syntax error');
  const key = args[1]!;
  const n = args.length >= 3 ? Number(int64(args[2]!)) : undefined;
  const meta = cmd.data.collection(key, type);
  if (n === undefined) return meta === undefined ? nil(cmd.proto) : bulkOrNil(randomMember(cmd, key, meta), cmd.proto);
  if (meta === undefined || n === 0) return array([]);
  const picked = n > 0 ? distinctMembers(cmd, key, meta, n) : Array.from({ length: -n }, () => randomMember(cmd, key, meta));
  if (args.length === 3) return bulks(picked);
  if (cmd.proto === 3) return array(picked.map((m) => array([bulk(m), valueOf(meta, m)])));
  return array(picked.flatMap((m) => [bulk(m), valueOf(meta, m)]));
}
