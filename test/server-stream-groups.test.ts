// Stream consumer groups on `xrpkv serve` against Debian's redis-server 7.0
// (started here): XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM
// and XINFO, every reply compared (times of delivery and idle times set
// aside: the servers read their clocks at other moments); then what only
// xrpkv can show: blocked readers, a restart, and where a deleted stream's
// group records go.
import { describe, expect, it } from 'vitest';
import { ioredisClient, startTestServer, useServerBesideRedis, withoutTimes } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const beside = useServerBesideRedis('stream-groups.xrpkv');

type Client = typeof beside.ours;

const same = (...args: string[]): Promise<unknown> => beside.same(args, (r) => withoutTimes(args[0]!.toUpperCase(), r));

const settle = (ms = 50) => new Promise((resolve) => setTimeout(resolve, ms));

describe('Stream consumer groups', () => {
  it('answer as redis-server: groups, deliveries, acknowledgements, claims and what XINFO shows', async () => {
    for (const line of [
      'XADD s 1-1 a 1',
      'XADD s 2-1 b 2',
      'XADD s 3-1 c 3',
      'XGROUP CREATE s g 0',
      'XGROUP CREATE s g 0',
      'XGROUP CREATE s g2 $ ENTRIESREAD 3',
      'XGROUP CREATE s g3 $ ENTRIESREAD -2',
      'XGROUP CREATE none g 0',
      'XGROUP CREATE s g4 bad',
      'XGROUP CREATE s g4 0 MKSTREAM BOGUS',
      'XGROUP SETID s nog 0',
      'XGROUP CREATECONSUMER s nog c',
      'XGROUP FOO s',
      'XGROUP CREATE s',
      'XGROUP DESTROY s g extra',
      'XGROUP HELP',
      'XINFO GROUPS s',
      'XREADGROUP GROUP g alice COUNT 2 STREAMS s >',
      'XREADGROUP GROUP g bob STREAMS s >',
      'XREADGROUP GROUP g bob STREAMS s >',
      'XREADGROUP GROUP g bob STREAMS s $',
      'XREADGROUP GROUP nog bob STREAMS s >',
      'XREADGROUP GROUP g bob STREAMS s',
      'XREADGROUP STREAMS s >',
      'XREAD NOACK STREAMS s 0',
      'XPENDING s g',
      'XPENDING s g - + 10',
      'XPENDING s g - + 10 alice',
      'XPENDING s g - + 10 nobody',
      'XPENDING s g (1-1 + 1',
      'XPENDING s g IDLE 100000000 - + 10',
      'XPENDING s g - +',
      'XPENDING s nog',
      'XREADGROUP GROUP g alice STREAMS s 0',
      'XREADGROUP GROUP g alice COUNT 1 STREAMS s 1-1',
      'XACK s g 1-1 9-9',
      'XACK s g bad',
      'XACK s nog bad',
      'XACK none g 1-1',
      'XPENDING s g',
      'XINFO GROUPS s',
      'XINFO CONSUMERS s g',
      'XINFO CONSUMERS s nog',
      'XCLAIM s g carol 0 2-1 3-1 JUSTID',
      'XPENDING s g - + 10',
      'XCLAIM s g carol 0 2-1 BOGUS',
      'XCLAIM s g carol abc 2-1',
      'XCLAIM s g carol 0 2-1 IDLE x',
      'XCLAIM s nog carol 0 2-1',
      'XDEL s 2-1',
      'XREADGROUP GROUP g carol STREAMS s 0',
      'XAUTOCLAIM s g dave 0 0 COUNT 10',
      'XAUTOCLAIM s g dave 0 0 COUNT 0',
      'XAUTOCLAIM s g dave 0 (18446744073709551615-18446744073709551615',
      'XAUTOCLAIM s g dave 0 0 BOGUS',
      'XPENDING s g',
      'XINFO STREAM s',
      'XINFO STREAM s FULL',
      'XINFO STREAM s FULL COUNT 1',
      'XINFO STREAM s LIGHT',
      'XINFO STREAM none',
      'XINFO FOO s',
      'XINFO HELP',
      'XGROUP SETID s g 0',
      'XREADGROUP GROUP g erin NOACK STREAMS s >',
      'XINFO GROUPS s',
      'XGROUP SETID s g $ ENTRIESREAD 2',
      'XINFO GROUPS s',
      'XGROUP DELCONSUMER s g erin',
      'XGROUP DELCONSUMER s g dave',
      'XGROUP DELCONSUMER s g nobody',
      'XGROUP CREATECONSUMER s g zed',
      'XGROUP CREATECONSUMER s g zed',
      'XGROUP DESTROY s g2',
      'XGROUP DESTROY s g2',
      'XCLAIM s g carol 0 1-1 3-1 FORCE RETRYCOUNT 7',
      'XCLAIM s g frank 0 1-1 FORCE',
      'XPENDING s g - + 10',
      'XCLAIM s g carol 0 3-1 LASTID 9-9 IDLE 5',
      'XINFO GROUPS s',
      'XINFO CONSUMERS s g',
      'XGROUP CREATE s2 g $ MKSTREAM',
      'TYPE s2',
      'XLEN s2',
      'XINFO STREAM s2',
      'XREADGROUP GROUP g c STREAMS s2 >',
      'SET str x',
      'XGROUP CREATE str g $',
      'XREADGROUP GROUP g c STREAMS str >',
      'XINFO GROUPS str',
      'XPENDING str g',
      'COPY s s3',
      'XINFO GROUPS s3',
      'XPENDING s3 g - + 10',
      'RENAME s3 s4',
      'XINFO CONSUMERS s4 g',
      'DEL s s2 s4',
      'XINFO GROUPS s',
      'DBSIZE',
    ])
      await same(...line.split(' '));
  });

  it('count what a group has read and its lag across deletions and trims', async () => {
    for (const line of [
      'XADD l 1-0 f v',
      'XADD l 2-0 f v',
      'XADD l 3-0 f v',
      'XADD l 4-0 f v',
      'XGROUP CREATE l g 0',
      'XGROUP CREATE l late 2-0',
      'XINFO GROUPS l',
      'XREADGROUP GROUP g c COUNT 1 STREAMS l >',
      'XINFO GROUPS l',
      'XDEL l 3-0',
      'XINFO GROUPS l',
      'XREADGROUP GROUP g c COUNT 1 STREAMS l >',
      'XINFO GROUPS l',
      'XREADGROUP GROUP g c STREAMS l >',
      'XINFO GROUPS l',
      'XTRIM l MAXLEN 1',
      'XADD l 5-0 f v',
      'XINFO GROUPS l',
      'XREADGROUP GROUP late c STREAMS l >',
      'XINFO GROUPS l',
      'XSETID l 9-0 ENTRIESADDED 20',
      'XINFO GROUPS l',
      'XINFO STREAM l FULL',
    ])
      await same(...line.split(' '));
  });

  it('refuse a subcommand of the wrong arity when it is queued, and from a script', async () => {
    for (const r of [beside.ours, beside.theirs]) await r.xadd('q', '1-0', 'f', 'v');
    const tx = async (c: Client) => {
      await c.call('MULTI');
      const queued = await Promise.all([c.call('XGROUP', 'CREATE', 'q', 'g', '0'), c.call('XGROUP', 'DESTROY', 'q').catch((e: Error) => e.message)]);
      return [queued, await c.call('EXEC').catch((e: Error) => e.message)];
    };
    const [a, b] = await Promise.all([tx(beside.ours), tx(beside.theirs)]);
    expect(a).toEqual(b);
    expect(JSON.stringify(a)).toMatch(/EXECABORT/);
    await same('EVAL', "return redis.pcall('xgroup', 'nosuch', KEYS[1])", '1', 'q');
    await same('EVAL', "return redis.pcall('xgroup', 'destroy', KEYS[1])", '1', 'q');
    await same('EVAL', "redis.call('xgroup', 'create', KEYS[1], 'g', '0') return redis.call('xreadgroup', 'group', 'g', 'c', 'streams', KEYS[1], '>')", '1', 'q');
    await same('EVAL', "return redis.pcall('xreadgroup', 'group', 'g', 'c', 'block', '0', 'streams', KEYS[1], '>')", '1', 'q');
  });

  it('leave WATCH alone, as Redis: reading in a group, acknowledging and claiming change no key', async () => {
    const watcher = async (c: Client, other: Client, args: string[]) => {
      await c.watch('w');
      await other.call(args[0]!, ...args.slice(1));
      return c.multi().ping().exec();
    };
    for (const r of [beside.ours, beside.theirs]) {
      await r.xadd('w', '1-0', 'f', 'v');
      await r.xgroup('CREATE', 'w', 'g', '0');
    }
    const others = [ioredisClient(beside.server.port, beside.clients), beside.theirs.duplicate()];
    try {
      for (const args of [
        ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'w', '>'],
        ['XCLAIM', 'w', 'g', 'd', '0', '1-0'],
        ['XACK', 'w', 'g', '1-0'],
        ['XGROUP', 'CREATECONSUMER', 'w', 'g', 'e'],
        ['XGROUP', 'SETID', 'w', 'g', '0'],
        ['XGROUP', 'DESTROY', 'w', 'g'],
        ['XADD', 'w', '2-0', 'f', 'v'],
      ]) {
        const [a, b] = await Promise.all([watcher(beside.ours, others[0]!, args), watcher(beside.theirs, others[1]!, args)]);
        expect(a, args.join(' ')).toEqual(b);
      }
    } finally {
      others[1]!.disconnect();
    }
  });

  it('XREADGROUP BLOCK gives each new entry to one waiting consumer, answers NOGROUP when the group goes, and nil at its timeout', async () => {
    const [a, b, writer] = [0, 1, 2].map(() => ioredisClient(beside.server.port, beside.clients));
    await writer.xgroup('CREATE', 'bq', 'g', '$', 'MKSTREAM');
    const first = a.xreadgroup('GROUP', 'g', 'alice', 'BLOCK', 0, 'STREAMS', 'bq', '>');
    await settle();
    const second = b.xreadgroup('GROUP', 'g', 'bob', 'BLOCK', 0, 'STREAMS', 'bq', '>');
    await settle();
    expect(await writer.info('clients')).toMatch(/blocked_clients:2\r\n/);
    // Served in the order they blocked: the first entry to alice, the next to bob.
    await writer.xadd('bq', '1-0', 'n', '1');
    expect(await first).toEqual([['bq', [['1-0', ['n', '1']]]]]);
    await settle();
    expect(await writer.info('clients')).toMatch(/blocked_clients:1\r\n/);
    await writer.xadd('bq', '2-0', 'n', '2');
    expect(await second).toEqual([['bq', [['2-0', ['n', '2']]]]]);
    expect(await writer.xpending('bq', 'g', '-', '+', 10)).toEqual([
      ['1-0', 'alice', expect.any(Number), 1],
      ['2-0', 'bob', expect.any(Number), 1],
    ]);
    // The group destroyed while a consumer waits on it.
    const orphaned = a.xreadgroup('GROUP', 'g', 'alice', 'BLOCK', 0, 'STREAMS', 'bq', '>').catch((e: Error) => e.message);
    await settle();
    await writer.xgroup('DESTROY', 'bq', 'g');
    expect(await orphaned).toBe('NOGROUP the consumer group this client was blocked on no longer exists');
    await writer.xgroup('CREATE', 'bq', 'g', '$');
    const started = Date.now();
    expect(await a.xreadgroup('GROUP', 'g', 'alice', 'BLOCK', 100, 'STREAMS', 'bq', '>')).toBeNull();
    expect(Date.now() - started).toBeGreaterThanOrEqual(90);
    // A consumer is made only when it is served: alice waited in vain.
    expect(await writer.xinfo('CONSUMERS', 'bq', 'g')).toEqual([]);
  });

  it('are in the store file: groups, consumers and pending entries survive a restart', async () => {
    const tmp = tempDir();
    try {
      let server = await startTestServer(tmp.dir, 'restart.xrpkv');
      let c = ioredisClient(server.port, beside.clients);
      for (let i = 1; i <= 5; i++) await c.xadd('rs', `${i}-0`, 'f', String(i));
      await c.xgroup('CREATE', 'rs', 'g', '0');
      await c.xreadgroup('GROUP', 'g', 'alice', 'COUNT', 3, 'STREAMS', 'rs', '>');
      await c.xclaim('rs', 'g', 'bob', 0, '2-0', 'RETRYCOUNT', 4);
      await c.xack('rs', 'g', '1-0');
      const before = [await c.xinfo('GROUPS', 'rs'), await c.xpending('rs', 'g', '-', '+', 10), await c.xinfo('STREAM', 'rs', 'FULL')];
      c.disconnect();
      await server.close();
      server = await startTestServer(tmp.dir, 'restart.xrpkv');
      c = ioredisClient(server.port, beside.clients);
      const after = [await c.xinfo('GROUPS', 'rs'), await c.xpending('rs', 'g', '-', '+', 10), await c.xinfo('STREAM', 'rs', 'FULL')];
      const names = ['XINFO', 'XPENDING', 'XINFO'];
      expect(after.map((r, i) => withoutTimes(names[i]!, r))).toEqual(before.map((r, i) => withoutTimes(names[i]!, r)));
      expect(after[1]).toEqual([
        ['2-0', 'bob', expect.any(Number), 4],
        ['3-0', 'alice', expect.any(Number), 1],
      ]);
      expect(await c.xreadgroup('GROUP', 'g', 'carol', 'STREAMS', 'rs', '>')).toEqual([
        [
          'rs',
          [
            ['4-0', ['f', '4']],
            ['5-0', ['f', '5']],
          ],
        ],
      ]);
      c.disconnect();
      await server.close();
    } finally {
      tmp.remove();
    }
  });

  it('go with their stream: at once when few, through the sweep when many, and a stream made again has none', async () => {
    const { server } = beside;
    const r = beside.ours;
    const records = () => server.keyspace.db.count();
    const settled = async () => server.keyspace.counters.orphans === 0 && (await r.dbsize()) === (await r.keys('*')).length;
    for (let i = 0; i < 20 && !(await settled()); i++) await server.keyspace.sweep.tick();
    const start = records();
    // Few: 3 entries, a group, a consumer, 3 pending entries (each a group's and a consumer's record).
    for (let i = 1; i <= 3; i++) await r.xadd('few', `${i}-0`, 'f', 'v');
    await r.xgroup('CREATE', 'few', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'few', '>');
    expect(records() - start).toBe(1 + 3 + 1 + 1 + 6 + (start === 0 ? 1 : 0));
    await r.del('few');
    expect(records()).toBe(start + (start === 0 ? 1 : 0));
    // Many: past what a DEL removes itself.
    for (let i = 1; i <= 100; i++) await r.xadd('many', `${i}-0`, 'f', 'v');
    await r.xgroup('CREATE', 'many', 'g', '0');
    await r.xreadgroup('GROUP', 'g', 'c', 'STREAMS', 'many', '>');
    expect(records() - start).toBeGreaterThan(300);
    await r.del('many');
    expect(server.keyspace.counters.orphans).toBe(100 + 2 + 200);
    await r.xgroup('CREATE', 'many', 'g2', '$', 'MKSTREAM');
    expect(await r.xinfo('GROUPS', 'many')).toEqual([['name', 'g2', 'consumers', 0, 'pending', 0, 'last-delivered-id', '0-0', 'entries-read', null, 'lag', 0]]);
    for (let i = 0; i < 10 && server.keyspace.counters.orphans > 0; i++) await server.keyspace.sweep.tick();
    expect(server.keyspace.counters.orphans).toBe(0);
    // The new stream's metadata and its group; the counters record.
    expect(records() - start).toBeLessThanOrEqual(3);
    await r.del('many');
  });
});
