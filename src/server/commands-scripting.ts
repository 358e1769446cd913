// EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (scripts.ts runs a script,
// lua-vm.ts is the Lua). A script that may write runs nested in the turn's
// write group (one store transaction, write-group.ts) or in EXEC's, issued
// in order with the connection's other writes, and answers once that is
// durable; a read-only one reads the last published commit, as a read
// command does.
import { ReplyError, command, int64, keysAfterCount, timedAs, word, subcommandSyntax, type CommandSpec, type Context, type DataContext } from './command-spec.js';
import { OK, array, bulk, integer, type Reply } from './resp-writer.js';

/** A script or function to run, with its KEYS and ARGV, resolved before anything is issued. */
export interface Call {
  keys: Buffer[];
  argv: Buffer[];
  /** It declared no-writes (`#!lua flags=no-writes`, a function's flag): it runs as a read-only call. */
  noWrites: boolean;
  /** Runs it on `cmd`'s data (read-only: writes refused inside). */
  run: (cmd: DataContext, readOnly: boolean) => Reply;
  /** Keeps what it runs available until `done` settles (a cached script: scripts.ts `pin`). */
  pin: (done: Promise<unknown>) => void;
}

/** numkeys at `args[2]`, checked as Redis checks it (`bad`: its error for a number that is not one). */
export function keyCount(args: Buffer[], bad = 'value is not an integer or out of range'): number {
  const n = int64(args[2]!, bad);
  if (n > BigInt(args.length - 3)) throw new ReplyError("ERR Number of keys can't be greater than number of args");
  if (n < 0n) throw new ReplyError("ERR Number of keys can't be negative");
  return Number(n);
}

/**
 * EVAL's or EVALSHA's arguments, with Redis's errors: numkeys, KEYS, ARGV,
 * and the script, which EVAL compiles and caches and EVALSHA needs cached
 * (NOSCRIPT). Read once, before anything is issued, so a bad call writes
 * nothing.
 */
function scriptCall(ctx: Context, args: Buffer[], bySha: boolean): Call {
  const n = keyCount(args);
  const scripts = ctx.server.scripts;
  let sha: string;
  if (!bySha) sha = scripts.add(args[1]!, false);
  else {
    sha = args[1]!.toString('latin1').toLowerCase();
    if (!scripts.has(sha)) throw new ReplyError('NOSCRIPT No matching script. Please use EVAL.');
  }
  const keys = args.slice(3, 3 + n);
  const argv = args.slice(3 + n);
  return {
    keys,
    argv,
    noWrites: scripts.noWrites(sha),
    run: (cmd, readOnly) => cmd.server.scripts.run(cmd, sha, keys, argv, readOnly),
    pin: (done) => {
      const release = scripts.pin(sha);
      done.then(release, release);
    },
  };
}

/**
 * A command that runs Lua (EVAL, EVALSHA, FCALL and their read-only forms;
 * `resolve` reads its arguments). `data` runs it on a transaction's data
 * (EXEC's, as Redis allows); `grouped` joins the turn's write group
 * (write-group.ts), as INCR does, run nested and whole; `run` does the
 * same through a promise of its own, or reads the published data when it
 * only reads. What it runs stays available until its command settles.
 */
export function luaCommand(name: string, resolve: (ctx: Context, args: Buffer[]) => Call, readOnly: boolean, meta: { summary: string; since: string }): CommandSpec {
  const onlyReads = (call: Call) => readOnly || call.noWrites;
  const issued = <T>(call: Call, done: Promise<T>): Promise<T> => {
    call.pin(done);
    return done;
  };
  const spec = command(
    name,
    {
      arity: -3,
      flags: readOnly ? ['readonly', 'noscript', 'stale', 'no_mandatory_keys'] : ['noscript', 'stale', 'skip_monitor', 'may_replicate', 'no_mandatory_keys'],
      keysOf: (args) => keysAfterCount(args, 2),
      group: 'scripting',
      ...meta,
      access: readOnly ? 'read' : 'write',
    },
    (ctx, args) => {
      const call = resolve(ctx, args);
      if (onlyReads(call)) return call.run(ctx.keyspace.reading(ctx), true);
      return issued(call, ctx.keyspace.writing(ctx, timedAs(name, (cmd) => call.run(cmd, false)), args, call.keys, true));
    },
  );
  const data = (cmd: DataContext, args: Buffer[]): Reply => {
    const call = resolve(cmd, args);
    return call.run(cmd, onlyReads(call));
  };
  const grouped = (ctx: Context, args: Buffer[]) => {
    const call = resolve(ctx, args);
    if (onlyReads(call)) return undefined;
    const group = ctx.keyspace.joinGroup(ctx, timedAs(name, (cmd) => call.run(cmd, false)), args, call.keys, true);
    if (group !== undefined) call.pin(group.done);
    return group;
  };
  return { ...spec, data, grouped };
}

function evalCommand(name: string, bySha: boolean, readOnly: boolean): CommandSpec {
  return luaCommand(name, (ctx, args) => scriptCall(ctx, args, bySha), readOnly, {
    summary: `Runs a ${bySha ? 'cached Lua script, by its SHA-1' : 'Lua script'}${readOnly ? ', that only reads.' : ', in one transaction; answers once its writes are durable.'}`,
    since: readOnly ? '7.0.0' : '2.6.0',
  });
}

export const SCRIPT = command(
  'script',
  { arity: -2, flags: ['noscript'], group: 'scripting', summary: 'SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP: the cache of Lua scripts.', since: '2.6.0' },
  ({ server }, args) => {
    const scripts = server.scripts;
    const sub = word(args[1]);
    const wrong = () => subcommandSyntax(args, 'SCRIPT');
    switch (sub) {
      case 'load':
        if (args.length !== 3) throw wrong();
        return bulk(scripts.add(args[2]!, true));
      case 'exists':
        if (args.length < 3) throw wrong();
        return array(args.slice(2).map((sha) => integer(scripts.has(sha.toString('latin1')) ? 1 : 0)));
      case 'flush': {
        const mode = word(args[2]);
        if (args.length > 3 || (args.length === 3 && mode !== 'async' && mode !== 'sync')) throw new ReplyError('ERR SCRIPT FLUSH only support SYNC|ASYNC option');
        scripts.flush();
        return OK;
      }
      case 'kill':
        if (args.length !== 2) throw wrong();
        // A script runs to its end (or busy-reply-threshold) before the server reads another command.
        throw new ReplyError('NOTBUSY No scripts in execution right now.');
      case 'help':
        return array(
          [
            'SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
            'EXISTS <sha1> [<sha1> ...]',
            '    Return information about the existence of the scripts in the script cache.',
            'FLUSH [ASYNC|SYNC]',
            '    Flush the Lua scripts cache.',
            'KILL',
            '    Kill the currently executing Lua script (never busy on xrpkv: a script stops at busy-reply-threshold).',
            'LOAD <script>',
            '    Load a script into the scripts cache without executing it.',
          ].map((s) => `+${s}\r\n`),
        );
      default:
        throw wrong();
    }
  },
);

export const SCRIPTING_COMMANDS = [evalCommand('eval', false, false), evalCommand('evalsha', true, false), evalCommand('eval_ro', false, true), evalCommand('evalsha_ro', true, true), SCRIPT];
