// Operating `xrpkv serve`: INFO's sections and fields as Redis has them
// (redis_version for the Redis behaviour, xrpkv_version for xrpkv's own),
// commandstats and errorstats, CLIENT LIST, INFO and KILL, and SAVE, BGSAVE,
// LASTSAVE and what SHUTDOWN refuses (test/server-process.test.ts stops a server with it).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { VERSION } from '../src/version.js';
import { ioredisClient, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let server: RunningServer;
const clients: Redis[] = [];

beforeAll(async () => {
  server = await startTestServer(tmp.dir, 'info.xrpkv');
});
afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.quit()));
  await server.close();
  tmp.remove();
});

const connect = (name?: string) => ioredisClient(server.port, clients, name);

/** INFO's fields as an object. */
function fields(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\r\n')
      .filter((l) => l.includes(':') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

describe('INFO', () => {
  it('has the sections and fields Redis has, by default and by name', async () => {
    const r = connect();
    await r.set('i:a', '1', 'EX', 100);
    await r.set('i:b', '2');
    await r.get('i:a');
    await r.get('i:nope');
    await expect(r.hget('i:a', 'f')).rejects.toThrow(/WRONGTYPE/);
    await expect(r.call('NOSUCH')).rejects.toThrow(/unknown command/);
    const text = await r.info();
    const sections = [...text.matchAll(/^# (\w+)/gm)].map((m) => m[1]);
    expect(sections).toEqual(['Server', 'Clients', 'Memory', 'Persistence', 'Stats', 'Replication', 'CPU', 'Errorstats', 'Keyspace', 'Xrpkv']);
    const f = fields(text);
    expect(f.redis_version).toBe('7.0.15');
    expect(f.xrpkv_version).toBe(VERSION);
    expect(Number(f.used_memory)).toBeGreaterThan(0);
    expect(f.used_memory_human).toMatch(/^\d+\.\d\dM$/);
    expect(f.instantaneous_ops_per_sec).toMatch(/^\d+$/);
    expect(Number(f.keyspace_hits)).toBeGreaterThanOrEqual(1);
    expect(Number(f.keyspace_misses)).toBeGreaterThanOrEqual(1);
    expect(f.expired_keys).toBe('0');
    expect(f.db0).toBe('keys=2,expires=1,avg_ttl=0');
    expect(f.errorstat_WRONGTYPE).toBe('count=1');
    expect(f.errorstat_ERR).toMatch(/^count=\d+$/);
    for (const kept of ['aof_last_write_status', 'xrpkv_writable', 'xrpkv_write_error', 'xrpkv_reopens', 'xrpkv_recovery']) expect(f).toHaveProperty(kept);
    expect(text).not.toContain('# Commandstats');
    const stats = fields(await r.info('commandstats'));
    expect(stats.cmdstat_set).toMatch(/^calls=2,usec=\d+,usec_per_call=[\d.]+,rejected_calls=0,failed_calls=0$/);
    expect(stats.cmdstat_hget).toMatch(/calls=1,.*failed_calls=1$/);
    expect(await r.info('all')).toContain('# Commandstats');
    await r.flushall();
    expect(await r.info('keyspace')).toBe('# Keyspace\r\n');
  });

  it("says, under lookup 'auto', how many lookups each path served", async () => {
    const auto = await startTestServer(tmp.dir, 'info-auto.xrpkv', { lookup: 'auto' });
    const r = new Redis({ port: auto.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    try {
      await r.set('a:1', 'x');
      await r.get('a:1');
      const f = fields(await r.info('xrpkv'));
      expect(f.lookup).toBe('auto');
      expect(f.lookup_reason).toMatch(/^lookup 'auto': lookups the store's cache finishes walk/);
      for (const n of ['lookups_cached', 'lookups_walked', 'lookups_chained', 'lookups_batched', 'lookup_batches']) expect(f[n], n).toMatch(/^\d+$/);
      expect(f.lookup_sync_path).toMatch(/^(measuring|walk|chain)$/);
      expect(f.lookup_scan_path).toMatch(/^(measuring|walk|chain)$/);
      // The walk server's INFO has none of these.
      expect(fields(await connect().info('xrpkv')).lookups_cached).toBeUndefined();
    } finally {
      r.disconnect();
      await auto.close();
    }
  });

  it('counts instantaneous_ops_per_sec while commands run', async () => {
    const r = connect();
    const until = Date.now() + 600;
    while (Date.now() < until) await Promise.all(Array.from({ length: 50 }, () => r.ping()));
    expect(Number(fields(await r.info('stats')).instantaneous_ops_per_sec)).toBeGreaterThan(100);
  });
});

describe('CLIENT', () => {
  it('LIST and INFO describe the connections', async () => {
    const a = connect('alpha');
    const b = connect('beta');
    await a.ping();
    await b.call('MULTI');
    await b.call('PING');
    const list = (await a.client('LIST')) as string;
    const lines = list.trim().split('\n');
    const beta = lines.find((l) => l.includes(' name=beta '))!;
    expect(beta).toMatch(/^id=\d+ addr=127\.0\.0\.1:\d+ laddr=127\.0\.0\.1:\d+ fd=-?\d+ name=beta age=\d+ idle=\d+ flags=x db=0 .* multi=1 .* cmd=ping user=default .* resp=[23] /);
    const info = (await a.client('INFO')) as string;
    expect(info).toMatch(/ name=alpha .* cmd=client /);
    expect(info.trim().split('\n')).toHaveLength(1);
    await b.call('DISCARD');
  });

  it("LIST's idle counts the seconds since a connection last sent something", async () => {
    const quiet = connect('quiet');
    const busy = connect('busy');
    await quiet.ping();
    const until = Date.now() + 2100;
    while (Date.now() < until) {
      await busy.ping();
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const idle = (name: string, list: string) => Number(/ idle=(\d+) /.exec(list.split('\n').find((l) => l.includes(` name=${name} `))!)![1]);
    const list = (await busy.client('LIST')) as string;
    expect(idle('quiet', list)).toBeGreaterThanOrEqual(2);
    expect(idle('busy', list)).toBe(0);
    await quiet.ping();
    expect(idle('quiet', (await busy.client('LIST')) as string)).toBe(0);
  });

  it('KILL closes the clients it names: by ID, by address, and itself with SKIPME no', async () => {
    const killer = connect();
    const victim = connect('victim');
    await victim.ping();
    const id = await victim.client('ID');
    const closed = new Promise((resolve) => victim.once('close', resolve));
    expect(await killer.client('KILL', 'ID', String(id))).toBe(1);
    await closed;
    const second = connect('second');
    await second.ping();
    const addr = /addr=(\S+)/.exec((await second.client('INFO')) as string)![1]!;
    expect(await killer.client('KILL', addr)).toBe('OK');
    await expect(killer.client('KILL', '1.2.3.4:5')).rejects.toThrow('ERR No such client');
    expect(await killer.client('KILL', 'ID', '999999')).toBe(0);
    const own = await killer.client('ID');
    const killerClosed = new Promise((resolve) => killer.once('close', resolve));
    // ioredis's typings know no SKIPME filter: the command goes as sent.
    expect(await killer.call('CLIENT', 'KILL', 'ID', String(own), 'SKIPME', 'no')).toBe(1);
    await killerClosed;
  });
});

describe('SAVE, BGSAVE, LASTSAVE and SHUTDOWN', () => {
  it('SAVE answers once the writes before it are durable; LASTSAVE and INFO say when the last commit became durable', async () => {
    const r = connect();
    const before = Math.floor(Date.now() / 1000);
    const [set, save] = await Promise.all([r.set('p:save', 'v'), r.save()]);
    expect([set, save]).toEqual(['OK', 'OK']);
    const last = await r.lastsave();
    expect(last).toBeGreaterThanOrEqual(before);
    expect(last).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(Number(fields(await r.info('persistence')).rdb_last_save_time)).toBe(last);
    expect(await r.bgsave()).toBe('Background saving started');
    expect(await r.call('BGSAVE', 'SCHEDULE')).toBe('Background saving started');
    await expect(r.call('BGSAVE', 'NOW')).rejects.toThrow('ERR syntax error');
  });

  it('SHUTDOWN refuses bad options, ABORT with nothing to abort, and MULTI; the server goes on', async () => {
    const r = connect();
    await expect(r.call('SHUTDOWN', 'SAVE', 'NOSAVE')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SHUTDOWN', 'NOW', 'NOW')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SHUTDOWN', 'LATER')).rejects.toThrow('ERR syntax error');
    await expect(r.call('SHUTDOWN', 'ABORT')).rejects.toThrow('ERR No shutdown in progress.');
    await expect(r.call('SHUTDOWN', 'ABORT', 'NOW')).rejects.toThrow('ERR syntax error');
    const tx = r.multi();
    tx.set('p:multi', '1');
    tx.call('SHUTDOWN');
    await expect(tx.exec()).rejects.toThrow(/EXECABORT/);
    await expect(r.call('MULTI')).resolves.toBe('OK');
    await expect(r.call('SAVE')).rejects.toThrow('ERR Command not allowed inside a transaction');
    await expect(r.call('EXEC')).rejects.toThrow(/EXECABORT/);
    expect(await r.get('p:multi')).toBeNull();
    expect(await r.ping()).toBe('PONG');
  });
});
