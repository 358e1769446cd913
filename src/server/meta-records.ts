// What one data transaction (data.ts) has read and written of its keys'
// metadata records, so that a write group's commands on one collection
// (800 HSETs on one hash in a pipelined turn) find its metadata once and
// write it once, where each command cost two lookups (the raw record's a
// miss through the tree) and a write.
//
// Per key (by its latin1 string): the metadata record as the transaction
// sees it, for a key known to have no raw record (undefined: none either).
// A record the transaction changed is written to the store's view when
// `flush` runs, not as each command changes it: before any range read
// (data.ts reads ranges only through `Data.range`, which flushes) and when
// the transaction ends (`Data.finish`).
//
// What must hold:
// - an entry is the key's record as the transaction sees it: the view's,
//   or a write not flushed yet (`unwritten`); every write of a raw or
//   metadata record goes through data.ts, which keeps the entry in step;
// - a command that throws leaves the entries as they were when it began:
//   while one runs (`begin` ... `end`), each change is journalled, and
//   `rollback` puts them back in reverse order, its flushes included (the
//   view undoes the writes a flush made inside it, TxnView.nested), so
//   what earlier commands wrote is written at the next flush still.
import { metaKey } from './layout.js';
import type { StoreView } from './store-view.js';

/** Keys remembered at most: past this, `flush` and forget them all (a write group's keys, bounded). */
const REMEMBERED_KEYS = 4096;

/** One change, as it was before: whether the key had an entry, its record, and its key if the record was unwritten. */
interface Change {
  name: string;
  had: boolean;
  record: Buffer | undefined;
  unwritten: Buffer | undefined;
}

export class MetaRecords {
  private readonly records = new Map<string, Buffer | undefined>();
  /** Keys whose entry the view does not have yet, by name. */
  private readonly unwritten = new Map<string, Buffer>();
  /** The running command's changes, innermost command last (`begin` / `end`). */
  private journals: Change[][] = [];

  /** Whether `name` has an entry (then `record` is its record). */
  has(name: string): boolean {
    return this.records.has(name);
  }

  record(name: string): Buffer | undefined {
    return this.records.get(name);
  }

  /** A key found with no raw record, and `record` its metadata record (undefined: none). */
  found(view: StoreView, name: string, record: Buffer | undefined): void {
    if (this.records.size >= REMEMBERED_KEYS) {
      this.flush(view);
      // Forgetting is safe (the view holds every entry now); a rollback puts back only what its command changed.
      this.records.clear();
    }
    this.set(name, record, undefined);
  }

  /** The transaction wrote `record` as `key`'s metadata record: written to the view at the next flush. Only for a key with an entry. */
  wrote(name: string, key: Buffer, record: Buffer): void {
    this.set(name, record, key);
  }

  /** The view's metadata record of `name` was removed (its raw record is unchanged). */
  removed(name: string): void {
    if (this.records.has(name)) this.set(name, undefined, undefined);
  }

  /** The key's raw record changed: `find` must look again. */
  forget(name: string): void {
    if (!this.records.has(name)) return;
    this.journal(name);
    this.records.delete(name);
    this.unwritten.delete(name);
  }

  /** Writes the records not yet written to `view`. */
  flush(view: StoreView): void {
    if (this.unwritten.size === 0) return;
    for (const [name, key] of this.unwritten) {
      this.journal(name);
      view.put(metaKey(key), this.records.get(name)!);
    }
    this.unwritten.clear();
  }

  /** A command begins: its changes are journalled until `end` or `rollback`. */
  begin(): void {
    this.journals.push([]);
  }

  /** The command ended well: its changes stand (an enclosing command's rollback still undoes them). */
  end(): void {
    const done = this.journals.pop()!;
    const outer = this.journals[this.journals.length - 1];
    if (outer !== undefined) for (const c of done) outer.push(c);
  }

  /** The command threw: every entry it changed is as it was before it. */
  rollback(): void {
    const done = this.journals.pop()!;
    for (let i = done.length - 1; i >= 0; i--) {
      const { name, had, record, unwritten } = done[i]!;
      if (had) this.records.set(name, record);
      else this.records.delete(name);
      if (unwritten !== undefined) this.unwritten.set(name, unwritten);
      else this.unwritten.delete(name);
    }
  }

  /** Forgets every entry, writing what is unwritten first (FLUSHDB inside EXEC removes every record). */
  clear(view: StoreView): void {
    this.flush(view);
    this.records.clear();
  }

  private set(name: string, record: Buffer | undefined, unwritten: Buffer | undefined): void {
    this.journal(name);
    this.records.set(name, record);
    if (unwritten !== undefined) this.unwritten.set(name, unwritten);
    else this.unwritten.delete(name);
  }

  /** Journals `name`'s entry as it is, while a command runs. */
  private journal(name: string): void {
    const journal = this.journals[this.journals.length - 1];
    if (journal !== undefined) journal.push({ name, had: this.records.has(name), record: this.records.get(name), unwritten: this.unwritten.get(name) });
  }
}
