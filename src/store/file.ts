// Opening a database file: create it if it is missing (whole or not at
// all; a read-only handle refuses a missing file), take a reader slot in
// the lock file beside it (reader-table.ts), and, when the write lock is
// free and the handle may write, make sure the disk holds what the kernel's
// cache says it does (stale-cache.ts); then pick the newest valid meta,
// check what it points at (the file's length, the freelist chain, the root
// page), and replay its log into the overlay (refresh.ts). What opening had to fall back from
// (a damaged meta page, a torn log commit, stale cached pages) is kept as
// `recovery`, for the handle to report.
import { closeSync, constants, fsyncSync, linkSync, mkdirSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { CorruptionError, StoreError } from '../errors.js';
import { decodeMeta, encodeMeta, metaPageOf, probePageSize, validMetas, type Meta } from '../format/meta.js';
import { META_PAGES, PAGE_SIZES, PageType } from '../format/page.js';
import { Pager } from './pager.js';
import { ReaderTable } from './reader-table.js';
import { chooseMeta, readCommitted } from './refresh.js';
import type { Recovery, StoreState } from './snapshot.js';
import { dropUnwrittenCommit, dropWritablePages } from './stale-cache.js';

/** The encodings' codes a meta records (format/meta.ts). */
export interface EncodingCodes {
  keyEncoding: number;
  valueEncoding: number;
}

export interface FileOptions {
  pageSize: number;
  /** What a new file records. */
  encodings: EncodingCodes;
  sync: boolean;
  direct: boolean | 'auto';
  /** Why `direct` is what it is, when it was not asked for (Pager's `access`). */
  directWhy?: string;
  /** Buffered reads through a map of the file (Pager's `mapReads`). */
  mapReads: boolean;
  cacheLevels: number;
  /** Bytes of the file the store may keep in memory (page-cache.ts). */
  cacheSize: number;
  /** Make an existing empty (0-byte) file a new database instead of refusing it. */
  initEmpty: boolean;
  /** Never write the file, nor take its write lock; a missing file is an error. */
  readOnly: boolean;
}

export interface OpenedFile {
  state: StoreState;
  table: ReaderTable;
}

/** The two meta pages of a new database: txids 0 and 1, an empty tree. */
function newMetaPages(pageSize: number, codes: EncodingCodes): Buffer {
  const metas = [0, 1].map((txid) =>
    encodeMeta({ txid, pageSize, root: 0, height: 0, pageCount: META_PAGES, freelist: 0, entries: 0, log: 0, logPages: 0, newLogPages: 0, newLogSum: 0, ...codes }),
  );
  return Buffer.concat(metas);
}

/** fsync of `path`'s directory, so that a name made or removed in it is durable. */
export function syncDirectory(path: string): void {
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/**
 * Makes the directories missing above `path` (as lmdb-js does for its
 * path), each synced into its parent when `sync` is on, so that a crash
 * cannot keep the database's name and lose the directory it is in.
 */
function makeParents(path: string, sync: boolean): void {
  const dir = resolve(dirname(path));
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined || !sync) return;
  // `syncDirectory(d)` syncs d's parent: every directory made, up to the first, which an existing one holds.
  for (let made = dir; ; made = dirname(made)) {
    syncDirectory(made);
    if (made === resolve(first) || made === dirname(made)) break;
  }
}

/**
 * Creates a new database at `path`, whole or not at all: its meta pages go
 * to a temporary file beside it, synced, which then gets the name with
 * link(2), which fails rather than replace a file another process made
 * meanwhile (then that one is opened). A failure (no space, EIO, a parent
 * that is not a directory) leaves nothing at `path` and throws
 * `StoreError` CREATE_FAILED.
 */
function createFile(path: string, pageSize: number, sync: boolean, codes: EncodingCodes): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.creating`);
  let fd: number | undefined;
  let made = false;
  try {
    makeParents(path, sync);
    fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o644);
    made = true;
    const pages = newMetaPages(pageSize, codes);
    for (let done = 0; done < pages.length; ) done += writeSync(fd, pages, done, pages.length - done, done);
    if (sync) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    try {
      linkSync(temporary, path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } catch (e) {
    throw new StoreError(`${path}: cannot create the database: ${(e as Error).message}`, 'CREATE_FAILED', { cause: e });
  } finally {
    if (fd !== undefined) closeSync(fd);
    if (made) unlinkSync(temporary);
  }
  if (sync) syncDirectory(path);
}

/** Makes an existing empty file a new database (`initEmpty`), in place. */
function initEmptyFile(pager: Pager, path: string, pageSize: number, codes: EncodingCodes): void {
  pager.pageSize = pageSize;
  const pages = newMetaPages(pageSize, codes);
  for (let slot = 0; slot < META_PAGES; slot++) pager.writeSync(slot, pages.subarray(slot * pageSize, (slot + 1) * pageSize));
  pager.flushSync();
  if (pager.sync) syncDirectory(path);
}

export function openFile(path: string, o: FileOptions): OpenedFile {
  if (!exists(path)) {
    if (o.readOnly) throw new StoreError(`${path} does not exist: a read-only handle opens an existing database only`, 'NOT_FOUND');
    createFile(path, o.pageSize, o.sync, o.encodings);
  }
  const pager = new Pager(path, { sync: o.sync, direct: o.direct, directWhy: o.directWhy, mapReads: o.mapReads, cacheSize: o.cacheSize, readOnly: o.readOnly });
  let table: ReaderTable | undefined;
  try {
    table = new ReaderTable(path);
    // Held until the state is read: a writer at work elsewhere reuses no
    // page of a commit at or after the published one, which every meta on
    // disk is (a writer publishes a commit after writing it).
    table.pin();
    // Repairs need the write lock: a writer at work elsewhere made them when it took it.
    if (!o.readOnly && !table.tryLockWrite() && pager.size === 0) table.lockWriteSync();
    if (pager.size === 0) {
      if (!o.initEmpty || o.readOnly) {
        throw new StoreError(
          `${path} is empty (0 bytes): not an xrpkv database, or one whose creation never finished; ` +
            'remove it to start a new database here, or open it with { initEmpty: true } to make it one',
          'EMPTY_FILE',
        );
      }
      initEmptyFile(pager, path, o.pageSize, o.encodings);
    } else {
      // Neither meta valid: take the size page 0 claims, so that validMetas's reasons make sense.
      const claimed = pager.readAt(44, 4);
      const claimedSize = claimed.length === 4 ? claimed.readUInt32LE(0) : 0;
      const fallback = (PAGE_SIZES as readonly number[]).includes(claimedSize) ? claimedSize : o.pageSize;
      pager.pageSize = probePageSize((offset, length) => pager.readAt(offset, length)) ?? fallback;
    }
    const p = pager.pageSize;
    const stale = table.writing ? dropUnwrittenCommit(pager) : undefined;
    const metaPages: [Buffer, Buffer] = [pager.readAt(0, p), pager.readAt(p, p)];
    const chosen = chooseMeta(validMetas(metaPages, path), (n) => pager.read(n, [PageType.Log]), path);
    const { meta } = chosen;
    const recovery = recoveryOf(metaPages, chosen, stale);
    if (pager.size < meta.pageCount * p) {
      const first = Math.floor(pager.size / p);
      throw new CorruptionError(first, `the file ends at byte ${pager.size}, but the meta counts ${meta.pageCount} pages (truncated?)`, path);
    }
    const committed = readCommitted(pager, meta, path);
    // Pages freed by commits no reader anywhere is older than are free now.
    committed.freelist.promote(table.oldest());
    if (table.writing) dropWritablePages(pager, committed.freelist.groups(), meta.pageCount);
    if (meta.root !== 0) pager.read(meta.root, [meta.height === 1 ? PageType.Leaf : PageType.Branch]);
    // A lock file made after the last commit (or by an older xrpkv) starts
    // at 0. Only a handle holding the write lock knows `meta` is no commit
    // still being written.
    if (table.writing) table.publish(meta.txid);
    table.unlockWrite();
    table.hold(undefined);
    const state: StoreState = { path, pager, pageSize: p, cacheLevels: o.cacheLevels, cache: pager.cache, meta, ...committed, recovery };
    return { state, table };
  } catch (e) {
    table?.close();
    pager.close();
    throw e;
  }
}

/** Whether `path` names something (a file open then reads; anything else it refuses). */
function exists(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_RDONLY));
    return true;
  } catch (e) {
    // ENOTDIR: a parent is a file; creating there fails, as CREATE_FAILED.
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw e;
  }
}

/**
 * What opening fell back from, if anything: a meta page that is not valid
 * (damaged, or torn by a crash while it was written), a newest commit whose
 * log pages did not all reach the disk, cached pages unlike the disk's.
 */
function recoveryOf(metaPages: [Buffer, Buffer], chosen: { meta: Meta; torn?: string }, stale: string | undefined): Recovery | undefined {
  const found: { page: number; reason: string }[] = [];
  metaPages.forEach((page, slot) => {
    const m = decodeMeta(page, slot);
    if (typeof m === 'string') found.push({ page: slot, reason: `meta page ${slot} is invalid (${m})` });
  });
  if (chosen.torn) found.push({ page: metaPageOf(chosen.meta.txid + 1), reason: chosen.torn });
  if (stale) found.push({ page: 0, reason: stale });
  if (found.length === 0) return undefined;
  const { txid } = chosen.meta;
  return { page: found[0]!.page, txid, reason: `${found.map((f) => f.reason).join('; ')}: opened at txid ${txid} (meta page ${metaPageOf(txid)})` };
}
