// What `redis-cli --rdb file` asks of a server: REPLCONF (capa, rdb-only)
// and SYNC (or PSYNC), answered with the whole database as an RDB file
// (version 10, as Redis 7.0 writes: dump-payload.ts's values, each key's
// deadline, a CRC-64 at the end), which redis-server loads. xrpkv is no
// replication master: SYNC and PSYNC are served only to a client that
// said `REPLCONF rdb-only 1` first, which is closed once the file is sent.
// The file is made whole in memory from the last published commit, in one
// turn (Redis forks a child for it): a database whose file would be over
// RDB_LIMIT bytes is refused (`xrpkv backup` copies any size).
import { randomBytes } from 'node:crypto';
import { ReplyError, command, word, type Client, type Context } from './command-spec.js';
import { valueOf } from './commands-dump.js';
import { writeTypedValue } from './dump-payload.js';
import { REDIS_VERSION } from './info.js';
import { OK, type Reply } from './resp-writer.js';
import { RdbWriter, crc64 } from './rdb-format.js';

/** The largest RDB file SYNC makes. */
export const RDB_LIMIT = 512 * 1024 * 1024;

/** Clients that said `REPLCONF rdb-only 1`. */
const rdbOnly = new WeakSet<Client>();

const OPCODE = { AUX: 0xfa, RESIZEDB: 0xfb, EXPIRETIME_MS: 0xfc, SELECTDB: 0xfe, EOF: 0xff } as const;

/** The database as an RDB file, from the last published commit. */
export function rdbFile(ctx: Context, limit = RDB_LIMIT): Buffer {
  const cmd = ctx.keyspace.reading(ctx);
  const w = new RdbWriter().raw(Buffer.from('REDIS0010'));
  const aux = (k: string, v: string) => w.byte(OPCODE.AUX).string(Buffer.from(k)).string(Buffer.from(v));
  aux('redis-ver', REDIS_VERSION);
  aux('redis-bits', '64');
  aux('ctime', String(Math.floor(Date.now() / 1000)));
  aux('used-mem', '0');
  aux('aof-base', '0');
  // Keys and keys with a deadline as the published counters have them: RESIZEDB is only a hint to the loader.
  w.byte(OPCODE.SELECTDB).len(0);
  w.byte(OPCODE.RESIZEDB).len(ctx.keyspace.count()).len(ctx.keyspace.counters.expiring);
  for (const { key } of cmd.data.keys()) {
    const found = cmd.data.find(key);
    if (found === undefined) continue;
    if (found.meta.deadline !== 0) w.byte(OPCODE.EXPIRETIME_MS).millis(found.meta.deadline);
    // The type byte comes before the key in a file (after it nowhere): the value is written, then moved behind the key.
    const value = writeTypedValue(new RdbWriter(), valueOf(cmd, key, found.meta, found.value)).bytes();
    w.raw(value.subarray(0, 1)).string(key).raw(value.subarray(1));
    if (w.size > limit) throw new ReplyError(`ERR the database is over ${limit} bytes as an RDB file, more than SYNC makes in memory; copy it with xrpkv backup`);
  }
  w.byte(OPCODE.EOF);
  const body = w.bytes();
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(body), 0);
  return Buffer.concat([body, crc]);
}

export const REPLCONF = command(
  'replconf',
  { arity: -1, flags: ['admin', 'noscript', 'loading', 'stale', 'allow_busy'], group: 'server', summary: 'What a replica tells its master; xrpkv takes rdb-only (for redis-cli --rdb) and answers OK to the rest.', since: '3.0.0' },
  (ctx, args) => {
    if (args.length % 2 === 0) throw new ReplyError('ERR syntax error');
    for (let i = 1; i < args.length; i += 2) {
      if (word(args[i]) === 'rdb-only') {
        if (args[i + 1]!.toString() === '1') rdbOnly.add(ctx.client);
        else if (args[i + 1]!.toString() === '0') rdbOnly.delete(ctx.client);
        else throw new ReplyError('ERR syntax error');
      }
    }
    return OK;
  },
);

function transfer(ctx: Context, head: string): Reply {
  if (!rdbOnly.has(ctx.client)) {
    throw new ReplyError('ERR xrpkv serve is no replication master: it sends its data as an RDB file only after REPLCONF rdb-only 1 (as redis-cli --rdb does)');
  }
  const file = rdbFile(ctx);
  ctx.client.closing = true;
  // An RDB transfer is a bulk length and the bytes, without the CRLF a bulk string ends with.
  return Buffer.concat([Buffer.from(`${head}$${file.length}\r\n`), file]);
}

const replicationMeta = { flags: ['admin', 'noscript', 'no_async_loading', 'no_multi'], group: 'server', access: 'read' as const };

export const SYNC = command('sync', { ...replicationMeta, arity: 1, summary: 'Sends the database as an RDB file (after REPLCONF rdb-only 1: redis-cli --rdb), then closes the connection.', since: '1.0.0' }, (ctx) =>
  transfer(ctx, ''),
);

export const PSYNC = command(
  'psync',
  { ...replicationMeta, arity: -3, summary: 'As SYNC, after +FULLRESYNC: xrpkv keeps no replication backlog to continue from.', since: '2.8.0' },
  (ctx) => transfer(ctx, `+FULLRESYNC ${randomBytes(20).toString('hex')} 0\r\n`),
);

export const REPLICATION_COMMANDS = [REPLCONF, SYNC, PSYNC];
