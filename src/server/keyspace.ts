// The database as the commands see it: binary keys and values in one xrpkv
// store, with what the server adds on top:
// - counters for INFO (lookups, hits, misses, writes);
// - a count of writes in flight, so FLUSHDB can wait for them, and a gate
//   that holds new writes back while FLUSHDB runs: its transaction then
//   starts from a commit holding every earlier write, and removes them all;
// - writes go to the store at once, in the order the commands run; the
//   store commits what a turn issued together, and packs a turn's plain
//   puts (SET) into one batch with one promise (db.put), which the
//   counters here follow as one, not once per SET;
// - after a commit fails (the store's handle then refuses writes), the
//   store is reopened once the writes in flight have settled and a delay
//   has passed: 1 s, doubling up to 30 s while commits keep failing (a
//   full disk), back to 1 s once one succeeds. Reopening is safe: it reads
//   what the disk holds (src/store/stale-cache.ts). Until then writes are
//   refused at once with the failure (`unwritable`), and reads go on. INFO
//   (and the image's health check) report the store writable only once a
//   commit has succeeded since the failure (`lastFailure`): a reopen on a
//   disk that is still full proves nothing;
// - SCAN's cursors: the store iterates in key order, so a cursor is the last
//   key a SCAN call examined, kept in a bounded table under a number (clients
//   parse cursors as unsigned integers). A scan resumes after that key, so
//   every key present for the whole scan is returned exactly once.
import type { BatchOp, Database } from '../store/db.js';
import { ReplyError, type Context, type DataContext } from './command-spec.js';
import { Data, type DataHooks } from './data.js';
import { globMatch, literalPrefix } from './glob.js';
import { PendingWrites } from './pending-writes.js';
import type { Reply } from './resp-writer.js';
import { PublishedView, TxnView } from './store-view.js';
import { Watches } from './transactions.js';

/** SCAN cursors kept; the oldest is forgotten past this (a SCAN with it then errs). */
const MAX_CURSORS = 10_000;
/** The first and the longest wait between attempts to reopen the store. */
const REOPEN_DELAY_MS = [1_000, 30_000] as const;

export class Keyspace implements DataHooks {
  lookups = 0;
  hits = 0;
  /** Writes acknowledged (durable). */
  writes = 0;
  /** Set while FLUSHDB runs: writes wait for it. */
  gate: Promise<void> | undefined;
  private inFlight = 0;
  /** The last store promise `track` saw, and how many writes share it (puts of one turn share one). */
  private tracked: { done: Promise<unknown>; count: number } | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly cursors = new Map<number, Buffer>();
  private nextCursor = 1;
  /** Why writes are refused now (a failed commit, or a failed reopen); undefined while the store takes them. */
  unwritable: Error | undefined;
  /** The last failed commit, until one succeeds after it. */
  lastFailure: Error | undefined;
  /** Times the store was reopened after a failed commit. */
  reopens = 0;
  /** Failed commits since the last one that succeeded: the next reopen waits longer for each. */
  private failures = 0;
  private recovering: Promise<void> | undefined;
  private stopped = false;
  private wakeOnStop: (() => void) | undefined;
  /** Writes of transactions not yet published, for the range reads of the ones after them (pending-writes.ts). */
  private readonly pending = new PendingWrites();
  private transactions = 0;
  /** WATCH's registry: writes tell it what they change. */
  readonly watches = new Watches();

  /** `reopen` opens the store again (the server's settings); without it a failed store stays failed. */
  constructor(
    public db: Database<Buffer, Buffer>,
    private readonly reopen?: () => Database<Buffer, Buffer>,
  ) {}

  /** `key`'s value, uncopied: valid until the next store call (a reply copies it at once). */
  get(key: Buffer): Buffer | undefined {
    const v = this.db.getBinaryFast(key);
    this.lookups++;
    if (v !== undefined) this.hits++;
    return v;
  }

  has(key: Buffer): boolean {
    return this.db.has(key);
  }

  count(): number {
    return this.db.count();
  }

  /**
   * Issues a write (`start` calls the store) and counts it in flight until it
   * settles. Its promise resolves once the write is durable.
   */
  write<T>(start: () => Promise<T>): Promise<T> {
    if (this.unwritable) return Promise.reject(this.unwritable);
    return this.track(start());
  }

  /** SET's put: it joins the turn's batch of puts, and returns that batch's promise. */
  put(key: Buffer, value: Buffer): Promise<void> {
    if (this.unwritable) return Promise.reject(this.unwritable);
    // Told as issued: the store applies it before anything issued later.
    this.watches.touch(key);
    return this.track(this.db.put(key, value));
  }

  /** MSET's puts, all or nothing: one store batch. */
  putAll(ops: BatchOp<Buffer, Buffer>[]): Promise<void> {
    if (this.unwritable) return Promise.reject(this.unwritable);
    for (const op of ops) this.watches.touch(op.key);
    return this.track(this.db.batch(ops));
  }

  /**
   * Runs `fn` in a store transaction of its own, on top of every write
   * issued before it; resolves with what it returns once its commit is
   * durable. If it throws, nothing it wrote is kept and the promise rejects.
   */
  transact<T>(fn: (view: TxnView) => T): Promise<T> {
    const owner = ++this.transactions;
    const done = this.write(() =>
      this.db.transaction((tx) => {
        try {
          return fn(new TxnView(tx, this.db, this.pending, owner, Date.now()));
        } catch (e) {
          // Its writes are discarded now: the transactions after it must not see them.
          this.pending.release(owner);
          throw e;
        }
      }),
    );
    const release = () => this.pending.release(owner);
    done.then(release, release);
    return done;
  }

  /** A write command's data: its transaction, with the client's protocol of now. */
  writing(ctx: Context, fn: (cmd: DataContext) => Reply): Promise<Reply> {
    const proto = ctx.client.proto;
    return this.transact((view) => fn({ ...ctx, proto, data: new Data(view, this) }));
  }

  /** A read command's data: the last published commit. */
  reading(ctx: Context): DataContext {
    return { ...ctx, proto: ctx.client.proto, data: new Data(new PublishedView(this.db, Date.now()), this) };
  }

  /** DataHooks: a transaction changed `key`. */
  touched(key: Buffer): void {
    this.watches.touch(key);
  }

  /** Stops reopening the store (the server is closing); resolves once no reopen runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeOnStop?.();
    await this.recovering;
  }

  /** After a failed commit: waits for the writes in flight and a delay, closes the failed handle, opens the store again until that works. */
  private async recover(): Promise<void> {
    const failed = this.db;
    const reopen = this.reopen!;
    this.unwritable = failed.writeError;
    this.lastFailure = failed.writeError;
    this.failures++;
    let delay = Math.min(REOPEN_DELAY_MS[0] * 2 ** (this.failures - 1), REOPEN_DELAY_MS[1]);
    console.error(`xrpkv serve: ${failed.writeError?.message}; reopening in ${delay / 1000} s`);
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    // Reads go on from the failed handle until it is closed, just before the reopen.
    await this.pause(delay);
    if (this.stopped) return;
    await failed.close().catch(() => undefined);
    for (;;) {
      try {
        this.db = reopen();
        this.unwritable = undefined;
        this.reopens++;
        const fellBack = this.db.recovery ? `; ${this.db.recovery.reason}` : '';
        console.error(`xrpkv serve: reopened ${failed.path} at txid ${this.db.stats().txid}; writes go on${fellBack}`);
        return;
      } catch (e) {
        this.unwritable = e as Error;
        delay = Math.min(2 * delay, REOPEN_DELAY_MS[1]);
        console.error(`xrpkv serve: cannot reopen ${failed.path} (${(e as Error).message}); trying again in ${delay / 1000} s`);
        await this.pause(delay);
        if (this.stopped) return;
      }
    }
  }

  /** Waits `ms`, or less if the server stops meanwhile. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakeOnStop = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Resolves once every write issued so far has settled (the store settles them in the order issued). */
  issuedSoFar(): Promise<void> {
    const last = this.tracked?.done;
    return last === undefined ? Promise.resolve() : last.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Counts a write in flight until `done` settles; a promise seen just before counts once more. */
  private track<T>(done: Promise<T>): Promise<T> {
    this.inFlight++;
    const last = this.tracked;
    if (last?.done === done) last.count++;
    else this.follow(done);
    return done;
  }

  /**
   * Starts a group of writes sharing `done`. Apart from `track`, whose
   * common case (a SET joining the group) then allocates nothing: a
   * function with closures allocates their context on every call.
   */
  private follow(done: Promise<unknown>): void {
    const group = { done, count: 1 };
    this.tracked = group;
    const settled = (ok: boolean) => {
      if (this.tracked === group) this.tracked = undefined;
      if (ok) {
        this.writes += group.count;
        this.failures = 0;
        this.lastFailure = undefined;
      }
      this.inFlight -= group.count;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      if (!ok && this.db.writeError && this.reopen && !this.recovering && !this.stopped) {
        this.recovering = this.recover().finally(() => (this.recovering = undefined));
      }
    };
    done.then(
      () => settled(true),
      () => settled(false),
    );
  }

  /** Removes every key in one commit (all or nothing); resolves once durable. */
  flush(): Promise<void> {
    const run = async () => {
      while (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.write(() =>
        this.db.transaction((tx) => {
          this.watches.touchAll((key) => tx.has(key));
          for (const { key } of this.db.getRange()) tx.remove(key);
        }),
      );
    };
    const done = run();
    const gate = done.then(
      () => undefined,
      () => undefined,
    );
    this.gate = gate;
    gate.then(() => {
      if (this.gate === gate) this.gate = undefined;
    });
    return done;
  }

  /** Up to `count` keys examined after `cursor`; the next cursor is 0 when the scan is complete. */
  scan(cursor: number, pattern: Buffer | undefined, count: number): { cursor: number; keys: Buffer[] } {
    let after: Buffer | undefined;
    if (cursor !== 0) {
      after = this.cursors.get(cursor);
      if (after === undefined) throw new ReplyError('ERR invalid cursor (unknown, or forgotten: xrpkv keeps the last 10000 SCAN cursors)');
    }
    const keys: Buffer[] = [];
    let last: Buffer | undefined;
    const complete = this.walk(after, pattern, count, (key, matches) => {
      last = key;
      if (matches) keys.push(key);
    });
    if (complete || last === undefined) return { cursor: 0, keys };
    const next = this.nextCursor++;
    if (this.nextCursor > Number.MAX_SAFE_INTEGER) this.nextCursor = 1;
    this.cursors.set(next, last);
    if (this.cursors.size > MAX_CURSORS) this.cursors.delete(this.cursors.keys().next().value!);
    return { cursor: next, keys };
  }

  /** Every key matching `pattern`, in key order. */
  keys(pattern: Buffer): Buffer[] {
    const keys: Buffer[] = [];
    this.walk(undefined, pattern, Infinity, (key, matches) => matches && keys.push(key));
    return keys;
  }

  /**
   * Visits up to `limit` keys after `after` (all from the start when
   * undefined), skipping those that cannot match `pattern`'s literal prefix;
   * returns whether no key that could match is left.
   */
  private walk(after: Buffer | undefined, pattern: Buffer | undefined, limit: number, visit: (key: Buffer, matches: boolean) => void): boolean {
    const { prefix, exact } = pattern ? literalPrefix(pattern) : { prefix: Buffer.alloc(0), exact: false };
    if (exact) {
      if ((after === undefined || Buffer.compare(prefix, after) > 0) && this.has(prefix)) visit(prefix, true);
      return true;
    }
    const start = after !== undefined && Buffer.compare(after, prefix) > 0 ? after : prefix;
    let seen = 0;
    for (const { key } of this.db.getRange({ start })) {
      if (after !== undefined && key.equals(after)) continue;
      if (!startsWith(key, prefix)) return true;
      if (seen === limit) return false;
      visit(key, pattern === undefined || globMatch(pattern, key));
      seen++;
    }
    return true;
  }
}

function startsWith(key: Buffer, prefix: Buffer): boolean {
  return key.length >= prefix.length && prefix.compare(key, 0, prefix.length) === 0;
}
