// What a handle's reader slot (reader-table.ts) holds: the oldest txid the
// handle may still read. That is the oldest of its registered snapshots
// (snapshot.ts `Snapshots`) and, while synchronous reads run, the txid the
// first of them pinned.
//
// A pin lasts until the microtask queue next runs, i.e. to the end of the
// synchronous code that read: a burst of reads in one callback (the
// server's pipelined GETs, a loop of getSync) pins and catches up with other
// handles' commits once, not three native calls per read. lmdb-js keeps its
// read transaction for a turn the same way. Reads in that burst see this
// handle's own commits at once (they move its state), and other processes'
// commits from the next burst on.
//
// Invariant: while a read may run, the slot holds a txid at or below the
// one its snapshot reads (the pin is taken before catching up, and a
// snapshot registered meanwhile never raises the slot above the pin).
import type { ReaderTable } from './reader-table.js';

export class ReadPins {
  /** The txid pinned for the running burst; undefined when none is. */
  private pinned: number | undefined;
  /** The oldest registered snapshot's txid; Infinity when none is open. */
  private registered = Infinity;
  /** Whether the running burst has caught up with other handles' commits. */
  caughtUp = false;
  private ending = false;

  constructor(private readonly table: () => ReaderTable | undefined) {}

  /**
   * Pins a txid for the running burst: the published one, or, when a
   * registered snapshot holds the slot, that snapshot's (older, so it
   * protects as much; and the burst keeps it should the snapshot be
   * released before the burst ends). The burst ends, and the pin is
   * released, when the microtask queue next runs.
   */
  begin(): void {
    if (this.pinned === undefined) {
      if (this.registered !== Infinity) this.pinned = this.registered;
      else this.pinned = this.table()?.pin();
    }
    if (!this.ending) {
      this.ending = true;
      queueMicrotask(this.end);
    }
  }

  /** The registered snapshots' oldest txid changed (`Snapshots`' callback). */
  registeredChanged(oldest: number): void {
    this.registered = oldest;
    this.table()?.hold(Math.min(oldest, this.pinned ?? Infinity));
  }

  private readonly end = (): void => {
    this.ending = false;
    this.caughtUp = false;
    if (this.pinned === undefined) return;
    this.pinned = undefined;
    this.table()?.hold(this.registered);
  };
}
