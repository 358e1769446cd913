// Latencies in fixed memory: counts in buckets 2% wide (log scale from
// 0.1 µs), so a reader measuring millions of lookups inside a small memory
// limit holds a few kilobytes, not an array per lookup. Percentiles are
// exact to the bucket: within 2%.

const BASE = 0.1; // µs: the first bucket's lower edge
const GROWTH = 1.02;
const BUCKETS = 1200; // up to 0.1 µs * 1.02^1200, about 2e9 µs

export class Histogram {
  counts = new Float64Array(BUCKETS);
  count = 0;

  /** Records `n` lookups that took `us` microseconds each. */
  record(us, n = 1) {
    const b = us <= BASE ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us / BASE) / Math.log(GROWTH)));
    this.counts[b] += n;
    this.count += n;
  }

  /** The latency (µs, the bucket's middle) at or below which `p` (0..1) of the lookups fell; NaN when empty. */
  percentile(p) {
    if (this.count === 0) return NaN;
    const rank = p * this.count;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= rank) return BASE * GROWTH ** (b + 0.5);
    }
    return BASE * GROWTH ** BUCKETS;
  }
}
