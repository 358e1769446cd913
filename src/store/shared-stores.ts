// The stores open in this process, one per file. A second `open()` of a
// file already open here, asking for the same store options, gets a handle
// on the first one's store (db.ts `share`): one cache, one writer, one
// reader slot, as lmdb-js's handles on one path share one environment.
// Two stores on one file would hold its pages twice and take turns at the
// write lock through the lock file (reader-table.ts), which is what handles
// in other processes do.
//
// The store options are the ones that shape the store rather than the
// handle: `sync`, `direct`, `cacheSize`, `cacheLevels`, `logLimit`,
// `lookup`, `xrpMode`, `prefetch`, `maxDbs`. A handle whose options differ
// opens a store of its own, as before; so does a writable handle when the
// open store is read-only. The encodings are the handle's own, checked
// against the file's (EncodingMismatchError), and so is `readOnly`.
import { statSync } from 'node:fs';
import { checkOptionNames } from './open-options.js';
import type { OpenOptions } from './db.js';

/** The file `path` names, as `dev:ino`; undefined when there is none (yet). */
export function fileKey(path: string): string | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * `options`' store options, normalized (defaults filled in) into a string
 * two handles can share a store by; undefined when they are not valid (the
 * store's own checks then say why).
 */
export function storeKey(options: OpenOptions): string | undefined {
  try {
    const { sync, prefetch } = checkOptionNames(options);
    return JSON.stringify([
      sync,
      prefetch,
      options.direct ?? 'default',
      // Not the default's value: that reads the memory limit, which open() reads once already.
      options.cacheSize ?? 'default',
      options.cacheLevels ?? 2,
      options.logLimit ?? null,
      options.lookup ?? 'auto',
      options.xrpMode ?? 'extended',
      options.maxDbs ?? null,
    ]);
  } catch {
    return undefined;
  }
}
