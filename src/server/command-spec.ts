// What a command is to the server: its handler, and the metadata Redis
// publishes through COMMAND / COMMAND DOCS (arity, flags, key positions,
// group, summary), which redis-cli and client libraries read.
import type { ServerConfig } from './config.js';
import type { Keyspace } from './keyspace.js';
import { bulkOrNil, type Protocol, type Reply } from './resp-writer.js';

/** An error reply: `message` starts with its code (`ERR`, `NOAUTH`, `WRONGPASS`, ...). */
export class ReplyError extends Error {
  override name = 'ReplyError';
}

/** A connection's state, as commands see it. */
export interface Client {
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
}

export interface Context {
  client: Client;
  keyspace: Keyspace;
  server: ServerState;
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
}

type Meta = Omit<CommandSpec, 'name' | 'run' | 'value' | 'access' | 'firstKey' | 'lastKey' | 'step' | 'flags'> &
  Partial<Pick<CommandSpec, 'firstKey' | 'lastKey' | 'step' | 'flags' | 'access'>>;

/** A command with keyless defaults filled in. */
export function command(name: string, meta: Meta, run: CommandSpec['run']): CommandSpec {
  return { firstKey: 0, lastKey: 0, step: 0, flags: [], access: 'other', ...meta, name, run };
}

/** A read command whose reply is one value (bulk string) or nil. */
export function valueCommand(name: string, meta: Meta, value: NonNullable<CommandSpec['value']>): CommandSpec {
  return { ...command(name, meta, (ctx, args) => bulkOrNil(value(ctx, args), ctx.client.proto)), value };
}

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

/** A non-negative integer argument (COUNT, cursors) below 2^53. */
export function count(arg: Buffer | undefined, what: string): number {
  const s = arg?.toString('latin1') ?? '';
  const n = /^\d{1,16}$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n)) throw new ReplyError(`ERR ${what}`);
  return n;
}
