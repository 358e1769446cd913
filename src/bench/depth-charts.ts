// The two charts of `xrpkv bench depth`: speedup over walk-async by depth, and
// mean latency by depth (log scale), one line per lookup mode, plus the
// device's floor (L reads at queue depth 1 and at the benchmark's concurrency).
import { join } from 'node:path';
import { writeChart, type Series } from './chart.js';
import { LOOKUP_MODES, type DepthResult } from './run-depth.js';

export async function writeDepthCharts(dir: string, depths: DepthResult[], subtitle: string): Promise<string[]> {
  const series = (pick: (d: DepthResult, mode: string) => number | undefined, modes: readonly string[]): Series[] =>
    modes
      .map((mode) => ({
        name: mode,
        points: depths.flatMap((d) => {
          const y = pick(d, mode);
          return y === undefined || !Number.isFinite(y) ? [] : [{ x: d.depth, y }];
        }),
      }))
      .filter((s) => s.points.length > 0);
  const row = (d: DepthResult, mode: string) => d.rows.find((r) => r.mode === mode);
  const speedup = series((d, m) => row(d, m)?.speedup, LOOKUP_MODES);
  const latency = series((d, m) => row(d, m)?.summary?.meanUs, LOOKUP_MODES);
  const c = depths[0]?.rows.find((r) => r.mode === 'device-qdc')?.concurrency ?? 0;
  latency.push(
    ...series((d, m) => {
      const dev = row(d, m === 'floor-qd1' ? 'device-qd1' : 'device-qdc')?.summary?.meanUs;
      return dev === undefined ? undefined : dev * d.depth;
    }, ['floor-qd1', 'floor-qdc']).map((s) => ({ ...s, name: s.name === 'floor-qd1' ? 'L × device read, QD1' : `L × device read, QD${c}`, dashed: true })),
  );
  const written: string[] = [];
  const a = await writeChart(
    { title: 'Lookup throughput over walk-async, by tree height', subtitle, xTitle: 'tree height (levels)', yTitle: 'lookups/s ÷ walk-async lookups/s', kind: 'line', series: speedup },
    join(dir, 'speedup'),
  );
  const b = await writeChart(
    { title: 'Mean lookup latency by tree height', subtitle, xTitle: 'tree height (levels)', yTitle: 'mean latency (µs, log scale)', kind: 'line', logY: true, series: latency },
    join(dir, 'latency'),
  );
  written.push(a.svg, a.png, b.svg, b.png);
  return written;
}
