// How long the event loop is kept from turning, and key orders, for
// bench/store.mjs's one-commit rows.
import { performance } from 'node:perf_hooks';
import { mix } from './workload.mjs';

/**
 * Watches the event loop from now until `stop()`: a setImmediate that
 * re-arms itself, so each gap between two of its ticks is one turn of
 * other work (or several back to back). `stop()` returns the longest gap
 * in milliseconds, the turn running now included.
 */
export function watchTurns() {
  let last = performance.now();
  let longest = 0;
  let on = true;
  const tick = () => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return () => {
    on = false;
    return Math.max(longest, performance.now() - last);
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
