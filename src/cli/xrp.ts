// `xrpkv xrp ...`: run XRP programs against files from the command line.
//   xrpkv xrp probe [--json]
//   xrpkv xrp run PROG.o[:SECTION] FILE --offset N [...]
//   xrpkv xrp bench PROG.o[:SECTION] FILE --offset N --chains N [...]
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { percentile } from '../bench/index.js';
import { hexDump, nonZeroPrefix, parseRandomU64, RandomU64, randomScratch, type RandomU64Field } from './xrp-bench.js';
import { offset, positiveInt, readLength, splitSelector } from './args.js';
import {
  xrpBackend,
  XrpFile,
  XrpProgram,
  XRP_DEFAULT_DEPTH,
  XRP_PAGE_SIZE,
  type XrpBackendChoice,
  type XrpChain,
  type XrpChainOptions,
  type XrpDirectIo,
  type XrpResult,
} from '../xrp.js';
import { vmEngine } from '../vm.js';

/** Chains handed to the engine per call in `xrp bench`. */
const DEFAULT_BATCH = 4096;

interface CommonOptions {
  offset: bigint;
  length?: number;
  compat?: 'kernel';
  hopLimit?: number;
  budget?: number;
  direct: XrpDirectIo;
  backend: XrpBackendChoice;
  json?: boolean;
}

function common(command: Command): Command {
  return command
    .argument('<program>', 'a clang -target bpf object, PROG.o or PROG.o:SECTION to pick one program')
    .argument('<file>', 'the file the chain reads')
    .requiredOption('--offset <n>', "the first read's offset, a multiple of 512", offset)
    .option('--length <n>', 'bytes of the first read, a multiple of 512 up to 4096 (default: 4096, or 512 with --compat kernel)', readLength)
    .addOption(new Option('--compat <kernel>', "run as the prototype XRP kernel: 512-byte reads, only next_addr[0]").choices(['kernel']))
    .option('--hop-limit <n>', 'most reads per chain, the first included (default 1000)', positiveInt)
    .option('--budget <n>', 'most instructions per program run (default 1000000)', positiveInt)
    .addOption(new Option('--direct <how>', 'O_DIRECT reads').choices(['auto', 'require', 'off']).default('auto'))
    .addOption(new Option('--backend <which>', 'where chains run').choices(['auto', 'kernel', 'emulator']).default('auto'))
    .option('--json', 'print one JSON object');
}

function load(spec: string, path: string, o: CommonOptions): { program: XrpProgram; file: XrpFile } {
  const [object, section] = splitSelector(spec);
  const program = XrpProgram.fromFile(object, section);
  return { program, file: XrpFile.open(path, { direct: o.direct, backend: o.backend }) };
}

const chainOptions = (o: CommonOptions): XrpChainOptions => ({
  mode: o.compat === 'kernel' ? 'kernel' : 'extended',
  hopLimit: o.hopLimit,
  budget: o.budget,
});

const fileJson = (file: XrpFile) => ({ path: file.path, size: file.size, access: file.access });

function describeBackend(file: XrpFile): string {
  const b = file.backend;
  return `backend: ${b.backend} (${b.reason})${b.note ? `\nnote: ${b.note}` : ''}`;
}

function printRun(program: XrpProgram, file: XrpFile, r: XrpResult, fullScratch: boolean, json: boolean): void {
  const shown = fullScratch ? XRP_PAGE_SIZE : nonZeroPrefix(r.scratch);
  if (json) {
    const out = {
      program: program.name,
      file: fileJson(file),
      backend: file.backend,
      code: r.code,
      ok: r.ok,
      message: r.message,
      hops: r.hops,
      lastOffset: r.lastOffset,
      ...(r.returned !== undefined && { returned: r.returned.toString() }),
      ...(r.error?.fault !== undefined && { fault: r.error.fault, pc: r.error.pc }),
      ...(r.error?.errno !== undefined && { errno: r.error.errno }),
      log: r.log,
      scratch: r.scratch.subarray(0, shown).toString('hex'),
    };
    console.log(JSON.stringify(out, null, 2));
    return;
  }
  console.log(`program ${program.name} (${program.length} insns) on ${file.path} (${file.size} bytes, ${file.access})`);
  console.log(describeBackend(file));
  console.log(`outcome: ${r.code}: ${r.message}`);
  if (r.returned !== undefined) console.log(`returned: ${r.returned} (0x${r.returned.toString(16)})`);
  console.log(`hops: ${r.hops}, last offset: ${r.lastOffset}`);
  if (r.log) process.stdout.write(`log:\n${r.log}`);
  if (shown === 0) {
    console.log('scratch: all 4096 bytes are zero');
  } else {
    const rest = shown < XRP_PAGE_SIZE ? `; the other ${XRP_PAGE_SIZE - shown} are zero` : '';
    console.log(`scratch (the first ${shown} bytes${rest}):`);
    console.log(hexDump(r.scratch, shown));
  }
}

interface RunOptions extends CommonOptions {
  scratchFile?: string;
  fullScratch?: boolean;
}

interface BenchOptions extends CommonOptions {
  chains: number;
  depth?: number;
  batch?: number;
  randomU64: RandomU64Field[];
  io: 'auto' | 'threads';
}

function randomField(value: string, previous: RandomU64Field[]): RandomU64Field[] {
  try {
    return [...previous, parseRandomU64(value)];
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

function scratchFrom(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  const bytes = readFileSync(path);
  if (bytes.length > XRP_PAGE_SIZE) throw new RangeError(`${path} holds ${bytes.length} bytes; a scratch page holds 4096`);
  return bytes;
}

const round = (n: number, digits = 1) => Number(n.toFixed(digits));
const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

async function bench(spec: string, path: string, o: BenchOptions): Promise<void> {
  const { program, file } = load(spec, path, o);
  // The engine admits a new chain only when a running one has no read waiting,
  // so a large batch keeps the queue full without making chains wait longer.
  const batchSize = Math.min(o.batch ?? DEFAULT_BATCH, o.chains);
  const random = new RandomU64();
  const latencies = new Float64Array(o.chains);
  const outcomes: Record<string, number> = {};
  let hops = 0;
  let io = '';
  let done = 0;
  const started = process.hrtime.bigint();
  while (done < o.chains) {
    const n = Math.min(batchSize, o.chains - done);
    const chains: XrpChain[] = Array.from({ length: n }, () => ({
      offset: o.offset,
      length: o.length,
      scratch: randomScratch(o.randomU64, random),
    }));
    const batch = await program.runBatch(file, chains, { ...chainOptions(o), depth: o.depth, io: o.io });
    io = batch.io;
    for (const r of batch.results) {
      latencies[done++] = r.finishedNs - r.startedNs;
      hops += r.hops;
      outcomes[r.code] = (outcomes[r.code] ?? 0) + 1;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  file.close();
  latencies.sort();
  const us = (p: number) => round(percentile(latencies, p) / 1000, 2);
  const latencyUs = {
    p50: us(50),
    p99: us(99),
    p999: us(99.9),
    max: us(100),
    mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length / 1000, 2),
  };
  const result = {
    program: program.name,
    file: fileJson(file),
    backend: file.backend,
    io,
    mode: o.compat === 'kernel' ? 'kernel' : 'extended',
    chains: o.chains,
    batch: batchSize,
    hops,
    seconds: round(seconds, 4),
    chainsPerSecond: round(o.chains / seconds),
    hopsPerSecond: round(hops / seconds),
    latencyUs,
    outcomes,
  };
  if (o.json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log(`program ${program.name} on ${file.path} (${file.size} bytes, ${file.access})`);
  console.log(describeBackend(file));
  console.log(`${o.chains} chains in batches of ${batchSize}, ${result.mode} mode; reads: ${io}`);
  console.log(`outcomes: ${Object.entries(outcomes).map(([code, n]) => `${code} ${n}`).join(', ')}`);
  console.log(
    `throughput: ${thousands(result.chainsPerSecond)} chains/s, ${thousands(result.hopsPerSecond)} hops/s ` +
      `(${round(seconds, 3)} s, ${round(hops / o.chains, 2)} hops per chain)`,
  );
  console.log(
    `latency per chain (µs, queued to done): p50 ${latencyUs.p50}  p99 ${latencyUs.p99}  p99.9 ${latencyUs.p999}  max ${latencyUs.max}`,
  );
}

export function addXrpCommands(cli: Command): void {
  const xrp = cli.command('xrp').description("XRP programs run against files by xrpkv's runtime");

  xrp
    .command('probe')
    .description('say whether this kernel runs XRP programs itself, and why')
    .option('--json', 'print one JSON object')
    .action((o: { json?: boolean }) => {
      const b = xrpBackend();
      if (o.json) return console.log(JSON.stringify({ ...b, vm: vmEngine() }, null, 2));
      console.log(`kernel XRP: ${b.probe.backend === 'kernel' ? 'yes' : 'no'}: ${b.probe.reason}`);
      console.log(`chains run in: the ${b.backend}${b.note ? ` (${b.note})` : ''}`);
      console.log(`programs run on: the ${vmEngine().engine} (${vmEngine().reason})`);
    });

  common(xrp.command('run'))
    .description('run one chain and print its outcome, hop count and scratch page (exit status 2 when it ends in a fault)')
    .option('--scratch-file <file>', 'initial scratch: up to 4096 bytes copied to the start of the page')
    .option('--full-scratch', 'dump the whole scratch page, not only up to its last non-zero row')
    .action(async (spec: string, path: string, o: RunOptions) => {
      const scratch = scratchFrom(o.scratchFile);
      const { program, file } = load(spec, path, o);
      try {
        const r = await program.run(file, { offset: o.offset, length: o.length, scratch, ...chainOptions(o) });
        printRun(program, file, r, o.fullScratch ?? false, o.json ?? false);
        if (r.error) process.exitCode = 2;
      } finally {
        file.close();
      }
    });

  common(xrp.command('bench'))
    .description('run many chains from one offset as batches; print throughput and per-chain latency')
    .requiredOption('--chains <n>', 'chains to run in all', positiveInt)
    .option('--depth <n>', `reads in flight (default ${XRP_DEFAULT_DEPTH})`, positiveInt)
    .option('--batch <n>', `chains per batch (default ${DEFAULT_BATCH})`, positiveInt)
    .option(
      '--random-u64 <field>',
      "OFFSET=MIN..MAX: set the u64 at OFFSET of each chain's scratch to a uniform random value in MIN..MAX (repeatable)",
      randomField,
      [] as RandomU64Field[],
    )
    .addOption(new Option('--io <how>', 'io_uring (auto) or threads doing pread').choices(['auto', 'threads']).default('auto'))
    .action(bench);
}
