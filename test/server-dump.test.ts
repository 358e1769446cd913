// DUMP and RESTORE between `xrpkv serve` and Debian's redis-server 7.0
// (started here): every type, small and large (Redis's listpacks, intsets,
// LZF-compressed strings), a stream with deletions, consumer groups and
// pending entries, moved from Redis to xrpkv and from xrpkv to Redis; a
// payload of Redis 6 (a ziplist, RDB version 9); the errors; and damaged
// payloads, which must be refused or read, never crash the server. Then
// `redis-cli --rdb`: the whole database as an RDB file that redis-server
// loads.
import { describe, expect, it } from 'vitest';
import { crc64 } from '../src/server/rdb-format.js';
import { fractions } from './store-fixtures.js';
import { join } from 'node:path';
import { rdbFile } from '../src/server/commands-replication.js';
import { ioredisClient, redisCli, run, startRedisServer, useServerBesideRedis, withoutTimes } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const beside = useServerBesideRedis('dump.xrpkv');
type Client = typeof beside.ours;

/** Writes the same keys of every type on a server. */
async function fill(r: Client): Promise<void> {
  await r.set('s:text', 'hello');
  await r.set('s:int', '12345');
  await r.set('s:long', 'x'.repeat(100)); // LZF-compressed in Redis's payload
  await r.set('s:neg', '-70000');
  await r.set('s:bytes', Buffer.from([0, 255, 1, 13, 10]));
  await r.set('s:ttl', 'v', 'PX', 100_000);
  await r.rpush('l:small', 'a', 'b', '1', '300', '-5000', '99999999', '9223372036854775807', 'x'.repeat(70), 'y'.repeat(5000));
  await r.rpush('l:big', ...Array.from({ length: 1000 }, (_, i) => `e${i}`));
  await r.sadd('set:ints', 1, 2, 3, -100000, 1e12);
  await r.sadd('set:small', 'a', 'b', 'c');
  await r.sadd('set:bigints', ...Array.from({ length: 600 }, (_, i) => i));
  await r.sadd('set:big', ...Array.from({ length: 600 }, (_, i) => `m${i}`));
  await r.hset('h:small', 'f', 'v', 'n', '10');
  await r.hset('h:big', ...Array.from({ length: 600 }, (_, i) => [`f${i}`, `v${i}`]).flat());
  await r.hset('h:longvalue', 'long', 'z'.repeat(100));
  await r.zadd('z:small', 1, 'a', 2.5, 'b', -3, 'c', 'inf', 'd', '-inf', 'e');
  await r.zadd('z:big', ...Array.from({ length: 300 }, (_, i) => [i / 7, `m${i}`]).flat());
  for (let i = 1; i <= 250; i++) await r.xadd('x:groups', `${i}-${i % 3}`, 'f', `v${i}`, ...(i % 7 === 0 ? ['g', 'w'] : []));
  await r.xdel('x:groups', '5-2');
  await r.xgroup('CREATE', 'x:groups', 'g1', '0');
  await r.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', 5, 'STREAMS', 'x:groups', '>');
  await r.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', 3, 'STREAMS', 'x:groups', '>');
  await r.xack('x:groups', 'g1', '2-2');
  await r.xgroup('CREATE', 'x:groups', 'g2', '$', 'ENTRIESREAD', '250');
  await r.xgroup('CREATECONSUMER', 'x:groups', 'g2', 'zed');
  await r.xadd('x:empty', '1-0', 'a', 'b');
  await r.xdel('x:empty', '1-0');
}

/** What a key holds, as both servers would show it (times aside). */
async function contents(r: Client, key: string): Promise<unknown> {
  const type = await r.type(key);
  switch (type) {
    case 'string':
      return [type, (await r.getBuffer(key))?.toString('hex')];
    case 'list':
      return [type, await r.lrange(key, 0, -1)];
    case 'set':
      return [type, (await r.smembers(key)).sort()];
    case 'hash':
      return [type, Object.entries(await r.hgetall(key)).sort()];
    case 'zset':
      return [type, await r.zrange(key, '0', '-1', 'WITHSCORES')];
    case 'stream': {
      const groups = (await r.xinfo('GROUPS', key)) as string[][];
      const pending = await Promise.all(groups.map((g) => r.xpending(key, g[1]!, '-', '+', 1000)));
      const consumers = await Promise.all(groups.map((g) => r.xinfo('CONSUMERS', key, g[1]!)));
      return [type, await r.xrange(key, '-', '+'), withoutTimes('XINFO', await r.xinfo('STREAM', key)), groups, withoutTimes('XPENDING', pending.flat()), withoutTimes('XINFO', consumers)];
    }
    default:
      return [type];
  }
}

/** A payload with `body` (type byte and value), RDB `version`, and its CRC-64. */
function payload(body: Buffer, version = 10): Buffer {
  const v = Buffer.alloc(2);
  v.writeUInt16LE(version, 0);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(Buffer.concat([body, v])), 0);
  return Buffer.concat([body, v, crc]);
}

/** A ziplist of short strings (Redis 6's small-hash encoding). */
function ziplist(items: string[]): Buffer {
  const entries: Buffer[] = [];
  let prev = 0;
  for (const item of items) {
    const data = Buffer.from(item);
    const entry = Buffer.concat([Buffer.from([prev, data.length]), data]);
    entries.push(entry);
    prev = entry.length;
  }
  const body = Buffer.concat(entries);
  const head = Buffer.alloc(10);
  head.writeUInt32LE(10 + body.length + 1, 0);
  head.writeUInt32LE(10 + body.length - prev, 4);
  head.writeUInt16LE(items.length, 8);
  return Buffer.concat([head, body, Buffer.from([0xff])]);
}

describe('DUMP and RESTORE', () => {
  it('move every type from redis-server to xrpkv and from xrpkv to redis-server, unchanged', async () => {
    await fill(beside.ours);
    await fill(beside.theirs);
    const keys = (await beside.theirs.keys('*')).sort();
    expect(keys.length).toBe(19);
    for (const key of keys) {
      const expected = await contents(beside.theirs, key);
      expect(await contents(beside.ours, key), key).toEqual(expected);
      const theirs = await beside.theirs.dumpBuffer(key);
      expect(await beside.ours.restore(`from-redis:${key}`, 0, theirs), key).toBe('OK');
      expect(await contents(beside.ours, `from-redis:${key}`), key).toEqual(expected);
      const ours = await beside.ours.dumpBuffer(key);
      expect(await beside.theirs.restore(`from-xrpkv:${key}`, 0, ours), key).toBe('OK');
      expect(await contents(beside.theirs, `from-xrpkv:${key}`), key).toEqual(expected);
      // And back: xrpkv reads its own payload.
      expect(await beside.ours.restore(`own:${key}`, 0, ours), key).toBe('OK');
      expect(await contents(beside.ours, `own:${key}`), key).toEqual(expected);
    }
  });

  it('answer as redis-server: TTLs, REPLACE, ABSTTL, a missing key, and every error', async () => {
    const same = (...args: (string | Buffer)[]) => beside.same(args);
    for (const r of [beside.ours, beside.theirs]) await r.set('src', 'value');
    const good = await beside.theirs.dumpBuffer('src');
    await same('DUMP', 'nokey');
    await same('RESTORE', 'src', '0', good);
    await same('RESTORE', 'src', '0', good, 'REPLACE');
    await same('RESTORE', 'ttl', '100000', good);
    const [pa, pb] = await Promise.all([beside.ours.pttl('ttl'), beside.theirs.pttl('ttl')]);
    expect(Math.abs(pa - pb)).toBeLessThan(1000);
    await same('RESTORE', 'abs', String(Date.now() + 100_000), good, 'ABSTTL');
    expect(await beside.ours.ttl('abs')).toBeGreaterThan(90);
    await same('RESTORE', 'past', '1000', good, 'ABSTTL');
    await same('EXISTS', 'past');
    await same('RESTORE', 'src', '1000', good, 'ABSTTL', 'REPLACE');
    await same('EXISTS', 'src');
    await same('RESTORE', 'k', '-1', good);
    await same('RESTORE', 'k', 'x', good);
    await same('RESTORE', 'k', '0', good, 'IDLETIME', '-1');
    await same('RESTORE', 'k', '0', good, 'FREQ', '256');
    await same('RESTORE', 'k', '0', good, 'IDLETIME', '5', 'FREQ', '5');
    await same('RESTORE', 'k', '0', good, 'BOGUS');
    await same('RESTORE', 'k', '0', good, 'IDLETIME', '10');
    await same('RESTORE', 'k2', '0', good, 'FREQ', '10');
    const wrongCrc = Buffer.from(good);
    wrongCrc[wrongCrc.length - 1]! ^= 1;
    await same('RESTORE', 'k3', '0', wrongCrc);
    await same('RESTORE', 'k3', '0', payload(good.subarray(0, good.length - 10), 11));
    await same('RESTORE', 'k3', '0', Buffer.from('short'));
    await same('RESTORE', 'k3', '0', payload(Buffer.from([99, 1, 2, 3])));
    // A value that runs into the footer: Redis 7.0 reads the footer's bytes as the value's, xrpkv refuses it.
    const intoFooter = payload(Buffer.from([0, 5, 0x61]));
    expect(await beside.theirs.restore('k4', 0, intoFooter)).toBe('OK');
    await expect(beside.ours.restore('k4', 0, intoFooter)).rejects.toThrow('ERR Bad data format');
    await same('RESTORE', 'k3', '0', payload(Buffer.from([2, 0])));
    await same('EXISTS', 'k3');
  });

  it('read a payload of Redis 6: a hash in a ziplist, RDB version 9', async () => {
    // Type 13 (a hash as a ziplist), then the ziplist as an RDB string: its length first.
    const zl = ziplist(['field', 'value', 'f2', 'v2']);
    const body = Buffer.concat([Buffer.from([13, zl.length]), zl]);
    for (const r of [beside.ours, beside.theirs]) expect(await r.restore('old', 0, payload(body, 9))).toBe('OK');
    expect(await beside.ours.hgetall('old')).toEqual(await beside.theirs.hgetall('old'));
    expect(await beside.ours.hgetall('old')).toEqual({ field: 'value', f2: 'v2' });
  });

  it('refuse damaged payloads with Bad data format, or read them, and keep serving', async () => {
    const r = beside.ours;
    const sources = ['l:small', 'h:big', 'z:small', 'set:ints', 'x:groups', 's:long'];
    const originals = await Promise.all(sources.map((k) => beside.theirs.dumpBuffer(k)));
    const rand = fractions(21);
    let refused = 0;
    let read = 0;
    for (let i = 0; i < 600; i++) {
      const original = originals[i % originals.length]!;
      const body = Buffer.from(original.subarray(0, original.length - 10));
      // Flip, zero or truncate some bytes; the footer is made to fit, so only the reader stands guard.
      const n = 1 + Math.floor(rand() * 4);
      for (let j = 0; j < n; j++) {
        const at = Math.floor(rand() * body.length);
        const how = rand();
        if (how < 0.5) body[at]! ^= 1 << Math.floor(rand() * 8);
        else if (how < 0.8) body[at] = Math.floor(rand() * 256);
        else body[at] = 0xff;
      }
      const cut = rand() < 0.2 ? body.subarray(0, Math.floor(rand() * body.length)) : body;
      const reply = await r.restore('fuzz', 0, payload(cut), 'REPLACE').catch((e: Error) => e.message);
      if (reply === 'OK') {
        read++;
        // What was read is a value like any other: it dumps and restores again.
        const again = await r.dumpBuffer('fuzz');
        expect(await r.restore('fuzz2', 0, again, 'REPLACE')).toBe('OK');
        expect(await contents(r, 'fuzz2')).toEqual(await contents(r, 'fuzz'));
      } else {
        expect(reply).toMatch(/^ERR (Bad data format|member too large)/);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
    expect(read + refused).toBe(600);
    expect(await r.ping()).toBe('PONG');
  });
});

describe('redis-cli --rdb', () => {
  it('saves the database as an RDB file that redis-check-rdb passes and redis-server loads whole', async () => {
    const tmp = tempDir();
    let loaded: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      await beside.ours.flushall();
      await fill(beside.ours);
      const file = join(tmp.dir, 'dump.rdb');
      const saved = await redisCli(beside.server.port, '--rdb', file);
      expect(saved.stderr).toMatch(/Transfer finished with success/);
      const check = await run('redis-check-rdb', [file]);
      expect(check.stdout + check.stderr).toMatch(/RDB looks OK/);
      loaded = await startRedisServer(['--dir', tmp.dir, '--dbfilename', 'dump.rdb']);
      const theirs = ioredisClient(loaded.port, beside.clients);
      const keys = (await beside.ours.keys('*')).sort();
      expect((await theirs.keys('*')).sort()).toEqual(keys);
      for (const key of keys) expect(await contents(theirs, key), key).toEqual(await contents(beside.ours, key));
      expect(Math.abs((await theirs.pttl('s:ttl')) - (await beside.ours.pttl('s:ttl')))).toBeLessThan(2000);
    } finally {
      loaded?.process.kill();
      tmp.remove();
    }
  });

  it('serves SYNC only after REPLCONF rdb-only 1, and refuses a database over its limit', async () => {
    const c = ioredisClient(beside.server.port, beside.clients);
    await expect(c.call('SYNC')).rejects.toThrow(/no replication master/);
    await expect(c.call('PSYNC', '?', '-1')).rejects.toThrow(/no replication master/);
    await expect(c.call('REPLCONF', 'rdb-only')).rejects.toThrow(/syntax error/);
    expect(await c.call('REPLCONF', 'listening-port', '1234', 'capa', 'eof')).toBe('OK');
    const ctx = { keyspace: beside.server.keyspace, client: { proto: 2 } } as unknown as Parameters<typeof rdbFile>[0];
    expect(rdbFile(ctx).subarray(0, 9).toString()).toBe('REDIS0010');
    expect(() => rdbFile(ctx, 1000)).toThrow(/over 1000 bytes as an RDB file/);
  });
});

describe('MIGRATE', () => {
  it('moves every type from redis-server to xrpkv (Redis sends RESTORE) and from xrpkv to redis-server', async () => {
    await beside.ours.flushall();
    await beside.theirs.flushall();
    await fill(beside.theirs);
    const keys = (await beside.theirs.keys('*')).sort();
    const expected = await Promise.all(keys.map((k) => contents(beside.theirs, k)));
    // Redis to xrpkv: redis-server's own MIGRATE.
    expect(await beside.theirs.call('MIGRATE', '127.0.0.1', String(beside.server.port), '', '0', '5000', 'KEYS', ...keys)).toBe('OK');
    expect(await beside.theirs.dbsize()).toBe(0);
    for (const [i, k] of keys.entries()) expect(await contents(beside.ours, k), k).toEqual(expected[i]);
    // And back: xrpkv's MIGRATE.
    expect(await beside.ours.call('MIGRATE', '127.0.0.1', String(beside.redisPort), '', '0', '5000', 'KEYS', ...keys, 'nokey')).toBe('OK');
    expect(await beside.ours.dbsize()).toBe(0);
    for (const [i, k] of keys.entries()) expect(await contents(beside.theirs, k), k).toEqual(expected[i]);
    expect(await beside.theirs.pttl('s:ttl')).toBeGreaterThan(90_000);
  });

  it('answers NOKEY, BUSYKEY, COPY, REPLACE, a refused AUTH and an unreachable target as Redis', async () => {
    const r = beside.ours;
    const to = ['127.0.0.1', String(beside.redisPort)];
    expect(await r.call('MIGRATE', ...to, 'none', '0', '1000')).toBe('NOKEY');
    await r.set('mk', 'v1');
    await beside.theirs.set('mk', 'there');
    await expect(r.call('MIGRATE', ...to, 'mk', '0', '1000')).rejects.toThrow('ERR Target instance replied with error: BUSYKEY Target key name already exists.');
    expect(await r.get('mk')).toBe('v1');
    expect(await r.call('MIGRATE', ...to, 'mk', '0', '1000', 'COPY', 'REPLACE')).toBe('OK');
    expect(await r.get('mk')).toBe('v1');
    expect(await beside.theirs.get('mk')).toBe('v1');
    await expect(r.call('MIGRATE', ...to, 'mk', '0', '1000', 'AUTH', 'wrong')).rejects.toThrow(/^ERR Target instance replied with error: ERR AUTH/);
    await expect(r.call('MIGRATE', '127.0.0.1', '1', 'mk', '0', '500')).rejects.toThrow('IOERR error or timeout connecting to the client');
    await expect(r.call('MIGRATE', ...to, 'mk', '0', '1000', 'KEYS', 'a')).rejects.toThrow('ERR When using MIGRATE KEYS option, the key argument must be set to the empty string');
    await expect(r.call('MIGRATE', ...to, 'mk', '0', '1000', 'BOGUS')).rejects.toThrow('ERR syntax error');
    expect(await r.get('mk')).toBe('v1');
  });
});
