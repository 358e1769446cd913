#!/usr/bin/env node
// The `xrpkv` command:
//   xrpkv vm list PROG.o
//   xrpkv vm run PROG.o[:NAME] [--memory-hex HEX] [--budget N]
//   xrpkv xrp probe | run | bench ...   (see cli-xrp.ts)
//   xrpkv check FILE [--json]            verify every page of a store file
//   xrpkv get | put | del | scan | stats --db PATH ...   (see cli-store.ts)
//   xrpkv load --db PATH FILE            (see cli-load.ts)
//   xrpkv bench depth [--quick] ...       tree height against XRP speedup (see bench/command.ts)
//   xrpkv serve --db PATH [--port N] ...  the Redis-protocol server (see server/command.ts)
import { Command } from 'commander';
import { CliError, hex, positiveInt, splitSelector } from './cli-args.js';
import { quietOnBrokenPipe } from './cli-format.js';
import { addLoadCommand } from './cli-load.js';
import { addStoreCommands } from './cli-store.js';
import { addXrpCommands } from './cli-xrp.js';
import { addBenchCommands } from './bench/command.js';
import { addServeCommand } from './server/command.js';
import { checkFile } from './store/check.js';
import { StoreError } from './store/errors.js';
import { BpfProgram, BpfLoadError, BpfRunError } from './vm.js';
import { XrpError } from './xrp.js';

const cli = new Command('xrpkv')
  .description('xrpkv: a key-value store whose lookups run as eBPF programs')
  // Usage errors read like the others: `xrpkv: ...` on one line (subcommands inherit this).
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'xrpkv: ')) });
quietOnBrokenPipe();
const vm = cli.command('vm').description("xrpkv's eBPF virtual machine");

vm.command('list')
  .description('list the programs of an ELF object')
  .argument('<object>', 'a clang -target bpf object file')
  .action((object: string) => {
    for (const p of BpfProgram.list(object)) console.log(`${p.name}\t${p.section}\t${p.insnCount} insns`);
  });

vm.command('run')
  .description('run one program; r1 = address of the memory, r2 = its length (both 0 without memory)')
  .argument('<program>', 'PROG.o, or PROG.o:NAME to pick one program of the object')
  .option('--memory-hex <hex>', 'writable memory for the program, as hex', hex)
  .option('--budget <n>', 'most instructions to execute', positiveInt)
  .action((spec: string, opts: { memoryHex?: Buffer; budget?: number }) => {
    const [path, name] = splitSelector(spec);
    const program = BpfProgram.fromFile(path, name);
    const { r0, executed, log } = program.run(opts.memoryHex, { budget: opts.budget });
    process.stdout.write(log);
    console.log(`r0 = ${r0} (0x${r0.toString(16)}), ${executed} instructions executed`);
    if (opts.memoryHex) console.log(`memory = ${opts.memoryHex.toString('hex')}`);
  });

addXrpCommands(cli);
addBenchCommands(cli);
addServeCommand(cli);
addStoreCommands(cli);
addLoadCommand(cli);

cli
  .command('check')
  .description('verify every page of a database file and report every problem; exits 2 when there are any')
  .argument('<file>', 'an xrpkv database file')
  .option('--json', 'print one JSON object')
  .action((path: string, opts: { json?: boolean }) => {
    const report = checkFile(path);
    if (opts.json) {
      console.log(JSON.stringify({ path, ...report }));
    } else {
      const txid = report.txid === undefined ? 'no valid meta' : `txid ${report.txid}`;
      console.log(`${path}: ${txid}, ${report.pages} pages, ${report.entries} entries`);
      for (const p of report.problems) console.log(`page ${p.page}: ${p.message}`);
      console.log(report.ok ? 'ok: no problems' : `${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`);
    }
    if (!report.ok) process.exitCode = 2;
  });

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
