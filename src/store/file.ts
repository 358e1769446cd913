// Opening a database file: take the writer lock, create the file's two meta
// pages if it is new, else pick the newest valid meta and check what it
// points at (the file's length, the freelist chain, the root page), and
// replay its log into the overlay.
import { fsyncSync, openSync, closeSync } from 'node:fs';
import { dirname } from 'node:path';
import { native, type StoreLockHandle } from '../native.js';
import { CorruptionError, LockError, StoreError } from '../errors.js';
import { Freelist } from './freelist.js';
import { readLogChain, tornLogCommit } from '../format/log.js';
import { encodeMeta, metaPageOf, probePageSize, validMetas, type Meta } from '../format/meta.js';
import { META_PAGES, PAGE_SIZES, PageType, decodeFreelist, readHeader } from '../format/page.js';
import { Overlay } from './overlay.js';
import { Pager } from './pager.js';
import type { PageView, StoreState } from './snapshot.js';

export interface FileOptions {
  pageSize: number;
  sync: boolean;
  direct: boolean;
  cacheLevels: number;
}

export interface OpenedFile {
  state: StoreState;
  lock: StoreLockHandle;
}

function lock(path: string): StoreLockHandle {
  try {
    return native.storeLock(path);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'LOCKED') {
      throw new LockError(path, `${path} is open for writing elsewhere (another process holds its lock)`, { cause: e });
    }
    throw new StoreError((e as Error).message, 'LOCK_FAILED', { cause: e });
  }
}

/** Writes the first two meta pages of an empty file: txids 0 and 1, an empty tree. */
function create(pager: Pager, path: string): void {
  for (const txid of [0, 1]) {
    const meta: Meta = { txid, pageSize: pager.pageSize, root: 0, height: 0, pageCount: META_PAGES, freelist: 0, entries: 0, log: 0, logPages: 0, newLogPages: 0, newLogSum: 0 };
    pager.writeSync(txid, encodeMeta(meta));
  }
  pager.flushSync();
  if (pager.sync) {
    // Make the new file's directory entry durable too.
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }
}

/** The freelist chain from `first`: its pages and the page numbers it lists. */
export function readFreelist(pager: Pager, meta: Meta): { pages: number[]; ids: number[] } {
  const pages: number[] = [];
  const ids: number[] = [];
  const seen = new Set<number>();
  for (let pageNo = meta.freelist, from = 0; pageNo !== 0; ) {
    if (pageNo < META_PAGES || pageNo >= meta.pageCount || seen.has(pageNo)) {
      throw new CorruptionError(from, `the freelist chain points at page ${pageNo}`, pager.path);
    }
    seen.add(pageNo);
    const page = pager.read(pageNo, [PageType.Freelist]);
    pages.push(pageNo);
    for (const id of decodeFreelist(page, pageNo)) {
      if (id < META_PAGES || id >= meta.pageCount || seen.has(id)) {
        throw new CorruptionError(pageNo, `it lists page ${id}, which cannot be free`, pager.path);
      }
      seen.add(id);
      ids.push(id);
    }
    from = pageNo;
    pageNo = readHeader(page).next;
  }
  return { pages, ids };
}

export function openFile(path: string, o: FileOptions): OpenedFile {
  const pager = new Pager(path, { sync: o.sync, direct: o.direct });
  let held: StoreLockHandle | undefined;
  try {
    held = lock(path);
    const size = pager.size;
    if (size === 0) {
      pager.pageSize = o.pageSize;
      create(pager, path);
    } else {
      // Neither meta valid: take the size page 0 claims, so that validMetas's reasons make sense.
      const claimed = pager.readAt(44, 4);
      const claimedSize = claimed.length === 4 ? claimed.readUInt32LE(0) : 0;
      const fallback = (PAGE_SIZES as readonly number[]).includes(claimedSize) ? claimedSize : o.pageSize;
      pager.pageSize = probePageSize((offset, length) => pager.readAt(offset, length)) ?? fallback;
    }
    const p = pager.pageSize;
    const meta = chooseMeta(validMetas([pager.readAt(0, p), pager.readAt(p, p)], path), (n) => pager.read(n, [PageType.Log]), path).meta;
    if (pager.size < meta.pageCount * p) {
      const first = Math.floor(pager.size / p);
      throw new CorruptionError(first, `the file ends at byte ${pager.size}, but the meta counts ${meta.pageCount} pages (truncated?)`, path);
    }
    const freelist = readFreelist(pager, meta);
    if (meta.root !== 0) pager.read(meta.root, [meta.height === 1 ? PageType.Leaf : PageType.Branch]);
    const overlay = new Overlay();
    const logPages: number[] = [];
    try {
      for (const { pageNo, txid, records } of readLogChain(meta.log, meta.logPages, meta.pageCount, (n) => pager.read(n, [PageType.Log]))) {
        overlay.apply(records, txid, Infinity);
        logPages.push(pageNo);
      }
    } catch (e) {
      if (e instanceof CorruptionError && e.path === undefined) throw new CorruptionError(e.page, e.reason, path);
      throw e;
    }
    const state: StoreState = {
      path,
      pager,
      pageSize: p,
      cacheLevels: o.cacheLevels,
      cache: new Map<number, PageView>(),
      meta,
      // The log chain may hold pages the freelist on disk still lists (log.ts).
      freelist: new Freelist(without(freelist.ids, logPages)),
      freelistPages: freelist.pages,
      overlay,
      logPages,
    };
    return { state, lock: held };
  } catch (e) {
    if (held) native.storeUnlock(held);
    pager.close();
    throw e;
  }
}

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

function without(ids: number[], taken: number[]): number[] {
  const set = new Set(taken);
  return ids.filter((id) => !set.has(id));
}
