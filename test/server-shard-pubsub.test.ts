// Sharded Pub/Sub (SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB SHARDCHANNELS
// and SHARDNUMSUB) on `xrpkv serve` against Debian's redis-server 7.0
// (started here): the same bytes on each connection, shard channels a
// namespace apart from PUBLISH's, their own subscription counts, and a
// RESP2 connection that listens to one kept to the Pub/Sub commands.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('shard-pubsub.xrpkv');

const settle = (ms = 80) => new Promise((resolve) => setTimeout(resolve, ms));

/** Each of `scripts` sent on a connection of its own, one after the other with a pause between; what each received. */
async function run(port: number, scripts: string[][]): Promise<string[]> {
  const conns = await Promise.all(
    scripts.map(
      () =>
        new Promise<{ socket: ReturnType<typeof connect>; got: string[] }>((resolve) => {
          const socket = connect(port, '127.0.0.1', () => resolve({ socket, got }));
          const got: string[] = [];
          socket.on('data', (d) => got.push(d.toString('latin1')));
        }),
    ),
  );
  for (let step = 0; step < Math.max(...scripts.map((s) => s.length)); step++) {
    scripts.forEach((s, i) => s[step] !== undefined && conns[i]!.socket.write(`${s[step]}\r\n`));
    await settle();
  }
  for (const c of conns) c.socket.destroy();
  return conns.map((c) => c.got.join(''));
}

describe('sharded Pub/Sub', () => {
  it('answers and delivers as redis-server', async () => {
    const scripts = [
      ['SSUBSCRIBE a b', 'SUNSUBSCRIBE b', 'SUNSUBSCRIBE b', 'SSUBSCRIBE a', 'SUBSCRIBE c', 'SUNSUBSCRIBE x', 'PING', 'GET k', '', '', 'SUNSUBSCRIBE a', 'UNSUBSCRIBE', 'GET k'],
      ['', '', '', '', '', '', '', '', 'SPUBLISH a hi', 'PUBLISH a not-to-shards', 'PUBSUB SHARDNUMSUB a zz', 'PUBSUB SHARDCHANNELS', 'SPUBLISH a gone', 'PUBSUB SHARDCHANNELS a*', 'PUBSUB HELP'],
      ['HELLO 3', 'SSUBSCRIBE a', '', '', '', '', '', '', '', '', '', '', 'GET k', 'SUNSUBSCRIBE'],
    ];
    const [ours, theirs] = [await run(beside.server.port, scripts), await run(beside.redisPort, scripts)];
    // HELLO's reply names each server; the rest must match.
    ours[2] = ours[2]!.slice(ours[2]!.indexOf('>3'));
    theirs[2] = theirs[2]!.slice(theirs[2]!.indexOf('>3'));
    expect(ours).toEqual(theirs);
    expect(ours[0]).toContain('smessage');
    expect(ours[0]).not.toContain('not-to-shards');
  });
});
