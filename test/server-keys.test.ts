// The string and key commands beyond GET and SET on `xrpkv serve`, with
// replies and errors as Redis 7.0 gives them (the differential test,
// server-differential.test.ts, compares many more cases against Redis).
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { redisCli, useTestServer } from './server-fixtures.js';

let server: RunningServer;
let r: Redis;
const clients: Redis[] = [];
useTestServer(
  'keys.xrpkv',
  (s) => {
    server = s;
    clients.push((r = new Redis({ port: s.port, host: '127.0.0.1' })));
  },
  clients,
);

describe('string commands', () => {
  it('GETDEL, GETSET, SETNX, MSETNX', async () => {
    await r.set('s:a', '1', 'EX', 100);
    expect(await r.getset('s:a', '2')).toBe('1');
    expect(await r.ttl('s:a')).toBe(-1);
    expect(await r.getdel('s:a')).toBe('2');
    expect(await r.getdel('s:a')).toBeNull();
    expect(await r.setnx('s:a', 'x')).toBe(1);
    expect(await r.setnx('s:a', 'y')).toBe(0);
    expect(await r.msetnx('s:b', '1', 's:c', '2')).toBe(1);
    expect(await r.msetnx('s:c', '3', 's:d', '4')).toBe(0);
    expect(await r.mget('s:a', 's:b', 's:c', 's:d')).toEqual(['x', '1', '2', null]);
  });

  it('APPEND, STRLEN, GETRANGE, SETRANGE', async () => {
    expect(await r.append('s:t', 'Hello')).toBe(5);
    expect(await r.append('s:t', ' World')).toBe(11);
    expect(await r.strlen('s:t')).toBe(11);
    expect(await r.strlen('s:none')).toBe(0);
    expect(await r.getrange('s:t', 0, 4)).toBe('Hello');
    expect(await r.getrange('s:t', -5, -1)).toBe('World');
    expect(await r.getrange('s:t', 5, 2)).toBe('');
    expect(await r.getrange('s:t', -1, -5)).toBe('');
    expect(await r.getrange('s:t', 0, 100)).toBe('Hello World');
    expect(await r.setrange('s:t', 6, 'Redis')).toBe(11);
    expect(await r.get('s:t')).toBe('Hello Redis');
    expect(await r.setrange('s:pad', 3, 'x')).toBe(4);
    expect(await r.getBuffer('s:pad')).toEqual(Buffer.from([0, 0, 0, 0x78]));
    expect(await r.setrange('s:empty', 5, '')).toBe(0);
    expect(await r.exists('s:empty')).toBe(0);
    await expect(r.setrange('s:t', -1, 'x')).rejects.toThrow('ERR offset is out of range');
  });

  it('INCRBYFLOAT as Redis computes and prints it (long double)', async () => {
    await r.set('f:a', '10.50');
    expect(await r.incrbyfloat('f:a', '0.1')).toBe('10.6');
    expect(await r.incrbyfloat('f:a', '-5.0e3')).toBe('-4989.39999999999999991'); // as redis-server 7.0 prints it
    expect(await r.incrbyfloat('f:new', '3.0e3')).toBe('3000');
    expect(await r.incrbyfloat('f:new', '1.5')).toBe('3001.5');
    await r.set('f:word', 'abc');
    await expect(r.incrbyfloat('f:word', '1')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.incrbyfloat('f:a', 'x')).rejects.toThrow('ERR value is not a valid float');
    // strtold's other forms, as redis-server 7.0 answers them: C's hexadecimal, infinities, underflow.
    await r.set('f:hex', '0x1.8p1');
    expect(await r.incrbyfloat('f:hex', '0x.8')).toBe('3.5');
    await r.set('f:inf', 'inf');
    await expect(r.incrbyfloat('f:inf', '1')).rejects.toThrow('ERR increment would produce NaN or Infinity');
    await expect(r.incrbyfloat('f:new', '-Infinity')).rejects.toThrow('ERR increment would produce NaN or Infinity');
    await expect(r.incrbyfloat('f:new', '1e-5000')).rejects.toThrow('ERR value is not a valid float');
    await expect(r.incrbyfloat('f:new', '0x')).rejects.toThrow('ERR value is not a valid float');
    expect(await r.zadd('f:z', '0x10', 'm')).toBe(1);
    expect(await r.zscore('f:z', 'm')).toBe('16');
  });

  it('answers WRONGTYPE for a string command on another type, and MGET nil', async () => {
    await r.set('wt:s', 'v');
    await r.rpush('wt:l', 'a');
    await expect(r.get('wt:l')).rejects.toThrow(/^WRONGTYPE Operation against a key holding the wrong kind of value/);
    await expect(r.append('wt:l', 'x')).rejects.toThrow(/^WRONGTYPE/);
    await expect(r.incr('wt:l')).rejects.toThrow(/^WRONGTYPE/);
    expect(await r.mget('wt:s', 'wt:l')).toEqual(['v', null]);
    expect(await r.set('wt:l', 'now a string')).toBe('OK');
    expect(await r.type('wt:l')).toBe('string');
  });
});

describe('key commands', () => {
  it('TYPE, TOUCH, UNLINK, EXISTS', async () => {
    await r.set('k:s', 'v');
    await r.hset('k:h', 'f', 'v');
    expect(await r.type('k:s')).toBe('string');
    expect(await r.type('k:h')).toBe('hash');
    expect(await r.type('k:none')).toBe('none');
    expect(await r.touch('k:s', 'k:h', 'k:none')).toBe(2);
    expect(await r.unlink('k:s', 'k:h', 'k:none')).toBe(2);
    expect(await r.exists('k:s', 'k:h')).toBe(0);
  });

  it('RENAME and RENAMENX move the value, the members and the deadline', async () => {
    await r.set('rn:a', '1', 'EX', 100);
    expect(await r.rename('rn:a', 'rn:b')).toBe('OK');
    expect(await r.get('rn:b')).toBe('1');
    expect(await r.ttl('rn:b')).toBe(100);
    expect(await r.exists('rn:a')).toBe(0);
    await expect(r.rename('rn:a', 'rn:c')).rejects.toThrow('ERR no such key');
    await r.zadd('rn:z', 1, 'one', 2, 'two');
    await r.set('rn:taken', 'x');
    expect(await r.renamenx('rn:z', 'rn:taken')).toBe(0);
    expect(await r.renamenx('rn:z', 'rn:z2')).toBe(1);
    expect(await r.zrange('rn:z2', '0', '-1', 'WITHSCORES')).toEqual(['one', '1', 'two', '2']);
    expect(await r.rename('rn:z2', 'rn:taken')).toBe('OK');
    expect(await r.type('rn:taken')).toBe('zset');
    expect(await r.rename('rn:taken', 'rn:taken')).toBe('OK');
  });

  it('COPY copies any type, with REPLACE and DB 0 only', async () => {
    await r.rpush('cp:l', 'a', 'b', 'c');
    expect(await r.copy('cp:l', 'cp:l2')).toBe(1);
    await r.rpush('cp:l', 'd');
    expect(await r.lrange('cp:l2', 0, -1)).toEqual(['a', 'b', 'c']);
    await r.set('cp:s', 'v');
    expect(await r.copy('cp:s', 'cp:l2')).toBe(0);
    expect(await r.copy('cp:s', 'cp:l2', 'REPLACE')).toBe(1);
    expect(await r.get('cp:l2')).toBe('v');
    expect(await r.copy('cp:none', 'cp:x')).toBe(0);
    await expect(r.call('COPY', 'cp:s', 'cp:s')).rejects.toThrow('ERR source and destination objects are the same');
    await expect(r.call('COPY', 'cp:s', 'cp:y', 'DB', '1')).rejects.toThrow('ERR DB index is out of range');
  });

  it('RANDOMKEY, TIME, FLUSHALL', async () => {
    const names = new Set<string>();
    for (let i = 0; i < 40; i++) names.add((await r.randomkey())!);
    const all = new Set(await r.keys('*'));
    for (const n of names) expect(all.has(n)).toBe(true);
    expect(names.size).toBeGreaterThan(1);
    const [sec, usec] = (await r.time()) as unknown as [string, string];
    expect(Math.abs(Number(sec) - Date.now() / 1000)).toBeLessThan(5);
    expect(Number(usec)).toBeLessThan(1_000_000);
    expect(await r.flushall()).toBe('OK');
    expect(await r.dbsize()).toBe(0);
    expect(await r.randomkey()).toBeNull();
  });

  it('SCAN ... TYPE lists the keys of one type, and redis-cli --bigkeys reads every type', async () => {
    await r.set('ty:s', 'v');
    await r.hset('ty:h', 'f', 'v');
    await r.rpush('ty:l', 'a');
    await r.sadd('ty:set', 'm');
    await r.zadd('ty:z', 1, 'm');
    const scanType = async (type: string) => {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'COUNT', 2, 'TYPE', type);
        found.push(...keys);
        cursor = next;
      } while (cursor !== '0');
      return found;
    };
    expect(await scanType('hash')).toEqual(['ty:h']);
    expect(await scanType('zset')).toEqual(['ty:z']);
    expect(await scanType('string')).toEqual(['ty:s']);
    const big = await redisCli(server.port, '--bigkeys');
    expect(big.code).toBe(0);
    expect(big.stdout).toMatch(/Biggest\s+hash found '?"?ty:h/);
    expect(big.stdout).toMatch(/1 zsets with 1 members/);
    // --memkeys asks MEMORY USAGE of every key.
    const mem = await redisCli(server.port, '--memkeys');
    expect(mem.code).toBe(0);
    expect(mem.stdout + mem.stderr).not.toMatch(/failed/);
    expect(mem.stdout).toMatch(/1 zsets with [1-9]\d* bytes/);
  });

  it('MEMORY USAGE counts the records a key takes in the store file, sampling a collection', async () => {
    const usage = (...args: string[]) => r.call('MEMORY', 'USAGE', ...args) as Promise<number | null>;
    expect(await usage('mu:none')).toBeNull();
    await r.set('mu:s', 'vvvv');
    // A leaf entry: a 2-byte slot, 8 bytes of lengths, the key and the value (docs/FORMAT.md).
    expect(await usage('mu:s')).toBe(2 + 8 + 4 + 4);
    // Past a leaf's inline limit: an 8-byte reference in the leaf, the bytes in overflow pages.
    await r.set('mu:big', 'x'.repeat(6000));
    expect(await usage('mu:big')).toBe(2 + 8 + 6 + 8 + 6000);
    await r.hset('mu:h', 'a', '1', 'bb', '22');
    const both = await usage('mu:h', 'SAMPLES', '0');
    await r.hdel('mu:h', 'bb');
    // The member record of 'bb': its prefix (4 bytes, the key, an 8-byte version) and name, and its value.
    expect(both! - (await usage('mu:h', 'SAMPLES', '0'))!).toBe(2 + 8 + (4 + 4 + 8 + 2) + 2);
    // Five members sampled of a hundred whose values grow: scaled to the size, near the whole count.
    for (let i = 0; i < 100; i++) await r.hset('mu:g', `f${String(i).padStart(3, '0')}`, 'v'.repeat(i));
    const all = (await usage('mu:g', 'SAMPLES', '0'))!;
    const sampled = (await usage('mu:g'))!;
    expect(sampled).toBeLessThan(all);
    expect(sampled).toBeGreaterThan(all / 4);
    expect(await usage('mu:g', 'SAMPLES', '100')).toBe(all);
    await expect(usage('mu:g', 'SAMPLES', '-1')).rejects.toThrow(/out of range/);
    await expect(usage('mu:g', 'FOO', '1')).rejects.toThrow('ERR syntax error');
    await expect(r.call('MEMORY', 'STATS')).rejects.toThrow(/unknown subcommand/);
    await r.del('mu:s', 'mu:big', 'mu:h', 'mu:g');
  });
});
