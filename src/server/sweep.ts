// Redis's active expiry, on the store, and the removal of the members that
// a DEL (or an overwrite, or an expiry) of a large collection left behind.
// Every 100 ms (Redis's hz 10), when the published counters hold keys with
// a deadline or orphaned members, the sweep looks at the expiry index and
// the orphan list (layout.ts) of the last published commit; if either has
// work, it runs one bounded transaction for it, and goes on at once while
// there is more, up to SLICES transactions a tick. Each transaction
// re-checks in the transaction what it read (a key may have been given a
// new deadline meanwhile), so the sweep only ever removes what is expired
// or unreachable. Reads never wait for it: a key past its deadline is
// invisible from that moment (data.ts).
import { Data, spacesOf, take } from './data.js';
import { EXPIRY_START, ORPHAN_END, ORPHAN_START, expiryEnd, fromExpiryKey, fromOrphan, orphanKey, type Meta } from './layout.js';
import type { Keyspace } from './keyspace.js';
import { PublishedView } from './store-view.js';

const TICK_MS = 100;
/** Keys one expiry transaction looks at. */
const EXPIRE_BATCH = 64;
/** Member records one orphan transaction removes. */
const ORPHAN_BATCH = 1024;
/** Transactions one tick may run, one after the other. */
const SLICES = 8;

export class Sweep {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly keyspace: Keyspace) {}

  start(): void {
    this.timer ??= setInterval(() => this.tick(), TICK_MS).unref();
  }

  /** Stops ticking; resolves once the tick in progress, if any, is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** Runs one tick now (tests; the timer calls it too); resolves when it is done. */
  tick(): Promise<void> {
    if (this.running || this.stopped) return this.running ?? Promise.resolve();
    this.running = this.slices().finally(() => (this.running = undefined));
    return this.running;
  }

  private async slices(): Promise<void> {
    for (let i = 0; i < SLICES && !this.stopped; i++) {
      const ks = this.keyspace;
      if (ks.unwritable || ks.gate) return;
      // Nothing to look for (the published counters say so): no range read,
      // which would cost an ordering of the store's whole log (overlay) each tick.
      if (ks.counters.expiring === 0 && ks.counters.orphans === 0) return;
      const view = new PublishedView(ks.db, Date.now());
      const expired = [...take(view.range(EXPIRY_START, expiryEnd(view.now)), EXPIRE_BATCH)].map(([record]) => fromExpiryKey(record).key);
      const [orphan] = expired.length === 0 ? [...take(view.range(ORPHAN_START, ORPHAN_END), 1)] : [];
      if (expired.length === 0 && orphan === undefined) return;
      try {
        if (expired.length > 0) await ks.transactData((data) => expired.forEach((key) => data.find(key)));
        else await ks.transactData((data) => removeOrphans(data, orphan![0], orphan![1]));
      } catch {
        return; // a failed commit: the keyspace reopens the store; the next tick tries again
      }
      if (expired.length > 0 && expired.length < EXPIRE_BATCH) return;
    }
  }
}

/** Removes up to ORPHAN_BATCH records of the orphaned members named by an orphan record, and the record once none is left. */
function removeOrphans(data: Data, record: Buffer, value: Buffer): void {
  const { version, type, key } = fromOrphan(record, value);
  const meta: Meta = { type, deadline: 0, version, size: 0, head: 0, tail: 0 };
  let removed = 0;
  for (const space of spacesOf(type)) if (removed < ORPHAN_BATCH) removed += data.removeMembers(key, meta, space, ORPHAN_BATCH - removed);
  data.change('orphans', -removed);
  // None of this key's left (fewer than a batch), or none of any key's: the record goes, or no later tick would look at it.
  if (removed < ORPHAN_BATCH || data.loadCounters().orphans === 0) data.removeMember(orphanKey(version));
}
