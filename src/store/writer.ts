// The write queue: every write issued in one event-loop turn commits in one
// transaction (a `setImmediate` after the turn), and its promise settles only
// once that commit is durable: pages written, synced, meta written, synced.
// Writes issued while a commit is in flight form the next one. One commit at
// a time, so each starts from the last published state.
import { WriteFailedError, typeError } from './errors.js';
import { encodeMeta } from './meta.js';
import { FIELDS, PUT, PackedOps } from './packed.js';
import type { StoreState } from './snapshot.js';
import { WriteTx } from './tx.js';

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
  ) {}

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
    let write: ReturnType<WriteTx['commit']> | undefined;
    try {
      const tx = new WriteTx(this.state, this.oldestSnapshot());
      for (const item of items) outcomes.push(item.kind === 'ops' ? { ok: true, value: apply(tx, item.ops) } : runTxn(tx, item.fn));
      if (tx.changed) write = tx.commit();
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
      this.state.meta = write.meta;
      this.state.freelist = write.freelist;
      this.state.freelistPages = write.freelistPages;
    }
    items.forEach((item, i) => (outcomes[i].ok ? item.resolve(outcomes[i].value) : item.reject(outcomes[i].value)));
  }
}

function apply(tx: WriteTx, ops: Op[] | PackedOps): unknown {
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
function runTxn(tx: WriteTx, fn: (ops: TxOps) => unknown): { ok: boolean; value: unknown } {
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
