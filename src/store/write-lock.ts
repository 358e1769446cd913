// The write lock as the write queue (writer.ts) takes it: once it has
// writes to commit, and released once none is queued or in flight, so that
// writers in other threads and processes take turns (the lock itself is an
// flock on the database file: reader-table.ts). An asynchronous writer
// never blocks the event loop for it: it tries, and while another handle
// holds it, tries again on a timer, backing off from 1 ms to 4 ms, its
// slot flagged as waiting. A writer that finds another waiting does not
// take the lock straight away (it would always win the race against a
// timer, and starve the others): it joins the wait, and the waiters take
// turns by their timers. A synchronous commit (putSync, transactionSync)
// blocks until the lock is free.
//
// Invariant: whoever holds it has brought its state up to the newest
// commit on disk first (`take` in db.ts), so each commit builds on the last
// one any handle made.

/** How the lock is taken and released (db.ts, over the reader table). */
export interface WriteLockSource {
  /** Takes the lock without waiting and catches up; false when another handle holds it. */
  tryTake(): boolean;
  /** Whether another handle waits for the lock. */
  othersWaiting(): boolean;
  /** Flags this handle as waiting for the lock, or not. */
  waiting(on: boolean): void;
  /** Takes the lock, blocking the thread, and catches up. */
  takeSync(): void;
  release(): void;
  /** A commit of `txid` is durable and published here: readers everywhere may move to it. */
  published(txid: number): void;
}

const FIRST_WAIT_MS = 1;
const LONGEST_WAIT_MS = 4;

export class WriteLock {
  held = false;
  /** Resolves once the lock is held, while a wait is on. */
  private waiting: Promise<void> | undefined;

  constructor(private readonly source: WriteLockSource) {}

  /** Takes the lock now if it is free (undefined), else a promise that resolves once it is held. */
  take(): Promise<void> | undefined {
    if (this.held) return undefined;
    if (this.waiting === undefined && !this.source.othersWaiting() && this.tryNow()) return undefined;
    this.waiting ??= new Promise<void>((resolve, reject) => {
      let wait = FIRST_WAIT_MS;
      this.source.waiting(true);
      const retry = () => {
        try {
          if (this.held || this.tryNow()) {
            this.waiting = undefined;
            return resolve();
          }
        } catch (e) {
          this.waiting = undefined;
          this.source.waiting(false);
          return reject(e);
        }
        wait = Math.min(wait * 2, LONGEST_WAIT_MS);
        setTimeout(retry, wait);
      };
      setTimeout(retry, wait);
    });
    return this.waiting;
  }

  private tryNow(): boolean {
    this.held = this.source.tryTake();
    return this.held;
  }

  takeSync(): void {
    if (this.held) return;
    this.source.takeSync();
    this.held = true;
  }

  release(): void {
    if (!this.held) return;
    this.held = false;
    this.source.release();
  }

  published(txid: number): void {
    this.source.published(txid);
  }
}
