// SLOWLOG and LATENCY on `xrpkv serve`: what they record (commands that are
// not fast, timed where their work runs: reads as they run, writes in their
// write group, EXEC's commands, scripts), how entries are cut down, the
// settings CONFIG SET changes, and the replies and errors that redis-server
// 7.0 (started here) gives alike.
import { describe, expect, it } from 'vitest';
import { ioredisClient, useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('slowlog.xrpkv');
type Entry = [number, number, number, string[], string, string];

/** A Lua loop that runs about `ms` milliseconds. */
const busy = (ms: number) => `local t = redis.call('time') local start = t[1] * 1000000 + t[2] repeat t = redis.call('time') until t[1] * 1000000 + t[2] - start >= ${ms * 1000} return 1`;

describe('SLOWLOG', () => {
  it('logs commands that are not fast, reads and writes, inside EXEC and scripts, newest first, with who sent them', async () => {
    const r = ioredisClient(beside.server.port, beside.clients);
    await r.client('SETNAME', 'logger');
    await r.config('SET', 'slowlog-log-slower-than', '0');
    await r.slowlog('RESET');
    await r.rpush('sl:list', 'a', 'b');
    await r.lrange('sl:list', 0, -1);
    await r.mset('sl:a', '1', 'sl:b', '2');
    await r.multi().sort('sl:list', 'ALPHA').exec();
    await r.eval('return 1', 0);
    await r.call('SET', 'sl:big', 'x'.repeat(200));
    await r.call('DEL', 'sl:big', ...Array.from({ length: 40 }, (_, i) => `k${i}`));
    const entries = (await r.slowlog('GET', -1)) as Entry[];
    const commands = entries.map((e) => e[3][0]!.toLowerCase());
    for (const name of ['lrange', 'mset', 'sort', 'eval', 'del']) expect(commands, name).toContain(name);
    // Newest first, ids counting up from the oldest.
    expect(commands[0]).toBe('del');
    const ids = entries.map((e) => e[0]);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));
    const del = entries[0]!;
    expect(del[3]).toHaveLength(32);
    expect(del[3][31]).toBe('... (11 more arguments)');
    expect(del[4]).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(del[5]).toBe('logger');
    expect(del[2]).toBeGreaterThanOrEqual(0);
    expect(Math.abs(del[1] - Date.now() / 1000)).toBeLessThan(60);
    expect(await r.slowlog('LEN')).toBe(entries.length + 1); // and the SLOWLOG GET itself
    const newest = ((await r.slowlog('GET', 2)) as Entry[]).map((e) => e[3].join(' ').toLowerCase());
    expect(newest).toEqual(['slowlog len', 'slowlog get -1']);
    // Long arguments are cut at 128 bytes.
    await r.call('LPOS', 'sl:list', 'y'.repeat(300));
    const lpos = ((await r.slowlog('GET', 1)) as Entry[])[0]!;
    expect(lpos[3][2]).toBe(`${'y'.repeat(128)}... (172 more bytes)`);
    await r.config('SET', 'slowlog-max-len', '3');
    await r.lrange('sl:list', 0, 0);
    expect(await r.slowlog('LEN')).toBe(3);
    expect(await r.slowlog('RESET')).toBe('OK');
    await r.config('SET', 'slowlog-max-len', '128', 'slowlog-log-slower-than', '-1');
    await r.lrange('sl:list', 0, 0);
    // Only the RESET, logged as it ended, as Redis logs it; nothing once the log is off.
    expect(((await r.slowlog('GET')) as Entry[]).map((e) => e[3].join(' ').toLowerCase())).toEqual(['slowlog reset']);
  });

  it('keeps only what ran at least slowlog-log-slower-than, and LATENCY the events over latency-monitor-threshold', async () => {
    const r = ioredisClient(beside.server.port, beside.clients);
    await r.config('SET', 'slowlog-log-slower-than', '20000', 'latency-monitor-threshold', '10');
    await r.slowlog('RESET');
    await r.latency('RESET');
    await r.lrange('nothing', 0, -1);
    expect(await r.eval(busy(30), 0)).toBe(1);
    const [entry] = (await r.slowlog('GET')) as Entry[];
    expect(await r.slowlog('LEN')).toBe(1);
    expect(entry![3][0]).toBe('eval');
    expect(entry![2]).toBeGreaterThanOrEqual(20000);
    const latest = (await r.latency('LATEST')) as [string, number, number, number][];
    expect(latest).toHaveLength(1);
    expect(latest[0]![0]).toBe('command');
    expect(latest[0]![2]).toBeGreaterThanOrEqual(10);
    expect(((await r.latency('HISTORY', 'command')) as unknown[]).length).toBe(1);
    expect(await r.latency('DOCTOR')).toMatch(/command: 1 latency spikes/);
    expect(await r.latency('GRAPH', 'command')).toMatch(/^command - high \d+ ms/);
    expect(await r.latency('RESET', 'command', 'nosuch')).toBe(1);
    expect(await r.latency('LATEST')).toEqual([]);
    await r.config('SET', 'slowlog-log-slower-than', '10000', 'latency-monitor-threshold', '0');
  });

  it('LATENCY HISTOGRAM counts each command by powers of two microseconds, cumulatively', async () => {
    const r = ioredisClient(beside.server.port, beside.clients);
    for (let i = 0; i < 50; i++) await r.lrange('sl:list', 0, -1);
    const [name, body] = (await r.latency('HISTOGRAM', 'lrange', 'nosuch')) as [string, [string, number, string, (number | string)[]]];
    expect(name).toBe('lrange');
    expect(body[0]).toBe('calls');
    expect(body[1]).toBeGreaterThanOrEqual(50);
    const counts = body[3].filter((_, i) => i % 2 === 1) as number[];
    const buckets = body[3].filter((_, i) => i % 2 === 0) as number[];
    expect(buckets.every((b, i) => b === 2 ** i)).toBe(true);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(counts[counts.length - 1]).toBe(body[1]);
    // INFO latencystats: p50, p99 and p99.9 of the same counts, as bucket bounds.
    expect(await r.info('latencystats')).toMatch(/latency_percentiles_usec_lrange:p50=\d+\.000,p99=\d+\.000,p99\.9=\d+\.000/);
  });

  it('LATENCY HISTOGRAM samples fast writes where their write group runs them, and fast commands inside EXEC', async () => {
    const r = ioredisClient(beside.server.port, beside.clients);
    // 64 of each: one in 16 of the fast commands is timed and stands for 16.
    for (let i = 0; i < 64; i++) await r.hset('sl:hash', `f${i}`, 'v');
    for (let i = 0; i < 8; i++) await r.multi().sadd('sl:set', `a${i}`, `b${i}`, `c${i}`, `d${i}`, `e${i}`, `f${i}`, `g${i}`, `h${i}`).sadd('sl:set', `i${i}`).sadd('sl:set', `j${i}`).sadd('sl:set', `k${i}`).sadd('sl:set', `l${i}`).sadd('sl:set', `m${i}`).sadd('sl:set', `n${i}`).sadd('sl:set', `o${i}`).exec();
    const histogram = (await r.latency('HISTOGRAM', 'hset', 'sadd')) as (string | (string | number)[])[];
    const calls = (name: string) => {
      const at = histogram.indexOf(name);
      return at < 0 ? 0 : (histogram[at + 1] as (string | number)[])[1] as number;
    };
    expect(calls('hset')).toBeGreaterThan(0);
    expect(calls('sadd')).toBeGreaterThan(0);
  });

  it('counts a command whose work a write group runs once, not again where the session issued it', async () => {
    const r = ioredisClient(beside.server.port, beside.clients);
    await r.latency('RESET');
    await r.config('RESETSTAT');
    await r.xgroup('CREATE', 'sl:stream', 'g', '0', 'MKSTREAM');
    for (let i = 0; i < 10; i++) {
      await r.xadd('sl:stream', '*', 'f', String(i));
      await r.xreadgroup('GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 'sl:stream', '>');
    }
    const [name, body] = (await r.latency('HISTOGRAM', 'xreadgroup')) as [string, [string, number]];
    expect(name).toBe('xreadgroup');
    expect(body[1]).toBe(10);
  });

  it('answers as redis-server where both say the same: help, errors, an empty log and disabled monitoring', async () => {
    const same = (...args: string[]) => beside.same(args);
    for (const line of [
      'SLOWLOG HELP',
      'SLOWLOG RESET',
      'SLOWLOG GET -2',
      'SLOWLOG GET x',
      'SLOWLOG GET 1 2',
      'SLOWLOG LEN x',
      'SLOWLOG NOSUCH',
      'LATENCY HELP',
      'LATENCY DOCTOR',
      'LATENCY LATEST',
      'LATENCY HISTORY command',
      'LATENCY GRAPH command',
      'LATENCY RESET',
      'LATENCY HISTOGRAM nosuch',
      'LATENCY GRAPH',
      'LATENCY NOSUCH',
    ])
      await same(...line.split(' '));
    // Refused, in xrpkv's words for its settings.
    await expect(beside.ours.config('SET', 'slowlog-max-len', '-1')).rejects.toThrow(/slowlog-max-len/);
    await expect(beside.ours.config('SET', 'latency-monitor-threshold', 'x')).rejects.toThrow(/latency-monitor-threshold/);
  });
});
