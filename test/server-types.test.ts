// Hashes, lists, sets and sorted sets on `xrpkv serve` through ioredis and
// node-redis (RESP3, their defaults): every type's commands, pipelines and
// transactions over them, deadlines on them, and what the layout promises:
// a member's write touches its own records, and a large collection deleted
// leaves its members to the sweep, which removes them all.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it, vi } from 'vitest';
import { PendingWrites } from '../src/server/pending-writes.js';
import type { RunningServer } from '../src/server/server.js';
import { useTestServer } from './server-fixtures.js';

let server: RunningServer;
let r: Redis;
const clients: Redis[] = [];
useTestServer(
  'types.xrpkv',
  (s) => {
    server = s;
    clients.push((r = new Redis({ port: s.port, host: '127.0.0.1' })));
  },
  clients,
);

describe('hashes', () => {
  it('HSET, HGET, HMGET, HDEL, HGETALL, HKEYS, HVALS, HLEN, HEXISTS, HINCRBY, HINCRBYFLOAT, HSETNX, HSTRLEN, HSCAN', async () => {
    expect(await r.hset('h', 'a', '1', 'b', '2')).toBe(2);
    expect(await r.hset('h', 'a', '10', 'c', '3')).toBe(1);
    expect(await r.hget('h', 'a')).toBe('10');
    expect(await r.hget('h', 'zz')).toBeNull();
    expect(await r.hmget('h', 'a', 'zz', 'c')).toEqual(['10', null, '3']);
    expect(await r.hgetall('h')).toEqual({ a: '10', b: '2', c: '3' });
    expect(await r.hkeys('h')).toEqual(['a', 'b', 'c']);
    expect(await r.hvals('h')).toEqual(['10', '2', '3']);
    expect(await r.hlen('h')).toBe(3);
    expect(await r.hexists('h', 'b')).toBe(1);
    expect(await r.hincrby('h', 'a', 5)).toBe(15);
    expect(await r.hincrbyfloat('h', 'f', '1.5')).toBe('1.5');
    expect(await r.hsetnx('h', 'a', 'x')).toBe(0);
    expect(await r.hsetnx('h', 'n', 'x')).toBe(1);
    expect(await r.hstrlen('h', 'a')).toBe(2);
    expect(await r.hdel('h', 'a', 'zz')).toBe(1);
    await expect(r.hincrby('h', 'n', 1)).rejects.toThrow('ERR hash value is not an integer');
    const seen: string[] = [];
    let cursor = '0';
    do {
      const [next, flat] = await r.hscan('h', cursor, 'COUNT', 1);
      for (let i = 0; i < flat.length; i += 2) seen.push(flat[i]!);
      cursor = next;
    } while (cursor !== '0');
    expect(seen).toEqual(['b', 'c', 'f', 'n']);
    expect(await r.del('h')).toBe(1);
    expect(await r.hgetall('h')).toEqual({});
  });
});

describe('lists', () => {
  it('LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LRANGE, LLEN, LINDEX, LSET, LREM, LTRIM, LINSERT', async () => {
    expect(await r.rpush('l', 'a', 'b', 'c')).toBe(3);
    expect(await r.lpush('l', 'z')).toBe(4);
    expect(await r.lpushx('nolist', 'x')).toBe(0);
    expect(await r.rpushx('l', 'd')).toBe(5);
    expect(await r.lrange('l', 0, -1)).toEqual(['z', 'a', 'b', 'c', 'd']);
    expect(await r.lrange('l', -2, 100)).toEqual(['c', 'd']);
    expect(await r.lindex('l', -1)).toBe('d');
    expect(await r.lindex('l', 9)).toBeNull();
    expect(await r.lset('l', 1, 'A')).toBe('OK');
    await expect(r.lset('l', 9, 'x')).rejects.toThrow('ERR index out of range');
    expect(await r.linsert('l', 'BEFORE', 'b', 'x')).toBe(6);
    expect(await r.linsert('l', 'AFTER', 'd', 'y')).toBe(7);
    expect(await r.linsert('l', 'AFTER', 'nope', 'y')).toBe(-1);
    expect(await r.lrange('l', 0, -1)).toEqual(['z', 'A', 'x', 'b', 'c', 'd', 'y']);
    await r.rpush('l', 'x', 'x');
    expect(await r.lrem('l', -1, 'x')).toBe(1);
    expect(await r.lrem('l', 0, 'x')).toBe(2);
    expect(await r.lrange('l', 0, -1)).toEqual(['z', 'A', 'b', 'c', 'd', 'y']);
    expect(await r.ltrim('l', 1, -2)).toBe('OK');
    expect(await r.lrange('l', 0, -1)).toEqual(['A', 'b', 'c', 'd']);
    expect(await r.lpop('l')).toBe('A');
    expect(await r.rpop('l', 2)).toEqual(['d', 'c']);
    expect(await r.llen('l')).toBe(1);
    expect(await r.lpop('l', 5)).toEqual(['b']);
    expect(await r.exists('l')).toBe(0);
    expect(await r.lpop('l')).toBeNull();
  });
});

describe('a long list', () => {
  it('LREM and LINSERT write only the elements on the shorter side of the change', async () => {
    const model = Array.from({ length: 300 }, (_, i) => `e${i}`);
    await r.rpush('long', ...model);
    // Every record a transaction writes passes through the pending writes once.
    const writes = vi.spyOn(PendingWrites.prototype, 'set');
    // Each change, what it does to the model, and the most records it may write: the elements moved, the one freed, the metadata and the counters.
    const changes: [string[], () => void, number][] = [
      [['LREM', 'long', '1', 'e2'], () => model.splice(2, 1), 2 + 3],
      [['LREM', 'long', '-1', 'e296'], () => model.splice(model.indexOf('e296'), 1), 3 + 3],
      [['LINSERT', 'long', 'BEFORE', 'e1', 'x'], () => model.splice(model.indexOf('e1'), 0, 'x'), 1 + 3],
      [['LINSERT', 'long', 'AFTER', 'e297', 'y'], () => model.splice(model.indexOf('e297') + 1, 0, 'y'), 2 + 3],
      // From the tail: the last element, then (the only one left) the second.
      [['RPUSH', 'long', 'x'], () => model.push('x'), 3],
      [['LREM', 'long', '-1', 'x'], () => model.splice(model.lastIndexOf('x'), 1), 0 + 3],
      [['LREM', 'long', '-1', 'x'], () => model.splice(model.lastIndexOf('x'), 1), 1 + 3],
      [['LREM', 'long', '0', 'e150'], () => model.splice(model.indexOf('e150'), 1), 150 + 3],
    ];
    try {
      for (const [command, apply, most] of changes) {
        writes.mockClear();
        await r.call(command[0]!, ...command.slice(1));
        apply();
        expect(writes.mock.calls.length, command.join(' ')).toBeLessThanOrEqual(most);
        expect(await r.lrange('long', 0, -1), command.join(' ')).toEqual(model);
      }
    } finally {
      writes.mockRestore();
    }
    expect(await r.del('long')).toBe(1);
  });
});

describe('sets', () => {
  it('SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SPOP, SRANDMEMBER, SINTER, SUNION, SDIFF and their STOREs, SMOVE, SSCAN', async () => {
    expect(await r.sadd('s1', 'a', 'b', 'c', 'a')).toBe(3);
    await r.sadd('s2', 'b', 'c', 'd');
    expect(await r.smembers('s1')).toEqual(['a', 'b', 'c']);
    expect(await r.sismember('s1', 'a')).toBe(1);
    expect(await r.smismember('s1', 'a', 'z')).toEqual([1, 0]);
    expect(await r.sinter('s1', 's2')).toEqual(['b', 'c']);
    expect(await r.sunion('s1', 's2')).toEqual(['a', 'b', 'c', 'd']);
    expect(await r.sdiff('s1', 's2')).toEqual(['a']);
    expect(await r.sinterstore('s3', 's1', 's2')).toBe(2);
    expect(await r.sunionstore('s4', 's1', 's2')).toBe(4);
    expect(await r.sdiffstore('s5', 's2', 's1')).toBe(1);
    expect(await r.smembers('s5')).toEqual(['d']);
    expect(await r.smove('s1', 's5', 'a')).toBe(1);
    expect(await r.smembers('s5')).toEqual(['a', 'd']);
    expect(await r.srem('s4', 'a', 'zz')).toBe(1);
    expect(await r.scard('s4')).toBe(3);
    const picked = await r.srandmember('s4', 2);
    expect(new Set(picked).size).toBe(2);
    expect(await r.srandmember('s4', -5)).toHaveLength(5);
    const popped = (await r.spop('s4'))!;
    expect(['b', 'c', 'd']).toContain(popped);
    expect(await r.scard('s4')).toBe(2);
    expect((await r.spop('s4', 5)).sort()).toEqual(['b', 'c', 'd'].filter((m) => m !== popped));
    expect(await r.exists('s4')).toBe(0);
    const [, members] = await r.sscan('s2', 0, 'MATCH', '[bc]', 'COUNT', 10);
    expect(members).toEqual(['b', 'c']);
  });
});

describe('sorted sets', () => {
  it('ZADD with its options, ZSCORE, ZMSCORE, ZINCRBY, ZCARD, ZCOUNT, ZRANK, ZREVRANK, ZREM', async () => {
    expect(await r.zadd('z', 1, 'a', 2, 'b', 3, 'c')).toBe(3);
    expect(await r.zadd('z', 'NX', 5, 'a', 4, 'd')).toBe(1);
    expect(await r.zadd('z', 'XX', 'CH', 1.5, 'a', 9, 'zz')).toBe(1);
    expect(await r.zadd('z', 'GT', 'CH', 1, 'a')).toBe(0);
    expect(await r.zadd('z', 'LT', 'CH', 1, 'a')).toBe(1);
    expect(await r.zadd('z', 'INCR', 0.25, 'a')).toBe('1.25');
    expect(await r.zadd('z', 'NX', 'INCR', 1, 'a')).toBeNull();
    await expect(r.zadd('z', 'NX', 'XX', 1, 'a')).rejects.toThrow('ERR XX and NX options at the same time are not compatible');
    await expect(r.zadd('z', 'abc', 'a')).rejects.toThrow('ERR value is not a valid float');
    expect(await r.zscore('z', 'c')).toBe('3');
    expect(await r.zmscore('z', 'c', 'nope')).toEqual(['3', null]);
    expect(await r.zincrby('z', 0.1, 'c')).toBe('3.1000000000000001');
    expect(await r.zcard('z')).toBe(4);
    expect(await r.zcount('z', '(1.25', 3)).toBe(1);
    expect(await r.zcount('z', '-inf', '+inf')).toBe(4);
    expect(await r.zrank('z', 'b')).toBe(1);
    expect(await r.zrevrank('z', 'b')).toBe(2);
    expect(await r.zrank('z', 'nope')).toBeNull();
    expect(await r.zrem('z', 'd', 'nope')).toBe(1);
  });

  it('ranks and ranges by rank from either end of a larger set, the same inside MULTI with writes before them', async () => {
    // Scores not in member order, some equal (then member order decides).
    const members = Array.from({ length: 301 }, (_, i) => ({ member: `m${String(i).padStart(3, '0')}`, score: (i * 7919) % 97 }));
    const ranked = [...members].sort((a, b) => a.score - b.score || (a.member < b.member ? -1 : 1)).map((m) => m.member);
    await r.zadd('big', ...members.flatMap((m) => [m.score, m.member]));
    for (const i of [0, 1, 7, 150, 151, 298, 300]) {
      expect(await r.zrank('big', ranked[i]!), `zrank ${i}`).toBe(i);
      expect(await r.zrevrank('big', ranked[i]!), `zrevrank ${i}`).toBe(300 - i);
    }
    expect(await r.zrank('big', 'nope')).toBeNull();
    // Redis's positions: negative from the end, clamped, empty when start > stop.
    const at = (list: string[], from: number, to: number) => {
      const n = list.length;
      const start = from < 0 ? Math.max(0, n + from) : from;
      const stop = to < 0 ? n + to : Math.min(to, n - 1);
      return start > stop ? [] : list.slice(start, stop + 1);
    };
    for (const [from, to] of [[0, 4], [-5, -1], [148, 152], [290, 400], [-400, 3], [250, 249]] as const) {
      expect(await r.zrange('big', String(from), String(to)), `zrange ${from} ${to}`).toEqual(at(ranked, from, to));
      expect(await r.zrevrange('big', from, to), `zrevrange ${from} ${to}`).toEqual(at([...ranked].reverse(), from, to));
    }
    // Inside MULTI the index read merges this transaction's writes: the new lowest member moves every rank up by one.
    const [, rank, last] = (await r.multi().zadd('big', -1, 'first').zrank('big', ranked[300]!).zrange('big', '-2', '-1').exec())!.map(([, v]) => v);
    expect(rank).toBe(301);
    expect(last).toEqual(ranked.slice(-2));
    expect(await r.del('big')).toBe(1);
  });

  it('ZRANGE by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES, and the older range commands', async () => {
    await r.zadd('zr', 1, 'one', 2, 'two', 3, 'three', 4, 'four');
    expect(await r.zrange('zr', '0', '-1')).toEqual(['one', 'two', 'three', 'four']);
    expect(await r.zrange('zr', '0', '1', 'WITHSCORES')).toEqual(['one', '1', 'two', '2']);
    expect(await r.zrange('zr', '(1', '3', 'BYSCORE')).toEqual(['two', 'three']);
    expect(await r.zrange('zr', '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', '1', '2')).toEqual(['three', 'two']);
    expect(await r.zrangebyscore('zr', '2', '+inf', 'WITHSCORES', 'LIMIT', '0', '1')).toEqual(['two', '2']);
    expect(await r.zrevrangebyscore('zr', '3', '1')).toEqual(['three', 'two', 'one']);
    expect(await r.zrevrange('zr', '0', '0')).toEqual(['four']);
    await r.zadd('lex', 0, 'a', 0, 'b', 0, 'c', 0, 'd');
    expect(await r.zrange('lex', '[b', '(d', 'BYLEX')).toEqual(['b', 'c']);
    expect(await r.zrange('lex', '+', '-', 'BYLEX', 'REV', 'LIMIT', '0', '2')).toEqual(['d', 'c']);
    await expect(r.zrange('zr', '0', '1', 'LIMIT', '0', '1')).rejects.toThrow('LIMIT is only supported in combination with either BYSCORE or BYLEX');
  });

  it('ZPOPMIN, ZPOPMAX, ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZSCAN', async () => {
    await r.zadd('zp', 1, 'a', 2, 'b', 3, 'c', 4, 'd', 5, 'e', 6, 'f');
    expect(await r.zpopmin('zp')).toEqual(['a', '1']);
    expect(await r.zpopmax('zp', 2)).toEqual(['f', '6', 'e', '5']);
    expect(await r.zremrangebyrank('zp', 0, 0)).toBe(1);
    expect(await r.zremrangebyscore('zp', '(3', 10)).toBe(1);
    expect(await r.zscan('zp', 0)).toEqual(['0', ['c', '3']]);
  });
});

describe('every type', () => {
  it('answers WRONGTYPE across types, and DEL, EXISTS, TYPE and expiry work on each', async () => {
    await r.hset('t:h', 'f', 'v');
    await r.rpush('t:l', 'a');
    await r.sadd('t:s', 'a');
    await r.zadd('t:z', 1, 'a');
    for (const k of ['t:h', 't:l', 't:s', 't:z']) {
      await expect(r.get(k)).rejects.toThrow(/^WRONGTYPE/);
      expect(await r.expire(k, 100)).toBe(1);
      expect(await r.ttl(k)).toBe(100);
    }
    await expect(r.lpush('t:h', 'x')).rejects.toThrow(/^WRONGTYPE/);
    await expect(r.sadd('t:z', 'x')).rejects.toThrow(/^WRONGTYPE/);
    await expect(r.zadd('t:s', 1, 'x')).rejects.toThrow(/^WRONGTYPE/);
    await expect(r.hset('t:l', 'x', 'y')).rejects.toThrow(/^WRONGTYPE/);
    expect([await r.type('t:h'), await r.type('t:l'), await r.type('t:s'), await r.type('t:z')]).toEqual(['hash', 'list', 'set', 'zset']);
    expect(await r.pexpire('t:l', 1)).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await r.llen('t:l')).toBe(0);
    expect(await r.exists('t:h', 't:l', 't:s', 't:z')).toBe(3);
    expect(await r.del('t:h', 't:s', 't:z')).toBe(3);
  });

  it('runs pipelines and MULTI/EXEC over every type (ioredis and node-redis)', async () => {
    const piped = await r.pipeline().hset('p:h', 'f', '1').rpush('p:l', 'x').sadd('p:s', 'm').zadd('p:z', 2, 'm').hget('p:h', 'f').lrange('p:l', 0, -1).exec();
    expect(piped!.map(([, v]) => v)).toEqual([1, 1, 1, 1, '1', ['x']]);
    const tx = await r.multi().hincrby('p:h', 'f', 2).lpush('p:l', 'y').spop('p:s').zincrby('p:z', 1, 'm').lrange('p:l', 0, -1).exec();
    expect(tx!.map(([, v]) => v)).toEqual([3, 2, 'm', '3', ['y', 'x']]);
    const c = createClient({ url: `redis://127.0.0.1:${server.port}` });
    c.on('error', () => {});
    await c.connect();
    try {
      expect(await c.multi().hSet('nr:h', { a: '1', b: '2' }).hGetAll('nr:h').rPush('nr:l', ['1', '2']).sAdd('nr:s', ['x']).zAdd('nr:z', [{ score: 1, value: 'x' }]).zRangeWithScores('nr:z', 0, -1).exec()).toEqual([
        2,
        { a: '1', b: '2' },
        2,
        1,
        1,
        [{ value: 'x', score: 1 }],
      ]);
      expect(await c.sMembers('nr:s')).toEqual(['x']);
      expect(await c.lRange('nr:l', 0, -1)).toEqual(['1', '2']);
      expect(await c.zScore('nr:z', 'x')).toBe(1);
      expect(await c.expire('nr:h', 50)).toBe(1);
      expect(await c.ttl('nr:h')).toBe(50);
    } finally {
      await c.close();
    }
  });

  it('deletes a large collection at once and leaves its members to the sweep, which removes every one', async () => {
    const records = () => server.keyspace.db.count();
    // What earlier tests left to the sweep goes first (orphans, and a key past its deadline, which DBSIZE
    // counts until it is removed, as Redis's does): its timer could otherwise remove it in the middle of these counts.
    const settled = async () => server.keyspace.counters.orphans === 0 && (await r.dbsize()) === (await r.keys('*')).length;
    for (let i = 0; i < 20 && !(await settled()); i++) await server.keyspace.sweep.tick();
    expect(await settled()).toBe(true);
    const start = records();
    const keys = await r.dbsize();
    const fields: string[] = [];
    for (let i = 0; i < 2000; i++) fields.push(`f${i}`, 'v');
    await r.hset('big', ...fields);
    await r.zadd('bigz', ...Array.from({ length: 600 }, (_, i) => [i, `m${i}`]).flat());
    expect(records()).toBeGreaterThan(start + 3000);
    expect(await r.dbsize()).toBe(keys + 2);
    expect(await r.del('big', 'bigz')).toBe(2);
    expect(await r.hlen('big')).toBe(0);
    // A new hash under the same name sees none of the old fields (they are another version's).
    await r.hset('big', 'f1', 'new');
    expect(await r.hgetall('big')).toEqual({ f1: 'new' });
    for (let i = 0; i < 10 && records() > start + 4; i++) await server.keyspace.sweep.tick();
    // The new hash's metadata and field, and the counters record.
    expect(records() - start).toBeLessThanOrEqual(3);
    await r.del('big');
  });
});
