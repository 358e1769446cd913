// Lua scripts on `xrpkv serve`: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and
// SCRIPT. The same scripts go to Debian's redis-server 7.0 (started here)
// and to xrpkv, and the replies must match but for the differences
// docs/SERVER.md names (Lua 5.4's own error texts and number printing);
// then what Redis promises of a script: it runs whole, with no other
// client's command between its commands; its writes are durable when it
// answers; a failure keeps the writes before it; and what xrpkv adds: a
// script past busy-reply-threshold is stopped with none of its writes kept,
// Lua's memory is capped, values cross byte for byte.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { metaKey } from '../src/server/layout.js';
import { ioredisClient, useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('scripting.xrpkv', { 'busy-reply-threshold': '300' });

const connect = () => ioredisClient(beside.server.port, beside.clients);

/** A reply or the error's message, with script SHA-1s named alike. */
async function reply(c: Redis, args: (string | number)[]): Promise<unknown> {
  try {
    return await c.call('EVAL', ...args);
  } catch (e) {
    return `error: ${(e as Error).message.replace(/script: [0-9a-f]{40}/, 'script: SHA')}`;
  }
}

// [script, numkeys, keys and args...], run in this order on both servers.
const SAME: (string | number)[][] = [
  ["return redis.call('incr', KEYS[1])", 1, 'sc:n'],
  ["return redis.pcall('incr', KEYS[1])", 1, 'sc:n'],
  ["redis.call('set', KEYS[1], 'x') return redis.pcall('incr', KEYS[1])", 1, 'sc:n'],
  ["return redis.call('incr', KEYS[1])", 1, 'sc:n'],
  ["return redis.call('nosuch')", 0],
  ["error('boom')", 0],
  ["error({err='MYERR x'})", 0],
  ["error('x', 0)", 0],
  ['return x', 0],
  ['x = 1', 0],
  ['string.x = 1', 0],
  ["return {1, 2.7, 'a', false, true, nil, 5}", 0],
  ["return {1, {2, {3}}, {ok='s'}, {err='e'}}", 0],
  ["return {ok='fine'}", 0],
  ["return redis.status_reply('S')", 0],
  ["return redis.error_reply('E1 bad')", 0],
  ["return redis.error_reply('bad')", 0],
  ["return redis.error_reply('-BAD z')", 0],
  ["return {err='x'}", 0],
  ['return 3.99', 0],
  ['return -3.7', 0],
  ['return 2^63', 0],
  ['return 0/0', 0],
  ['return math.huge', 0],
  ["return redis.call('get', 'sc:none')", 0],
  ["return type(redis.call('get', 'sc:none'))", 0],
  ["redis.call('set', 'sc:f', 3.5) return redis.call('get', 'sc:f')", 0],
  ["redis.call('set', 'sc:f', 0.1) return redis.call('get', 'sc:f')", 0],
  ["redis.call('set', 'sc:f', 1e20) return redis.call('get', 'sc:f')", 0],
  ["return redis.call('set', 'sc:f', {})", 0],
  ['return redis.call()', 0],
  ["return redis.call('get')", 0],
  ["return redis.call('blpop', 'sc:l', 0)", 0],
  ["return redis.call('bzpopmin', 'sc:z', 0)", 0],
  ["redis.call('rpush', 'sc:bl', 'a') return redis.call('blmpop', '0', '1', 'sc:bl', 'LEFT')", 0],
  ["return redis.call('blmpop', '0', '1', 'sc:bl', 'LEFT')", 0],
  ["return redis.call('bzmpop', '0', '1', 'sc:bz', 'MIN')", 0],
  ["return redis.call('subscribe', 'sc:c')", 0],
  ["return redis.call('multi')", 0],
  ["return redis.call('eval', 'return 1', 0)", 0],
  ["return redis.call('config', 'get', 'maxclients')", 0],
  ["return redis.call('client', 'id')", 0],
  ["return redis.call('shutdown')", 0],
  ["return redis.call('publish', 'sc:channel', 'm')", 0],
  ["return #redis.call('time')", 0],
  ["return redis.call('hset', 'sc:h', 'f', 'v', 'g')", 0],
  ["return redis.call('hset', 'sc:h', 'f', 'v')", 0],
  ["return redis.call('hgetall', 'sc:h')", 0],
  ["return redis.call('lpush', 'sc:l', 'a', 'b')", 0],
  ["return redis.call('lrange', 'sc:l', 0, -1)", 0],
  ["return redis.call('type', 'sc:l').ok", 0],
  ["return redis.call('get', 'sc:l')", 0],
  ["return redis.pcall('get', 'sc:l').err", 0],
  ["return redis.call('zadd', 'sc:z', 1.5, 'm')", 0],
  ["return redis.call('zscore', 'sc:z', 'm')", 0],
  ["return redis.call('incrbyfloat', 'sc:fl', '1.5')", 0],
  ["return redis.call('ping')", 0],
  ["return redis.call('exists', KEYS[1], KEYS[2], KEYS[3])", 3, 'sc:l', 'sc:h', 'sc:none'],
  ['return KEYS[1] .. ARGV[1] .. #ARGV .. #KEYS', 1, 'k', 'a1', 'a2'],
  ['return unpack({1, 2})', 0],
  ["return loadstring('return 7')()", 0],
  ['return bit.band(6, 3) .. bit.bor(1, 2, 4) .. bit.bxor(5, 1) .. bit.tohex(255) .. bit.tohex(-1, -4)', 0],
  ['return bit.bnot(0) .. bit.lshift(1, 31) .. bit.rshift(-1, 28) .. bit.arshift(-256, 4) .. bit.tobit(2^32 + 5)', 0],
  ['return bit.rol(1, 33) .. bit.ror(1, 1) .. bit.bswap(0x12345678)', 0],
  ["return redis.sha1hex('')", 0],
  ["return tonumber('0x10')", 0],
  ["return rawset(_G, 'y', 1)", 0],
  ["return cmsgpack.pack(3.5, 0.1, 3, 300, -1, -100, -40000, 70000, 5000000000, -5000000000, true, false, 'x', string.rep('y', 40), string.rep('z', 300))", 0],
  ["return cmsgpack.pack({1, 2, 3}, {a = 1}, {}, {1, nil, 3}, {[1] = 'a', [2] = 'b'}, 2^53, -2^63, 1e20, 0/0, 1/0)", 0],
  ["return {cmsgpack.unpack(cmsgpack.pack(1, 'two', {3, 4}, {k = 'v'}, true, string.rep('s', 40)))}", 0],
  ['return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}', 0],
  ['return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}', 0],
  ['return cmsgpack.unpack(string.char(0xcd))', 0],
  ['return cmsgpack.unpack(string.char(0xc4, 3) .. "abc")', 0],
  ['return cmsgpack.pack()', 0],
  ["return cjson.encode({1, 2, 'a/b', true, false, {a = {1, 2}}, {}})", 0],
  ["return cjson.encode('x\\n\"y\\1') .. cjson.encode(1.5) .. cjson.encode(3) .. cjson.encode(-0.1) .. cjson.encode({[1] = 1, [3] = 3})", 0],
  ['return cjson.encode({[1] = 1, [30] = 3})', 0],
  ['return cjson.encode(0/0)', 0],
  ['return cjson.encode({[true] = 1})', 0],
  ['return cjson.encode(function() end)', 0],
  ["return cjson.decode('[1, 2.5, \"a\\\\u00e9\\\\ud83d\\\\ude00\", true, null, {\"k\": [false]}]')[3]", 0],
  ["return cjson.decode('{\"a\": {\"b\": [10, 20]}}').a.b[2] .. #cjson.decode('[1, null, 3]')", 0],
  ["return cjson.encode(cjson.decode('[1, null, {\"n\": null}, [[]], -1.5e2, \"\\\\t\\\\/\"]'))", 0],
  ["return type(cjson.decode('null')) .. tostring(cjson.decode('null') == cjson.null)", 0],
  ["return cjson.decode('[1, 2')", 0],
  ["return cjson.decode('{\"a\" 1}')", 0],
  ["return cjson.decode('[1] x')", 0],
  ["return cjson.decode('nul')", 0],
  ['return cjson.decode(5)', 0],
  ['cjson.x = 1', 0],
  ['return os', 0],
  ['return io', 0],
  ['return pcall(function() error(\'in\') end)', 0],
  ["return select('#', pcall(error, 'e'))", 0],
  ['local t = {} for i = 1, 10 do t[i] = i * i end return t', 0],
  ["return redis.call('del', 'sc:n', 'sc:f', 'sc:h', 'sc:l', 'sc:z', 'sc:fl')", 0],
  ['return 1', -1],
  ['return 1', 2, 'a'],
  ['return 1', 'x'],
];

describe('EVAL', () => {
  it('answers as redis-server 7.0 does, for the same scripts in the same order', async () => {
    for (const args of SAME) expect(await reply(beside.ours, args), `EVAL ${JSON.stringify(args)}`).toEqual(await reply(beside.theirs, args));
  });

  it('differs from redis-server only as docs/SERVER.md says: Lua 5.4 numbers and messages', async () => {
    const c = connect();
    // Lua 5.4 prints a float that holds an integer as "5.0" (5.1: "5"), knows // and integers of 64 bits.
    expect(await reply(c, ['return tostring(10/2)', 0])).toBe('5.0');
    expect(await reply(c, ['return 10 // 3', 0])).toBe(3);
    expect(await reply(c, ['return 2^53 + 1 == 2^53', 0])).toBe(1);
    expect(await reply(c, ['return tostring(2^53 + 1)', 0])).toBe('9.007199254741e+15');
    expect(await reply(c, ['return tostring(9007199254740993)', 0])).toBe('9007199254740993');
    // Lua's compile errors in its own words: the prefix is Redis's.
    expect(await reply(c, ['return 1 +', 0])).toBe('error: ERR Error compiling script (new function): user_script:1: unexpected symbol near <eof>');
    expect(await reply(c, ['return redis.setresp(3)', 0])).toBe('error: ERR user_script:1: xrpkv runs scripts with RESP2 replies only script: SHA, on @user_script:1.');
  });

  it('keeps values byte for byte both ways, and 64-bit integers exact', async () => {
    const c = connect();
    const binary = Buffer.from([0, 255, 13, 10, 0x80, 0xc3, 0x28, 0]);
    expect(await c.callBuffer('EVAL', "redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", 1, 'sc:bin', binary)).toEqual(binary);
    expect(await c.getBuffer('sc:bin')).toEqual(binary);
    expect(await c.call('EVAL', 'return #ARGV[1]', 0, binary)).toBe(binary.length);
    await c.set('sc:i', '9223372036854775806');
    // As text: ioredis would round the integer reply to a double.
    expect(await c.call('EVAL', "return tostring(redis.call('incr', KEYS[1]))", 1, 'sc:i')).toBe('9223372036854775807');
    expect(await c.get('sc:i')).toBe('9223372036854775807');
    await c.del('sc:bin', 'sc:i');
  });
});

describe('EVALSHA and SCRIPT', () => {
  it('run a script by its SHA-1 as ioredis defineCommand does, EVALSHA answering NOSCRIPT until it is known', async () => {
    const c = connect();
    // Redlock's release: delete the lock only if it still holds our token.
    const release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
    await c.script('FLUSH');
    const sha = (await c.script('LOAD', release)) as string;
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await c.script('EXISTS', sha, '0'.repeat(40))).toEqual([1, 0]);
    await c.set('sc:lock', 'mine', 'PX', 30_000, 'NX');
    expect(await c.evalsha(sha, 1, 'sc:lock', 'theirs')).toBe(0);
    expect(await c.get('sc:lock')).toBe('mine');
    expect(await c.evalsha(sha.toUpperCase(), 1, 'sc:lock', 'mine')).toBe(1);
    expect(await c.exists('sc:lock')).toBe(0);
    expect(await c.script('FLUSH')).toBe('OK');
    await expect(c.evalsha(sha, 1, 'sc:lock', 'mine')).rejects.toThrow(/^NOSCRIPT No matching script/);
    // ioredis's own way: EVALSHA, then EVAL after NOSCRIPT.
    c.defineCommand('releaseLock', { numberOfKeys: 1, lua: release });
    await c.set('sc:lock', 'tok');
    expect(await (c as unknown as { releaseLock(k: string, t: string): Promise<number> }).releaseLock('sc:lock', 'tok')).toBe(1);
    expect(await c.script('EXISTS', sha)).toEqual([1]);
    await expect(c.script('KILL')).rejects.toThrow(/^NOTBUSY/);
    await expect(c.call('SCRIPT', 'NOSUCH')).rejects.toThrow(/unknown subcommand/);
  });

  it('keep every loaded script but only the last 500 sent with EVAL', async () => {
    const c = connect();
    await c.script('FLUSH');
    const loaded = (await c.script('LOAD', 'return 0')) as string;
    const p = c.pipeline();
    for (let i = 1; i <= 510; i++) p.eval(`return ${i}`, 0);
    expect((await p.exec())!.map(([, v]) => v)).toEqual(Array.from({ length: 510 }, (_, i) => i + 1));
    expect(await c.info('memory')).toMatch(/number_of_cached_scripts:501\r\n/);
    const sha = (i: number) => createHash('sha1').update(`return ${i}`).digest('hex');
    expect(await c.script('EXISTS', sha(1), sha(10), sha(11), sha(510), loaded)).toEqual([0, 0, 1, 1, 1]);
    await expect(c.evalsha(sha(1), 0)).rejects.toThrow(/^NOSCRIPT/);
    expect(await c.evalsha(loaded, 0)).toBe(0);
    await c.script('FLUSH');
    expect(await c.info('memory')).toMatch(/number_of_cached_scripts:0\r\n/);
    // A script issued before a SCRIPT FLUSH (its write group not yet run) still runs.
    const incr = (await c.script('LOAD', "return redis.call('incr', KEYS[1])")) as string;
    const q = c.pipeline();
    q.evalsha(incr, 1, 'sc:flushed');
    q.script('FLUSH');
    q.evalsha(incr, 1, 'sc:flushed');
    const after = (await q.exec())!.map(([e, v]) => (e ? `error: ${e.message}` : v));
    expect(after).toEqual([1, 'OK', 'error: NOSCRIPT No matching script. Please use EVAL.']);
    await c.del('sc:flushed');
  });

  it('EVAL_RO, EVALSHA_RO and #!lua flags=no-writes read, and refuse writes', async () => {
    const c = connect();
    await c.set('sc:ro', 'v');
    expect(await c.call('EVAL_RO', "return redis.call('get', KEYS[1])", 1, 'sc:ro')).toBe('v');
    await expect(c.call('EVAL_RO', "return redis.call('set', KEYS[1], 'w')", 1, 'sc:ro')).rejects.toThrow(/^ERR Write commands are not allowed from read-only scripts/);
    const sha = (await c.script('LOAD', "return redis.call('get', KEYS[1])")) as string;
    expect(await c.call('EVALSHA_RO', sha, 1, 'sc:ro')).toBe('v');
    await expect(c.eval("#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'w')", 1, 'sc:ro')).rejects.toThrow(/Write commands are not allowed.*@user_script:2\./);
    await expect(c.eval('#!python\nreturn 1', 0)).rejects.toThrow(/Could not find engine 'python'/);
    await expect(c.eval('#!lua flags=bogus\nreturn 1', 0)).rejects.toThrow(/Unexpected flag in script shebang: bogus/);
    expect(await c.get('sc:ro')).toBe('v');
    await c.del('sc:ro');
  });
});

describe('EVAL inside MULTI', () => {
  it('runs in the transaction of EXEC, in order with the other queued commands, and INFO counts the cached scripts', async () => {
    const c = connect();
    await c.script('FLUSH');
    const out = await c
      .multi()
      .set('sc:m', '1')
      .eval("return redis.call('incr', KEYS[1])", 1, 'sc:m')
      .evalsha('0'.repeat(40), 0)
      .eval("redis.call('hset', 'sc:mh', 'f', 'v') return redis.call('hlen', 'sc:mh')", 0)
      .get('sc:m')
      .exec();
    expect(out!.map(([e, v]) => (e ? `error: ${e.message}` : v))).toEqual([
      'OK',
      2,
      'error: NOSCRIPT No matching script. Please use EVAL.',
      1,
      '2',
    ]);
    // The undeclared key written inside EXEC is a hash, with no string record beside it.
    expect(await c.type('sc:mh')).toBe('hash');
    expect(await c.info('memory')).toMatch(/number_of_cached_scripts:2\r\n/);
    expect(Number((await c.info('memory')).match(/used_memory_lua:(\d+)/)![1])).toBeGreaterThan(0);
    await c.del('sc:m', 'sc:mh');
  });
});

describe('A script', () => {
  it('runs whole: no other client sees a state between its commands', async () => {
    const [writer, reader] = [connect(), connect()];
    await writer.set('sc:a', '0');
    await writer.set('sc:b', '0');
    const script = "for i = 1, 200 do redis.call('incr', KEYS[1]) redis.call('incr', KEYS[2]) end return redis.call('get', KEYS[1])";
    const seen: [string | null, string | null][] = [];
    let running = true;
    const reads = (async () => {
      while (running) seen.push((await reader.mget('sc:a', 'sc:b')) as [string | null, string | null]);
    })();
    const results: unknown[] = [];
    for (let i = 0; i < 10; i++) results.push(await writer.eval(script, 2, 'sc:a', 'sc:b'));
    running = false;
    await reads;
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => String(200 * (i + 1))));
    expect(seen.length).toBeGreaterThan(0);
    for (const [a, b] of seen) {
      expect(a).toBe(b);
      expect(Number(a) % 200).toBe(0);
    }
    // Answered once durable: a client reading right after the reply sees all of it.
    expect(await reader.mget('sc:a', 'sc:b')).toEqual(['2000', '2000']);
    await writer.del('sc:a', 'sc:b');
  });

  it('that fails part way keeps the writes before the failure, as in Redis', async () => {
    const c = connect();
    await expect(c.eval("redis.call('set', KEYS[1], 'kept') redis.call('incr', KEYS[1]) redis.call('set', KEYS[2], 'never')", 2, 'sc:p1', 'sc:p2')).rejects.toThrow(
      /^ERR value is not an integer or out of range script: [0-9a-f]{40}, on @user_script:1\./,
    );
    expect(await c.get('sc:p1')).toBe('kept');
    expect(await c.exists('sc:p2')).toBe(0);
    await c.del('sc:p1');
  });

  it('past busy-reply-threshold is stopped, whatever it catches, with none of its writes kept; the server goes on', async () => {
    const c = connect();
    const start = Date.now();
    await expect(c.eval("redis.call('set', KEYS[1], 'x') while true do pcall(function() while true do end end) end", 1, 'sc:busy')).rejects.toThrow(
      /^ERR the script ran longer than busy-reply-threshold \(300 ms\) and was stopped; none of its writes were kept/,
    );
    expect(Date.now() - start).toBeGreaterThanOrEqual(300);
    expect(await c.exists('sc:busy')).toBe(0);
    expect(await c.eval("return redis.call('set', KEYS[1], 'after')", 1, 'sc:busy')).toBe('OK');
    expect(await c.get('sc:busy')).toBe('after');
    await c.del('sc:busy');
  });

  it('cannot take more memory than the cap, nor leave anything for the next script', async () => {
    const c = connect();
    await expect(c.eval("local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1048576) .. i end", 0)).rejects.toThrow(/^ERR not enough memory/);
    expect(await c.eval('return 1', 0)).toBe(1);
    await expect(c.eval('rawset(_G, "leak", 1)', 0)).rejects.toThrow(/Attempt to modify a readonly table/);
    await expect(c.eval('getmetatable("").__index.upper = nil', 0)).rejects.toThrow(/attempt to index a boolean value/);
    expect(await c.eval("return string.upper('ok')", 0)).toBe('OK');
    await expect(c.eval('return leak', 0)).rejects.toThrow(/nonexistent global variable 'leak'/);
    // A finalizer would run during some later script, or none.
    await expect(c.eval("setmetatable({}, { __gc = function() redis.call('set', 'sc:gc', '1') end })", 0)).rejects.toThrow(/__gc metamethods are not allowed/);
    // Recursion ends in Lua's own error (its stack limit, or the memory cap first), not the process's stack.
    await expect(c.eval('local function f(n) return 1 + f(n + 1) end return f(1)', 0)).rejects.toThrow(/stack overflow|not enough memory/);
    await expect(c.eval("return string.rep('x', 2^40)", 0)).rejects.toThrow(/resulting string too large|not enough memory/);
    expect(await c.exists('sc:gc')).toBe(0);
  });

  it('declared no key yet wrote one: a plain SET after it still lands on the right record', async () => {
    const c = connect();
    // The script makes sc:t a hash; SETs pipelined behind it must replace it, not leave two records.
    const p = c.pipeline();
    p.eval("redis.call('hset', 'sc:t', 'f', 'v') return 1", 0);
    p.set('sc:t', 'plain');
    p.type('sc:t');
    p.get('sc:t');
    const out = (await p.exec())!.map(([e, v]) => e ?? v);
    expect(out).toEqual([1, 'OK', 'string', 'plain']);
    // One record for the key: the string's. A SET that took the blind path
    // while the script was in flight left the hash's metadata record too.
    expect(beside.server.db.getSync(metaKey(Buffer.from('sc:t')))).toBeUndefined();
    expect(await c.hgetall('sc:t').catch((e: Error) => e.message)).toMatch(/^WRONGTYPE/);
    await c.del('sc:t');
  });
});
