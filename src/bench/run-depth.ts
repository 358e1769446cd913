// One depth of `xrpkv bench depth`: build the tree, then rounds in which every
// mode runs a slice of lookups on the same random keys (and the device rows a
// slice of single-page reads), in an order that rotates per round so no mode
// always runs first or after the same neighbour. Stats are over all rounds.
import { buildTree, keyOf, planTree, plannedPages, valueOf, type ShapeRequest, type TreeShape } from './build-tree.js';
import { kernelUnavailable, runEngineReads, runXrpBatch, runXrpSync } from './chains.js';
import type { Probe, SliceRun } from './probe.js';
import type { Progress } from './progress.js';
import { Tally, median, type Summary } from './stats.js';
import { closeTarget, openTarget, type Target } from './target.js';
import { runReadAsync, runReadSync, runWalkAsync, runWalkSync } from './walk.js';

export const LOOKUP_MODES = ['walk-sync', 'walk-async', 'xrp-sync', 'xrp-batch'] as const;
export const DEVICE_MODES = ['device-qd1', 'device-qdc', 'read-sync', 'read-async'] as const;
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
    'xrp-sync': 'bpf/lookup.c, one runSync chain per lookup',
    'xrp-batch': `bpf/lookup.c, runBatch at depth ${c} (io_uring)`,
    'xrp-kernel': 'bpf/lookup.c in the kernel (XRP)',
    'device-qd1': 'device: one-page reads by the engine, queue depth 1',
    'device-qdc': `device: one-page reads by the engine, queue depth ${c}`,
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
function runner(t: Target, mode: LookupMode | DeviceMode, c: number): (probes: Probe[], pages: Uint32Array) => Promise<SliceRun> {
  switch (mode) {
    case 'walk-sync':
      return async (p) => runWalkSync(t, p);
    case 'walk-async':
      return (p) => runWalkAsync(t, p, c);
    case 'xrp-sync':
      return async (p) => runXrpSync(t, p);
    case 'xrp-batch':
      return (p) => runXrpBatch(t, p, c);
    case 'device-qd1':
      return (_, pages) => runEngineReads(t, pages, 1);
    case 'device-qdc':
      return (_, pages) => runEngineReads(t, pages, c);
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
    const run = new Map(modes.map((m) => [m, runner(t, m, s.concurrency)]));
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
      const c = m === 'walk-async' || m === 'xrp-batch' || m === 'device-qdc' || m === 'read-async' ? s.concurrency : 1;
      const roundRates = tally.rates.map((r) => Math.round(r));
      return { mode: m, what: describe(m, s.concurrency), concurrency: c, summary: tally.summary(), roundRates, io: tally.io };
    });
    rows.splice(4, 0, { mode: 'xrp-kernel', what: describe('xrp-kernel', s.concurrency), concurrency: 1, unavailable: kernelUnavailable() });
    compare(rows, L);
    return { depth: L, shape, pages: tree.pageCount, fileBytes: tree.pageCount * tree.pageSize, buildSeconds, access: t.access, warning: t.warning, rows };
  } finally {
    closeTarget(t);
  }
}

const ratio = (a: number, b: number) => Number((a / b).toFixed(3));

/** Fills the comparisons of the lookup rows: against walk-async, and against L device reads at the same queue depth. */
export function compare(rows: Row[], L: number): void {
  const get = (m: Mode) => rows.find((r) => r.mode === m)?.summary;
  const base = get('walk-async');
  const qd1 = get('device-qd1');
  const qdc = get('device-qdc');
  for (const r of rows) {
    if (!r.summary || !(LOOKUP_MODES as readonly string[]).includes(r.mode)) continue;
    if (base) r.speedup = ratio(r.summary.perSecond, base.perSecond);
    const baseRates = rows.find((b) => b.mode === 'walk-async')?.roundRates;
    if (baseRates && r.roundRates) r.speedupRoundMedian = ratio(median(r.roundRates.map((v, i) => v / baseRates[i])), 1);
    const dev = r.concurrency === 1 ? qd1 : qdc;
    if (dev) {
      r.latencyVsDevice = ratio(r.summary.meanUs, L * dev.meanUs);
      r.throughputVsDevice = ratio(r.summary.perSecond, dev.perSecond / L);
    }
  }
}
