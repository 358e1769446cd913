// MIGRATE: keys sent to another Redis-protocol server (redis-server, or
// another xrpkv serve) as RESTORE commands with their DUMP payloads
// (commands-dump.ts), then, unless COPY, removed here. Redis blocks its
// whole server while it migrates; xrpkv serves on, so it removes a key
// only if it still holds what was sent (a key changed meanwhile stays,
// and is on both servers). No socket is kept between calls (Redis caches
// one for 10 s).
import { connect } from 'node:net';
import { ReplyError, SYNTAX, command, int64, word, type Context } from './command-spec.js';
import { valueOf } from './commands-dump.js';
import { writePayload } from './dump-payload.js';
import { OK, asBuffer, bulks, simple, type Reply } from './resp-writer.js';

interface Migrating {
  key: Buffer;
  payload: Buffer;
  /** Milliseconds left to live; 0: none. */
  ttl: number;
}

/** A command as a client sends it: an array of bulk strings. */
const resp = (args: (string | Buffer)[]): Buffer => asBuffer(bulks(args));

/** Sends `commands` to host:port and reads one status or error line for each; IOERR on a connection error or `timeout`. */
function exchange(host: string, port: number, commands: Buffer[], timeout: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let got = '';
    const lines: string[] = [];
    let connected = false;
    const socket = connect({ host, port });
    const fail = (what: string) => {
      socket.destroy();
      reject(new ReplyError(connected ? `IOERR error or timeout ${what} target instance` : 'IOERR error or timeout connecting to the client'));
    };
    socket.setTimeout(timeout, () => fail('reading from'));
    socket.on('error', () => fail('writing to'));
    socket.on('connect', () => {
      connected = true;
      socket.write(Buffer.concat(commands));
    });
    socket.on('data', (d) => {
      got += d.toString('latin1');
      let end: number;
      while ((end = got.indexOf('\r\n')) >= 0) {
        lines.push(got.slice(0, end));
        got = got.slice(end + 2);
      }
      if (lines.length >= commands.length) {
        socket.destroy();
        resolve(lines.slice(0, commands.length));
      }
    });
    socket.on('close', () => {
      if (lines.length < commands.length) fail('reading from');
    });
  });
}

export const MIGRATE = command(
  'migrate',
  {
    arity: -6,
    flags: ['write', 'denyoom'],
    firstKey: 3,
    lastKey: 3,
    step: 1,
    keysOf: (args) => {
      const at = args.findIndex((a, i) => i >= 6 && word(a) === 'keys');
      return at < 0 ? (args[3]!.length > 0 ? [args[3]!] : []) : args.slice(at + 1);
    },
    group: 'generic',
    // As a read: it runs once this connection's earlier writes are durable, so it sends what they wrote.
    access: 'read',
    summary: 'Sends keys to another server as RESTOREs of their DUMP payloads (COPY: keeps them here; REPLACE; AUTH, AUTH2; KEYS for several).',
    since: '2.6.0',
  },
  async (ctx: Context, args: Buffer[]): Promise<Reply> => {
    let copy = false;
    let replace = false;
    let auth: Buffer[] | undefined;
    let keys = [args[3]!];
    for (let j = 6; j < args.length; j++) {
      const w = word(args[j]);
      const more = args.length - 1 - j;
      if (w === 'copy') copy = true;
      else if (w === 'replace') replace = true;
      else if (w === 'auth') {
        if (more < 1) throw SYNTAX();
        auth = [args[++j]!];
      } else if (w === 'auth2') {
        if (more < 2) throw SYNTAX();
        auth = [args[++j]!, args[++j]!];
      } else if (w === 'keys') {
        if (args[3]!.length !== 0) throw new ReplyError('ERR When using MIGRATE KEYS option, the key argument must be set to the empty string');
        keys = args.slice(j + 1);
        break;
      } else throw SYNTAX();
    }
    let timeout = Number(int64(args[5]!));
    const db = int64(args[4]!);
    if (timeout <= 0) timeout = 1000;
    const read = ctx.keyspace.reading(ctx);
    const now = read.data.now;
    const sent: Migrating[] = [];
    for (const key of keys) {
      const found = read.data.find(key);
      if (found === undefined) continue;
      const ttl = found.meta.deadline === 0 ? 0 : Math.max(1, found.meta.deadline - now);
      sent.push({ key, payload: writePayload(valueOf(read, key, found.meta, found.value)), ttl });
    }
    if (sent.length === 0) return simple('NOKEY');
    const commands = [
      ...(auth ? [resp(['AUTH', ...auth])] : []),
      resp(['SELECT', String(db)]),
      ...sent.map((m) => resp(['RESTORE', m.key, String(m.ttl), m.payload, ...(replace ? ['REPLACE'] : [])])),
    ];
    const replies = await exchange(args[1]!.toString(), Number(args[2]!.toString()), commands, timeout);
    const preamble = replies.slice(0, commands.length - sent.length);
    const failed = preamble.find((r) => r.startsWith('-'));
    if (failed !== undefined) throw new ReplyError(`ERR Target instance replied with error: ${failed.slice(1)}`);
    const restored = sent.filter((_, i) => replies[preamble.length + i]!.startsWith('+'));
    const error = replies.slice(preamble.length).find((r) => r.startsWith('-'));
    if (!copy && restored.length > 0) {
      // Removed only where the key still holds what was sent: one changed meanwhile stays.
      await ctx.keyspace.writing(
        ctx,
        (cmd) => {
          for (const m of restored) {
            const found = cmd.data.find(m.key);
            if (found !== undefined && writePayload(valueOf(cmd, m.key, found.meta, found.value)).equals(m.payload)) cmd.data.remove(m.key, found);
          }
          return OK;
        },
        args,
        restored.map((m) => m.key),
      );
    }
    if (error !== undefined) throw new ReplyError(`ERR Target instance replied with error: ${error.slice(1)}`);
    return OK;
  },
);
