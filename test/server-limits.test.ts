// What one client can cost the server (client-output-buffer-limit): a client
// that pipelines GETs of a large value and never reads the replies is held
// to a bounded output buffer, disconnected once over the limit, and never
// keeps other clients waiting. Servers run in this process (startServer), so
// the tests read the bytes a session holds for its client directly.
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Client } from '../src/server/command-spec.js';
import type { RunningServer } from '../src/server/server.js';
import { resp, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const VALUE = Buffer.alloc(100_000, 'v');
/** Enough pipelined GETs for 200 MB of replies, in one 58 KB write. */
const GETS = Buffer.concat(Array.from({ length: 2000 }, () => resp('GET', 'big')));
const MiB = 1024 * 1024;
const opened: { close(): unknown }[] = [];

afterEach(async () => {
  for (const c of opened.splice(0)) await c.close();
});
afterAll(() => tmp.remove());

let nth = 0;
async function server(limit?: string): Promise<RunningServer> {
  const s = await startTestServer(tmp.dir, `limits-${++nth}.xrpkv`, limit === undefined ? {} : { 'client-output-buffer-limit': limit });
  opened.push(s);
  const r = redis(s);
  await r.set('big', VALUE);
  return s;
}

function redis(s: RunningServer): Redis {
  const r = new Redis({ port: s.port, host: '127.0.0.1', retryStrategy: () => null });
  opened.push({ close: () => r.disconnect() });
  return r;
}

/**
 * A connection that sends `bytes` and never reads a reply; its session on
 * the server, and a promise of the server's closing it (the client, reading
 * nothing, would not see the close).
 */
async function nonReader(s: RunningServer, bytes: Buffer): Promise<{ socket: Socket; session: Client; dropped: Promise<void> }> {
  const before = new Set(s.state.clients);
  const socket = connect(s.port, '127.0.0.1');
  socket.pause(); // before it connects: nothing is ever read from it
  socket.on('error', () => {});
  opened.push({ close: () => socket.destroy() });
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(bytes);
  const session = await until(() => [...s.state.clients].find((c) => !before.has(c)));
  const dropped = until(() => !s.state.clients.has(session)).then(() => undefined);
  return { socket, session, dropped };
}

/** Polls `probe` every 10 ms until it returns something; fails after 30 s. */
async function until<T>(probe: () => T | undefined | false): Promise<T> {
  for (let i = 0; i < 3000; i++) {
    const got = probe();
    if (got !== undefined && got !== false) return got;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('timed out waiting');
}

/** Another client, served while the non-reader waits: PING and a GET of the large value. */
async function othersServed(s: RunningServer): Promise<void> {
  const r = redis(s);
  expect(await r.ping()).toBe('PONG');
  expect((await r.getBuffer('big'))!.equals(VALUE)).toBe(true);
}

describe('client-output-buffer-limit', () => {
  it('holds a client that never reads to the soft limit (8 MiB by default): it stops running its commands, and serves them once it reads', async () => {
    const s = await server();
    const { socket, session } = await nonReader(s, GETS);
    // Stalled: replies fill the kernel's buffers, then the session's, until it stops running commands.
    await until(() => session.outputBytes > 8 * MiB);
    let most = 0;
    for (let i = 0; i < 20; i++) {
      most = Math.max(most, session.outputBytes);
      await othersServed(s);
    }
    // Past the soft limit by at most the reply that crossed it.
    expect(most).toBeLessThanOrEqual(8 * MiB + VALUE.length + 64);
    expect(s.state.outputLimitDisconnections).toBe(0);
    // Once it reads, the rest of its commands run: every reply arrives, in full.
    const want = 2000 * Buffer.byteLength(`$${VALUE.length}\r\n${VALUE}\r\n`);
    let got = 0;
    socket.on('data', (d: Buffer) => (got += d.length));
    socket.resume();
    await until(() => got >= want);
    expect(got).toBe(want);
    expect(session.outputBytes).toBe(0);
  });

  it('disconnects a client over the hard limit as its replies are produced, and drops what it held', async () => {
    const s = await server('normal 1mb 0 0');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { session, dropped } = await nonReader(s, GETS);
      await dropped;
      expect(s.state.outputLimitDisconnections).toBe(1);
      expect(errors.mock.calls.map(String).join('\n')).toMatch(/closing client \d+ .*over the hard limit \(1048576\)/);
      expect(session.outputBytes).toBe(0);
      expect(session.inputBytes).toBe(0);
      await othersServed(s);
    } finally {
      errors.mockRestore();
    }
  });

  it('disconnects a client over the soft limit for longer than its seconds', async () => {
    const s = await server('normal 0 256kb 1');
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      const { session, dropped } = await nonReader(s, GETS);
      await until(() => session.outputBytes > 256 * 1024);
      await othersServed(s);
      await dropped;
      expect(s.state.outputLimitDisconnections).toBe(1);
      expect(errors.mock.calls.map(String).join('\n')).toMatch(/over the soft limit \(262144\) for 1 s/);
    } finally {
      errors.mockRestore();
    }
  });

  it('is reported by CONFIG GET and INFO, and CONFIG SET changes it for the clients connected', async () => {
    const s = await server();
    const r = redis(s);
    expect(await r.config('GET', 'client-output-buffer-limit')).toEqual(['client-output-buffer-limit', 'normal 1073741824 8388608 60']);
    expect(await r.config('SET', 'client-output-buffer-limit', 'normal 2mb 1mb 30 pubsub 32mb 8mb 60')).toBe('OK');
    expect(await r.config('GET', 'client-output-buffer-limit')).toEqual(['client-output-buffer-limit', 'normal 2097152 1048576 30']);
    await expect(r.config('SET', 'client-output-buffer-limit', 'normal 2mb')).rejects.toThrow(/CONFIG SET failed .*client-output-buffer-limit.* expected 'normal <hard> <soft> <soft-seconds>'/);
    await expect(r.config('SET', 'maxclients', '5')).rejects.toThrow(/it is set at startup/);
    expect(await r.config('GET', 'client-output-buffer-limit')).toEqual(['client-output-buffer-limit', 'normal 2097152 1048576 30']);
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      // Over the new hard limit: disconnected at once.
      await r.config('SET', 'client-output-buffer-limit', 'normal 512kb 0 0');
      await (await nonReader(s, GETS)).dropped;
    } finally {
      errors.mockRestore();
    }
    const info = await r.info();
    expect(info).toMatch(/\r\nclient_output_buffer_limit_disconnections:1\r\n/);
    expect(info).toMatch(/\r\nclient_recent_max_output_buffer:\d+\r\n/);
  });
});
