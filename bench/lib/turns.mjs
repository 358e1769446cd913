// How long the event loop is kept from turning, and key orders, for
// bench/store.mjs's one-commit rows.
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { mix } from './workload.mjs';

/**
 * Watches the event loop from now until `stop()`: a setImmediate that
 * re-arms itself, so each gap between two of its ticks is one turn of
 * other work (or several back to back). `stop()` resolves to the longest
 * gap in milliseconds, the turn running now included (`longest`), and the
 * longest once the garbage collector's pauses inside each gap are taken
 * out (`work`): a scavenge or a mark-compact pause lands in whatever turn
 * allocates when the heap fills (5 to 15 ms on this host, in either
 * store's turns), so `work` is what the store's own slicing decides and
 * `longest` what a caller waited.
 */
export function watchTurns() {
  const gaps = [];
  const pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([e.startTime, e.startTime + e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let on = true;
  const tick = () => {
    const now = performance.now();
    gaps.push([last, now]);
    last = now;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return async () => {
    on = false;
    gaps.push([last, performance.now()]);
    // GC entries are delivered after a turn: wait for this stop's to arrive.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    let longest = 0;
    let work = 0;
    for (const [from, to] of gaps) {
      let paused = 0;
      for (const [start, end] of pauses) paused += Math.max(0, Math.min(to, end) - Math.max(from, start));
      longest = Math.max(longest, to - from);
      work = Math.max(work, to - from - paused);
    }
    return { longest, work };
  };
}

/** 0..n-1 ascending, or shuffled (Fisher-Yates, deterministic). */
export function keyOrder(n, shuffled) {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  if (shuffled) {
    for (let i = n - 1; i > 0; i--) {
      const j = mix(i + 0x5bd1e995) % (i + 1);
      const t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
  }
  return order;
}
