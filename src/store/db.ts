// The store's API, shaped like lmdb-js:
//
//   const db = open('data.xrpkv', { pageSize: 4096 });
//   await db.put('a', { n: 1 });            // resolves once durable
//   db.getSync('a');                        // { n: 1 }
//   for await (const { key, value } of db.getRange({ start: 'a', end: 'b' })) ...
//   await db.close();
//
// Reads run against the last commit (a snapshot); writes queue in writer.ts.
import { checkStore, type CheckReport } from './check.js';
import { range, withRecent, type Bounds } from './cursor.js';
import { RangeIterable } from './range-iterable.js';
import { conditionOf, holds, type WriteConditions } from './conditions.js';
import { keyCodec, valueCodec, KEY_ENCODINGS, type Codec, type KeyEncoding, type ValueEncoding } from './encoding.js';
import { DEFAULT_ENCODINGS, codesOf, resolveEncodings, type Encodings } from './encoding-record.js';
import { askedValueEncoding, checkOptionNames } from './open-options.js';
import { DatabaseClosedError, ReadOnlyError, StoreError, UnsupportedError, typeError, type WriteFailedError } from '../errors.js';
import type { LeafValue } from '../format/page.js';
import { openFile } from './file.js';
import type { ReaderTable } from './reader-table.js';
import { moveTo, newestMeta } from './refresh.js';
import { WriteLock, type WriteLockSource } from './write-lock.js';
import { existsSync, rmSync } from 'node:fs';
import { copyEntries, publishCopy, temporaryPath } from './backup.js';
import { defaultCacheSize, defaultDirect, memoryLimit, type MemoryLimit } from './memory.js';
import { META_PAGES, PAGE_SIZES, maxKeyLen } from '../format/page.js';
import { ReadPins } from './read-pin.js';
import { Snapshot, Snapshots, type Recovery, type StoreState } from './snapshot.js';
import { statsOptions, storeStats, type Stats, type StatsOptions } from './stats.js';
import { fileKey, storeKey } from './shared-stores.js';
import type { Op, TxnOps } from './ops.js';
import { Writer } from './writer.js';
import { xrpBackend } from '../xrp.js';
import { XrpLookup, modeMisfit } from './xrp-lookup.js';
import { AutoLookup, type AutoStats } from './auto-lookup.js';
import { autoReason, autoWalks, noLookups } from './lookup-choice.js';
import { TurnBatch } from './lookup-gather.js';
import { xrpRange } from './xrp-range.js';
import { PackedOps } from './packed.js';
import { OpenPuts, type JoinedPuts } from './joined-puts.js';
import { prefetchChoice, startPrefetch, type Prefetching } from './prefetch.js';
import { eachSegment, prefixedKeyspace, rootKeyspace, segmentBounds, RESERVED_SEGMENT, type Keyspace } from './keyspace.js';
import { Catalog, askedEncodings, listDatabases, namedArgs, type NamedOptions } from './named-db.js';
import { JoinedTx } from './joined-tx.js';

/** A value as the tree holds it: `chained` lookups of `xrp` count no cache hits. */
const same = (v: LeafValue | undefined): LeafValue | undefined => v;

export type Lookup = 'auto' | 'walk' | 'xrp';

/**
 * `open`'s options. An unknown one is a TypeError naming it (lmdb-js's
 * options xrpkv lacks say so): a misspelt option is never ignored.
 */
export interface OpenOptions {
  /** 512, 1024, 2048 or 4096 (default); an existing file keeps its own. */
  pageSize?: number;
  /**
   * O_DIRECT I/O. `auto`: where the file system allows it and its block is
   * no larger than the page, else buffered (`stats().access` says which,
   * and why). `true`: O_DIRECT or UnsupportedError (some file systems
   * refuse it; zram's 4096-byte blocks are larger than 512-byte pages).
   * `false`: buffered. Default: `auto` for a file larger than half the
   * memory the process may use beyond `cacheSize` (its cgroup's limit where
   * there is one; decided at open, from the file's size then), else
   * `false`. A file that fits stays buffered because the kernel's page
   * cache outlives the process: after a restart the file's pages are still
   * there, or are read ahead in large requests (`prefetch`), where O_DIRECT
   * starts from an empty cache (cold gets 0.74x and 0.81x lmdb-js's
   * buffered, 0.29x direct: docs/RESULTS.md). A larger file would churn the
   * page cache: direct, its lookups ran 1.58x as fast in bench:memory
   * (`stats().access` says which, and why). With O_DIRECT the store's
   * cache is the only cache of the file, so a warm read costs no system
   * call; buffered, it keeps branch pages and the kernel's page cache keeps
   * the rest, a copy from a map of the file per lookup (`mapReads`;
   * else a `pread`; `cacheSize`). `xrp` chains read the way
   * the store does.
   */
  direct?: boolean | 'auto';
  /**
   * Buffered reads of tree pages through a read-only map of the file
   * (default: true, but false for `readOnly` handles): a page in the
   * kernel's page cache is copied out with no system call (about 1 µs less
   * per lookup that leaves the store's cache). A page the disk fails to
   * deliver, or one past the end of a file that shrank, is then read with
   * `pread` and reported as it would be (`ReadFailedError`,
   * `CorruptionError`), never as a crash: the addon catches the SIGBUS such
   * a read raises (crates/node/src/bus_guard.rs). On x86_64, for 4096-byte
   * pages; elsewhere, with O_DIRECT, or `false`: `pread` alone. Off in
   * readers by default: pages another process keeps mapped survive a
   * failed write-back in the kernel's cache, and what opening does about
   * them (src/store/stale-cache.ts) is proven on a failing device for
   * appended pages only.
   */
  mapReads?: boolean;
  /** fdatasync each commit (default true). */
  sync?: boolean;
  /** lmdb-js's name: `noSync: true` is `sync: false`. */
  noSync?: boolean;
  /**
   * How reads find a key below what the store holds in memory. `walk`:
   * TypeScript, one verified page read per level. `xrp`: bpf/lookup.c on
   * the XRP runtime, one chain per lookup (getSync: on this thread; get
   * and getMany: off the event loop, a turn's lookups gathered into
   * batches); throws UnsupportedError when the runtime cannot be used. `auto`
   * (default): per lookup. One whose pages
   * are all in the store's cache (`cacheSize`, `cacheLevels`) walks them,
   * reading nothing; one that must read pages runs from the first page
   * memory lacks: the `get`s and `getMany`s of one event-loop turn walked or
   * in batches of chains, whichever has cost less per
   * lookup lately, a
   * `getSync` (`has`, `getBinaryFast`) a sync chain or a walk, whichever
   * has cost less per lookup lately (measured as they run, the other path
   * tried four lookups in every 128); forward range scans whose first leaf
   * is not in memory run bpf/range.c. Chains are verified as `walk` is: the emulator
   * checks every page's checksum and number, the programs its number, type
   * and level. With `xrpMode: 'kernel'` (what a real XRP kernel runs, where
   * only the programs' own checks would run) or where the runtime cannot be
   * used, `auto` walks. `db.lookup` and `stats().backend` say which,
   * `db.lookupReason` why and what `auto` does now, `stats().lookups` how
   * many lookups each path served. With `xrp`, forward range scans run
   * bpf/range.c (reverse ones use the TypeScript cursor).
   */
  lookup?: Lookup;
  /**
   * For `xrp` lookups: `extended` (default; one page per read) or `kernel`
   * (512-byte reads, as the XRP prototype kernel; needs 512-byte pages).
   */
  xrpMode?: 'extended' | 'kernel';
  /** Levels of the tree, from the root, kept decoded in memory (default 2), within `cacheSize`. */
  cacheLevels?: number;
  /**
   * Bytes of the file the store keeps in memory (as LevelDB's `cacheSize`):
   * verified pages and the decoded top levels, in one cache that never
   * holds more. With O_DIRECT (`direct`) it holds every page it reads, the
   * only cache of the file; buffered, it holds branch pages and leaves the
   * leaves to the kernel's page cache. Default: a quarter of
   * the memory the process may use, its cgroup's limit where there is one,
   * else the machine's, less in a small cgroup to leave Node room
   * (`defaultCacheSize()`, src/store/memory.ts).
   */
  cacheSize?: number;
  /**
   * Keys the log holds before a checkpoint rewrites the tree. Default: an
   * eighth of the tree's pages, from 4,096 to 65,536 keys, so that a
   * checkpoint's copy on write needs little more space than the tree
   * (src/store/log-budget.ts); a number given is used as it is. A commit of fewer changes than this (and with values short
   * enough to sit in a leaf) appends them to the log, a few pages, instead of
   * rewriting every changed leaf and its path; reads see them at once.
   * A full log is folded into the tree in the background while writes go
   * on to the log, which may hold twice this many meanwhile (fold.ts).
   * 0: no log, every commit rewrites the tree (copy-on-write only).
   */
  logLimit?: number;
  /**
   * An existing empty (0-byte) file is refused (StoreError `EMPTY_FILE`):
   * it is no database, and taking it for a new one would hide the loss of
   * whatever it was. `true` makes it a new database. (A missing file is
   * always created, whole or not at all.)
   */
  initEmpty?: boolean;
  /**
   * `ordered-binary` (default) or `binary`. A file records the encodings it
   * was created with (docs/FORMAT.md, "Meta pages"): without this option a
   * handle takes the file's; with one that differs, opening throws
   * EncodingMismatchError. A file written before encodings were recorded
   * opens with the option (recorded at its next commit) or the default.
   */
  keyEncoding?: KeyEncoding;
  /** `msgpack` (default), `binary`, `string` or `json`; recorded as `keyEncoding` is. */
  valueEncoding?: ValueEncoding;
  /** lmdb-js's name for `valueEncoding` (the same values); giving both, they must agree. */
  encoding?: ValueEncoding;
  /**
   * Whether opening starts reading the file ahead, in the background
   * (src/store/prefetch.ts), so that the first lookups after a restart do
   * not each wait on a random read. Buffered: the whole file into the
   * kernel's page cache, when it is at most half the memory the process may
   * use beyond `cacheSize`. Direct: the tree's pages into the store's cache,
   * when they take at most three quarters of `cacheSize`; until that is
   * done, a lookup's miss reads the 256 KiB around its page and caches it
   * all, and `auto` walks synchronous lookups that must read. `auto`
   * (default): so; `true`: whatever the sizes; `false`: never.
   * `stats().prefetch` says what opening did, and why.
   */
  prefetch?: boolean | 'auto';
  /** lmdb-js's name: `noReadAhead: true` is `prefetch: false`. */
  noReadAhead?: boolean;
  /**
   * A handle that only reads (lmdb-js's `readOnly`): it never takes the
   * write lock nor writes the file, a write throws ReadOnlyError, and a
   * missing file is StoreError `NOT_FOUND`. Any number of handles, read-only
   * or not, in any thread or process, read one file while one writes; each
   * read sees the last commit published when it starts.
   */
  readOnly?: boolean;
  /**
   * lmdb-js's: the most named databases (`openDB`) this handle opens;
   * past it, opening another name throws StoreError `DBS_FULL`. Default: no
   * limit (each is a key range of the one tree, not a table in memory).
   */
  maxDbs?: number;
}

export interface RangeOptions<K> {
  /** Inclusive. With `reverse`, the upper end: iteration starts at the last key <= start. */
  start?: K;
  /** Exclusive. With `reverse`, the lower end. */
  end?: K;
  reverse?: boolean;
  limit?: number;
}

export type BatchOp<K, V> = { type: 'put'; key: K; value: V; noOverwrite?: undefined; ifValue?: undefined } | { type: 'del' | 'remove'; key: K; ifValue?: undefined };
/** A batch operation with conditions (conditions.ts); the batch is then all or nothing, and resolves whether it applied. */
export type ConditionalBatchOp<K, V> = ({ type: 'put'; key: K; value: V } & WriteConditions<V>) | ({ type: 'del' | 'remove'; key: K } & RemoveConditions<V>);
/** A remove's condition: only if the key's value is `ifValue` (conditions.ts). */
export type RemoveConditions<V> = Pick<WriteConditions<V>, 'ifValue'>;
export type { WriteConditions };

/** The transaction `transaction(fn)` passes to `fn`; everything it does commits, or nothing. */
export interface Transaction<K, V> {
  get(key: K): V | undefined;
  has(key: K): boolean;
  /**
   * True; with conditions (`noOverwrite`, `ifValue`), false when the key's
   * value (as this transaction sees it) is not as required: then nothing is
   * written, and the callback may go on or throw to abandon the transaction.
   */
  put(key: K, value: V, conditions?: WriteConditions<V>): boolean;
  /** Whether the key was there; with `{ ifValue }`, false (nothing removed) unless its value was that one. */
  remove(key: K, conditions?: RemoveConditions<V>): boolean;
  /**
   * Runs `fn` (synchronously) and returns what it returns; if it throws,
   * what it wrote through this transaction is undone and the error thrown
   * on, and the transaction goes on without it. Calls nest.
   */
  nested<T>(fn: () => T): T;
}

/**
 * The Transaction a callback gets, as the server's data layer uses it (not
 * exported from the package): writes of a key whose presence the caller
 * knows, which the store then does not look up (ops.ts, `putKnown`). A
 * wrong claim miscounts the store's keys.
 */
export interface KnownTransaction<K, V> extends Transaction<K, V> {
  putKnown(key: K, value: V, present: boolean): void;
  removeKnown(key: K, present: boolean): void;
  /**
   * `get` and `put` for a caller whose keys and values are Buffers it never
   * changes, given or received (binary encodings): they are taken and
   * answered as they are, where `get` and `put` copy each one (a caller may
   * reuse its buffer). With other encodings, `get` and `put` themselves.
   */
  getOwned(key: K): V | undefined;
  putOwned(key: K, value: V): void;
}

export type { Stats, StatsOptions, NamedOptions };

function choice<T extends string>(value: unknown, name: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !choices.includes(value as T)) {
    throw new RangeError(`${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

/**
 * A scan under `auto`: its path picked when it first runs (so that a page
 * read to decide fails the iteration, not the call that made it), and
 * timed when `auto` asks.
 */
function* autoScan<T>(auto: AutoLookup, snap: Snapshot, b: Bounds, chained: () => Generator<T, undefined>, walked: () => Generator<T, undefined>): Generator<T, undefined> {
  const turn = auto.scanPath(snap, b.start, b.reverse);
  const rows = turn.path === 'chain' ? chained() : walked();
  if (!turn.measure) return yield* rows;
  // Only the time spent producing rows counts, not the caller's between them.
  let ms = 0;
  let n = 0;
  let finished = false;
  try {
    for (;;) {
      const t = performance.now();
      const r = rows.next();
      ms += performance.now() - t;
      if (r.done) {
        finished = true;
        return undefined;
      }
      n++;
      yield r.value;
    }
  } finally {
    // Ended early (the caller stopped, or a row failed): the rows' own cleanup runs, as `yield*` would run it.
    if (!finished) rows.return(undefined);
    auto.scanned(turn, ms, n);
  }
}

/** A property of a handle's own, for Object.defineProperties (db.ts `viewWith`). */
const own = (value: unknown): PropertyDescriptor => ({ value, writable: true });

/** The encodings `options` ask for (absent: not asked). */
function askedEncodingsOf(options: OpenOptions): Partial<Encodings> {
  const asked: Partial<Encodings> = {};
  if (options.keyEncoding !== undefined) asked.keyEncoding = choice(options.keyEncoding, 'keyEncoding', KEY_ENCODINGS, 'ordered-binary');
  const valueEncoding = askedValueEncoding(options);
  if (valueEncoding !== undefined) asked.valueEncoding = valueEncoding;
  return asked;
}

/** The conditions a batch operation carries, apart from its other fields. */
function conditionsIn<V>(op: WriteConditions<V>): WriteConditions<V> {
  return { noOverwrite: op.noOverwrite, ifValue: op.ifValue };
}

export function open<K = unknown, V = any>(path: string, options: OpenOptions = {}): Database<K, V> {
  return Database.openShared<K, V>(path, options);
}

/** The stores open in this process, by file (shared-stores.ts): each the first handle opened on it. */
const openStores = new Map<string, Database<any, any>>();

export class Database<K = unknown, V = any> {
  readonly path: string;
  readonly pageSize: number;
  /** How lookups run (the `lookup` option resolved: `auto` that cannot chain walks). */
  readonly lookup: Lookup;
  /** Why `lookup` is what it is, with `auto` what it does now; for chains, how they read the file. */
  get lookupReason(): string {
    return this.auto ? autoReason(this.xrp!, this.auto.stats.sync) : this.whyLookup;
  }
  private readonly whyLookup: string;
  /**
   * What opening had to fall back from, when it did: a meta page that is
   * not valid, a newest commit whose log pages never reached the disk, or
   * cached pages unlike the disk's (after a write-back failed). `page` is
   * the first page involved, `txid` the commit the handle opened at,
   * `reason` the whole story. Undefined when the newest commit opened as
   * found. Also in `stats().recovery` and `check()`'s problems.
   */
  readonly recovery: Recovery | undefined;
  /** What opening did about reading the file ahead (the `prefetch` option), and why (`stats().prefetch`); the cache warmer to stop before closing. */
  private readonly prefetching: Prefetching;
  /** The encodings in use: the file's record, else the options, else the defaults. */
  readonly keyEncoding: KeyEncoding;
  readonly valueEncoding: ValueEncoding;
  /** A named database's name (`openDB`); null for the root database, as lmdb-js's. */
  readonly name: string | null = null;
  /** The keys of the tree this handle sees (keyspace.ts): the root's, or a named database's. */
  private readonly space: Keyspace;
  /** The named databases opened on this file (named-db.ts), shared by its handles. */
  private readonly catalog: Catalog;
  /** The transaction callback running now, which every handle's reads and writes join (joined-tx.ts). */
  private readonly joined = new JoinedTx();
  private readonly xrp: XrpLookup | undefined;
  /** With `lookup: 'auto'` (and chains available): what chooses each lookup's path. */
  private readonly auto: AutoLookup | undefined;
  /**
   * With `lookup: 'xrp'`: the turn's async lookups gathered into batches,
   * always chained (64 concurrent gets, one chain each on the libuv pool,
   * ran at half the rate of one getMany of 64); its counts are not reported.
   */
  private readonly chained: TurnBatch | undefined;
  private state: StoreState | undefined;
  /** This handle's reader slot and its write lock (reader-table.ts). */
  private table: ReaderTable | undefined;
  /** Opened with `readOnly: true`. */
  readonly readOnly: boolean;
  private readonly writer: Writer;
  private readonly keys: Codec;
  private readonly values: Codec;
  /** What the reader slot holds: registered snapshots' txids and the running burst of reads' pin (read-pin.ts). */
  private readonly pins = new ReadPins(() => this.table);
  private readonly snapshots = new Snapshots((oldest) => this.pins.registeredChanged(oldest));
  private readonly orphans = new FinalizationRegistry<Snapshot>((s) => s.release());
  private closing: Promise<void> | undefined;
  /** The store this handle opened (undefined once it is closed); handles that share it (`share`) read `state`, their own. */
  private store: StoreState | undefined;
  /** Set on a store other handles may share (shared-stores.ts): its options' key and its file's. */
  private storeKey: string | undefined;
  private fileKey: string | undefined;
  /** Handles sharing this handle's store (`share`) that are still open: the store closes after the last. */
  private sharers = 0;
  /** The batch this turn's puts join, until the writer takes it or another write is issued. */
  private openPuts: OpenPuts | undefined;

  constructor(path: string, options: OpenOptions = {}) {
    if (typeof path !== 'string' || path === '') throw typeError('path must be a non-empty string');
    if (typeof options !== 'object' || options === null) throw typeError('options must be an object');
    const { sync, prefetch } = checkOptionNames(options);
    const maxDbs = options.maxDbs ?? Infinity;
    if (!(Number.isInteger(maxDbs) || maxDbs === Infinity) || maxDbs < 0) throw new RangeError(`maxDbs must be an integer >= 0, got ${String(options.maxDbs)}`);
    const pageSize = options.pageSize ?? 4096;
    if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) throw new RangeError(`pageSize must be 512, 1024, 2048 or 4096, got ${pageSize}`);
    const cacheLevels = options.cacheLevels ?? 2;
    if (!Number.isInteger(cacheLevels) || cacheLevels < 0) throw new RangeError(`cacheLevels must be an integer >= 0, got ${cacheLevels}`);
    if (options.direct !== undefined && typeof options.direct !== 'boolean' && options.direct !== 'auto') throw new RangeError(`direct must be true, false or 'auto', got ${String(options.direct)}`);
    // Read once, when needed: the default cacheSize and the prefetch choice both follow it.
    let limit: MemoryLimit | undefined;
    const memory = () => (limit ??= memoryLimit());
    const cacheSize = options.cacheSize ?? defaultCacheSize(memory());
    if (!Number.isSafeInteger(cacheSize) || cacheSize < 0) throw new RangeError(`cacheSize must be an integer >= 0 (bytes), got ${cacheSize}`);
    const logLimit = options.logLimit;
    if (logLimit !== undefined && (!Number.isInteger(logLimit) || logLimit < 0)) throw new RangeError(`logLimit must be an integer >= 0, got ${logLimit}`);
    const lookup = choice(options.lookup, 'lookup', ['auto', 'walk', 'xrp'] as const, 'auto');
    const xrpMode = choice(options.xrpMode, 'xrpMode', ['extended', 'kernel'] as const, 'extended');
    const asked = askedEncodingsOf(options);
    if (options.initEmpty !== undefined && typeof options.initEmpty !== 'boolean') throw typeError('initEmpty must be a boolean');
    const encodings = codesOf({ ...DEFAULT_ENCODINGS, ...asked });
    const readOnly = options.readOnly === true;
    const { direct, directWhy } = options.direct === undefined ? defaultDirect(path, cacheSize, memory()) : { direct: options.direct, directWhy: undefined };
    const opened = openFile(path, { pageSize, sync, direct, directWhy, mapReads: options.mapReads ?? !readOnly, cacheLevels, cacheSize, initEmpty: options.initEmpty === true, encodings, readOnly });
    let resolved: ReturnType<typeof resolveEncodings>;
    try {
      resolved = resolveEncodings(path, opened.state.meta, asked);
    } catch (e) {
      opened.state.pager.close();
      opened.table.close();
      throw e;
    }
    // Recorded by the next commit (every commit's meta carries the last one's encodings).
    opened.state.meta = { ...opened.state.meta, ...resolved.record };
    this.path = path;
    this.state = opened.state;
    this.store = opened.state;
    this.table = opened.table;
    this.readOnly = readOnly;
    this.pageSize = opened.state.pageSize;
    let xrp: XrpLookup | undefined;
    let reason: string;
    const misfit = modeMisfit(xrpMode, this.pageSize);
    if (misfit) {
      opened.state.pager.close();
      opened.table.close();
      throw new RangeError(misfit);
    }
    const walks = lookup === 'auto' ? autoWalks(xrpMode, () => xrpBackend().backend) : undefined;
    if (walks !== undefined) {
      reason = walks;
    } else if (lookup === 'walk') {
      reason = "lookup 'walk' was asked for";
    } else {
      try {
        xrp = new XrpLookup(path, this.pageSize, xrpMode, opened.state.pager.directBlock > 0);
        reason = `bpf/lookup.c on the XRP ${xrp.backend} (lookup 'xrp' was asked for); reads: ${xrp.access}`;
      } catch (e) {
        if (lookup === 'auto' && !(e instanceof RangeError)) {
          reason = `lookup 'auto' walks: the XRP runtime cannot be used here (${(e as Error).message})`;
        } else {
          opened.state.pager.close();
          opened.table.close();
          if (e instanceof RangeError) throw e;
          throw Object.assign(new UnsupportedError(`lookup 'xrp' is not available: ${(e as Error).message}`), { cause: e });
        }
      }
    }
    this.xrp = xrp;
    this.auto = xrp && lookup === 'auto' ? new AutoLookup(xrp, () => opened.state.pager.readAround !== undefined) : undefined;
    this.chained = xrp && !this.auto ? new TurnBatch(xrp, noLookups(), false) : undefined;
    this.lookup = this.auto ? 'auto' : xrp ? 'xrp' : 'walk';
    this.whyLookup = reason;
    this.keyEncoding = resolved.encodings.keyEncoding;
    this.valueEncoding = resolved.encodings.valueEncoding;
    this.space = rootKeyspace(keyCodec(this.keyEncoding, maxKeyLen(this.pageSize)));
    this.keys = this.space.keys;
    this.catalog = new Catalog(path, maxDbs);
    this.values = valueCodec(this.valueEncoding);
    this.writer = new Writer(opened.state, new WriteLock(this.lockSource(opened.state, opened.table)), () => Math.min(this.snapshots.oldest(), opened.table.oldest()), logLimit);
    this.recovery = opened.state.recovery;
    const { pager, freelist, logPages, meta } = opened.state;
    const log = new Set(logPages);
    const treePages = meta.pageCount - META_PAGES - freelist.size - log.size;
    const ahead = prefetchChoice(prefetch, {
      fileBytes: meta.pageCount * this.pageSize,
      treeBytes: treePages * this.pageSize,
      direct: pager.directBlock > 0,
      cacheSize,
    }, memory);
    const free = (n: number) => this.state?.freelist.has(n) ?? true;
    this.prefetching = startPrefetch(pager, meta.pageCount, ahead, (n) => n >= META_PAGES && !log.has(n) && !freelist.has(n), free);
  }

  /** How the write queue takes the write lock: taking it catches up with the commits made elsewhere. */
  private lockSource(state: StoreState, table: ReaderTable): WriteLockSource {
    const catchUp = () => {
      try {
        // A commit on disk no one published was never acknowledged (a
        // writer publishes before it settles its promises): the next commit
        // replaces it, as it would a torn one.
        if (table.published() > state.meta.txid) {
          const newest = newestMeta(state.pager, this.path);
          if (newest.txid > state.meta.txid) moveTo(state, newest, this.snapshots.oldest());
        }
        // A lock file made after the last commit starts at 0.
        table.publish(state.meta.txid);
      } catch (e) {
        table.unlockWrite();
        throw e;
      }
    };
    return {
      tryTake: () => table.tryLockWrite() && (catchUp(), true),
      othersWaiting: () => table.othersWaitForWrite(),
      waiting: (on) => table.waitForWrite(on),
      takeSync: () => {
        table.lockWriteSync();
        catchUp();
      },
      release: () => table.unlockWrite(),
      published: (txid) => table.publish(txid),
    };
  }

  // ---- reads ----------------------------------------------------------------

  // Every read starts by holding a txid in the handle's reader slot (the
  // oldest registered snapshot's, or one pinned for the running burst of
  // synchronous reads: read-pin.ts), so that no writer anywhere reuses a
  // page it may reach, and by catching up with commits other handles
  // published (`catchUp`), once per burst. An async read holds a registered
  // snapshot until its chain ends and its value is read. Keys the log changed
  // since the last checkpoint are answered from the overlay (`snap.recent`)
  // and need no chain.

  getSync(key: K): V | undefined {
    const tx = this.joinedTx();
    if (tx) return tx.get(key);
    const k = this.lookupKey(key);
    // Decoded at once, into a copy or new objects (encoding.ts): the value may be a view of the reused buffer.
    return this.reading((snap) => this.decode(snap, this.find(snap, k, false)));
  }

  /**
   * The stored bytes of `key`'s value, not decoded and not copied (as
   * lmdb-js's `getBinaryFast`): valid only until the next read or write on
   * this database, for a caller that copies or consumes them at once (the
   * server writes them straight into a reply). Never modify them.
   */
  getBinaryFast(key: K): Buffer | undefined {
    const k = this.lookupKey(key);
    return this.reading((snap) => {
      const v = this.find(snap, k, false);
      return v === undefined ? undefined : snap.value(v);
    });
  }

  /** With `xrp`, the chain runs on the libuv pool: the event loop is not blocked. */
  async get(key: K): Promise<V | undefined> {
    // A lookup `auto` would walk at once anyway runs as getSync: no
    // registered snapshot, no promise of the batch's (an `await get` on a
    // file in the kernel's cache: 9.4 to 10.7 µs, against 10.9 to 15.8).
    // getSync then takes the sync path's choice, a sync chain when that
    // measured cheaper.
    if (!this.xrp || this.joined.ops || this.auto?.answersAtOnce()) return this.getSync(key);
    const k = this.keys.encode(key);
    const snap = this.snapshot();
    try {
      const recent = snap.recent(k);
      const v = recent === undefined ? await (this.auto ? this.auto.lookup(snap, k) : this.chained!.lookupKey(snap, k, same)) : (recent ?? undefined);
      if (snap.released) throw new DatabaseClosedError(this.path);
      return this.decode(snap, v);
    } finally {
      snap.release();
    }
  }

  /** Values of `keys` from one snapshot, in order; with `xrp` and `auto`, in the turn's batches of chains (io_uring where available). */
  async getMany(keys: K[]): Promise<(V | undefined)[]> {
    if (!Array.isArray(keys)) throw typeError('keys must be an array');
    const encoded = keys.map((k) => this.keys.encode(k));
    const snap = this.snapshot();
    try {
      const found = this.xrp ? await this.lookupMany(snap, encoded) : encoded.map((k) => snap.find(k));
      if (snap.released) throw new DatabaseClosedError(this.path);
      return found.map((v) => this.decode(snap, v));
    } finally {
      snap.release();
    }
  }

  has(key: K): boolean {
    const tx = this.joinedTx();
    if (tx) return tx.has(key);
    const k = this.lookupKey(key);
    return this.reading((snap) => this.find(snap, k, false) !== undefined);
  }

  /**
   * Runs `read` on an unregistered snapshot of the last commit: the slot
   * holds the oldest registered snapshot's txid, or one pinned for the
   * running burst of reads (read-pin.ts).
   */
  private reading<T>(read: (snap: Snapshot) => T): T {
    const state = this.open();
    this.catchUpOnce(state);
    return read(new Snapshot(state, state.meta));
  }

  /** Pins a txid for the running burst of reads and catches up, unless this burst has already. */
  private catchUpOnce(state: StoreState): void {
    if (this.pins.caughtUp) return;
    this.pins.begin();
    this.catchUp(state);
    this.pins.caughtUp = true;
  }

  /**
   * Moves the state to the newest commit another handle published. The
   * slot must hold a txid at or below it. A writer with commits of its own
   * in flight holds the write lock, so no other handle has published.
   */
  private catchUp(state: StoreState): void {
    if (this.table!.published() <= state.meta.txid || this.writer.committing) return;
    // The counter may be ahead of the file: a lock file that outlived a file replaced under it.
    const newest = newestMeta(state.pager, this.path);
    if (newest.txid > state.meta.txid) moveTo(state, newest, this.snapshots.oldest());
  }

  /**
   * `key` encoded for a lookup that ends before anything else is encoded:
   * the codec's bytes, not a copy (the caller's Buffer, or the codec's scratch).
   */
  private lookupKey(key: K): Buffer {
    const b = this.keys.bytes(key);
    return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  }

  /** `k`'s value in `snap`, by the handle's lookup path; `copy` false as Snapshot.find's (a sync chain's value then a view of the store's own buffer: XrpLookup `found`). */
  private find(snap: Snapshot, k: Buffer, copy = true): LeafValue | undefined {
    if (!this.xrp) return snap.find(k, copy);
    const recent = snap.recent(k);
    if (recent !== undefined) return recent ?? undefined;
    return this.auto ? this.auto.lookupSync(snap, k, copy) : this.xrp.lookupSync(snap, k, copy);
  }

  /** getMany's lookups with chains available: the keys the log does not answer, in the turn's batches. */
  private async lookupMany(snap: Snapshot, keys: Buffer[]): Promise<(LeafValue | undefined)[]> {
    const recent = keys.map((k) => snap.recent(k));
    const asked = keys.filter((_, i) => recent[i] === undefined);
    const chained = asked.length > 0 ? await (this.auto ? this.auto.lookupMany(snap, asked) : this.chained!.lookupKeys(snap, asked, same)) : [];
    let next = 0;
    return recent.map((r) => (r === undefined ? chained[next++] : (r ?? undefined)));
  }

  /** A leaf value's bytes (overflow pages read and verified here), decoded. */
  private decode(snap: Snapshot, v: LeafValue | undefined): V | undefined {
    return v === undefined ? undefined : (this.values.decode(snap.value(v)) as V);
  }

  /** The failure that ended this handle's writes (every write since gets it), or undefined while it can write. */
  get writeError(): WriteFailedError | undefined {
    return this.writer.failed;
  }

  /**
   * Keys in the last commit; with a range (`start`, `end`, `reverse`,
   * `limit`, as `getRange`'s), the keys within it, counted from one
   * snapshot without reading values (a walk of the range's leaves).
   */
  count(options: RangeOptions<K> = {}): number {
    this.open();
    if (typeof options !== 'object' || options === null) throw typeError('count options must be an object');
    const bounds = this.bounds(options);
    return this.reading((snap) => {
      const walk = (b: Bounds) => eachSegment(segmentBounds(this.space.segments, b, maxKeyLen(this.pageSize)), b.limit, (s) => range(snap, s, () => undefined, () => undefined));
      let n = 0;
      if (this.name === null && bounds.start === undefined && bounds.end === undefined) {
        // The root: every entry of the file but the named databases'.
        for (const _ of range(snap, { ...RESERVED_SEGMENT, reverse: false, limit: Infinity }, () => undefined, () => undefined)) n++;
        return Math.min(snap.meta.entries - n, bounds.limit);
      }
      for (const _ of walk(bounds)) n++;
      return n;
    });
  }

  /** lmdb-js's name for `count`. */
  getCount(options: RangeOptions<K> = {}): number {
    return this.count(options);
  }

  /**
   * Entries in key order (or reverse), lazily (lmdb-js's RangeIterable:
   * `map`, `filter`, `forEach`, `asArray`): each iteration takes a snapshot
   * when it starts, and commits made meanwhile are not seen. Iterable with
   * `for` or `for await`.
   */
  getRange(options: RangeOptions<K> = {}): RangeIterable<{ key: K; value: V }> {
    const state = this.open();
    const bounds = this.bounds(options);
    return new RangeIterable(() =>
      this.iterate(state, bounds, (snap, k, v) => ({ key: this.keys.decode(k) as K, value: this.values.decode(snap.value(v)) as V })),
    );
  }

  /** The keys of `getRange(options)`, lazily; no value is read. */
  getKeys(options: RangeOptions<K> = {}): RangeIterable<K> {
    const state = this.open();
    const bounds = this.bounds(options);
    return new RangeIterable(() => this.iterate(state, bounds, (_snap, k) => this.keys.decode(k) as K));
  }

  /** `options` checked and its keys encoded. */
  private bounds(options: RangeOptions<K>): Bounds {
    if (typeof options !== 'object' || options === null) throw typeError('range options must be an object');
    const start = options.start === undefined ? undefined : this.space.bound(options.start);
    const end = options.end === undefined ? undefined : this.space.bound(options.end);
    const limit = options.limit ?? Infinity;
    if (typeof limit !== 'number' || !(limit >= 0)) throw new RangeError(`limit must be a number >= 0, got ${String(limit)}`);
    return { start, end, reverse: options.reverse === true, limit };
  }

  /**
   * An iterator holding a snapshot until it ends, is returned from, or is
   * collected unfinished (the finalization registry releases it then).
   */
  private iterate<T>(state: StoreState, bounds: Bounds, entry: (snap: Snapshot, key: Buffer, value: LeafValue) => T): IterableIterator<T> {
    const snap = this.snapshot();
    const each = (k: Buffer, v: LeafValue) => entry(snap, k, v);
    const alive = () => {
      if (snap.released || this.state !== state) throw new DatabaseClosedError(this.path);
    };
    const { xrp, auto } = this;
    const scan = (b: Bounds) => {
      const { start, end, reverse, limit } = b;
      // With logged keys, range.c may be asked for more pairs than `limit`: some may be hidden.
      const chained = () => withRecent(snap, xrpRange(xrp!, snap, start, end, snap.overlay.size === 0 ? limit : Infinity), b, each, alive);
      const walked = () => range(snap, b, each, alive);
      return auto ? autoScan(auto, snap, b, chained, walked) : xrp && !reverse ? chained() : walked();
    };
    const gen = eachSegment(segmentBounds(this.space.segments, bounds, maxKeyLen(this.pageSize)), bounds.limit, scan);
    const done = () => {
      this.orphans.unregister(snap);
      snap.release();
    };
    const it: IterableIterator<T> = {
      next: () => {
        try {
          const r = gen.next();
          if (r.done) done();
          return r;
        } catch (e) {
          done();
          throw e;
        }
      },
      return: (value?: unknown) => {
        done();
        return gen.return(value as undefined);
      },
      [Symbol.iterator]: () => it,
    };
    this.orphans.register(it, snap, snap);
    return it;
  }

  // ---- writes ---------------------------------------------------------------

  /**
   * Resolves once the commit holding this write is durable; rejects if it
   * failed, and then nothing of it was written. The puts of one turn go
   * into one packed batch, copied there at once (no object per put waits
   * for the commit but the promise returned); another kind of write closes
   * the batch, so writes still apply in the order they were issued. Each put
   * is a write of its own: one whose page is damaged fails alone
   * (CorruptionError naming the page) and the turn's other puts commit.
   */
  put(key: K, value: V): Promise<void>;
  /**
   * A conditional put (conditions.ts: `noOverwrite`, or `ifValue`): resolves
   * true once durable if it applied, false (nothing written) if the key's
   * value was not as required when it applied, after the writes before it.
   */
  put(key: K, value: V, conditions: WriteConditions<V>): Promise<boolean>;
  put(key: K, value: V, conditions?: WriteConditions<V>): Promise<void | boolean> {
    const tx = this.joinedTx();
    if (tx) return Promise.resolve(conditions === undefined ? void tx.put(key, value) : tx.put(key, value, conditions));
    if (conditions !== undefined) return this.writeOps([this.putOp(key, value, conditions)]);
    return this.joinPuts(key, value).promiseOfLast();
  }

  /**
   * `put` for a caller that answers many puts at once (a server's SETs):
   * the put joins this turn's batch as `put`'s do, and what comes back is
   * that batch, the same object for every put of it, instead of a promise
   * per put. This put is at `count - 1` as it returns; once `done` has
   * resolved, `failure(index)` says whether it failed alone (a damaged
   * page), as its own promise would have. Not inside a transaction
   * callback.
   */
  putJoined(key: K, value: V): JoinedPuts {
    if (this.joinedTx()) throw new UnsupportedError('putJoined inside a transaction callback: use the transaction\'s put');
    const open = this.joinPuts(key, value);
    open.joinedLast();
    return open;
  }

  /** Packs a put into this turn's batch (opened here if none is). */
  private joinPuts(key: K, value: V): OpenPuts {
    const writer = this.writable();
    const k = this.keys.bytes(key);
    const v = this.values.bytes(value);
    let open = this.openPuts;
    if (open === undefined || open.packed.sealed) {
      // Sized as the last turn's: a bulk load's batches then grow no buffer
      // by doubling (untouched capacity costs address space, not memory).
      const last = open?.packed;
      const packed = last ? new PackedOps(Math.max(64, last.count), last.byteLength) : new PackedOps(64, 4096);
      packed.independent = true;
      open = this.openPuts = new OpenPuts(packed, writer.write(packed));
    }
    open.packed.put(k, v);
    return open;
  }

  /** Resolves with whether the key was there when the removal applied. */
  /**
   * Resolves with whether the key was there when the removal applied; with
   * `{ ifValue }`, false (nothing removed) unless its value was that one.
   */
  remove(key: K, conditions?: RemoveConditions<V>): Promise<boolean> {
    const tx = this.joinedTx();
    if (tx) return Promise.resolve(tx.remove(key, conditions));
    return this.writeOps([this.removeOp(key, conditions)]);
  }

  /** `ops` as one write of the queue, ending this turn's batch of puts. */
  private writeOps(ops: Op[]): Promise<boolean> {
    this.openPuts = undefined;
    return this.writable()
      .write(ops)
      .then((r) => r !== false);
  }

  private putOp(key: K, value: V, conditions: WriteConditions<V> | undefined): Op {
    const op: Op = { type: 'put', key: this.keys.encode(key), value: this.values.encode(value) };
    const condition = conditions === undefined ? undefined : conditionOf(conditions, this.values, false);
    if (condition !== undefined) op.if = condition;
    return op;
  }

  private removeOp(key: K, conditions: RemoveConditions<V> | undefined): Op {
    const op: Op = { type: 'remove', key: this.keys.encode(key) };
    const condition = conditions === undefined ? undefined : conditionOf(conditions, this.values, true);
    if (condition !== undefined) op.if = condition;
    return op;
  }

  /** Applies every operation in one commit; bad input throws before any is queued. */
  batch(ops: BatchOp<K, V>[]): Promise<void>;
  /**
   * A batch whose operations carry conditions (`noOverwrite`, `ifValue`):
   * all or nothing. Every condition is checked against the state before the
   * batch (after the writes issued before it); if one fails, nothing of the
   * batch applies and it resolves false, else true.
   */
  batch(ops: ConditionalBatchOp<K, V>[]): Promise<boolean>;
  batch(ops: ConditionalBatchOp<K, V>[]): Promise<void | boolean> {
    if (!Array.isArray(ops)) throw typeError('ops must be an array');
    if (ops.some((op) => op?.ifValue !== undefined || (op as { noOverwrite?: unknown })?.noOverwrite !== undefined)) {
      return this.writeOps(
        ops.map((op) => {
          if (op?.type === 'put') return this.putOp(op.key, op.value, conditionsIn(op));
          if (op?.type === 'del' || op?.type === 'remove') return this.removeOp(op.key, conditionsIn(op));
          throw typeError(`a batch operation needs type 'put', 'del' or 'remove', got ${JSON.stringify((op as { type?: unknown }).type)}`);
        }),
      );
    }
    // Every key and value copied once into one buffer (packed.ts): no object per operation.
    const packed = new PackedOps(ops.length, ops.length * 64);
    for (const op of ops) {
      if (op?.type === 'put') {
        const key = this.keys.bytes(op.key);
        packed.put(key, this.values.bytes(op.value));
      } else if (op?.type === 'del' || op?.type === 'remove') {
        packed.remove(this.keys.bytes(op.key));
      } else {
        throw typeError(`a batch operation needs type 'put', 'del' or 'remove', got ${JSON.stringify(op?.type)}`);
      }
    }
    this.openPuts = undefined;
    return this.writable().write(packed).then(() => undefined);
  }

  /**
   * Runs `fn` (synchronously) inside the next commit; everything it writes
   * commits with it, or nothing if it throws (the promise then rejects).
   * Its reads see every write queued before it. It can run a second time
   * (only the last run counts): when a write queued before it in the same
   * commit fails on a damaged page after `fn` saw it, `fn` runs again
   * without it.
   */
  transaction<T>(fn: (tx: Transaction<K, V>) => T): Promise<T> {
    if (typeof fn !== 'function') throw typeError('transaction needs a function');
    const tx = this.joinedTx();
    if (tx) return Promise.resolve(fn(tx)); // nested: part of the running one
    this.openPuts = undefined;
    return this.writable().transaction((ops) => this.joined.run(ops, () => fn(this.txOf(ops))));
  }

  /** The Transaction a callback gets, over the writer's encoded `ops`. */
  private txOf(ops: TxnOps): KnownTransaction<K, V> {
    const get = (key: K) => ops.get(this.keys.encode(key));
    // The root's binary keys and values pass as they are (`bytes` checks
    // them; a named database's `bytes` prefixes into a reused buffer); a
    // value read is the transaction's own write, a log record's bytes or a
    // copy from a page, none of which changes after.
    const owned = this.name === null && this.keyEncoding === 'binary' && this.valueEncoding === 'binary';
    const key = (k: K) => (owned ? (this.keys.bytes(k) as Buffer) : this.keys.encode(k));
    const value = (v: V) => (owned ? (this.values.bytes(v) as Buffer) : this.values.encode(v));
    return {
      get: (key) => {
        const v = get(key);
        return v === undefined ? undefined : (this.values.decode(v) as V);
      },
      has: (key) => get(key) !== undefined,
      put: (key, value, conditions) => {
        const op = this.putOp(key, value, conditions);
        if (op.if !== undefined && !holds(ops.get(op.key), op.if)) return false;
        ops.put(op.key, (op as { value: Buffer }).value);
        return true;
      },
      remove: (key, conditions) => {
        const op = this.removeOp(key, conditions);
        if (op.if !== undefined && !holds(ops.get(op.key), op.if)) return false;
        return ops.remove(op.key);
      },
      nested: (fn) => ops.nested(fn),
      putKnown: (k, v, present) => ops.putKnown(key(k), value(v), present),
      removeKnown: (k, present) => ops.removeKnown(key(k), present),
      getOwned: (k) => {
        const v = ops.get(key(k));
        return v === undefined ? undefined : owned ? (v as V) : (this.values.decode(v) as V);
      },
      putOwned: (k, v) => ops.put(key(k), value(v)),
    };
  }

  // ---- synchronous writes ----------------------------------------------------
  //
  // Committed and durable when they return, as lmdb-js's are: the commit is
  // prepared and written in this turn (writer.ts `commitSync`), blocking
  // the event loop meanwhile. Writes issued before them and not yet handed
  // to the disk (this turn's puts, a batch) go first, in the same commit,
  // and their promises settle with it; while an earlier commit is being
  // written they throw WritesPendingError (await `flushed` first), since
  // going ahead of it would reorder writes already issued.

  /** `put`, committed now: true, or false when its conditions failed (nothing written). */
  putSync(key: K, value: V, conditions?: WriteConditions<V>): boolean {
    const tx = this.joinedTx();
    if (tx) return tx.put(key, value, conditions);
    const op = this.putOp(key, value, conditions);
    this.openPuts = undefined;
    return this.writable().writeSync([op]) !== false;
  }

  /** `remove`, committed now: whether the key was there (and its value `ifValue`, when given). */
  removeSync(key: K, conditions?: RemoveConditions<V>): boolean {
    const tx = this.joinedTx();
    if (tx) return tx.remove(key, conditions);
    const op = this.removeOp(key, conditions);
    this.openPuts = undefined;
    return this.writable().writeSync([op]) === true;
  }

  /** `transaction`, committed now: `fn`'s answer, or what it threw (then nothing of it is written). */
  transactionSync<T>(fn: (tx: Transaction<K, V>) => T): T {
    if (typeof fn !== 'function') throw typeError('transactionSync needs a function');
    const tx = this.joinedTx();
    if (tx) return fn(tx); // nested: part of the running one
    this.openPuts = undefined;
    return this.writable().transactionSync((ops) => this.joined.run(ops, () => fn(this.txOf(ops))));
  }

  /**
   * Removes every entry of this database, as lmdb-js's `clearAsync`: the
   * root's own keys (not its named databases'), or a named database's. One
   * commit of its own, after every write issued before it has committed and
   * before any issued after it; all of it or, when it fails, nothing. Each
   * key is removed as a `remove` would (a large database makes a large
   * commit).
   */
  clearAsync(): Promise<void> {
    if (this.joined.ops) throw new UnsupportedError('clearAsync inside a transaction callback: clear before or after it');
    this.openPuts = undefined;
    return this.writable().transaction((ops) => this.clearIn(ops), true);
  }

  /**
   * `clearAsync`, committed now. Writes issued before it and not yet
   * committed would not be seen by its read of the keys: then it throws
   * WritesPendingError (await `flushed` first).
   */
  clearSync(): void {
    if (this.joined.ops) throw new UnsupportedError('clearSync inside a transaction callback: clear before or after it');
    this.openPuts = undefined;
    this.writable().transactionSync((ops) => this.clearIn(ops), true);
  }

  /** Removes in `ops` every key of this database the last commit holds (the writer runs it with nothing before it in its commit). */
  private clearIn(ops: TxnOps): void {
    const keys = this.iterate(this.open(), this.bounds({}), (_snap, k) => Buffer.from(k));
    for (const key of keys) ops.remove(key);
  }

  /** Resolves once every write issued so far has committed (or failed), as lmdb-js's `flushed`. */
  get flushed(): Promise<void> {
    return this.writer.drain();
  }

  // ---- the database ---------------------------------------------------------

  /**
   * The tree's shape, the file's bytes (live, free, log), the cache and the
   * lookup paths. It reads the branch pages (the store's cache holds them,
   * as a rule), not the leaves: a few milliseconds on a tree of a million
   * keys. `{ fill: true }` also reads every leaf, to measure `fill`: a read
   * per page not in memory, seconds or more on a tree of millions of pages.
   * `db.cacheUse` and `db.lookupCounts` are cheaper still.
   */
  stats(options?: StatsOptions): Stats {
    const checked = statsOptions(options);
    const snap = this.snapshot();
    try {
      const databases = listDatabases(snap, this.path); // first: the cache figures are then as the call leaves them
      return { ...storeStats(snap, this.lookup, this.writer.failed === undefined, this.prefetching.reason, this.auto?.stats, checked), databases };
    } finally {
      snap.release();
    }
  }

  /**
   * Writes a compacted copy of the last commit to `path` (a new file; one
   * there is never replaced: StoreError `EXISTS`), while writes go on: the
   * copy is of the commit published when this was called, and later commits
   * are not in it. Resolves with the entries copied once the copy is whole
   * and durable; on failure `path` is not created. The copy keeps the page
   * size and records the same encodings (backup.ts says how it is made).
   */
  async backup(path: string): Promise<{ entries: number }> {
    if (typeof path !== 'string' || path === '') throw typeError('backup needs a path');
    const state = this.open();
    if (existsSync(path)) throw new StoreError(`${path} exists: a backup never replaces a file`, 'EXISTS');
    const snap = this.snapshot();
    const temporary = temporaryPath(path);
    rmSync(temporary, { force: true }); // a copy this process left unfinished
    let copy: Database<K, V> | undefined;
    try {
      copy = new Database<K, V>(temporary, { pageSize: this.pageSize, keyEncoding: this.keyEncoding, valueEncoding: this.valueEncoding, logLimit: 0, cacheSize: 8 << 20 });
      const writer = copy.writer;
      const alive = () => {
        if (snap.released || this.state !== state) throw new DatabaseClosedError(this.path);
      };
      const entries = await copyEntries(snap, (ops) => writer.write(ops), alive);
      await copy.close();
      // Nothing else has the copy open: its lock file goes with the temporary name.
      rmSync(`${temporary}-lock`, { force: true });
      publishCopy(temporary, path);
      return { entries };
    } catch (e) {
      await copy?.close().catch(() => undefined);
      rmSync(temporary, { force: true });
      rmSync(`${temporary}-lock`, { force: true });
      throw e;
    } finally {
      snap.release();
    }
  }

  /** Verifies every page of the last commit; reports every problem found. */
  check(): CheckReport {
    const snap = this.snapshot();
    try {
      return checkStore(snap);
    } finally {
      snap.release();
    }
  }

  /** Waits for queued writes, then releases the lock and the file. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.state) return;
      if (this.sharers > 0) {
        // Other handles use the store: this one closes, the store stays open until they do (`share`).
        this.state = undefined;
        return this.writer.drain();
      }
      await this.closeStore();
    })();
    return this.closing;
  }

  /**
   * `open()`: a handle on the store already open on `path` in this process
   * when the store options agree (shared-stores.ts), else on a new store,
   * which later opens may share.
   * @internal
   */
  static openShared<K, V>(path: string, options: OpenOptions): Database<K, V> {
    const file = typeof path === 'string' ? fileKey(path) : undefined;
    const key = storeKey(options);
    const owner = file === undefined ? undefined : openStores.get(file);
    if (owner && key !== undefined && owner.storeKey === key && (options.readOnly === true || !owner.readOnly)) {
      return owner.share(options) as Database<K, V>;
    }
    const db = new Database<K, V>(path, options);
    const opened = fileKey(path);
    if (key !== undefined && opened !== undefined && !openStores.has(opened)) {
      db.storeKey = key;
      db.fileKey = opened;
      openStores.set(opened, db);
    }
    return db;
  }

  /**
   * A handle of its own on this store, for `open()` of the same file with the
   * same store options (shared-stores.ts): its own encodings (checked against
   * the file's), `readOnly` and `close`; the store's cache, writer, reader
   * slot and named databases. The store closes when its last handle does.
   */
  private share(options: OpenOptions): Database<any, any> {
    const store = this.store;
    if (!store) throw new DatabaseClosedError(this.path);
    const asked = askedEncodingsOf(options);
    const { encodings } = resolveEncodings(this.path, store.meta, asked);
    const space = rootKeyspace(keyCodec(encodings.keyEncoding, maxKeyLen(this.pageSize)));
    const view = this.viewWith(space, encodings, (view) => ({
      rootDb: own(view),
      state: own(store),
      closing: own(undefined),
      readOnly: own(options.readOnly === true || this.readOnly),
      close: own(() =>
        (view.closing ??= (async () => {
          view.state = undefined;
          await this.writer.drain();
          if (--this.sharers === 0 && this.closing) await this.closeStore();
        })()),
      ),
    }));
    this.sharers++;
    return view;
  }

  /** Closes the store: once its last handle is closed. */
  private async closeStore(): Promise<void> {
    const store = this.store;
    if (!store) return;
    this.store = undefined;
    if (this.fileKey !== undefined && openStores.get(this.fileKey) === this) openStores.delete(this.fileKey);
    await this.writer.drain();
    await this.writer.stopFolding();
    await this.auto?.idle();
    await this.chained?.idle();
    await this.prefetching.warmer?.stop();
    this.snapshots.releaseAll();
    this.xrp?.close();
    store.pager.close();
    store.cache.clear();
    this.state = undefined;
    this.table?.close();
    this.table = undefined;
  }

  /**
   * What the store holds of its file in memory now: pages (with or without
   * a decoded view), views, their bytes, and the limit (`cacheSize`) that
   * `bytes` never passes. Cheap, unlike `stats()`.
   */
  get cacheUse(): { pages: number; views: number; bytes: number; limit: number } {
    return this.open().pager.cacheUse;
  }

  /** Under `lookup: 'auto'`, what `stats().lookups` says, without reading the tree (cheap); else undefined. */
  get lookupCounts(): AutoStats | undefined {
    return this.auto?.stats;
  }

  /** XRP chains run so far by lookups and range scans (0 with `walk`; cached levels answer some lookups without one). */
  get xrpChains(): number {
    return this.xrp?.chains ?? 0;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  // ---- named databases ---------------------------------------------------------

  /**
   * The named database `name` of this file (lmdb-js's `openDB`): a handle
   * with the whole read and write API, its own key range of the file's tree
   * (keyspace.ts) and its own encodings, recorded in the file when the name
   * is new and checked when it is not (EncodingMismatchError). Its writes
   * commit in order with every other handle's, and inside a transaction
   * callback they join it (joined-tx.ts). Closing the root closes it;
   * closing it closes only it. `stats()`, `check()` and `backup()` are the
   * whole file's.
   */
  openDB<K2 = unknown, V2 = any>(name: string, options?: NamedOptions): Database<K2, V2>;
  openDB<K2 = unknown, V2 = any>(options: NamedOptions & { name: string }): Database<K2, V2>;
  openDB<K2 = unknown, V2 = any>(nameOrOptions: string | (NamedOptions & { name: string }), options?: NamedOptions): Database<K2, V2> {
    const root = this.rootDb;
    const state = root.open();
    const [name, asked] = namedArgs(nameOrOptions, options);
    const opened = root.catalog.open(new Snapshot(state, state.meta), name, askedEncodings(asked));
    if (opened.create) {
      const { key, value } = opened.create;
      // In the running transaction too, so that what it writes to the new database never commits without the record.
      this.joined.ops?.put(key, value);
      root.writeOps([{ type: 'put', key, value }]).catch(() => undefined); // a failed commit fails the handle's later writes too
    }
    const p = maxKeyLen(this.pageSize) - opened.prefix.length;
    const space = prefixedKeyspace(keyCodec(opened.encodings.keyEncoding, p), opened.prefix, p);
    return root.viewWith(space, opened.encodings, (view) => ({
      name: own(opened.name),
      // Its own state, once closed: then it refuses reads and writes, and the root goes on.
      close: own(() => (view.closing ??= ((view.state = undefined), root.writer.drain()))),
      backup: own((path: string) => root.backup(path)),
    })) as Database<K2, V2>;
  }

  /**
   * A handle over this one's store (this handle its prototype): its own keys
   * (`space`) and encodings, this handle's one open batch of puts (so that
   * writes apply in the order issued, whichever handle issued them), and
   * the properties `more` gives it.
   */
  private viewWith(space: Keyspace, encodings: Encodings, more: (view: Database<any, any>) => PropertyDescriptorMap): Database<any, any> {
    const view = Object.create(this) as Database<any, any>;
    Object.defineProperties(view, {
      space: own(space),
      keys: own(space.keys),
      values: own(valueCodec(encodings.valueEncoding)),
      keyEncoding: own(encodings.keyEncoding),
      valueEncoding: own(encodings.valueEncoding),
      openPuts: { get: () => this.openPuts, set: (v: Database['openPuts']) => (this.openPuts = v) },
      ...more(view),
    });
    return view;
  }

  /** The root database of this file (this one, unless this is a named database's handle). */
  private readonly rootDb: Database<any, any> = this;

  /** While a transaction callback of this file runs: it, as this handle's Transaction (joined-tx.ts). */
  private joinedTx(): Transaction<K, V> | undefined {
    const ops = this.joined.ops;
    if (ops === undefined) return undefined;
    this.writable(); // a closed handle does not join
    return this.txOf(ops);
  }

  private open(): StoreState {
    if (!this.state) throw new DatabaseClosedError(this.path);
    return this.state;
  }

  private writable(): Writer {
    if (this.closing || !this.state) throw new DatabaseClosedError(this.path);
    if (this.readOnly) throw new ReadOnlyError(this.path);
    return this.writer;
  }

  /** A registered snapshot of the last commit (its txid held in the slot until released); release it when done. */
  private snapshot(): Snapshot {
    const state = this.open();
    this.catchUpOnce(state);
    return this.snapshots.open(state);
  }
}
