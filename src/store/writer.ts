// The write queue: every write issued in one event-loop turn commits in one
// transaction (a `setImmediate` after the turn), and its promise settles only
// once that commit is durable: pages written, synced, meta written, synced.
// Writes issued while a commit is in flight form the next one. One commit at
// a time, so each starts from the last published state.
//
// A commit goes one of two ways. A small one goes to the log (log.ts): its
// changes are appended as records, and the tree stays as it is. Any other
// (more than LOG_COMMIT_KEYS keys, a value too long for a record, or a log
// grown past its limits) is a checkpoint: a tree transaction (tx.ts)
// that takes in the log's changes, then the commit's own, rewrites the
// changed pages copy-on-write and empties the log. Either way the commit is
// durable when its promises settle, and snapshots see all of it or none.
import { WriteFailedError, typeError } from './errors.js';
import { countDelta, encodeLog } from './log.js';
import { LogTx } from './log-tx.js';
import { encodeMeta, type Meta } from './meta.js';
import { Overlay } from './overlay.js';
import { FIELDS, PUT, PackedOps } from './packed.js';
import { Snapshot, type StoreState } from './snapshot.js';
import { WriteTx } from './tx.js';

/** Default `logLimit`: keys the log holds before a checkpoint folds them into the tree. */
export const LOG_LIMIT = 65_536;
/** Log bytes on disk that force a checkpoint: bounds the file's growth and the replay at open. */
const LOG_BYTES = 16 << 20;
/**
 * The most keys one commit may log. A larger commit rewrites the tree: it
 * dirties enough leaves that writing them costs about what its records
 * would, and logging it would only write its bytes twice (bulk loads).
 */
export const LOG_COMMIT_KEYS = 4096;

export type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'remove'; key: Buffer };

/** Reads and writes inside `transaction(fn)`, with keys already encoded. */
export interface TxOps {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  remove(key: Buffer): boolean;
}

type Item =
  | { kind: 'ops'; ops: Op[] | PackedOps; resolve: (v: unknown) => void; reject: (e: unknown) => void }
  | { kind: 'txn'; fn: (tx: TxOps) => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void };

export class Writer {
  private queue: Item[] = [];
  private scheduled = false;
  private running: Promise<void> | undefined;
  /** Set by a failed write or sync: the file's state on disk is then unknown. */
  failed: WriteFailedError | undefined;

  constructor(
    private readonly state: StoreState,
    /** The txid of the oldest open snapshot, Infinity when none. */
    private readonly oldestSnapshot: () => number,
    /** Keys the log may hold; 0: every commit rewrites the tree. */
    private readonly logLimit = LOG_LIMIT,
  ) {
    this.commitLimit = Math.min(LOG_COMMIT_KEYS, logLimit);
  }
  /** Keys one commit may log (0 when there is no log). */
  private readonly commitLimit: number;

  /** Queues `ops`; resolves with `remove`'s answer for a single remove, else undefined. */
  write(ops: Op[] | PackedOps): Promise<unknown> {
    return this.enqueue((resolve, reject) => ({ kind: 'ops', ops, resolve, reject }));
  }

  transaction<T>(fn: (tx: TxOps) => T): Promise<T> {
    return this.enqueue((resolve, reject) => ({ kind: 'txn', fn, resolve, reject })) as Promise<T>;
  }

  /** Resolves when every queued write has committed (or failed). */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.start();
      await this.running;
    }
  }

  private enqueue(make: (resolve: (v: unknown) => void, reject: (e: unknown) => void) => Item): Promise<unknown> {
    if (this.failed) return Promise.reject(this.failed);
    const p = new Promise<unknown>((resolve, reject) => this.queue.push(make(resolve, reject)));
    if (!this.scheduled && !this.running) {
      this.scheduled = true;
      setImmediate(() => this.start());
    }
    return p;
  }

  private start(): void {
    this.scheduled = false;
    if (this.running) return;
    this.running = (async () => {
      try {
        while (this.queue.length > 0) await this.commit(this.queue.splice(0));
      } finally {
        this.running = undefined;
      }
    })();
  }

  private async commit(items: Item[]): Promise<void> {
    if (this.failed) return items.forEach((item) => item.reject(this.failed));
    const outcomes: { ok: boolean; value: unknown }[] = [];
    let write: Prepared | undefined;
    try {
      write = await this.prepare(items, outcomes);
    } catch (e) {
      // A page that cannot be read (corruption): nothing of this commit is written.
      return items.forEach((item) => item.reject(e));
    }
    if (write) {
      const { pager } = this.state;
      try {
        await pager.write(write.pages);
        await pager.flush();
        await pager.write(new Map([[write.meta.txid % 2, encodeMeta(write.meta)]]));
        await pager.flush();
      } catch (e) {
        this.failed = new WriteFailedError(this.state.path, e);
        return items.forEach((item) => item.reject(this.failed));
      }
      // Published: snapshots opened from now on see the commit.
      write.publish();
    }
    items.forEach((item, i) => (outcomes[i].ok ? item.resolve(outcomes[i].value) : item.reject(outcomes[i].value)));
  }

  /** Runs `items` (their outcomes go to `outcomes`) and lists what to write; undefined when nothing changed. */
  private async prepare(items: Item[], outcomes: { ok: boolean; value: unknown }[]): Promise<Prepared | undefined> {
    const { state } = this;
    let log: LogTx | undefined;
    const count = opCount(items);
    if (this.logLimit > 0 && count <= this.commitLimit && state.overlay.size + count <= this.logLimit) {
      log = new LogTx(new Snapshot(state, state.meta));
      for (const item of items) outcomes.push(item.kind === 'ops' ? { ok: true, value: apply(log, item.ops) } : runTxn(log, item.fn));
      const logged = this.logged(log);
      if (logged !== 'checkpoint') return logged;
    }
    // A checkpoint: the log's changes first, then this commit's.
    const tx = new WriteTx(state, this.oldestSnapshot(), state.overlay.delta);
    await fold(state.overlay, tx);
    tx.discard(state.logPages);
    if (log) {
      for (const c of log.finals()) {
        if (c.value === undefined) tx.remove(c.key);
        else tx.put(c.key, c.value);
      }
    } else {
      for (const item of items) outcomes.push(item.kind === 'ops' ? { ok: true, value: apply(tx, item.ops) } : runTxn(tx, item.fn));
    }
    if (!tx.changed) return undefined;
    const c = tx.commit();
    return {
      pages: c.pages,
      meta: c.meta,
      publish: () => {
        state.meta = c.meta;
        state.freelist = c.freelist;
        state.freelistPages = c.freelistPages;
        state.overlay = new Overlay();
        state.logPages = [];
      },
    };
  }

  /** `log`'s changes as a log commit; 'checkpoint' when the log cannot take them. */
  private logged(log: LogTx): Prepared | undefined | 'checkpoint' {
    const { state } = this;
    if (log.tooLarge || log.size > this.commitLimit || state.overlay.size + log.size > this.logLimit) return 'checkpoint';
    const records = log.records();
    if (records.length === 0) return undefined;
    const { meta, pageSize } = state;
    const txid = meta.txid + 1;
    // Free pages first, as a tree commit takes them; the freelist on disk is
    // not rewritten (log.ts: the chain wins over it). Promoting pages no
    // snapshot can reach any more changes nothing a reader sees; the pages
    // are taken from the freelist when the commit publishes.
    const { freelist } = state;
    freelist.promote(this.oldestSnapshot());
    let pageCount = meta.pageCount;
    let reused = 0;
    const allocate = () => {
      const page = freelist.peek(reused);
      if (page === undefined) return pageCount++;
      reused++;
      state.cache.delete(page);
      return page;
    };
    const { pages, newest } = encodeLog(pageSize, txid, records, allocate, meta.log);
    if ((meta.logPages + pages.size) * pageSize > LOG_BYTES) return 'checkpoint';
    let delta = 0;
    for (const r of records) delta += countDelta(r.kind);
    const next: Meta = { ...meta, txid, pageCount, log: newest, logPages: meta.logPages + pages.size, entries: meta.entries + delta };
    return {
      pages,
      meta: next,
      publish: () => {
        state.meta = next;
        freelist.take(reused);
        state.logPages.push(...pages.keys());
        state.overlay.apply(records, txid, this.oldestSnapshot());
      },
    };
  }
}

/**
 * Puts the log's changes into a checkpoint's transaction, in key order (keys
 * side by side share their leaf and path, so each page is decoded once), and
 * yields to the event loop every FOLD_SLICE keys: a checkpoint of tens of
 * thousands of keys takes a second or more, and reads go on meanwhile (they
 * see the last commit; nothing is written until the fold ends). Writes wait.
 */
async function fold(overlay: Overlay, tx: WriteTx): Promise<void> {
  let n = 0;
  for (const id of overlay.sorted()) {
    const v = overlay.newest(id);
    if (v.value === undefined) tx.remove(v.key);
    else tx.put(v.key, v.value);
    if (++n % FOLD_SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
  }
}
const FOLD_SLICE = 2048;

/** What a commit writes (pages, then the meta), and how it becomes visible once durable. */
interface Prepared {
  pages: Map<number, Buffer>;
  meta: Meta;
  publish(): void;
}

/** Keys the items' operations name (a transaction's are not known before it runs). */
function opCount(items: Item[]): number {
  let n = 0;
  for (const item of items) if (item.kind === 'ops') n += item.ops instanceof PackedOps ? item.ops.count : item.ops.length;
  return n;
}

/** What `apply` and `runTxn` need of a transaction: tx.ts's and log-tx.ts's. */
interface Writes extends TxOps {
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void;
}

function apply(tx: Writes, ops: Op[] | PackedOps): unknown {
  if (ops instanceof PackedOps) {
    const { bytes, ops: fields } = ops;
    for (let i = 0; i < FIELDS * ops.count; i += FIELDS) {
      if (fields[i] === PUT) tx.putBytes(bytes, fields[i + 1], fields[i + 2], fields[i + 3], fields[i + 4]);
      else tx.remove(bytes.subarray(fields[i + 1], fields[i + 1] + fields[i + 2]));
    }
    return undefined;
  }
  let removed: boolean | undefined;
  for (const op of ops) {
    if (op.type === 'put') tx.put(op.key, op.value);
    else removed = tx.remove(op.key);
  }
  return ops.length === 1 ? removed : undefined;
}

/**
 * Runs a transaction callback over an overlay of the write transaction: its
 * writes reach the transaction only if it returns; if it throws, they vanish
 * and its promise rejects, leaving the other writes of the commit alone.
 */
function runTxn(tx: TxOps, fn: (ops: TxOps) => unknown): { ok: boolean; value: unknown } {
  const overlay = new Map<string, { key: Buffer; value: Buffer | undefined }>();
  let open = true;
  const live = () => {
    if (!open) throw typeError('the transaction has ended: its callback must do all its work synchronously');
  };
  const ops: TxOps = {
    get(key) {
      live();
      const o = overlay.get(key.toString('latin1'));
      return o ? o.value : tx.get(key);
    },
    put(key, value) {
      live();
      overlay.set(key.toString('latin1'), { key, value });
    },
    remove(key) {
      live();
      const existed = ops.get(key) !== undefined;
      overlay.set(key.toString('latin1'), { key, value: undefined });
      return existed;
    },
  };
  let value: unknown;
  try {
    value = fn(ops);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
      Promise.resolve(value).catch(() => {}); // its rejection is reported as ours
      throw typeError('the transaction callback returned a promise: it must be synchronous (nothing it wrote is kept)');
    }
  } catch (e) {
    return { ok: false, value: e };
  } finally {
    open = false;
  }
  // Outside the try: a page that cannot be read here aborts the whole commit.
  for (const { key, value: v } of overlay.values()) {
    if (v === undefined) tx.remove(key);
    else tx.put(key, v);
  }
  return { ok: true, value };
}
