// Pub/Sub on `xrpkv serve`: SUBSCRIBE, PSUBSCRIBE, their UNSUBSCRIBEs,
// PUBLISH and PUBSUB, through ioredis, node-redis and raw RESP2 and RESP3:
// messages arrive in the order published, to channel and pattern
// subscribers alike; a RESP2 connection with a subscription runs only the
// commands Redis allows there; a connection that goes drops its
// subscriptions.
import net from 'node:net';
import type { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { exchange, ioredisClient, resp, useTestServer } from './server-fixtures.js';

let server: RunningServer;
const clients: Redis[] = [];
useTestServer('pubsub.xrpkv', (s) => (server = s), clients);

const connect = () => ioredisClient(server.port, clients);

/** Resolves once `got` has `n` entries. */
async function until(got: unknown[], n: number): Promise<void> {
  for (let i = 0; i < 1000 && got.length < n; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(got.length).toBe(n);
}

describe('SUBSCRIBE, PSUBSCRIBE and PUBLISH', () => {
  it('deliver messages in the order published, to channel and pattern subscribers (ioredis)', async () => {
    const [sub, psub, pub] = [connect(), connect(), connect()];
    const got: string[][] = [];
    sub.on('message', (channel: string, message: string) => got.push(['message', channel, message]));
    psub.on('pmessage', (pattern: string, channel: string, message: string) => got.push(['pmessage', pattern, channel, message]));
    expect(await sub.subscribe('ps:news', 'ps:other')).toBe(2);
    expect(await psub.psubscribe('ps:n*')).toBe(1);
    expect(await pub.publish('ps:news', 'one')).toBe(2);
    expect(await pub.publish('ps:other', 'two')).toBe(1);
    expect(await pub.publish('ps:nothing', 'three')).toBe(1);
    expect(await pub.publish('ps:elsewhere', 'four')).toBe(0);
    await until(got, 4);
    expect(got.filter((m) => m[0] === 'message')).toEqual([
      ['message', 'ps:news', 'one'],
      ['message', 'ps:other', 'two'],
    ]);
    expect(got.filter((m) => m[0] === 'pmessage')).toEqual([
      ['pmessage', 'ps:n*', 'ps:news', 'one'],
      ['pmessage', 'ps:n*', 'ps:nothing', 'three'],
    ]);
    expect(await pub.pubsub('CHANNELS', 'ps:*')).toEqual(expect.arrayContaining(['ps:news', 'ps:other']));
    expect(await pub.pubsub('NUMSUB', 'ps:news', 'ps:none')).toEqual(['ps:news', 1, 'ps:none', 0]);
    expect(await pub.pubsub('NUMPAT')).toBe(1);
    expect(await pub.info('stats')).toMatch(/pubsub_channels:2\r\npubsub_patterns:1/);
    expect(await pub.client('LIST')).toMatch(/flags=P .* sub=2 psub=0/);
    // A connection that goes drops its subscriptions.
    sub.disconnect();
    psub.disconnect();
    const left = () => server.state.pubsub.channelCount + server.state.pubsub.patternCount;
    for (let i = 0; i < 1000 && left() > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await pub.publish('ps:news', 'five')).toBe(0);
    expect(await pub.pubsub('CHANNELS', 'ps:*')).toEqual([]);
  });

  it('work with node-redis, whose subscriber is a connection of its own', async () => {
    const pub = createClient({ url: `redis://127.0.0.1:${server.port}` });
    pub.on('error', () => {});
    await pub.connect();
    const sub = pub.duplicate();
    await sub.connect();
    const got: string[] = [];
    await sub.subscribe('nr:chan', (message) => got.push(message));
    expect(await pub.publish('nr:chan', 'a')).toBe(1);
    expect(await pub.publish('nr:chan', 'b')).toBe(1);
    await until(got, 2);
    expect(got).toEqual(['a', 'b']);
    await sub.unsubscribe('nr:chan');
    expect(await pub.publish('nr:chan', 'c')).toBe(0);
    await sub.quit();
    await pub.quit();
  });
});

describe('a connection with a subscription', () => {
  it('runs only (P)(UN)SUBSCRIBE, PING and QUIT in RESP2, and answers PING as Redis does there', async () => {
    const { reply } = await exchange(
      server.port,
      Buffer.concat([resp('SUBSCRIBE', 'r2:a'), resp('GET', 'x'), resp('PING'), resp('PING', 'hi'), resp('UNSUBSCRIBE'), resp('UNSUBSCRIBE'), resp('GET', 'r2:missing')]),
      1000,
      (r) => r.endsWith('$-1\r\n'),
    );
    expect(reply).toBe(
      [
        '*3\r\n$9\r\nsubscribe\r\n$4\r\nr2:a\r\n:1\r\n',
        "-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
        '*2\r\n$4\r\npong\r\n$0\r\n\r\n',
        '*2\r\n$4\r\npong\r\n$2\r\nhi\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$4\r\nr2:a\r\n:0\r\n',
        '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n',
        '$-1\r\n',
      ].join(''),
    );
  });

  it('gets messages as pushes in RESP3, and may run any command', async () => {
    const pub = connect();
    const listening = exchange(
      server.port,
      Buffer.concat([resp('HELLO', '3'), resp('SUBSCRIBE', 'r3:a'), resp('GET', 'r3:missing')]),
      2000,
      (r) => r.includes('message'),
    );
    for (let i = 0; i < 1000 && (await pub.pubsub('NUMSUB', 'r3:a'))[1] !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await pub.publish('r3:a', 'hey')).toBe(1);
    const { reply } = await listening;
    expect(reply.slice(reply.indexOf('>3\r\n$9\r\nsubscribe'))).toBe('>3\r\n$9\r\nsubscribe\r\n$4\r\nr3:a\r\n:1\r\n_\r\n>3\r\n$7\r\nmessage\r\n$4\r\nr3:a\r\n$3\r\nhey\r\n');
  });

  it('leaves its subscriptions, its MULTI and RESP3 on RESET', async () => {
    const { reply } = await exchange(
      server.port,
      Buffer.concat([resp('HELLO', '3'), resp('SUBSCRIBE', 'rs:a'), resp('MULTI'), resp('RESET'), resp('EXEC'), resp('HGETALL', 'rs:none')]),
      1000,
      (r) => r.endsWith('*0\r\n'),
    );
    expect(reply.slice(reply.indexOf('>3\r\n$9\r\nsubscribe'))).toBe('>3\r\n$9\r\nsubscribe\r\n$4\r\nrs:a\r\n:1\r\n+OK\r\n+RESET\r\n-ERR EXEC without MULTI\r\n*0\r\n');
    expect(server.state.pubsub.channelCount).toBe(0);
  });

  it('is closed once it reads too slowly, past the output buffer limit', async () => {
    const pub = connect();
    const before = await pub.config('GET', 'client-output-buffer-limit');
    await pub.config('SET', 'client-output-buffer-limit', 'normal 256kb 0 0');
    // A subscriber that never reads.
    const slow = net.connect(server.port, '127.0.0.1');
    slow.on('error', () => {});
    slow.write(resp('SUBSCRIBE', 'slow:a'));
    for (let i = 0; i < 1000 && (await pub.pubsub('NUMSUB', 'slow:a'))[1] !== 1; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    slow.pause();
    const message = 'm'.repeat(64 * 1024);
    let delivered = 0;
    // Far past the limit and what the kernel's socket buffers hold.
    for (let i = 0; i < 1000 && (delivered = (await pub.publish('slow:a', message)) as number) === 1; i++);
    expect(delivered).toBe(0);
    expect(Number(/client_output_buffer_limit_disconnections:(\d+)/.exec(await pub.info('stats'))![1])).toBeGreaterThanOrEqual(1);
    slow.destroy();
    await pub.config('SET', 'client-output-buffer-limit', before[1]!);
  });

  it('cannot subscribe inside MULTI', async () => {
    const r = connect();
    await r.call('MULTI');
    await expect(r.call('SUBSCRIBE', 'm:a')).rejects.toThrow('ERR Command not allowed inside a transaction');
    await expect(r.call('EXEC')).rejects.toThrow(/EXECABORT/);
  });
});
