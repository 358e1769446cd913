// The log in memory: for each key the log has changed since the last
// checkpoint, its versions, newest first, each tagged with the txid of the
// commit that logged it. A snapshot of txid S sees, for such a key, the
// newest version with txid <= S, and the tree (at its own root) for every
// other key. A checkpoint (writer.ts) folds the latest versions into the tree
// and starts a new, empty overlay; snapshots taken before keep the old one,
// which nothing changes any more.
//
// Invariants:
// - a key, once in the overlay, stays until the overlay is replaced (only
//   versions that no open snapshot can see are dropped);
// - `delta` is what the log adds to the tree's count of keys: the meta's
//   `entries` minus the keys in the tree's leaves;
// - map keys are the keys' bytes as latin1 strings, one char per byte, so
//   JavaScript's string order is the tree's key order (memcmp, then length).
import { LogKind, countDelta, type LogRecord } from './log.js';

export interface Version {
  txid: number;
  key: Buffer;
  /** undefined: removed. */
  value: Buffer | undefined;
  older: Version | undefined;
}

export class Overlay {
  private readonly versions = new Map<string, Version>();
  /** Keys in order, rebuilt when a key joins; never changed once handed out. */
  private ordered: string[] | undefined;
  delta = 0;

  /** Keys the log has changed (removed ones included). */
  get size(): number {
    return this.versions.size;
  }

  /** The version of `key` a snapshot of `txid` sees; undefined when the tree decides. */
  find(key: Buffer, txid: number): Version | undefined {
    return this.visible(key.toString('latin1'), txid);
  }

  visible(id: string, txid: number): Version | undefined {
    let v = this.versions.get(id);
    while (v && v.txid > txid) v = v.older;
    return v;
  }

  /** The newest version of `id`, a key of `sorted()` (what a checkpoint folds into the tree). */
  newest(id: string): Version {
    return this.versions.get(id)!;
  }

  /**
   * Adds the records of commit `txid`, dropping versions that no snapshot
   * can see: below the newest one with txid <= `oldestSnapshot`.
   */
  apply(records: LogRecord[], txid: number, oldestSnapshot: number): void {
    for (const r of records) {
      const id = r.key.toString('latin1');
      const head = this.versions.get(id);
      if (!head) this.ordered = undefined;
      const v: Version = { txid, key: r.key, value: r.kind === LogKind.Remove ? undefined : r.value, older: head };
      for (let keep: Version = v; keep.older; keep = keep.older) {
        if (keep.txid <= oldestSnapshot) {
          keep.older = undefined;
          break;
        }
      }
      this.versions.set(id, v);
      this.delta += countDelta(r.kind);
    }
  }

  /** Every key in order, as latin1 strings. */
  sorted(): string[] {
    this.ordered ??= [...this.versions.keys()].sort();
    return this.ordered;
  }
}
