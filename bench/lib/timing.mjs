// Timing helpers for the benchmarks in bench/.
import { performance } from 'node:perf_hooks';

export const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Seconds `fn` (sync or async) takes. */
export async function timed(fn) {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

/** A rate for a table: thousands separators from 100 up, else 2 decimals. */
export const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));

/**
 * Rates (items per second) of `runRange(from, to)`, which does items from..to
 * of a workload of `count` items (sync, or returning a promise). One warm-up
 * pass first, cut short after `warmMs`; then `repeat` timed passes of the
 * first `pass` items, `pass` sized from the warm-up to take about `passMs`
 * (so a slow store does not stretch the run), at least min(1000, count).
 */
export async function passRates(runRange, { count, repeat, warmMs = 8000, passMs = 2000 }) {
  const t0 = performance.now();
  let done = 0;
  while (done < count && performance.now() - t0 < warmMs) {
    const to = Math.min(count, done + 1000);
    await runRange(done, to);
    done = to;
  }
  const perMs = done / Math.max(performance.now() - t0, 1e-3);
  const pass = Math.max(Math.min(1000, count), Math.min(count, Math.floor(perMs * passMs)));
  const rates = [];
  for (let k = 0; k < repeat; k++) {
    const t = performance.now();
    await runRange(0, pass);
    rates.push(pass / ((performance.now() - t) / 1000));
  }
  return { rate: median(rates), rates, pass };
}

/**
 * The rate of one pass of `runRange` over `count` items from the first, in
 * chunks of `chunk`, stopped after `capMs`: a cold start, measured once.
 */
export async function firstPassRate(runRange, { count, capMs, chunk = 500 }) {
  const t0 = performance.now();
  let done = 0;
  while (done < count && performance.now() - t0 < capMs) {
    const to = Math.min(count, done + chunk);
    await runRange(done, to);
    done = to;
  }
  return { rate: done / ((performance.now() - t0) / 1000), items: done };
}
