// Server commands: INFO, CONFIG (GET, and SET for the output buffer limit), and COMMAND (COUNT, DOCS, INFO, LIST),
// which describes the command table to redis-cli and client libraries.
import { SETTING_NAMES, outputBufferLimit, parseSetting, settingValue, type ServerConfig } from './config.js';
import { ReplyError, arityError, command, commandKeys, word, unknownSubcommand, type CommandSpec, type Context } from './command-spec.js';
import { globMatch } from './glob.js';
import { infoText } from './info.js';
import { OK, array, bulk, bulks, helpLines, integer, map, nil, set, verbatim, type Protocol, type Reply } from './resp-writer.js';

export const INFO = command(
  'info',
  { arity: -1, flags: ['loading', 'stale'], group: 'server', summary: 'Returns information about the server, by section (Xrpkv: how lookups run).', since: '1.0.0', access: 'read' },
  ({ client, server, keyspace }, args) => verbatim(infoText(server, keyspace, args.slice(1).map((a) => a.toString('latin1'))), client.proto),
);

/** CONFIG GET's parameters: xrpkv's settings, and the Redis ones clients ask about. */
function parameters(config: ServerConfig, port: number): [string, string][] {
  const ours = SETTING_NAMES.map((name): [string, string] => [name, name === 'port' ? String(port) : settingValue(config, name)]);
  return [
    ...ours,
    ['databases', '1'],
    ['proto-max-bulk-len', String(config.maxBulkLen)],
    // No snapshots or append-only file: every acknowledged write is already in the store file.
    ['save', ''],
    ['appendonly', 'no'],
  ];
}

/** The settings CONFIG SET changes while the server runs; the others come from flags, XRPKV_* or the file at startup. */
const SETTABLE = ['client-output-buffer-limit', 'slowlog-log-slower-than', 'slowlog-max-len', 'latency-monitor-threshold'];

/** CONFIG SET name value [name value ...]: every value is checked before any is applied. */
function configSet(config: ServerConfig, args: Buffer[]): Reply {
  if (args.length < 4 || args.length % 2 !== 0) throw new ReplyError("ERR wrong number of arguments for 'config|set' command");
  const changes: Partial<ServerConfig> = {};
  for (let i = 2; i < args.length; i += 2) {
    const name = args[i]!.toString('utf8').toLowerCase();
    if (!SETTABLE.includes(name)) {
      const why = SETTING_NAMES.includes(name) || name === 'databases' ? 'it is set at startup (flags, XRPKV_* variables or the config file)' : 'unknown parameter';
      throw new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${why}; CONFIG SET takes ${SETTABLE.join(', ')}`);
    }
    const raw = args[i + 1]!.toString('utf8');
    try {
      // The output buffer limit may name its class and only some limits: the rest stay as they are.
      if (name === 'client-output-buffer-limit') changes.clientOutputBufferLimit = outputBufferLimit(raw, changes.clientOutputBufferLimit ?? config.clientOutputBufferLimit);
      else {
        const { key, value } = parseSetting(name, raw);
        (changes as Record<string, unknown>)[key] = value;
      }
    } catch (e) {
      throw new ReplyError(`ERR CONFIG SET failed (possibly related to argument '${name}') - ${(e as Error).message}`);
    }
  }
  Object.assign(config, changes);
  return OK;
}

export const MONITOR = command(
  'monitor',
  { arity: 1, flags: ['admin', 'noscript', 'loading', 'stale'], group: 'server', summary: 'Streams every command the server runs to this connection, a line each (passwords redacted).', since: '1.0.0' },
  ({ client, server }) => {
    server.monitors.add(client);
    return OK;
  },
);

export const CONFIG = command(
  'config',
  {
    arity: -2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    group: 'server',
    summary: 'CONFIG GET pattern...: the settings matching glob patterns. CONFIG SET client-output-buffer-limit, slowlog-log-slower-than, slowlog-max-len or latency-monitor-threshold; others change only by restarting.',
    since: '2.0.0',
  },
  (ctx, args) => {
    const { client, server } = ctx;
    const sub = word(args[1]);
    if (sub === 'get') {
      if (args.length < 3) throw new ReplyError("ERR wrong number of arguments for 'config|get' command");
      const found = parameters(server.config, server.port).filter(([name]) => args.slice(2).some((p) => globMatch(Buffer.from(p.toString('latin1').toLowerCase(), 'latin1'), Buffer.from(name))));
      return map(
        found.map(([k, v]): [Reply, Reply] => [bulk(k), bulk(v)]),
        client.proto,
      );
    }
    if (sub === 'set') return configSet(server.config, args);
    if (sub === 'resetstat') {
      if (args.length !== 2) throw new ReplyError("ERR wrong number of arguments for 'config|resetstat' command");
      resetStats(ctx);
      return OK;
    }
    if (sub === 'help' && args.length === 2) return helpLines(CONFIG_HELP);
    if (sub === 'rewrite') {
      throw new ReplyError('ERR CONFIG REWRITE is not supported by xrpkv: settings come from flags, XRPKV_* variables or the config file at startup');
    }
    throw unknownSubcommand(args, 'CONFIG');
  },
);

/** COMMAND INFO's entry for one command, as Redis 7 shapes it. */
function commandInfo(spec: CommandSpec, proto: Protocol): Reply {
  return array([
    bulk(spec.name),
    integer(spec.arity),
    set(spec.flags.map((f) => `+${f}\r\n`), proto),
    integer(spec.firstKey),
    integer(spec.lastKey),
    integer(spec.step),
    set([`+@${spec.group}\r\n`], proto),
    array([]),
    array([]),
    array([]),
  ]);
}

/** COMMAND DOCS's entry for one command. */
function commandDocs(spec: CommandSpec, proto: Protocol): [Reply, Reply] {
  return [
    bulk(spec.name),
    map(
      [
        [bulk('summary'), bulk(spec.summary)],
        [bulk('since'), bulk(spec.since)],
        [bulk('group'), bulk(spec.group)],
      ],
      proto,
    ),
  ];
}

/** COMMAND, over the table `table()` returns (the table lists COMMAND too). */
export function commandCommand(table: () => ReadonlyMap<string, CommandSpec>): CommandSpec {
  return command(
    'command',
    { arity: -1, flags: ['loading', 'stale'], group: 'server', summary: 'Describes the commands: COMMAND, COMMAND COUNT, COMMAND DOCS, COMMAND INFO, COMMAND LIST.', since: '2.8.13' },
    ({ client }: Context, args) => {
      const specs = [...table().values()];
      const named = (names: Buffer[]) => names.map((n) => table().get(word(n)));
      switch (word(args[1])) {
        case '':
          return array(specs.map((s) => commandInfo(s, client.proto)));
        case 'count':
          return integer(specs.length);
        case 'list':
          return bulks(specs.map((s) => s.name));
        case 'info':
          return array((args.length > 2 ? named(args.slice(2)) : specs).map((s) => (s ? commandInfo(s, client.proto) : nil(client.proto))));
        case 'docs': {
          const chosen = args.length > 2 ? named(args.slice(2)).filter((s) => s !== undefined) : specs;
          return map(
            chosen.map((s) => commandDocs(s, client.proto)),
            client.proto,
          );
        }
        case 'getkeys': {
          if (args.length < 4) throw new ReplyError("ERR wrong number of arguments for 'command|getkeys' command");
          const call = args.slice(2);
          const spec = table().get(word(call[0]));
          if (spec === undefined) throw new ReplyError('ERR Invalid command specified');
          if (arityError(spec, call) !== undefined) throw new ReplyError('ERR Invalid number of arguments specified for command');
          const keys = commandKeys(spec, call);
          if (keys.length === 0) throw new ReplyError('ERR The command has no key arguments');
          return array(keys.map((k) => bulk(k)));
        }
        case 'help':
          if (args.length === 2) return helpLines(COMMAND_HELP);
        // falls through
        default:
          throw unknownSubcommand(args, 'COMMAND');
      }
    },
  );
}

const CONFIG_HELP = [
  'CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET <pattern>',
  '    Return parameters matching the glob-like <pattern> and their values.',
  'SET <directive> <value>',
  '    Set the configuration <directive> to <value>.',
  'RESETSTAT',
  '    Reset statistics reported by the INFO command.',
  'REWRITE',
  '    Rewrite the configuration file.',
  'HELP',
  '    Prints this help.',
];

const COMMAND_HELP = [
  'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  '(no subcommand)',
  '    Return details about all Redis commands.',
  'COUNT',
  '    Return the total number of commands in this Redis server.',
  'LIST',
  '    Return a list of all commands in this Redis server.',
  'INFO [<command-name> ...]',
  '    Return details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'DOCS [<command-name> ...]',
  '    Return documentation details about multiple Redis commands.',
  '    If no command names are given, documentation details for all',
  '    commands are returned.',
  'GETKEYS <full-command>',
  '    Return the keys from a full Redis command.',
  'GETKEYSANDFLAGS <full-command>',
  '    Return the keys and the access flags from a full Redis command.',
  'HELP',
  '    Prints this help.',
];

/** CONFIG RESETSTAT: what INFO counts since the server started counts from now (commandstats, errorstats, latencystats, hits, misses, expired keys...). */
function resetStats({ server, keyspace }: Context): void {
  server.stats.reset();
  server.slow.histograms.clear();
  server.connectionsReceived = 0;
  server.commandsProcessed = 0;
  server.rejectedConnections = 0;
  server.outputLimitDisconnections = 0;
  keyspace.resetStats();
}

export const TIME = command(
  'time',
  { arity: 1, flags: ['loading', 'stale', 'fast'], group: 'server', summary: 'Returns the server time: Unix seconds and microseconds.', since: '2.6.0' },
  () => {
    const us = BigInt(Date.now()) * 1000n + (process.hrtime.bigint() / 1000n) % 1000n;
    return array([bulk(String(us / 1_000_000n)), bulk(String(us % 1_000_000n))]);
  },
);

export const SERVER_COMMANDS = [INFO, CONFIG, TIME, MONITOR];
