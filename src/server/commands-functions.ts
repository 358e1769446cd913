// FUNCTION LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL, HELP and
// FCALL, FCALL_RO, as Redis 7.0 answers them (functions.ts keeps the
// libraries; FCALL runs as EVAL does: commands-scripting.ts).
import { ReplyError, command, word, type Context } from './command-spec.js';
import { keyCount, luaCommand, type Call } from './commands-scripting.js';
import { payloadBody, payloadVerified, withFooter } from './dump-payload.js';
import { globMatch } from './glob.js';
import { RdbReader, RdbWriter } from './rdb-format.js';
import { OK, array, bulk, helpLines, integer, map, nil, set, simple, type Reply } from './resp-writer.js';
import type { Functions } from './functions.js';

/** The RDB opcode of a function library in FUNCTION DUMP's payload (RDB_OPCODE_FUNCTION2). */
const FUNCTION_OPCODE = 245;

const FUNCTION_HELP = [
  'FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'LOAD [REPLACE] <FUNCTION CODE>',
  '    Create a new library with the given library name and code.',
  'DELETE <LIBRARY NAME>',
  '    Delete the given library.',
  'LIST [LIBRARYNAME PATTERN] [WITHCODE]',
  '    Return general information on all the libraries:',
  '    * Library name',
  '    * The engine used to run the Library',
  '    * Library description',
  '    * Functions list',
  '    * Library code (if WITHCODE is given)',
  '    It also possible to get only function that matches a pattern using LIBRARYNAME argument.',
  'STATS',
  '    Return information about the current function running:',
  '    * Function name',
  '    * Command used to run the function',
  '    * Duration in MS that the function is running',
  '    If no function is running, return nil',
  '    In addition, returns a list of available engines.',
  'KILL',
  '    Kill the current running function.',
  'FLUSH [ASYNC|SYNC]',
  '    Delete all the libraries.',
  '    When called without the optional mode argument, the behavior is determined by the',
  '    lazyfree-lazy-user-flush configuration directive. Valid modes are:',
  '    * ASYNC: Asynchronously flush the libraries.',
  '    * SYNC: Synchronously flush the libraries.',
  'DUMP',
  '    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command',
  'RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]',
  '    Restore the libraries represented by the given payload, it is possible to give a restore policy to',
  '    control how to handle existing libraries (default APPEND):',
  '    * FLUSH: delete all existing libraries.',
  '    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.',
  '    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old',
  '      libraries with the new libraries (notice that even on this option there is a chance of failure',
  '      in case of functions name collision with another library).',
  'HELP',
  '    Prints this help.',
];

const functionsOf = (ctx: Context): Functions => ctx.server.scripts.functions!;

function list(ctx: Context, args: Buffer[]): Reply {
  let withCode = false;
  let pattern: Buffer | undefined;
  for (let i = 2; i < args.length; i++) {
    const w = word(args[i]);
    if (!withCode && w === 'withcode') withCode = true;
    else if (pattern === undefined && w === 'libraryname') {
      if (i >= args.length - 1) throw new ReplyError('ERR library name argument was not given');
      pattern = args[++i]!;
    } else throw new ReplyError(`ERR Unknown argument ${args[i]!.toString()}`);
  }
  const { proto } = ctx.client;
  const libs = functionsOf(ctx)
    .list()
    .filter((lib) => pattern === undefined || globMatch(pattern, lib.name));
  return array(
    libs.map((lib) =>
      map(
        [
          [bulk('library_name'), bulk(lib.name)],
          [bulk('engine'), bulk('LUA')],
          [
            bulk('functions'),
            array(
              lib.functions.map((f) =>
                map(
                  [
                    [bulk('name'), bulk(f.name)],
                    [bulk('description'), f.description === undefined ? nil(proto) : bulk(f.description)],
                    [bulk('flags'), set(f.flags.map((flag) => simple(flag)), proto)],
                  ],
                  proto,
                ),
              ),
            ),
          ],
          ...(withCode ? [[bulk('library_code'), bulk(lib.code)] as [Reply, Reply]] : []),
        ],
        proto,
      ),
    ),
  );
}

function dump(ctx: Context): Reply {
  const w = new RdbWriter();
  for (const lib of functionsOf(ctx).list()) w.byte(FUNCTION_OPCODE).len(lib.code.length).raw(lib.code);
  return bulk(withFooter(w.bytes()));
}

async function restore(ctx: Context, args: Buffer[]): Promise<Reply> {
  let policy: 'flush' | 'append' | 'replace' = 'append';
  if (args.length > 4) throw new ReplyError("ERR unknown subcommand or wrong number of arguments for 'restore'. Try FUNCTION HELP.");
  if (args.length === 4) {
    const p = word(args[3]);
    if (p !== 'flush' && p !== 'append' && p !== 'replace') throw new ReplyError('ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.');
    policy = p;
  }
  const payload = args[2]!;
  if (!payloadVerified(payload)) throw new ReplyError('ERR DUMP payload version or checksum are wrong');
  const r = new RdbReader(payloadBody(payload));
  const codes: Buffer[] = [];
  try {
    while (!r.done) {
      if (r.byte() !== FUNCTION_OPCODE) throw new ReplyError('ERR given type is not a function');
      codes.push(r.string());
    }
  } catch (e) {
    if (e instanceof ReplyError) throw e;
    throw new ReplyError('ERR can not read data type');
  }
  await functionsOf(ctx).restoreAll(codes, policy);
  return OK;
}

export const FUNCTION = command(
  'function',
  {
    arity: -2,
    flags: ['noscript'],
    group: 'scripting',
    summary: 'LOAD, LIST, DELETE, FLUSH, DUMP, RESTORE, STATS, KILL: libraries of Lua functions for FCALL, kept in the database file.',
    since: '7.0.0',
    subcommands: { load: -3, list: -2, delete: 3, flush: -2, dump: 2, restore: -3, stats: 2, kill: 2, help: 2 },
  },
  async (ctx, args): Promise<Reply> => {
    const functions = functionsOf(ctx);
    switch (word(args[1])) {
      case 'load': {
        let replace = false;
        let at = 2;
        for (; at < args.length - 1; at++) {
          if (word(args[at]) === 'replace') replace = true;
          else throw new ReplyError(`ERR Unknown option given: ${args[at]!.toString()}`);
        }
        const { name, durable } = functions.load(args[at]!, replace);
        await durable;
        return bulk(name);
      }
      case 'list':
        return list(ctx, args);
      case 'delete':
        if (!(await functions.delete(args[2]!))) throw new ReplyError('ERR Library not found');
        return OK;
      case 'flush': {
        const mode = word(args[2]);
        if (args.length > 3 || (args.length === 3 && mode !== 'async' && mode !== 'sync')) throw new ReplyError('ERR FUNCTION FLUSH only supports SYNC|ASYNC option');
        await functions.flush();
        return OK;
      }
      case 'dump':
        return dump(ctx);
      case 'restore':
        return restore(ctx, args);
      case 'stats': {
        const libs = functions.list();
        const { proto } = ctx.client;
        const count = libs.reduce((n, lib) => n + lib.functions.length, 0);
        // A function runs to its end before the server reads another command: none is ever running when STATS is.
        return map(
          [
            [bulk('running_script'), nil(proto)],
            [bulk('engines'), map([[bulk('LUA'), map([[bulk('libraries_count'), integer(libs.length)], [bulk('functions_count'), integer(count)]], proto)]], proto)],
          ],
          proto,
        );
      }
      case 'kill':
        throw new ReplyError('NOTBUSY No scripts in execution right now.');
      default:
        return helpLines(FUNCTION_HELP);
    }
  },
);

/** FCALL's arguments: the function (Function not found), numkeys, keys and arguments; FCALL_RO refuses a function that may write. */
function functionCall(ctx: Context, args: Buffer[], readOnly: boolean): Call {
  const found = ctx.server.scripts.functions?.find(args[1]!);
  if (found === undefined) throw new ReplyError('ERR Function not found');
  const n = keyCount(args, 'Bad number of keys provided');
  const noWrites = found.fn.flags.includes('no-writes');
  if (readOnly && !noWrites) throw new ReplyError('ERR Can not execute a script with write flag using *_ro command.');
  const name = found.fn.name;
  const keys = args.slice(3, 3 + n);
  const argv = args.slice(3 + n);
  return { keys, argv, noWrites, run: (cmd, ro) => cmd.server.scripts.callFunction(cmd, name, keys, argv, ro), pin: () => undefined };
}

export const FCALL = luaCommand('fcall', (ctx, args) => functionCall(ctx, args, false), false, { summary: 'Runs a function of a loaded library (FUNCTION LOAD) with keys and arguments, as EVAL runs a script.', since: '7.0.0' });
export const FCALL_RO = luaCommand('fcall_ro', (ctx, args) => functionCall(ctx, args, true), true, { summary: 'FCALL for a function flagged no-writes.', since: '7.0.0' });

export const FUNCTION_COMMANDS = [FUNCTION, FCALL, FCALL_RO];
