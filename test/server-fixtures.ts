// Helpers of the server tests: a server in this process or as a child
// (`node dist/cli/main.js serve`), redis-cli runs, and raw socket exchanges.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import { resolveConfig, type ServerConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect } from 'vitest';
import { ROOT, tempDir } from './xrp-fixtures.js';

/** A free loopback TCP port (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Debian's redis-server without persistence on a free loopback port (with `args` too), once it accepts connections (the tests that compare with it kill it after). */
export async function startRedisServer(args: string[] = []): Promise<{ process: ChildProcess; port: number }> {
  const port = await freePort();
  // Its own directory: what a test makes it write (BGREWRITEAOF's appendonlydir, an RDB) stays out of the working tree.
  const data = tempDir();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', data.dir, '--save', '', '--appendonly', 'no', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  redis.on('exit', () => data.remove());
  await new Promise<void>((resolve, reject) => {
    let out = '';
    redis.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    redis.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
  });
  return { process: redis, port };
}

/** A test file's redis-server and xrpkv server side by side, and an ioredis client of each (`ours`, `theirs`). */
export interface BesideRedis {
  server: RunningServer;
  redisPort: number;
  ours: Redis;
  theirs: Redis;
  /** Every client the file makes (dropped after its tests). */
  clients: Redis[];
  /**
   * Sends a command to both servers and expects the same reply, or the same
   * error text, once both have passed through `normal` (for what may differ
   * on purpose, such as times); returns xrpkv's reply.
   */
  same(args: readonly (string | number | Buffer)[], normal?: (reply: unknown) => unknown): Promise<unknown>;
}

/**
 * Starts redis-server (emptied) and a server on database `name` (with
 * `settings`) before the file's tests; stops both after them.
 */
export function useServerBesideRedis(name: string, settings: Record<string, string> = {}): BesideRedis {
  const tmp = tempDir();
  const beside = { clients: [] as Redis[] } as BesideRedis;
  beside.same = async (args, normal = (r) => r) => {
    const run = (c: Redis) => c.call(String(args[0]), ...args.slice(1).map((a) => (Buffer.isBuffer(a) ? a : String(a)))).catch((e: Error) => `error: ${e.message}`);
    const [ours, theirs] = await Promise.all([run(beside.ours), run(beside.theirs)]);
    expect(normal(ours), args.map(String).join(' ')).toEqual(normal(theirs));
    return ours;
  };
  let redis: ChildProcess | undefined;
  beforeAll(async () => {
    const started = await startRedisServer();
    redis = started.process;
    beside.redisPort = started.port;
    beside.server = await startTestServer(tmp.dir, name, settings);
    beside.ours = ioredisClient(beside.server.port, beside.clients);
    beside.theirs = ioredisClient(beside.redisPort, beside.clients);
    await beside.theirs.flushall();
  });
  afterAll(async () => {
    for (const c of beside.clients) c.disconnect();
    redis?.kill();
    await beside.server?.close();
    tmp.remove();
  });
  return beside;
}

/** An ioredis client of the server on `port` that fails at once rather than reconnecting, kept in `clients` (the file drops them after its tests). */
export function ioredisClient(port: number, clients: Redis[], name?: string): Redis {
  const c = new Redis({ port, host: '127.0.0.1', connectionName: name, maxRetriesPerRequest: 0, retryStrategy: () => null });
  c.on('error', () => {});
  clients.push(c);
  return c;
}

/** A server in this process on a free loopback port, on `dir`/`name`. */
export function startTestServer(dir: string, name: string, settings: Record<string, string> = {}): Promise<RunningServer> {
  const config: ServerConfig = resolveConfig({ db: join(dir, name), port: '0', lookup: 'walk', ...settings }, {});
  return startServer(config);
}

/**
 * A test file's server: started on a temporary database `name` before its
 * tests (`ready` receives it); after them, `clients` (the file's own, added
 * as it makes them) quit, the server stops and the directory goes.
 */
export function useTestServer(name: string, ready: (server: RunningServer) => void, clients: Redis[] = []): void {
  const tmp = tempDir();
  let server: RunningServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(tmp.dir, name);
    ready(server);
  });
  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.quit()));
    await server?.close();
    tmp.remove();
  });
}

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program to its end (asynchronously: an in-process server keeps serving meanwhile). */
export function run(command: string, args: string[], input?: string | Buffer): Promise<Output> {
  return new Promise((resolve, reject) => {
    const proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    proc.on('error', reject);
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
    proc.stdin.end(input);
  });
}

export const redisCli = (port: number, ...args: string[]) => run('redis-cli', ['-p', String(port), ...args]);

/**
 * Sends `bytes` on a fresh connection and collects what comes back until the
 * server closes the connection, `ms` pass, or `enough(reply)` says it has
 * all it waits for (the connection still open); says which happened.
 */
export function exchange(
  port: number,
  bytes: string | Buffer,
  ms = 1000,
  enough?: (reply: string) => boolean,
): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const stop = () => {
      clearTimeout(timer);
      socket.removeAllListeners('close');
      socket.destroy();
      resolve({ reply, closed: false });
    };
    const timer = setTimeout(stop, ms);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (d) => {
      reply += d.toString('latin1');
      if (enough?.(reply)) stop();
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ reply, closed: true });
    });
  });
}

/** A request in RESP: an array of bulk strings. */
export function resp(...args: (string | Buffer)[]): Buffer {
  const parts = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  return Buffer.concat([Buffer.from(`*${parts.length}\r\n`), ...parts.flatMap((p) => [Buffer.from(`$${p.length}\r\n`), p, Buffer.from('\r\n')])]);
}

export interface ServerProcess {
  proc: ChildProcess;
  port: number;
  /** What it printed so far. */
  output: () => string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `node dist/cli/main.js serve ARGS --port 0`; resolves once it prints where it listens. */
export function spawnServer(args: string[], env: NodeJS.ProcessEnv = {}): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [join(ROOT, 'dist/cli/main.js'), 'serve', '--port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = /listening on [^\s]+:(\d+),/.exec(out);
      if (!m) return;
      proc.stdout!.off('data', onData);
      resolve({ proc, port: Number(m[1]), output: () => out, exited });
    };
    proc.stdout!.on('data', onData);
    exited.then(({ code, signal }) => reject(new Error(`xrpkv serve exited (${code ?? signal}) before listening:\n${out}`)));
  });
}

/** Throws unless dist/server holds the server compiled from the current sources. */
export function requireFreshServer(): void {
  for (const name of readdirSync(join(ROOT, 'src/server'))) {
    const js = join(ROOT, 'dist/server', name.replace(/\.ts$/, '.js'));
    if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, 'src/server', name)).mtimeMs) {
      throw new Error(`dist/ is older than src/server/${name}: run \`node scripts/build.mjs ts\` first`);
    }
  }
}

/** XINFO's fields that say when (idle times, seen times) or describe Redis's radix tree of entries, which xrpkv only estimates. */
const XINFO_TIMES = new Set(['idle', 'seen-time', 'radix-tree-keys', 'radix-tree-nodes']);

/**
 * XPENDING's or XINFO's reply (RESP2, as parsed) with those fields, and
 * the idle times and delivery times of pending entries, as 0: what two
 * servers answer alike though they read their clocks at other moments.
 */
export function withoutTimes(command: string, reply: unknown): unknown {
  if (!Array.isArray(reply)) return reply;
  // XPENDING with a range: [ID, consumer, idle, deliveries] each.
  if (command === 'XPENDING') return reply.map((e) => (Array.isArray(e) && e.length === 4 ? [e[0], e[1], 0, e[3]] : e));
  const out = reply.map((e) => withoutTimes(command, e));
  for (let i = 0; i + 1 < out.length; i += 2) {
    if (typeof out[i] !== 'string') continue;
    if (XINFO_TIMES.has(out[i] as string)) out[i + 1] = 0;
    // XINFO STREAM FULL's pending entries: [ID, consumer, delivery time, deliveries] for a group, [ID, delivery time, deliveries] for a consumer.
    if (out[i] === 'pending' && Array.isArray(out[i + 1])) out[i + 1] = (out[i + 1] as unknown[]).map((p) => (Array.isArray(p) ? p.map((x, j) => (j === p.length - 2 ? 0 : x)) : p));
  }
  return out;
}
