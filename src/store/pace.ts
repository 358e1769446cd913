// Long work of the writer in slices, so that the event loop keeps turning:
// a checkpoint or a commit of a million keys takes seconds, and reads,
// timers and I/O callbacks must not wait that long.
//
// The work is written once, as a generator that `yield`s where it may stop
// (when `Pace.due` says its slice is over), and run either way (its long
// loops belong in plain functions that return when their slice is due: V8
// never optimizes a loop inside a generator while it runs, and a batch's
// loop runs once):
// - `paced`: each yield waits for a turn of the event loop (setImmediate).
//   The writer's commits run so (writer.ts): nothing else prepares a commit
//   meanwhile, and what reads do meanwhile (open snapshots, fill caches)
//   cannot touch pages the transaction writes (tx.ts) nor see a log
//   commit's changes before it publishes (log-commit.ts);
// - `finish`: at once, in this turn (`commitSync`, whose caller waits).
import { performance } from 'node:perf_hooks';

/**
 * Work between turns, at most: units (keys, pages) or milliseconds, whichever
 * ends first. bench:store's budget for a commit's longest turn is 50 ms per
 * 100,000 keys, 2 ms for the smallest commits that are sliced at all (a log
 * commit of a few thousand keys); a yield costs a few µs when nothing else
 * waits, so short slices cost a large commit little (a million keys: within
 * the noise of 8 ms slices).
 */
export const SLICE_UNITS = 2048;
export const SLICE_MS = 2;
/** Units between looks at the clock. */
const CLOCK_EVERY = 64;

/** A step of sliced work: yields where it may stop, returns its result. */
export type Steps<T> = Generator<void, T, void>;

export class Pace {
  private units = 0;
  private lookAt = CLOCK_EVERY;
  private until = 0;

  constructor(
    private readonly maxUnits = SLICE_UNITS,
    private readonly sliceMs = SLICE_MS,
  ) {
    this.restart();
  }

  /**
   * Counts `n` units of work done; true when the slice is over (the caller
   * then yields). A unit that costs many small ones (a native call over
   * hundreds of pages) counts as that many.
   */
  due(n = 1): boolean {
    if ((this.units += n) < this.lookAt) return false;
    if (this.units >= this.maxUnits || performance.now() >= this.until) return true;
    this.lookAt = this.units + CLOCK_EVERY;
    return false;
  }

  /**
   * Whether the slice's time is already up: checked as a loop begins, so
   * that work before it (which counts no units: a sort, an encoder's
   * finish) and its first CLOCK_EVERY units do not run on past the slice.
   */
  late(): boolean {
    return this.units > 0 && performance.now() >= this.until;
  }

  /** A new slice begins. */
  restart(): void {
    this.units = 0;
    this.lookAt = CLOCK_EVERY;
    this.until = performance.now() + this.sliceMs;
  }
}

/** A pace whose slices never end: for work run with `finish`. */
export const UNPACED = new Pace(Infinity, Infinity);

/** Runs `steps` to the end now, ignoring its yields. */
export function finish<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Runs `steps`, letting the event loop turn at each yield; `pace` starts a new slice after each. */
export async function paced<T>(steps: Steps<T>, pace: Pace): Promise<T> {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    await new Promise((resolve) => setImmediate(resolve));
    pace.restart();
  }
}

/** Runs `step(i)` for each i from 0 to `count` - 1, in slices of `pace`. */
export function* eachPaced(count: number, pace: Pace, step: (i: number) => void): Steps<void> {
  if (count > 0 && pace.late()) yield;
  const at = { next: 0 };
  while (!runSome(count, at, pace, step)) yield;
}

/** `eachPaced`'s steps from `at.next` until the slice is due (a plain function, which V8 optimizes); whether all have run. */
function runSome(count: number, at: { next: number }, pace: Pace, step: (i: number) => void): boolean {
  while (at.next < count) {
    step(at.next++);
    if (pace.due()) return at.next >= count;
  }
  return true;
}
