// Streams on `xrpkv serve` against Debian's redis-server 7.0 (started
// here): XADD's IDs and errors, XRANGE and XREVRANGE bounds, XDEL, XTRIM,
// XREAD, empty streams that stay, every reply compared; then what only a
// server that blocks can show: XREAD BLOCK woken by another client's XADD,
// `$`, timeouts, a client that goes while waiting, and scripts.
import { describe, expect, it } from 'vitest';
import { ioredisClient, startTestServer, useServerBesideRedis } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const beside = useServerBesideRedis('streams.xrpkv');

const same = (...args: string[]): Promise<unknown> => beside.same(args);

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Streams', () => {
  it('answer as redis-server: IDs, ranges, deletes, trims and reads', async () => {
    for (const line of [
      'XADD s 1-1 f v',
      'XADD s 1-1 f v',
      'XADD s 1-* a b c d',
      'XADD s 2 x y',
      'XADD s 0-0 f v',
      'XADD s 0 f v',
      'XADD s 5-0 f',
      'XADD s NOMKSTREAM 6-0 f v',
      'XADD none NOMKSTREAM * f v',
      'XADD s MAXLEN 3 7-0 f v',
      'XADD s MAXLEN = 4 8-0 f v',
      'XLEN s',
      'XRANGE s - +',
      'XRANGE s (1-2 +',
      'XRANGE s - (7-0',
      'XRANGE s 2 2',
      'XRANGE s - + COUNT 2',
      'XRANGE s - + COUNT 0',
      'XRANGE s (- +',
      'XRANGE s - + COUNT',
      'XRANGE s abc +',
      'XRANGE s (18446744073709551615-18446744073709551615 +',
      'XREVRANGE s + - COUNT 2',
      'XREVRANGE s (7 -',
      'XRANGE nokey - +',
      'XDEL s 2-0 99-0',
      'XLEN s',
      'XDEL s bad',
      'XTRIM s MAXLEN 1',
      'XRANGE s - +',
      'XTRIM s MINID 9',
      'XLEN s',
      'XTRIM s LIMIT 10 MAXLEN 1',
      'XTRIM s MAXLEN 1 LIMIT 10',
      'XTRIM s',
      'XADD s MINID 0 MAXLEN 1 9-0 f v',
      'XADD s MAXLEN -1 9-0 f v',
      'XADD s 10-0 f v',
      'XREAD STREAMS s 0',
      'XREAD COUNT 1 STREAMS s none 0 0',
      'XREAD STREAMS s $',
      'XREAD STREAMS s',
      'XREAD BLOCK 10 STREAMS s $',
      'XREAD BLOCK -1 STREAMS s $',
      'XREAD STREAMS s >',
      'XREAD GROUP g c STREAMS s 0',
      'XREAD STREAMS none 0',
      'TYPE s',
      'OBJECT ENCODING s',
      'XADD s2 MAXLEN 0 1-0 f v',
      'XLEN s2',
      'EXISTS s2',
      'TYPE s2',
      'XDEL s 10-0',
      'XLEN s',
      'EXISTS s',
      'XADD s3 18446744073709551615-18446744073709551615 f v',
      'XADD s3 * f v',
      'XREAD STREAMS s3 18446744073709551615-18446744073709551615',
      'SET str x',
      'XADD str * f v',
      'XLEN str',
      'XRANGE str - +',
      'XREAD STREAMS str 0',
      'XADD s4 5-5 f v',
      'XADD s4 5-* f v',
      'XADD s4 4-* f v',
      'XRANGE s4 - +',
      'RENAME s4 s5',
      'XRANGE s5 - +',
      'COPY s5 s6',
      'XRANGE s6 - +',
      'XSETID s7 1-0',
      'XADD s7 5-0 a b',
      'XADD s7 6-0 a b',
      'XSETID s7 4-0',
      'XSETID s7 6-0',
      'XSETID s7 10-0',
      'XADD s7 7-0 a b',
      'XSETID s7 10 ENTRIESADDED 1',
      'XSETID s7 10 ENTRIESADDED 5 MAXDELETEDID 11-0',
      'XSETID s7 10 ENTRIESADDED 5 MAXDELETEDID 3-0',
      'XSETID s7 10 BOGUS',
      'XSETID s7 abc',
      'XSETID s7 10 ENTRIESADDED -1',
      'XDEL s7 5-0 6-0',
      'XSETID s7 1-0',
      'XADD s7 1-0 a b',
      'XADD s7 2-0 a b',
      'XSETID str 1-0',
      'DEL s5 s6',
      'DBSIZE',
    ])
      await same(...line.split(' '));
    const streams = async (c: typeof beside.ours) => ((await c.call('SCAN', '0', 'TYPE', 'stream', 'COUNT', '100')) as [string, string[]])[1].sort();
    expect(await streams(beside.ours)).toEqual(await streams(beside.theirs));
  });

  it('trim with ~ by whole hundreds, as Redis trims whole nodes of small entries, reading no further than LIMIT', async () => {
    for (const c of [beside.ours, beside.theirs]) await c.eval("for i = 1, 1050 do redis.call('xadd', KEYS[1], '*', 'f', i) end return 1", 1, 'big');
    await same('XLEN', 'big');
    await same('XTRIM', 'big', 'MAXLEN', '~', '100', 'LIMIT', '150');
    await same('XLEN', 'big');
    await same('XTRIM', 'big', 'MAXLEN', '~', '100');
    await same('XLEN', 'big');
    await beside.ours.xadd('big', 'MAXLEN', '~', '10', '*', 'f', 'v');
    await beside.theirs.xadd('big', 'MAXLEN', '~', '10', '*', 'f', 'v');
    await same('XLEN', 'big');
  });

  it('XREAD BLOCK waits for the XADD of another client, reads only what is new after $, and times out with nil', async () => {
    const [reader, writer] = [ioredisClient(beside.server.port, beside.clients), ioredisClient(beside.server.port, beside.clients)];
    await writer.xadd('bs', '1-0', 'old', '1');
    const waiting = reader.xread('BLOCK', 0, 'STREAMS', 'bs', '$');
    await settle();
    expect(await writer.info('clients')).toMatch(/blocked_clients:1\r\n/);
    await writer.xadd('bs', '2-0', 'new', '2');
    expect(await waiting).toEqual([['bs', [['2-0', ['new', '2']]]]]);
    // Several streams, COUNT per stream, and the first key's entries first.
    const both = reader.xread('COUNT', 1, 'BLOCK', 0, 'STREAMS', 'bs2', 'bs', '$', '2-0');
    await settle();
    const p = writer.pipeline();
    p.xadd('bs', '3-0', 'a', '1');
    p.xadd('bs', '4-0', 'b', '2');
    await p.exec();
    expect(await both).toEqual([['bs', [['3-0', ['a', '1']]]]]);
    const started = Date.now();
    expect(await reader.xread('BLOCK', 100, 'STREAMS', 'bs', '$')).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    // A client that goes while waiting leaves nothing behind.
    const leaver = ioredisClient(beside.server.port, beside.clients);
    void leaver.xread('BLOCK', 0, 'STREAMS', 'bs', '$').catch(() => undefined);
    await settle();
    expect(beside.server.keyspace.blocked.size).toBe(1);
    leaver.disconnect();
    for (let i = 0; i < 100 && beside.server.keyspace.blocked.size > 0; i++) await settle(10);
    expect(beside.server.keyspace.blocked.size).toBe(0);
  });

  it('are in the store file: entries, deletes, the last ID and the deadline survive a restart', async () => {
    const tmp = tempDir();
    try {
      let server = await startTestServer(tmp.dir, 'restart.xrpkv');
      let c = ioredisClient(server.port, beside.clients);
      await c.xadd('rs', '1-0', 'a', '1');
      await c.xadd('rs', '2-0', 'b', '2');
      await c.xadd('rs', '3-0', 'c', '3');
      await c.xdel('rs', '3-0');
      await c.expire('rs', 1000);
      c.disconnect();
      await server.close();
      server = await startTestServer(tmp.dir, 'restart.xrpkv');
      c = ioredisClient(server.port, beside.clients);
      expect(await c.xrange('rs', '-', '+')).toEqual([
        ['1-0', ['a', '1']],
        ['2-0', ['b', '2']],
      ]);
      expect(await c.ttl('rs')).toBeGreaterThan(990);
      // The last ID is 3-0 still, though that entry is gone.
      await expect(c.xadd('rs', '3-0', 'd', '4')).rejects.toThrow(/equal or smaller than the target stream top item/);
      expect(await c.type('rs')).toBe('stream');
      c.disconnect();
      await server.close();
    } finally {
      tmp.remove();
    }
  });

  it('work inside MULTI and scripts, where XREAD does not block', async () => {
    const c = ioredisClient(beside.server.port, beside.clients);
    const out = await c.multi().xadd('ms', '1-0', 'f', 'v').xlen('ms').xread('BLOCK', 0, 'STREAMS', 'ms', '1-0').exec();
    expect(out!.map(([, v]) => v)).toEqual(['1-0', 1, null]);
    await same('XADD', 'ls', '1-0', 'f', 'v');
    await same('EVAL', "redis.call('xadd', KEYS[1], '2-0', 'g', 'w') return redis.call('xrange', KEYS[1], '-', '+')", '1', 'ls');
    await same('EVAL', "return redis.call('xread', 'streams', KEYS[1], '0')", '1', 'ls');
    const [a, b] = await Promise.all(
      [beside.ours, beside.theirs].map((r) => r.eval("return redis.call('xread', 'block', '0', 'streams', KEYS[1], '0')", 1, 'ls').catch((e: Error) => e.message.replace(/script: [0-9a-f]{40}/, ''))),
    );
    expect(a).toBe(b);
  });
});
