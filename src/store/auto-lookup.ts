// `lookup: 'auto'`: each lookup takes the path lookup-choice.ts picks for it.
// A lookup the store's memory finishes (Snapshot.descendCached reaches the
// leaf) walks and reads nothing; one that must read pages runs from the
// first page memory does not hold: async ones gathered per turn, walked or
// as one batch of chains, or walked at once while walks are cheap
// (lookup-gather.ts), synchronous ones by a sync
// chain or a walk, each whichever has cost less lately; range scans that leave memory run
// bpf/range.c. Every chain is verified as an `xrp` one is (xrp-lookup.ts):
// the emulator checks each page's checksum and number, the programs its
// number, type and level. Keys the log holds are answered before any of
// this (db.ts), and are not counted here.
import type { LeafValue } from '../format/page.js';
import { COST_WEIGHT, LookupChoice, ScanChoice, type LookupCounts, type ScanTurn, type SyncChoice } from './lookup-choice.js';
import { TurnBatch, type BatchChoice } from './lookup-gather.js';
import type { Snapshot } from './snapshot.js';
import type { XrpLookup } from './xrp-lookup.js';

const EMPTY = Buffer.alloc(0);
/** A scan memory starts, or a reverse one: the cursor, untimed. */
const UNTIMED_WALK: ScanTurn = { path: 'walk', measure: false, weight: COST_WEIGHT };

/** `stats().lookups`: what `auto` has done, and what it does now with a synchronous lookup, a turn's gathered lookups and a range scan that must read. */
export type AutoStats = LookupCounts & { sync: SyncChoice; gathered: BatchChoice; scans: SyncChoice };

export class AutoLookup {
  readonly choice = new LookupChoice();
  private readonly gathered: TurnBatch;
  private readonly scans = new ScanChoice();

  /**
   * `warming`: whether the store's cache is being warmed (prefetch.ts). A
   * synchronous lookup then walks, since its miss reads the window around
   * its page (Pager.readWindow), which later lookups find in memory; its
   * cost says nothing of a walk's afterwards, so it is not measured.
   */
  constructor(
    readonly xrp: XrpLookup,
    private readonly warming: () => boolean = () => false,
  ) {
    this.gathered = new TurnBatch(xrp, this.choice.counts);
  }

  /** A synchronous lookup (the tree's answer, the log not consulted); `copy` as Snapshot.find's. */
  lookupSync(snap: Snapshot, key: Buffer, copy = true): LeafValue | undefined {
    const start = snap.descendCached(key);
    if (start.done) return this.choice.cachedHit(start.value);
    if (this.warming()) {
      this.choice.counts.walked++;
      return snap.lookupFrom(start.page, start.depth, key, copy);
    }
    const { choice } = this;
    const path = choice.syncPath();
    const t = choice.timed ? performance.now() : 0;
    const v = path === 'chain' ? this.xrp.chainSync(snap, start, key, copy) : snap.lookupFrom(start.page, start.depth, key, copy);
    if (choice.timed) choice.record(path, performance.now() - t);
    else choice.count(path);
    return v;
  }

  /**
   * Whether an async lookup would be answered at once now (TurnBatch
   * `walksAlone`): the caller may then make it a synchronous one.
   */
  answersAtOnce(): boolean {
    return this.gathered.walksAlone();
  }

  /** An async lookup: from memory, or in this turn's batch. Keep `snap` registered until it settles. */
  lookup(snap: Snapshot, key: Buffer): Promise<LeafValue | undefined> {
    return this.gathered.lookupKey(snap, key, (v) => this.choice.cachedHit(v));
  }

  /** `keys` from memory where it holds them, the rest in this turn's batches (TurnBatch `lookupKeys`). Keep `snap` registered until it settles. */
  lookupMany(snap: Snapshot, keys: Buffer[]): Promise<(LeafValue | undefined)[]> {
    return this.gathered.lookupKeys(snap, keys, (v) => this.choice.cachedHit(v));
  }

  /**
   * How a range scan from `start` runs: a reverse one, or one whose first
   * leaf memory holds, walks (the TypeScript cursor) untimed; a forward one
   * that must read takes the path ScanChoice picks, timed when `measure`
   * (then `scanned` takes its cost).
   */
  scanPath(snap: Snapshot, start: Buffer | undefined, reverse: boolean): ScanTurn {
    const next = reverse || snap.descendCached(start ?? EMPTY).done ? UNTIMED_WALK : this.scans.next();
    if (next.path === 'chain') this.choice.counts.scansChained++;
    else this.choice.counts.scansWalked++;
    return next;
  }

  /** A timed scan's cost: `ms` spent producing `rows` rows as `turn` said. */
  scanned(turn: ScanTurn, ms: number, rows: number): void {
    this.scans.record(turn, ms, rows);
  }

  get stats(): AutoStats {
    return { ...this.choice.counts, sync: this.choice.sync, gathered: this.gathered.choice, scans: this.scans.choice };
  }

  /** Settles once no gathered batch is queued or running. */
  idle(): Promise<void> {
    return this.gathered.idle();
  }
}
