// The depth benchmark (`xrpkv bench depth`): trees of each height, built in
// a file, on a device or on zram, looked up by every mode; tables, results
// and charts. See docs/BENCH.md for what each mode and column measures.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { XrpFile, xrpBackend } from '../xrp.js';
import { planTree, plannedPages } from './build-tree.js';
import { ChartsUnavailableError } from './chart.js';
import { writeDepthCharts } from './depth-charts.js';
import { setupZram, type Zram } from './device.js';
import { Progress } from './progress.js';
import { measureLeanPath } from './lean-path.js';
import { depthTable, leanPathLine, targetLines, writeResults, type RunInfo } from './report.js';
import { BenchInterrupted, runDepth, type DepthResult, type RunSettings } from './run-depth.js';
import { BenchSetupError } from './target.js';

/** The options of `xrpkv bench depth` (its flags, camelCased). */
export interface DepthOptions {
  depths: number[];
  path?: string;
  device?: 'zram';
  pageSize?: number;
  fanout: number;
  valueSize: number;
  maxKeys?: number;
  concurrency: number;
  rounds?: number;
  lookups?: number;
  warmup?: number;
  out?: string;
  quick?: boolean;
  keep?: boolean;
  overwriteDevice?: boolean;
}

/** Full run and `--quick` (under a minute on a 2-core VM, tree builds included). */
export const DEPTH_DEFAULTS = {
  full: { maxKeys: 2_000_000, rounds: 10, lookups: 1000, warmup: 300 },
  quick: { maxKeys: 20_000, rounds: 4, lookups: 250, warmup: 100 },
};

/** The file system holding `path`, e.g. `/dev/vda (ext4)`, when findmnt can tell. */
function fileSystemOf(path: string): string {
  try {
    const [source, fstype] = execFileSync('findmnt', ['-no', 'SOURCE,FSTYPE', '-T', path], { encoding: 'utf8' }).trim().split(/\s+/);
    return `${source} (${fstype})`;
  } catch {
    return 'unknown file system';
  }
}

/**
 * Makes `path` a small file (or, with `overwriteDevice`, takes the block
 * device it names) and asks the runtime how direct reads of it behave.
 */
function probeDirect(path: string, overwriteDevice: boolean): { direct: boolean; blockSize: number; device?: number } {
  let device = false;
  try {
    const st = statSync(path);
    device = st.isBlockDevice();
    if (device && !overwriteDevice) {
      throw new BenchSetupError(`${path} is a block device: the trees are written over it from byte 0, destroying what it holds; add --overwrite-device to allow that`);
    }
    if (!device && !st.isFile()) throw new BenchSetupError(`${path} is neither a regular file nor a block device`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  if (!device) {
    const fd = openSync(path, 'w');
    writeSync(fd, Buffer.alloc(8192));
    closeSync(fd);
  }
  const f = XrpFile.open(path, { direct: 'auto' });
  const r = { direct: f.direct, blockSize: f.blockSize, device: device ? f.size : undefined };
  f.close();
  return r;
}

/** Bytes of the largest tree the run will build. */
function largestTree(o: DepthOptions, pageSize: number, maxKeys: number): number {
  return Math.max(...o.depths.map((h) => plannedPages(planTree({ pageSize, fanout: o.fanout, valueSize: o.valueSize, height: h, maxKeys })) * pageSize));
}

/** How busy the machine is: load averages and, where the kernel has PSI, the share of time tasks waited for a CPU (10 s and 60 s). */
export function machineLoad(): string {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  try {
    const some = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return some ? `load ${load}; tasks waited for a CPU ${some[1]}% of the last 10 s, ${some[2]}% of the last 60 s` : `load ${load}`;
  } catch {
    return `load ${load}`;
  }
}

function timestamp(): string {
  return new Date().toISOString().replace(/[:]/g, '-').replace(/\..*$/, '');
}

/**
 * Runs the benchmark and writes its results; throws BenchSetupError,
 * BenchCheckError, BenchInterrupted (SIGINT or SIGTERM: nothing written) or XrpError.
 */
export async function runDepthBenchmark(o: DepthOptions): Promise<void> {
  const d = o.quick ? DEPTH_DEFAULTS.quick : DEPTH_DEFAULTS.full;
  const maxKeys = o.maxKeys ?? d.maxKeys;
  const settingsBase = { concurrency: o.concurrency, rounds: o.rounds ?? d.rounds, lookups: o.lookups ?? d.lookups, warmup: o.warmup ?? d.warmup };
  if (o.device && o.path) throw new BenchSetupError('give --device or --path, not both');
  const out = o.out ?? join('bench', 'results', `depth-${timestamp()}`);
  mkdirSync(out, { recursive: true });
  const progress = new Progress();
  let interrupted = false;
  let zram: Zram | undefined;
  const onSignal = () => {
    if (interrupted) {
      zram?.teardown();
      process.exit(130);
    }
    interrupted = true;
    progress.log('xrpkv: stopping after the current slice (interrupt again to stop at once)');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let path: string | undefined;
  /** The size of the block device `path` names, when it names one (never removed). */
  let device: number | undefined;
  try {
    let pageSize: number;
    let pageSizeNote: string | undefined;
    let description: string;
    if (o.device === 'zram') {
      if (o.pageSize !== undefined && o.pageSize !== 4096) {
        throw new BenchSetupError("zram's logical block is 4096 bytes, so direct reads there must be whole 4 KiB pages: --device zram needs --page-size 4096");
      }
      pageSize = 4096;
      pageSizeNote = `zram's logical block is 4096 bytes, so direct reads there must be whole 4 KiB pages: this run uses 4096-byte pages, fanout still capped at ${o.fanout}`;
      const bytes = largestTree(o, pageSize, maxKeys);
      progress.log(`setting up a zram device for ${(bytes / 2 ** 20).toFixed(0)} MiB of tree...`);
      zram = setupZram(bytes);
      path = join(zram.mount, 'tree.xrpkv');
      description = zram.description;
    } else {
      const chosen = o.path ?? join(out, 'tree.xrpkv');
      const probe = probeDirect(chosen, Boolean(o.overwriteDevice));
      // Only now is it ours to remove at the end (a refused device never is).
      path = chosen;
      device = probe.device;
      if (o.pageSize === undefined) {
        pageSize = probe.direct && probe.blockSize > 512 ? probe.blockSize : 512;
        if (pageSize > 512) pageSizeNote = `the device's logical block is ${probe.blockSize} bytes, so direct reads must be whole ${pageSize}-byte pages: this run uses ${pageSize}-byte pages, fanout still capped at ${o.fanout}`;
      } else {
        pageSize = o.pageSize;
        if (probe.direct && probe.blockSize > pageSize) {
          throw new BenchSetupError(`${path}: the device's logical block is ${probe.blockSize} bytes; direct reads of ${pageSize}-byte pages are refused: use --page-size ${probe.blockSize}`);
        }
      }
      description = device === undefined ? `${path} on ${fileSystemOf(path)}` : `${path} (block device, ${(device / 2 ** 20).toFixed(0)} MiB)`;
      const bytes = largestTree(o, pageSize, maxKeys);
      if (device !== undefined && bytes > device) {
        throw new BenchSetupError(`${path} holds ${device} bytes; the largest tree needs ${bytes}: lower --max-keys or --depths`);
      }
    }
    if (pageSizeNote) progress.log(`note: ${pageSizeNote}`);
    const backend = xrpBackend();
    const info: RunInfo = {
      command: ['xrpkv', ...process.argv.slice(2)].join(' '),
      date: new Date().toISOString(),
      machine: {
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
        kernel: release(),
        node: process.version,
        uvThreadpoolSize: process.env.UV_THREADPOOL_SIZE ?? '4 (default)',
        loadAtStart: machineLoad(),
      },
      device: { path, description, pageSize, pageSizeNote },
      backend: { backend: backend.backend, reason: backend.reason, kernelProbe: `${backend.probe.backend}: ${backend.probe.reason}` },
      settings: { ...settingsBase, depths: o.depths, fanout: o.fanout, valueSize: o.valueSize, maxKeys, quick: Boolean(o.quick) },
    };
    console.log(`xrpkv bench depth: ${description}; ${pageSize}-byte pages, ${o.valueSize}-byte values, fanout cap ${o.fanout}`);
    console.log(`chains run in the ${backend.backend} (${backend.reason}); ${settingsBase.rounds} rounds of ${settingsBase.lookups} lookups per mode, ${o.concurrency} in flight for the concurrent modes`);
    progress.log('measuring the lean path (a depth-1 tree in the page cache)...');
    info.leanPath = measureLeanPath(out);
    console.log(leanPathLine(info.leanPath).trim());
    const settings: RunSettings = { ...settingsBase, stopped: () => interrupted };
    const results: DepthResult[] = [];
    for (const h of o.depths) {
      const r = await runDepth(path, { pageSize, fanout: o.fanout, valueSize: o.valueSize, height: h, maxKeys }, settings, progress);
      results.push(r);
      console.log(['', ...depthTable(r)].join('\n'));
      if (interrupted) throw new BenchInterrupted();
    }
    info.machine.loadAtEnd = machineLoad();
    console.log(['', ...targetLines(results, description, info.leanPath), `machine: at the start ${info.machine.loadAtStart}; at the end ${info.machine.loadAtEnd}`].join('\n'));
    const files = writeResults(out, info, results);
    const charts = await writeDepthCharts(out, results, `${description}, ${pageSize}-byte pages, ${o.concurrency} in flight`).catch((e) => {
      if (!(e instanceof ChartsUnavailableError)) throw e;
      console.log(`\nno charts: ${e.message}`);
      return [];
    });
    console.log(`\nwrote ${[files.json, files.csv, ...charts].join(', ')}`);
  } finally {
    progress.stop();
    if (path && !o.keep && device === undefined) rmSync(path, { force: true });
    zram?.teardown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
