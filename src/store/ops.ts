// A commit's operations run on a transaction: the tree's (tx.ts) or the
// log's (log-tx.ts), which take the same calls. Batches come as operation
// lists or packed (packed.ts); `transaction(fn)` callbacks run over their
// own overlay, so that a callback that throws leaves nothing behind, and
// what they wrote can be applied again without running them again.
//
// The appliers are steps (pace.ts): the tree path lets the event loop turn
// while a long batch applies, the log path runs them at once. A large batch
// goes to the tree in key order (key-order.ts), which is what makes a
// shuffled batch cost what a sorted one does.
import { isPageFailure, typeError } from '../errors.js';
import { holds, type Condition } from './conditions.js';
import { keyOrder, type KeyOrder } from './key-order.js';
import { FIELDS, PUT, PackedOps } from './packed.js';
import { eachPaced, type Pace, type Steps } from './pace.js';
import { TxnWrites } from './txn-writes.js';

/** `if`: the write applies only if its key's current value meets it (conditions.ts). */
export type Op = { type: 'put'; key: Buffer; value: Buffer; if?: Condition } | { type: 'remove'; key: Buffer; if?: Condition };

/** Reads and writes inside `transaction(fn)`, with keys already encoded. */
export interface TxOps {
  get(key: Buffer): Buffer | undefined;
  put(key: Buffer, value: Buffer): void;
  remove(key: Buffer): boolean;
}

/** What a `transaction(fn)` callback gets: TxOps, and `nested`, whose writes can be undone alone. */
export interface TxnOps extends TxOps {
  /** Runs `fn`; if it throws, what it wrote is undone and the error thrown on (the transaction goes on). Nests. */
  nested<T>(fn: () => T): T;
  /**
   * `put` and `remove` of a key whose presence in the transaction the
   * caller knows (`present`), so that neither looks it up: a commit counts
   * its keys by whether each was there, and finding out walked the tree.
   * A wrong claim miscounts the store's keys (check() reports it).
   */
  putKnown(key: Buffer, value: Buffer, present: boolean): void;
  removeKnown(key: Buffer, present: boolean): void;
}

/** What `apply` and `runTxn` need of a transaction: tx.ts's and log-tx.ts's. */
export interface Writes extends TxOps {
  /**
   * A put of a packed batch's bytes (packed.ts: the key and value lie in a
   * leaf entry). `follows`: the key is above the key of the write just
   * before on this transaction, the same batch's put or remove in key
   * order, so that the tree's append tail (tx.ts) need not compare them.
   */
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number, follows?: boolean): void;
  /**
   * Whether large batches should come in key order: the tree's, where each
   * key then lands beside the last; the log's hash table does not care.
   */
  readonly prefersKeyOrder: boolean;
  /**
   * `put` and `remove` of a key whose presence before them the caller has
   * just read on this same transaction (`existed`), so that the
   * transaction need not look it up again to count it; only log-tx.ts
   * takes them (a tree transaction finds the key's leaf anyway).
   */
  putKnown?(key: Buffer, value: Buffer, existed: boolean): void;
  removeKnown?(key: Buffer, existed: boolean): void;
}

/**
 * Batches of fewer operations run in issue order. Sorted, shuffled keys
 * into a tree of a million took as long or less at every size measured
 * (1,024 keys: 133 ms against 148 to 285; 4,096: 423 to 502 against 598 to
 * 701), and below a few hundred the difference is lost in noise.
 */
export const KEY_ORDER_MIN = 256;

/**
 * Runs `ops` on `tx`; a single remove answers whether its key was there. A
 * damaged page fails the whole of it (it throws). With conditions, every
 * one is checked first, and the answer is false (nothing applied) when one
 * fails, else true (a single remove's: whether its key was there).
 */
export function* apply(tx: Writes, ops: Op[] | PackedOps, pace: Pace): Steps<unknown> {
  if (ops instanceof PackedOps) {
    yield* applyPacked(tx, ops, pace);
    return undefined;
  }
  const conditional = ops.some((op) => op.if !== undefined);
  if (conditional && !ops.every((op) => holds(op.if === undefined ? undefined : tx.get(op.key), op.if))) return false;
  let removed: boolean | undefined;
  for (const op of ops) {
    if (op.type === 'put') tx.put(op.key, op.value);
    else removed = tx.remove(op.key);
    if (pace.due()) yield;
  }
  if (ops.length === 1 && ops[0].type === 'remove') return removed;
  return conditional ? true : undefined;
}

/**
 * Runs a packed batch on `tx`, in key order when the transaction prefers
 * it and the batch is large. A batch is all or nothing (a damaged page
 * throws), except an `independent` one (db.put's): each of its operations
 * is a write of its own, and one that needs a page that cannot be read
 * fails alone, recorded in `ops.failures` by its index, and leaves nothing
 * in `tx`, since each operation of tx.ts and log-tx.ts reads all it needs
 * before it changes anything. The operations on its key that it superseded
 * fail with it (they needed the same pages). Operations that failed in an
 * earlier attempt at the commit are skipped. Returns how many failed now.
 */
export function* applyPacked(tx: Writes, ops: PackedOps, pace: Pace): Steps<number> {
  const sorted = tx.prefersKeyOrder ? yield* keyOrderOf(ops, pace) : null;
  const { bytes, ops: fields, count, independent } = ops;
  let failed = 0;
  // In key order (sorted, or issued so: a null order of a batch this large), each key is above the last applied.
  const ascending = sorted !== null || (tx.prefersKeyOrder && count >= KEY_ORDER_MIN);
  let applied = false;
  yield* eachPaced(count, pace, (k) => {
    let i = k;
    if (sorted) {
      if (sorted.superseded[k] === 1) return;
      i = sorted.order[k];
    }
    if (independent && ops.failures?.has(i)) return;
    const f = FIELDS * i;
    const follows = ascending && applied;
    applied = true;
    try {
      if (fields[f] === PUT) tx.putBytes(bytes, fields[f + 1], fields[f + 2], fields[f + 3], fields[f + 4], follows);
      else tx.remove(bytes.subarray(fields[f + 1], fields[f + 1] + fields[f + 2]));
    } catch (e) {
      if (!independent || !isPageFailure(e)) throw e;
      const failures = (ops.failures ??= new Map());
      failures.set(i, e);
      failed++;
      for (let s = k - 1; sorted && s >= 0 && sorted.superseded[s] === 1; s--, failed++) failures.set(sorted.order[s], e);
    }
  });
  return failed;
}

/** The key order `ops` runs in on a tree transaction, computed once; null: issue order. */
function* keyOrderOf(ops: PackedOps, pace: Pace): Steps<KeyOrder | null> {
  if (ops.count < KEY_ORDER_MIN) return null;
  if (ops.keyOrder === undefined) ops.keyOrder = (yield* keyOrder(ops.bytes, ops.ops, ops.count, pace)) ?? null;
  return ops.keyOrder;
}

/**
 * Whether the keys of `batches`' operations, taken in order, rise strictly
 * (as a sorted load's do); true when there are none.
 */
export function keysRise(batches: (Op[] | PackedOps)[]): boolean {
  // The previous key as a byte range: a packed batch's keys are compared
  // where they lie, with no view made of each (10,000 views took 2 to 3 ms
  // of the commit's first turn).
  let prev: Buffer | undefined;
  let prevAt = 0;
  let prevLen = 0;
  const rises = (src: Buffer, at: number, len: number): boolean => {
    const ok = prev === undefined || below(prev, prevAt, prevLen, src, at, len);
    prev = src;
    prevAt = at;
    prevLen = len;
    return ok;
  };
  for (const ops of batches) {
    if (ops instanceof PackedOps) {
      const { bytes, ops: f } = ops;
      for (let i = 0; i < FIELDS * ops.count; i += FIELDS) if (!rises(bytes, f[i + 1], f[i + 2])) return false;
    } else {
      for (const op of ops) if (!rises(op.key, 0, op.key.length)) return false;
    }
  }
  return true;
}

/** Whether the bytes `a[aAt, aAt + aLen)` sort strictly before `b[bAt, bAt + bLen)` (memcmp order, a prefix first). */
function below(a: Buffer, aAt: number, aLen: number, b: Buffer, bAt: number, bLen: number): boolean {
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = a[aAt + i] - b[bAt + i];
    if (d !== 0) return d < 0;
  }
  return aLen < bLen;
}

/** A transaction callback's run: its answer and what it wrote, to apply (again) without running it again. */
export interface TxnRun {
  value: unknown;
  writes: TxnWrites;
  /** The transaction it ran on: its writes' `existed` hold there only (a commit tried again starts a new one). */
  ranOn: TxOps;
}

/**
 * Runs a transaction callback over an overlay of the write transaction: its
 * writes reach the transaction only through `applyWrites`. If it throws (its
 * own error, or a page it read is damaged), `error` says why and nothing of
 * it remains, leaving the other writes of the commit alone.
 */
export function runTxn(tx: TxOps, fn: (ops: TxnOps) => unknown): { ok: true; run: TxnRun } | { ok: false; error: unknown } {
  const writes = new TxnWrites();
  /** Per open `nested` call, innermost last: each write's entry, and that entry's state and value before it, in order. */
  const journals: { entries: number[]; states: number[]; values: (Buffer | undefined)[] }[] = [];
  let open = true;
  const live = () => {
    if (!open) throw typeError('the transaction has ended: its callback must do all its work synchronously');
  };
  const read = (key: Buffer, e: number): Buffer | undefined => {
    if (writes.isWritten(e)) return writes.value(e);
    const v = tx.get(key);
    writes.notePresent(e, v !== undefined);
    return v;
  };
  /** Entry `e`, told (if nothing of this callback's says) that its key is `present` as the callback began. */
  const known = (e: number, present: boolean): number => {
    if (!writes.isWritten(e)) writes.notePresent(e, present);
    return e;
  };
  const write = (e: number, value: Buffer | undefined): void => {
    if (journals.length > 0) {
      const journal = journals[journals.length - 1];
      journal.entries.push(e);
      journal.states.push(writes.saved(e));
      journal.values.push(writes.value(e));
    }
    writes.write(e, value);
  };
  const ops: TxnOps = {
    get(key) {
      live();
      return read(key, writes.entry(key));
    },
    put(key, value) {
      live();
      write(writes.entry(key), value);
    },
    remove(key) {
      live();
      const e = writes.entry(key);
      const existed = read(key, e) !== undefined;
      write(e, undefined);
      return existed;
    },
    putKnown(key, value, present) {
      live();
      write(known(writes.entry(key), present), value);
    },
    removeKnown(key, present) {
      live();
      write(known(writes.entry(key), present), undefined);
    },
    nested<T>(inner: () => T): T {
      live();
      const journal = { entries: [] as number[], states: [] as number[], values: [] as (Buffer | undefined)[] };
      journals.push(journal);
      let value: T;
      try {
        value = inner();
      } catch (e) {
        journals.pop();
        // Newest first, so each key ends with what it had before `inner`.
        for (let i = journal.entries.length - 1; i >= 0; i--) writes.restore(journal.entries[i], journal.states[i], journal.values[i]);
        throw e;
      }
      journals.pop();
      // Kept: an enclosing call that fails undoes them too.
      const outer = journals[journals.length - 1];
      if (outer !== undefined) {
        for (let i = 0; i < journal.entries.length; i++) {
          outer.entries.push(journal.entries[i]);
          outer.states.push(journal.states[i]);
          outer.values.push(journal.values[i]);
        }
      }
      return value;
    },
  };
  try {
    const value = fn(ops);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
      Promise.resolve(value).catch(() => {}); // its rejection is reported as ours
      throw typeError('the transaction callback returned a promise: it must be synchronous (nothing it wrote is kept)');
    }
    return { ok: true, run: { value, writes, ranOn: tx } };
  } catch (e) {
    return { ok: false, error: e };
  } finally {
    open = false;
  }
}

/**
 * Applies what a transaction callback wrote to `tx`; a damaged page can stop
 * it part way (writer.ts undoes that). On the transaction it ran on, right
 * after it ran (nothing changed `tx` meanwhile), what its reads saw of a
 * key is what `tx` holds for it, so a key it read is not looked up again.
 */
export function* applyWrites(tx: Writes, run: TxnRun, pace: Pace): Steps<void> {
  const writes = run.writes.list();
  const hinted = run.ranOn === tx && tx.putKnown !== undefined && tx.removeKnown !== undefined;
  yield* eachPaced(writes.length, pace, (i) => {
    const { key, value, existed } = writes[i];
    if (hinted && existed !== undefined) {
      if (value === undefined) tx.removeKnown!(key, existed);
      else tx.putKnown!(key, value, existed);
    } else if (value === undefined) tx.remove(key);
    else tx.put(key, value);
  });
}
