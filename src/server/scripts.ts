// Lua scripts (EVAL, EVALSHA, SCRIPT): the server's script cache, and one
// script's run against the data, its `redis.call`s answered by the command
// table as inside EXEC.
//
// What must hold:
// - a script runs whole inside one store transaction (commands-scripting.ts
//   issues it): no other command runs between its commands, and its writes
//   are answered once durable. A script that fails part way keeps the writes
//   it made before the failure, as in Redis; one stopped for running past
//   `busy-reply-threshold` keeps none (Redis cannot stop a script that has
//   written);
// - a command inside a script runs as it would inside EXEC, with RESP2
//   replies, and a command that fails leaves nothing of itself behind;
// - the cache holds every script loaded with SCRIPT LOAD, and the last
//   EVAL_KEPT scripts sent with EVAL (as Redis 7.4 keeps them), so that a
//   client sending endless distinct scripts cannot grow it without bound.
import { ReplyError, arityError, errorMessage, type DataContext } from './command-spec.js';
import { lookupCommand } from './command-table.js';
import { Functions } from './functions.js';
import { LuaCompileError, LuaVm, sha1, type HostValue, type LuaValue, type RunOutcome, type ScriptHost } from './lua-vm.js';
import { array, bulk, error, formatDouble, integer, nil, simple, type Protocol, type Reply } from './resp-writer.js';
import { parseReply } from './reply-parser.js';

/** Scripts sent with EVAL that the cache keeps, the oldest forgotten first. */
export const EVAL_KEPT = 500;

export class Scripts {
  /** sha → whether SCRIPT LOAD loaded it (kept until SCRIPT FLUSH), and whether it declared `#!lua flags=no-writes`. */
  private readonly cache = new Map<string, { loaded: boolean; noWrites: boolean }>();
  /** Scripts that commands issued but not yet settled will run: kept compiled, whatever leaves the cache meanwhile (`pin`). */
  private readonly pinned = new Map<string, number>();
  /** EVAL's scripts that SCRIPT LOAD has not loaded, oldest first (Map order). */
  private readonly evalOnly = new Map<string, true>();

  /** FUNCTION LOAD's libraries (functions.ts), once the server has given them their store (`useFunctions`). */
  functions: Functions | undefined;

  private constructor(private readonly vm: LuaVm) {}

  /** Keeps function libraries in `store` (a named database of the server's file) and loads those it holds. */
  useFunctions(store: ConstructorParameters<typeof Functions>[1]): void {
    this.functions = new Functions(this.vm, store);
    this.functions.restore();
  }

  static async create(): Promise<Scripts> {
    return new Scripts(await LuaVm.create());
  }

  get size(): number {
    return this.cache.size;
  }

  get memoryUsed(): number {
    return this.vm.memoryUsed;
  }

  /** Compiles and keeps `source` (SCRIPT LOAD: `loaded`, else EVAL's); its sha. */
  add(source: Buffer, loaded: boolean): string {
    const sha = sha1(source);
    const known = this.cache.get(sha);
    if (known !== undefined) {
      if (loaded && !known.loaded) {
        known.loaded = true;
        this.evalOnly.delete(sha);
      }
      return sha;
    }
    const { body, flags } = withoutShebang(source);
    // Still compiled where a pending command pinned it after it left the cache.
    if (!this.vm.has(sha)) {
      try {
        this.vm.compile(sha, body);
      } catch (e) {
        if (e instanceof LuaCompileError) throw new ReplyError(`ERR Error compiling script (new function): ${e.message}`);
        throw e;
      }
    }
    this.cache.set(sha, { loaded, noWrites: flags.includes('no-writes') });
    if (!loaded) {
      this.evalOnly.set(sha, true);
      if (this.evalOnly.size > EVAL_KEPT) this.drop(this.evalOnly.keys().next().value!);
    }
    return sha;
  }

  /**
   * Keeps script `sha` compiled until the returned function is called: a
   * command that named it runs it later (in its turn's write group, maybe
   * twice), whatever SCRIPT FLUSH or the EVAL cache's limit drops meanwhile.
   */
  pin(sha: string): () => void {
    this.pinned.set(sha, (this.pinned.get(sha) ?? 0) + 1);
    return () => {
      const n = this.pinned.get(sha)! - 1;
      if (n > 0) return void this.pinned.set(sha, n);
      this.pinned.delete(sha);
      if (!this.cache.has(sha)) this.vm.forget(sha);
    };
  }

  /** Takes `sha` out of the cache; its compiled function goes too unless pinned. */
  private drop(sha: string): void {
    this.cache.delete(sha);
    this.evalOnly.delete(sha);
    if (!this.pinned.has(sha)) this.vm.forget(sha);
  }

  has(sha: string): boolean {
    return this.cache.has(sha.toLowerCase());
  }

  /** Whether script `sha` declared `#!lua flags=no-writes` (it then runs as EVAL_RO). */
  noWrites(sha: string): boolean {
    return this.cache.get(sha)?.noWrites === true;
  }

  flush(): void {
    for (const sha of [...this.cache.keys()]) this.drop(sha);
  }

  /**
   * Runs cached script `sha` on `cmd.data` (a transaction, or the published
   * data for a read-only run); its reply in the client's protocol.
   * Throws a ReplyError for a script stopped at busy-reply-threshold.
   */
  run(cmd: DataContext, sha: string, keys: Buffer[], argv: Buffer[], readOnly: boolean): Reply {
    return this.outcome(cmd, sha, '@user_script', (host, deadline) => this.vm.run(sha, keys, argv, host, deadline), readOnly);
  }

  /** Runs FCALL's function `name` as `run` runs a script; Function not found if it went since the call was issued. */
  callFunction(cmd: DataContext, name: Buffer, keys: Buffer[], argv: Buffer[], readOnly: boolean): Reply {
    if (this.functions?.find(name) === undefined) throw new ReplyError('ERR Function not found');
    return this.outcome(cmd, name.toString('latin1'), '@user_function', (host, deadline) => this.vm.callFunction(name, keys, argv, host, deadline), readOnly);
  }

  /** Runs Lua (`call`) with `redis.call` answered on `cmd`'s data; its reply, or Redis's error naming `what` and where. */
  private outcome(cmd: DataContext, what: string, source: string, call: (host: ScriptHost, deadline: number) => RunOutcome, readOnly: boolean): Reply {
    const inner: DataContext = { ...cmd, proto: 2, fromScript: true };
    const host: ScriptHost = {
      command: (args) => runCommand(inner, args, readOnly),
      log: (level, message) => {
        if (level >= 2) console.error(`xrpkv serve: script ${what}: ${message.toString('utf8')}`);
      },
    };
    const outcome = call(host, Date.now() + cmd.server.config.busyReplyThreshold);
    if (outcome.ok) return toReply(outcome.value, cmd.proto);
    if (outcome.killed) {
      throw new ReplyError(`ERR the script ran longer than busy-reply-threshold (${cmd.server.config.busyReplyThreshold} ms) and was stopped; none of its writes were kept (script: ${what})`);
    }
    // The line is unknown where the error was raised in a tail call (`return f()` replaces the script's frame).
    return error(`${outcome.message} script: ${what}, on ${source}${outcome.line >= 0 ? `:${outcome.line}` : ''}.`);
  }
}

/** `#!lua [flags=a,b]` on a script's first line: the flags, and the body with that line emptied (line numbers kept). */
function withoutShebang(source: Buffer): { body: Buffer; flags: string[] } {
  if (source[0] !== 0x23 || source[1] !== 0x21) return { body: source, flags: [] };
  const end = source.indexOf(0x0a);
  const line = source.subarray(2, end < 0 ? source.length : end).toString('latin1');
  const [engine, ...options] = line.trim().split(/\s+/);
  if (engine !== 'lua') throw new ReplyError(`ERR Could not find engine '${engine}'`);
  const flags: string[] = [];
  for (const o of options) {
    if (!o.startsWith('flags=')) throw new ReplyError(`ERR Unknown lua shebang option: ${o}`);
    for (const f of o.slice(6).split(',').filter((x) => x !== '')) {
      if (!['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'].includes(f)) throw new ReplyError(`ERR Unexpected flag in script shebang: ${f}`);
      flags.push(f);
    }
  }
  return { body: end < 0 ? Buffer.alloc(0) : source.subarray(end), flags };
}

/** One `redis.call` / `redis.pcall`: the command run as inside EXEC, its RESP2 reply as a value for Lua. */
function runCommand(cmd: DataContext, args: (Buffer | number | undefined)[], readOnly: boolean): HostValue {
  const fail = (message: string): HostValue => ({ err: Buffer.from(message) });
  if (args.length === 0) return fail('ERR Please specify at least one argument for this redis lib call');
  const bytes: Buffer[] = [];
  for (const a of args) {
    if (a === undefined) return fail('ERR Lua redis lib command arguments must be strings or integers');
    bytes.push(typeof a === 'number' ? Buffer.from(formatDouble(a), 'latin1') : a);
  }
  const spec = lookupCommand(bytes[0]!);
  if (spec === undefined) return fail('ERR Unknown Redis command called from script');
  const arity = arityError(spec, bytes);
  if (arity?.startsWith('ERR unknown subcommand')) return fail('ERR Unknown Redis command called from script');
  if (arity !== undefined) return fail('ERR Wrong number of args calling Redis command from script');
  // A blocking command Redis lets scripts call (BLMPOP, BZMPOP, XREAD) runs its data form, which does not wait.
  if (spec.flags.includes('noscript') || spec.controlsTransaction) return fail('ERR This Redis command is not allowed from script');
  if (readOnly && spec.access === 'write') return fail('ERR Write commands are not allowed from read-only scripts.');
  cmd.server.monitors.feed('lua', bytes);
  let reply: Reply;
  try {
    if (spec.data !== undefined) {
      reply = spec.access === 'write' ? cmd.data.nested(() => spec.data!(cmd, bytes)) : spec.data(cmd, bytes);
    } else {
      const r = spec.run(cmd, bytes);
      if (typeof r !== 'string' && !Buffer.isBuffer(r)) {
        r.catch(() => undefined);
        return fail('ERR This Redis command is not allowed from script');
      }
      reply = r;
    }
  } catch (e) {
    reply = error(errorMessage(e));
  }
  return parseReply(reply);
}

/** A script's return value as a reply (Redis's Lua-to-RESP conversion, RESP2 semantics), encoded in `proto`. */
export function toReply(v: LuaValue, proto: Protocol): Reply {
  if (v === null || v === false) return nil(proto);
  if (v === true) return integer(1);
  if (Buffer.isBuffer(v)) return bulk(v);
  if ('int' in v) return integer(BigInt(v.int));
  if ('float' in v) return integer(Number.isFinite(v.float) && Math.abs(v.float) < 2 ** 63 ? BigInt(Math.trunc(v.float)) : -(2n ** 63n));
  if (v.err !== undefined) return error(v.err.toString('utf8'));
  if (v.ok !== undefined) return simple(v.ok.toString('utf8'));
  return array(v.items.map((item) => toReply(item, proto)));
}
