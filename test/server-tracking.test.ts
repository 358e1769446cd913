// CLIENT TRACKING (client-side caching) on `xrpkv serve` against Debian's
// redis-server 7.0 (started here): the same invalidation bytes for default
// mode (RESP3 pushes), BCAST with prefixes redirected to a RESP2 client
// (messages on __redis__:invalidate), FLUSHALL, NOLOOP, OPTIN and OPTOUT,
// and the same errors; then node-redis's own client-side cache, which
// must serve a changed key fresh.
import { connect, type Socket } from 'node:net';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('tracking.xrpkv');

interface Raw {
  socket: Socket;
  /** Everything received since the last `take`. */
  take(): string;
  send(...args: string[]): void;
}

function raw(port: number): Promise<Raw> {
  return new Promise((resolve, reject) => {
    let got = '';
    const socket = connect(port, '127.0.0.1', () =>
      resolve({
        socket,
        take: () => {
          const out = got;
          got = '';
          return out;
        },
        send: (...args) => socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`),
      }),
    );
    socket.on('data', (d) => (got += d.toString('latin1')));
    socket.on('error', reject);
  });
}

const settle = (ms = 60) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `script` against a server (its port), returning what each connection received, in order. */
async function scenario(port: number, script: (c: Raw[]) => Promise<void>, n: number): Promise<string[]> {
  const conns = await Promise.all(Array.from({ length: n }, () => raw(port)));
  try {
    await script(conns);
    await settle(150);
    return conns.map((c) => c.take());
  } finally {
    for (const c of conns) c.socket.destroy();
  }
}

/** The same scenario on both servers: the same bytes. */
async function same(n: number, script: (c: Raw[], port: number) => Promise<void>): Promise<string[]> {
  const [ours, theirs] = [
    await scenario(beside.server.port, (c) => script(c, beside.server.port), n),
    await scenario(beside.redisPort, (c) => script(c, beside.redisPort), n),
  ];
  expect(ours).toEqual(theirs);
  return ours;
}

describe('CLIENT TRACKING', () => {
  it('tells a RESP3 client of each key it read once another client changes it, and of FLUSHALL', async () => {
    const [reader] = await same(2, async ([a, b]) => {
      a!.send('HELLO', '3');
      await settle();
      a!.take();
      a!.send('CLIENT', 'TRACKING', 'ON');
      a!.send('GET', 'tk');
      a!.send('MGET', 'tk2', 'tk3');
      a!.send('HGET', 'th', 'f');
      await settle();
      b!.send('SET', 'tk', 'v');
      b!.send('MSET', 'tk2', '1', 'tk3', '2');
      b!.send('HSET', 'th', 'f', 'v');
      await settle();
      // Told once: not again until read again.
      b!.send('SET', 'tk', 'again');
      await settle();
      a!.send('GET', 'tk');
      await settle();
      b!.send('DEL', 'tk');
      await settle();
      b!.send('FLUSHALL');
    });
    expect(reader).toMatch(/invalidate\r\n\*1\r\n\$2\r\ntk\r\n/);
    expect(reader).toMatch(/invalidate\r\n_\r\n$/);
  });

  it('sends BCAST invalidations under its prefixes to a RESP2 client subscribed to __redis__:invalidate, and honours NOLOOP', async () => {
    await same(3, async ([listener, tracker, writer], port) => {
      listener!.send('CLIENT', 'ID');
      await settle();
      const id = /:(\d+)/.exec(listener!.take())![1]!;
      listener!.send('SUBSCRIBE', '__redis__:invalidate');
      tracker!.send('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'BCAST', 'PREFIX', 'p:', 'PREFIX', 'user:', 'NOLOOP');
      await settle();
      writer!.send('SET', 'p:1', 'x');
      writer!.send('SET', 'q:1', 'x');
      writer!.send('HSET', 'user:7', 'name', 'n');
      await settle();
      // Its own change is not told (NOLOOP).
      tracker!.send('SET', 'p:2', 'mine');
      await settle();
      writer!.send('EXPIRE', 'p:1', '100');
      await settle();
      expect(port).toBeGreaterThan(0);
    });
  });

  it('OPTIN tracks only what follows CLIENT CACHING yes, OPTOUT all but what follows CLIENT CACHING no', async () => {
    await same(3, async ([optin, optout, writer]) => {
      for (const c of [optin!, optout!]) c.send('HELLO', '3');
      await settle();
      optin!.take();
      optout!.take();
      optin!.send('CLIENT', 'TRACKING', 'ON', 'OPTIN');
      optin!.send('GET', 'o1');
      optin!.send('CLIENT', 'CACHING', 'YES');
      optin!.send('GET', 'o2');
      optout!.send('CLIENT', 'TRACKING', 'ON', 'OPTOUT');
      optout!.send('GET', 'o3');
      optout!.send('CLIENT', 'CACHING', 'NO');
      optout!.send('GET', 'o4');
      optin!.send('CLIENT', 'TRACKINGINFO');
      optin!.send('CLIENT', 'GETREDIR');
      await settle();
      writer!.send('MSET', 'o1', '1', 'o2', '2', 'o3', '3', 'o4', '4');
    });
  });

  it('answers the same errors as redis-server', async () => {
    const run = async (port: number) =>
      scenario(
        port,
        async ([c]) => {
          for (const line of [
            'CLIENT TRACKING ON PREFIX p:',
            'CLIENT TRACKING ON OPTIN OPTOUT',
            'CLIENT TRACKING ON BCAST OPTIN',
            'CLIENT TRACKING ON REDIRECT 999999',
            'CLIENT TRACKING ON REDIRECT x',
            'CLIENT TRACKING MAYBE',
            'CLIENT TRACKING ON BOGUS',
            'CLIENT TRACKING ON BCAST PREFIX ab PREFIX abc',
            'CLIENT CACHING YES',
            'CLIENT GETREDIR',
            'CLIENT TRACKINGINFO',
            'CLIENT TRACKING ON',
            'CLIENT TRACKING ON BCAST',
            'CLIENT CACHING YES',
            'CLIENT TRACKING ON OPTOUT',
            'CLIENT CACHING YES',
            'CLIENT CACHING MAYBE',
            'CLIENT TRACKING OFF',
            'CLIENT GETREDIR',
          ])
            c!.send(...line.split(' '));
        },
        1,
      );
    expect(await run(beside.server.port)).toEqual(await run(beside.redisPort));
  });

  it("serves node-redis's client-side cache: a hit while the key is unchanged, the new value once another client changes it", async () => {
    const cached = createClient({ socket: { port: beside.server.port, host: '127.0.0.1' }, RESP: 3, clientSideCache: { ttl: 0, maxEntries: 0 } });
    const other = createClient({ socket: { port: beside.server.port, host: '127.0.0.1' } });
    await Promise.all([cached.connect(), other.connect()]);
    try {
      await other.set('csc:k', 'v1');
      expect(await cached.get('csc:k')).toBe('v1');
      expect(await cached.get('csc:k')).toBe('v1');
      const cache = cached.clientSideCache!;
      expect(cache.stats().hitCount).toBe(1);
      await other.set('csc:k', 'v2');
      for (let i = 0; i < 50 && cache.size() > 0; i++) await settle(10);
      expect(await cached.get('csc:k')).toBe('v2');
      expect(cache.stats().missCount).toBe(2);
    } finally {
      await Promise.all([cached.quit(), other.quit()]);
    }
  });
});
