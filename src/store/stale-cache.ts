// Opening never builds on pages the disk may not hold.
//
// When a write-back fails (fdatasync returns EIO, or ENOSPC on a thin
// device), Linux keeps the pages it could not write in its cache, marked
// clean, holding the new bytes. Buffered reads return them until they are
// evicted (a remount, a reboot); the disk never had them. A commit whose sync
// failed is not acknowledged, but a later open in the same boot would read
// its pages from the cache and build new, acknowledged commits on them and
// over them, lost on the next reboot.
//
// A commit writes only three kinds of page: the meta pages, pages the
// commit before it left free, and pages past that commit's end of file
// (tx.ts, log-commit.ts). So before opening trusts any of them, it asks the
// kernel to drop them from its cache (storeDropCache: they are clean), and
// reads them again, from the disk:
// - the meta pages, before choosing a meta: a meta page that comes back
//   different was a failed commit's (reported as recovery);
// - the pages the newest commit appended to the log, before checking that
//   they all reached the disk (refresh.ts, chooseMeta);
// - once the meta is chosen, its free pages and everything past its end,
//   before any commit writes there.
// Every other page a commit can reach was written by a commit whose sync
// returned, so the cache and the disk agree on it.
// The kernel drops no page that a process has mapped, so the pager never
// maps meta or log pages (`mapReads` copies tree pages only, of 4 KiB
// pages) and unmaps its own map around each drop. Not yet handled: another
// process's map (a reader whose lookups copied tree pages out of its map)
// holding a page that was freed since, reused and written by the failed
// commit. On the thin device such a page was not rewritten to the disk by
// the reopen's later, synced commits (a reader process mapping the whole
// file, again every 50 ms, across the failure and the reopen: two of two
// runs lost the newest log page). Evicting those pages at opening (a hole
// punched in free runs, the file cut to its committed end) would close it.
import { validMetas } from '../format/meta.js';
import { META_PAGES, readHeader } from '../format/page.js';
import type { Pager } from './pager.js';

/**
 * Drops the meta pages and the newest log commit's pages from the cache and
 * reads them again; returns what changed (undefined: nothing).
 */
export function dropUnwrittenCommit(pager: Pager): string | undefined {
  const p = pager.pageSize;
  const changed: number[] = [];
  const metas = reread(pager, 0, META_PAGES, changed);
  let newest;
  try {
    newest = validMetas([metas.subarray(0, p), metas.subarray(p, 2 * p)])[0]!;
  } catch {
    newest = undefined;
  }
  // The chain as it reads from the disk; where it breaks, opening finds the commit torn.
  const seen = new Set<number>();
  for (let pageNo = newest?.log ?? 0; newest && seen.size < newest.newLogPages && pageNo >= META_PAGES && pageNo < newest.pageCount && !seen.has(pageNo); ) {
    seen.add(pageNo);
    const page = reread(pager, pageNo, 1, changed);
    if (page.length < p) break;
    pageNo = readHeader(page).next;
  }
  if (changed.length === 0) return undefined;
  const what = `page${changed.length > 1 ? 's' : ''} ${changed.join(', ')}`;
  return `the kernel's cache held ${what} unlike the disk (a commit whose write-back failed), and the disk's were used`;
}

/** Pages `first..first + count` as the disk holds them, dropped from the cache first; the ones that read differently before go to `changed`. */
function reread(pager: Pager, first: number, count: number, changed: number[]): Buffer {
  const p = pager.pageSize;
  const cached = pager.readAt(first * p, count * p);
  pager.dropCache(first * p, count * p);
  const disk = pager.readAt(first * p, count * p);
  for (let i = 0; i < count; i++) {
    if (!cached.subarray(i * p, (i + 1) * p).equals(disk.subarray(i * p, (i + 1) * p))) changed.push(first + i);
  }
  return disk;
}

/**
 * Drops from the cache every page the next commit may write: `free` (the
 * chosen meta's free pages) and everything from page `end` (its page count)
 * on. A failed commit may have left them cached with bytes the disk lacks.
 */
export function dropWritablePages(pager: Pager, free: readonly number[], end: number): void {
  const p = pager.pageSize;
  pager.dropCache(end * p, 0);
  const sorted = [...free].sort((a, b) => a - b);
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[j - 1]! + 1) j++;
    pager.dropCache(sorted[i]! * p, (j - i) * p);
    i = j;
  }
}
