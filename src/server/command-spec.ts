// What a command is to the server: its handler, and the metadata Redis
// publishes through COMMAND / COMMAND DOCS (arity, flags, key positions,
// group, summary), which redis-cli and client libraries read.
import type { PubSub, Subscriber } from './pubsub.js';
import type { Monitors } from './monitor.js';
import type { SlowCommands } from './slow-commands.js';
import type { Scripts } from './scripts.js';
import { KeyTooLargeError, StoreError, WriteFailedError } from '../errors.js';
import type { ServerConfig } from './config.js';
import type { Data } from './data.js';
import type { JoinedPuts } from '../store/joined-puts.js';
import type { Keyspace } from './keyspace.js';
import { bulkOrNil, type Protocol, type Reply } from './resp-writer.js';
import type { ServerStats } from './stats.js';
import type { WriteGroup } from './write-group.js';
import type { ClientTransaction } from './transactions.js';

/** An error reply: `message` starts with its code (`ERR`, `NOAUTH`, `WRONGPASS`, ...). */
export class ReplyError extends Error {
  override name = 'ReplyError';
}

/** A connection's state, as commands see it. */
export interface Client extends Subscriber {
  readonly id: number;
  proto: Protocol;
  name: string;
  libName: string;
  libVer: string;
  authenticated: boolean;
  /** Set by QUIT: close once every reply so far has been sent. */
  closing: boolean;
  /** Bytes of replies the client's socket has not taken yet (what the output buffer limit counts). */
  readonly outputBytes: number;
  /** Bytes received from the client and not yet parsed into commands. */
  readonly inputBytes: number;
  /** MULTI's queue and WATCH's keys (transactions.ts). */
  readonly transaction: ClientTransaction;
  /** Peer and local addresses (ip:port), as CLIENT LIST shows them. */
  readonly addr: string;
  readonly laddr: string;
  /** When it connected, and when its last command ran (ms since the epoch). */
  readonly createdAt: number;
  readonly lastActive: number;
  /** The last command it ran (CLIENT LIST's cmd). */
  readonly lastCommand: string;
  /** Closes the connection (CLIENT KILL): at once, or, for the client killing itself, after its reply. */
  kill(): void;
  /** A blocking command of it (BLPOP...) waits for other clients' writes. */
  readonly blocked: boolean;
  /** It ran MONITOR (and not RESET since). */
  readonly monitoring: boolean;
}

/** What the whole server knows, for INFO, CONFIG and CLIENT. */
export interface ServerState {
  readonly config: ServerConfig;
  /** The port actually listened on. */
  port: number;
  readonly startedAt: number;
  readonly clients: ReadonlySet<Client>;
  connectionsReceived: number;
  commandsProcessed: number;
  rejectedConnections: number;
  /** Clients disconnected for going over client-output-buffer-limit. */
  outputLimitDisconnections: number;
  /** INFO's commandstats, errorstats and instantaneous_ops_per_sec (stats.ts). */
  readonly stats: ServerStats;
  /** Pub/Sub's subscriptions (pubsub.ts). */
  readonly pubsub: PubSub;
  /** The Lua script cache and its Lua state (scripts.ts). */
  readonly scripts: Scripts;
  /** MONITOR's connections (monitor.ts). */
  readonly monitors: Monitors;
  /** SLOWLOG's entries, LATENCY's events and histograms (slow-commands.ts). */
  readonly slow: SlowCommands;
  /** Starts the server's orderly stop (server.ts `close`), logging `reason`: SHUTDOWN, and `xrpkv serve` on SIGTERM. */
  shutdown(reason: string): void;
}

export interface Context {
  client: Client;
  keyspace: Keyspace;
  server: ServerState;
}

/**
 * What a command on the data sees: the keys and values (data.ts) of the
 * last published commit (a read) or of its transaction (a write, or any
 * command inside EXEC), and the protocol of when it was issued: a write
 * answers later, and its reply is encoded as the client spoke then, not as
 * a HELLO pipelined after it says.
 */
export interface DataContext extends Context {
  data: Data;
  proto: Protocol;
  /** Called by a Lua script's redis.call (scripts.ts): where Redis's commands check CLIENT_LUA. */
  fromScript?: true;
}

/**
 * How a command relates to the data, which decides when a connection may run
 * it (session.ts): `read`s wait for the connection's earlier writes to be
 * durable (so it reads its own writes); `write`s are issued at once, in
 * order, unless FLUSHDB holds them; `other` touches no data.
 */
export type Access = 'read' | 'write' | 'other';

export interface CommandSpec {
  name: string;
  /** Redis's convention: N exactly N arguments (the name included), -N at least N. */
  arity: number;
  flags: string[];
  firstKey: number;
  lastKey: number;
  step: number;
  group: string;
  summary: string;
  since: string;
  access: Access;
  /** Runs it; arity is already checked. A thrown ReplyError becomes its error reply. */
  run: (ctx: Context, args: Buffer[]) => Reply | Promise<Reply>;
  /**
   * For a read whose reply is one value or nil (GET): the value, which the
   * connection encodes itself, without `run` building a reply string first.
   */
  value?: (ctx: Context, args: Buffer[]) => Buffer | undefined;
  /**
   * For a write that is a blind put answered OK once durable (a plain SET):
   * issues the put and returns the store batch it joined, whose settling
   * answers it, so that a connection answers a run of them as one
   * (session.ts); undefined when this call is not such a put (`run` then
   * runs it).
   */
  joinedPut?: (ctx: Context, args: Buffer[]) => JoinedPuts | undefined;
  /**
   * For a write on the data run in the turn's group (write-group.ts): joins
   * it and returns the group, whose settling answers it (its reply is the
   * group's `reply(size - 1)`), so that a connection answers a run of them
   * with no promise each (session.ts); undefined while writes are refused
   * (`run` then answers why).
   */
  grouped?: (ctx: Context, args: Buffer[]) => WriteGroup | undefined;
  /**
   * The command on the data, synchronous: how EXEC runs it inside its one
   * transaction, and how `run` runs it unless the command has a faster way
   * of its own. Every command that reads or writes keys has one. It checks
   * everything it can before it writes; a ReplyError it throws discards its
   * writes (inside EXEC, only this command's).
   */
  data?: (cmd: DataContext, args: Buffer[]) => Reply;
  /** Runs at once even between MULTI and EXEC (EXEC, DISCARD, WATCH, QUIT...), instead of being queued. */
  controlsTransaction?: true;
  /** May wait for other clients' writes (BLPOP...): the connection runs nothing else until it is answered. */
  blocks?: true;
  /** The keys it names, where their positions depend on its arguments (LMPOP's numkeys); else firstKey, lastKey and step say. */
  keysOf?: (args: Buffer[]) => Buffer[];
  /** A container command's subcommands (lower case) and their arities, checked as its own arity is (`arityError`). */
  subcommands?: Readonly<Record<string, number>>;
  /** Flagged `fast` (O(1) or O(log N)): timed only now and then (slow-commands.ts). Set by `command`. */
  fast: boolean;
}

type Meta = Omit<CommandSpec, 'name' | 'run' | 'value' | 'joinedPut' | 'grouped' | 'data' | 'access' | 'firstKey' | 'lastKey' | 'step' | 'flags' | 'fast'> &
  Partial<Pick<CommandSpec, 'firstKey' | 'lastKey' | 'step' | 'flags' | 'access'>>;

/** A command with keyless defaults filled in. */
export function command(name: string, meta: Meta, run: CommandSpec['run']): CommandSpec {
  return { firstKey: 0, lastKey: 0, step: 0, flags: [], access: 'other', ...meta, name, run, fast: meta.flags?.includes('fast') === true };
}

/**
 * A command on the data. A read runs on the last published commit; a write
 * runs in a transaction of its own and answers once that is durable.
 * `run`, when given, replaces that default outside EXEC (a faster path).
 */
export function dataCommand(name: string, meta: Meta & { access: 'read' | 'write' }, work: NonNullable<CommandSpec['data']>, run?: CommandSpec['run']): CommandSpec {
  // Where a write's work runs (its write group), it is timed as the session
  // times what runs there (slow-commands.ts): its own function, named
  // (commands may share `work`).
  const data: TimedCommand = timedAs(name, work, meta.flags?.includes('fast') === true);
  const spec: CommandSpec = { ...command(name, meta, run ?? (() => '')), data };
  if (run === undefined) {
    spec.run =
      meta.access === 'read' ? (ctx, args) => data(ctx.keyspace.reading(ctx), args) : (ctx, args) => ctx.keyspace.writing(ctx, data, args, commandKeys(spec, args));
    if (meta.access === 'write') spec.grouped = (ctx, args) => ctx.keyspace.joinGroup(ctx, data, args, commandKeys(spec, args));
  }
  return spec;
}

/** The keys a command names, by its key positions (COMMAND INFO's first, last and step). */
export function commandKeys(spec: CommandSpec, args: Buffer[]): Buffer[] {
  if (spec.keysOf !== undefined) return spec.keysOf(args);
  if (spec.firstKey === 0) return [];
  const last = spec.lastKey < 0 ? args.length + spec.lastKey : spec.lastKey;
  const keys: Buffer[] = [];
  for (let i = spec.firstKey; i <= last && i < args.length; i += spec.step) keys.push(args[i]!);
  return keys;
}

/** A read command whose reply is one value (bulk string) or nil. */
export function valueCommand(name: string, meta: Meta, value: NonNullable<CommandSpec['value']>, data: NonNullable<CommandSpec['data']>): CommandSpec {
  return { ...command(name, meta, (ctx, args) => bulkOrNil(value(ctx, args), ctx.client.proto)), value, data };
}

/** Redis's error for a container command's (`container`: XGROUP, SCRIPT, ...) subcommand it does not know or whose arguments do not fit it. */
export const subcommandSyntax = (args: Buffer[], container: string) =>
  new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString()}'. Try ${container} HELP.`);

/** The same in the words Redis uses for the containers that check only the name (CLIENT, CONFIG, COMMAND, OBJECT). */
export const unknownSubcommand = (args: Buffer[], container: string) => new ReplyError(`ERR unknown subcommand '${args[1]!.toString()}'. Try ${container} HELP.`);

/**
 * Why `args` cannot be a call of `spec`, as Redis says it before running or
 * queueing anything: a wrong number of arguments, or a container command's
 * unknown subcommand or its wrong number of arguments; undefined when they can.
 */
export function arityError(spec: CommandSpec, args: Buffer[]): string | undefined {
  const fits = (arity: number) => (arity > 0 ? args.length === arity : args.length >= -arity);
  if (!fits(spec.arity)) return wrongArgs(spec.name).message;
  if (spec.subcommands === undefined) return undefined;
  const sub = word(args[1]);
  const arity = spec.subcommands[sub];
  if (arity === undefined) return unknownSubcommand(args, spec.name.toUpperCase()).message;
  return fits(arity) ? undefined : wrongArgs(`${spec.name}|${sub}`).message;
}

/** A command's data function, marked with the command's name where its runs are timed, and whether it is `fast` (then one run in TIMED_EVERY is). */
export type TimedCommand = NonNullable<CommandSpec['data']> & { timedAs?: string; fast?: boolean };

/** `work`, marked to be timed as command `name` where a write group runs it (slow-commands.ts); `fast`: sampled, as the session samples fast commands. */
export const timedAs = (name: string, work: NonNullable<CommandSpec['data']>, fast = false): TimedCommand =>
  Object.assign((cmd: DataContext, args: Buffer[]) => work(cmd, args), { timedAs: name, fast });

export function wrongArgs(name: string): ReplyError {
  return new ReplyError(`ERR wrong number of arguments for '${name}' command`);
}

export const SYNTAX = () => new ReplyError('ERR syntax error');

/** The argument as a lower-case word (command names and options). */
export function word(arg: Buffer | undefined): string {
  return arg === undefined ? '' : arg.toString('latin1').toLowerCase();
}

/** A signed 64-bit integer argument as Redis parses it (no spaces, no '+', no leading zeros). */
export function int64(arg: Buffer, what = 'value is not an integer or out of range'): bigint {
  const s = arg.toString('latin1');
  if (!/^(0|-?[1-9]\d{0,18})$/.test(s)) throw new ReplyError(`ERR ${what}`);
  const n = BigInt(s);
  if (n > 0x7fff_ffff_ffff_ffffn || n < -0x8000_0000_0000_0000n) throw new ReplyError(`ERR ${what}`);
  return n;
}

/** Redis's range of positions [start, stop] (negative: from the end) of `n` items, as [from, to): empty when from >= to. */
export function positions(startArg: Buffer, stopArg: Buffer, n: number): [number, number] {
  let start = Number(int64(startArg));
  let end = Number(int64(stopArg));
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  if (start > end || start >= n) return [0, 0];
  if (end >= n) end = n - 1;
  return [start, end + 1];
}

/** A count argument of LPOP, SPOP, ZPOPMIN...: an integer that must not be negative. */
export function positiveCount(arg: Buffer): number {
  const n = int64(arg);
  if (n < 0n) throw new ReplyError('ERR value is out of range, must be positive');
  return Number(n);
}

/** A non-negative integer argument (COUNT, cursors) below 2^53. */
export function count(arg: Buffer | undefined, what: string): number {
  const s = arg?.toString('latin1') ?? '';
  const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new ReplyError(`ERR ${what}`);
  return n;
}

/** The keys after a numkeys argument at `at` (LMPOP, ZUNION, SINTERCARD...), for the keys in flight; none when it is not a count that fits. */
export function keysAfterCount(args: Buffer[], at: number): Buffer[] {
  const n = Number(args[at]?.toString('latin1'));
  return Number.isInteger(n) && n > 0 && at + 1 + n <= args.length ? args.slice(at + 1, at + 1 + n) : [];
}

/** The source key at 1 and the destinations after any of `options` (SORT's STORE, GEORADIUS's STORE and STOREDIST), for the keys in flight. */
export function keysWithDestinations(args: Buffer[], options: readonly string[]): Buffer[] {
  const keys = [args[1]!];
  for (let i = 2; i < args.length - 1; i++) if (options.includes(word(args[i]))) keys.push(args[i + 1]!);
  return keys;
}

/** SINTERCARD's and ZINTERCARD's arguments: numkeys, the keys, then LIMIT (0: none), with Redis's errors. */
export function cardinalityArgs(args: Buffer[]): { keys: Buffer[]; limit: number } {
  const text = args[1]!.toString('latin1');
  const n = /^-?\d{1,16}$/.test(text) ? Number(text) : 0;
  if (n <= 0) throw new ReplyError('ERR numkeys should be greater than 0');
  if (2 + n > args.length) throw new ReplyError("ERR Number of keys can't be greater than number of args");
  const rest = args.slice(2 + n);
  if (rest.length === 0) return { keys: args.slice(2), limit: 0 };
  if (rest.length !== 2 || word(rest[0]) !== 'limit') throw SYNTAX();
  const l = rest[1]!.toString('latin1');
  if (!/^\d{1,16}$/.test(l)) throw new ReplyError("ERR LIMIT can't be negative");
  return { keys: args.slice(2, 2 + n), limit: Number(l) };
}

/** An error's reply text: the message of a ReplyError, a store error with its code, else an internal error. */
export function errorMessage(e: unknown): string {
  if (e instanceof ReplyError) return e.message;
  if (e instanceof KeyTooLargeError) return `ERR key too large: ${e.length} bytes; xrpkv keys are at most ${e.max} bytes with this database's page size`;
  // As Redis answers writes it cannot persist; the server reopens the store (keyspace.ts).
  if (e instanceof WriteFailedError) return `MISCONF xrpkv cannot persist writes now: ${e.message}`;
  if (e instanceof StoreError) return `ERR ${e.code}: ${e.message}`;
  console.error('xrpkv serve: a command failed unexpectedly:', e);
  return `ERR internal error: ${e instanceof Error ? e.message : String(e)}`;
}
