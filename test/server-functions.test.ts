// Redis 7's functions on `xrpkv serve` against Debian's redis-server 7.0
// (started here): FUNCTION LOAD's checks and errors, FCALL and FCALL_RO,
// FUNCTION LIST, DELETE, FLUSH, STATS, and DUMP and RESTORE payloads
// that each server takes from the other; then what only xrpkv can show:
// libraries kept in the database file across a restart, and apart from
// the keys (FLUSHALL and DBSIZE do not see them, as in Redis).
import { describe, expect, it } from 'vitest';
import { ioredisClient, startTestServer, useServerBesideRedis } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const beside = useServerBesideRedis('functions.xrpkv');
type Client = typeof beside.ours;

/** FUNCTION LIST's reply with its libraries and their functions by name (both servers list them in their hash tables' order). */
function byName(reply: unknown): unknown {
  if (!Array.isArray(reply)) return reply;
  if (!reply.every((lib) => Array.isArray(lib) && lib[0] === 'library_name')) return reply;
  const libs = [...(reply as unknown[][])].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
  return libs.map((lib) => {
    const out = [...(lib as unknown[])];
    const at = out.indexOf('functions');
    if (at >= 0) out[at + 1] = [...(out[at + 1] as unknown[][])].sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    return out;
  });
}

const same = (...args: string[]): Promise<unknown> => beside.same(args, byName);

const LIB1 = `#!lua name=lib1
redis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)
redis.register_function{function_name='f2', callback=function(keys) return redis.call('set', keys[1], 'v') end, flags={'no-writes'}, description='d2'}
redis.register_function{function_name='incr', callback=function(keys, args) return redis.call('incrby', keys[1], args[1]) end}
redis.register_function{function_name='get', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}`;

describe('FUNCTION and FCALL', () => {
  it('answer as redis-server: loading, calling, listing, deleting, and every error', async () => {
    await same('FUNCTION', 'FLUSH');
    await same('FUNCTION', 'LOAD', LIB1);
    for (const args of [
      ['FCALL', 'f1', '1', 'k', 'a'],
      ['FCALL_RO', 'f1', '0'],
      ['FCALL_RO', 'f2', '1', 'fk'],
      ['FCALL', 'f2', '1', 'fk'],
      ['FCALL', 'incr', '1', 'counter', '5'],
      ['FCALL', 'incr', '1', 'counter', '5'],
      ['FCALL_RO', 'get', '1', 'counter'],
      ['FCALL', 'nosuch', '0'],
      ['FCALL', 'f1', 'x'],
      ['FCALL', 'f1', '5'],
      ['FCALL', 'f1', '-1'],
      ['FUNCTION', 'LOAD', "#!lua name=lib1\nredis.register_function('f3', function() return 1 end)"],
      ['FUNCTION', 'LOAD', "#!lua name=lib2\nredis.register_function('f1', function() return 1 end)"],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nredis.register_function('f 4', function() return 1 end)"],
      ['FUNCTION', 'LOAD', '#!lua name=lib3\nlocal x = 1'],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nredis.call('set','a','b')"],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nstring.format('x')"],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nredis.register_function('g', 1)"],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nredis.register_function{function_name='g', callback=function() end, flags={'bogus'}}"],
      ['FUNCTION', 'LOAD', '#!lua name=lib3\nx = 5'],
      ['FUNCTION', 'LOAD', '#!lua name=lib3 foo=bar\n'],
      ['FUNCTION', 'LOAD', '#!js name=lib3\n'],
      ['FUNCTION', 'LOAD', 'lib'],
      ['FUNCTION', 'LOAD', '#!lua name=lib-3\n'],
      ['FUNCTION', 'LOAD', "#!lua name=lib3\nerror('boom')"],
      ['FUNCTION', 'LOAD', '#!lua name=lib3\nreturn +'],
      ['FUNCTION', 'LOAD', 'BOGUS', 'x'],
      ['FUNCTION', 'LOAD', "#!lua name=lib4\nredis.register_function('h', function(keys, args) error('inner') end)\nredis.register_function('h2', function(keys, args) x = 1 end)"],
      ['FCALL', 'h', '0'],
      ['FCALL', 'h2', '0'],
      ['FUNCTION', 'LOAD', 'REPLACE', "#!lua name=lib4\nredis.register_function('h9', function() return KEYS end)"],
      ['FCALL', 'h', '0'],
      ['FCALL', 'h9', '0'],
      ['FUNCTION', 'LIST'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME', 'lib4', 'WITHCODE'],
      ['FUNCTION', 'LIST', 'LIBRARYNAME'],
      ['FUNCTION', 'LIST', 'BOGUS'],
      ['FUNCTION', 'STATS'],
      ['FUNCTION', 'DELETE', 'nosuch'],
      ['FUNCTION', 'DELETE', 'lib4'],
      ['FUNCTION', 'KILL'],
      ['FUNCTION', 'FLUSH', 'BOGUS'],
      ['FUNCTION', 'RESTORE', 'x'],
      ['FUNCTION', 'RESTORE', 'x', 'BAD'],
      ['FUNCTION', 'NOSUCH'],
      ['FUNCTION', 'DELETE'],
    ])
      await same(...args);
    // Inside MULTI, and from a pipeline.
    const tx = async (c: Client) => c.multi().call('FCALL', 'incr', '1', 'counter', '1').call('FCALL_RO', 'get', '1', 'counter').exec();
    expect(await tx(beside.ours)).toEqual(await tx(beside.theirs));
  });

  it('dump libraries in the same bytes as redis-server, and each server restores the other\'s', async () => {
    for (const r of [beside.ours, beside.theirs]) {
      await r.function('FLUSH');
      await r.function('LOAD', "#!lua name=libA\nredis.register_function('fa', function(keys, args) return 'a' .. (args[1] or '') end)");
    }
    const [ours, theirs] = await Promise.all([beside.ours.callBuffer('FUNCTION', 'DUMP'), beside.theirs.callBuffer('FUNCTION', 'DUMP')]);
    expect((ours as Buffer).equals(theirs as Buffer)).toBe(true);
    await beside.theirs.function('FLUSH');
    expect(await beside.theirs.call('FUNCTION', 'RESTORE', ours as Buffer)).toBe('OK');
    expect(await beside.theirs.fcall('fa', 0, 'x')).toBe('ax');
    await beside.ours.function('FLUSH');
    expect(await beside.ours.call('FUNCTION', 'RESTORE', theirs as Buffer)).toBe('OK');
    expect(await beside.ours.fcall('fa', 0, 'y')).toBe('ay');
    await same('FUNCTION', 'RESTORE', theirs as unknown as string);
    await same('FUNCTION', 'RESTORE', theirs as unknown as string, 'REPLACE');
    await same('FUNCTION', 'RESTORE', theirs as unknown as string, 'FLUSH');
    await same('FUNCTION', 'LIST');
  });

  it('keeps libraries in the database file across a restart, apart from the keys: FLUSHALL and DBSIZE do not see them', async () => {
    const tmp = tempDir();
    try {
      let server = await startTestServer(tmp.dir, 'restart.xrpkv');
      let c = ioredisClient(server.port, beside.clients);
      await c.function('LOAD', LIB1);
      await c.function('LOAD', "#!lua name=gone\nredis.register_function('g', function() return 1 end)");
      await c.function('DELETE', 'gone');
      await c.set('k', 'v');
      expect(await c.dbsize()).toBe(1);
      await c.flushall();
      expect(await c.dbsize()).toBe(0);
      expect(await c.fcall('incr', 1, 'n', 2)).toBe(2);
      c.disconnect();
      await server.close();
      server = await startTestServer(tmp.dir, 'restart.xrpkv');
      c = ioredisClient(server.port, beside.clients);
      expect(await c.fcall('incr', 1, 'n', 3)).toBe(5);
      expect(((await c.function('LIST')) as unknown[]).length).toBe(1);
      await expect(c.fcall('g', 0)).rejects.toThrow('Function not found');
      expect(await c.dbsize()).toBe(1);
      await c.function('FLUSH');
      c.disconnect();
      await server.close();
      server = await startTestServer(tmp.dir, 'restart.xrpkv');
      c = ioredisClient(server.port, beside.clients);
      expect(await c.function('LIST')).toEqual([]);
      c.disconnect();
      await server.close();
    } finally {
      tmp.remove();
    }
  });
});
