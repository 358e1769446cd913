// LPOS, the lex ranges of sorted sets (ZRANGEBYLEX, ZREVRANGEBYLEX,
// ZLEXCOUNT, ZREMRANGEBYLEX) and sorted sets combined (ZUNION, ZINTER,
// ZDIFF, their STORE forms, ZINTERCARD), and HRANDFIELD and ZRANDMEMBER on
// `xrpkv serve`, through ioredis, with
// Redis 7.0's answers and errors (test/server-differential.test.ts compares
// them with redis-server at random; these are the cases worth naming).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { ioredisClient, useTestServer } from './server-fixtures.js';

let server: RunningServer;
const clients: Redis[] = [];
useTestServer('ranges.xrpkv', (s) => (server = s), clients);

const connect = () => ioredisClient(server.port, clients);

describe('LPOS', () => {
  it('finds matches from either end, from the r-th, as many as asked, among the first MAXLEN', async () => {
    const r = connect();
    await r.rpush('lp:l', 'a', 'b', 'c', 'b', 'd', 'b');
    expect(await r.lpos('lp:l', 'b')).toBe(1);
    expect(await r.lpos('lp:l', 'b', 'RANK', 2)).toBe(3);
    expect(await r.lpos('lp:l', 'b', 'RANK', -1)).toBe(5);
    expect(await r.lpos('lp:l', 'b', 'COUNT', 0)).toEqual([1, 3, 5]);
    expect(await r.lpos('lp:l', 'b', 'RANK', -2, 'COUNT', 2)).toEqual([3, 1]);
    expect(await r.lpos('lp:l', 'b', 'COUNT', 0, 'MAXLEN', 4)).toEqual([1, 3]);
    expect(await r.lpos('lp:l', 'z')).toBeNull();
    expect(await r.lpos('lp:none', 'b', 'COUNT', 1)).toEqual([]);
    await expect(r.lpos('lp:l', 'b', 'RANK', 0)).rejects.toThrow(/RANK can't be zero/);
    await expect(r.lpos('lp:l', 'b', 'COUNT', -1)).rejects.toThrow("ERR COUNT can't be negative");
    await expect(r.call('LPOS', 'lp:l', 'b', 'SOON', '1')).rejects.toThrow('ERR syntax error');
  });
});

describe('lex ranges', () => {
  it('select, count and remove members between [, ( , - and + bounds', async () => {
    const r = connect();
    await r.zadd('lx:z', 0, 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e');
    expect(await r.zrangebylex('lx:z', '[b', '(e')).toEqual(['b', 'c', 'd']);
    expect(await r.zrangebylex('lx:z', '-', '+', 'LIMIT', '1', '2')).toEqual(['b', 'c']);
    expect(await r.zrevrangebylex('lx:z', '[d', '-')).toEqual(['d', 'c', 'b', 'a']);
    expect(await r.zlexcount('lx:z', '(a', '[c')).toBe(2);
    expect(await r.zremrangebylex('lx:z', '[b', '[d')).toBe(3);
    expect(await r.zrange('lx:z', '0', '-1')).toEqual(['a', 'e']);
    await expect(r.zlexcount('lx:z', 'b', '+')).rejects.toThrow('ERR min or max not valid string range item');
    await expect(r.call('ZRANGEBYLEX', 'lx:z', '-', '+', 'WITHSCORES')).rejects.toThrow('ERR syntax error');
  });
});

describe('sorted sets combined', () => {
  it('join scores by WEIGHTS and AGGREGATE, take sets as score 1, and store or count the result', async () => {
    const r = connect();
    await r.zadd('zc:a', 1, 'x', 2, 'y', 3, 'z');
    await r.zadd('zc:b', 10, 'y', 20, 'w');
    await r.sadd('zc:s', 'x', 'w');
    expect(await r.zunion(3, 'zc:a', 'zc:b', 'zc:s', 'WITHSCORES')).toEqual(['x', '2', 'z', '3', 'y', '12', 'w', '21']);
    expect(await r.zinter(2, 'zc:a', 'zc:b', 'WEIGHTS', 2, 3, 'AGGREGATE', 'MAX', 'WITHSCORES')).toEqual(['y', '30']);
    expect(await r.zdiff(2, 'zc:a', 'zc:s')).toEqual(['y', 'z']);
    expect(await r.zunionstore('zc:d', 2, 'zc:a', 'zc:b', 'AGGREGATE', 'MIN')).toBe(4);
    expect(await r.zrange('zc:d', '0', '-1', 'WITHSCORES')).toEqual(['x', '1', 'y', '2', 'z', '3', 'w', '20']);
    // The destination may be a source; an empty result removes it.
    expect(await r.zinterstore('zc:d', 2, 'zc:d', 'zc:none')).toBe(0);
    expect(await r.exists('zc:d')).toBe(0);
    expect(await r.call('ZINTERCARD', '2', 'zc:a', 'zc:b')).toBe(1);
    // inf times 0 counts 0, as in Redis.
    await r.zadd('zc:inf', 'inf', 'i');
    expect(await r.zunion(1, 'zc:inf', 'WEIGHTS', 0, 'WITHSCORES')).toEqual(['i', '0']);
    await expect(r.call('ZUNION', '0', 'zc:a')).rejects.toThrow("ERR at least 1 input key is needed for 'zunion' command");
    await expect(r.call('ZDIFF', '1', 'zc:a', 'WEIGHTS', '1')).rejects.toThrow('ERR syntax error');
    await r.set('zc:str', 'v');
    await expect(r.call('ZUNION', '2', 'zc:a', 'zc:str')).rejects.toThrow(/^WRONGTYPE/);
  });

  it('SINTERCARD counts what SINTER would return, up to LIMIT', async () => {
    const r = connect();
    await r.sadd('sc:a', 'p', 'q', 'r');
    await r.sadd('sc:b', 'q', 'r', 's');
    expect(await r.call('SINTERCARD', '2', 'sc:a', 'sc:b')).toBe(2);
    expect(await r.call('SINTERCARD', '2', 'sc:a', 'sc:b', 'LIMIT', '1')).toBe(1);
    expect(await r.call('SINTERCARD', '2', 'sc:a', 'sc:none')).toBe(0);
    await expect(r.call('SINTERCARD', '3', 'sc:a', 'sc:b')).rejects.toThrow("ERR Number of keys can't be greater than number of args");
  });
});

describe('HRANDFIELD and ZRANDMEMBER', () => {
  it('pick distinct members (all when asked for more), or with a negative count as many as asked, with their values or scores', async () => {
    const r = connect();
    await r.hset('rm:h', 'a', '1', 'b', '2', 'c', '3');
    const all = (await r.hrandfield('rm:h', 5, 'WITHVALUES')) as string[];
    const pairs = Object.fromEntries(Array.from({ length: all.length / 2 }, (_, i) => [all[2 * i], all[2 * i + 1]]));
    expect(pairs).toEqual({ a: '1', b: '2', c: '3' });
    const repeats = (await r.hrandfield('rm:h', -7)) as string[];
    expect(repeats).toHaveLength(7);
    for (const f of repeats) expect(['a', 'b', 'c']).toContain(f);
    expect(['a', 'b', 'c']).toContain(await r.hrandfield('rm:h'));
    expect(await r.hrandfield('rm:none')).toBeNull();
    expect(await r.hrandfield('rm:none', 2)).toEqual([]);
    await r.zadd('rm:z', 1.5, 'x', 2, 'y');
    const scored = (await r.zrandmember('rm:z', 1, 'WITHSCORES')) as string[];
    expect(scored).toHaveLength(2);
    expect({ x: '1.5', y: '2' }[scored[0] as 'x' | 'y']).toBe(scored[1]);
    await expect(r.call('ZRANDMEMBER', 'rm:z', '1', 'WITHVALUES')).rejects.toThrow('ERR syntax error');
  });
});
