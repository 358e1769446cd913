#!/usr/bin/env node
// The `xrpkv` command:
//   xrpkv vm list | run ...              (see vm.ts)
//   xrpkv xrp probe | run | bench ...   (see xrp.ts)
//   xrpkv check FILE [--json]            (see check.ts)
//   xrpkv get | put | del | scan | stats --db PATH ...   (see store.ts)
//   xrpkv load --db PATH FILE            (see load.ts)
//   xrpkv bench depth [--quick] ...       tree height against XRP speedup (see bench.ts)
//   xrpkv serve --db PATH [--port N] ...  the Redis-protocol server (see serve.ts)
import { Command } from 'commander';
import { CliError } from './args.js';
import { addBackupCommands } from './backup.js';
import { addCheckCommand } from './check.js';
import { quietOnBrokenPipe } from './output.js';
import { addLoadCommand } from './load.js';
import { addStoreCommands } from './store.js';
import { addXrpCommands } from './xrp.js';
import { addBenchCommands } from './bench.js';
import { addServeCommand } from './serve.js';
import { addVmCommands } from './vm.js';
import { StoreError } from '../errors.js';
import { BpfLoadError, BpfRunError } from '../vm.js';
import { VERSION } from '../version.js';
import { XrpError } from '../xrp.js';

const cli = new Command('xrpkv')
  .description('xrpkv: a key-value store whose lookups run as eBPF programs')
  .version(VERSION, '-V, --version', "print xrpkv's version")
  // Usage errors read like the others: `xrpkv: ...` on one line (subcommands inherit this).
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'xrpkv: ')) });
quietOnBrokenPipe();
addVmCommands(cli);
addXrpCommands(cli);
addBenchCommands(cli);
addServeCommand(cli);
addStoreCommands(cli);
addBackupCommands(cli);
addLoadCommand(cli);
addCheckCommand(cli);

try {
  await cli.parseAsync();
} catch (e) {
  // Expected failures (a bad object, a faulting run, a missing file, an
  // argument the API refuses) get one line; anything else is a bug and keeps its stack.
  if (e instanceof BpfLoadError || e instanceof BpfRunError || e instanceof XrpError || e instanceof StoreError) {
    console.error(`xrpkv: ${e.code}: ${e.message}`);
  } else if (e instanceof CliError) {
    console.error(`xrpkv: ${e.message}`);
  } else if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    console.error(`xrpkv: ${e.message}`);
  } else if (e instanceof RangeError || e instanceof TypeError) {
    console.error(`xrpkv: ${e.message}`);
  } else {
    throw e;
  }
  process.exitCode = 1;
}
