#!/usr/bin/env node
// `xrpkv serve` against redis-server, with redis-benchmark, in one run (`npm run bench:server`).
//
//   node bench/server.mjs [-n REQUESTS] [--tests set,get,...] [--cold] [--durable-redis] [--proxy] [--no-json]
//
// Both servers start here on free loopback ports and get the same runs:
//   redis-benchmark -t TEST -P 16 -c 50 -r 100000 -n REQUESTS --csv
// for TEST = ping, set, get, mset, lpush, hset, sadd, zadd in that order
// (GET reads what SET wrote), each test on one server after the other, so
// that the rates compared are taken a few seconds apart, under the same
// load on a shared host.
// Before them, untimed, both get a warm-up pass: every test with -n 20000
// on 1,000 keys (-r 1000), so that what is timed is a server that has run
// for a moment, as a long-running one has: xrpkv's JavaScript is compiled by
// then (V8 optimises it on its own threads as it first runs, which on a
// two-core machine takes the CPU a first pass of writes needs). --cold skips
// the warm-up: the first pass is then timed.
// --tests runs only the tests named (in the order above; GET reads what SET
// wrote, so without SET it reads the warm-up's keys).
// REQUESTS: -n for every test, else per test (PING and GET 500,000, SET
// 100,000, MSET 20,000, the collections 50,000: xrpkv's durable writes are
// much slower than its reads, and this keeps the run near a minute or two).
// xrpkv serve: `node dist/cli/main.js serve` on a fresh database in a temporary
// directory (defaults: 4096-byte pages, lookup auto; every write durable,
// fdatasync per commit). redis-server (Debian's): `--save '' --appendonly no`,
// no persistence at all, its fastest setting. With --durable-redis a third
// run uses `--appendonly yes --appendfsync always`, Redis's durable setting,
// its data directory on the same disk as xrpkv's database (one temporary
// directory), and the targets are checked: SET and MSET at least 1.0x
// that, LPUSH, HSET, SADD, ZADD at least 0.5x, GET at least 0.9x
// redis-server without persistence.
// With --proxy, SET and GET also run through twemproxy (Debian's
// nutcracker, as docs/SCALE-OUT.md sets it up) in front of one and of three
// `xrpkv serve`, against the same with one xrpkv direct.
// Prints each test's requests per second and the ratio xrpkv / redis; saves
// JSON to bench/results/server-*.json. Needs a built dist/ and redis-tools.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const nIndex = args.findIndex((a) => a === '-n' || a === '--requests');
const N = nIndex >= 0 ? Number(String(args[nIndex + 1]).replace(/_/g, '')) : undefined;
if (N !== undefined && (!Number.isInteger(N) || N <= 0)) {
  console.error('-n needs a positive integer');
  process.exit(2);
}
const durableRedis = args.includes('--durable-redis');
const cold = args.includes('--cold');
const viaProxy = args.includes('--proxy');
const ALL_RUNS = [
  ['ping', N ?? 500_000],
  ['set', N ?? 100_000],
  ['get', N ?? 500_000],
  ['mset', N ?? 20_000],
  ['lpush', N ?? 50_000],
  ['hset', N ?? 50_000],
  ['sadd', N ?? 50_000],
  ['zadd', N ?? 50_000],
];
const testsIndex = args.indexOf('--tests');
const picked = testsIndex >= 0 ? String(args[testsIndex + 1] ?? '').split(',').filter(Boolean) : undefined;
const unknown = picked?.filter((t) => !ALL_RUNS.some(([name]) => name === t)) ?? [];
if (picked?.length === 0 || unknown.length > 0) {
  console.error(`--tests needs a comma-separated list of ${ALL_RUNS.map(([t]) => t).join(', ')}${unknown.length ? ` (not: ${unknown.join(', ')})` : ''}`);
  process.exit(2);
}
const RUNS = picked ? ALL_RUNS.filter(([t]) => picked.includes(t)) : ALL_RUNS;
const BENCH_ARGS = ['-P', '16', '-c', '50', '-r', '100000', '--csv'];
const WARM_UP_ARGS = ['-P', '16', '-c', '50', '-r', '1000', '--csv', '-n', '20000'];
const describeRuns = RUNS.map(([t, n]) => `${t} -n ${n}`).join(', ');

for (const tool of ['redis-server', 'redis-benchmark']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) {
    console.error(`bench:server: ${tool} not found: install Debian's redis-tools and redis-server (scripts/setup.sh does)`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'xrpkv-bench-server-'));
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** A free loopback port (bound, then released). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Starts a server; resolves once `ready` matches its output. */
function start(name, cmd, argv, ready) {
  const proc = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 30 s:\n${out}`)), 30_000);
    const onData = (d) => {
      out += d;
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ proc, output: () => out });
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${out}`)));
  });
}

async function stop({ proc }) {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

/** Every run (of `runs`) against `port`: redis-benchmark's CSV ("test","rps",...) -> { TEST: rps }; after the warm-up unless --cold. */
function benchmark(port, runs = RUNS) {
  if (!cold) for (const [test] of runs) benchmarkOne(port, test, undefined);
  const rows = {};
  for (const [test, n] of runs) Object.assign(rows, benchmarkOne(port, test, n));
  return rows;
}

/** One test; `n` undefined: the warm-up's. */
function benchmarkOne(port, test, n) {
  const argv = ['-h', '127.0.0.1', '-p', String(port), '-t', test, ...(n === undefined ? WARM_UP_ARGS : ['-n', String(n), ...BENCH_ARGS])];
  const r = spawnSync('redis-benchmark', argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`redis-benchmark failed (${r.status ?? r.signal}):\n${r.stderr}`);
  const rows = {};
  for (const line of r.stdout.split('\n')) {
    const cells = line.split(',').map((c) => c.replace(/^"|"$/g, ''));
    if (cells.length >= 2 && cells[0] !== 'test' && Number.isFinite(Number(cells[1]))) rows[cells[0]] = Number(cells[1]);
  }
  if (Object.keys(rows).length === 0) throw new Error(`no results parsed from redis-benchmark:\n${r.stdout}\n${r.stderr}`);
  return rows;
}

/** Starts redis-server with `extra` settings, its data in its own directory `label`. */
async function startRedis(label, extra) {
  const port = await freePort();
  const data = join(dir, label);
  mkdirSync(data);
  const server = await start(label, 'redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data, ...extra], /Ready to accept connections/);
  return { ...server, port };
}

/** Starts `xrpkv serve` on a fresh database named `name`. */
async function startXrpkv(name) {
  const port = await freePort();
  const server = await start('xrpkv serve', process.execPath, [join(root, 'dist/cli/main.js'), 'serve', '--db', join(dir, `${name}.xrpkv`), '--port', String(port)], /listening on/);
  return { ...server, port };
}

/**
 * Every run against every server, test by test: each test runs on one
 * server after the other, so that the rates compared were taken within
 * seconds of each other (a shared host's load moves by the minute). After
 * the warm-up of each unless --cold. -> one { TEST: rps } per server.
 */
function benchmarkSideBySide(servers) {
  if (!cold) for (const [test] of RUNS) for (const s of servers) benchmarkOne(s.port, test, undefined);
  const rows = servers.map(() => ({}));
  for (const [test, n] of RUNS) servers.forEach((s, i) => Object.assign(rows[i], benchmarkOne(s.port, test, n)));
  return rows;
}

const PROXY_RUNS = RUNS.filter(([t]) => t === 'set' || t === 'get');

/** SET and GET through nutcracker in front of `backends` xrpkv serve (ketama, fnv1a_64, as docs/SCALE-OUT.md). */
async function runProxy(backends) {
  const nutcracker = ['/usr/sbin/nutcracker', '/usr/bin/nutcracker'].find((p) => spawnSync('test', ['-x', p]).status === 0);
  if (!nutcracker) throw new Error("--proxy needs Debian's nutcracker (scripts/setup.sh installs it)");
  const servers = [];
  for (let i = 0; i < backends; i++) servers.push(await startXrpkv(`proxy${backends}-${i}`));
  const port = await freePort();
  const config = join(dir, `nutcracker-${backends}.yml`);
  writeFileSync(
    config,
    ['xrpkv:', `  listen: 127.0.0.1:${port}`, '  hash: fnv1a_64', '  hash_tag: "{}"', '  distribution: ketama', '  redis: true', '  auto_eject_hosts: false', '  servers:', ...servers.map((s, i) => `    - 127.0.0.1:${s.port}:1 s${i}`), ''].join('\n'),
  );
  // nutcracker prints nothing when it is ready: it is once it answers.
  const proxy = { proc: spawn(nutcracker, ['-c', config, '-s', String(await freePort())], { stdio: 'ignore' }) };
  children.push(proxy.proc);
  for (let tries = 0; spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout.trim() !== 'PONG'; tries++) {
    if (tries > 100) throw new Error('nutcracker did not answer PING in 10 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return benchmark(port, PROXY_RUNS);
  } finally {
    await stop(proxy);
    for (const s of servers) await stop(s);
  }
}

console.log(`bench:server: redis-benchmark -t TEST ${BENCH_ARGS.join(' ')} -n N (${describeRuns})`);
console.log(cold ? 'no warm-up (--cold): the first pass is timed' : `after an untimed warm-up pass of every test: ${WARM_UP_ARGS.join(' ')}`);
console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
const servers = [
  await startXrpkv('bench'),
  await startRedis('redis', ['--save', '', '--appendonly', 'no']),
  ...(durableRedis ? [await startRedis('redis-aof', ['--save', '', '--appendonly', 'yes', '--appendfsync', 'always'])] : []),
];
console.log(servers[0].output().split('\n')[0].replace(/ \(.*\), XRP/, ', XRP'));
console.log('each test runs on each server in turn (xrpkv, redis-server, then redis AOF if asked), so that side-by-side rates are taken under the same load');
const [xrpkvResults, redis, durable] = benchmarkSideBySide(servers);
for (const s of servers) await stop(s);
const xrpkv = { results: xrpkvResults, line: servers[0].output().split('\n')[0] };
const proxied = viaProxy ? { one: await runProxy(1), three: await runProxy(3) } : undefined;

const tests = Object.keys(redis);
const fmt = (n) => (n === undefined ? '-' : Math.round(n).toLocaleString('en-US'));
const ratio = (a, b) => (a === undefined || !b ? '-' : (a / b).toFixed(2));
const header = ['test', 'xrpkv req/s', 'redis req/s', 'xrpkv/redis', ...(durable ? ['redis AOF always', 'xrpkv/AOF'] : [])];
const table = tests.map((t) => [t, fmt(xrpkv.results[t]), fmt(redis[t]), ratio(xrpkv.results[t], redis[t]), ...(durable ? [fmt(durable[t]), ratio(xrpkv.results[t], durable[t])] : [])]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i].length)));
const line = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(`\nredis-server: ${redisVersion.split(' ').slice(0, 3).join(' ')}, --save '' --appendonly no (no persistence)${durable ? "; AOF run: --appendonly yes --appendfsync always" : ''}`);
console.log(line(header));
for (const row of table) console.log(line(row));
// The issue's targets: durable writes against Redis's durable setting, GET against Redis without persistence.
const targets = [
  ['GET', 0.9, redis, 'redis-server (no persistence)'],
  ...(durable
    ? [
        ['SET', 1.0, durable, 'redis AOF always'],
        ['MSET (10 keys)', 1.0, durable, 'redis AOF always'],
        ['LPUSH', 0.5, durable, 'redis AOF always'],
        ['HSET', 0.5, durable, 'redis AOF always'],
        ['SADD', 0.5, durable, 'redis AOF always'],
        ['ZADD', 0.5, durable, 'redis AOF always'],
      ]
    : []),
];
for (const [t, goal, peer, name] of targets) {
  if (xrpkv.results[t] === undefined) continue;
  const r = xrpkv.results[t] / peer[t];
  console.log(`target ${t} >= ${goal}x ${name}: ${r.toFixed(2)}x ${r >= goal ? 'met' : 'MISSED'}`);
}
if (proxied) {
  console.log('\nthrough twemproxy (nutcracker, ketama, fnv1a_64):');
  const rows = [['test', 'xrpkv direct', 'proxy, 1 backend', 'proxy, 3 backends']];
  for (const t of Object.keys(proxied.one)) rows.push([t, fmt(xrpkv.results[t]), fmt(proxied.one[t]), fmt(proxied.three[t])]);
  const w = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  '));
}

if (!args.includes('--no-json')) {
  const out = join(root, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `server-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify(
      {
        date: new Date().toISOString(),
        command: `redis-benchmark -t TEST ${BENCH_ARGS.join(' ')} -n N`,
        warmUp: cold ? null : `redis-benchmark -t TEST ${WARM_UP_ARGS.join(' ')}`,
        runs: Object.fromEntries(RUNS),
        machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
        xrpkv: { startup: xrpkv.line, results: xrpkv.results },
        redis: { version: redisVersion, settings: "--save '' --appendonly no", results: redis },
        ...(durable ? { redisAof: { settings: '--appendonly yes --appendfsync always', results: durable } } : {}),
        ...(proxied ? { proxy: { how: 'nutcracker, ketama, fnv1a_64', oneBackend: proxied.one, threeBackends: proxied.three } } : {}),
      },
      null,
      2,
    ),
  );
  console.log(`\nsaved ${file}`);
}
