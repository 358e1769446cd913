// The database as the commands see it: binary keys and values in one xrpkv
// store, with what the server adds on top:
// - counters for INFO (lookups, hits, misses, writes);
// - a count of writes in flight, so FLUSHDB can wait for them, and a gate
//   that holds new writes back while FLUSHDB runs: its transaction then
//   starts from a commit holding every earlier write, and removes them all;
// - writes go to the store at once, in the order the commands run; the
//   store commits what a turn issued together, and packs a turn's plain
//   puts (SET) into one batch (db.putJoined: the batch answers them, each
//   put's failure its own: a put that needs a damaged page fails alone);
// - the data-type writes of a turn (every write command but a plain SET, an
//   MSET and EXEC) join one transaction, a write group (write-group.ts),
//   which every other write issued closes: the counters count each command;
// - after a commit fails (the store's handle then refuses writes), the
//   store is reopened once the writes in flight have settled and a delay
//   has passed: 1 s, doubling up to 30 s while commits keep failing (a
//   full disk), back to 1 s once one succeeds. Reopening is safe: it reads
//   what the disk holds (src/store/stale-cache.ts). Until then writes are
//   refused at once with the failure (`unwritable`), and reads go on. INFO
//   (and the image's health check) report the store writable only once a
//   commit has succeeded since the failure (`lastFailure`): a reopen on a
//   disk that is still full proves nothing;
// - the data layer's view of it (data.ts): reads see the last published
//   commit, writes run in transactions (`transactData`), whose counters
//   (layout.ts, Counters) are followed here as they publish, so that the
//   fast paths know when the database holds no metadata record at all;
// - a plain SET is a blind put of the raw record only when that cannot
//   leave a metadata record of the key behind: none is published for it,
//   and no transaction naming the key is in flight (`inFlightKeys`);
//   otherwise it runs as a transaction (layout.ts: a key is one record);
// - the sweep (sweep.ts) of expired keys and of the members of deleted ones.
import { BlockedClients } from './blocked.js';
import type { BatchOp, Database, KnownTransaction } from '../store/db.js';
import type { JoinedPuts } from '../store/joined-puts.js';
import { maxKeyLen } from '../format/page.js';
import type { Client, Context, DataContext, TimedCommand } from './command-spec.js';
import { ScanCursors } from './cursors.js';
import { Data, type DataHooks } from './data.js';
import { COUNTERS_KEY, NO_COUNTERS, decodeCounters, isReserved, metaKey, type Counters } from './layout.js';
import { PendingWrites } from './pending-writes.js';
import type { Reply } from './resp-writer.js';
import { PublishedView, TxnView } from './store-view.js';
import { Sweep } from './sweep.js';
import { Tracking } from './tracking.js';
import { Watches } from './transactions.js';
import { WriteGroup, type GroupCommand } from './write-group.js';

/** Writes sharing one store promise: how many, and how many of them failed on their own (a command of a write group). */
interface Tracked {
  done: Promise<unknown>;
  count: number;
  failed: number;
}

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
  private tracked: Tracked | undefined;
  private idleWaiters: (() => void)[] = [];
  /** Clients blocked on lists (BLPOP...), woken by the writes that touch their keys. */
  readonly blocked = new BlockedClients();
  /** SCAN's (and HSCAN's, SSCAN's, ZSCAN's) cursors. */
  readonly cursors = new ScanCursors();
  /** Why writes are refused now (a failed commit, or a failed reopen); undefined while the store takes them. */
  unwritable: Error | undefined;
  /** The last failed commit, until one succeeds after it. */
  lastFailure: Error | undefined;
  /** Times the store was reopened after a failed commit. */
  reopens = 0;
  /** When the last commit became durable, or the keyspace opened (ms since the epoch; LASTSAVE). */
  lastDurableAt = Date.now();
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
  /** CLIENT TRACKING's clients and keys (tracking.ts); told of changes once they are durable. */
  readonly tracking = new Tracking((id) => this.clientById(id));
  /** The server's client with that id (server.ts sets it). */
  clientById: (id: number) => Client | undefined = () => undefined;
  /** The client whose command runs on the data now (write-group.ts, EXEC), for NOLOOP; undefined: the server's own work. */
  modifier: Client | undefined;
  /** Keys changed by the transaction running now, and by whom, while any client tracks. */
  private changedKeys: [Buffer, Client | undefined][] = [];
  /** The counters of the last published commit. */
  counters: Readonly<Counters> = NO_COUNTERS;
  /** Keys removed at their deadline since the server started (INFO's expired_keys). */
  expiredKeys = 0;
  /** Keys named by transactions in flight, with how many: a plain SET of one of them cannot be a blind put. */
  private readonly inFlightKeys = new Map<string, number>();
  /** Writes in flight that may change keys they did not name (`anyKeyUntil`). */
  private scriptsInFlight = 0;
  readonly sweep: Sweep;
  /** The turn's group of data-type writes (write-group.ts), until it runs or another write is issued. */
  private openGroup: WriteGroup | undefined;
  /** Commands handed to a write group that times them (their work marked `timedAs`): a session that sees this move does not time that command again. */
  timedJoins = 0;

  /** `reopen` opens the store again (the server's settings); without it a failed store stays failed. */
  constructor(
    public db: Database<Buffer, Buffer>,
    private readonly reopen?: () => Database<Buffer, Buffer>,
  ) {
    this.counters = this.storedCounters();
    this.sweep = new Sweep(this);
  }

  private storedCounters(): Counters {
    return decodeCounters(this.db.getSync(COUNTERS_KEY));
  }

  /**
   * GET's value: a raw string record's bytes, uncopied (valid until the next
   * store call; a reply copies them at once), else what the data layer finds.
   */
  get(key: Buffer): Buffer | undefined {
    if (!isReserved(key)) {
      const v = this.db.getBinaryFast(key);
      // No raw record and no metadata record (none at all, none of this key, or a key too long for one): a miss, in one lookup or two.
      if (v !== undefined || this.counters.metas === 0 || key.length + 2 > this.maxKeyLength || !this.db.has(metaKey(key))) {
        this.looked(v !== undefined);
        return v;
      }
    }
    return new Data(new PublishedView(this.db, Date.now()), this).string(key);
  }

  /** Keys in the last published commit (metadata records count once, members not at all). */
  count(): number {
    return this.db.count() - this.storedCounters().internal;
  }

  // ---- DataHooks ------------------------------------------------------------------

  touched(key: Buffer): void {
    this.watches.touch(key);
    this.blocked.touched(key);
    if (this.tracking.active) this.changedKeys.push([key, this.modifier]);
  }

  /** CONFIG RESETSTAT: lookups, hits, misses and expired keys count from now. */
  resetStats(): void {
    this.lookups = 0;
    this.hits = 0;
    this.expiredKeys = 0;
  }

  ready(key: Buffer): void {
    this.blocked.touched(key);
  }

  looked(hit: boolean): void {
    this.lookups++;
    if (hit) this.hits++;
  }

  get mayHaveMetas(): boolean {
    return this.counters.metas > 0;
  }

  get maxKeyLength(): number {
    return maxKeyLen(this.db.pageSize);
  }

  /** Whether SET `key` may be a blind put of its raw record (see the top of this file). */
  plainPut(key: Buffer): boolean {
    if (isReserved(key)) return false;
    if (this.scriptsInFlight > 0) return false;
    if (this.inFlightKeys.size > 0 && this.inFlightKeys.has(key.toString('latin1'))) return false;
    // A key too long for a metadata record has none (data.ts); the put itself refuses one too long for any record.
    return this.counters.metas === 0 || key.length + 2 > this.maxKeyLength || !this.db.has(metaKey(key));
  }

  /**
   * Issues a write (`start` calls the store) and counts it in flight until it
   * settles. Its promise resolves once the write is durable.
   */
  write<T>(start: () => Promise<T>): Promise<T> {
    if (this.unwritable) return Promise.reject(this.unwritable);
    return this.track(start());
  }

  /**
   * SET's put: it joins the turn's batch of puts, which answers it
   * (JoinedPuts); undefined while writes are refused (the caller then runs
   * the SET on the data, which says why).
   */
  putJoined(key: Buffer, value: Buffer, by?: Client): JoinedPuts | undefined {
    if (this.unwritable) return undefined;
    // Told as issued: the store applies it before anything issued later.
    this.watches.touch(key);
    this.openGroup = undefined;
    const joined = this.db.putJoined(key, value);
    this.track(joined.done, joined);
    if (this.tracking.active) this.tellWhenDurable(joined.done, [[key, by]]);
    return joined;
  }

  /** MSET's puts, all or nothing: one store batch. */
  putAll(ops: BatchOp<Buffer, Buffer>[], by?: Client): Promise<void> {
    if (this.unwritable) return Promise.reject(this.unwritable);
    for (const op of ops) this.watches.touch(op.key);
    this.openGroup = undefined;
    const done = this.track(this.db.batch(ops));
    if (this.tracking.active) this.tellWhenDurable(done, ops.map((op) => [op.key, by]));
    return done;
  }

  /** Tells tracking clients of `changes` once `done` settles (a failed write changed nothing, but telling costs them only a read). */
  private tellWhenDurable(done: Promise<unknown>, changes: [Buffer, Client | undefined][]): void {
    const ticket = this.tracking.ticket();
    const tell = () => this.tracking.settle(ticket, changes);
    done.then(tell, tell);
  }

  /**
   * Runs `fn` in a store transaction of its own, on top of every write
   * issued before it; resolves with what it returns once its commit is
   * durable. If it throws, nothing it wrote is kept and the promise rejects.
   */
  transact<T>(fn: (view: TxnView) => T): Promise<T> {
    // Writes issued from now on apply after this one: none may join a group issued before it.
    this.openGroup = undefined;
    const owner = ++this.transactions;
    const done = this.write(() =>
      this.db.transaction((tx) => {
        try {
          // The callback's Transaction is the store's KnownTransaction (db.ts txOf), which the data layer's layout uses.
          return fn(new TxnView(tx as KnownTransaction<Buffer, Buffer>, this.db, this.pending, owner, Date.now()));
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

  /**
   * Runs `fn` on the data in a transaction (`transact`), then writes the
   * counters it changed; once durable, they are the published ones, and the
   * keys it removed at their deadline count in expired_keys. `keys` are the
   * keys it may write (see `plainPut`).
   */
  transactData<T>(fn: (data: Data) => T, keys: readonly Buffer[] = []): Promise<T> {
    this.keysInFlight(keys, 1);
    const ticket = this.tracking.active ? this.tracking.ticket() : undefined;
    const done = this.transact((view) => {
      const data = new Data(view, this);
      this.modifier = undefined;
      const result = fn(data);
      this.modifier = undefined;
      // What this transaction changed (it ran whole, just now): told to tracking clients once durable.
      const changed = this.changedKeys;
      this.changedKeys = [];
      return { result, counters: data.finish(), expired: data.expired, changed };
    });
    const settled = (outcome?: { counters: Counters | undefined; expired: number; changed: [Buffer, Client | undefined][] }) => {
      // Commits publish in order: the last one's counters are the published ones.
      if (outcome?.counters) this.counters = outcome.counters;
      if (outcome) this.expiredKeys += outcome.expired;
      if (ticket !== undefined || (outcome !== undefined && outcome.changed.length > 0)) this.tracking.settle(ticket, outcome?.changed ?? []);
      this.keysInFlight(keys, -1);
    };
    done.then(settled, () => settled());
    return done.then(({ result }) => result);
  }

  /**
   * A write command's data: it joins the turn's group of data writes
   * (write-group.ts), one transaction, with the client's protocol of now.
   * `keys` are the keys it may write (see `plainPut`). Its reply, once
   * durable; `joinGroup` answers without a promise per command.
   */
  writing(ctx: Context, command: GroupCommand, args: Buffer[], keys: readonly Buffer[] = [], anyKey = false): Promise<Reply> {
    const group = this.joinGroup(ctx, command, args, keys, anyKey);
    if (group === undefined) return Promise.reject(this.unwritable);
    const index = group.size - 1;
    this.blocked.issued(keys);
    return group.done.then(() => group.reply(index));
  }

  /**
   * `writing`, answered through the group: the command is at `size - 1` in
   * the group returned, and `reply` gives its reply once `done` resolves.
   * Undefined while writes are refused (`unwritable` says why).
   */
  joinGroup(ctx: Context, command: GroupCommand, args: Buffer[], keys: readonly Buffer[] = [], anyKey = false): WriteGroup | undefined {
    if (this.unwritable) return undefined;
    let group = this.openGroup;
    if (group === undefined || group.sealed) group = this.openGroup = this.startGroup();
    else {
      // Counted in flight, and once durable as acknowledged, as a write of its own.
      this.inFlight++;
      group.counted!.count++;
    }
    this.keysInFlight(keys, 1);
    group.keys.push(keys);
    group.add(ctx, command, args);
    if ((command as TimedCommand).timedAs !== undefined) this.timedJoins++;
    if (anyKey) this.anyKeyUntil(group.done);
    return group;
  }

  /**
   * A write that may change keys it did not name (a Lua script) is in flight
   * until `done` settles: no SET is a blind put of its raw record meanwhile
   * (`plainPut`), whatever its key.
   */
  anyKeyUntil(done: Promise<unknown>): void {
    this.scriptsInFlight++;
    const settled = () => void this.scriptsInFlight--;
    done.then(settled, settled);
  }

  private startGroup(): WriteGroup {
    const group = new WriteGroup();
    group.done = this.transactData((data) => group.run(data));
    const release = () => {
      for (const keys of group.keys) this.keysInFlight(keys, -1);
    };
    group.done.then(release, release);
    // transactData tracked the group's store promise as one write (its first command); the others join that count.
    group.counted = this.tracked;
    return group;
  }

  /**
   * A write command's data in a transaction of its own, with the client's
   * protocol of now: for EXEC, whose queued commands each run nested
   * (Data.nested) in that transaction.
   */
  writingAlone(ctx: Context, fn: (cmd: DataContext) => Reply, keys: readonly Buffer[] = []): Promise<Reply> {
    const proto = ctx.client.proto;
    const done = this.transactData((data) => fn({ ...ctx, proto, data }), keys);
    this.blocked.issued(keys);
    return done;
  }

  /** Counts `keys` as named by writes in flight (`delta` 1), or no longer (-1). */
  private keysInFlight(keys: readonly Buffer[], delta: 1 | -1): void {
    for (const key of keys) {
      const id = key.toString('latin1');
      const n = (this.inFlightKeys.get(id) ?? 0) + delta;
      if (n === 0) this.inFlightKeys.delete(id);
      else this.inFlightKeys.set(id, n);
    }
  }

  /** A read command's data: the last published commit. */
  reading(ctx: Context): DataContext {
    return { ...ctx, proto: ctx.client.proto, data: new Data(new PublishedView(this.db, Date.now()), this) };
  }

  /** Stops reopening the store and sweeping (the server is closing); resolves once neither runs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeOnStop?.();
    await Promise.all([this.recovering, this.sweep.stop()]);
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
        this.counters = this.storedCounters();
        this.unwritable = undefined;
        this.reopens++;
        const fellBack = this.db.recovery ? `; ${this.db.recovery.reason}` : '';
        // Not stats(): it reads every branch page, and one that is damaged would fail the reopen that worked.
        console.error(`xrpkv serve: reopened ${failed.path}; writes go on${fellBack}`);
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
  private track<T>(done: Promise<T>, joined?: JoinedPuts): Promise<T> {
    this.inFlight++;
    const last = this.tracked;
    if (last?.done === done) last.count++;
    else this.follow(done, joined);
    return done;
  }

  /**
   * Starts a group of writes sharing `done`. Apart from `track`, whose
   * common case (a SET joining the group) then allocates nothing: a
   * function with closures allocates their context on every call.
   */
  private follow(done: Promise<unknown>, joined: JoinedPuts | undefined): void {
    const group: Tracked = { done, count: 1, failed: 0 };
    this.tracked = group;
    const settled = (ok: boolean) => {
      if (this.tracked === group) this.tracked = undefined;
      // The batch's puts are all this keyspace's (SETs, putJoined).
      if (ok && joined) group.failed = joined.failed;
      if (ok) {
        this.lastDurableAt = Date.now();
        this.writes += group.count - group.failed;
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

  /** Resolves once every write issued so far has settled, committed or failed (they commit in order: the last one settles last). */
  settled(): Promise<void> {
    const last = this.tracked?.done;
    return last === undefined ? Promise.resolve() : last.then(
      () => undefined,
      () => undefined,
    );
  }

  /** Removes every key in one commit (all or nothing); resolves once durable. */
  flush(): Promise<void> {
    const run = async () => {
      while (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      await this.write(() =>
        this.db.transaction((tx) => {
          this.watches.touchAll((key) => new Data(new PublishedView(this.db, Date.now()), this).exists(key));
          for (const { key } of this.db.getRange()) tx.remove(key);
        }),
      );
      // Nothing is left, the counters' record neither: a new one starts from zero (and versions from 1: no member of an older one is left).
      this.counters = NO_COUNTERS;
      this.tracking.flushed();
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
}
