// bench/peers.mjs output: the table (ops/s per store, ratio to the first
// store, xrpkv), the chart, and the size of each store's files.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../lib/results.mjs';
import { fmt } from '../lib/timing.mjs';

const n = (x) => x.toLocaleString('en-US');

/** The table's rows: a result field, its label (`chart`: on the chart), its unit. */
export const ROWS = [
  { field: 'bulkLoad', label: (o) => `bulk load (sorted, ${n(o.loadBatch)}/commit)`, chart: 'bulk load', unit: 'keys/s' },
  { field: 'puts', label: (o) => `durable puts (random, ${n(o.putBatch)}/commit)`, chart: 'durable puts', unit: 'puts/s' },
  { field: 'getsWarm', label: () => 'random gets, warm, sync', chart: 'gets warm sync', unit: 'gets/s' },
  { field: 'getsWarmAsync', label: () => 'random gets, warm, await get', chart: 'gets warm await', unit: 'gets/s' },
  { field: 'getsCold', label: (o) => `random gets, cold (first ${n(o.coldGets)})`, chart: 'gets cold', unit: 'gets/s' },
  { field: 'getsColdMany', label: () => 'random gets, cold, getMany of 64', chart: 'gets cold getMany', unit: 'gets/s' },
  { field: 'scans', label: (o) => `range scan, ${o.scanRows} rows`, chart: 'scans (100 rows)', unit: 'scans/s' },
  { field: 'scanRows', label: (o) => `range scan, ${o.scanRows} rows`, unit: 'rows/s' },
];

/** Bytes of every file under `path`. */
export function diskBytes(path) {
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, name) => sum + diskBytes(join(path, name)), 0);
}

/** Prints ops/s per store and, for the others, their ratio to the first store. */
export function printTable(stores, results, options) {
  const [first] = stores;
  const pad = (s, n) => String(s).padStart(n);
  const head = stores.map((s, i) => pad(s.name, 14) + (i ? pad(`/${first.name}`, 9) : '')).join('');
  console.log(`${'workload'.padEnd(38)}${'unit'.padEnd(8)}${head}`);
  for (const row of ROWS) {
    const base = results[first.name][row.field];
    const cells = stores.map((s, i) => {
      const v = results[s.name][row.field];
      if (typeof v !== 'number') return pad('skipped', 14) + (i ? pad('', 9) : '');
      return pad(fmt(v), 14) + (i ? pad(typeof base === 'number' ? `${(v / base).toFixed(2)}x` : '-', 9) : '');
    });
    console.log(`${row.label(options).padEnd(38)}${row.unit.padEnd(8)}${cells.join('')}`);
  }
  if (stores.length > 1) {
    console.log(`/${first.name}: the store's rate divided by ${first.name}'s (2.00x = twice as fast as ${first.name}, 0.50x = half as fast)`);
  }
}

/** The chart: ops/s per workload, one bar per store, log scale; skipped when dist/bench/chart.js is missing. */
export async function writePeersChart(stores, results, keys, base) {
  const chartJs = join(ROOT, 'dist', 'bench', 'chart.js');
  if (!existsSync(chartJs)) {
    console.log('chart: skipped (dist/bench/chart.js is missing: run `node scripts/build.mjs ts`)');
    return;
  }
  const { writeChart } = await import(pathToFileURL(chartJs).href);
  const series = stores.map((s) => ({
    name: s.name,
    points: ROWS.filter((row) => row.chart && typeof results[s.name][row.field] === 'number').map((row) => ({ x: row.chart, y: results[s.name][row.field] })),
  }));
  const spec = {
    title: `xrpkv and its peers, ${keys.toLocaleString('en-US')} keys (16-byte keys, 100-byte values)`,
    xTitle: 'workload',
    yTitle: 'operations per second (log scale)',
    series,
    kind: 'bar',
    logY: true,
  };
  const { svg, png } = await writeChart(spec, base);
  console.log(`chart: ${svg}, ${png}`);
}
