// `stats()`: the shape of the tree as of one snapshot. It visits the branch
// pages only (the store's cache holds them, as a rule): the last level of
// branches names every leaf, so leaves are counted without being read, and
// overflow pages are what the file holds besides the tree, the freelist,
// the free pages and the log (an identity `check` verifies page by page).
// `fill` needs every leaf's bytes: `stats({ fill: true })` reads them all,
// and then counts overflow pages from the leaves that point at them.
import { typeError } from '../errors.js';
import { HEADER, META_PAGES, branchEntrySize, leafEntrySize, overflowCapacity } from '../format/page.js';
import type { Recovery, Snapshot } from './snapshot.js';
import type { AutoStats } from './auto-lookup.js';
import type { NamedStats } from './named-db.js';

export interface Stats {
  pageSize: number;
  /** Levels of the tree: 0 when empty, 1 when the root is a leaf. */
  height: number;
  /** Keys in the file: the root's, every named database's and their catalog records. */
  entries: number;
  /** The named databases (`openDB`) the file records, by name, with their entries and encodings (db.ts fills it in). */
  databases?: NamedStats[];
  /** Pages in the file (meta pages included). */
  pages: number;
  branchPages: number;
  leafPages: number;
  /** Counted from the file's other pages (see above); with `fill: true`, from the leaves. */
  overflowPages: number;
  freelistPages: number;
  /** Pages of the log: commits since the last checkpoint (FORMAT.md, "Log pages"). */
  logPages: number;
  /** Keys the log has changed since the last checkpoint (removed ones included). */
  logKeys: number;
  /** Pages on the freelist: reusable now, or once older snapshots close. */
  freePages: number;
  /** Of those, the ones waiting for snapshots. */
  pendingPages: number;
  /**
   * Bytes of the file the last commit uses (`pages` of `pageSize`), split
   * three ways that add up to it: `liveBytes`, pages the commit reaches
   * (the meta pages, branch, leaf, overflow and freelist pages); `freeBytes`,
   * the freelist's pages (`freePages`), which later commits reuse before
   * growing the file; `logBytes`, the log's pages, freed at the next
   * checkpoint. The file itself may be longer (pages past the end of a
   * failed commit), never shorter.
   */
  fileBytes: number;
  liveBytes: number;
  freeBytes: number;
  logBytes: number;
  /** Bytes used in branch and leaf pages over their total size, 0..1: only with `stats({ fill: true })`, which reads every leaf. */
  fill?: number;
  txid: number;
  /** How lookups run: `walk`, `xrp`, or `auto` (per lookup: `lookups` says how many took each path). */
  backend: 'auto' | 'walk' | 'xrp';
  /**
   * Under `auto` only: lookups the store's cache finished (`cached`), and of
   * those that read pages, how many walked, ran a sync chain, or ran in a
   * gathered batch (and how many batches); scans each way; what a
   * synchronous lookup that must read does now (`sync`, with each path's
   * recent cost per lookup). Lookups of keys the log holds are not counted.
   */
  lookups?: AutoStats;
  /** Whether the store reads and writes with O_DIRECT (the `direct` option). */
  direct: boolean;
  /** How the file is read and written, e.g. `direct (O_DIRECT, 512-byte blocks)`, or `buffered (why)`. */
  access: string;
  /** Whether buffered reads of tree pages copy them out of a map of the file (the `mapReads` option, where the addon can guard it). */
  mapReads: boolean;
  /** Whether opening read the file ahead into the kernel's page cache (the `prefetch` option), and why. */
  prefetch: string;
  cacheLevels: number;
  /** Decoded views held (pages of the top `cacheLevels` levels). */
  cachedPages: number;
  /** Bytes the store holds of its file in memory (pages and views: `db.cacheUse`), and their limit, `cacheSize`. */
  cacheBytes: number;
  cacheSize: number;
  /** What opening fell back from (`db.recovery`); absent when it opened the newest commit as it found it. */
  recovery?: Recovery;
  /** False once a commit failed: the handle refuses writes (`db.writeError` says why). */
  writable: boolean;
}

/** `stats()`'s options. */
export interface StatsOptions {
  /** Read every leaf too, to measure `fill` (a read of the whole tree: seconds or more on millions of pages). */
  fill?: boolean;
}

/** `options`, checked: an unknown option or a wrong type is a TypeError. */
export function statsOptions(options: unknown): Required<StatsOptions> {
  if (options === undefined) return { fill: false };
  if (typeof options !== 'object' || options === null) throw typeError(`stats() takes an options object, got ${String(options)}`);
  for (const name of Object.keys(options)) if (name !== 'fill') throw typeError(`stats(): unknown option '${name}'; the options are fill`);
  const { fill } = options as StatsOptions;
  if (fill !== undefined && typeof fill !== 'boolean') throw typeError('stats(): fill must be a boolean');
  return { fill: fill ?? false };
}

export function storeStats(snap: Snapshot, backend: 'auto' | 'walk' | 'xrp', writable: boolean, prefetch: string, lookups: AutoStats | undefined, options: Required<StatsOptions>): Stats {
  const { store, meta } = snap;
  const p = store.pageSize;
  const lastLevel = meta.height - 1;
  let branchPages = 0;
  let leafPages = 0;
  let leafOverflow = 0;
  let used = 0;
  const visit = (pageNo: number, depth: number): void => {
    if (depth === lastLevel) {
      leafPages++;
      if (!options.fill) return;
      const v = snap.view(pageNo, depth);
      used += HEADER;
      v.keys.forEach((k, i) => {
        const value = v.values[i];
        used += leafEntrySize(k.length, value, p);
        if (!Buffer.isBuffer(value)) leafOverflow += Math.ceil(value.length / overflowCapacity(p));
      });
      return;
    }
    const v = snap.view(pageNo, depth);
    branchPages++;
    used += HEADER;
    v.keys.forEach((k, i) => (used += branchEntrySize(i === 0 ? 0 : k.length)));
    if (depth + 1 === lastLevel && !options.fill) leafPages += v.children.length;
    else v.children.forEach((child) => visit(snap.checkPointer(pageNo, child), depth + 1));
  };
  if (meta.root !== 0) visit(meta.root, 0);
  const treePages = branchPages + leafPages;
  const overflowPages = options.fill
    ? leafOverflow
    : meta.pageCount - META_PAGES - treePages - store.freelistPages.length - store.freelist.size - meta.logPages;
  return {
    pageSize: p,
    height: meta.height,
    entries: meta.entries,
    pages: meta.pageCount,
    branchPages,
    leafPages,
    overflowPages,
    freelistPages: store.freelistPages.length,
    logPages: meta.logPages,
    logKeys: snap.overlay.size,
    freePages: store.freelist.size,
    pendingPages: store.freelist.pendingCount,
    fileBytes: meta.pageCount * p,
    liveBytes: (META_PAGES + treePages + overflowPages + store.freelistPages.length) * p,
    freeBytes: store.freelist.size * p,
    logBytes: meta.logPages * p,
    ...(options.fill ? { fill: treePages === 0 ? 0 : used / (treePages * p) } : {}),
    txid: meta.txid,
    backend,
    ...(lookups ? { lookups } : {}),
    direct: store.pager.directBlock > 0,
    access: store.pager.access,
    mapReads: store.pager.mapped,
    prefetch,
    cacheLevels: store.cacheLevels,
    cachedPages: store.cache.views,
    cacheBytes: store.cache.bytes,
    cacheSize: store.cache.limit,
    ...(store.recovery ? { recovery: store.recovery } : {}),
    writable,
  };
}
