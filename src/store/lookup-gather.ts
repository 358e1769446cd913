// Async lookups gathered per event-loop turn (`lookup: 'auto'`): every
// `get` and `getMany` of a turn whose pages are not all in memory joins one
// batch of chains, run with one `runBatch` (io_uring where available) once
// the turn's other callbacks have run (setImmediate). Many lookups in
// flight at once is where chains gain most: the device serves their reads
// together, and no lookup waits on another's.
//
// What must hold: every caller gets exactly its own answers, in its order,
// or the error of its own first failed key (one damaged page fails only the
// lookups that need it); each caller keeps its snapshot registered until
// its promise settles (db.ts), since a batch's chains may read pages of
// several commits; `idle()` settles only once nothing is queued or running,
// so that closing the store never closes the file under a gathered batch.
import type { LeafValue } from '../format/page.js';
import type { LookupCounts } from './lookup-choice.js';
import type { ChainAsk, XrpLookup } from './xrp-lookup.js';

interface Waiter {
  /** Its asks: `from` to `from + count` in the batch. */
  from: number;
  count: number;
  resolve: (values: (LeafValue | undefined)[]) => void;
  reject: (e: unknown) => void;
}

export class TurnBatch {
  private asks: ChainAsk[] = [];
  private waiters: Waiter[] = [];
  private scheduled = false;
  /** Batches queued or running; `idle` waits for them. */
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly xrp: XrpLookup,
    private readonly counts: LookupCounts,
  ) {}

  /** The values of `asks` (a caller's lookups that must read), from the turn's batch. */
  lookup(asks: ChainAsk[]): Promise<(LeafValue | undefined)[]> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ from: this.asks.length, count: asks.length, resolve, reject });
      for (const a of asks) this.asks.push(a);
      if (this.scheduled) return;
      this.scheduled = true;
      let done!: () => void;
      const ran = new Promise<void>((r) => (done = r));
      this.running.add(ran);
      setImmediate(() => {
        this.flush().finally(() => {
          this.running.delete(ran);
          done();
        });
      });
    });
  }

  /** Settles once every gathered batch has settled. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** Runs the turn's asks as one batch and answers each waiter. */
  private async flush(): Promise<void> {
    const { asks, waiters } = this;
    this.asks = [];
    this.waiters = [];
    this.scheduled = false;
    let found: (LeafValue | undefined | Error)[];
    try {
      this.counts.batches++;
      this.counts.batched += asks.length;
      found = await this.xrp.chainMany(asks);
    } catch (e) {
      for (const w of waiters) w.reject(e);
      return;
    }
    for (const w of waiters) {
      const mine = found.slice(w.from, w.from + w.count);
      const failed = mine.find((v) => v instanceof Error);
      if (failed !== undefined) w.reject(failed);
      else w.resolve(mine as (LeafValue | undefined)[]);
    }
  }
}
