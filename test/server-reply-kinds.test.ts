// The bytes of replies, not only their values: each command here goes to
// `xrpkv serve` and to Debian's redis-server 7.0 (started here) on a raw
// connection, and the two servers must send the same bytes. A client
// library reads a status reply and a bulk string alike (ioredis does, which
// is how every HELP reply added in sessions 20 and 21 went out as bulk
// strings where Redis sends status lines, unseen by the tests comparing
// through it); these commands' replies are deterministic, so their bytes
// can be compared whole.
import { describe, expect, it } from 'vitest';
import { exchange, resp, useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('reply-kinds.xrpkv');

/** What a server sends back in 2 s for `commands`, sent pipelined on a fresh connection. */
async function bytesOf(port: number, commands: string[][]): Promise<string> {
  const { reply } = await exchange(port, Buffer.concat(commands.map((c) => resp(...c))), 2000);
  return reply;
}

describe('reply kinds', () => {
  it('are the bytes redis-server sends: HELP lines, statuses, integers, nils and arrays', async () => {
    const commands = [
      ...['XGROUP', 'XINFO', 'MODULE', 'ACL', 'SLOWLOG', 'LATENCY', 'FUNCTION', 'PUBSUB', 'CONFIG', 'COMMAND'].map((c) => [c, 'HELP']),
      ['ROLE'],
      ['ACL', 'WHOAMI'],
      ['ACL', 'USERS'],
      ['MODULE', 'LIST'],
      ['SET', 'rk:s', 'v'],
      ['TYPE', 'rk:s'],
      ['TYPE', 'rk:none'],
      ['GET', 'rk:none'],
      ['LRANGE', 'rk:none', '0', '-1'],
      ['XADD', 'rk:x', '1-1', 'f', 'v'],
      ['XGROUP', 'CREATE', 'rk:x', 'g', '0'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'rk:x', '>'],
      ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 'rk:x', '>'],
      ['XPENDING', 'rk:x', 'g'],
      ['XINFO', 'GROUPS', 'rk:x'],
      ['XACK', 'rk:x', 'g', '1-1'],
      ['XPENDING', 'rk:x', 'g'],
      ['BITFIELD', 'rk:b', 'SET', 'u8', '0', '200', 'GET', 'i8', '0', 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', '0', '100'],
      ['PFADD', 'rk:h', 'a', 'b'],
      ['PFDEBUG', 'ENCODING', 'rk:h'],
      ['PFDEBUG', 'DECODE', 'rk:h'],
      ['CLIENT', 'GETREDIR'],
      ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'rk:'],
      ['CLIENT', 'TRACKINGINFO'],
      ['SLOWLOG', 'GET', '-2'],
      ['LATENCY', 'LATEST'],
      ['COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'],
      ['SWAPDB', '0', '0'],
      ['BGREWRITEAOF'],
      ['LOLWUT', 'VERSION', '1'],
      ['DUMP', 'rk:none'],
      ['SPUBLISH', 'rk:ch', 'm'],
      ['PUBSUB', 'SHARDNUMSUB', 'rk:ch'],
      ['FCALL', 'nosuch', '0'],
    ];
    for (const c of [beside.ours, beside.theirs]) await c.flushall();
    const [ours, theirs] = await Promise.all([bytesOf(beside.server.port, commands), bytesOf(beside.redisPort, commands)]);
    expect(ours).toEqual(theirs);
  });
});
