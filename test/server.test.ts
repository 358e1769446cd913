// `xrpkv serve` with real Redis clients: ioredis and node-redis (their
// default settings: RESP3 via HELLO 3), redis-cli and redis-benchmark, and
// raw sockets for what no client sends (malformed input, limits). The
// server runs in this process on a free loopback port (startServer).
import { connect } from 'node:net';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/server/command-table.js';
import type { RunningServer } from '../src/server/server.js';
import { exchange, redisCli, resp, run, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let server: RunningServer;
let port: number;
const clients: { quit(): Promise<unknown> }[] = [];

beforeAll(async () => {
  server = await startTestServer(tmp.dir, 'clients.xrpkv', { 'max-bulk-len': '64kb', 'max-array-len': '1000', 'max-inline-len': '1kb' });
  port = server.port;
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.quit()));
  await server.close();
  tmp.remove();
});

function ioredis(options = {}): Redis {
  const client = new Redis({ port, host: '127.0.0.1', ...options });
  clients.push(client);
  return client;
}

describe('ioredis (RESP3)', () => {
  it('connects (HELLO 3, the INFO ready check) and runs the string commands', async () => {
    const r = ioredis();
    expect(await r.ping()).toBe('PONG');
    expect(await r.echo('hello')).toBe('hello');
    expect(await r.set('io:a', '1')).toBe('OK');
    expect(await r.get('io:a')).toBe('1');
    expect(await r.get('io:missing')).toBeNull();
    expect(await r.set('io:a', '2', 'NX')).toBeNull();
    expect(await r.set('io:b', '2', 'NX')).toBe('OK');
    expect(await r.set('io:c', '3', 'XX')).toBeNull();
    expect(await r.set('io:b', '3', 'XX', 'GET')).toBe('2');
    expect(await r.set('io:new', 'x', 'GET')).toBeNull();
    expect(await r.get('io:b')).toBe('3');
    expect(await r.mset('io:m1', 'v1', 'io:m2', 'v2')).toBe('OK');
    expect(await r.mget('io:m1', 'io:nope', 'io:m2')).toEqual(['v1', null, 'v2']);
    expect(await r.exists('io:m1', 'io:nope', 'io:m1')).toBe(2);
    expect(await r.del('io:m1', 'io:nope', 'io:m2')).toBe(2);
    expect(await r.exists('io:m1')).toBe(0);
    expect(await r.incr('io:n')).toBe(1);
    expect(await r.incrby('io:n', 41)).toBe(42);
    expect(await r.decr('io:n')).toBe(41);
    expect(await r.decrby('io:n', 50)).toBe(-9);
    await r.set('io:word', '12a');
    await expect(r.incr('io:word')).rejects.toThrow(/value is not an integer/);
    await expect(r.incrby('io:n', '1.5')).rejects.toThrow(/value is not an integer/);
    expect(await r.get('io:n')).toBe('-9');
    await r.set('io:max', '9223372036854775807');
    await expect(r.incr('io:max')).rejects.toThrow(/would overflow/);
    expect(await r.get('io:max')).toBe('9223372036854775807');
    expect(await r.set('io:e', 'v', 'EX', '10')).toBe('OK');
    expect(await r.ttl('io:e')).toBe(10);
  });

  it('keeps binary keys and values byte for byte', async () => {
    const r = ioredis();
    const key = Buffer.from([0, 255, 13, 10, 42]);
    const value = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) & 0xff));
    await r.set(key, value);
    expect((await r.getBuffer(key))!.equals(value)).toBe(true);
    await r.set(key, Buffer.alloc(0));
    expect((await r.getBuffer(key))!.length).toBe(0);
    expect(await r.del(key)).toBe(1);
  });

  it('answers a pipeline in order, each read seeing the writes before it', async () => {
    const r = ioredis();
    const results = await r
      .pipeline()
      .set('pipe:k', '10')
      .get('pipe:k')
      .incr('pipe:k')
      .get('pipe:k')
      .set('pipe:k', 'x', 'NX')
      .del('pipe:k')
      .exists('pipe:k')
      .echo('end')
      .exec();
    expect(results!.map(([err, v]) => err?.message ?? v)).toEqual(['OK', '10', 11, '11', null, 1, 0, 'end']);
  });

  it('keeps INCR atomic across 20 clients', async () => {
    const rs = Array.from({ length: 20 }, () => ioredis());
    await Promise.all(rs.map((r) => Promise.all(Array.from({ length: 50 }, () => r.incr('race:n')))));
    expect(await rs[0]!.get('race:n')).toBe('1000');
  });

  it('scans every key once with scanStream, and matches like KEYS', async () => {
    const r = ioredis();
    await r.mset(...Array.from({ length: 300 }, (_, i) => [`scan:${i}`, String(i)]).flat());
    await r.mset('scanx', '1', 'scan[', '2');
    const seen: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const stream = r.scanStream({ match: 'scan:*', count: 17 });
      stream.on('data', (keys: string[]) => seen.push(...keys));
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    expect(seen.length).toBe(300);
    expect(new Set(seen).size).toBe(300);
    expect((await r.keys('scan:1?')).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `scan:1${i}`).sort());
    expect(await r.keys('scan\\[')).toEqual(['scan[']);
    expect(await r.keys('scan:2[5-6]9')).toEqual(['scan:259', 'scan:269']);
  });

  it('serves INFO, CONFIG GET, CLIENT, SELECT and HELLO', async () => {
    const r = ioredis({ connectionName: 'tester' });
    const info = await r.info();
    expect(info).toMatch(/^# Server\r\nredis_version:\d+\.\d+\.\d+/);
    expect(info).toContain('loading:0');
    expect(info).toMatch(/# Keyspace\r\ndb0:keys=\d+,expires=\d+,avg_ttl=0/);
    expect(info).toMatch(/# Xrpkv\r\n(.*\r\n)*lookup:walk\r\n/);
    expect(info).toMatch(/gets_served:[1-9]\d*/);
    expect(await r.info('keyspace')).not.toContain('# Server');
    // ioredis hands RESP3 maps over as flat arrays (its default replyMapping).
    expect(await r.config('GET', 'max*-len')).toEqual(['max-bulk-len', '65536', 'max-array-len', '1000', 'max-inline-len', '1024']);
    expect(await r.client('GETNAME')).toBe('tester');
    expect(await r.client('SETNAME', 'renamed')).toBe('OK');
    expect(await r.client('GETNAME')).toBe('renamed');
    expect(await r.client('ID')).toBeGreaterThan(0);
    await expect(r.client('SETNAME', 'has space')).rejects.toThrow(/cannot contain spaces/);
    expect(await r.select(0)).toBe('OK');
    await expect(r.select(1)).rejects.toThrow(/DB index is out of range/);
    const hello = (await r.call('HELLO', '3')) as unknown[];
    const fields = Object.fromEntries(Array.from({ length: hello.length / 2 }, (_, i) => [hello[2 * i], hello[2 * i + 1]]));
    expect(fields).toMatchObject({ server: 'redis', proto: 3, mode: 'standalone', role: 'master', id: await r.client('ID') });
    await expect(r.call('HELLO', '4')).rejects.toThrow(/NOPROTO/);
  });

  it('answers an unknown command with an error and keeps the connection', async () => {
    const r = ioredis();
    await expect(r.call('NOSUCHCOMMAND', 'arg')).rejects.toThrow(/ERR unknown command 'NOSUCHCOMMAND'/);
    await expect(r.call('GET')).rejects.toThrow(/wrong number of arguments for 'get'/);
    await expect(r.call('SET', 'big', 'v', 'NX', 'XX')).rejects.toThrow(/syntax error/);
    expect(await r.ping()).toBe('PONG');
  });

  it('refuses an oversize key with an error and keeps the connection', async () => {
    const r = ioredis();
    const key = 'k'.repeat(600);
    await expect(r.set(key, 'v')).rejects.toThrow(/key too large: 600 bytes; xrpkv keys are at most 511 bytes/);
    await expect(r.incr(key)).rejects.toThrow(/key too large/);
    await expect(r.get(key)).rejects.toThrow(/key too large/);
    expect(await r.set('k'.repeat(511), 'v')).toBe('OK');
    expect(await r.ping()).toBe('PONG');
  });
});

describe('node-redis (RESP3)', () => {
  it('connects with default settings and runs commands, SCAN and COMMAND', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${port}` });
    c.on('error', () => {});
    await c.connect();
    clients.push({ quit: () => c.close() });
    expect(await c.ping()).toBe('PONG');
    expect(await c.set('nr:a', 'x')).toBe('OK');
    expect(await c.get('nr:a')).toBe('x');
    expect(await c.set('nr:a', 'y', { condition: 'NX' })).toBeNull();
    expect(await c.mSet({ 'nr:b': '1', 'nr:c': '2' })).toBe('OK');
    expect(await c.mGet(['nr:a', 'nr:b', 'nr:zz'])).toEqual(['x', '1', null]);
    expect(await c.incrBy('nr:b', 5)).toBe(6);
    expect(await c.decrBy('nr:b', 2)).toBe(4);
    expect(await c.exists(['nr:a', 'nr:b'])).toBe(2);
    const keys: string[] = [];
    for await (const batch of c.scanIterator({ MATCH: 'nr:*', COUNT: 1 })) keys.push(...batch);
    expect(keys.sort()).toEqual(['nr:a', 'nr:b', 'nr:c']);
    const names = (await c.sendCommand(['COMMAND', 'LIST'])) as string[];
    expect(await c.commandCount()).toBe(names.length);
    const issue = 'ping echo get set del exists mget mset incr incrby decr decrby scan keys dbsize flushdb info config command client select auth hello quit';
    expect(names).toEqual(expect.arrayContaining(issue.split(' ')));
    const docs = (await c.sendCommand(['COMMAND', 'DOCS', 'get'])) as unknown;
    expect(JSON.stringify(docs)).toContain('Returns the string value of a key.');
    expect(await c.clientSetName('nr')).toBe('OK');
    expect(await c.clientGetName()).toBe('nr');
    expect(await c.info('persistence')).toContain('loading:0');
    await expect(c.sendCommand(['NOSUCH'])).rejects.toThrow(/unknown command/);
    expect(await c.dbSize()).toBeGreaterThan(0);
    expect(await c.del(['nr:a', 'nr:b', 'nr:c'])).toBe(3);
  });
});

describe('redis-cli and redis-benchmark', () => {
  it('redis-cli runs commands, --scan, RESP3 and binary values from stdin', async () => {
    expect((await redisCli(port, 'SET', 'cli:a', 'hello')).stdout).toBe('OK\n');
    expect((await redisCli(port, 'GET', 'cli:a')).stdout).toBe('hello\n');
    const many = Array.from({ length: 25 }, (_, i) => `cli:${i}`);
    expect((await redisCli(port, 'MSET', ...many.flatMap((k) => [k, 'v']), 'clj', 'v')).stdout).toBe('OK\n');
    // 26 keys match: SCAN's default COUNT of 10 takes three calls.
    const scanned = await redisCli(port, '--scan', '--pattern', 'cli:*');
    expect(scanned.stdout.split('\n').filter(Boolean).sort()).toEqual(['cli:a', ...many].sort());
    expect((await redisCli(port, '--no-raw', '-3', 'HELLO', '3')).stdout).toMatch(/^1# "server" => "redis"\n(.*\n)*3# "proto" => \(integer\) 3\n/);
    expect(Number((await redisCli(port, 'COMMAND', 'COUNT')).stdout)).toBe(COMMANDS.size);
    expect((await redisCli(port, 'INFO', 'xrpkv')).stdout).toMatch(/lookup:walk/);
    const binary = Buffer.from([0, 1, 2, 255, 254, 13, 10]);
    expect((await run('redis-cli', ['-p', String(port), '-x', 'SET', 'cli:bin'], binary)).stdout).toBe('OK\n');
    expect((await redisCli(port, '--no-raw', 'GET', 'cli:bin')).stdout).toBe('"\\x00\\x01\\x02\\xff\\xfe\\r\\n"\n');
    expect((await redisCli(port, 'FLUSHDB')).stdout).toBe('OK\n');
    expect((await redisCli(port, 'DBSIZE')).stdout).toBe('0\n');
  });

  it('redis-benchmark runs SET, GET and MSET pipelined from 10 clients', async () => {
    const r = await run('redis-benchmark', ['-p', String(port), '-t', 'set,get,mset', '-n', '3000', '-P', '16', '-c', '10', '-r', '1000', '-q']);
    expect(r.code).toBe(0);
    for (const test of ['SET', 'GET', 'MSET']) expect(r.stdout).toMatch(new RegExp(`${test}.*requests per second`));
    expect(r.stdout + r.stderr).not.toMatch(/error|WARNING/i);
    expect(Number((await redisCli(port, 'DBSIZE')).stdout)).toBeGreaterThan(500);
  });
});

describe('commands on the wire', () => {
  /** Sends `chunks` one at a time (each its own TCP segment) and collects the reply until it ends with `last`. */
  function sendInChunks(chunks: Buffer[], last: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      socket.setNoDelay(true);
      let reply = '';
      socket.on('data', (d: Buffer) => {
        reply += d.toString('latin1');
        if (reply.endsWith(last)) {
          socket.destroy();
          resolve(reply);
        }
      });
      socket.on('error', reject);
      socket.on('connect', async () => {
        for (const chunk of chunks) {
          socket.write(chunk);
          await new Promise((r) => setTimeout(r, 2));
        }
      });
    });
  }

  it('takes command names in any case, also split across TCP segments', async () => {
    const input = Buffer.concat([resp('sEt', 'wire:k', 'v1'), resp('gEt', 'wire:k'), resp('GET', 'wire:none'), resp('Ping'), Buffer.from('get wire:k\r\n')]);
    const expected = '+OK\r\n$2\r\nv1\r\n$-1\r\n+PONG\r\n$2\r\nv1\r\n';
    expect(await sendInChunks([input], expected)).toBe(expected);
    const bytes = [...input].map((b) => Buffer.from([b]));
    expect(await sendInChunks(bytes, expected)).toBe(expected);
  });

  it('batches pipelined SETs and MSETs, keeping their order with other writes and failing only a refused one', async () => {
    const r = ioredis();
    const written = async () => Number(/writes_acknowledged:(\d+)/.exec(await r.info('xrpkv'))![1]);
    const before = await written();
    const big = 'k'.repeat(600);
    const results = await r
      .pipeline()
      .set('batch:a', '1')
      .incr('batch:a')
      .set('batch:a', '10')
      .set(big, 'v')
      .mset('batch:b', 'x', big, 'y')
      .mset('batch:b', 'y', 'batch:c', 'z')
      .incrby('batch:a', 5)
      .set('batch:d', 'd')
      .mget('batch:a', 'batch:b', 'batch:c', 'batch:d')
      .exec();
    expect(results!.map(([err, v]) => err?.message.replace(/:.*/, '') ?? v)).toEqual([
      'OK',
      2,
      'OK',
      'ERR key too large',
      'ERR key too large',
      'OK',
      15,
      'OK',
      ['15', 'y', 'z', 'd'],
    ]);
    expect(await written()).toBe(before + 6);
  });

  it('answers each of many pipelined SETs that share one store batch, and counts each', async () => {
    const r = ioredis();
    const written = async () => Number(/writes_acknowledged:(\d+)/.exec(await r.info('xrpkv'))![1]);
    const before = await written();
    const p = r.pipeline();
    for (let i = 0; i < 500; i++) p.set(`shared:${i % 100}`, String(i));
    p.get('shared:7').del('shared:8').set('shared:8', 'again').get('shared:8');
    const results = (await p.exec())!.map(([err, v]) => err ?? v);
    expect(results.slice(0, 500)).toEqual(Array(500).fill('OK'));
    expect(results.slice(500)).toEqual(['407', 1, 'OK', 'again']);
    expect(await written()).toBe(before + 502);
  });

  it('runs pipelined data-type writes of several clients in order, a failing one alone, each counted once durable', async () => {
    const a = ioredis();
    const b = ioredis();
    const written = async () => Number(/writes_acknowledged:(\d+)/.exec(await a.info('xrpkv'))![1]);
    await a.set('group:str', 'plain');
    const before = await written();
    // Both clients' pipelines arrive together: their writes share store transactions (write-group.ts).
    const pa = a.pipeline();
    const pb = b.pipeline();
    for (let i = 0; i < 50; i++) {
      pa.hincrby('group:shared', 'n', 1).rpush('group:la', `a${i}`);
      pb.hincrby('group:shared', 'n', 1).rpush('group:lb', `b${i}`);
    }
    pa.hset('group:h', 'f', '1').hset('group:str', 'f', 'v').sadd('group:s', 'm').zadd('group:z', 'nope', 'm').zadd('group:z', '2', 'm');
    pa.hincrby('group:h', 'f', 5).lpush('group:str', 'x').hget('group:h', 'f').smembers('group:s').zscore('group:z', 'm');
    const [ra, rb] = await Promise.all([pa.exec(), pb.exec()]);
    const answers = (rs: typeof ra) => rs!.map(([err, v]) => err?.message.split(' ')[0] ?? v);
    expect(answers(ra).slice(0, 100)).toEqual(Array.from({ length: 100 }, (_, i) => (i % 2 === 1 ? (i + 1) / 2 : expect.any(Number))));
    expect(answers(ra).slice(100)).toEqual([1, 'WRONGTYPE', 1, 'ERR', 1, 6, 'WRONGTYPE', '6', ['m'], '2']);
    expect(answers(rb).filter((_, i) => i % 2 === 1)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    // Each client's HINCRBYs answer rising counts, and together they add up: none lost, none applied twice.
    const counts = [...answers(ra).slice(0, 100).filter((_, i) => i % 2 === 0), ...answers(rb).filter((_, i) => i % 2 === 0)] as number[];
    expect([...counts].sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(await a.hget('group:shared', 'n')).toBe('100');
    expect(await a.lrange('group:la', 0, -1)).toEqual(Array.from({ length: 50 }, (_, i) => `a${i}`));
    // The failed commands left nothing behind.
    expect(await a.get('group:str')).toBe('plain');
    expect(await a.zrange('group:z', '0', '-1', 'WITHSCORES')).toEqual(['m', '2']);
    // The 200 + 4 writes that applied; the three that failed are not counted.
    expect(await written()).toBe(before + 204);
  });

  it('answers a pipeline of GETs of binary keys, small and large values, and missing keys, in order (RESP2 and RESP3)', async () => {
    const r = ioredis();
    const keys = [Buffer.from([0]), Buffer.from([13, 10]), Buffer.from([255, 0, 36]), Buffer.from('wire:big')];
    const values = [Buffer.alloc(0), Buffer.from('$-1\r\n'), Buffer.alloc(5000, 0xee), Buffer.from(Array.from({ length: 60_000 }, (_, i) => i & 0xff))];
    for (let i = 0; i < keys.length; i++) await r.set(keys[i]!, values[i]!);
    const gets = [...keys, Buffer.from('wire:missing'), ...keys].flatMap((k) => [resp('GET', k)]);
    const bulkOf = (v: Buffer) => Buffer.concat([Buffer.from(`$${v.length}\r\n`), v, Buffer.from('\r\n')]);
    const replies = (nil: string) => Buffer.concat([...values.map(bulkOf), Buffer.from(nil), ...values.map(bulkOf)]).toString('latin1');
    const resp2 = replies('$-1\r\n');
    expect(await sendInChunks([Buffer.concat(gets)], resp2)).toBe(resp2);
    const hello = resp('HELLO', '3');
    const resp3 = await sendInChunks([Buffer.concat([hello, ...gets])], replies('_\r\n'));
    expect(resp3.startsWith('%')).toBe(true);
    expect(resp3.endsWith(replies('_\r\n'))).toBe(true);
  });
});

describe('bad input', () => {
  const others = async () => expect((await redisCli(port, 'PING')).stdout).toBe('PONG\n');

  it.each([
    ['a reply type where a bulk string belongs', "*2\r\n$3\r\nGET\r\n:1\r\n", "-ERR Protocol error: expected '$', got ':'\r\n"],
    ['a bulk string past max-bulk-len', `*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${64 * 1024 + 1}\r\n`, '-ERR Protocol error: invalid bulk length\r\n'],
    ['an array past max-array-len', '*1001\r\n', '-ERR Protocol error: invalid multibulk length\r\n'],
    ['an inline command past max-inline-len', `GET ${'k'.repeat(2000)}`, '-ERR Protocol error: too big inline request\r\n'],
    ['a negative bulk length', '*1\r\n$-5\r\n', '-ERR Protocol error: invalid bulk length\r\n'],
    ['unbalanced quotes', 'SET "a b\r\n', '-ERR Protocol error: unbalanced quotes in request\r\n'],
  ])('%s: an error, then the connection closes; others are served', async (_what, input, expected) => {
    const { reply, closed } = await exchange(port, `PING\r\n${input}`);
    expect(reply).toBe(`+PONG\r\n${expected}`);
    expect(closed).toBe(true);
    await others();
  });

  it('runs inline commands, and answers a client that closed its sending side', async () => {
    const { reply, closed } = await exchange(port, 'SET inline:a "x y"\r\nGET inline:a\r\nEXISTS inline:a nope\r\nQUIT\r\nPING\r\n');
    expect(reply).toBe('+OK\r\n$3\r\nx y\r\n:1\r\n+OK\r\n');
    expect(closed).toBe(true);
    const half = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => socket.end(resp('SET', 'half', 'v')));
      let got = '';
      socket.on('data', (d: Buffer) => (got += d));
      socket.on('close', () => resolve(got));
    });
    expect(half).toBe('+OK\r\n');
  });

  it('answers a write in the protocol of when it ran, an unknown SCAN cursor and upper-case CONFIG GET', async () => {
    const input = 'SET order:k v\r\nSET order:k w NX\r\nHELLO 3\r\nSCAN 987654321\r\nCONFIG GET MAXCLIENTS\r\nQUIT\r\n';
    const { reply, closed } = await exchange(port, input);
    // SET ... NX's nil is RESP2's although HELLO 3 came before it was durable.
    expect(reply).toMatch(/^\+OK\r\n\$-1\r\n%8\r\n/);
    expect(reply).toMatch(/\r\n-ERR invalid cursor \(unknown, or forgotten[^\r]*\r\n%1\r\n\$10\r\nmaxclients\r\n\$5\r\n10000\r\n\+OK\r\n$/);
    expect(closed).toBe(true);
  });
});

describe('authentication and maxclients', () => {
  let locked: RunningServer;
  beforeAll(async () => {
    locked = await startTestServer(tmp.dir, 'locked.xrpkv', { requirepass: 'sesame', maxclients: '3' });
  });
  afterAll(() => locked.close());

  it('allows only AUTH, HELLO AUTH and QUIT before authentication', async () => {
    const p = locked.port;
    const { reply, closed } = await exchange(
      p,
      Buffer.concat([resp('GET', 'a'), resp('AUTH', 'wrong'), resp('HELLO', '3'), resp('AUTH', 'sesame'), resp('SET', 'a', 'b'), resp('GET', 'a')]),
      10_000,
      (r) => r.endsWith('$1\r\nb\r\n'), // the last reply: the SET's durable commit may take a while
    );
    expect(reply).toBe(
      '-NOAUTH Authentication required.\r\n-WRONGPASS invalid username-password pair or user is disabled.\r\n' +
        '-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time\r\n' +
        '+OK\r\n+OK\r\n$1\r\nb\r\n',
    );
    expect(closed).toBe(false);
    const hello = await exchange(p, Buffer.concat([resp('HELLO', '2', 'AUTH', 'default', 'sesame'), resp('GET', 'a')]), 10_000, (r) =>
      r.endsWith('$1\r\nb\r\n'),
    );
    expect(hello.reply).toMatch(/^\*16\r\n\$6\r\nserver\r\n.*\$1\r\nb\r\n$/s);
    expect((await redisCli(p, '-a', 'sesame', '--no-auth-warning', 'GET', 'a')).stdout).toBe('b\n');
    const r = new Redis({ port: p, host: '127.0.0.1', password: 'sesame' });
    expect(await r.get('a')).toBe('b');
    await r.quit();
    const bad = new Redis({ port: p, host: '127.0.0.1', password: 'nope', retryStrategy: () => null, lazyConnect: true });
    const refused = new Promise<Error>((resolve) => bad.on('error', resolve));
    await expect(bad.connect()).rejects.toThrow();
    expect((await refused).message).toMatch(/WRONGPASS/);
    bad.disconnect();
  });

  it('closes an unauthenticated client sending a large bulk string', async () => {
    const { reply, closed } = await exchange(locked.port, `*2\r\n$4\r\nAUTH\r\n$${20_000}\r\n`);
    expect(reply).toBe('-ERR Protocol error: invalid bulk length\r\n');
    expect(closed).toBe(true);
  });

  it('refuses connections past maxclients and serves again once one closes', async () => {
    const hold = [0, 1, 2].map(() => new Redis({ port: locked.port, host: '127.0.0.1', password: 'sesame' }));
    await Promise.all(hold.map((r) => r.ping()));
    const extra = await exchange(locked.port, '');
    expect(extra).toEqual({ reply: '-ERR max number of clients reached\r\n', closed: true });
    await hold[0]!.quit();
    // The server frees the slot when it sees the close: poll (a loaded machine may take a while).
    let pong = '';
    for (let tries = 0; tries < 50 && pong !== 'PONG\n'; tries++) {
      if (tries > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      pong = (await redisCli(locked.port, '-a', 'sesame', '--no-auth-warning', 'PING')).stdout;
    }
    expect(pong).toBe('PONG\n');
    await Promise.all(hold.slice(1).map((r) => r.quit()));
  });
});
