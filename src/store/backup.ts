// `backup(path)`: a compacted copy of one snapshot, made while writers go
// on. The snapshot is registered for the whole copy, so no page it reaches
// is reused meanwhile; its entries (the log's merged in) are read in key
// order and written to a new file as ascending batches, which the append
// path packs into full leaves: the copy has no free pages, no log, and
// leaves as full as a sorted load makes them. It is written under a
// temporary name beside `path` and linked to `path` only once complete and
// synced, so `path` holds a whole copy or nothing (link(2) also refuses to
// replace a file that is there).
import { closeSync, fsyncSync, linkSync, openSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../errors.js';
import { range } from './cursor.js';
import { PackedOps } from './packed.js';
import type { Snapshot } from './snapshot.js';

/** Bytes of keys and values per commit of the copy: large enough for few syncs, small enough to bound memory. */
export const BACKUP_BATCH_BYTES = 4 << 20;

/** Where the copy is written before it gets its name. */
export function temporaryPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.backup`);
}

/**
 * Copies `snap`'s entries, raw, by `write` (each batch in key order; it
 * resolves once the batch is durable in the copy). `alive` throws once the
 * source is closed.
 */
export async function copyEntries(snap: Snapshot, write: (ops: PackedOps) => Promise<unknown>, alive: () => void): Promise<number> {
  let copied = 0;
  let packed = new PackedOps(1024, BACKUP_BATCH_BYTES);
  for (const [key, value] of range(snap, { reverse: false, limit: Infinity }, (k, v) => [k, snap.value(v)] as const, alive)) {
    packed.put(key, value);
    copied++;
    if (packed.byteLength >= BACKUP_BATCH_BYTES) {
      await write(packed);
      packed = new PackedOps(1024, BACKUP_BATCH_BYTES);
    }
  }
  if (packed.count > 0) await write(packed);
  return copied;
}

/** Gives the complete copy at `temporary` its name `path` (refusing to replace one), and makes the name durable. */
export function publishCopy(temporary: string, path: string): void {
  try {
    linkSync(temporary, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StoreError(`${path} exists: a backup never replaces a file`, 'EXISTS', { cause: e });
    throw e;
  } finally {
    rmSync(temporary, { force: true });
  }
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
