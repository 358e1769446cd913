// Transactions that span databases, as lmdb-js's: while a callback of
// `transaction(fn)` or `transactionSync(fn)` runs, the reads and writes of
// every handle on the file (the root and its named databases: named-db.ts)
// go to the transaction it runs in, so they commit with it, or not at all
// when it throws. One JoinedTx per file, shared by its handles.
//
// Invariant: `ops` is set only while a callback runs (the writer calls it
// synchronously, and runTxn refuses its ops once it has returned), and is
// restored afterwards even when it throws.
import type { TxnOps } from './ops.js';

export class JoinedTx {
  /** The running callback's transaction, or undefined outside one. */
  ops: TxnOps | undefined;

  /** Runs `fn` with `ops` as the transaction every handle joins. */
  run<T>(ops: TxnOps, fn: () => T): T {
    const outer = this.ops;
    this.ops = ops;
    try {
      return fn();
    } finally {
      this.ops = outer;
    }
  }
}
