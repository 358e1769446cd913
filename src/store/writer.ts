// The write queue: every write issued in one event-loop turn commits in one
// transaction (a `setImmediate` after the turn), and its promise settles only
// once that commit is durable: written and synced by its protocol (pager.ts,
// `treeCommit` / `logCommit`). Writes issued while a commit is in flight
// form the next one.
//
// Commits are a pipeline of two: while one is being written and synced, the
// next is prepared on top of it (its reads see the one before, as they
// will once both are durable) and handed to the pager at once; its writes
// start on the libuv pool the moment the one before is on disk, with no
// trip through the event loop between them (pager.ts). Writes go to
// disk strictly in commit order, and a commit publishes (readers see it)
// and settles its promises only once durable; if one fails, every later
// one fails with it and writes nothing. A checkpoint is prepared only
// once everything before it has published, and nothing is prepared on top
// of it until it has.
//
// A commit goes one of two ways, and its builder hands back a prepared
// commit (commit.ts) either way. A small one goes to the log
// (log-commit.ts): its changes are appended as records, and the tree stays
// as it is. Any other (more than LOG_COMMIT_KEYS keys, or
// LOG_COMMIT_KEYS_SCATTERED when they do not rise, a value too long for a
// record, or a log grown past its limits) is a checkpoint: a tree
// transaction (tx.ts) that takes in the log's changes, then the commit's
// own, rewrites the changed pages copy-on-write and empties the log. Either
// way the commit is durable when its promises settle, and snapshots see all
// of it or none.
//
// The write lock (write-lock.ts) is taken before a commit is prepared and
// released once nothing is queued or in flight: a writer in another thread
// or process commits in between, and taking the lock brings this handle's
// state (and so `head`) up to its commits.
//
// A checkpoint runs in slices (pace.ts): the fold, the commit's operations
// (a large batch in key order: ops.ts) and the writing of its pages let the
// event loop turn every few milliseconds, so a commit of a million keys
// blocks no turn for long. Reads go on meanwhile (they see the last
// commit); writes queue for the next commit. A log commit runs in slices
// too, and the commit before it may publish between them (log-commit.ts).
//
// A log that fills is not folded by the commit that finds it full: a
// background fold (fold.ts) folds it as of the newest commit while later
// commits go on to the log, which may hold twice its bounds meanwhile, and
// then commits alone, with the next write. Writes wait only for that last
// step, or when the log is full even so. A commit that must rewrite the
// tree abandons the fold and folds the whole log itself; a fold that no
// write comes to land within IDLE_FOLD_MS is dropped. A page a fold needs
// that cannot be read (damage) turns background folds off: each checkpoint
// is then a write's, and it carries the keys it cannot fold over into the
// log it leaves (`checkpoint`), so the rest of the store goes on taking
// writes; a checkpoint that folds the whole log turns them on again.
import { WriteFailedError, WritesPendingError, isPageFailure } from '../errors.js';
import type { PreparedCommit } from './commit.js';
import { BackgroundFold, FOLD_SLICE_MS, FOLD_SLICE_UNITS, carried, fold } from './fold.js';
import { LOG_BYTES, prepareLogCommit } from './log-commit.js';
import { writeCommitSync } from './sync-commit.js';
import { LogTx } from './log-tx.js';
import type { Meta } from '../format/meta.js';
import { apply, applyPacked, applyWrites, keysRise, runTxn, type Op, type TxnOps, type TxnRun, type Writes } from './ops.js';
import { PackedOps } from './packed.js';
import { Pace, UNPACED, finish, paced, type Steps } from './pace.js';
import { Snapshot, type StoreState } from './snapshot.js';
import { WriteTx } from './tx.js';
import type { StagedPages } from './pager.js';
import type { WriteLock } from './write-lock.js';
import { LOG_LIMIT, logKeyBudget } from './log-budget.js';

export { LOG_LIMIT } from './log-budget.js';
/**
 * The most keys one commit may log. A larger commit rewrites the tree: it
 * dirties enough leaves that writing them costs about what its records
 * would, and logging it would only write its bytes twice (bulk loads).
 */
export const LOG_COMMIT_KEYS = 4096;
/**
 * The most keys one commit may log when they do not rise in the order they
 * were written (random writes: a server's pipelined MSETs, random
 * batches). Such a commit of a few thousand keys dirties nearly every leaf
 * of a tree of some tens of thousands, megabytes rewritten where its
 * records take a few hundred KiB.
 */
export const LOG_COMMIT_KEYS_SCATTERED = 16_384;
/** How long a folded log waits for a write to land it before it is dropped (dropFoldIfIdle). */
export const IDLE_FOLD_MS = 1000;


type Item =
  | { kind: 'ops'; ops: Op[] | PackedOps; resolve: (v: unknown) => void; reject: (e: unknown) => void }
  | { kind: 'txn'; fn: (tx: TxnOps) => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void; alone?: boolean };

/** What an item came to: its answer, or why it failed (then nothing of it is in the commit). */
type Outcome = { ok: boolean; value: unknown };
/** A prepared commit and its pages, ready for the pager. */
type Ready = { write: PreparedCommit; staged: StagedPages };

export class Writer {
  private queue: Item[] = [];
  /** Items in the queue that commit alone (`transaction`'s `alone`). */
  private alone = 0;
  private scheduled = false;
  /** The commit being prepared, if any (one at a time). */
  private preparing: Promise<void> | undefined;
  /** The last prepared commit's persist: each writes only after the one before has published. */
  private tail: Promise<void> = Promise.resolve();
  /** Prepared commits not yet published (or failed). */
  private unpublished = 0;
  /** A checkpoint is prepared and not yet published: nothing is prepared on top of it. */
  private barrier = false;
  /** The meta of the newest prepared commit (the published one when none is pending): what the next builds on. */
  private head: Meta;
  /** Items are being applied in this turn, by pump (before `preparing` is set) or commitSync. */
  private applying = false;
  /** Set by a failed write or sync: the file's state on disk is then unknown. */
  failed: WriteFailedError | undefined;
  /** Set while queued writes wait for the write lock. */
  private lockWait: Promise<void> | undefined;
  /** The background fold of a full log, until it commits (or is abandoned). */
  private folding: BackgroundFold | undefined;
  /** Set when a fold failed (a page it needs cannot be read): full logs are then checkpointed by the commit that finds them full, until one folds the whole log. */
  private foldsOff = false;
  /** Pending while a fold waits with nothing queued (dropFoldIfIdle). */
  private idleCheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: StoreState,
    private readonly lock: WriteLock,
    /** The txid of the oldest open snapshot, Infinity when none. */
    private readonly oldestSnapshot: () => number,
    /** Keys the log may hold; 0: every commit rewrites the tree; undefined: a share of the tree (log-budget.ts). */
    private readonly logLimit?: number,
  ) {
    this.commitLimit = Math.min(LOG_COMMIT_KEYS, logLimit ?? LOG_LIMIT);
    this.head = state.meta;
  }
  /** Keys one commit may log (0 when there is no log). */
  private readonly commitLimit: number;

  /** Queues `ops`; resolves with `remove`'s answer for a single remove, else undefined. */
  write(ops: Op[] | PackedOps): Promise<unknown> {
    return this.enqueue((resolve, reject) => ({ kind: 'ops', ops, resolve, reject }));
  }

  /**
   * Queues `fn` as a transaction. `alone`: in a commit of its own, prepared
   * once every commit before it has published, so that a snapshot `fn`
   * opens sees everything written before it (a clear: db.ts `clearAsync`).
   */
  transaction<T>(fn: (tx: TxnOps) => T, alone = false): Promise<T> {
    return this.enqueue((resolve, reject) => {
      if (alone) this.alone++;
      return { kind: 'txn', fn, resolve, reject, alone };
    }) as Promise<T>;
  }

  /** `write`, committed now: see commitSync. */
  writeSync(ops: Op[] | PackedOps): unknown {
    return this.commitSync((resolve, reject) => ({ kind: 'ops', ops, resolve, reject }));
  }

  /** `transaction`, committed now: see commitSync. `alone`: with nothing queued before it (WritesPendingError otherwise). */
  transactionSync<T>(fn: (tx: TxnOps) => T, alone = false): T {
    return this.commitSync((resolve, reject) => ({ kind: 'txn', fn, resolve, reject }), alone) as T;
  }

  /** Resolves when every queued write has committed (or failed). */
  async drain(): Promise<void> {
    for (;;) {
      this.pump();
      if (this.preparing) await this.preparing;
      else if (this.unpublished > 0) await this.tail;
      else if (this.lockWait) await this.lockWait.catch(() => undefined);
      else if (this.queue.length === 0) return;
    }
  }

  /** Whether a commit is being prepared or is in flight: the write lock is held, and the state is this writer's. */
  get committing(): boolean {
    return this.preparing !== undefined || this.unpublished > 0 || this.applying;
  }

  /** Whether nothing is queued, being prepared or in flight. */
  private get idle(): boolean {
    return !this.committing && this.queue.length === 0;
  }

  /** Fails every queued item with `e`. */
  private rejectQueued(e: unknown): void {
    this.alone = 0;
    this.queue.splice(0).forEach((item) => item.reject(e));
  }

  /** Takes the write lock now if it is free; false when a wait for it has begun (pump runs again once held). */
  private locked(): boolean {
    if (this.lock.held) return true;
    let waiting: Promise<void> | undefined;
    try {
      waiting = this.lock.take();
    } catch (e) {
      this.rejectQueued(e);
      return false;
    }
    if (waiting === undefined) {
      this.tookLock();
      return true;
    }
    this.lockWait ??= waiting.then(
      () => {
        this.lockWait = undefined;
        this.tookLock();
        this.pump();
      },
      (e: unknown) => {
        this.lockWait = undefined;
        this.rejectQueued(e);
      },
    );
    return false;
  }

  /**
   * The write lock is taken: the state is up to every commit, this writer's
   * or another's. A fold begun before (it goes on while the lock is free)
   * is abandoned if another writer has committed meanwhile: it folded a log
   * that is no longer the file's, reading a tree whose pages that writer
   * may have reused.
   */
  private tookLock(): void {
    if (this.state.meta !== this.head) this.abandonFold();
    this.head = this.state.meta;
  }

  /** Releases the write lock once nothing is queued or in flight. */
  private releaseIfIdle(): void {
    if (!this.idle) return;
    if (this.lock.held) this.lock.release();
    if (this.folding) this.dropFoldIfIdle();
  }

  /**
   * A fold lands only with a write (prepare), and holds its transaction's
   * pages in memory until then: one that finds no write for IDLE_FOLD_MS
   * is dropped, and the log is folded again when next found full.
   */
  private dropFoldIfIdle(): void {
    if (this.idleCheck) return;
    this.idleCheck = setTimeout(() => {
      this.idleCheck = undefined;
      if (!this.folding || !this.idle) return;
      if (this.folding.isFolded) this.abandonFold();
      else this.dropFoldIfIdle(); // still folding: look again
    }, IDLE_FOLD_MS);
    this.idleCheck.unref();
  }

  private enqueue(make: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => Item): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const p = new Promise<unknown>((resolve, reject) => this.queue.push(make(resolve, reject)));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        this.pump();
      });
    }
    return p;
  }

  /** Prepares the queued writes as the next commit, when the pipeline has room for one. */
  private pump(): void {
    if (this.preparing || this.queue.length === 0 || this.barrier || this.unpublished >= 2) return this.releaseIfIdle();
    // An item that commits alone waits for the commits before it to publish, and takes no other with it.
    const cut = this.alone > 0 ? this.queue.findIndex((item) => item.kind === 'txn' && item.alone) : -1;
    if (cut === 0 && this.unpublished > 0) return;
    if (!this.locked()) return;
    const items = cut < 0 ? this.queue.splice(0) : this.queue.splice(0, Math.max(cut, 1));
    if (cut === 0) this.alone--;
    for (const item of items) if (item.kind === 'ops' && item.ops instanceof PackedOps) item.ops.sealed = true;
    // The first slice of the commit's preparation (the log path's may be
    // all of it) runs before stage() returns, and so before `preparing` is
    // set: `applying` covers that, for commitSync.
    this.applying = true;
    let staged: Promise<void>;
    try {
      staged = this.stage(items);
    } finally {
      this.applying = false;
    }
    this.preparing = staged.finally(() => {
      this.preparing = undefined;
      this.pump();
    });
  }

  /**
   * Prepares `items` as a commit, hands its writes to the pager at once (they
   * start on the pool once the commit before is on disk), and puts its
   * publication at the end of the pipeline.
   */
  private async stage(items: Item[]): Promise<void> {
    if (this.failed) return items.forEach((item) => item.reject(this.failed));
    const outcomes: Outcome[] = [];
    let ready: Ready | undefined;
    try {
      ready = await this.prepare(items, outcomes);
    } catch (e) {
      // A failure that is no one item's (a page the log's fold into the tree
      // needs cannot be read, or a commit before it failed): nothing of this
      // commit is written.
      return items.forEach((item) => item.reject(e));
    }
    this.launch(ready, items, outcomes);
  }

  /**
   * Hands a prepared commit's writes to the pager at once (they start on
   * the pool once the commit before is on disk), and puts its publication,
   * and the settling of its items, at the end of the pipeline.
   */
  private launch(ready: Ready | undefined, items: Item[], outcomes: Outcome[]): void {
    let written: Promise<unknown> | undefined;
    const write = ready?.write;
    if (ready && write) {
      this.head = write.meta;
      if (write.protocol === 'tree') this.barrier = true;
      // Written before the commit before it has published: safe, because
      // only a log commit has a commit prepared on top of it, and a log
      // commit frees no page, so this one's pages are ones no snapshot,
      // published or not, can reach. The error, if any, is taken by persist.
      const { pager } = this.state;
      const writing = write.protocol === 'tree' ? pager.treeCommit(ready.staged, write.meta) : pager.logCommit(ready.staged, write.meta);
      written = writing.then(
        () => undefined,
        (e: unknown) => e ?? new Error('the commit failed'),
      );
    }
    this.unpublished++;
    this.tail = this.tail.then(() => this.persist(write, written, items, outcomes));
  }

  /** Waits for a prepared commit's writes (the one before it has published), publishes it and settles its items. */
  private async persist(write: PreparedCommit | undefined, written: Promise<unknown> | undefined, items: Item[], outcomes: { ok: boolean; value: unknown }[]): Promise<void> {
    try {
      if (this.failed) return items.forEach((item) => item.reject(this.failed));
      if (write) {
        // The commit's writes and syncs: one job on the libuv pool.
        const error = await written;
        if (error !== undefined) {
          this.failed = new WriteFailedError(this.state.path, error);
          return items.forEach((item) => item.reject(this.failed));
        }
        // Published: snapshots opened from now on see the commit, and readers elsewhere next.
        write.publish();
        this.lock.published(write.meta.txid);
      }
      items.forEach((item, i) => (outcomes[i].ok ? item.resolve(outcomes[i].value) : item.reject(outcomes[i].value)));
    } finally {
      this.unpublished--;
      if (write?.protocol === 'tree') this.barrier = false;
      this.pump();
    }
  }

  /**
   * Runs `items` (their outcomes go to `outcomes`) and lists what to write;
   * undefined when nothing changed. An item that needs a page that cannot
   * be read fails alone (`applyItems`); the others are committed.
   */
  private async prepare(items: Item[], outcomes: Outcome[]): Promise<Ready | undefined> {
    const runs: (TxnRun | undefined)[] = [];
    for (;;) {
      // A folded log commits first, alone, in this slot: only while writes
      // are being prepared, so that a synchronous write never meets it in
      // flight (commitSync) when every write before has settled.
      if (this.folding?.isFolded) {
        await this.foldCommitted(this.folding);
        continue;
      }
      const logPace = new Pace();
      const logged = await paced(this.logStaged(items, outcomes, runs, logPace), logPace);
      if (logged !== 'checkpoint' && logged !== 'full') return logged;
      if (logged === 'full' && this.startFold()) continue; // the log has room again while it folds
      const folding = this.folding;
      if (logged === 'full' && folding) {
        // Full even so: the fold must land first.
        await this.foldCommitted(folding);
        continue;
      }
      break;
    }
    // A checkpoint, of the whole log: a fold of part of it is moot.
    this.abandonFold();
    // Once every commit before it has published (what the log path read
    // above is what they publish).
    await this.tail;
    if (this.failed) throw this.failed;
    const pace = new Pace();
    return paced(this.checkpointStaged(items, outcomes, runs, pace), pace);
  }

  /** A log commit (`prepareLog`) with its pages staged; 'checkpoint' or 'full' when the log cannot take `items`. */
  private *logStaged(items: Item[], outcomes: Outcome[], runs: (TxnRun | undefined)[], pace: Pace): Steps<Ready | undefined | 'checkpoint' | 'full'> {
    const write = yield* this.prepareLog(items, outcomes, runs, pace);
    return write === 'checkpoint' || write === 'full' || write === undefined ? write : yield* this.staged(write, pace);
  }

  /**
   * Starts folding the log as of the newest commit (fold.ts), unless a fold
   * runs or folds are off; whether one started. Its slices run beside the
   * log commits; once folded, the next commit prepared lands it first.
   */
  private startFold(): boolean {
    if (this.folding || this.foldsOff || this.failed) return false;
    const folding = new BackgroundFold(this.state, this.head, this.oldestSnapshot());
    this.folding = folding;
    const pace = new Pace(FOLD_SLICE_UNITS, FOLD_SLICE_MS);
    folding.folded = paced(folding.steps(pace), pace).then(
      () => {
        folding.isFolded = true;
      },
      () => {
        if (this.folding !== folding) return;
        this.folding = undefined;
        // A page the fold needs cannot be read: the checkpoints from now on
        // are the writes' own (`checkpoint`), which leave in the log the keys
        // they cannot fold. Unless the lock was free: then another writer
        // may have reused the page.
        if (this.lock.held) this.foldsOff = true;
      },
    );
    return true;
  }

  /** Stops a running fold and waits for its last slice (closing). */
  async stopFolding(): Promise<void> {
    const folding = this.folding;
    this.abandonFold();
    clearTimeout(this.idleCheck);
    this.idleCheck = undefined;
    await folding?.folded;
  }

  /** Stops a running fold: a checkpoint of the whole log is about to be prepared. */
  private abandonFold(): void {
    if (this.folding) this.folding.abandoned = true;
    this.folding = undefined;
  }

  /**
   * Commits `folding` once it has folded, on top of every commit before it
   * (all published first), prepared alone (the caller holds the slot a
   * commit is prepared in), and waits until it has published. A fold that
   * failed or was abandoned commits nothing; one whose commit fails to
   * prepare (a page it needs cannot be read) turns folds off, and the next
   * checkpoint meets the page with writes, as any checkpoint would.
   */
  private async foldCommitted(folding: BackgroundFold): Promise<void> {
    await folding.folded;
    if (this.folding !== folding) return;
    await this.tail;
    if (this.failed) throw this.failed;
    this.folding = undefined;
    const pace = new Pace();
    let ready: Ready;
    try {
      ready = await paced(this.foldStaged(folding, pace), pace);
    } catch (e) {
      if (!isPageFailure(e)) throw e;
      this.foldsOff = true;
      return;
    }
    this.launch(ready, [], []);
    await this.tail;
    if (this.failed) throw this.failed;
  }

  /** `folding`'s commit with its pages staged. */
  private *foldStaged(folding: BackgroundFold, pace: Pace): Steps<Ready> {
    return yield* this.staged(yield* folding.commit(this.head, this.oldestSnapshot(), pace), pace);
  }



  /** A checkpoint (`checkpoint`) with its pages staged. */
  private *checkpointStaged(items: Item[], outcomes: Outcome[], runs: (TxnRun | undefined)[], pace: Pace): Steps<Ready | undefined> {
    const write = yield* this.checkpoint(items, outcomes, runs, pace);
    return write && (yield* this.staged(write, pace));
  }

  /** `write` with its pages handed to the addon (`Pager.stage`), in slices of `pace`. */
  private *staged(write: PreparedCommit, pace: Pace): Steps<Ready> {
    return { write, staged: yield* this.state.pager.stage(write.pages, pace) };
  }

  /**
   * `items` as a log commit, in slices of `pace`; 'checkpoint' when they
   * need a tree commit, 'full' when the log cannot take them now.
   */
  private *prepareLog(items: Item[], outcomes: Outcome[], runs: (TxnRun | undefined)[], pace: Pace): Steps<PreparedCommit | undefined | 'checkpoint' | 'full'> {
    const { state } = this;
    const count = opCount(items);
    const limit = this.commitLimitFor(items, count);
    // An empty log takes any commit small enough to log, whatever the budget.
    let logKeys = Math.max(this.logKeys(), state.overlay.size === 0 ? limit : 0);
    if (!(logKeys > 0 && count <= limit)) return 'checkpoint';
    // While a fold runs, the log may hold what it folds and as much again.
    const folding = this.folding;
    logKeys += folding?.keys ?? 0;
    const logBytes = LOG_BYTES + (folding?.logPages ?? 0) * state.pageSize;
    if (state.overlay.size + count > logKeys) return 'full';
    let log: LogTx;
    do log = new LogTx(new Snapshot(state, this.head), count);
    while (!(yield* applyItems(log, items, outcomes, runs, pace)));
    return yield* prepareLogCommit(state, this.head, log, { commitKeys: limit, logKeys, logBytes, oldestSnapshot: this.oldestSnapshot(), alsoInto: folding?.left }, pace);
  }

  /**
   * `items` as a tree commit: the log's changes first, then theirs, their
   * transactions' writes as they ran before. A logged key whose page cannot
   * be read (a damaged leaf) stays in the log the commit leaves, and every
   * other key goes into the tree: one bad page must not stop every
   * checkpoint, and so every write, once the log is full.
   */
  private *checkpoint(items: Item[], outcomes: Outcome[], runs: (TxnRun | undefined)[], pace: Pace): Steps<PreparedCommit | undefined> {
    const { state } = this;
    for (;;) {
      const tx = new WriteTx(state, this.oldestSnapshot(), state.overlay.delta);
      const versions = state.overlay.newest();
      const unfolded: number[] = [];
      yield* fold(versions, tx, pace, undefined, unfolded);
      tx.discard(state.logPages);
      if (yield* applyItems(tx, items, outcomes, runs, pace)) {
        // Every page the log needed was read (a failed read that does not
        // recur, a page written anew): full logs may fold in the background again.
        if (unfolded.length === 0) this.foldsOff = false;
        const log = carried(versions, unfolded);
        return tx.changed || log.length > 0 ? yield* tx.commit(pace, undefined, log) : undefined;
      }
    }
  }

  /**
   * Commits `own` now, in this turn, with the writes queued before it: they
   * go first, in the order issued, in the same commit, and their promises
   * settle with it. Returns `own`'s answer once the commit is durable (by
   * the same protocol as an asynchronous one: sync-commit.ts), or throws
   * why it failed. A commit already handed to the disk cannot be waited
   * for synchronously, and going ahead of it would reorder writes: then
   * this throws WritesPendingError and nothing is queued (await
   * `drain()`, the database's `flushed`, first).
   */
  commitSync(make: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => Item, alone = false): unknown {
    if (this.failed) throw this.failed;
    // `applying`: called from a transaction callback of a commit being
    // prepared, which this one would build beside, not on top of.
    // A queued item that commits alone must not join this one; nor may queued items join one that does (`transactionSync`).
    if (this.preparing || this.unpublished > 0 || this.applying || this.alone > 0 || (alone && this.queue.length > 0)) {
      throw new WritesPendingError(this.state.path);
    }
    if (!this.lock.held) {
      this.lock.takeSync();
      this.tookLock();
    }
    this.applying = true;
    try {
      return this.commitNow(make);
    } finally {
      this.applying = false;
      this.releaseIfIdle();
    }
  }

  /** commitSync's commit, once it may run. */
  private commitNow(make: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => Item): unknown {
    let outcome: Outcome | undefined;
    const own = make(
      (value) => (outcome = { ok: true, value }),
      (value) => (outcome = { ok: false, value }),
    );
    const items = this.queue.splice(0);
    items.push(own);
    for (const item of items) if (item.kind === 'ops' && item.ops instanceof PackedOps) item.ops.sealed = true;
    const outcomes: Outcome[] = [];
    let write: PreparedCommit | undefined;
    try {
      const runs: (TxnRun | undefined)[] = [];
      const logged = finish(this.prepareLog(items, outcomes, runs, UNPACED));
      if (logged === 'checkpoint' || logged === 'full') {
        this.abandonFold();
        write = finish(this.checkpoint(items, outcomes, runs, UNPACED));
      } else {
        write = logged;
      }
    } catch (e) {
      items.forEach((item) => item.reject(e));
      throw e;
    }
    if (write) {
      try {
        writeCommitSync(this.state.pager, write);
      } catch (e) {
        this.failed = new WriteFailedError(this.state.path, e);
        items.forEach((item) => item.reject(this.failed));
        throw this.failed;
      }
      this.head = write.meta;
      write.publish();
      this.lock.published(write.meta.txid);
    }
    items.forEach((item, i) => (outcomes[i].ok ? item.resolve(outcomes[i].value) : item.reject(outcomes[i].value)));
    if (!outcome!.ok) throw outcome!.value;
    return outcome!.value;
  }

  /** Keys the log may hold after the next commit. */
  private logKeys(): number {
    return logKeyBudget(this.logLimit, this.head, this.state.freelist.size, this.commitLimit);
  }

  /**
   * The most keys the log may take from `items` (`count` keys named): more
   * when their keys do not rise, which only batches of known keys can show.
   */
  private commitLimitFor(items: Item[], count: number): number {
    const scattered = Math.min(LOG_COMMIT_KEYS_SCATTERED, this.logLimit ?? LOG_LIMIT);
    if (count <= this.commitLimit || count > scattered) return this.commitLimit;
    const batches: (Op[] | PackedOps)[] = [];
    for (const item of items) {
      if (item.kind !== 'ops') return this.commitLimit;
      batches.push(item.ops);
    }
    return keysRise(batches) ? this.commitLimit : scattered;
  }
}

/**
 * Applies `items` to `tx` in order, each all or nothing, and sets their
 * outcomes. An item that needs a page that cannot be read (damaged, or a
 * read the system refused) fails alone: an operation of an `independent`
 * batch (db.put's) leaves nothing behind (ops.ts applyPacked), so the others go on;
 * any other item may have changed `tx` part way, so this returns false and
 * the caller applies them all again to a new transaction, where the failed
 * item is skipped. A transaction's callback runs once; `runs` keeps what it
 * wrote for the applications after. What ran after a write that has since
 * failed (on the log it may need no page the tree then does) saw that
 * write, so its outcome is dropped and it runs again.
 */
function* applyItems(tx: Writes, items: Item[], outcomes: Outcome[], runs: (TxnRun | undefined)[], pace: Pace): Steps<boolean> {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (outcomes[i]?.ok === false) continue;
    try {
      if (item.kind === 'txn') {
        let run = runs[i];
        if (run === undefined) {
          const ran = runTxn(tx, item.fn);
          if (!ran.ok) {
            outcomes[i] = { ok: false, value: ran.error };
            continue;
          }
          run = runs[i] = ran.run;
        }
        yield* applyWrites(tx, run, pace);
        outcomes[i] = { ok: true, value: run.value };
      } else if (item.ops instanceof PackedOps && item.ops.independent) {
        if ((yield* applyPacked(tx, item.ops, pace)) > 0) forgetAfter(i, outcomes, runs);
        outcomes[i] = { ok: true, value: undefined };
      } else {
        outcomes[i] = { ok: true, value: yield* apply(tx, item.ops, pace) };
      }
    } catch (e) {
      if (!isPageFailure(e)) throw e;
      outcomes[i] = { ok: false, value: e };
      forgetAfter(i, outcomes, runs);
      return false;
    }
  }
  return true;
}

/** Drops what the items after item `i` came to, and their callbacks' writes: they run again. */
function forgetAfter(i: number, outcomes: Outcome[], runs: (TxnRun | undefined)[]): void {
  if (outcomes.length > i + 1) outcomes.length = i + 1;
  if (runs.length > i + 1) runs.length = i + 1;
}

/** Keys the items' operations name (a transaction's are not known before it runs). */
function opCount(items: Item[]): number {
  let n = 0;
  for (const item of items) if (item.kind === 'ops') n += item.ops instanceof PackedOps ? item.ops.count : item.ops.length;
  return n;
}
