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
// The kernel drops no page that a process has mapped: another process's
// map (a writer whose prefetch mapped the file in, a reader whose lookups
// copied pages out of its map; the pager unmaps its own around each drop)
// may keep a page the failed commit wrote. On the thin device such a page
// was not rewritten to the disk by the reopen's later, synced commits (a
// process mapping the whole file, again every 50 ms, across the failure
// and the reopen: both scenarios lost the newest log page). So:
// - the meta and log pages are read again past the cache, with O_DIRECT,
//   where the file system has it, and one that differs from the cache is
//   written back with the disk's bytes, so that every read after agrees;
// - pages past the committed end are cut off the file, and free pages
//   still cached after the drop get a hole punched over them: both take a
//   page out of every map.
// The test proves the cut (ENOSPC fails only appended pages' write-back);
// the rest covers pages whose write-back fails with EIO, which this
// machine cannot inject.
import { validMetas } from '../format/meta.js';
import { META_PAGES, readHeader } from '../format/page.js';
import type { FreeGroup } from './freelist.js';
import { MEMORY_PAGE, Pager } from './pager.js';

/**
 * Drops the meta pages and the newest log commit's pages from the cache and
 * reads them again; returns what changed (undefined: nothing).
 */
export function dropUnwrittenCommit(pager: Pager): string | undefined {
  const disk = diskReader(pager);
  try {
    return rereadNewest(pager, disk);
  } finally {
    disk?.close();
  }
}

/**
 * A read-only pager on the same file that reads past the kernel's cache
 * (O_DIRECT), or undefined: the store reads directly already, or the file
 * system has no O_DIRECT, or its blocks are larger than the pages.
 */
function diskReader(pager: Pager): Pager | undefined {
  if (pager.directBlock) return undefined;
  let disk: Pager | undefined;
  try {
    disk = new Pager(pager.path, { direct: 'auto', readOnly: true, cacheSize: 0, mapReads: false });
    disk.pageSize = pager.pageSize;
    if (disk.directBlock) return disk;
  } catch {
    // No O_DIRECT here: the drops alone.
  }
  disk?.close();
  return undefined;
}

function rereadNewest(pager: Pager, disk: Pager | undefined): string | undefined {
  const p = pager.pageSize;
  const changed: number[] = [];
  const metas = reread(pager, 0, META_PAGES, changed, disk);
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
    const page = reread(pager, pageNo, 1, changed, disk);
    if (page.length < p) break;
    pageNo = readHeader(page).next;
  }
  if (changed.length === 0) return undefined;
  const what = `page${changed.length > 1 ? 's' : ''} ${changed.join(', ')}`;
  return `the kernel's cache held ${what} unlike the disk (a commit whose write-back failed), and the disk's were used`;
}

/**
 * Pages `first..first + count` as the disk holds them: read through
 * `disk`, or again once dropped from the cache. The ones that read
 * differently from the cache go to `changed`; with `disk`, their cached
 * copies are overwritten with the disk's bytes, since the kernel may not
 * have dropped them (another process maps them), and every read after
 * must agree with the disk.
 */
export function reread(pager: Pager, first: number, count: number, changed: number[], disk: Pick<Pager, 'readAt'> | undefined): Buffer {
  const p = pager.pageSize;
  const cached = pager.readAt(first * p, count * p);
  pager.dropCache(first * p, count * p);
  const fresh = (disk ?? pager).readAt(first * p, count * p);
  for (let i = 0; i < count; i++) {
    const page = fresh.subarray(i * p, (i + 1) * p);
    if (cached.subarray(i * p, (i + 1) * p).equals(page)) continue;
    changed.push(first + i);
    if (disk && page.length === p) pager.writeSync(first + i, page);
  }
  return fresh;
}

/** Runs of consecutive page numbers in `ids`, as [first, count]. */
function runs(ids: readonly number[]): [number, number][] {
  const sorted = [...ids].sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i + 1;
    while (j < sorted.length && sorted[j] === sorted[j - 1]! + 1) j++;
    out.push([sorted[i]!, j - i]);
    i = j;
  }
  return out;
}

/**
 * Takes out of the cache every page the next commit may write: the chosen
 * meta's free pages (`groups`: the free ones under txid 0, then those
 * still pending) and everything from page `end` (its page count) on. A
 * failed commit may have left them cached with bytes the disk lacks.
 * Pages past `end` are cut off the file, which takes them out of every
 * process's map too. Free pages are dropped; any still cached after it is
 * mapped by some process, and one that no snapshot anywhere reads (the
 * txid 0 group) has a hole punched over it, which takes it out of the maps
 * as well: on the thin device a page a failed commit wrote and another
 * process kept mapped was not rewritten to the disk by later, synced
 * commits (test/store-thin-device.test.ts). A pending page was pending
 * when the failed commit ran too, so that commit did not write it.
 */
export function dropWritablePages(pager: Pager, groups: readonly FreeGroup[], end: number): void {
  const p = pager.pageSize;
  if (pager.size > end * p) pager.truncate(end * p);
  else pager.dropCache(end * p, 0);
  for (const g of groups) for (const [first, count] of runs(g.ids)) pager.dropCache(first * p, count * p);
  const free = groups.find((g) => g.txid === 0)?.ids ?? [];
  if (free.length === 0 || !pager.mapsTreePages) return;
  const resident = pager.residentPages(end * p);
  if (resident === undefined) return;
  // Pages are whole memory pages here (`mapsTreePages`): page n is memory pages n * k to (n + 1) * k - 1.
  const k = p / MEMORY_PAGE;
  for (const [first, count] of runs(free)) {
    if (!resident.subarray(first * k, (first + count) * k).includes(1)) continue;
    try {
      pager.punchHole(first * p, count * p);
    } catch {
      // A file system that cannot punch holes (EOPNOTSUPP): the drop is all there is, as before.
    }
  }
}
