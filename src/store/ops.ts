// A commit's operations run on a transaction: the tree's (tx.ts) or the
// log's (log-tx.ts), which take the same calls. Batches come as operation
// lists or packed (packed.ts); `transaction(fn)` callbacks run over their
// own overlay, so that a callback that throws leaves nothing behind, and
// what they wrote can be applied again without running them again.
import { isPageFailure, typeError } from '../errors.js';
import { compareBytes } from '../format/page.js';
import { FIELDS, PUT, PackedOps } from './packed.js';

export type Op = { type: 'put'; key: Buffer; value: Buffer } | { type: 'remove'; key: Buffer };

/** Reads and writes inside `transaction(fn)`, with keys already encoded. */
export interface TxOps {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  remove(key: Buffer): boolean;
}

/** What `apply` and `runTxn` need of a transaction: tx.ts's and log-tx.ts's. */
export interface Writes extends TxOps {
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void;
}

/** Runs `ops` on `tx`; a single remove answers whether its key was there. */
export function apply(tx: Writes, ops: Op[] | PackedOps): unknown {
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
 * Whether the keys of `batches`' operations, taken in order, rise strictly
 * (as a sorted load's do); true when there are none.
 */
export function keysRise(batches: (Op[] | PackedOps)[]): boolean {
  let prev: Buffer | undefined;
  const rises = (key: Buffer): boolean => {
    const ok = prev === undefined || compareBytes(prev, key) < 0;
    prev = key;
    return ok;
  };
  for (const ops of batches) {
    if (ops instanceof PackedOps) {
      const { bytes, ops: f } = ops;
      for (let i = 0; i < FIELDS * ops.count; i += FIELDS) if (!rises(bytes.subarray(f[i + 1], f[i + 1] + f[i + 2]))) return false;
    } else {
      for (const op of ops) if (!rises(op.key)) return false;
    }
  }
  return true;
}

/** A transaction callback's run: its answer and what it wrote, to apply (again) without running it again. */
export interface TxnRun {
  value: unknown;
  writes: Map<string, { key: Buffer; value: Buffer | undefined }>;
}

/**
 * Runs a transaction callback over an overlay of the write transaction: its
 * writes reach the transaction only through `applyWrites`. If it throws (its
 * own error, or a page it read is damaged), `error` says why and nothing of
 * it remains, leaving the other writes of the commit alone.
 */
export function runTxn(tx: TxOps, fn: (ops: TxOps) => unknown): { ok: true; run: TxnRun } | { ok: false; error: unknown } {
  const writes: TxnRun['writes'] = new Map();
  let open = true;
  const live = () => {
    if (!open) throw typeError('the transaction has ended: its callback must do all its work synchronously');
  };
  const ops: TxOps = {
    get(key) {
      live();
      const o = writes.get(key.toString('latin1'));
      return o ? o.value : tx.get(key);
    },
    put(key, value) {
      live();
      writes.set(key.toString('latin1'), { key, value });
    },
    remove(key) {
      live();
      const existed = ops.get(key) !== undefined;
      writes.set(key.toString('latin1'), { key, value: undefined });
      return existed;
    },
  };
  try {
    const value = fn(ops);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
      Promise.resolve(value).catch(() => {}); // its rejection is reported as ours
      throw typeError('the transaction callback returned a promise: it must be synchronous (nothing it wrote is kept)');
    }
    return { ok: true, run: { value, writes } };
  } catch (e) {
    return { ok: false, error: e };
  } finally {
    open = false;
  }
}

/** Applies what a transaction callback wrote to `tx`; a damaged page can stop it part way (writer.ts undoes that). */
export function applyWrites(tx: TxOps, run: TxnRun): void {
  for (const { key, value } of run.writes.values()) {
    if (value === undefined) tx.remove(key);
    else tx.put(key, value);
  }
}

/**
 * Runs the operations of an `independent` batch (db.put's), each a write of
 * its own: one that needs a page that cannot be read fails alone, recorded
 * in `ops.failures` by its index, and leaves nothing in `tx`, since each
 * operation of tx.ts and log-tx.ts reads all it needs before it changes
 * anything. Operations that failed in an earlier attempt at the commit are
 * skipped. Returns how many failed now.
 */
export function applyEach(tx: Writes, ops: PackedOps): number {
  const { bytes, ops: fields, count } = ops;
  let failed = 0;
  for (let i = 0; i < count; ) {
    try {
      for (; i < count; i++) {
        if (ops.failures?.has(i)) continue;
        const f = FIELDS * i;
        if (fields[f] === PUT) tx.putBytes(bytes, fields[f + 1], fields[f + 2], fields[f + 3], fields[f + 4]);
        else tx.remove(bytes.subarray(fields[f + 1], fields[f + 1] + fields[f + 2]));
      }
    } catch (e) {
      if (!isPageFailure(e)) throw e;
      (ops.failures ??= new Map()).set(i++, e);
      failed++;
    }
  }
  return failed;
}
