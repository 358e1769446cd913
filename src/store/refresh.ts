// The committed state as the file holds it, read at open and again whenever
// another handle (another thread or process) has committed since: readers
// before each read, a writer when it takes the write lock (writer.ts).
//
// A move to a newer commit replays only the log records it lacks when the
// tree is the one it has (the newest log page it knows is still in the new
// chain, unchanged: a log page is never rewritten while a meta reaches it,
// so finding it with its own txid proves no checkpoint came between).
// Otherwise a checkpoint came between: the log is read whole into a new
// overlay, and the page cache is cleared, since a checkpoint may have freed
// and another commit reused any page it held. Snapshots taken before keep
// their meta and their overlay, whose older versions the move keeps.
//
// Invariant: the caller holds a reader slot at or below the txid it moves
// to (reader-table.ts `pin`) or the write lock, so nothing it reads here is
// rewritten meanwhile.
import { CorruptionError } from '../errors.js';
import { decodeLog, readLogChain } from '../format/log.js';
import { metaPageOf, validMetas, type Meta } from '../format/meta.js';
import { META_PAGES, PageType, decodeFreelist, readHeader } from '../format/page.js';
import { Freelist, type FreeGroup } from './freelist.js';
import { Overlay } from './overlay.js';
import type { Pager } from './pager.js';
import { tornLogCommit } from '../format/log.js';
import type { StoreState } from './snapshot.js';

/** What a commit holds besides its tree, as the file has it. */
export interface Committed {
  freelist: Freelist;
  freelistPages: number[];
  overlay: Overlay;
  logPages: number[];
}

const LOG: readonly PageType[] = [PageType.Log];

/**
 * The meta to open with: the newest valid one, unless it is a log commit
 * whose pages did not all reach the disk (a crash between its write and its
 * sync: log.ts, `tornLogCommit`); then the commit before it, whose meta is
 * the other one (its sync returned before that commit's writes began).
 * `torn` says why the newest was passed over.
 */
export function chooseMeta(metas: Meta[], read: (pageNo: number) => Buffer, path?: string): { meta: Meta; torn?: string } {
  const [newest, previous] = metas;
  const torn = tornLogCommit(newest, read);
  if (torn === undefined) return { meta: newest };
  const why = `the meta of txid ${newest.txid} (page ${metaPageOf(newest.txid)}) is newest, but ${torn}`;
  if (previous?.txid !== newest.txid - 1) {
    throw new CorruptionError(metaPageOf(newest.txid), `${why}, and there is no meta of txid ${newest.txid - 1} to fall back to`, path);
  }
  return { meta: previous, torn: why };
}

/** The newest commit the file holds (`chooseMeta` over both meta pages, read past the store's cache). */
export function newestMeta(pager: Pager, path: string): Meta {
  const p = pager.pageSize;
  const metas = validMetas([pager.readAt(0, p), pager.readAt(p, p)], path);
  return chooseMeta(metas, (n) => readPast(pager, n, LOG), path).meta;
}

/** Page `pageNo`, read from the file whatever the cache holds (it may hold a page since reused). */
function readPast(pager: Pager, pageNo: number, types: readonly PageType[]): Buffer {
  pager.cache.delete(pageNo);
  return pager.read(pageNo, types);
}

/**
 * The freelist chain of `meta`: its pages, and the pages it lists by the
 * txid that freed them (freelist.ts; 0: free).
 */
export function readFreelist(pager: Pager, meta: Meta): { pages: number[]; groups: FreeGroup[] } {
  const pages: number[] = [];
  const groups: FreeGroup[] = [];
  const seen = new Set<number>();
  for (let pageNo = meta.freelist, from = 0; pageNo !== 0; ) {
    if (pageNo < META_PAGES || pageNo >= meta.pageCount || seen.has(pageNo)) {
      throw new CorruptionError(from, `the freelist chain points at page ${pageNo}`, pager.path);
    }
    seen.add(pageNo);
    const page = readPast(pager, pageNo, [PageType.Freelist]);
    pages.push(pageNo);
    const ids = decodeFreelist(page, pageNo);
    for (const id of ids) {
      if (id < META_PAGES || id >= meta.pageCount || seen.has(id)) {
        throw new CorruptionError(pageNo, `it lists page ${id}, which cannot be free`, pager.path);
      }
      seen.add(id);
    }
    const h = readHeader(page);
    groups.push({ txid: h.txid, ids });
    from = pageNo;
    pageNo = h.next;
  }
  return { pages, groups };
}

/** The freelist and the log of `meta`, read whole. */
export function readCommitted(pager: Pager, meta: Meta, path: string): Committed {
  const freelist = readFreelist(pager, meta);
  const overlay = new Overlay();
  const logPages: number[] = [];
  try {
    for (const { pageNo, txid, records } of readLogChain(meta.log, meta.logPages, meta.pageCount, (n) => readPast(pager, n, LOG))) {
      overlay.apply(records, txid, Infinity);
      logPages.push(pageNo);
    }
  } catch (e) {
    if (e instanceof CorruptionError && e.path === undefined) throw new CorruptionError(e.page, e.reason, path);
    throw e;
  }
  // The log chain may hold pages the freelist on disk still lists (log.ts).
  const taken = new Set(logPages);
  const groups = freelist.groups.map(({ txid, ids }) => ({ txid, ids: ids.filter((id) => !taken.has(id)) }));
  return { freelist: new Freelist(groups), freelistPages: freelist.pages, overlay, logPages };
}

/**
 * Moves `state` to `meta`, a newer commit than its own. `oldestSnapshot`:
 * the txid of this handle's oldest open snapshot (Infinity when none),
 * whose overlay versions are kept.
 */
export function moveTo(state: StoreState, meta: Meta, oldestSnapshot: number): void {
  const { pager, path } = state;
  const added = newLogPages(state, meta);
  if (added !== undefined) {
    const keep = Math.min(oldestSnapshot, state.meta.txid);
    for (let k = added.length - 1; k >= 0; k--) {
      const { pageNo, txid, page } = added[k];
      state.overlay.apply(decodeLog(page, pageNo), txid, keep);
      state.logPages.push(pageNo);
    }
    // Log commits take free pages without rewriting the freelist (log.ts).
    const taken = new Set(added.map((a) => a.pageNo));
    state.freelist = new Freelist(state.freelist.groups().map(({ txid, ids }) => ({ txid, ids: ids.filter((id) => !taken.has(id)) })));
  } else {
    state.cache.clear();
    const c = readCommitted(pager, meta, path);
    state.overlay = c.overlay;
    state.logPages = c.logPages;
    state.freelist = c.freelist;
    state.freelistPages = c.freelistPages;
  }
  state.meta = meta;
}

/**
 * The log pages `meta` has beyond `state`'s, newest first, when its chain
 * ends in the newest page `state` knows, unchanged; else undefined.
 */
function newLogPages(state: StoreState, meta: Meta): { pageNo: number; txid: number; page: Buffer }[] | undefined {
  const known = state.meta;
  if (known.logPages === 0 || meta.root !== known.root || meta.logPages <= known.logPages) return undefined;
  const want = meta.logPages - known.logPages;
  const out: { pageNo: number; txid: number; page: Buffer }[] = [];
  for (let pageNo = meta.log; out.length <= want; ) {
    if (pageNo < META_PAGES || pageNo >= meta.pageCount) return undefined;
    const page = readPast(state.pager, pageNo, LOG);
    const h = readHeader(page);
    if (h.txid <= known.txid) return pageNo === known.log && out.length === want ? out : undefined;
    out.push({ pageNo, txid: h.txid, page });
    pageNo = h.next;
  }
  return undefined;
}
