// Reading the file ahead when a handle opens, where it fits in memory with
// room to spare: into the kernel's page cache when reads are buffered, into
// the store's own cache when they are direct (cache-warmer.ts).
//
// Why: the store reads what a lookup needs, one page per level, so the
// first lookups after a restart run at the device's random read latency,
// one page at a time. Peers that map their file (lmdb-js, LevelDB's tables)
// fault pages in within the kernel's readahead windows and warm up several
// times faster on a file that fits in memory. Reading the file ahead in
// large sequential requests while lookups go on gives the store the same
// start; a lookup whose page has not arrived yet reads it itself.
//
// Buffered: posix_fadvise(WILLNEED) over the whole file, on a thread of the
// addon (crates/node/src/prefetch.rs), when the file is at most half of what
// the process may use beyond the store's cache (memory.ts). Direct: the
// tree's pages (not the free ones, not the log's) into the store's cache,
// when they fill at most WARM_FIT of it. Never when the file is larger:
// pages read ahead would push out the ones lookups need, which is what costs
// lmdb-js its speed on data larger than memory (docs/RESULTS.md). Never on a
// small file either: there is nothing to gain.
import { native } from '../native.js';
import { CacheWarmer } from './cache-warmer.js';
import { fileFits, memoryLimit, mib, type MemoryLimit } from './memory.js';
import type { Pager } from './pager.js';

/** `open`'s `prefetch`: `auto` (default) reads ahead when the file fits (above); `true` always; `false` never. */
export type Prefetch = boolean | 'auto';

/** Files of at most this many bytes are not worth it. */
const SMALL_FILE = 1 << 20;
/** Direct: warm the cache when the tree takes at most this share of `cacheSize`. */
const WARM_FIT = 0.75;

export interface PrefetchChoice {
  how: 'none' | 'kernel' | 'cache';
  reason: string;
}

/**
 * How to read ahead, and why (`stats().prefetch`): `fileBytes` is the file,
 * `treeBytes` its pages that are neither free nor the log's.
 */
export function prefetchChoice(
  asked: Prefetch,
  o: { fileBytes: number; treeBytes: number; direct: boolean; cacheSize: number },
  limit: () => MemoryLimit = memoryLimit,
): PrefetchChoice {
  if (asked === false) return { how: 'none', reason: 'prefetch: false was asked for' };
  if (o.direct) {
    if (asked === true) return { how: 'cache', reason: 'prefetch: true was asked for' };
    if (o.treeBytes <= SMALL_FILE) return { how: 'none', reason: `the tree is small (${o.treeBytes} bytes)` };
    const room = WARM_FIT * o.cacheSize;
    if (o.treeBytes > room) {
      return { how: 'none', reason: `the tree (${mib(o.treeBytes)}) is larger than ${WARM_FIT * 100}% of cacheSize (${mib(room)})` };
    }
    return { how: 'cache', reason: `the tree (${mib(o.treeBytes)}) fits in ${WARM_FIT * 100}% of cacheSize (${mib(room)})` };
  }
  if (asked === true) return { how: 'kernel', reason: 'prefetch: true was asked for' };
  if (o.fileBytes <= SMALL_FILE) return { how: 'none', reason: `the file is small (${o.fileBytes} bytes)` };
  const { fits, text } = fileFits(o.fileBytes, o.cacheSize, limit());
  return { how: fits ? 'kernel' : 'none', reason: text };
}

/** What `startPrefetch` started: the reason for `stats().prefetch`, and the warmer to stop before closing. */
export interface Prefetching {
  reason: string;
  warmer?: CacheWarmer;
}

/**
 * Starts reading ahead as `choice` says. `wanted` and `skip` are the
 * warmer's (cache-warmer.ts): which pages are the tree's at open, and which
 * are free by the time each read completes.
 */
export function startPrefetch(
  pager: Pager,
  pageCount: number,
  choice: PrefetchChoice,
  wanted: (pageNo: number) => boolean,
  skip: (pageNo: number) => boolean,
): Prefetching {
  if (choice.how === 'none') return { reason: `no: ${choice.reason}` };
  if (choice.how === 'cache') {
    const warmer = new CacheWarmer(pager, 0, pageCount, wanted, skip);
    return { reason: `into the store's cache, from open: ${choice.reason}`, warmer };
  }
  try {
    native.storePrefetch(pager.path, pageCount * pager.pageSize);
    // Behind the reads just started: the pages mapped in as they arrive.
    pager.populateMap(0, pageCount);
    return { reason: `into the kernel's page cache, from open: ${choice.reason}` };
  } catch (e) {
    // Advice only: the store reads the same without it.
    return { reason: `no: it could not be started (${(e as Error).message})` };
  }
}
