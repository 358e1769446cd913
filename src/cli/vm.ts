// `xrpkv vm list | run`: the eBPF virtual machine from the shell.
import type { Command } from 'commander';
import { BpfProgram } from '../vm.js';
import { hex, positiveInt, splitSelector } from './args.js';

export function addVmCommands(cli: Command): void {
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
}
