#!/usr/bin/env node
// The `xrpkv` command. For now it only drives the eBPF VM:
//   xrpkv vm list PROG.o
//   xrpkv vm run PROG.o[:NAME] [--memory-hex HEX] [--budget N]
import { Command, InvalidArgumentError } from 'commander';
import { BpfProgram, BpfLoadError, BpfRunError } from './vm.js';

function hex(value: string): Buffer {
  const digits = value.replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new InvalidArgumentError('expected an even number of hex digits');
  return Buffer.from(digits, 'hex');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

// `PROG.o:NAME` picks a program; a colon inside a directory name is not a selector.
function splitSelector(spec: string): [string, string | undefined] {
  const colon = spec.lastIndexOf(':');
  if (colon <= 0 || spec.slice(colon + 1).includes('/')) return [spec, undefined];
  return [spec.slice(0, colon), spec.slice(colon + 1)];
}

const cli = new Command('xrpkv').description('xrpkv: a key-value store whose lookups run as eBPF programs');
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

try {
  cli.parse();
} catch (e) {
  // Expected failures (a bad object, a faulting run, a missing file) get one
  // line; anything else is a bug and keeps its stack.
  if (e instanceof BpfLoadError || e instanceof BpfRunError) {
    console.error(`xrpkv: ${e.code}: ${e.message}`);
  } else if (e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string') {
    console.error(`xrpkv: ${e.message}`);
  } else {
    throw e;
  }
  process.exitCode = 1;
}
