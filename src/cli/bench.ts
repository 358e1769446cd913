// `xrpkv bench depth`: the depth benchmark's flags (src/bench/depth.ts runs it).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { BenchCheckError, BenchInterrupted, BenchSetupError, DEPTH_DEFAULTS as DEFAULTS, runDepthBenchmark, type DepthOptions } from '../bench/index.js';
import { XrpError } from '../xrp.js';
import { nonNegativeInt, pageSize, positiveInt } from './args.js';

/** `1..6`, `4`, or `2,4,6`. */
export function parseDepths(value: string): number[] {
  const range = /^\s*(\d+)\s*\.\.\s*(\d+)\s*$/.exec(value);
  const list = range
    ? Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, i) => Number(range[1]) + i)
    : value.split(',').map((v) => (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN));
  if (list.length === 0 || list.some((d) => !Number.isInteger(d) || d < 1 || d > 12)) {
    throw new InvalidArgumentError('expected depths from 1 to 12: a range (1..6), one depth (4) or a list (2,4,6)');
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

export function addBenchCommands(cli: Command): void {
  const bench = cli.command('bench').description('benchmarks of xrpkv');
  bench
    .command('depth')
    .description('tree height against XRP speedup: TypeScript walks and XRP chains on trees of 1 to N levels, with the device read latency as the floor')
    .option('--depths <range>', 'tree heights: a range (1..6), one (4) or a list (2,4,6)', parseDepths, [1, 2, 3, 4, 5, 6])
    .option('--path <file>', 'the file the trees are written to and read from (default: tree.xrpkv in the output directory); removed after unless --keep; a block device only with --overwrite-device')
    .option('--overwrite-device', 'let --path name a block device: the trees are written over it from byte 0')
    .addOption(new Option('--device <kind>', 'make a zram device with ext4 for the run and remove it after (root only)').choices(['zram']))
    .option('--page-size <n>', "512, 1024, 2048 or 4096 (default: 512, or the device's logical block when larger; zram: 4096)", pageSize)
    .option('--fanout <n>', 'the most entries per page (BPF-KV: 31); the format may fit fewer', positiveInt, 31)
    .option('--value-size <n>', 'bytes per value (inline: at most page size / 4 - 16)', nonNegativeInt, 64)
    .option('--max-keys <n>', `keys per tree at most; a deeper tree gets a lower branch fanout (default ${DEFAULTS.full.maxKeys}, quick ${DEFAULTS.quick.maxKeys})`, positiveInt)
    .option('--concurrency <n>', 'lookups in flight for walk-async and xrp-batch (and the device QD row)', positiveInt, 32)
    .option('--rounds <n>', `rounds per depth (default ${DEFAULTS.full.rounds}, quick ${DEFAULTS.quick.rounds})`, positiveInt)
    .option('--lookups <n>', `lookups per mode per round (default ${DEFAULTS.full.lookups}, quick ${DEFAULTS.quick.lookups})`, positiveInt)
    .option('--warmup <n>', `uncounted lookups per mode before the first round (default ${DEFAULTS.full.warmup}, quick ${DEFAULTS.quick.warmup})`, nonNegativeInt)
    .option('--out <dir>', 'where results and charts go (default bench/results/depth-<timestamp>)')
    .option('--quick', 'a small run: fewer keys, rounds and lookups (under a minute)')
    .option('--keep', 'keep the tree file of the last depth')
    .action(async (o: DepthOptions) => {
      try {
        await runDepthBenchmark(o);
      } catch (e) {
        if (e instanceof BenchInterrupted) {
          console.error('xrpkv: bench depth interrupted; nothing written');
          process.exitCode = 130;
        } else if (e instanceof BenchSetupError || e instanceof BenchCheckError || e instanceof XrpError) {
          console.error(`xrpkv: ${e.message}`);
          process.exitCode = 1;
        } else throw e;
      }
    });
}
