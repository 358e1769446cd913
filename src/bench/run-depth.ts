// One depth of `xrpkv bench depth`: build the tree, then rounds in which every
// mode runs a slice of lookups on the same random keys (and the device rows a
// slice of single-page reads), in an order that rotates per round so no mode
// always runs first or after the same neighbour. Stats are over all rounds.
import { buildTree, keyOf, planTree, plannedPages, valueOf, type ShapeRequest, type TreeShape } from './build-tree.js';
import { kernelUnavailable, runXrpBatch, runXrpSync } from './chains.js';
import type { Probe, SliceRun } from './probe.js';
import type { Progress } from './progress.js';
import { Tally, median, type Summary } from './stats.js';
import { closeTarget, openTarget, type Target } from './target.js';
import { runPlainReads, runWalkThreads } from './threads.js';
import { runReadAsync, runReadSync, runWalkAsync, runWalkSync } from './walk.js';

export const LOOKUP_MODES = ['walk-sync', 'walk-async', 'walk-threads', 'xrp-sync', 'xrp-batch'] as const;
/** The modes with `concurrency` lookups (or reads) in flight; the others have one. */
const CONCURRENT: readonly Mode[] = ['walk-async', 'walk-threads', 'xrp-batch', 'device-qdc', 'device-qdc-threads', 'read-async'];
export const DEVICE_MODES = ['device-qd1', 'device-qdc', 'device-qdc-threads', 'read-sync', 'read-async'] as const;
export type LookupMode = (typeof LOOKUP_MODES)[number];
export type DeviceMode = (typeof DEVICE_MODES)[number];
export type Mode = LookupMode | DeviceMode | 'xrp-kernel';

export interface RunSettings {
  concurrency: number;
  rounds: number;
  /** Lookups per mode per round (device rows: reads). */
  lookups: number;
  /** Uncounted lookups per mode before the first round (JIT, caches). */
  warmup: number;
  /** Checked between slices: true ends the run with BenchInterrupted (e.g. after SIGINT). */
  stopped?: () => boolean;
}

/** The run was asked to stop (SIGINT); thrown between slices so files close and devices come down. */
export class BenchInterrupted extends Error {
  override name = 'BenchInterrupted';
  constructor() {
    super('interrupted');
  }
}

export interface Row {
  mode: Mode;
  /** What the row measures, in words. */
  what: string;
  /** Lookups (or reads) in flight. */
  concurrency: number;
  /** Undefined for a mode that could not run (then `unavailable` says why). */
  summary?: Summary;
  unavailable?: string;
  io?: string;
  /** Lookup rows: lookups/s over walk-async's. */
  speedup?: number;
  /** Lookup rows: the median over rounds of this round's lookups/s over walk-async's in the same round. */
  speedupRoundMedian?: number;
  /** Each round's lookups/s (slices in round order). */
  roundRates?: number[];
  /** Lookup rows: mean latency over L x the device's mean read latency at the same queue depth. */
  latencyVsDevice?: number;
  /** Lookup rows: lookups/s over the device's reads/s at the same queue depth divided by L. */
  throughputVsDevice?: number;
  /** The median over rounds of throughputVsDevice within each round. */
  throughputVsDeviceRoundMedian?: number;
}

export interface DepthResult {
  depth: number;
  shape: TreeShape;
  pages: number;
  fileBytes: number;
  buildSeconds: number;
  access: string;
  warning?: string;
  rows: Row[];
}

function describe(mode: Mode, c: number): string {
  return {
    'walk-sync': 'TypeScript walk, fs.readSync per level',
    'walk-async': `TypeScript walk, fs.read per level, ${c} lookups in flight (libuv pool)`,
    'walk-threads': `native walk: ${c} threads, each pread and a binary search per level (no BPF)`,
    'xrp-sync': 'bpf/lookup.c, one runSyncIo chain per lookup',
    'xrp-batch': `bpf/lookup.c, runBatch of depth ${c} (io_uring or threads, as the device measured)`,
    'xrp-kernel': 'bpf/lookup.c in the kernel (XRP)',
    'device-qd1': 'device: one-page preads by one native thread',
    'device-qdc': `device: one-page reads, ${c} in flight on one io_uring`,
    'device-qdc-threads': `device: one-page preads by ${c} native threads`,
    'read-sync': 'device: one-page fs.readSync, one at a time',
    'read-async': `device: one-page fs.read, ${c} in flight`,
  }[mode];
}

/** `n` lookups of keys drawn uniformly from the tree's, each with the value stored under it. */
function randomProbes(keys: number, n: number, valueSize: number): Probe[] {
  return Array.from({ length: n }, () => {
    const key = keyOf(Math.floor(Math.random() * keys));
    return { key, expected: valueOf(key, valueSize) };
  });
}

/** Runs one mode's slice. */
function runner(t: Target, mode: LookupMode | DeviceMode, c: number, valueSize: number): (probes: Probe[], pages: Uint32Array) => Promise<SliceRun> {
  switch (mode) {
    case 'walk-sync':
      return async (p) => runWalkSync(t, p);
    case 'walk-async':
      return (p) => runWalkAsync(t, p, c);
    case 'walk-threads':
      return (p) => runWalkThreads(t, p, c, valueSize);
    case 'xrp-sync':
      return async (p) => runXrpSync(t, p);
    case 'xrp-batch':
      return (p) => runXrpBatch(t, p, c, valueSize);
    case 'device-qd1':
      return (_, pages) => runPlainReads(t, pages, 1, 'threads');
    case 'device-qdc':
      return (_, pages) => runPlainReads(t, pages, c, 'uring');
    case 'device-qdc-threads':
      return (_, pages) => runPlainReads(t, pages, c, 'threads');
    case 'read-sync':
      return async (_, pages) => runReadSync(t, pages);
    case 'read-async':
      return (_, pages) => runReadAsync(t, pages, c);
  }
}

export async function runDepth(path: string, request: ShapeRequest, s: RunSettings, progress: Progress): Promise<DepthResult> {
  const L = request.height;
  const shape = planTree(request);
  const built0 = performance.now();
  progress.start(`depth ${L}: building ${shape.keys.toLocaleString('en-US')} keys`, plannedPages(shape) - 2);
  const tree = buildTree(path, shape, (done) => progress.update(done));
  const buildSeconds = (performance.now() - built0) / 1000;
  progress.stop();
  const t = openTarget(tree);
  try {
    const leafPages = (n: number) => Uint32Array.from({ length: n }, () => 2 + Math.floor(Math.random() * tree.leafPages));
    const modes = [...LOOKUP_MODES, ...DEVICE_MODES];
    const run = new Map(modes.map((m) => [m, runner(t, m, s.concurrency, request.valueSize)]));
    const tallies = new Map(modes.map((m) => [m, new Tally()]));

    const warm = randomProbes(shape.keys, s.warmup, request.valueSize);
    for (const m of modes) await run.get(m)!(warm, leafPages(s.warmup));

    progress.start(`depth ${L}: measuring`, s.rounds * modes.length);
    for (let round = 0; round < s.rounds; round++) {
      const probes = randomProbes(shape.keys, s.lookups, request.valueSize);
      const pages = leafPages(s.lookups);
      for (let j = 0; j < modes.length; j++) {
        const m = modes[(j + round) % modes.length];
        if (s.stopped?.()) throw new BenchInterrupted();
        progress.update(round * modes.length + j, `round ${round + 1}/${s.rounds} ${m}`);
        tallies.get(m)!.add(await run.get(m)!(probes, pages));
      }
    }
    progress.update(s.rounds * modes.length);
    progress.stop();

    const rows: Row[] = modes.map((m) => {
      const tally = tallies.get(m)!;
      const c = CONCURRENT.includes(m) ? s.concurrency : 1;
      const roundRates = tally.rates.map((r) => Math.round(r));
      return { mode: m, what: describe(m, s.concurrency), concurrency: c, summary: tally.summary(), roundRates, io: tally.io };
    });
    rows.splice(LOOKUP_MODES.length, 0, { mode: 'xrp-kernel', what: describe('xrp-kernel', s.concurrency), concurrency: 1, unavailable: kernelUnavailable() });
    compare(rows, L);
    return { depth: L, shape, pages: tree.pageCount, fileBytes: tree.pageCount * tree.pageSize, buildSeconds, access: t.access, warning: t.warning, rows };
  } finally {
    closeTarget(t);
  }
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/**
 * Fills the comparisons of the lookup rows: against walk-async, and against
 * L device reads at the same number in flight (one, or `concurrency`: then
 * the faster of the device's two rows, io_uring or threads).
 */
export function compare(rows: Row[], L: number): void {
  const find = (m: Mode) => rows.find((r) => r.mode === m);
  const base = find('walk-async');
  const concurrentDevice = [find('device-qdc'), find('device-qdc-threads')]
    .filter((r): r is Row & { summary: Summary } => r?.summary !== undefined)
    .sort((a, b) => b.summary.perSecond - a.summary.perSecond)[0];
  for (const r of rows) {
    if (!r.summary || !(LOOKUP_MODES as readonly string[]).includes(r.mode)) continue;
    if (base?.summary) r.speedup = ratio(r.summary.perSecond, base.summary.perSecond);
    if (base?.roundRates && r.roundRates) r.speedupRoundMedian = ratio(median(r.roundRates.map((v, i) => v / base.roundRates![i])), 1);
    const dev = r.concurrency === 1 ? find('device-qd1') : concurrentDevice;
    if (dev?.summary) {
      r.latencyVsDevice = ratio(r.summary.meanUs, L * dev.summary.meanUs);
      r.throughputVsDevice = ratio(r.summary.perSecond, dev.summary.perSecond / L);
      if (dev.roundRates && r.roundRates) r.throughputVsDeviceRoundMedian = ratio(median(r.roundRates.map((v, i) => (v * L) / dev.roundRates![i])), 1);
    }
  }
}
