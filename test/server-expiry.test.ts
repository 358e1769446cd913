// Expiry on `xrpkv serve`: the commands and their options and errors as
// Redis 7.0 answers them, keys invisible the moment they pass their
// deadline, the sweep that removes their records, deadlines kept across a
// restart, and the upgrade of a database written before the data layout.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { open } from '../src/store/db.js';
import type { RunningServer } from '../src/server/server.js';
import { run, startTestServer, useTestServer } from './server-fixtures.js';
import { ROOT, tempDir } from './xrp-fixtures.js';

let server: RunningServer;
let r: Redis;
const clients: Redis[] = [];
useTestServer(
  'expiry.xrpkv',
  (s) => {
    server = s;
    clients.push((r = new Redis({ port: s.port, host: '127.0.0.1' })));
  },
  clients,
);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('expiry commands', () => {
  it('sets deadlines with SET EX, PX, EXAT, PXAT and keeps one with KEEPTTL', async () => {
    const now = Date.now();
    expect(await r.set('e:ex', 'v', 'EX', 100)).toBe('OK');
    expect(await r.ttl('e:ex')).toBe(100);
    expect(await r.set('e:px', 'v', 'PX', 100_000)).toBe('OK');
    expect(await r.pttl('e:px')).toBeGreaterThan(99_000);
    expect(await r.set('e:exat', 'v', 'EXAT', Math.floor(now / 1000) + 1000)).toBe('OK');
    expect(await r.expiretime('e:exat')).toBe(Math.floor(now / 1000) + 1000);
    expect(await r.set('e:pxat', 'v', 'PXAT', now + 50_000)).toBe('OK');
    expect(await r.pexpiretime('e:pxat')).toBe(now + 50_000);
    expect(await r.set('e:ex', 'w', 'KEEPTTL')).toBe('OK');
    expect(await r.ttl('e:ex')).toBe(100);
    expect(await r.get('e:ex')).toBe('w');
    expect(await r.set('e:ex', 'x')).toBe('OK');
    expect(await r.ttl('e:ex')).toBe(-1);
    expect(await r.ttl('e:missing')).toBe(-2);
    expect(await r.pttl('e:missing')).toBe(-2);
    expect(await r.expiretime('e:ex')).toBe(-1);
  });

  it('answers SET NX, XX and GET with a deadline as Redis does', async () => {
    expect(await r.set('e:nx', '1', 'EX', 50, 'NX')).toBe('OK');
    expect(await r.set('e:nx', '2', 'PX', 50, 'NX')).toBeNull();
    expect(await r.set('e:nx', '3', 'EX', 70, 'XX', 'GET')).toBe('1');
    expect(await r.ttl('e:nx')).toBe(70);
    await expect(r.set('e:bad', 'v', 'EX', 0)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('e:bad', 'v', 'EX', -5)).rejects.toThrow("ERR invalid expire time in 'set' command");
    await expect(r.set('e:bad', 'v', 'EX', 'soon')).rejects.toThrow('ERR value is not an integer or out of range');
    await expect(r.call('SET', 'e:bad', 'v', 'EX', '10', 'PX', '10')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SET', 'e:bad', 'v', 'EX', '10', 'KEEPTTL')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SET', 'e:bad', 'v', 'EX')).rejects.toThrow('ERR syntax error');
    expect(await r.exists('e:bad')).toBe(0);
  });

  it('runs EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT with NX, XX, GT and LT, and PERSIST', async () => {
    await r.set('e:k', 'v');
    expect(await r.expire('e:missing', 10)).toBe(0);
    expect(await r.expire('e:k', 100, 'XX')).toBe(0);
    expect(await r.expire('e:k', 100, 'GT')).toBe(0); // no deadline counts as infinite
    expect(await r.expire('e:k', 100, 'NX')).toBe(1);
    expect(await r.expire('e:k', 200, 'NX')).toBe(0);
    expect(await r.expire('e:k', 50, 'GT')).toBe(0);
    expect(await r.expire('e:k', 150, 'GT')).toBe(1);
    expect(await r.expire('e:k', 200, 'LT')).toBe(0);
    expect(await r.expire('e:k', 120, 'LT')).toBe(1);
    expect(await r.ttl('e:k')).toBe(120);
    expect(await r.pexpire('e:k', 5000)).toBe(1);
    expect(await r.pttl('e:k')).toBeLessThanOrEqual(5000);
    expect(await r.expireat('e:k', Math.floor(Date.now() / 1000) + 300)).toBe(1);
    expect(await r.ttl('e:k')).toBeGreaterThan(298);
    expect(await r.pexpireat('e:k', Date.now() + 400_000)).toBe(1);
    expect(await r.persist('e:k')).toBe(1);
    expect(await r.persist('e:k')).toBe(0);
    expect(await r.ttl('e:k')).toBe(-1);
    await expect(r.call('EXPIRE', 'e:k', '10', 'NX', 'XX')).rejects.toThrow('ERR NX and XX, GT or LT options at the same time are not compatible');
    await expect(r.call('EXPIRE', 'e:k', '10', 'GT', 'LT')).rejects.toThrow('ERR GT and LT options at the same time are not compatible');
    await expect(r.call('EXPIRE', 'e:k', '10', 'SOON')).rejects.toThrow('ERR Unsupported option SOON');
    await expect(r.call('EXPIRE', 'e:k', '9223372036854775807')).rejects.toThrow("ERR invalid expire time in 'expire' command");
    // A deadline in the past removes the key at once.
    expect(await r.expire('e:k', -1)).toBe(1);
    expect(await r.exists('e:k')).toBe(0);
  });

  it('runs SETEX, PSETEX and GETEX', async () => {
    expect(await r.setex('e:sx', 30, 'a')).toBe('OK');
    expect(await r.ttl('e:sx')).toBe(30);
    expect(await r.psetex('e:psx', 30_000, 'b')).toBe('OK');
    expect(await r.pttl('e:psx')).toBeGreaterThan(29_000);
    await expect(r.setex('e:sx', 0, 'a')).rejects.toThrow("ERR invalid expire time in 'setex' command");
    expect(await r.getex('e:sx', 'PERSIST')).toBe('a');
    expect(await r.ttl('e:sx')).toBe(-1);
    expect(await r.getex('e:sx', 'EX', 77)).toBe('a');
    expect(await r.ttl('e:sx')).toBe(77);
    expect(await r.getex('e:sx')).toBe('a');
    expect(await r.ttl('e:sx')).toBe(77);
    expect(await r.getex('e:sx', 'PXAT', Date.now() - 1)).toBe('a');
    expect(await r.exists('e:sx')).toBe(0);
    expect(await r.getex('e:nothing', 'EX', 5)).toBeNull();
  });

  it('keeps a deadline through INCR, and drops it with SET, MSET and DEL', async () => {
    await r.set('e:n', '1', 'EX', 60);
    expect(await r.incr('e:n')).toBe(2);
    expect(await r.ttl('e:n')).toBe(60);
    await r.mset('e:n', '5');
    expect(await r.ttl('e:n')).toBe(-1);
    await r.set('e:n', '1', 'EX', 60);
    expect(await r.del('e:n')).toBe(1);
    await r.set('e:n', '1');
    expect(await r.ttl('e:n')).toBe(-1);
  });
});

describe('keys past their deadline', () => {
  it('are gone at once for every command, and the sweep removes their records', async () => {
    const expiredKeys = async () => Number(/expired_keys:(\d+)/.exec(await r.info('stats'))![1]);
    const before = await expiredKeys();
    const keys = Array.from({ length: 150 }, (_, i) => `gone:${i}`);
    await Promise.all(keys.map((k) => r.set(k, 'v', 'PX', 40)));
    await r.set('gone:kept', 'v', 'EX', 100);
    const records = server.keyspace.db.count();
    await sleep(60);
    expect(await r.get('gone:1')).toBeNull();
    expect(await r.exists('gone:1', 'gone:2')).toBe(0);
    expect(await r.ttl('gone:3')).toBe(-2);
    expect(await r.keys('gone:*')).toEqual(['gone:kept']);
    expect(await r.set('gone:4', 'new', 'NX')).toBe('OK');
    expect(await r.ttl('gone:4')).toBe(-1);
    await server.keyspace.sweep.tick();
    await server.keyspace.sweep.tick();
    // The sweep removed them (or SET NX, which met gone:4); each counts once.
    expect((await expiredKeys()) - before).toBe(150);
    expect(await r.dbsize()).toBe((await r.keys('*')).length);
    // The records went: the value and the expiry index record of each key.
    expect(server.keyspace.db.count()).toBeLessThan(records - 250);
    expect(await r.info('keyspace')).toMatch(/expires=\d+/);
  });

  it('fail an EXEC that watched them', async () => {
    await r.set('w:soon', 'v', 'PX', 30);
    await r.watch('w:soon');
    await sleep(50);
    expect(await r.multi().set('w:other', '1').exec()).toBeNull();
    expect(await r.exists('w:other')).toBe(0);
  });
});

describe('across a restart', () => {
  it('keeps deadlines, and a key whose deadline passed meanwhile is gone', async () => {
    const dir = tempDir();
    try {
      let s = await startTestServer(dir.dir, 'restart.xrpkv');
      let c = new Redis({ port: s.port, host: '127.0.0.1' });
      await c.set('long', 'v', 'EX', 1000);
      await c.set('short', 'v', 'PX', 100);
      await c.quit();
      await s.close();
      await sleep(150);
      s = await startTestServer(dir.dir, 'restart.xrpkv');
      c = new Redis({ port: s.port, host: '127.0.0.1' });
      expect(await c.ttl('long')).toBeGreaterThan(998);
      expect(await c.get('short')).toBeNull();
      expect(await c.dbsize()).toBe(2); // counted until the sweep removes it, as Redis counts it
      await s.keyspace.sweep.tick();
      expect(await c.dbsize()).toBe(1);
      await c.quit();
      await s.close();
    } finally {
      dir.remove();
    }
  });

  it('upgrades a database written before the data layout: keys starting with 0xff move, the others stay raw', async () => {
    const dir = tempDir();
    try {
      const path = `${dir.dir}/old.xrpkv`;
      const db = open<Buffer, Buffer>(path, { keyEncoding: 'binary', valueEncoding: 'binary' });
      const high = Buffer.from([0xff, 0x41]);
      const higher = Buffer.from([0xff, 0xff, 0x41]);
      await db.batch([
        { type: 'put', key: Buffer.from('plain'), value: Buffer.from('p') },
        { type: 'put', key: high, value: Buffer.from('h') },
        { type: 'put', key: higher, value: Buffer.from('hh') },
      ]);
      await db.close();
      for (let round = 0; round < 2; round++) {
        const s = await startTestServer(dir.dir, 'old.xrpkv');
        const c = new Redis({ port: s.port, host: '127.0.0.1' });
        expect(await c.getBuffer(high)).toEqual(Buffer.from('h'));
        expect(await c.getBuffer(higher)).toEqual(Buffer.from('hh'));
        expect(await c.get('plain')).toBe('p');
        expect(await c.dbsize()).toBe(3);
        expect((await c.keysBuffer('*')).map((k) => k.toString('hex')).sort()).toEqual(['ff41', 'ffff41', Buffer.from('plain').toString('hex')].sort());
        await c.quit();
        await s.close();
      }
      const reopened = open<Buffer, Buffer>(path, { keyEncoding: 'binary', valueEncoding: 'binary' });
      expect(reopened.getSync(Buffer.from('plain'))).toEqual(Buffer.from('p'));
      await reopened.close();
    } finally {
      dir.remove();
    }
  });

  it('leaves every string readable by xrpkv get --redis: raw, with a deadline, and escaped', async () => {
    const dir = tempDir();
    try {
      const s = await startTestServer(dir.dir, 'cli.xrpkv');
      const c = new Redis({ port: s.port, host: '127.0.0.1' });
      await c.set('plain', 'p');
      await c.set('soon', 's', 'EX', 1000);
      await c.set(Buffer.from([0xff, 0x41]), 'h');
      await c.hset('hash', 'f', 'v');
      await c.quit();
      await s.close();
      const cli = (...args: string[]) => run(process.execPath, [`${ROOT}/dist/cli/main.js`, 'get', '--db', `${dir.dir}/cli.xrpkv`, '--redis', ...args]);
      expect((await cli('plain', 'soon')).stdout).toBe('p\ns\n');
      expect((await cli('--hex', 'ff41')).stdout).toBe('68\n');
      const missing = await cli('hash');
      expect(missing.code).toBe(2);
    } finally {
      dir.remove();
    }
  });
});
