// `xrpkv serve`: the Redis-protocol server on an xrpkv database, from the
// command line. Settings: flags > XRPKV_* environment variables > config
// file > defaults (config.ts). Prints one line once listening; SIGINT,
// SIGTERM or SHUTDOWN shut it down in order (server.ts) and exit 0.
import type { Command } from 'commander';
import { envName, resolveConfig } from '../server/config.js';
import { xrpRuntime } from '../server/info.js';
import { startServer } from '../server/server.js';

const FLAGS: [flag: string, help: string][] = [
  ['--db <path>', 'the database file (created if missing)'],
  ['--port <n>', 'TCP port; 0 picks a free one (default 6379)'],
  ['--bind <address>', 'address to listen on (default 127.0.0.1)'],
  ['--requirepass <secret>', 'clients must AUTH with this password'],
  ['--maxclients <n>', 'most connections at once (default 10000)'],
  ['--lookup <how>', 'auto, walk or xrp: how reads find keys (default auto)'],
  ['--page-size <n>', 'page size of a new database file: 512, 1024, 2048 or 4096 (default 4096)'],
  ['--log-limit <n>', 'keys the log holds before a checkpoint folds them into the tree; 0: none (default 262144)'],
  ['--max-bulk-len <size>', 'longest bulk string a client may send, e.g. 64kb, 512mb (default 512mb)'],
  ['--max-array-len <n>', 'most arguments in one command (default 1048576)'],
  ['--max-inline-len <size>', 'longest inline command line (default 64kb)'],
  ['--busy-reply-threshold <ms>', 'how long a Lua script may run before it is stopped, none of its writes kept (default 5000)'],
  ['--slowlog-log-slower-than <us>', 'commands that run at least this long go to SLOWLOG; negative: none, 0: all (default 10000)'],
  ['--slowlog-max-len <n>', 'entries SLOWLOG keeps (default 128)'],
  ['--latency-monitor-threshold <ms>', 'commands that run at least this long are LATENCY events; 0: none (default 0)'],
  ['--client-output-buffer-limit <limit>', "what one client's unsent replies may cost: 'normal <hard> <soft> <soft-seconds>' (default 'normal 1gb 8mb 60')"],
  ['--config <file>', 'a config file: `name value` lines with the names of these flags'],
];

export function addServeCommand(cli: Command): void {
  const serve = cli
    .command('serve')
    .description('serve a database over the Redis protocol (RESP2/RESP3), so Redis clients and tools work with it')
    .addHelpText('after', `\nEach flag can also come from the environment (e.g. ${envName('max-bulk-len')}) or the config file.`);
  for (const [flag, help] of FLAGS) serve.option(flag, help);
  serve.action(async (opts: Record<string, string | undefined>) => {
    // commander names options in camelCase; config.ts takes the file names.
    const flags: Record<string, string | undefined> = {};
    for (const [flag] of FLAGS) {
      const name = flag.slice(2, flag.indexOf(' '));
      flags[name] = opts[name.replace(/-(\w)/g, (_, c: string) => c.toUpperCase())];
    }
    const config = resolveConfig(flags);
    const running = await startServer(config);
    const runtime = xrpRuntime();
    const { db } = running;
    console.log(
      `xrpkv serve: listening on ${running.host}:${running.port}, db ${db.path}, lookup ${db.lookup} (${db.lookupReason}), XRP backend ${runtime.backend}`,
    );
    // A signal, or SHUTDOWN from a client, stops it the same way.
    const stop = (signal: NodeJS.Signals) => running.state.shutdown(signal);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      await running.stopped;
      console.log('xrpkv serve: stopped');
    } catch (e) {
      console.error(`xrpkv serve: shutdown failed: ${(e as Error).message}`);
      process.exitCode = 1;
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
  });
}
