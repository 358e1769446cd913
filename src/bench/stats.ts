// Summaries of a mode's lookups over all rounds: throughput from the summed
// wall time of its slices, latency percentiles over every lookup.
import type { SliceRun } from './probe.js';

export interface Summary {
  /** Lookups (or device reads) measured. */
  count: number;
  /** count / summed wall time of the slices. */
  perSecond: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
}

/** Accumulates a mode's slices across rounds. */
export class Tally {
  private parts: Float64Array[] = [];
  private elapsedNs = 0;
  /** Each slice's lookups/s, in round order: per-round ratios between modes resist a stall in one round. */
  readonly rates: number[] = [];
  io?: string;

  add(run: SliceRun): void {
    this.parts.push(run.latenciesNs);
    this.elapsedNs += run.elapsedNs;
    this.rates.push(run.elapsedNs > 0 ? (run.latenciesNs.length / run.elapsedNs) * 1e9 : 0);
    if (run.io) this.io = run.io;
  }

  get count(): number {
    return this.parts.reduce((n, p) => n + p.length, 0);
  }

  summary(): Summary {
    return summarize(this.parts, this.elapsedNs);
  }
}

const us = (ns: number) => Number((ns / 1000).toFixed(2));

export function summarize(parts: Float64Array[], elapsedNs: number): Summary {
  const all = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) all.set(p, at), (at += p.length);
  all.sort();
  let sum = 0;
  for (const v of all) sum += v;
  const count = all.length;
  return {
    count,
    perSecond: elapsedNs > 0 ? Math.round((count / elapsedNs) * 1e9) : 0,
    meanUs: count ? us(sum / count) : NaN,
    p50Us: us(percentile(all, 50)),
    p99Us: us(percentile(all, 99)),
    p999Us: us(percentile(all, 99.9)),
    maxUs: us(percentile(all, 100)),
  };
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** The nearest-rank percentile `p` (0..100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  // Less a hair: 99.9% of 1000 is 999.0000000000001 in floating point.
  const rank = Math.ceil((p / 100) * sorted.length - 1e-9);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}
