// The administrative commands tools send to any Redis, answered as Redis
// 7.0 answers them where that is true of xrpkv serve (one database, one
// user, no replicas, no cluster, no modules, DEBUG off as Redis ships it),
// and refused with a reason where it is not (REPLICAOF host port, ACL
// SETUSER): ROLE, REPLICAOF, SLAVEOF, FAILOVER, MOVE, SWAPDB, MODULE,
// DEBUG, CLUSTER, READONLY, READWRITE, ASKING, BGREWRITEAOF, ACL.
import { createHash, randomBytes } from 'node:crypto';
import { ReplyError, command, int64, word, type CommandSpec, type Context } from './command-spec.js';
import { COMMANDS, lookupCommand } from './command-table.js';
import { OK, array, bulk, bulks, helpLines, integer, map, nullArray, simple, verbatim, type Reply } from './resp-writer.js';
import { REDIS_VERSION } from './info.js';

const CLUSTER_DISABLED = () => new ReplyError('ERR This instance has cluster support disabled');
const OUT_OF_RANGE = () => new ReplyError('ERR DB index is out of range');

/** A database index argument: 0 is the one database; any other, out of range (as Redis with `databases 1`). */
function dbIndex(arg: Buffer, bad: string): number {
  let n: bigint;
  try {
    n = int64(arg);
  } catch {
    throw new ReplyError(bad);
  }
  if (n !== 0n) throw OUT_OF_RANGE();
  return 0;
}

export const ROLE = command('role', { arity: 1, flags: ['noscript', 'loading', 'stale', 'fast'], group: 'server', summary: 'This server is a master with no replicas: [master, 0, []].', since: '2.8.12' }, () =>
  array([bulk('master'), integer(0), array([])]),
);

function replicaof(name: string): CommandSpec {
  return command(name, { arity: 3, flags: ['admin', 'noscript', 'stale', 'no_async_loading'], group: 'server', summary: 'NO ONE: OK (xrpkv is always a master); to replicate another server: refused.', since: name === 'slaveof' ? '1.0.0' : '5.0.0' }, (_ctx, args) => {
    if (word(args[1]) === 'no' && word(args[2]) === 'one') return OK;
    throw new ReplyError('ERR xrpkv serve cannot be a replica: it serves its own database file only; copy keys in with DUMP and RESTORE, or a tool that replays commands');
  });
}

export const FAILOVER = command('failover', { arity: -1, flags: ['admin', 'noscript', 'stale'], group: 'server', summary: 'Refused as Redis refuses it without replicas.', since: '6.2.0' }, (_ctx, args) => {
  if (args.length === 2 && word(args[1]) === 'abort') throw new ReplyError('ERR No failover in progress.');
  throw new ReplyError('ERR FAILOVER requires connected replicas.');
});

export const MOVE = command('move', { arity: 3, flags: ['write', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', summary: 'There is one database: MOVE to 0 is refused as a move to itself, to any other as out of range.', since: '1.0.0' }, (_ctx, args) => {
  dbIndex(args[2]!, 'ERR value is not an integer or out of range');
  throw new ReplyError('ERR source and destination objects are the same');
});

export const SWAPDB = command('swapdb', { arity: 3, flags: ['write', 'fast'], group: 'keyspace', summary: 'There is one database: SWAPDB 0 0 is OK, any other index out of range.', since: '4.0.0' }, (_ctx, args) => {
  dbIndex(args[1]!, 'ERR invalid first DB index');
  dbIndex(args[2]!, 'ERR invalid second DB index');
  return OK;
});

const MODULE_HELP = [
  'MODULE <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LIST',
  '    Return a list of loaded modules.',
  'LOAD <path> [<arg> ...]',
  '    Load a module library from <path>, passing to it any optional arguments.',
  'LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]',
  '    Load a module library from <path>, while passing it module configurations and optional arguments.',
  'UNLOAD <name>',
  '    Unload a module.',
  'HELP',
  '    Prints this help.',
];

export const MODULE = command(
  'module',
  { arity: -2, flags: ['admin', 'noscript'], group: 'server', summary: 'LIST: none loaded (clients ask it to find RedisJSON and the like); LOAD and UNLOAD refused as Redis refuses them by default.', since: '4.0.0', subcommands: { list: 2, load: -3, loadex: -3, unload: 3, help: 2 } },
  (_ctx, args) => {
    switch (word(args[1])) {
      case 'list':
        return array([]);
      case 'help':
        return helpLines(MODULE_HELP);
      default:
        throw new ReplyError(
          'ERR MODULE command not allowed. If the enable-module-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
        );
    }
  },
);

export const DEBUG = command('debug', { arity: -2, flags: ['admin', 'noscript', 'loading', 'stale'], group: 'server', summary: "Refused, as Redis 7.0 refuses it with its default enable-debug-command no.", since: '1.0.0' }, () => {
  throw new ReplyError(
    'ERR DEBUG command not allowed. If the enable-debug-command option is set to "local", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.',
  );
});

const clusterCommand = (name: string, arity: number, since: string): CommandSpec =>
  command(name, { arity, flags: name === 'asking' ? ['fast'] : ['loading', 'stale'], group: 'cluster', summary: 'Refused: cluster support is disabled (as a Redis started without cluster-enabled).', since }, () => {
    throw CLUSTER_DISABLED();
  });

/** LOLWUT [VERSION n]: Redis follows the version line with generative art for versions 5 and 6; xrpkv draws none. */
export const LOLWUT = command('lolwut', { arity: -1, flags: ['readonly', 'fast'], group: 'server', summary: 'The Redis version whose behaviour xrpkv serves (Redis draws art before it; xrpkv none).', since: '5.0.0' }, (ctx, args) => {
  if (args.length >= 3 && word(args[1]) === 'version') int64(args[2]!);
  return verbatim(`Redis ver. ${REDIS_VERSION}\n`, ctx.client.proto);
});

export const BGREWRITEAOF = command(
  'bgrewriteaof',
  { arity: 1, flags: ['admin', 'noscript', 'no_async_loading'], group: 'server', summary: "Answers Redis's reply: every answered write is already in the store file, so there is nothing to rewrite.", since: '1.0.0' },
  () => simple('Background append only file rewriting started'),
);

// ---- ACL: one user, `default`, with every permission (and requirepass's password) ----------

const ACL_HELP = [
  'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CAT [<category>]',
  '    List all commands that belong to <category>, or all command categories',
  '    when no category is specified.',
  'DELUSER <username> [<username> ...]',
  '    Delete a list of users.',
  'DRYRUN <username> <command> [<arg> ...]',
  "    Returns whether the user can execute the given command without executing the command.",
  'GETUSER <username>',
  "    Get the user's details.",
  'GENPASS [<bits>]',
  '    Generate a secure 256-bit user password. The optional `bits` argument can',
  '    be used to specify a different size.',
  'LIST',
  '    Show users details in config file format.',
  'LOAD',
  '    Reload users from the ACL file.',
  'LOG [<count> | RESET]',
  '    Show the ACL log entries.',
  'SAVE',
  '    Save the current config to the ACL file.',
  'SETUSER <username> <attribute> [<attribute> ...]',
  '    Create or modify a user with the specified attributes.',
  'USERS',
  '    List all the registered usernames.',
  'WHOAMI',
  '    Return the current connection username.',
  'HELP',
  '    Prints this help.',
];

/** Redis 7.0's ACL categories, in its order. */
const CATEGORIES = ['keyspace', 'read', 'write', 'set', 'sortedset', 'list', 'hash', 'string', 'bitmap', 'hyperloglog', 'geo', 'stream', 'pubsub', 'admin', 'fast', 'slow', 'blocking', 'dangerous', 'connection', 'transaction', 'scripting'];

/** The ACL categories of a command, from its flags and group (Redis's own tables differ in places: docs/SERVER.md). */
function categoriesOf(spec: CommandSpec): string[] {
  const out = new Set<string>();
  if (spec.flags.includes('readonly')) out.add('read');
  if (spec.flags.includes('write')) out.add('write');
  out.add(spec.fast ? 'fast' : 'slow');
  if (spec.flags.includes('blocking')) out.add('blocking');
  if (spec.flags.includes('admin')) out.add('admin').add('dangerous');
  const group = { generic: 'keyspace', keyspace: 'keyspace', 'sorted-set': 'sortedset', zset: 'sortedset', transactions: 'transaction' }[spec.group] ?? spec.group;
  if (CATEGORIES.includes(group)) out.add(group);
  return [...out];
}

const NO_ACL_FILE =
  'ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.';

function passwords(ctx: Context): string[] {
  const pass = ctx.server.config.requirepass;
  return pass === undefined ? [] : [createHash('sha256').update(pass).digest('hex')];
}

function aclLine(ctx: Context): string {
  const hashes = passwords(ctx);
  return `user default on ${hashes.length === 0 ? 'nopass' : hashes.map((h) => `#${h}`).join(' ')} ~* &* +@all`;
}

const userNotFound = (name: Buffer) => new ReplyError(`ERR User '${name.toString()}' not found`);

export const ACL = command(
  'acl',
  {
    arity: -2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    group: 'server',
    summary: 'WHOAMI, USERS, LIST, GETUSER, CAT, DRYRUN, GENPASS, LOG: the one user, default, with every permission; SETUSER and DELUSER refused.',
    since: '6.0.0',
    subcommands: { cat: -2, deluser: -3, dryrun: -4, getuser: 3, genpass: -2, list: 2, load: 2, log: -2, save: 2, setuser: -3, users: 2, whoami: 2, help: 2 },
  },
  (ctx, args): Reply => {
    const { proto } = ctx.client;
    switch (word(args[1])) {
      case 'whoami':
        return bulk('default');
      case 'users':
        return array([bulk('default')]);
      case 'list':
        return array([bulk(aclLine(ctx))]);
      case 'getuser': {
        if (args[2]!.toString() !== 'default') return nullArray(proto);
        return map(
          [
            [bulk('flags'), array([bulk('on'), ...(passwords(ctx).length === 0 ? [bulk('nopass')] : [])])],
            [bulk('passwords'), array(passwords(ctx).map((p) => bulk(p)))],
            [bulk('commands'), bulk('+@all')],
            [bulk('keys'), bulk('~*')],
            [bulk('channels'), bulk('&*')],
            [bulk('selectors'), array([])],
          ],
          proto,
        );
      }
      case 'cat': {
        if (args.length > 3) throw new ReplyError("ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP.");
        if (args.length === 2) return bulks(CATEGORIES);
        const category = args[2]!.toString().toLowerCase();
        if (!CATEGORIES.includes(category)) throw new ReplyError(`ERR Unknown category '${args[2]!.toString()}'`);
        return bulks(
          [...COMMANDS.values()]
            .filter((spec) => categoriesOf(spec).includes(category))
            .map((spec) => spec.name),
        );
      }
      case 'dryrun': {
        if (args[2]!.toString() !== 'default') throw userNotFound(args[2]!);
        if (lookupCommand(args[3]!) === undefined) throw new ReplyError(`ERR Command '${args[3]!.toString()}' not found`);
        return OK;
      }
      case 'genpass': {
        let bits = 256n;
        if (args.length > 3) throw new ReplyError("ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP.");
        if (args.length === 3) {
          try {
            bits = int64(args[2]!);
          } catch {
            bits = 0n;
          }
          if (bits <= 0n || bits > 4096n) throw new ReplyError('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
        }
        const chars = Number((bits + 3n) / 4n);
        return bulk(randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars));
      }
      case 'log': {
        if (args.length > 3) throw new ReplyError("ERR unknown subcommand or wrong number of arguments for 'log'. Try ACL HELP.");
        if (args.length === 3) {
          if (word(args[2]) === 'reset') return OK;
          if (int64(args[2]!) < 0n) throw new ReplyError('ERR value is out of range, must be positive');
        }
        // No ACL rule ever denies anything here: the log stays empty.
        return array([]);
      }
      case 'load':
      case 'save':
        throw new ReplyError(NO_ACL_FILE);
      case 'setuser':
      case 'deluser':
        throw new ReplyError('ERR xrpkv serve has one user, default, with every permission (and requirepass): ACL SETUSER and DELUSER are not supported');
      default:
        return helpLines(ACL_HELP);
    }
  },
);

export const ADMIN_COMMANDS = [
  ROLE,
  replicaof('replicaof'),
  replicaof('slaveof'),
  FAILOVER,
  MOVE,
  SWAPDB,
  MODULE,
  DEBUG,
  clusterCommand('cluster', -2, '3.0.0'),
  clusterCommand('readonly', 1, '3.0.0'),
  clusterCommand('readwrite', 1, '3.0.0'),
  clusterCommand('asking', 1, '3.0.0'),
  BGREWRITEAOF,
  LOLWUT,
  ACL,
];
