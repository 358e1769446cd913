// What `lookup: 'auto'` chooses, per lookup, and what it has chosen so far.
//
// A lookup first descends what the store holds in memory (the log's
// overlay, the decoded top levels, the cached pages: Snapshot.descendCached).
// When that reaches the leaf, it is done: nothing is read, so nothing is
// gained by a chain. Otherwise pages must come from the file, and there are
// two ways to read them: a TypeScript walk (one verified read per level) or
// a chain (bpf/lookup.c on the XRP runtime, every page verified by the
// emulator before the program sees it). Async reads (`get`, `getMany`) are
// gathered per turn, then walked or chained in one batch, as their own
// costs say, or walked at once while walks are cheap (lookup-gather.ts):
// a batch is where chains win most, many reads in flight at once. A
// synchronous read
// (`getSync`, `has`, `getBinaryFast`) takes whichever of a sync chain and a
// walk has cost less per lookup lately.
//
// The cost of each path is an exponentially weighted moving average of the
// time its lookups took (from the first page not in memory to the value;
// every first sample and probe is timed, one favoured lookup in MEASURE_EVERY).
// Both paths read the same pages, so the comparison is of the per-page work
// (a chain's VM and checks against a walk's JavaScript), not of the device;
// still, a slow read lands in whichever path made it, and the averages
// smooth that out (a sample far above its path's average counts as
// OUTLIER times it). The loser is probed now and then, a few lookups in a
// row, so that the choice can change when the costs do (a cold file, a JIT
// that is off).
import type { LeafValue } from '../format/page.js';

/** How many lookups each path served (`stats().lookups` under `lookup: 'auto'`). */
export interface LookupCounts {
  /** Lookups the memory finished: the log, the decoded levels, cached pages; nothing read. */
  cached: number;
  /** Lookups that read pages from the file by a TypeScript walk (synchronous ones and gathered turns that chose it, and probes). */
  walked: number;
  /** Lookups that read pages through a synchronous chain (runSyncIo). */
  chained: number;
  /** Lookups that read pages through a chain in a gathered batch (`get`, `getMany`). */
  batched: number;
  /** Batches of chains those made: one per event-loop turn with async reads that missed memory, or more when a turn gathers many (lookup-gather.ts EAGER_BATCH). */
  batches: number;
  /** Synchronous lookups that took the path the costs did not favour, to measure it again. */
  probes: number;
  /** Range scans run by the TypeScript cursor (their first leaf was in memory, or they run in reverse). */
  scansWalked: number;
  /** Range scans run by bpf/range.c (forward, starting at a leaf not in memory). */
  scansChained: number;
}

/**
 * What `auto` does now with a synchronous lookup that must read, and what
 * each path has cost (µs per lookup; undefined until measured). The same
 * for range scans that leave the cache, per row (`stats().lookups.scans`).
 */
export interface SyncChoice {
  /** `measuring` while either path has fewer than FIRST_SAMPLES samples (the paths alternate then). */
  path: 'walk' | 'chain' | 'measuring';
  walkMicros: number | undefined;
  chainMicros: number | undefined;
}

/** The weight of the newest sample in each path's average: about the last 16 lookups count. */
export const COST_WEIGHT = 1 / 16;
/** Samples each path takes, alternating, before the costs decide. */
export const FIRST_SAMPLES = 8;
/** Every this many synchronous lookups, a probe: PROBE_RUN lookups take the other path (3% of them)... */
export const PROBE_EVERY = 512;
/**
 * ...but not within this many ms of the last probe's start: warm, 512
 * lookups take about 1.5 ms, and probing a sync chain (twice a walk's
 * cost) that often took 5.6% of a warm getSync's time. Ten ms still lets
 * the choice turn within a fraction of a second of a change of costs.
 */
export const PROBE_MIN_MS = 10;
/**
 * Lookups in a row a probe takes, the first PROBE_SKIP not measured: after
 * a long run of the other path, a path's first lookups find its code and
 * data out of the CPU's caches, and measuring those made the loser look
 * slower than it was. Measuring only the first made sync chains cost 16.9
 * µs against walks at 6.3 in bench:store, where chains alone ran 1.6 times
 * as fast as walks alone; skipping one of four still kept walks through the
 * file's map at 6.6 to 12.3 µs, chains at 3.2 to 5.1, where walks alone cost
 * 3.0 and chains alone 6.0 (a cold start's samples decayed only through
 * probes). Runs of 16, four skipped: 3.2 to 4.5 against 4.1 to 4.2.
 */
export const PROBE_RUN = 16;
export const PROBE_SKIP = 4;
/**
 * A sample counts as at most this many times its path's average. On a
 * shared machine a lookup is now and then descheduled mid-way (hundreds of
 * µs against a few); unclipped, one such sample in a path that is only
 * probed kept its average ten times too high for thousands of lookups. A
 * real change of cost still shows: the average grows by up to 3/16 a sample.
 */
export const OUTLIER = 4;
/**
 * One lookup (or scan: ScanChoice) in this many of the favoured path is
 * timed; every probe and first sample is. A lookup's two clock reads cost
 * about 0.1 µs, 3 to 5% of a warm get; a scan's, one per row, a few percent
 * of a row. The favoured path's average then follows a change of cost over
 * about 16 x 8 lookups, still well within a probe period (PROBE_EVERY).
 */
export const MEASURE_EVERY = 8;

export type SyncPath = 'walk' | 'chain';

/**
 * A path's cost: the exponentially weighted average of its samples (ms per
 * lookup), each clipped to OUTLIER times the average so far, and how many
 * samples it has.
 */
export class RunningCost {
  average = 0;
  samples = 0;

  /** Adds a sample; `weight`, the newest sample's share of the average (COST_WEIGHT unless a rare probe says otherwise). */
  add(ms: number, weight = COST_WEIGHT): void {
    // A clock that stepped back, or a sample too large to be a lookup's (the
    // process was stopped), would skew the average for a long while.
    if (!(ms >= 0) || ms > 1000) return;
    const n = ++this.samples;
    const avg = this.average;
    this.average = n === 1 ? ms : avg + (Math.min(ms, OUTLIER * avg) - avg) * weight;
  }

  /** The average in µs, rounded to 0.01; undefined before the first sample. */
  get micros(): number | undefined {
    return this.samples === 0 ? undefined : Math.round(this.average * 1000 * 100) / 100;
  }
}

/** Each path's running cost (lookups' and scans' choices keep one each). */
class PathCosts {
  readonly walk = new RunningCost();
  readonly chain = new RunningCost();

  /** Whether both paths have at least `first` samples (until then the paths alternate). */
  measured(first: number): boolean {
    return this.walk.samples >= first && this.chain.samples >= first;
  }

  /** The path the costs favour now (chain on a tie: its reads are verified the same way, and it leaves no garbage). */
  favoured(): SyncPath {
    return this.chain.average <= this.walk.average ? 'chain' : 'walk';
  }

  /** What the choice does now, and the costs behind it in µs. */
  choice(first: number): SyncChoice {
    return { path: this.measured(first) ? this.favoured() : 'measuring', walkMicros: this.walk.micros, chainMicros: this.chain.micros };
  }
}

/** Counts of no lookups yet. */
export const noLookups = (): LookupCounts => ({ cached: 0, walked: 0, chained: 0, batched: 0, batches: 0, probes: 0, scansWalked: 0, scansChained: 0 });

export class LookupChoice {
  readonly counts: LookupCounts = noLookups();
  /** Per path: the average cost in ms of a lookup, and how many samples it has. */
  private readonly cost = new PathCosts();
  private sinceProbe = 0;
  /** Lookups left in the current probe. */
  private probing = 0;
  /** Lookups of the current probe still to record unmeasured. */
  private unmeasured = 0;
  /** Favoured lookups since the last one timed. */
  private sinceTimed = 0;
  /** Whether the lookup `syncPath` just sent is to be timed (`record`), or only counted (`count`). */
  timed = true;
  /** When the last probe began (`clock`, ms). */
  private probedAt = -Infinity;

  /** `clock`: ms, read once per PROBE_EVERY lookups (tests give their own). */
  constructor(private readonly clock: () => number = () => performance.now()) {}

  /** The path the next synchronous lookup that must read pages takes; `timed` says whether to time it. */
  syncPath(): SyncPath {
    this.timed = true;
    if (!this.cost.measured(FIRST_SAMPLES)) return this.cost.walk.samples <= this.cost.chain.samples ? 'walk' : 'chain';
    const best = this.cost.favoured();
    const other = best === 'chain' ? 'walk' : 'chain';
    if (this.probing > 0) {
      this.probing--;
      this.counts.probes++;
      return other;
    }
    if (++this.sinceProbe >= PROBE_EVERY) {
      this.sinceProbe = 0;
      const now = this.clock();
      if (now - this.probedAt >= PROBE_MIN_MS) return this.probe(other, now);
    }
    this.timed = ++this.sinceTimed % MEASURE_EVERY === 0;
    return best;
  }

  /** Starts a probe of `other` at `now`: its first lookup. */
  private probe(other: SyncPath, now: number): SyncPath {
    this.probedAt = now;
    this.probing = PROBE_RUN - 1;
    this.unmeasured = PROBE_SKIP;
    this.counts.probes++;
    return other;
  }

  /** Counts a synchronous lookup that took `path`, untimed. */
  count(path: SyncPath): void {
    if (path === 'walk') this.counts.walked++;
    else this.counts.chained++;
  }

  /** Records a synchronous lookup that took `path` and `ms` milliseconds from its first read to its value. */
  record(path: SyncPath, ms: number): void {
    this.count(path);
    if (this.unmeasured > 0) {
      this.unmeasured--;
      return;
    }
    this.cost[path].add(ms);
  }

  /** Records a lookup the memory finished. */
  cachedHit<T extends LeafValue | undefined>(value: T): T {
    this.counts.cached++;
    return value;
  }

  /** What a synchronous lookup that must read does now, and the costs behind it. */
  get sync(): SyncChoice {
    return this.cost.choice(FIRST_SAMPLES);
  }
}

/** Scans that leave the cache each path serves, alternating, before their costs per row decide. */
export const FIRST_SCANS = 4;
/** Every this many such scans, SCAN_PROBE_RUN take the path the costs do not favour, measured. */
export const SCAN_PROBE_EVERY = 64;
export const SCAN_PROBE_RUN = 2;
/**
 * A timed scan's share of its path's average: a probe's, or one of the
 * first, weighs more (the other path is measured rarely); one of the
 * favoured path's, as a lookup's does (COST_WEIGHT). At 1/4 for all, one
 * slow walk (a GC pause in it) made the cursor look dearer than range.c
 * for a probe period at a time: 14% of bench:peers' scans chained where
 * walks cost 0.96 us a row and chains 1.44.
 */
export const SCAN_PROBE_WEIGHT = 1 / 4;

/** How one scan runs (ScanChoice.next): its path, whether it is timed, and its sample's weight. */
export interface ScanTurn {
  path: SyncPath;
  measure: boolean;
  weight: number;
}

/**
 * A range scan that leaves the cache walks (the TypeScript cursor, reading
 * leaves as lookups do) or runs bpf/range.c, whichever has cost less per
 * row lately. Chains were the rule: with the file in the kernel's cache
 * they ran 6,500-7,100 scans of 100 rows a second where the cursor ran
 * 8,900-9,900 (bench:peers' data, a warm map).
 */
export class ScanChoice {
  private readonly cost = new PathCosts();
  private sinceProbe = 0;
  private probing = 0;
  private sinceMeasured = 0;

  /**
   * The path of the next scan that leaves the cache, whether to time it,
   * and the weight its sample then takes (`record`).
   */
  next(): ScanTurn {
    const rare = (path: SyncPath): ScanTurn => ({ path, measure: true, weight: SCAN_PROBE_WEIGHT });
    if (!this.cost.measured(FIRST_SCANS)) return rare(this.cost.chain.samples <= this.cost.walk.samples ? 'chain' : 'walk');
    const best = this.cost.favoured();
    const other: SyncPath = best === 'chain' ? 'walk' : 'chain';
    if (this.probing > 0) {
      this.probing--;
      return rare(other);
    }
    if (++this.sinceProbe >= SCAN_PROBE_EVERY) {
      this.sinceProbe = 0;
      this.probing = SCAN_PROBE_RUN - 1;
      return rare(other);
    }
    return { path: best, measure: ++this.sinceMeasured % MEASURE_EVERY === 0, weight: COST_WEIGHT };
  }

  /** Records a timed scan: `ms` spent producing its `rows` rows by `turn.path` (none: nothing learnt). */
  record(turn: ScanTurn, ms: number, rows: number): void {
    if (rows > 0) this.cost[turn.path].add(ms / rows, turn.weight);
  }

  /** What a scan that leaves the cache does now, and each path's cost per row. */
  get choice(): SyncChoice {
    return this.cost.choice(FIRST_SCANS);
  }
}

/**
 * Why `auto` walks every lookup, or undefined when it may chain: chains are
 * verified only where the emulator runs them in mode `extended`. In mode
 * `kernel` (what a real XRP kernel runs) and on a kernel backend, only the
 * programs' own checks would run, and a page whose bytes changed while it
 * still parses would go unnoticed; `lookup: 'xrp'` chains there if asked.
 */
export function autoWalks(mode: 'extended' | 'kernel', backend: () => string): string | undefined {
  if (mode === 'kernel') {
    return "lookup 'auto' walks: with xrpMode 'kernel' chains run as a real XRP kernel runs them, verified only by the programs' own checks (no page checksum); ask for lookup 'xrp' to run them anyway";
  }
  const where = backend();
  if (where !== 'emulator') {
    return `lookup 'auto' walks: chains would run in the XRP ${where}, verified only by the programs' own checks (no page checksum); ask for lookup 'xrp' to run them anyway`;
  }
  return undefined;
}

/** `db.lookupReason` under `auto`: the rule, what a synchronous lookup that must read does now, and how chains read. */
export function autoReason(xrp: { backend: string; access: string }, sync: SyncChoice): string {
  const us = (v: number | undefined) => (v === undefined ? 'not measured yet' : `${v} µs`);
  const now =
    sync.path === 'measuring'
      ? `measuring both paths (chain ${us(sync.chainMicros)}, walk ${us(sync.walkMicros)} a lookup)`
      : `${sync.path === 'chain' ? 'a sync chain' : 'a walk'} (chain ${us(sync.chainMicros)}, walk ${us(sync.walkMicros)} a lookup, lately)`;
  return (
    `lookup 'auto': lookups the store's cache finishes walk; the others run bpf/lookup.c on the XRP ${xrp.backend}, ` +
    `every page verified (checksum and number): get and getMany gathered per turn, then walked or batched as their costs say, getSync by ${now}; ` +
    `forward scans that leave the cache walk or run bpf/range.c, whichever has cost less per row lately; reads: ${xrp.access}`
  );
}
