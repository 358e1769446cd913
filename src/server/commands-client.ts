// CLIENT: ID, GETNAME, SETNAME, SETINFO, LIST, INFO, KILL, UNBLOCK, HELP, and
// TRACKING, CACHING, GETREDIR, TRACKINGINFO (commands-tracking.ts). LIST and
// INFO write Redis's line per client (the fields clients and tools read;
// memory fields that have no meaning here are 0); KILL takes Redis's old
// form (an address: OK or an error) and its filters (ID, ADDR, LADDR,
// SKIPME, USER, TYPE normal: the number killed).
import { ReplyError, command, word, unknownSubcommand, type Client, type Context } from './command-spec.js';
import { clientName } from './commands-connection.js';
import { subscribed } from './pubsub.js';
import { trackingSubcommand } from './commands-tracking.js';
import { OK, bulk, error, helpLines, integer, nil } from './resp-writer.js';

const CLIENT_HELP = [
  'CLIENT <subcommand> [<arg> ...]. Subcommands are:',
  'ID -- Return the ID of the current connection.',
  'GETNAME -- Return the name of the current connection.',
  'SETNAME <name> -- Assign the name <name> to the current connection.',
  'SETINFO <LIB-NAME|LIB-VER> <value> -- Set library name or version of the current connection.',
  'LIST [TYPE NORMAL|PUBSUB] [ID id ...] -- Return information about client connections.',
  'INFO -- Return information about the current connection.',
  'KILL <ip:port> | KILL [ID id] [ADDR ip:port] [LADDR ip:port] [USER default] [TYPE normal|pubsub] [SKIPME yes|no] -- Kill connections.',
  'UNBLOCK <clientid> [TIMEOUT|ERROR] -- Unblock the client blocked in BLPOP, BRPOP, BLMOVE or BRPOPLPUSH: as its timeout would, or with an error.',
  'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP] -- Enable client keys tracking for client side caching.',
  'CACHING (YES|NO) -- Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
  'GETREDIR -- Return the client ID we are redirecting to when tracking is enabled.',
  "TRACKINGINFO -- Return information about current client's tracking status.",
  'HELP -- Print this help.',
];

/** One client's line of CLIENT LIST, as Redis 7.0 writes it. */
function clientLine(c: Client, current: Client): string {
  const now = Date.now();
  const queue = c.transaction.queue;
  const fields: [string, string | number][] = [
    ['id', c.id],
    ['addr', c.addr],
    ['laddr', c.laddr],
    ['fd', -1],
    ['name', c.name],
    ['age', Math.floor((now - c.createdAt) / 1000)],
    ['idle', c === current ? 0 : Math.floor((now - c.lastActive) / 1000)],
    ['flags', c.blocked ? 'b' : queue !== undefined ? 'x' : subscribed(c) ? 'P' : c.monitoring ? 'O' : 'N'],
    ['db', 0],
    ['sub', c.channels.size],
    ['psub', c.patterns.size],
    ['ssub', c.shardChannels.size],
    ['multi', queue?.length ?? -1],
    ['qbuf', c.inputBytes],
    ['qbuf-free', 0],
    ['argv-mem', 0],
    ['multi-mem', 0],
    ['rbs', 0],
    ['rbp', 0],
    ['obl', 0],
    ['oll', 0],
    ['omem', c.outputBytes],
    ['tot-mem', c.inputBytes + c.outputBytes],
    ['events', 'r'],
    ['cmd', c.lastCommand],
    ['user', 'default'],
    ['redir', -1],
    ['resp', c.proto],
    ['lib-name', c.libName],
    ['lib-ver', c.libVer],
  ];
  return fields.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** The clients CLIENT KILL's filters select. */
function killFilter(ctx: Context, args: Buffer[]): Client[] {
  const { client, server } = ctx;
  let matches = [...server.clients];
  let skipMe = true;
  for (let i = 2; i < args.length; i += 2) {
    const opt = word(args[i]);
    const value = args[i + 1];
    if (value === undefined) throw new ReplyError('ERR syntax error');
    const text = value.toString('latin1');
    if (opt === 'id') {
      if (!/^\d+$/.test(text)) throw new ReplyError('ERR client-id should be greater than 0');
      matches = matches.filter((c) => c.id === Number(text));
    } else if (opt === 'addr') matches = matches.filter((c) => c.addr === text);
    else if (opt === 'laddr') matches = matches.filter((c) => c.laddr === text);
    else if (opt === 'user') matches = text === 'default' ? matches : [];
    else if (opt === 'type') matches = ofType(matches, value);
    else if (opt === 'skipme') {
      const yes = word(value);
      if (yes !== 'yes' && yes !== 'no') throw new ReplyError('ERR syntax error');
      skipMe = yes === 'yes';
    } else throw new ReplyError('ERR syntax error');
  }
  return skipMe ? matches.filter((c) => c !== client) : matches;
}

/** The clients of TYPE `type`: a connection with a subscription is Redis's pubsub type, the others normal; none is a replica or master. */
function ofType(clients: Client[], type: Buffer): Client[] {
  const t = word(type);
  if (!['normal', 'master', 'replica', 'slave', 'pubsub'].includes(t)) throw new ReplyError(`ERR Unknown client type '${type.toString('utf8')}'`);
  if (t !== 'normal' && t !== 'pubsub') return [];
  return clients.filter((c) => subscribed(c) === (t === 'pubsub'));
}

export const CLIENT = command(
  'client',
  { arity: -2, flags: ['noscript', 'loading', 'stale'], group: 'connection', summary: 'Connection commands: ID, GETNAME, SETNAME, SETINFO, LIST, INFO, KILL, UNBLOCK, HELP.', since: '2.4.0' },
  (ctx, args) => {
    const { client, server } = ctx;
    const sub = word(args[1]);
    const arity = (n: number) => {
      if (args.length !== n) throw new ReplyError(`ERR wrong number of arguments for 'client|${sub}' command`);
    };
    switch (sub) {
      case 'id':
        arity(2);
        return integer(client.id);
      case 'getname':
        arity(2);
        return client.name === '' ? nil(client.proto) : bulk(client.name);
      case 'setname':
        arity(3);
        client.name = clientName(args[2]!);
        return OK;
      case 'setinfo': {
        arity(4);
        const attr = word(args[2]);
        const value = clientName(args[3]!);
        if (attr === 'lib-name') client.libName = value;
        else if (attr === 'lib-ver') client.libVer = value;
        else throw new ReplyError(`ERR Unrecognized option '${args[2]!.toString('utf8')}'`);
        return OK;
      }
      case 'list': {
        let listed = [...server.clients];
        for (let i = 2; i < args.length; i += 2) {
          const opt = word(args[i]);
          if (opt === 'type' && i + 1 < args.length) listed = ofType(listed, args[i + 1]!);
          else if (opt === 'id' && i + 1 < args.length) {
            const ids = new Set(args.slice(i + 1).map((a) => Number(a.toString('latin1'))));
            listed = listed.filter((c) => ids.has(c.id));
            break;
          } else throw new ReplyError('ERR syntax error');
        }
        return bulk(listed.map((c) => `${clientLine(c, client)}\n`).join(''));
      }
      case 'info':
        arity(2);
        return bulk(`${clientLine(client, client)}\n`);
      case 'kill': {
        if (args.length === 3) {
          // The old form: one address; OK, or an error when no client has it.
          const target = [...server.clients].find((c) => c.addr === args[2]!.toString('latin1'));
          if (target === undefined) throw new ReplyError('ERR No such client');
          target.kill();
          return OK;
        }
        if (args.length < 4 || args.length % 2 !== 0) throw new ReplyError('ERR syntax error');
        const killed = killFilter(ctx, args);
        for (const c of killed) c.kill();
        return integer(killed.length);
      }
      case 'unblock': {
        if (args.length !== 3 && args.length !== 4) throw new ReplyError("ERR wrong number of arguments for 'client|unblock' command");
        const how = args.length === 4 ? word(args[3]) : 'timeout';
        if (how !== 'timeout' && how !== 'error') throw new ReplyError('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
        const id = Number(args[2]!.toString('latin1'));
        const target = [...server.clients].find((c) => c.id === id);
        const reply = how === 'error' ? error('UNBLOCKED client unblocked via CLIENT UNBLOCK') : undefined;
        return integer(target !== undefined && ctx.keyspace.blocked.unblock(target, reply) ? 1 : 0);
      }
      case 'tracking':
      case 'caching':
      case 'getredir':
      case 'trackinginfo':
        return trackingSubcommand(ctx, sub, args);
      case 'help':
        return helpLines(CLIENT_HELP);
      default:
        throw unknownSubcommand(args, 'CLIENT');
    }
  },
);
