// MULTI, EXEC, DISCARD, WATCH and UNWATCH on `xrpkv serve`, through ioredis,
// node-redis and raw sockets: queued commands never run before EXEC, EXEC
// applies them as one commit (or, after a refused command, none of them),
// and a watched key changed by another client makes EXEC answer nil.
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { exchange, resp, useTestServer } from './server-fixtures.js';

let server: RunningServer;
const clients: Redis[] = [];
useTestServer('tx.xrpkv', (s) => (server = s), clients);

function ioredis(): Redis {
  const client = new Redis({ port: server.port, host: '127.0.0.1' });
  clients.push(client);
  return client;
}

describe('MULTI and EXEC', () => {
  it('queues commands and runs them at EXEC, in order, as one commit (ioredis)', async () => {
    const r = ioredis();
    const other = ioredis();
    const multi = r.multi().set('io:t1', '1').incr('io:t2').get('io:t1').incr('io:t2');
    expect(await multi.exec()).toEqual([
      [null, 'OK'],
      [null, 1],
      [null, '1'],
      [null, 2],
    ]);
    expect(await other.mget('io:t1', 'io:t2')).toEqual(['1', '2']);
  });

  it('runs nothing before EXEC, and nothing at all after DISCARD', async () => {
    const r = ioredis();
    const other = ioredis();
    await r.call('MULTI');
    expect(await r.call('SET', 'q:a', '1')).toBe('QUEUED');
    expect(await r.call('INCR', 'q:n')).toBe('QUEUED');
    expect(await other.exists('q:a', 'q:n')).toBe(0);
    expect(await r.call('DISCARD')).toBe('OK');
    expect(await other.exists('q:a', 'q:n')).toBe(0);
    await expect(r.call('EXEC')).rejects.toThrow('ERR EXEC without MULTI');
    await expect(r.call('DISCARD')).rejects.toThrow('ERR DISCARD without MULTI');
  });

  it('applies nothing when a command was refused while queued (EXECABORT), so a retry applies once', async () => {
    const r = ioredis();
    await r.call('MULTI');
    expect(await r.call('SET', 'abort:a', '1')).toBe('QUEUED');
    await expect(r.call('NOSUCH', 'x')).rejects.toThrow(/unknown command/);
    await expect(r.call('SET', 'abort:b')).rejects.toThrow(/wrong number of arguments/);
    expect(await r.call('INCR', 'abort:n')).toBe('QUEUED');
    await expect(r.call('EXEC')).rejects.toThrow('EXECABORT Transaction discarded because of previous errors.');
    expect(await r.exists('abort:a', 'abort:n')).toBe(0);
    expect(await r.multi().set('abort:a', '1').incr('abort:n').exec()).toEqual([
      [null, 'OK'],
      [null, 1],
    ]);
    expect(await r.get('abort:n')).toBe('1');
  });

  it('answers a command that fails while EXEC runs with its error, applies the others, and undoes nothing else', async () => {
    const r = ioredis();
    await r.set('rt:word', 'abc');
    const replies = await r.multi().set('rt:a', '1').incr('rt:word').incr('rt:a').exec();
    expect(replies![0]).toEqual([null, 'OK']);
    expect(String(replies![1]![0])).toMatch(/value is not an integer/);
    expect(replies![2]).toEqual([null, 2]);
    expect(await r.mget('rt:a', 'rt:word')).toEqual(['2', 'abc']);
  });

  it('refuses nested MULTI and WATCH inside MULTI without failing the transaction', async () => {
    const { reply } = await exchange(server.port, Buffer.concat([resp('MULTI'), resp('MULTI'), resp('WATCH', 'n:a'), resp('SET', 'n:a', 'v'), resp('EXEC')]), 2000, (s) => s.includes('*1'));
    expect(reply).toBe('+OK\r\n-ERR MULTI calls can not be nested\r\n-ERR WATCH inside MULTI is not allowed\r\n+QUEUED\r\n*1\r\n+OK\r\n');
  });

  it('runs a pipelined MULTI ... EXEC with commands that touch no data, and an empty one', async () => {
    const { reply } = await exchange(
      server.port,
      Buffer.concat([resp('MULTI'), resp('PING'), resp('ECHO', 'hi'), resp('SET', 'p:a', 'x'), resp('GET', 'p:a'), resp('EXEC'), resp('MULTI'), resp('EXEC')]),
      2000,
      (s) => s.endsWith('*0\r\n'),
    );
    expect(reply).toBe('+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*4\r\n+PONG\r\n$2\r\nhi\r\n+OK\r\n$1\r\nx\r\n+OK\r\n*0\r\n');
  });

  it('works with node-redis multi() and a pipeline', async () => {
    const c = createClient({ url: `redis://127.0.0.1:${server.port}` });
    c.on('error', () => {});
    await c.connect();
    try {
      expect(await c.multi().set('nr:t1', 'a').incrBy('nr:t2', 5).get('nr:t1').exec()).toEqual(['OK', 5, 'a']);
      // node-redis rejects with the first queued command's error; EXEC answered EXECABORT.
      await expect(c.multi().set('nr:t3', 'a').addCommand(['NOSUCH']).exec()).rejects.toThrow(/unknown command|EXECABORT/);
      expect(await c.exists('nr:t3')).toBe(0);
    } finally {
      await c.close();
    }
  });
});

describe('WATCH', () => {
  it('fails EXEC (nil) when another client changed a watched key, and applies nothing', async () => {
    const r = ioredis();
    const other = ioredis();
    await r.set('w:a', '1');
    expect(await r.watch('w:a', 'w:b')).toBe('OK');
    await other.set('w:a', '2');
    expect(await r.multi().set('w:a', 'mine').set('w:c', 'mine').exec()).toBeNull();
    expect(await r.mget('w:a', 'w:c')).toEqual(['2', null]);
    // The watch ended with that EXEC: the next one applies.
    expect(await r.multi().set('w:c', 'mine').exec()).toEqual([[null, 'OK']]);
  });

  it('counts a change by a transaction, a DEL and a FLUSHDB of a watched key, but not an unrelated write or a failed SET NX', async () => {
    const r = ioredis();
    const other = ioredis();
    const attempt = async (change: () => Promise<unknown>) => {
      await r.watch('wc:k');
      await change();
      return r.multi().incr('wc:count').exec();
    };
    await r.set('wc:k', 'v');
    expect(await attempt(() => other.incr('wc:k2'))).not.toBeNull();
    expect(await attempt(() => other.set('wc:k', 'x', 'NX'))).not.toBeNull();
    expect(await attempt(() => other.multi().set('wc:k', 'y').exec())).toBeNull();
    expect(await attempt(() => other.del('wc:k'))).toBeNull();
    expect(await attempt(() => other.del('wc:k'))).not.toBeNull();
    await r.set('wc:k', 'v');
    expect(await attempt(() => other.flushdb())).toBeNull();
    // After UNWATCH a change does not matter.
    await r.watch('wc:k');
    await other.set('wc:k', 'z');
    await r.unwatch();
    expect(await r.multi().get('wc:k').exec()).toEqual([[null, 'z']]);
  });

  it("does not fail on the client's own writes before MULTI", async () => {
    const r = ioredis();
    await r.watch('own:a');
    const [, , exec] = await Promise.all([r.set('own:b', '1'), r.call('MULTI'), r.call('EXEC')]);
    expect(exec).toEqual([]);
  });

  it('makes a read-modify-write loop exact under 10 competing clients', async () => {
    const racers = Array.from({ length: 10 }, () => ioredis());
    await racers[0]!.set('race:n', '0');
    let retries = 0;
    await Promise.all(
      racers.map(async (r) => {
        for (let done = 0; done < 10; ) {
          await r.watch('race:n');
          const n = Number(await r.get('race:n'));
          const result = await r.multi().set('race:n', String(n + 1)).exec();
          if (result === null) retries++;
          else done++;
        }
      }),
    );
    expect(await racers[0]!.get('race:n')).toBe('100');
    // The clients did race: some EXECs found their key changed.
    expect(retries).toBeGreaterThan(0);
  });
});
