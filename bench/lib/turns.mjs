// How long the event loop is kept from turning, and key orders, for
// bench/store.mjs's one-commit rows.
import { readFileSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { mix } from './workload.mjs';

/**
 * Watches the event loop from now until `stop()`: a setImmediate that
 * re-arms itself, so each gap between two of its ticks is one turn of
 * other work (or several back to back). `stop()` resolves to the longest
 * gap in milliseconds, the turn running now included (`longest`: what a
 * caller waited), and the longest once the time the loop's thread waited
 * for a core and the garbage collector's pauses are taken out of each gap
 * (`work`: what the store's own slicing decides). The waits for a core are
 * Linux's (/proc/thread-self/schedstat's run-queue time, exact for waits
 * that have ended, as every wait in a gap has by its closing tick; its
 * run time is not used: it lags by up to a scheduler tick); where that
 * cannot be read they stay in (`runQueueOut` false). Time the thread
 * slept stays in: a blocking call is the store's doing (and so is V8's
 * wait for its ArrayBuffer sweeper, 2 to 8 ms at times, which the buffers
 * the store frees decide).
 *
 * Why not the gap alone: on a two-core host the loop's thread is often
 * runnable and not running. Waking a V8 worker (a TurboFan compile, a GC
 * task) or the libuv pool (the commit's write) let that thread take the
 * core for 2 to 7 ms while the other core ran something else (a perf
 * sched_switch trace of 10,000-key commits); a scavenge or a mark-compact
 * pause lands in whatever turn allocates when the heap fills (5 to 15 ms on
 * this host, in either store's turns). None of that is the store's work.
 */
export function watchTurns() {
  const gaps = [];
  const pauses = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push([e.startTime, e.startTime + e.duration]);
  });
  observer.observe({ entryTypes: ['gc'] });
  let last = performance.now();
  let lastQueued = queuedMs();
  let on = true;
  const tick = () => {
    const now = performance.now();
    const queued = queuedMs();
    gaps.push([last, now, queued - lastQueued]);
    last = now;
    lastQueued = queued;
    if (on) setImmediate(tick);
  };
  setImmediate(tick);
  return async () => {
    on = false;
    gaps.push([last, performance.now(), queuedMs() - lastQueued]);
    // GC entries are delivered after a turn: wait for this stop's to arrive.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    observer.disconnect();
    let longest = 0;
    let work = 0;
    for (const [from, to, queued] of gaps) {
      let paused = 0;
      for (const [start, end] of pauses) paused += Math.max(0, Math.min(to, end) - Math.max(from, start));
      longest = Math.max(longest, to - from);
      work = Math.max(work, to - from - queued - paused);
    }
    return { longest, work, runQueueOut: SCHEDSTAT_READABLE };
  };
}

const SCHEDSTAT = '/proc/thread-self/schedstat';
const SCHEDSTAT_READABLE = (() => {
  try {
    return readFileSync(SCHEDSTAT, 'latin1').split(' ').length >= 2;
  } catch {
    return false;
  }
})();

/** Milliseconds the calling thread has waited for a core (its schedstat's second field); 0 where that cannot be read. */
function queuedMs() {
  return SCHEDSTAT_READABLE ? Number(readFileSync(SCHEDSTAT, 'latin1').split(' ')[1]) / 1e6 : 0;
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
