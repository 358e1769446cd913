// What `xrpkv bench depth` shows and writes: a table per depth on the
// terminal, results.json (everything, with the machine and the command line),
// results.csv (one line per depth and mode), and the target check.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LeanPath } from './lean-path.js';
import type { DepthResult, Row } from './run-depth.js';
import { median } from './stats.js';

export interface RunInfo {
  command: string;
  /** The lean path's cost, measured before the depths (lean-path.ts). */
  leanPath?: LeanPath;
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; kernel: string; node: string; uvThreadpoolSize: string; loadAtStart: string; loadAtEnd?: string };
  device: { path: string; description: string; pageSize: number; pageSizeNote?: string };
  backend: { backend: string; reason: string; kernelProbe: string };
  settings: Record<string, number | string | boolean | number[]>;
}

export interface TargetCheck {
  name: string;
  /** Over all rounds (summed slice times, or latencies of every lookup). */
  measured: number;
  /** Throughput targets: the median over rounds of the same ratio within each round. */
  roundMedian?: number;
  goal: string;
  met: boolean;
}

const ROW_NAMES: Record<string, (c: number) => string> = {
  'device-qd1': () => 'device QD1',
  'device-qdc': (c) => `device QD${c} io_uring`,
  'device-qdc-threads': (c) => `device QD${c} threads`,
  'read-sync': () => 'fs.readSync',
  'read-async': (c) => `fs.read x${c}`,
};
export const rowName = (r: Row) => ROW_NAMES[r.mode]?.(r.concurrency) ?? r.mode;

const n0 = (n: number) => Math.round(n).toLocaleString('en-US');
const n1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '-');
const x = (n: number | undefined) => (n === undefined ? '' : `${n.toFixed(2)}x`);

export function describeShape(d: DepthResult): string {
  const s = d.shape;
  const mib = (d.fileBytes / 2 ** 20).toFixed(1);
  const branch = d.depth > 1 ? `, branch fanout ${s.branchFill} (a page fits ${s.branchCapacity})` : '';
  return (
    `depth ${d.depth}: ${n0(s.keys)} keys, ${s.leafFill} per leaf (a page fits ${s.leafCapacity})${branch}; ` +
    `${n0(d.pages)} pages of ${s.pageSize} B (${mib} MiB), ${d.access}; built in ${d.buildSeconds.toFixed(1)} s`
  );
}

/** The table of one depth, as lines. */
export function depthTable(d: DepthResult): string[] {
  const head = ['mode', 'in flight', 'ops/s', 'mean µs', 'p50 µs', 'p99 µs', 'p99.9 µs', 'vs walk-async', '(round median)', 'lat/(L×dev)'];
  const body = d.rows.map((r) => {
    const s = r.summary;
    // The full reason is in results.json; the table keeps its first clause.
    if (!s) return [rowName(r), '', `unavailable: ${r.unavailable ?? '?'}`];
    return [rowName(r), String(r.concurrency), n0(s.perSecond), n1(s.meanUs), n1(s.p50Us), n1(s.p99Us), n1(s.p999Us), x(r.speedup), x(r.speedupRoundMedian), x(r.latencyVsDevice)];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.filter((b) => b.length === head.length).map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells.length < head.length
      ? `${cells[0].padEnd(widths[0])}  ${cells.slice(2).join(' ')}`
      : cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const lines = [describeShape(d), ...d.shape.notes.map((n) => `  note: ${n}`)];
  if (d.warning) lines.push(`  warning: ${d.warning}`);
  const batchIo = d.rows.find((r) => r.mode === 'xrp-batch')?.io;
  return [...lines, line(head), ...body.map(line), ...(batchIo ? [`xrp-batch read with: ${batchIo}`] : [])];
}

/** The issues' targets, checked at the deepest depth measured; `zram`: the run was on zram, which has a target of its own. */
export function checkTargets(depths: DepthResult[], zram = false): { depth: number; checks: TargetCheck[] } | undefined {
  const d = depths[depths.length - 1];
  if (!d) return undefined;
  const row = (m: string) => d.rows.find((r) => r.mode === m);
  const [ws, wa, wt, xs, xb] = ['walk-sync', 'walk-async', 'walk-threads', 'xrp-sync', 'xrp-batch'].map((m) => row(m)?.summary);
  if (!ws || !wa || !wt || !xs || !xb) return undefined;
  const r = (n: number) => Number(n.toFixed(3));
  const perRound = (a: string, b: string) => {
    const ra = row(a)?.roundRates ?? [];
    const rb = row(b)?.roundRates ?? [];
    return r(median(ra.map((v, i) => v / rb[i])));
  };
  const throughput = (a: string, b: string, goal: number) => {
    const x = row(a)!.summary!.perSecond / row(b)!.summary!.perSecond;
    return { name: `${a} lookups/s over ${b}`, measured: r(x), roundMedian: perRound(a, b), goal: `>= ${goal}x`, met: x >= goal };
  };
  const batch = row('xrp-batch')!;
  const checks: TargetCheck[] = [
    throughput('xrp-sync', 'walk-sync', 1.2),
    throughput('xrp-batch', 'walk-threads', 1.0),
  ];
  if (batch.throughputVsDevice !== undefined) {
    checks.push({
      name: `xrp-batch lookups/s over the device's best reads/s at ${batch.concurrency} in flight / ${d.depth}`,
      measured: batch.throughputVsDevice,
      roundMedian: batch.throughputVsDeviceRoundMedian,
      goal: '>= 0.9x',
      met: batch.throughputVsDevice >= 0.9,
    });
  }
  if (zram) checks.push(throughput('xrp-batch', 'walk-sync', 1.0));
  // An earlier issue's, kept so that runs stay comparable.
  checks.push(throughput('xrp-batch', 'walk-async', 2.5));
  checks.push({ name: 'xrp-batch p99 over walk-async p99', measured: r(xb.p99Us / wa.p99Us), goal: '<= 0.6x', met: xb.p99Us / wa.p99Us <= 0.6 });
  return { depth: d.depth, checks };
}

/** The lean path's figure against its goal, as a line. */
export function leanPathLine(l: LeanPath): string {
  const met = l.overUs <= 1.5 ? 'met   ' : 'missed';
  return (
    `  ${met} lean path: an xrp lookup on a depth-1 tree in the page cache costs ${l.overUs.toFixed(2)} µs more than one fs.readSync of the page ` +
    `(goal <= 1.5 µs; ${l.xrpLookupUs.toFixed(2)} µs against ${l.readSyncUs.toFixed(2)} µs, medians of ${l.rounds} rounds of ${l.perRound}; ` +
    `fastest rounds: ${l.bestOverUs.toFixed(2)} µs more; in CPU time ${l.cpuOverUs.toFixed(2)} µs more)`
  );
}

export function targetLines(depths: DepthResult[], device: string, leanPath?: LeanPath): string[] {
  const t = checkTargets(depths, device.startsWith('zram'));
  const lines = [];
  if (t) {
    lines.push(`targets at depth ${t.depth} (this run: ${device}):`);
    for (const c of t.checks) {
      const rounds = c.roundMedian === undefined ? '' : `; median of per-round ratios ${c.roundMedian.toFixed(2)}x`;
      lines.push(`  ${c.met ? 'met   ' : 'missed'} ${c.name}: ${c.measured.toFixed(2)}x (goal ${c.goal}${rounds})`);
    }
  }
  if (leanPath) lines.push(leanPathLine(leanPath));
  return lines;
}

const CSV_HEAD = [
  'depth', 'keys', 'page_size', 'leaf_fill', 'branch_fanout', 'pages', 'mode', 'in_flight', 'count', 'per_second',
  'mean_us', 'p50_us', 'p99_us', 'p999_us', 'max_us', 'speedup_vs_walk_async', 'speedup_round_median', 'latency_vs_L_device', 'throughput_vs_device_over_L', 'io', 'unavailable',
];

const csvCell = (v: unknown) => {
  const s = v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export function toCsv(depths: DepthResult[]): string {
  const lines = [CSV_HEAD.join(',')];
  for (const d of depths) {
    for (const r of d.rows) {
      const s = r.summary;
      lines.push(
        [
          d.depth, d.shape.keys, d.shape.pageSize, d.shape.leafFill, d.depth > 1 ? d.shape.branchFill : '', d.pages, r.mode, r.concurrency,
          s?.count, s?.perSecond, s?.meanUs, s?.p50Us, s?.p99Us, s?.p999Us, s?.maxUs, r.speedup, r.speedupRoundMedian, r.latencyVsDevice, r.throughputVsDevice, r.io, r.unavailable,
        ].map(csvCell).join(','),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Writes results.json and results.csv into `dir`; returns their paths. */
export function writeResults(dir: string, info: RunInfo, depths: DepthResult[]): { json: string; csv: string } {
  const json = join(dir, 'results.json');
  const csv = join(dir, 'results.csv');
  writeFileSync(json, `${JSON.stringify({ ...info, targets: checkTargets(depths, info.device.description.startsWith('zram')), depths }, null, 2)}\n`);
  writeFileSync(csv, toCsv(depths));
  return { json, csv };
}
