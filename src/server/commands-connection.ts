// Connection commands: PING, ECHO, AUTH, HELLO, QUIT (CLIENT is in commands-client.ts).
import { createHash, timingSafeEqual } from 'node:crypto';
import { subscribed } from './pubsub.js';
import { ReplyError, SYNTAX, command, word, wrongArgs, type Context } from './command-spec.js';
import { VERSION } from '../version.js';
import { REDIS_VERSION } from './info.js';
import { OK, PONG, array, bulk, integer, map, type Reply } from './resp-writer.js';


export const PING = command(
  'ping',
  { arity: -1, flags: ['fast'], group: 'connection', summary: 'Returns PONG, or the message given.', since: '1.0.0' },
  ({ client }, args) => {
    if (args.length > 2) throw wrongArgs('ping');
    // A RESP2 connection with a subscription answers as Redis does there: ["pong", message].
    if (client.proto === 2 && subscribed(client)) return array([bulk('pong'), bulk(args[1] ?? '')]);
    return args.length === 2 ? bulk(args[1]!) : PONG;
  },
);

export const ECHO = command(
  'echo',
  { arity: 2, flags: ['fast'], group: 'connection', summary: 'Returns the message given.', since: '1.0.0' },
  (_ctx, [, message]) => bulk(message!),
);

const digest = (b: Buffer) => createHash('sha256').update(b).digest();

/** Checks `user`/`password` against requirepass; marks the client authenticated. */
function authenticate({ client, server }: Context, user: Buffer | undefined, password: Buffer): void {
  const secret = server.config.requirepass;
  if (secret === undefined) {
    throw new ReplyError('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
  }
  const userOk = user === undefined || user.toString('utf8') === 'default';
  if (!userOk || !timingSafeEqual(digest(password), digest(Buffer.from(secret, 'utf8')))) {
    throw new ReplyError('WRONGPASS invalid username-password pair or user is disabled.');
  }
  client.authenticated = true;
}

export const AUTH = command(
  'auth',
  { arity: -2, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'], group: 'connection', summary: 'Authenticates the connection (user "default" and the requirepass password).', since: '1.0.0' },
  (ctx, args) => {
    if (args.length > 3) throw SYNTAX();
    authenticate(ctx, args.length === 3 ? args[1] : undefined, args[args.length - 1]!);
    return OK;
  },
);

export const HELLO = command(
  'hello',
  {
    arity: -1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'],
    group: 'connection',
    summary: 'Picks the protocol (2 or 3), optionally authenticates and names the connection; returns the server map.',
    since: '6.0.0',
  },
  (ctx, args) => {
    const { client } = ctx;
    let proto = client.proto;
    if (args.length >= 2) {
      const v = args[1]!.toString('latin1');
      if (v !== '2' && v !== '3') throw new ReplyError('NOPROTO unsupported protocol version');
      proto = v === '2' ? 2 : 3;
    }
    let name: string | undefined;
    for (let i = 2; i < args.length; i++) {
      const opt = word(args[i]);
      if (opt === 'auth' && i + 2 < args.length) {
        authenticate(ctx, args[i + 1], args[i + 2]!);
        i += 2;
      } else if (opt === 'setname' && i + 1 < args.length) {
        name = clientName(args[++i]!);
      } else {
        throw new ReplyError(`ERR Syntax error in HELLO option '${args[i]!.toString('utf8')}'`);
      }
    }
    if (!client.authenticated) {
      throw new ReplyError('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
    }
    client.proto = proto;
    if (name !== undefined) client.name = name;
    const entries: [Reply, Reply][] = [
      [bulk('server'), bulk('redis')],
      [bulk('version'), bulk(REDIS_VERSION)],
      [bulk('proto'), integer(proto)],
      [bulk('id'), integer(client.id)],
      [bulk('mode'), bulk('standalone')],
      [bulk('role'), bulk('master')],
      [bulk('modules'), array([])],
      [bulk('xrpkv_version'), bulk(VERSION)],
    ];
    return map(entries, proto);
  },
);

export const QUIT = command(
  'quit',
  { arity: -1, flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth'], group: 'connection', summary: 'Closes the connection once the replies before it are sent.', since: '1.0.0', controlsTransaction: true },
  ({ client }) => {
    client.closing = true;
    return OK;
  },
);

export const RESET = command(
  'reset',
  {
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'fast', 'no_auth', 'allow_busy'],
    group: 'connection',
    summary: 'Resets the connection: drops MULTI and WATCH, leaves every Pub/Sub subscription and MONITOR, RESP2, no name, and AUTH again where a password is set.',
    since: '6.2.0',
    controlsTransaction: true,
  },
  ({ client, keyspace, server }) => {
    client.transaction.queue = undefined;
    client.transaction.refused = false;
    keyspace.watches.unwatchAll(client.transaction);
    server.pubsub.removeAll(client);
    server.monitors.remove(client);
    keyspace.tracking.disable(client);
    client.proto = 2;
    client.name = '';
    client.authenticated = server.config.requirepass === undefined;
    return '+RESET\r\n';
  },
);

/** A connection name: printable ASCII without spaces, as Redis requires. */
export function clientName(arg: Buffer): string {
  for (const b of arg) {
    if (b <= 32 || b > 126) throw new ReplyError('ERR Client names cannot contain spaces, newlines or special characters.');
  }
  return arg.toString('latin1');
}

export const CONNECTION_COMMANDS = [PING, ECHO, AUTH, HELLO, QUIT, RESET];
