// `xrpkv serve` as a process (`node dist/cli/main.js serve`): its startup line and
// settings, a graceful stop on SIGTERM with writes in flight and on SHUTDOWN, and a SIGKILL
// in the middle of 50 clients' writes. After either, a restarted server has
// every write that was acknowledged.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFile } from '../src/index.js';
import { requireFreshServer, spawnServer, run, type ServerProcess } from './server-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { ROOT, requireFreshDist, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const running: ServerProcess[] = [];
beforeAll(() => {
  requireFreshDist();
  requireFreshStore();
  requireFreshServer();
});
afterAll(() => {
  for (const s of running) s.proc.kill('SIGKILL');
  tmp.remove();
});

async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const s = await spawnServer(args, env);
  running.push(s);
  return s;
}

/** A client that gives up at once when the server goes away. */
const client = (port: number) => new Redis({ port, host: '127.0.0.1', retryStrategy: () => null, maxRetriesPerRequest: 0 });

describe('xrpkv serve (process)', () => {
  it('prints where it listens and takes settings from flags, environment and a config file', async () => {
    const conf = join(tmp.dir, 'serve.conf');
    writeFileSync(conf, `db ${join(tmp.dir, 'conf.xrpkv')}\nmaxclients 7\nmax-inline-len 2kb\nlookup auto\nclient-output-buffer-limit normal 64mb 16mb 30\n`);
    const s = await serve(['--config', conf, '--lookup', 'walk'], { XRPKV_MAXCLIENTS: '9' });
    expect(s.output()).toMatch(/^xrpkv serve: listening on 127\.0\.0\.1:\d+, db .*conf\.xrpkv, lookup walk \(lookup 'walk' was asked for\), XRP backend (emulator|kernel|unavailable)\n/);
    const r = client(s.port);
    expect(await r.config('GET', 'maxclients')).toEqual(['maxclients', '9']);
    expect(await r.config('GET', 'max-inline-len')).toEqual(['max-inline-len', '2048']);
    expect(await r.config('GET', 'lookup')).toEqual(['lookup', 'walk']);
    expect(await r.config('GET', 'client-output-buffer-limit')).toEqual(['client-output-buffer-limit', `normal ${64 * 2 ** 20} ${16 * 2 ** 20} 30`]);
    r.disconnect();
    s.proc.kill('SIGINT');
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.output()).toMatch(/SIGINT: finishing in-flight commands.*\nxrpkv serve: stopped\n$/);
  });

  it('stops on SHUTDOWN from a client as on SIGTERM: the writes before it are kept, and it exits 0', async () => {
    const db = join(tmp.dir, 'shutdown.xrpkv');
    const s = await serve(['--db', db]);
    const r = client(s.port);
    r.on('error', () => {});
    const other = client(s.port);
    await Promise.all(Array.from({ length: 200 }, (_, i) => r.set(`s:${i}`, String(i))));
    await r.hset('s:h', 'f', 'v');
    // No reply: the connection closes, as Redis's does.
    await expect(other.call('SHUTDOWN', 'NOSAVE')).rejects.toThrow(/Connection is closed/);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.output()).toMatch(/SHUTDOWN from client \d+: finishing in-flight commands.*\nxrpkv serve: stopped\n$/);
    r.disconnect();
    expect(checkFile(db).ok).toBe(true);
    const again = await serve(['--db', db]);
    const c = client(again.port);
    expect(await c.mget(Array.from({ length: 200 }, (_, i) => `s:${i}`))).toEqual(Array.from({ length: 200 }, (_, i) => String(i)));
    expect(await c.hget('s:h', 'f')).toBe('v');
    c.disconnect();
    again.proc.kill('SIGTERM');
    await again.exited;
  });

  it('refuses bad settings with one clear line', async () => {
    const r = await run(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve', '--db', join(tmp.dir, 'x.xrpkv'), '--port', 'http']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("xrpkv: --port: expected a port from 0 to 65535, got 'http'\n");
    const none = await run(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve']);
    expect(none.stderr).toMatch(/^xrpkv: no database file: pass --db PATH/);
  });

  it('on SIGTERM, answers the writes it has received, commits them and exits 0', async () => {
    const db = join(tmp.dir, 'term.xrpkv');
    const s = await serve(['--db', db]);
    const clients = Array.from({ length: 10 }, () => client(s.port));
    await Promise.all(clients.map((c) => c.ping()));
    const acked: string[] = [];
    let first: () => void;
    const firstAck = new Promise<void>((resolve) => (first = resolve));
    // Each client pipelines 300 SETs at once; SIGTERM goes out with the first acknowledgement.
    const sends = clients.flatMap((c, ci) =>
      Array.from({ length: 300 }, (_, i) =>
        c.set(`t:${ci}:${i}`, `v${i}`).then(
          () => {
            acked.push(`t:${ci}:${i}`);
            first();
          },
          () => {},
        ),
      ),
    );
    await firstAck;
    s.proc.kill('SIGTERM');
    const beforeSignal = acked.length;
    await Promise.all(sends);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    clients.forEach((c) => c.disconnect());
    // Writes already received when the signal came were still answered.
    expect(acked.length).toBeGreaterThan(beforeSignal);
    expect(checkFile(db).ok).toBe(true);
    const again = await serve(['--db', db]);
    const r = client(again.port);
    const values = await r.mget(acked);
    expect(values.filter((v, i) => v !== `v${acked[i]!.split(':')[2]}`)).toEqual([]);
    r.disconnect();
    again.proc.kill('SIGTERM');
    await again.exited;
  });

  it('keeps every acknowledged write of 50 clients across a SIGKILL, strings, lists and hashes', async () => {
    const db = join(tmp.dir, 'kill.xrpkv');
    const s = await serve(['--db', db]);
    const clients = Array.from({ length: 50 }, () => client(s.port));
    clients.forEach((c) => c.on('error', () => {}));
    await Promise.all(clients.map((c) => c.ping()));
    /** Per client, the highest sequence number acknowledged. */
    const acked = new Array<number>(50).fill(-1);
    let total = 0;
    let killed = false;
    // Each client writes c:<n> = <i>, w:<n>:<i> = <i>, appends <i> to the list l:<n> and
    // sets field <i> of the hash h:<n> (data-type writes share store transactions:
    // write-group.ts), in sequence, four commands in flight at a time.
    const writers = clients.map(async (c, n) => {
      for (let i = 0; !killed; i++) {
        try {
          await Promise.all([c.set(`c:${n}`, String(i)), c.set(`w:${n}:${i}`, String(i)), c.rpush(`l:${n}`, String(i)), c.hset(`h:${n}`, String(i), String(i))]);
        } catch {
          return;
        }
        acked[n] = i;
        if (++total === 1500) {
          killed = true;
          s.proc.kill('SIGKILL');
        }
      }
    });
    await Promise.all(writers);
    expect(await s.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(total).toBeGreaterThanOrEqual(1500);
    expect(checkFile(db).ok).toBe(true);
    const again = await serve(['--db', db]);
    const r = client(again.port);
    for (let n = 0; n < 50; n++) {
      if (acked[n]! < 0) continue;
      const seq = Array.from({ length: acked[n]! + 1 }, (_, i) => `w:${n}:${i}`);
      expect((await r.mget(seq)).map(Number)).toEqual(seq.map((_, i) => i));
      // The counter is at least the last acknowledged value (a later, unacknowledged write may have landed).
      expect(Number(await r.get(`c:${n}`))).toBeGreaterThanOrEqual(acked[n]!);
      expect((await r.lrange(`l:${n}`, 0, acked[n]!)).map(Number)).toEqual(seq.map((_, i) => i));
      expect((await r.hmget(`h:${n}`, ...seq.map((_, i) => String(i)))).map(Number)).toEqual(seq.map((_, i) => i));
    }
    r.disconnect();
    again.proc.kill('SIGTERM');
    expect(await again.exited).toEqual({ code: 0, signal: null });
  });
});
