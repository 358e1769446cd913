// Async lookups gathered per event-loop turn (`lookup: 'auto'`): every
// `get` and `getMany` of a turn whose pages are not all in memory joins one
// batch, answered once the turn's other callbacks have run (setImmediate),
// or as soon as EAGER_BATCH have gathered while batches are the way (then
// a turn may run several, in flight together): by a batch of chains
// (io_uring where available), or by walking each lookup on this thread,
// whichever has cost less per lookup lately (BatchChoice). Many lookups in
// flight at once is where chains gain most, when reads go to the device:
// it serves them together, and no lookup waits on another's. When the file is in the kernel's page cache a read is a
// copy, and a batch's round trip to the runtime's threads costs more than
// walking (bench:store: gathered chains at 0.35x of walks, warm). Then a
// caller's lookups are walked at once, with no wait for the turn.
//
// What must hold: every caller gets exactly its own answers, in its order,
// or the error of its own first failed key (one damaged page fails only the
// lookups that need it); each caller keeps its snapshot registered until
// its promise settles (db.ts), since a batch's chains may read pages of
// several commits; `idle()` settles only once nothing is queued or running,
// so that closing the store never closes the file under a gathered batch.
import type { LeafValue } from '../format/page.js';
import { COST_WEIGHT, RunningCost, type LookupCounts } from './lookup-choice.js';
import type { Snapshot } from './snapshot.js';
import type { ChainAsk, XrpLookup } from './xrp-lookup.js';

/** What a turn's gathered lookups do now, and what each way has cost per lookup lately (µs; undefined until measured). */
export interface BatchChoice {
  path: 'batch' | 'walk';
  batchMicros: number | undefined;
  walkMicros: number | undefined;
}

/** Lookups a probe of walking walks (the rest of its turn's batch chains): a bound on how long a probe blocks the loop. */
export const WALK_PROBE = 8;
/** Every this many turns, the way the costs do not favour is measured again... */
export const BATCH_PROBE_EVERY = 32;
/**
 * ...or up to this many, the gap doubling after each probe that finds that
 * way at least PROBE_BACKOFF times as dear as the other. With O_DIRECT, a
 * probe of walking reads the device on the event loop's thread: 8 walks at
 * 58 µs each every 32 turns of 64 batched lookups at 11 (getMany of 64 on
 * bench:memory's tree) kept the loop and the device idle 4% of the time,
 * and `auto` ran 7% below `xrp`. At most every 1,024 such turns (under a
 * second), a change of costs is still seen.
 */
export const BATCH_PROBE_MAX = 1024;
export const PROBE_BACKOFF = 4;
/**
 * A probe's share of its way's average. The way not taken is measured only
 * every BATCH_PROBE_EVERY turns, so at COST_WEIGHT its average kept what it
 * cost long before: with O_DIRECT, batches measured while the cache was
 * cold (200 µs a lookup, every level read) kept `auto` walking at 130 to
 * 180 µs a lookup for hundreds of turns, where a warm batch cost 37.
 */
export const PROBE_WEIGHT = 1 / 2;
/**
 * While walking costs less, a caller's lookups are walked at once, without
 * waiting for the turn's batch (the wait, a turn of the event loop, cost
 * more than the walk: one `await get` at a time ran at a third of
 * `getSync`'s rate); every this many callers, one waits for the turn, and
 * the callers after it in that turn join it, so that turns go on measuring
 * both ways on batches as large as the callers make them.
 */
export const WALK_NOW_PROBE = 64;
/**
 * Asks at which a turn's batch starts at once, while batches are the way
 * (and the size of the parts a getMany hands over: auto-lookup.ts): the
 * first asks' reads are in flight while the caller descends the rest in
 * memory, or the next of many concurrent gets is made. One batch a turn
 * left the device idle while JavaScript descended 64 keys and answered 64
 * (bench:memory's tree, 64 in flight: getMany of 64 about 83,000 lookups/s
 * before, 90,000 to 108,000 after; 64 concurrent gets 51,000 to 65,000
 * before, 73,000 to 110,000 after; 8 and 32 did no better).
 */
export const EAGER_BATCH = 16;
/** The most a walk may cost lately (ms per lookup) for `lookup` to walk at once: several times a walk from the kernel's cache, well under one from a disk. */
export const WALK_NOW_MS = 0.025;

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
  /** Per lookup: a turn's chains as one batch (wall time over lookups), and walking on this thread. */
  private readonly cost = { batch: new RunningCost(), walk: new RunningCost() };
  /** Turns until the next probe, and the gap after it (BATCH_PROBE_EVERY to BATCH_PROBE_MAX). */
  private untilProbe = BATCH_PROBE_EVERY;
  private probeGap = BATCH_PROBE_EVERY;
  /** When the last batch of chains ended (performance.now()). */
  private lastBatchEnd = 0;
  /** Callers answered at once by walking (`lookup`). */
  private walkedNow = 0;

  /** `walks`: false for `lookup: 'xrp'`, whose lookups are always chains (nothing walked, probed or timed). */
  constructor(
    private readonly xrp: XrpLookup,
    private readonly counts: LookupCounts,
    private readonly walks = true,
  ) {}

  /**
   * Whether a lone lookup now would be walked at once (`lookup`): the
   * caller may then look up synchronously instead, with no registered
   * snapshot nor promise of its own (db.ts `get`). Counted as `lookup`
   * counts its callers, so every WALK_NOW_PROBE-th still goes through it.
   */
  walksAlone(): boolean {
    if (this.scheduled || !this.walksNow() || (this.walkedNow + 1) % WALK_NOW_PROBE === 0) return false;
    this.walkedNow++;
    return true;
  }

  /** The values of `asks` (a caller's lookups that must read), from the turn's batch. */
  lookup(asks: ChainAsk[]): Promise<(LeafValue | undefined)[]> {
    if (!this.scheduled && this.walksNow() && ++this.walkedNow % WALK_NOW_PROBE !== 0) {
      const found = this.walk(asks);
      const failed = found.find((v) => v instanceof Error);
      return failed !== undefined ? Promise.reject(failed) : Promise.resolve(found as (LeafValue | undefined)[]);
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ from: this.asks.length, count: asks.length, resolve, reject });
      for (const a of asks) this.asks.push(a);
      if (this.asks.length >= EAGER_BATCH && !this.walkFavoured()) {
        this.track(this.flush());
        return;
      }
      if (this.scheduled) return;
      this.scheduled = true;
      let done!: () => void;
      this.track(new Promise<void>((r) => (done = r)));
      setImmediate(() => {
        // An eager flush may have taken the turn's asks already.
        if (!this.scheduled) return done();
        this.flush().finally(done);
      });
    });
  }

  /** The value of `key` in `snap`: from memory where its descent reaches the leaf (`cached` sees the value), else through `lookup`. Keep `snap` registered until it settles. */
  async lookupKey(snap: Snapshot, key: Buffer, cached: (v: LeafValue | undefined) => LeafValue | undefined): Promise<LeafValue | undefined> {
    const start = snap.descendCached(key);
    if (start.done) return cached(start.value);
    return (await this.lookup([{ snap, start, key }]))[0];
  }

  /**
   * The values of `keys` (a getMany's) in `snap`: from memory where its
   * descent reaches the leaf (`cached` sees each such value), the rest
   * through `lookup`, handed over EAGER_BATCH at a time as they are
   * descended, so that the first ones' reads are in flight while the rest
   * descend. The error of the first failed key, in `keys`' order. Keep
   * `snap` registered until it settles.
   */
  async lookupKeys(snap: Snapshot, keys: Buffer[], cached: (v: LeafValue | undefined) => LeafValue | undefined): Promise<(LeafValue | undefined)[]> {
    const out: (LeafValue | undefined)[] = new Array(keys.length);
    const parts: Promise<void>[] = [];
    let asks: ChainAsk[] = [];
    let at: number[] = [];
    const hand = () => {
      const [mine, where] = [asks, at];
      parts.push(this.lookup(mine).then((found) => found.forEach((v, j) => (out[where[j]] = v))));
      asks = [];
      at = [];
    };
    keys.forEach((key, i) => {
      const start = snap.descendCached(key);
      if (start.done) out[i] = cached(start.value);
      else {
        asks.push({ snap, start, key });
        at.push(i);
        if (asks.length === EAGER_BATCH) hand();
      }
    });
    if (asks.length > 0) hand();
    if (parts.length === 1) await parts[0];
    else if (parts.length > 1) {
      // Parts in `keys`' order: the first to fail is the first failed key's.
      const settled = await Promise.allSettled(parts);
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    return out;
  }

  /** Keeps `ran` (a flush, or a turn's wait for one) in `running` until it settles, for `idle`. */
  private track(ran: Promise<void>): void {
    const tracked = ran.finally(() => this.running.delete(tracked));
    this.running.add(tracked);
  }

  /**
   * Whether a caller's lookups are walked at once: while walking costs less
   * than a batch and little in itself (pages from memory, the kernel's
   * cache: a few µs). A walk that reads the device costs ten times that,
   * and many of them are better batched, reads in flight together; a
   * batch's cost is measured per lookup over batches of any size, so it
   * cannot say that alone.
   */
  private walksNow(): boolean {
    return this.walkFavoured() && this.cost.walk.average < WALK_NOW_MS;
  }

  /** Whether the costs favour walking (`choice.path`, without its object: this runs for every `get`). */
  private walkFavoured(): boolean {
    const { batch, walk } = this.cost;
    return this.walks && walk.samples > 0 && batch.samples > 0 && walk.average < batch.average;
  }

  /** Settles once every gathered batch has settled. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  /** What the costs favour now (a batch until walking is measured cheaper). */
  get choice(): BatchChoice {
    const { batch, walk } = this.cost;
    return { path: this.walkFavoured() ? 'walk' : 'batch', batchMicros: batch.micros, walkMicros: walk.micros };
  }

  /**
   * How many of `n` asks this turn walks (the first ones); the rest chain.
   * All when walking is cheaper, none when a batch is; a probe of the other
   * way every BATCH_PROBE_EVERY turns or more (`probedGap`), and until both are measured: at most
   * WALK_PROBE walked, or the whole turn batched. `probed`: the way the
   * costs do not favour, when this turn measures it.
   */
  private walking(n: number): { walked: number; probed?: 'walk' | 'batch' } {
    if (!this.walks) return { walked: 0 };
    const { batch, walk } = this.cost;
    const probe = --this.untilProbe === 0;
    if (probe) this.untilProbe = this.probeGap;
    // Unmeasured: a turn of several measures both ways, a lone lookup one at a time.
    if (walk.samples === 0) return { walked: Math.min(WALK_PROBE, batch.samples === 0 ? n - 1 : n) };
    if (batch.samples === 0) return { walked: 0 };
    if (this.walkFavoured()) return probe ? { walked: 0, probed: 'batch' } : { walked: n };
    return probe ? { walked: Math.min(WALK_PROBE, n), probed: 'walk' } : { walked: 0 };
  }

  /**
   * After a probe of `way` that cost `sample` ms a lookup: the next one in
   * twice the last gap (at most BATCH_PROBE_MAX turns) while that way costs
   * at least PROBE_BACKOFF times the other, else in BATCH_PROBE_EVERY.
   */
  private probedGap(way: 'walk' | 'batch', sample: number): void {
    // The probe's own sample, not the average it moved: a change of costs resets the gap at once.
    const other = (way === 'walk' ? this.cost.batch : this.cost.walk).average;
    this.probeGap = sample >= PROBE_BACKOFF * other ? Math.min(BATCH_PROBE_MAX, 2 * this.probeGap) : BATCH_PROBE_EVERY;
    this.untilProbe = this.probeGap;
  }

  /** Runs the turn's asks, walked or as one batch of chains (`walking`), and answers each waiter. */
  private async flush(): Promise<void> {
    const { asks, waiters } = this;
    this.asks = [];
    this.waiters = [];
    this.scheduled = false;
    const { walked, probed } = this.walking(asks.length);
    let found: (LeafValue | undefined | Error)[];
    try {
      found = this.walk(asks.slice(0, walked), probed === 'walk');
      if (walked < asks.length) {
        const chained = asks.slice(walked);
        this.counts.batches++;
        this.counts.batched += chained.length;
        const t = performance.now();
        found = found.concat(await this.xrp.chainMany(chained));
        // Batches overlap (EAGER_BATCH): each is charged the time since the
        // later of its start and the last batch's end, so that batches in
        // flight together cost what they take together, not each its
        // whole wait behind the others.
        const end = performance.now();
        const ms = (end - Math.max(t, this.lastBatchEnd)) / chained.length;
        this.lastBatchEnd = end;
        this.cost.batch.add(ms, probed === 'batch' ? PROBE_WEIGHT : COST_WEIGHT);
        if (probed === 'batch') this.probedGap('batch', ms);
      }
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

  /**
   * `asks` walked on this thread, each its value or the error that failed it
   * (as chainMany answers). `probe`: this turn measures walking, the way the
   * costs do not favour; its sample weighs more (that way is measured that
   * rarely) and sets the gap to the next probe.
   */
  private walk(asks: readonly ChainAsk[], probe = false): (LeafValue | undefined | Error)[] {
    if (asks.length === 0) return [];
    const t = performance.now();
    const out = asks.map(({ snap, start, key }) => {
      try {
        return snap.lookupFrom(start.page, start.depth, key);
      } catch (e) {
        return e as Error;
      }
    });
    const ms = (performance.now() - t) / asks.length;
    this.cost.walk.add(ms, probe ? PROBE_WEIGHT : COST_WEIGHT);
    if (probe) this.probedGap('walk', ms);
    this.counts.walked += asks.length;
    return out;
  }
}
