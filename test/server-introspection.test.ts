// MONITOR, OBJECT and WAIT on `xrpkv serve`, against Debian's redis-server
// 7.0 (started here) where Redis defines the answer: OBJECT's encodings and
// refcounts for the same values, WAIT's replies and errors, MONITOR's lines
// (quoting, redacted passwords, EXEC after its commands, a script's commands
// as `lua`) and what a monitoring connection may still do.
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { ioredisClient, resp, useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('introspection.xrpkv');

/** The same command on both servers; replies or error messages equal. */
const same = (...args: (string | number)[]): Promise<unknown> => beside.same(args);

describe('OBJECT', () => {
  it('answers the encoding and refcount Redis 7.0 gives the same values, and its errors', async () => {
    const keys: [string, (string | number)[]][] = [
      ['ob:int', ['SET', 'ob:int', '123']],
      ['ob:neg', ['SET', 'ob:neg', '-5']],
      ['ob:9999', ['SET', 'ob:9999', '9999']],
      ['ob:10000', ['SET', 'ob:10000', '10000']],
      ['ob:lead', ['SET', 'ob:lead', '012']],
      ['ob:big', ['SET', 'ob:big', '99999999999999999999']],
      ['ob:44', ['SET', 'ob:44', 'a'.repeat(44)]],
      ['ob:45', ['SET', 'ob:45', 'a'.repeat(45)]],
      ['ob:list', ['RPUSH', 'ob:list', 'a', 'b']],
      ['ob:hash', ['HSET', 'ob:hash', 'f', 'v']],
      ['ob:hashlong', ['HSET', 'ob:hashlong', 'f', 'v'.repeat(65)]],
      ['ob:intset', ['SADD', 'ob:intset', '1', '2', '-3']],
      ['ob:set', ['SADD', 'ob:set', '1', 'a']],
      ['ob:zset', ['ZADD', 'ob:zset', '1', 'a']],
      ['ob:zsetlong', ['ZADD', 'ob:zsetlong', '1', 'm'.repeat(65)]],
      ['ob:none', ['GET', 'ob:none']],
    ];
    for (const [key, make] of keys) {
      await same(...make);
      await same('OBJECT', 'ENCODING', key);
      await same('OBJECT', 'REFCOUNT', key);
    }
    for (const n of [512, 513]) {
      await same('HSET', `ob:hash${n}`, ...Array.from({ length: n }, (_, i) => [`f${i}`, 'v']).flat());
      await same('OBJECT', 'ENCODING', `ob:hash${n}`);
    }
    for (const n of [128, 129]) {
      await same('ZADD', `ob:zset${n}`, ...Array.from({ length: n }, (_, i) => [String(i), `m${i}`]).flat());
      await same('OBJECT', 'ENCODING', `ob:zset${n}`);
    }
    await same('SADD', 'ob:intsetmany', ...Array.from({ length: 513 }, (_, i) => String(i)));
    await same('OBJECT', 'ENCODING', 'ob:intsetmany');
    await same('OBJECT', 'FREQ', 'ob:int');
    await same('OBJECT');
    await same('OBJECT', 'ENCODING');
    await same('OBJECT', 'NOSUCH', 'ob:int');
    await expect(beside.ours.object('IDLETIME', 'ob:int')).rejects.toThrow(/^ERR xrpkv does not track when keys were last used/);
  });
});

describe('WAIT', () => {
  it('answers 0 (no replicas) once earlier writes are durable: at once, or after its timeout when it asks for replicas', async () => {
    await same('WAIT', 0, 0);
    const started = Date.now();
    expect(await same('WAIT', 1, 150)).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    await same('WAIT', 'x', 0);
    await same('WAIT', 0, -1);
    // After a pipelined write: the write is answered first, and durable.
    const [[, set], [, wait]] = (await beside.ours.pipeline().set('ob:w', '1').call('WAIT', '0', '0').exec())!;
    expect([set, wait]).toEqual(['OK', 0]);
  });
});

/** A raw connection's received bytes, as latin1. */
function rawClient(port: number): { socket: net.Socket; received: () => string } {
  const socket = net.connect(port, '127.0.0.1');
  let got = '';
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  return { socket, received: () => got };
}

const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

describe('MONITOR', () => {
  it('shows what runs as redis-server does: quoted bytes, redacted passwords, EXEC after its commands, script commands as lua', async () => {
    const lines: string[] = [];
    for (const port of [beside.redisPort, beside.server.port]) {
      const monitor = rawClient(port);
      monitor.socket.write(resp('MONITOR'));
      await settle();
      const client = rawClient(port);
      for (const args of [
        ['SET', 'a b', Buffer.from('x"y\\z\n\x01\xff', 'latin1')],
        ['GET', 'a b'],
        ['AUTH', 'secret'],
        ['HELLO', '2', 'AUTH', 'default', 'pw'],
        ['NOSUCH', 'x'],
        ['GET'],
        ['MULTI'],
        ['INCR', 'mo:n'],
        ['EXEC'],
        ['EVAL', "return redis.call('get', KEYS[1])", '1', 'mo:n'],
      ] as (string | Buffer)[][])
        client.socket.write(resp(...args));
      await settle();
      monitor.socket.write(resp('PING'));
      monitor.socket.write(resp('GET', 'mo:n'));
      await settle();
      lines.push(monitor.received().replace(/\+\d{10}\.\d{6} /g, '+T ').replace(/127\.0\.0\.1:\d+/g, 'ADDR'));
      client.socket.destroy();
      monitor.socket.destroy();
    }
    expect(lines[1]).toBe(lines[0]);
    expect(lines[1]).toContain('+T [0 ADDR] "SET" "a b" "x\\"y\\\\z\\n\\x01\\xff"\r\n');
    expect(lines[1]).toContain('+T [0 ADDR] "HELLO" "2" "AUTH" "(redacted)" "(redacted)"\r\n');
    expect(lines[1]).toContain('+T [0 lua] "get" "mo:n"\r\n');
    expect(lines[1]).not.toContain('secret');
    expect(lines[1]).toMatch(/"INCR" "mo:n"\r\n\+T \[0 ADDR\] "EXEC"/);
    expect(lines[1]).toContain("-ERR Replica can't interact with the keyspace\r\n");
  });

  it('is a flag in CLIENT LIST, and ends with RESET or the connection', async () => {
    // ioredis monitors on a connection of its own, which it returns.
    const monitor = await ioredisClient(beside.server.port, beside.clients, 'mon').monitor();
    await settle(50);
    expect(await beside.ours.client('LIST')).toMatch(/name=mon .*flags=O /);
    expect(beside.server.state.monitors.size).toBe(1);
    monitor.disconnect();
    for (let i = 0; i < 100 && beside.server.state.monitors.size > 0; i++) await settle(10);
    expect(beside.server.state.monitors.size).toBe(0);
    const raw = rawClient(beside.server.port);
    raw.socket.write(resp('MONITOR'));
    await settle(50);
    expect(beside.server.state.monitors.size).toBe(1);
    raw.socket.write(resp('RESET'));
    raw.socket.write(resp('GET', 'mo:n'));
    await settle(50);
    expect(beside.server.state.monitors.size).toBe(0);
    expect(raw.received()).toMatch(/\+RESET\r\n\$1\r\n1\r\n$/);
    raw.socket.destroy();
  });
});
