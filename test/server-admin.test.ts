// The administrative commands tools send to any Redis (ROLE, REPLICAOF,
// FAILOVER, MOVE, SWAPDB, MODULE, DEBUG, CLUSTER, READONLY, READWRITE,
// ASKING, BGREWRITEAOF, ACL) on `xrpkv serve` against Debian's redis-server
// 7.0 (started here): the same replies where xrpkv is what they describe
// (a master without replicas, no cluster, no modules, DEBUG off, one user
// with every permission), a reason where it is not.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { startTestServer, useServerBesideRedis } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const beside = useServerBesideRedis('admin.xrpkv');

const same = (...args: string[]): Promise<unknown> => beside.same(args);

describe('administrative commands', () => {
  it('answer as redis-server where xrpkv is what they ask about', async () => {
    for (const line of [
      'ROLE',
      'REPLICAOF NO ONE',
      'SLAVEOF NO ONE',
      'FAILOVER',
      'FAILOVER ABORT',
      'MOVE k 0',
      'MOVE k x',
      'SWAPDB 0 0',
      'SWAPDB x 0',
      'SWAPDB 0 x',
      'MODULE LIST',
      'MODULE LOAD /x',
      'MODULE UNLOAD x',
      'MODULE HELP',
      'MODULE LIST x',
      'DEBUG SLEEP 0',
      'CLUSTER INFO',
      'CLUSTER SLOTS',
      'READONLY',
      'READWRITE',
      'ASKING',
      'BGREWRITEAOF',
      'ACL WHOAMI',
      'ACL USERS',
      'ACL LIST',
      'ACL CAT',
      'ACL GETUSER default',
      'ACL GETUSER nobody',
      'ACL LOG',
      'ACL LOG RESET',
      'ACL LOG x',
      'ACL DRYRUN default get k',
      'ACL DRYRUN nobody get k',
      'ACL DRYRUN default nosuch',
      'ACL SAVE',
      'ACL LOAD',
      'ACL GENPASS 0',
      'ACL GENPASS 5000',
      'ACL CAT nosuch',
      'ACL HELP',
      'ACL WHOAMI x',
      'CONFIG HELP',
      'COMMAND HELP',
      'COMMAND GETKEYS set k v',
      'COMMAND GETKEYS mset a 1 b 2',
      'COMMAND GETKEYS get',
      'COMMAND GETKEYS nosuch x',
      'COMMAND GETKEYS ping x',
      'COMMAND GETKEYS eval x 2 k1 k2 a',
      'CONFIG RESETSTAT x',
      'LOLWUT VERSION 1',
      'LOLWUT VERSION x',
      'RESTORE-ASKING k 0 x',
    ])
      await same(...line.split(' '));
  });

  it('refuse with a reason what xrpkv is not: a replica, another database, another user', async () => {
    const r = beside.ours;
    await expect(r.call('REPLICAOF', '127.0.0.1', '6379')).rejects.toThrow(/cannot be a replica/);
    await expect(r.call('MOVE', 'k', '1')).rejects.toThrow('ERR DB index is out of range');
    await expect(r.call('SWAPDB', '0', '1')).rejects.toThrow('ERR DB index is out of range');
    await expect(r.call('ACL', 'SETUSER', 'bob', 'on')).rejects.toThrow(/one user, default/);
    expect(await r.call('ACL', 'GENPASS')).toMatch(/^[0-9a-f]{64}$/);
    expect(await r.call('ACL', 'GENPASS', '5')).toMatch(/^[0-9a-f]{2}$/);
    const read = (await r.call('ACL', 'CAT', 'read')) as string[];
    expect(read).toContain('get');
    expect(read).not.toContain('set');
    expect((await r.call('ACL', 'CAT', 'write')) as string[]).toContain('set');
    expect((await r.call('ACL', 'CAT', 'slow')) as string[]).toContain('keys');
  });

  it('CONFIG RESETSTAT starts commandstats, errorstats, latencystats and the keyspace hits again', async () => {
    const r = beside.ours;
    await r.get('nothing');
    await r.call('NOSUCHCOMMAND').catch(() => undefined);
    expect(await r.info('commandstats')).toMatch(/cmdstat_get:calls=/);
    expect(await r.info('stats')).toMatch(/keyspace_misses:[1-9]/);
    expect(await r.config('RESETSTAT')).toBe('OK');
    const after = await r.info('all');
    expect(after).not.toMatch(/cmdstat_get:/);
    expect(after).not.toMatch(/errorstat_ERR:/);
    expect(after).toMatch(/keyspace_misses:0\r\n/);
    expect(after).toMatch(/total_commands_processed:[0-9]\r\n/);
  });

  it("shows requirepass's password as Redis does: its SHA-256 in ACL LIST and GETUSER", async () => {
    const tmp = tempDir();
    try {
      const server = await startTestServer(tmp.dir, 'pass.xrpkv', { requirepass: 's3cret' });
      const c = new Redis({ port: server.port, host: '127.0.0.1', password: 's3cret' });
      beside.clients.push(c);
      const hash = createHash('sha256').update('s3cret').digest('hex');
      expect(await c.call('ACL', 'LIST')).toEqual([`user default on #${hash} ~* &* +@all`]);
      expect(((await c.call('ACL', 'GETUSER', 'default')) as unknown[])[3]).toEqual([hash]);
      c.disconnect();
      await server.close();
    } finally {
      tmp.remove();
    }
  });
});
