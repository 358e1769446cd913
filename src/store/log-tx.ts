// A write transaction that the log can take (log.ts): it collects each
// key's final state in this commit, reading through the last commit (log
// and tree) for keys it has not touched. Nothing is written until
// writer.ts decides the commit goes to the log, or folds these changes into
// a tree transaction (tx.ts) instead.
import { LogKind, loggable, type LogRecord } from './log.js';
import type { Snapshot } from './snapshot.js';

interface Change {
  key: Buffer;
  /** undefined: removed. */
  value: Buffer | undefined;
  /** Whether the key was there before this commit. */
  existed: boolean;
}

export class LogTx {
  private readonly changes = new Map<string, Change>();
  /** Set when a value is too long for a log record: the commit must rewrite the tree. */
  tooLarge = false;

  constructor(private readonly base: Snapshot) {}

  get size(): number {
    return this.changes.size;
  }

  get(key: Buffer): Buffer | undefined {
    const c = this.changes.get(key.toString('latin1'));
    return c ? c.value : this.base.get(key);
  }

  put(key: Buffer, value: Buffer): void {
    if (!loggable(value.length, this.base.store.pageSize)) this.tooLarge = true;
    const id = key.toString('latin1');
    const c = this.changes.get(id);
    if (c) c.value = value;
    else this.changes.set(id, { key, value, existed: this.existed(key) });
  }

  /**
   * The same as `put` for bytes in a packed batch (packed.ts), as views of
   * it: a batch is never changed once the writer has taken it, and what
   * outlives the commit copies them (the overlay into its arena, a tree
   * commit into pages).
   */
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number): void {
    this.put(src.subarray(keyStart, keyStart + keyLen), src.subarray(valueStart, valueStart + valueLen));
  }

  /** Whether `key` was there. */
  remove(key: Buffer): boolean {
    const id = key.toString('latin1');
    const c = this.changes.get(id);
    if (c) {
      const had = c.value !== undefined;
      c.value = undefined;
      return had;
    }
    const existed = this.existed(key);
    if (existed) this.changes.set(id, { key, value: undefined, existed });
    return existed;
  }

  /** The changes as log records: what each did to the key since the last commit. */
  records(): LogRecord[] {
    const out: LogRecord[] = [];
    for (const { key, value, existed } of this.changes.values()) {
      if (value !== undefined) out.push({ kind: existed ? LogKind.Overwrite : LogKind.Insert, key, value });
      else if (existed) out.push({ kind: LogKind.Remove, key, value: undefined });
    }
    return out;
  }

  /** Each changed key's final state: a value, or undefined where removed. */
  finals(): IterableIterator<Change> {
    return this.changes.values();
  }

  private existed(key: Buffer): boolean {
    return this.base.find(key) !== undefined;
  }
}
