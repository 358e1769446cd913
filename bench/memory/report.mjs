// bench/memory.mjs's table and chart.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../lib/results.mjs';
import { fmt } from '../lib/timing.mjs';

export const PATTERN_LABELS = { sync: 'sync, 1 at a time', many64: 'getMany of 64', conc64: '64 concurrent get' };

const mib = (b) => (typeof b === 'number' ? (b / 2 ** 20).toFixed(0) : '-');
const num = (x, d = 2) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');

/** One line per reader: rate, latency, memory, reads. */
export function printTable(rows) {
  const head = ['store', 'mode', 'pattern', 'lookups/s', 'p50 µs', 'p99 µs', 'RSS MiB', 'cg MiB', 'reads/lkp', 'syscr/lkp', 'majflt/lkp'];
  const widths = [15, 12, 20, 11, 11, 11, 8, 7, 10, 10, 10];
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('');
  console.log(line(head));
  for (const r of rows) {
    if (r.error) {
      console.log(line([r.store, r.mode, PATTERN_LABELS[r.pattern], `failed: ${r.error}`]));
      continue;
    }
    console.log(
      line([
        r.store,
        r.mode,
        PATTERN_LABELS[r.pattern],
        fmt(r.rate),
        fmt(r.p50Us),
        fmt(r.p99Us),
        mib(r.peakRssBytes),
        mib(r.cgroupPeakBytes),
        num(r.readsPerLookup),
        num(r.syscrPerLookup),
        num(r.majorFaultsPerLookup),
      ]),
    );
  }
  console.log(
    'RSS: the reader\'s peak (VmHWM, mapped file pages included); cg: the cgroup\'s peak (its pages of cache included); ' +
      'reads/lkp: bytes read from storage per lookup, over 4 KiB, or over the page for O_DIRECT reads (one request each); ' +
      'syscr: read system calls (io_uring reads are not counted); majflt: major page faults (lmdb-js maps its file)',
  );
}

// Bar groups sit side by side with horizontal labels: short names, or they overlap.
const SHORT_STORES = { 'xrpkv-4k': '4K', 'xrpkv-512': '512', lmdb: 'lmdb', 'classic-level': 'level' };
const SHORT_MODES = { default: '', noReadAhead: 'noRA', 'auto-buffered': 'autoB' };
const shortName = (r) => `${SHORT_STORES[r.store] ?? r.store} ${SHORT_MODES[r.mode] ?? r.mode}`.trim();

/** The chart: lookups/s per store and mode, one bar per pattern, log scale; skipped without dist/bench/chart.js. */
export async function writeMemoryChart(rows, title, subtitle, base) {
  const chartJs = join(ROOT, 'dist', 'bench', 'chart.js');
  if (!existsSync(chartJs)) {
    console.log('chart: skipped (dist/bench/chart.js is missing: run `node scripts/build.mjs ts`)');
    return undefined;
  }
  const { writeChart } = await import(pathToFileURL(chartJs).href);
  const series = Object.entries(PATTERN_LABELS).map(([pattern, name]) => ({
    name,
    points: rows.filter((r) => r.pattern === pattern && r.rate > 0).map((r) => ({ x: shortName(r), y: r.rate })),
  }));
  if (rows.length === 0) {
    console.log('chart: skipped (no reader finished)');
    return undefined;
  }
  const spec = { title, subtitle, xTitle: 'xrpkv 4K / 512-byte pages and mode (xrpD: xrp, direct); lmdb-js (noRA: noReadAhead); level: classic-level', yTitle: 'lookups per second (log scale)', series: series.filter((s) => s.points.length), kind: 'bar', logY: true };
  const out = await writeChart(spec, base);
  console.log(`chart: ${out.svg}, ${out.png}`);
  return out;
}
