#!/usr/bin/env node
// Hostile clients against `xrpkv serve` (`npm run bench:server-abuse`): what
// one client can cost the server and the other clients.
//
//   node bench/server-abuse.mjs [--cli PATH] [--seconds 10] [--clients 3] [--value-size 100000]
//                               [--elements 1000000] [--no-json]
//
// 1. Clients that never read. `--clients` connections pipeline `GET big` (a
//    `--value-size` value) as fast as the server takes them and never read a
//    reply, for `--seconds`. Printed: the server's RSS (VmRSS, sampled every
//    100 ms) at the start and at its peak, how many of them the server
//    disconnected, and the PING latency of another client meanwhile.
// 2. One huge command: `PING x x x ...` with `--elements` elements (7 MB at
//    1,000,000), written as fast as the socket takes it. Printed: the server's
//    CPU time (utime + stime from /proc/PID/stat) from its first byte to the
//    reply, and the other client's PING latency meanwhile.
// The other client sends one PING at a time, every 10 ms, on a connection
// opened before the abuse starts; a fresh connection's connect + PING is also
// timed every 250 ms. Targets: RSS at most 300 MiB above the start, PING p99
// at most 50 ms, the huge command at most 1 s of CPU.
//
// The server is `node CLI serve` (default: this checkout's dist/cli/main.js,
// which must be built; --cli points at another build, e.g. an older commit
// checked out with `git worktree add`) with its default settings, on a fresh
// database in a temporary directory. Linux only (/proc). Results go to
// bench/results/server-abuse-*.json.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { machine, machineLine, resultsBase, ROOT } from './lib/results.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : fallback;
};
const number = (name, fallback) => {
  const n = Number(String(option(name, fallback)).replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} needs a positive integer`);
  return n;
};
const CLI = resolve(option('--cli', join(ROOT, 'dist/cli/main.js')));
const SECONDS = number('--seconds', 10);
const CLIENTS = number('--clients', 3);
const VALUE_SIZE = number('--value-size', 100_000);
const ELEMENTS = number('--elements', 1_000_000);
const TARGETS = { rssGrowthMiB: 300, pingP99Ms: 50, hugeCommandCpuS: 1 };
const MiB = 1024 * 1024;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dir = mkdtempSync(join(tmpdir(), 'xrpkv-bench-abuse-'));
let server;
process.on('exit', () => {
  if (server && server.exitCode === null) server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});
process.on('SIGINT', () => process.exit(130));

/** Starts `node CLI serve` on a free port; resolves with the port once it listens. */
function startServer() {
  server = spawn(process.execPath, [CLI, 'serve', '--db', join(dir, 'abuse.xrpkv'), '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  server.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    server.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [^\s]+:(\d+),/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    server.on('exit', (code, signal) => reject(new Error(`xrpkv serve exited (${code ?? signal}):\n${out}`)));
  });
}

const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const rssMiB = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]) / 1024;
/** The server's CPU time so far, in seconds. */
function cpuSeconds() {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** A connection that sends one request at a time and waits for the reply ending in `\r\n` (simple replies only). */
async function connection(port) {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => {});
  let got = '';
  let waiter;
  socket.on('data', (d) => {
    got += d.toString('latin1');
    if (waiter && waiter.done(got)) {
      const w = waiter;
      waiter = undefined;
      w.resolve(got);
      got = '';
    }
  });
  const request = (bytes, done = (r) => r.endsWith('\r\n')) =>
    new Promise((resolve) => {
      waiter = { done, resolve };
      socket.write(bytes);
    });
  return { socket, request };
}

const encode = (...args) => Buffer.from(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);

/** PING latencies (ms) of an open connection and of fresh ones, until `stop()`. */
function measurePings(port, pinger) {
  const open = [];
  const fresh = [];
  let running = true;
  const loops = [
    (async () => {
      while (running) {
        const t = performance.now();
        await pinger.request('PING\r\n');
        open.push(performance.now() - t);
        await sleep(10);
      }
    })(),
    (async () => {
      while (running) {
        const t = performance.now();
        const c = await connection(port);
        await c.request('PING\r\n');
        fresh.push(performance.now() - t);
        c.socket.destroy();
        await sleep(250);
      }
    })(),
  ];
  return async () => {
    running = false;
    await Promise.all(loops);
    return { open: summary(open), fresh: summary(fresh) };
  };
}

function summary(ms) {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q) => (s.length ? Number(s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(2)) : null);
  return { count: s.length, p50: at(0.5), p99: at(0.99), max: s.length ? Number(s[s.length - 1].toFixed(2)) : null };
}

/** A connection that pipelines `command` whenever its socket takes more, and never reads. */
function nonReader(port, command) {
  const socket = connect(port, '127.0.0.1');
  socket.pause(); // before it connects: Node never reads from it
  const batch = Buffer.concat(Array(1000).fill(command));
  const state = { sent: 0, closedAfterMs: null, started: performance.now(), stopped: false };
  const write = () => {
    while (!socket.destroyed && socket.write(batch)) state.sent += 1000;
  };
  socket.on('connect', write);
  socket.on('drain', write);
  socket.on('error', () => {});
  socket.on('close', () => {
    if (!state.stopped) state.closedAfterMs = Math.round(performance.now() - state.started);
  });
  const stop = () => {
    state.stopped = true;
    socket.destroy();
  };
  return { state, stop };
}

/** INFO fields, as a map (fields this server does not have are absent). */
async function info(pinger) {
  const text = await pinger.request('INFO\r\n', (r) => {
    const m = /^\$(\d+)\r\n/.exec(r);
    return m !== null && Buffer.byteLength(r, 'latin1') >= m[0].length + Number(m[1]) + 2;
  });
  return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':')).map((l) => l.split(':')));
}

async function nonReadingClients(port, pinger) {
  const rssStart = rssMiB();
  let rssPeak = rssStart;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB())), 100);
  const pings = measurePings(port, pinger);
  const get = encode('GET', 'big');
  const clients = Array.from({ length: CLIENTS }, () => nonReader(port, get));
  await sleep(SECONDS * 1000);
  const latency = await pings();
  const fields = await info(pinger);
  clearInterval(sampler);
  rssPeak = Math.max(rssPeak, rssMiB());
  for (const c of clients) c.stop();
  await sleep(1000);
  return {
    rssStartMiB: Math.round(rssStart),
    rssPeakMiB: Math.round(rssPeak),
    rssGrowthMiB: Math.round(rssPeak - rssStart),
    rssAfterMiB: Math.round(rssMiB()),
    clients: clients.map((c) => ({ getsSent: c.state.sent, disconnectedAfterMs: c.state.closedAfterMs })),
    outputLimitDisconnections: fields.client_output_buffer_limit_disconnections ?? null,
    ping: latency,
  };
}

async function hugeCommand(port, pinger) {
  const head = Buffer.from(`*${ELEMENTS}\r\n$4\r\nPING\r\n`);
  const command = Buffer.concat([head, Buffer.alloc((ELEMENTS - 1) * 7, '$1\r\nx\r\n')]);
  const c = await connection(port);
  const pings = measurePings(port, pinger);
  const cpu = cpuSeconds();
  const t = performance.now();
  const reply = await c.request(command);
  const wallS = (performance.now() - t) / 1000;
  const cpuS = cpuSeconds() - cpu;
  const latency = await pings();
  c.socket.destroy();
  return { bytes: command.length, reply: reply.trim(), cpuS: Number(cpuS.toFixed(2)), wallS: Number(wallS.toFixed(2)), ping: latency };
}

const port = await startServer();
const setup = await connection(port);
await setup.request(Buffer.concat([encode('SET', 'big', 'v'.repeat(VALUE_SIZE))]));
const pinger = await connection(port);
await pinger.request('PING\r\n');
console.log(`bench:server-abuse: node ${CLI} serve (default settings)`);
console.log(machineLine(machine()));

console.log(`\n1. ${CLIENTS} clients pipelining GET of a ${VALUE_SIZE.toLocaleString('en-US')}-byte value for ${SECONDS} s, never reading`);
const flood = await nonReadingClients(port, pinger);
console.log(`server RSS: ${flood.rssStartMiB} MiB at the start, ${flood.rssPeakMiB} MiB at the peak (+${flood.rssGrowthMiB}), ${flood.rssAfterMiB} MiB after they closed`);
for (const [i, c] of flood.clients.entries()) {
  console.log(`client ${i + 1}: ${c.getsSent.toLocaleString('en-US')} GETs sent, ${c.disconnectedAfterMs === null ? 'still connected' : `disconnected after ${c.disconnectedAfterMs} ms`}`);
}
if (flood.outputLimitDisconnections !== null) console.log(`INFO client_output_buffer_limit_disconnections: ${flood.outputLimitDisconnections}`);
const pingLine = ({ open, fresh }) =>
  `other client's PING: p50 ${open.p50} ms, p99 ${open.p99} ms, max ${open.max} ms (${open.count}); a new connection's connect + PING: p50 ${fresh.p50} ms, max ${fresh.max} ms (${fresh.count})`;
console.log(pingLine(flood.ping));

console.log(`\n2. one command of ${ELEMENTS.toLocaleString('en-US')} elements`);
const huge = await hugeCommand(port, pinger);
console.log(`${(huge.bytes / MiB).toFixed(1)} MiB sent; reply '${huge.reply.slice(0, 60)}'`);
console.log(`server CPU ${huge.cpuS} s, ${huge.wallS} s from the first byte to the reply`);
console.log(pingLine(huge.ping));

const checks = [
  [`server RSS growth <= ${TARGETS.rssGrowthMiB} MiB`, flood.rssGrowthMiB, flood.rssGrowthMiB <= TARGETS.rssGrowthMiB],
  [`other client's PING p99 <= ${TARGETS.pingP99Ms} ms (non-readers)`, flood.ping.open.p99, flood.ping.open.p99 <= TARGETS.pingP99Ms],
  [`other client's PING p99 <= ${TARGETS.pingP99Ms} ms (huge command)`, huge.ping.open.p99, huge.ping.open.p99 <= TARGETS.pingP99Ms],
  [`huge command CPU <= ${TARGETS.hugeCommandCpuS} s`, huge.cpuS, huge.cpuS <= TARGETS.hugeCommandCpuS],
];
console.log('');
for (const [what, value, met] of checks) console.log(`target ${what}: ${value} ${met ? 'met' : 'MISSED'}`);

if (!argv.includes('--no-json')) {
  const file = `${resultsBase('server-abuse')}.json`;
  const settings = { seconds: SECONDS, clients: CLIENTS, valueSize: VALUE_SIZE, elements: ELEMENTS };
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), cli: CLI, settings, machine: machine(), targets: TARGETS, nonReadingClients: flood, hugeCommand: huge }, null, 2));
  console.log(`\nsaved ${file}`);
}
server.kill('SIGTERM');
