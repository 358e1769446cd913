// The blocking list pops (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH) and LMOVE /
// RPOPLPUSH on `xrpkv serve`, through ioredis: an element there is popped
// at once; otherwise the client waits until another client's write gives
// it one, in the order clients blocked, or its timeout passes; what it
// pipelined after waits too; an element is never lost to a client that
// went away.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { ioredisClient, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
let server: RunningServer;
const clients: Redis[] = [];
beforeAll(async () => {
  server = await startTestServer(tmp.dir, 'blocking.xrpkv');
});
afterAll(async () => {
  // disconnect, not QUIT: a client still blocked would answer QUIT only after its pop.
  for (const c of clients) c.disconnect();
  await server.close();
  tmp.remove();
});

const connect = () => ioredisClient(server.port, clients);

/** Resolves once `n` clients are blocked. */
async function blockedClients(n: number): Promise<void> {
  for (let i = 0; i < 1000 && server.keyspace.blocked.size !== n; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  expect(server.keyspace.blocked.size).toBe(n);
}

describe('BLPOP and BRPOP', () => {
  it('pop at once from the first of their keys that has an element', async () => {
    const r = connect();
    await r.rpush('bp:b', '1', '2', '3');
    expect(await r.blpop('bp:a', 'bp:b', 0)).toEqual(['bp:b', '1']);
    expect(await r.brpop('bp:a', 'bp:b', 0)).toEqual(['bp:b', '3']);
    expect(await r.lrange('bp:b', 0, -1)).toEqual(['2']);
  });

  it('answer nil once the timeout passes, fractions of a second included', async () => {
    const r = connect();
    const start = performance.now();
    expect(await r.blpop('bp:none', 0.2)).toBeNull();
    expect(performance.now() - start).toBeGreaterThanOrEqual(195);
    expect(server.keyspace.blocked.size).toBe(0);
  });

  it('wake when another client pushes, and serve blocked clients in the order they blocked', async () => {
    const [a, b, c, pusher] = [connect(), connect(), connect(), connect()];
    const popped: string[][] = [];
    const waits = [];
    for (const [name, client] of [['a', a], ['b', b], ['c', c]] as const) {
      waits.push(client.blpop('bp:q', 0).then((r) => popped.push([name, r![1]])));
      await blockedClients(waits.length);
    }
    expect(await pusher.client('LIST')).toMatch(/flags=b/);
    expect(await pusher.info('clients')).toMatch(/blocked_clients:3/);
    await pusher.rpush('bp:q', 'first');
    // The server lets a go as it answers; a has its reply a moment later.
    await blockedClients(2);
    for (let i = 0; i < 1000 && popped.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(popped).toEqual([['a', 'first']]);
    await pusher.rpush('bp:q', 'second', 'third', 'fourth');
    await Promise.all(waits);
    // Which reply reaches its client first is the network's business; which element each got is the server's.
    expect(popped.sort()).toEqual([
      ['a', 'first'],
      ['b', 'second'],
      ['c', 'third'],
    ]);
    expect(await pusher.lrange('bp:q', 0, -1)).toEqual(['fourth']);
  });

  it('a client waits on every key it named, and runs nothing it pipelined after until it is answered', async () => {
    const [r, other] = [connect(), connect()];
    const pipeline = r.pipeline().brpop('bp:x', 'bp:y', 0).set('bp:after', '1').exec();
    await blockedClients(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await other.get('bp:after')).toBeNull();
    await other.lpush('bp:y', 'v');
    expect(await pipeline).toEqual([
      [null, ['bp:y', 'v']],
      [null, 'OK'],
    ]);
    expect(await other.get('bp:after')).toBe('1');
  });

  it('serves a blocked client right after the command that fed its key, before what was issued after it', async () => {
    const [r, other] = [connect(), connect()];
    const waiting = r.blpop('bp:fed', 0);
    await blockedClients(1);
    // As Redis: the pop runs between the push and the DEL pipelined after it.
    expect(await other.pipeline().rpush('bp:fed', 'x').del('bp:fed').exec()).toEqual([
      [null, 1],
      [null, 0],
    ]);
    expect(await waiting).toEqual(['bp:fed', 'x']);
  });

  it('leaves the element in the list when the blocked client went away', async () => {
    const [r, other] = [connect(), connect()];
    const gone = r.blpop('bp:left', 0).catch(() => 'closed');
    await blockedClients(1);
    r.disconnect();
    expect(await gone).toBe('closed');
    await blockedClients(0);
    await other.rpush('bp:left', 'kept');
    expect(await other.lrange('bp:left', 0, -1)).toEqual(['kept']);
  });

  it('do not block inside MULTI, and refuse bad timeouts and other types', async () => {
    const r = connect();
    expect(await r.multi().blpop('bp:empty', 0).rpush('bp:m', 'x').brpop('bp:m', 0).exec()).toEqual([
      [null, null],
      [null, 1],
      [null, ['bp:m', 'x']],
    ]);
    await expect(r.blpop('bp:t', -1)).rejects.toThrow('ERR timeout is negative');
    await expect(r.call('BLPOP', 'bp:t', 'soon')).rejects.toThrow('ERR timeout is not a float or out of range');
    await r.set('bp:string', 'v');
    await expect(r.blpop('bp:string', 0)).rejects.toThrow(/^WRONGTYPE/);
    expect(server.keyspace.blocked.size).toBe(0);
  });
});

describe('LMPOP, ZMPOP, BLMPOP, BZMPOP, BZPOPMIN and BZPOPMAX', () => {
  it('pop from the first key with something, and the blocking ones wait for it', async () => {
    const [r, other] = [connect(), connect()];
    await r.rpush('mp2:l', 'a', 'b', 'c');
    expect(await r.call('LMPOP', '2', 'mp2:none', 'mp2:l', 'LEFT', 'COUNT', '2')).toEqual(['mp2:l', ['a', 'b']]);
    expect(await r.call('LMPOP', '1', 'mp2:none', 'RIGHT')).toBeNull();
    await r.zadd('mp2:z', 1, 'x', 2, 'y', 3, 'z');
    expect(await r.call('ZMPOP', '1', 'mp2:z', 'MAX', 'COUNT', '2')).toEqual(['mp2:z', [['z', '3'], ['y', '2']]]);
    expect(await r.bzpopmin('mp2:none', 'mp2:z', 0)).toEqual(['mp2:z', 'x', '1']);
    await expect(r.call('LMPOP', '0', 'mp2:l', 'LEFT')).rejects.toThrow('ERR numkeys should be greater than 0');
    await expect(r.call('ZMPOP', '1', 'mp2:z', 'MIN', 'COUNT', '0')).rejects.toThrow('ERR count should be greater than 0');
    // Blocked, each wakes on its own key.
    const lists = r.call('BLMPOP', '0', '2', 'mp2:a', 'mp2:b', 'RIGHT', 'COUNT', '5');
    await blockedClients(1);
    await other.rpush('mp2:b', '1', '2');
    expect(await lists).toEqual(['mp2:b', ['2', '1']]);
    const zsets = r.call('BZMPOP', '0', '1', 'mp2:zz', 'MIN');
    await blockedClients(1);
    await other.zadd('mp2:zz', 5, 'm', 4, 'n');
    expect(await zsets).toEqual(['mp2:zz', [['n', '4']]]);
    const max = r.bzpopmax('mp2:zz2', 0);
    await blockedClients(1);
    await other.zadd('mp2:zz2', 7, 'p', 9, 'q');
    expect(await max).toEqual(['mp2:zz2', 'q', '9']);
    expect(await r.call('BZMPOP', '0.05', '1', 'mp2:empty', 'MAX')).toBeNull();
  });
});

describe('many producers and blocked consumers', () => {
  it('hand every element to exactly one consumer, none lost, none twice', async () => {
    const producers = [connect(), connect(), connect()];
    const consumers = [connect(), connect(), connect(), connect()];
    const PER = 300;
    const got: string[] = [];
    let producing = true;
    const consuming = consumers.map(async (c, i) => {
      // Short timeouts: consumers block, time out and block again while the producers run.
      for (;;) {
        const r = await (i % 2 === 0 ? c.brpop('mp:q', 'mp:other', 0.05) : c.blpop('mp:q', 0.05));
        if (r) got.push(r[1]);
        else if (!producing) return;
      }
    });
    await Promise.all(
      producers.map(async (p, n) => {
        for (let i = 0; i < PER; i += 10) {
          await p.lpush('mp:q', ...Array.from({ length: 10 }, (_, j) => `${n}:${i + j}`));
          if (i % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        }
      }),
    );
    producing = false;
    await Promise.all(consuming);
    expect(got.length).toBe(3 * PER);
    expect(new Set(got).size).toBe(3 * PER);
    expect(await producers[0]!.llen('mp:q')).toBe(0);
    expect(server.keyspace.blocked.size).toBe(0);
  }, 30_000);
});

describe('CLIENT UNBLOCK', () => {
  it('ends a wait as its timeout would, or with an error', async () => {
    const [r, admin] = [connect(), connect()];
    const id = String(await r.client('ID'));
    const timedOut = r.blpop('ub:q', 0);
    await blockedClients(1);
    expect(await admin.call('CLIENT', 'UNBLOCK', id)).toBe(1);
    expect(await timedOut).toBeNull();
    const failed = r.brpop('ub:q', 0).then(
      () => 'answered',
      (e: Error) => e.message,
    );
    await blockedClients(1);
    expect(await admin.call('CLIENT', 'UNBLOCK', id, 'ERROR')).toBe(1);
    expect(await failed).toBe('UNBLOCKED client unblocked via CLIENT UNBLOCK');
    expect(await admin.call('CLIENT', 'UNBLOCK', id)).toBe(0);
    await expect(admin.call('CLIENT', 'UNBLOCK', id, 'LATER')).rejects.toThrow('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
    expect(await r.ping()).toBe('PONG');
  });
});

describe('LMOVE, RPOPLPUSH, BLMOVE and BRPOPLPUSH', () => {
  it('move an element between lists, or rotate one, and move nothing onto another type', async () => {
    const r = connect();
    await r.rpush('mv:src', 'a', 'b', 'c');
    expect(await r.lmove('mv:src', 'mv:dst', 'LEFT', 'RIGHT')).toBe('a');
    expect(await r.rpoplpush('mv:src', 'mv:dst')).toBe('c');
    expect(await r.lrange('mv:dst', 0, -1)).toEqual(['c', 'a']);
    expect(await r.lmove('mv:dst', 'mv:dst', 'LEFT', 'RIGHT')).toBe('c');
    expect(await r.lrange('mv:dst', 0, -1)).toEqual(['a', 'c']);
    expect(await r.lmove('mv:none', 'mv:dst', 'LEFT', 'LEFT')).toBeNull();
    await r.set('mv:str', 'v');
    await expect(r.lmove('mv:src', 'mv:str', 'LEFT', 'LEFT')).rejects.toThrow(/^WRONGTYPE/);
    expect(await r.lrange('mv:src', 0, -1)).toEqual(['b']);
    await expect(r.call('LMOVE', 'mv:src', 'mv:dst', 'UP', 'LEFT')).rejects.toThrow('ERR syntax error');
    // Rotating a one-element list leaves it, and its deadline, as they were (seed 52 of the differential test).
    await r.rpush('mv:one', 'solo');
    await r.expire('mv:one', 100);
    expect(await r.lmove('mv:one', 'mv:one', 'LEFT', 'RIGHT')).toBe('solo');
    expect(await r.ttl('mv:one')).toBe(100);
    expect(await r.lrange('mv:one', 0, -1)).toEqual(['solo']);
    // The last element moved: the source is gone.
    expect(await r.rpoplpush('mv:src', 'mv:dst')).toBe('b');
    expect(await r.exists('mv:src')).toBe(0);
  });

  it('BLMOVE and BRPOPLPUSH wait for the source, then move', async () => {
    const [r, other] = [connect(), connect()];
    const moved = r.blmove('bm:src', 'bm:dst', 'RIGHT', 'LEFT', 0);
    await blockedClients(1);
    await other.rpush('bm:src', 'x', 'y');
    expect(await moved).toBe('y');
    expect(await r.brpoplpush('bm:src', 'bm:dst', 0)).toBe('x');
    expect(await r.lrange('bm:dst', 0, -1)).toEqual(['x', 'y']);
    expect(await r.brpoplpush('bm:src', 'bm:dst', 0.05)).toBeNull();
  });
});

describe('a blocked client and the server stopping', () => {
  it('does not hold the shutdown: the client sees its connection close', async () => {
    const dir = tempDir();
    const own = await startTestServer(dir.dir, 'stop.xrpkv');
    const r = new Redis({ port: own.port, host: '127.0.0.1', maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on('error', () => {});
    const waiting = r.blpop('stop:q', 0).catch(() => 'closed');
    for (let i = 0; i < 1000 && own.keyspace.blocked.size === 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    const start = performance.now();
    await own.close();
    // Well inside the 5 s a connection gets to finish its commands.
    expect(performance.now() - start).toBeLessThan(4000);
    expect(await waiting).toBe('closed');
    r.disconnect();
    dir.remove();
  });
});
