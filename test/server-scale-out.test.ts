// Scale-out behind twemproxy (Debian's `nutcracker`, installed by
// scripts/setup.sh): three `xrpkv serve` on loopback behind one proxy
// (ketama, fnv1a_64, hash tags {...}), as docs/SCALE-OUT.md sets it up.
// Writes and reads through the proxy with redis-cli and ioredis; a stopped
// backend fails its own keys while the others' are served; restarted, its
// data is back.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { redisCli, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const backends: (RunningServer | undefined)[] = [];
const ports: number[] = [];
let proxy: ChildProcess;
let proxyPort: number;
let client: Redis;

/** nutcracker is in /usr/sbin, which a user's PATH may lack. */
const NUTCRACKER = ['/usr/sbin/nutcracker', '/usr/bin/nutcracker'].find((p) => existsSync(p)) ?? 'nutcracker';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const startBackend = (i: number) => startTestServer(tmp.dir, `shard${i}.xrpkv`, { port: String(ports[i]) });

beforeAll(async () => {
  for (let i = 0; i < 3; i++) ports.push(await freePort());
  for (let i = 0; i < 3; i++) backends.push(await startBackend(i));
  proxyPort = await freePort();
  const config = join(tmp.dir, 'nutcracker.yml');
  writeFileSync(
    config,
    [
      'xrpkv:',
      `  listen: 127.0.0.1:${proxyPort}`,
      '  hash: fnv1a_64',
      '  hash_tag: "{}"',
      '  distribution: ketama',
      '  redis: true',
      // A stopped backend's keys fail rather than move to another one (whose data they are not).
      '  auto_eject_hosts: false',
      '  timeout: 2000',
      '  servers:',
      ...ports.map((p, i) => `    - 127.0.0.1:${p}:1 shard${i}`),
      '',
    ].join('\n'),
  );
  proxy = spawn(NUTCRACKER, ['-c', config, '-s', String(await freePort())], { stdio: ['ignore', 'pipe', 'pipe'] });
  // Ready when it answers.
  for (let tries = 0; ; tries++) {
    if ((await redisCli(proxyPort, 'PING')).stdout === 'PONG\n') break;
    if (tries > 50) throw new Error('nutcracker did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // RESP2, no CLIENT SETINFO, no INFO ready check: twemproxy forwards none of HELLO, CLIENT and INFO.
  client = new Redis({ port: proxyPort, host: '127.0.0.1', protocol: 2, disableClientInfo: true, enableReadyCheck: false, maxRetriesPerRequest: 0 });
  client.on('error', () => {});
}, 30_000);

afterAll(async () => {
  client?.disconnect();
  proxy?.kill();
  await Promise.all(backends.map((b) => b?.close()));
  tmp.remove();
});

/** Which backend holds `key` (asked directly). */
async function holder(key: string): Promise<number> {
  for (let i = 0; i < 3; i++) if (backends[i]?.keyspace.db.has(Buffer.from(key))) return i;
  return -1;
}

describe('three xrpkv serve behind twemproxy', () => {
  const keys = Array.from({ length: 60 }, (_, i) => `user:${(i * 2654435761) % 1000003}`);

  it('spreads keys over the backends, and serves them through the proxy (redis-cli, ioredis)', async () => {
    for (const k of keys.slice(0, 20)) expect((await redisCli(proxyPort, 'SET', k, `v-${k}`)).stdout).toBe('OK\n');
    expect(await client.mset(Object.fromEntries(keys.slice(20).map((k) => [k, `v-${k}`])))).toBe('OK');
    expect(await client.mget(...keys)).toEqual(keys.map((k) => `v-${k}`));
    expect((await redisCli(proxyPort, 'GET', keys[3]!)).stdout).toBe(`v-${keys[3]}\n`);
    const owners = await Promise.all(keys.map(holder));
    expect(new Set(owners)).toEqual(new Set([0, 1, 2]));
    // Every type, and expiry, pass through.
    expect(await client.hset('h:1', 'f', 'v')).toBe(1);
    expect(await client.rpush('l:1', 'a', 'b')).toBe(2);
    expect(await client.zadd('z:1', 1, 'm')).toBe(1);
    expect(await client.set('t:1', 'v', 'EX', 100)).toBe('OK');
    expect(await client.ttl('t:1')).toBe(100);
    // A hash tag puts keys on one backend, so a multi-key command over them has one shard to go to.
    await client.mset('{cart:7}:items', '3', '{cart:7}:total', '42');
    expect(await holder('{cart:7}:items')).toBe(await holder('{cart:7}:total'));
  });

  it("fails a stopped backend's keys and serves the others; restarted, its data is back", async () => {
    const owners = await Promise.all(keys.map(holder));
    const stopped = owners[0]!;
    await backends[stopped]!.close();
    backends[stopped] = undefined;
    for (const [i, k] of keys.entries()) {
      if (owners[i] === stopped) await expect(client.get(k), k).rejects.toThrow();
      else expect(await client.get(k), k).toBe(`v-${k}`);
    }
    backends[stopped] = await startBackend(stopped);
    for (let tries = 0; (await client.get(keys[0]!).catch(() => undefined)) === undefined && tries < 50; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await client.mget(...keys)).toEqual(keys.map((k) => `v-${k}`));
  });

  it('does not forward MULTI, SCAN or RENAME (twemproxy closes the connection), as docs/SCALE-OUT.md says', async () => {
    for (const command of [['MULTI'], ['SCAN', '0'], ['RENAME', '{a}x', '{a}y']]) {
      const out = await redisCli(proxyPort, ...command);
      expect(out.stdout + out.stderr).toMatch(/closed the connection/);
    }
  });
});
