// A commit's operations run on a transaction: the tree's (tx.ts) or the
// log's (log-tx.ts), which take the same calls. Batches come as operation
// lists or packed (packed.ts); `transaction(fn)` callbacks run over their
// own overlay, so that a callback that throws leaves nothing behind.
import { typeError } from '../errors.js';
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
interface Writes extends TxOps {
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

/**
 * Runs a transaction callback over an overlay of the write transaction: its
 * writes reach the transaction only if it returns; if it throws, they vanish
 * and its promise rejects, leaving the other writes of the commit alone.
 */
export function runTxn(tx: TxOps, fn: (ops: TxOps) => unknown): { ok: boolean; value: unknown } {
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
