// redis-benchmark's default suite (PING, SET, GET, INCR, LPUSH, RPUSH,
// LPOP, RPOP, SADD, HSET, SPOP, ZADD, ZPOPMIN, LRANGE_100..600, MSET)
// against `xrpkv serve`, pipelined, runs to its end without an error: the
// issue's `redis-benchmark -q -n 20000 -P 16`. A correctness test, not a
// timing one (bench/server.mjs measures).
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { run, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let server: RunningServer;

beforeAll(async () => {
  server = await startTestServer(tmp.dir, 'benchmark.xrpkv');
});
afterAll(async () => {
  await server.close();
  tmp.remove();
});

it('runs redis-benchmark -q -n 20000 -P 16 (the default suite) without an error', async () => {
  const out = await run('redis-benchmark', ['-p', String(server.port), '-q', '-n', '20000', '-P', '16']);
  const lines = out.stdout.split(/[\r\n]+/).filter((l) => l.includes('requests per second'));
  expect(out.code).toBe(0);
  expect(`${out.stdout}${out.stderr}`).not.toMatch(/error|ERR /i);
  const tests = lines.map((l) => l.split(':')[0]);
  for (const name of ['PING_INLINE', 'SET', 'GET', 'INCR', 'LPUSH', 'RPUSH', 'LPOP', 'RPOP', 'SADD', 'HSET', 'SPOP', 'ZADD', 'ZPOPMIN', 'LRANGE_100 (first 100 elements)', 'LRANGE_600 (first 600 elements)', 'MSET (10 keys)']) {
    expect(tests).toContain(name);
  }
  // What it left is what those commands make: the list it pushed, the set SPOP emptied, counters.
  const { keyspace } = server;
  expect(keyspace.count()).toBeGreaterThan(0);
}, 180_000);
