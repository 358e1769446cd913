// Page I/O on the database file: whole-page reads (verified), commits (their
// pages, meta and syncs, by one of the two protocols of docs/FORMAT.md "Meta
// pages"), and syncs. The pager never decides *what* to write where; `tx.ts`
// and `log-commit.ts` guarantee it only writes pages no snapshot can reach.
//
// Memory: one cache (page-cache.ts), bounded by `cacheSize`, and no page in
// two caches at once. Which pages enter depends on how the file is read:
// - buffered (the default): branch pages only, the levels above the leaves
//   that every lookup passes (under 1% of a tree of 4 KiB pages). Leaves and
//   overflow pages stay in the kernel's page cache alone, which keeps them
//   across restarts and gives them back under memory pressure; a lookup
//   reads its leaf into a reused buffer (`readShared`) and verifies it
//   each time: a copy (or a syscall) and a checksum per lookup, the price
//   of holding each page once (docs/ARCHITECTURE.md, "Memory");
// - direct (`direct: true`, O_DIRECT): every tree page, since the kernel
//   keeps none: this cache is the buffer pool, as in a database that does
//   its own caching, and what the XRP kernel path needs.
// Buffered, a page is copied out of a read-only map of the file when the
// addon can guard the copy (`mapReads`, crates/node/src/file_map.rs), its
// checksum checked in the same call: no system call when the kernel has the
// page. A fault (a failed read, a page past the end) falls back to `pread`,
// which reports it; the map and `pread` read the same page cache.
// A hit costs neither a syscall nor a checksum. Pages this pager writes
// replace their cached copies, so the cache never holds a page's old
// contents under a reused number. Cached buffers are shared: callers must
// not modify a page `read` returns.
//
// Direct I/O: O_DIRECT wants memory, offsets and lengths aligned to the
// device's logical block: reads go through an aligned buffer, commits'
// writes through the addon's aligned copy (its commit calls), the meta pages
// of a new file through an aligned buffer here (a copy of each page, far
// cheaper than the I/O), and the page size must be a multiple of the block
// size (`directBlock`).
import { closeSync, fstatSync, ftruncateSync, openSync, read, readSync, writeSync, fdatasyncSync, constants } from 'node:fs';
import { promisify } from 'node:util';
import { native, type FileMapHandle, type StagedPagesHandle } from '../native.js';
import { alignedBuffer } from '../aligned.js';
import { CorruptionError, ReadFailedError, UnsupportedError } from '../errors.js';
import { CHECKSUMMED, HEADER_FIELDS, META_PAGES, PageType, verifyPage } from '../format/page.js';
import { encodeMeta, metaPageOf, type Meta } from '../format/meta.js';
import { PageCache } from './page-cache.js';
import { WARM_SHARE } from './cache-warmer.js';
import { defaultCacheSize } from './memory.js';
import type { Pace, Steps } from './pace.js';

const TYPE = HEADER_FIELDS.type;
const readAsync = promisify(read);
/** What enters the cache: with O_DIRECT every tree page, buffered only branch pages (see above). */
const directCacheable = (type: number) => type === PageType.Branch || type === PageType.Leaf || type === PageType.Overflow;
const bufferedCacheable = (type: number) => type === PageType.Branch;
/** `storeMapRead`'s answer for a page read whose checksum holds (crates/node/src/file_map.rs). */
const MAP_READ = 0;
/** The memory page: the map's unit, and the least page size whose pages it maps (`mappable`). */
export const MEMORY_PAGE = 4096;
/**
 * Reads that may come from the map: tree pages only, of files whose pages
 * are whole memory pages. Meta and log pages always go through `pread`, so
 * that no map of this or another process holds them (a smaller page shares
 * its memory page with others, the meta pages among them): a page mapped
 * anywhere cannot be dropped from the kernel's cache, and opening must
 * drop the meta and log pages a failed commit left there (stale-cache.ts).
 */
const mappable = (types: readonly PageType[] | undefined, pageSize: number) =>
  pageSize >= MEMORY_PAGE && types !== undefined && types.every((t) => t === PageType.Branch || t === PageType.Leaf || t === PageType.Overflow);

/** A commit's pages as the addon holds them for its job (`Pager.stage`), and their numbers. */
export interface StagedPages {
  handle: StagedPagesHandle;
  pageNos: number[];
}

export interface PagerOptions {
  /** fdatasync after writing (default true); false trades durability for speed. */
  sync?: boolean;
  /** O_DIRECT reads and writes (default false); `auto`: where the file system allows it, else buffered. */
  direct?: boolean | 'auto';
  /** Why `direct` is what it is, when it was not asked for: added to `access`. */
  directWhy?: string;
  /** Buffered reads through a map of the file where the addon can guard them (default true). */
  mapReads?: boolean;
  /** Open for reading only (check.ts); the file must exist. */
  readOnly?: boolean;
  /** Bytes the cache may hold (default `defaultCacheSize()`: memory.ts; 0: none). */
  cacheSize?: number;
}

/**
 * The logical block size direct I/O on `path` must be aligned to; throws
 * UnsupportedError when its file system refuses O_DIRECT.
 */
function directBlock(path: string): number {
  let handle;
  try {
    handle = native.xrpOpen(path, 'require');
  } catch (e) {
    throw new UnsupportedError(`direct: true needs O_DIRECT, which ${path} refuses: ${(e as Error).message}`, { cause: e });
  }
  try {
    const [, blockSize] = native.xrpFileInfo(handle);
    return blockSize;
  } finally {
    native.xrpClose(handle);
  }
}

export class Pager {
  #pageSize = 0;
  readonly sync: boolean;
  /** Verified pages and decoded views (snapshot.ts), within `cacheSize`. */
  readonly cache: PageCache;
  /** Whether a page of this type may enter the cache. */
  private cacheable: (type: number) => boolean;
  /** The device's logical block size with O_DIRECT; 0 for buffered I/O. */
  directBlock = 0;
  /** How the file is read and written, and for `direct: 'auto'` why. */
  access: string;
  private fd: number;
  private readonly flags: number;
  /** Whether buffered reads may use a map of the file (`mapReads`). */
  private readonly mapReads: boolean;
  /** The map buffered reads copy pages out of; null: every read is a `pread`. */
  private map: FileMapHandle | null = null;
  /** Set when `dropCache` unmapped the map: the next read maps the file again. */
  private remap = false;
  private readonly autoDirect: boolean;
  /** Reused buffers, grown on demand: direct I/O's aligned ones for reads and for `writeSync`. */
  private readonly buffers: Record<'read' | 'write', Buffer> = {
    read: Buffer.alloc(0),
    write: Buffer.alloc(0),
  };
  /** Commits reach the disk in the order `commit` was called (crates/node/src/commit_order.rs). */
  private readonly order = native.storeCommitOrder();
  /** The page `readShared` last read without keeping it; overwritten by its next such read. */
  private shared = Buffer.alloc(0);
  /**
   * The ranges `warm` is reading now, each with the pages written into it
   * since its read began: those it must not cache, since the read may have
   * returned their bytes from before the write.
   */
  private readonly warming = new Set<{ first: number; end: number; written: Set<number> }>();
  /** Pages of commits whose writes have not finished (page -> commits writing it): a read may return their old bytes. */
  private readonly unwritten = new Map<number, number>();
  /** Set while the cache is being warmed (prefetch.ts): a miss reads this many pages around it (`readWindow`); `skip` says which are free. */
  readAround: { pages: number; skip: (pageNo: number) => boolean } | undefined;

  constructor(
    readonly path: string,
    options: PagerOptions = {},
  ) {
    this.sync = options.sync ?? true;
    this.cache = new PageCache(options.cacheSize ?? defaultCacheSize());
    // The file exists: file.ts creates a new one whole before opening it.
    const flags = (this.flags = options.readOnly ? constants.O_RDONLY : constants.O_RDWR);
    this.fd = openSync(path, flags);
    this.cacheable = bufferedCacheable;
    this.access = 'buffered';
    this.autoDirect = options.direct === 'auto';
    if (options.direct) {
      try {
        const block = directBlock(path);
        closeSync(this.fd);
        this.fd = openSync(path, flags | constants.O_DIRECT);
        this.directBlock = block;
        this.cacheable = directCacheable;
        this.access = `direct (O_DIRECT, ${block}-byte blocks)`;
      } catch (e) {
        if (!(this.autoDirect && e instanceof UnsupportedError)) {
          closeSync(this.fd);
          throw e;
        }
        this.access = `buffered (${e.message})`;
      }
    }
    if (options.directWhy) this.access += `; ${options.directWhy}`;
    this.mapReads = options.mapReads ?? true;
    this.openMap();
  }

  /** Maps the file for buffered reads, where asked for and the addon can (else reads stay `pread`s). */
  private openMap(): void {
    if (this.directBlock || !this.mapReads || this.map !== null) return;
    this.map = native.storeMapOpen(this.fd);
  }

  /**
   * Maps pages `first..end` of the file in on a thread of the addon, for a
   * file read ahead whole (prefetch.ts): a first touch of a mapped page
   * costs a minor fault (about 8 µs on a VM), paid by the lookups otherwise.
   * Not the meta pages: no map of an xrpkv process holds those, so that
   * opening after a failed write-back can drop them (stale-cache.ts).
   */
  populateMap(first: number, end: number): void {
    if (this.remap) this.mapAgain();
    const from = Math.max(first, META_PAGES);
    if (this.map !== null && this.mapped && end > from) native.storeMapPopulate(this.map, from * this.pageSize, (end - from) * this.pageSize);
  }

  /** Maps the file again after `dropCache` unmapped it. */
  private mapAgain(): void {
    this.remap = false;
    this.openMap();
  }

  /**
   * The map tree pages are read from, for a sync chain's hops to read them
   * too (xrp-lookup.ts); null where there is none (direct I/O, pages smaller
   * than a memory page, `mapReads: false`, no guard against SIGBUS).
   */
  treeMap(): FileMapHandle | null {
    if (this.remap) this.mapAgain();
    return this.#pageSize >= MEMORY_PAGE ? this.map : null;
  }

  /** Whether buffered reads of tree pages come from a map of the file. */
  get mapped(): boolean {
    return (this.map !== null || this.remap) && this.#pageSize >= MEMORY_PAGE;
  }

  /** Goes back to buffered I/O (`direct: 'auto'` on a device whose blocks are larger than the pages), saying why. */
  private buffered(why: string): void {
    const fd = openSync(this.path, this.flags);
    closeSync(this.fd);
    this.fd = fd;
    this.directBlock = 0;
    this.cacheable = bufferedCacheable;
    this.cache.clear();
    this.access = `buffered (${why})`;
    this.openMap();
  }

  get pageSize(): number {
    return this.#pageSize;
  }

  /** Set once the file's page size is known; with O_DIRECT it must be a multiple of the device's block. */
  set pageSize(p: number) {
    if (this.directBlock > p) {
      const why = `O_DIRECT reads whole ${this.directBlock}-byte blocks on the device of ${this.path}, larger than this file's ${p}-byte pages`;
      if (!this.autoDirect) throw new UnsupportedError(`direct: true needs pages of at least the device's block: ${why}`);
      this.buffered(why);
    }
    this.#pageSize = p;
  }

  /** The first `bytes` of reused buffer `which`, aligned for O_DIRECT. */
  private staging(which: keyof Pager['buffers'], bytes: number): Buffer {
    const b = this.buffers;
    if (b[which].length < bytes) b[which] = alignedBuffer(Math.max(bytes, 2 * b[which].length));
    return b[which].subarray(0, bytes);
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  /** Up to `length` bytes at `offset`: fewer at the end of the file. */
  readAt(offset: number, length: number): Buffer {
    // Not from the pool: a cached page must not pin a shared 8 KiB slab.
    const b = Buffer.allocUnsafeSlow(length);
    if (this.directBlock) return this.readDirect(b, offset);
    let done = 0;
    while (done < length) {
      const n = this.readSync(b, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? b : b.subarray(0, done);
  }

  /**
   * One read(2) at `position`; a refusal (EIO, EBADF) becomes a
   * ReadFailedError naming the file and the page the read began in (none
   * before the page size is known).
   */
  private readSync(b: Buffer, at: number, length: number, position: number): number {
    try {
      return readSync(this.fd, b, at, length, position);
    } catch (e) {
      throw new ReadFailedError(this.path, this.#pageSize > 0 ? Math.floor(position / this.#pageSize) : undefined, e);
    }
  }

  /** readAt with O_DIRECT: whole blocks into the aligned buffer, then what was asked for into `b`. */
  private readDirect(b: Buffer, offset: number): Buffer {
    const block = this.directBlock;
    const from = offset - (offset % block);
    const to = Math.ceil((offset + b.length) / block) * block;
    const staged = this.staging('read', to - from);
    let done = 0;
    while (from + done < to) {
      const n = this.readSync(staged, done, to - from - done, from + done);
      if (n === 0) break;
      done += n;
      // A short direct read ends at the end of the file, or mid-block: either way, stop.
      if (done % block !== 0) break;
    }
    const got = Math.max(0, Math.min(b.length, done - (offset - from)));
    staged.copy(b, 0, offset - from, offset - from + got);
    return got === b.length ? b : b.subarray(0, got);
  }

  /**
   * Page `pageNo`, verified (checksum, number, type); `CorruptionError`
   * names it when it is not whole or valid. `loose`: cached as a page no
   * level holds (page-cache.ts `loose`).
   */
  read(pageNo: number, types?: readonly PageType[], loose = false): Buffer {
    const hit = this.cached(pageNo, types);
    if (hit !== undefined) return hit;
    if (this.readAround && this.directBlock && this.cache.bytes < WARM_SHARE * this.cache.limit) return this.readWindow(pageNo, types, loose);
    const p = this.pageSize;
    // Not from the pool: a cached page must not pin a shared 8 KiB slab.
    const page = this.directBlock ? this.verified(pageNo, this.readAt(pageNo * p, p), types) : this.readInto(Buffer.allocUnsafeSlow(p), pageNo, types);
    if (this.cacheable(page[TYPE]!)) this.cache.admit(pageNo, page, loose);
    return page;
  }

  /**
   * `read` while the cache is being warmed: the aligned window of
   * `readAround.pages` pages around `pageNo` in one request, its other tree
   * pages cached too (not free ones, not ones a commit is writing, not
   * damaged ones: those are reported when a lookup needs them), as the
   * kernel's readahead does for a mapped file. The first lookups after
   * opening then bring in the file at the device's streaming rate, even
   * when they run back to back and the warmer (cache-warmer.ts) gets no
   * turn of the event loop to deliver its reads.
   */
  private readWindow(pageNo: number, types?: readonly PageType[], loose = false): Buffer {
    const p = this.pageSize;
    const { pages: w, skip } = this.readAround!;
    const first = pageNo - (pageNo % w);
    const window = this.staging('read', w * p);
    let got = 0;
    while (got < w * p) {
      const n = this.readSync(window, got, w * p - got, first * p + got);
      if (n === 0) break;
      got += n;
      if (got % this.directBlock !== 0) break;
    }
    for (let i = 0; i < Math.floor(got / p); i++) {
      const n = first + i;
      if (n !== pageNo && !this.unwritten.has(n) && !skip(n)) this.admitFrom(window, i, n);
    }
    // The page asked for, with its checks and errors (beyond the end of the file when the read fell short).
    const at = (pageNo - first) * p;
    const page = Buffer.allocUnsafeSlow(Math.max(0, Math.min(p, got - at)));
    window.copy(page, 0, at, at + page.length);
    this.verified(pageNo, page, types);
    if (this.cacheable(page[TYPE]!)) this.cache.admit(pageNo, page, loose);
    return page;
  }

  /**
   * `read`, for a caller that is done with the page before its next read
   * (a lookup searching it). `keep`: whether the page should stay in the
   * cache (a branch page of a level it holds: page-cache.ts `holdsLevel`).
   * Buffered, a page not kept is read into one reused buffer, `isShared`
   * then, and overwritten by the next such read: no allocation per read, so
   * a stream of lookups leaves no garbage. With O_DIRECT every tree page is
   * kept, this cache being the only one: one not kept as `loose`, so that
   * it never pushes out a held level's page.
   */
  readShared(pageNo: number, types: readonly PageType[], keep: boolean): Buffer {
    const hit = this.cached(pageNo, types);
    if (hit !== undefined) return hit;
    if (this.directBlock || keep) return this.read(pageNo, types, !keep);
    const p = this.pageSize;
    if (this.shared.length !== p) this.shared = Buffer.allocUnsafeSlow(p);
    return this.readInto(this.shared, pageNo, types);
  }

  /**
   * Buffered: page `pageNo` into `page` (page-sized), verified; a short
   * read returns a shorter view of it, which `verified` refuses. From the
   * map when it has the page and `types` are tree pages, else with `pread`.
   */
  private readInto(page: Buffer, pageNo: number, types?: readonly PageType[]): Buffer {
    const p = page.length;
    if (this.remap) this.mapAgain();
    if (this.map !== null && mappable(types, p)) {
      const answer = native.storeMapRead(this.map, pageNo * p, page, CHECKSUMMED);
      if (answer === MAP_READ) return this.verified(pageNo, page, types, true);
      // Not read, or damaged (the map reads zeros past the end of a file
      // within its last memory page): `pread` reads it again and says which.
    }
    let done = 0;
    while (done < p) {
      const n = this.readSync(page, done, p - done, pageNo * p + done);
      if (n === 0) break;
      done += n;
    }
    return this.verified(pageNo, done === p ? page : page.subarray(0, done), types);
  }

  /** Whether `page` is the buffer `readShared` reuses. */
  isShared(page: Buffer): boolean {
    return page === this.shared;
  }

  /** Page `pageNo` from the cache, when it holds it as one of `types`; verified when it was cached, so nothing else is checked. */
  cached(pageNo: number, types?: readonly PageType[]): Buffer | undefined {
    const hit = this.cache.page(pageNo);
    return hit !== undefined && (types === undefined || types.includes(hit[TYPE] as PageType)) ? hit : undefined;
  }

  /** `page`, read as page `pageNo`, once verified; else `CorruptionError` naming it and this file. */
  private verified(pageNo: number, page: Buffer, types?: readonly PageType[], summed = false): Buffer {
    if (page.length < this.pageSize) {
      throw new CorruptionError(pageNo, 'it lies beyond the end of the file (truncated?)', this.path);
    }
    try {
      verifyPage(page, pageNo, types, undefined, summed);
    } catch (e) {
      if (e instanceof CorruptionError) throw new CorruptionError(pageNo, e.reason, this.path);
      throw e;
    }
    return page;
  }

  /** Pages and bytes in the cache, and its limit (`cacheSize`). */
  get cacheUse(): { pages: number; views: number; bytes: number; limit: number } {
    const c = this.cache;
    return { pages: c.pages, views: c.views, bytes: c.bytes, limit: c.limit };
  }

  /**
   * A commit's pages, in the cache and handed to the addon in page order
   * (crates/node/src/staged_pages.rs), in slices of `pace`: a checkpoint's
   * are thousands, and copying them in one turn held the event loop for
   * 100 ms per 100,000 keys. The cache takes the new bytes first: a failed
   * write leaves the file's state unknown anyway (writer.ts then refuses
   * every write), and no published snapshot reaches a page being written.
   */
  *stage(pages: Map<number, Buffer>, pace: Pace): Steps<StagedPages> {
    const pageNos = [...pages.keys()].sort((a, b) => a - b);
    const handle = native.storeStagePages(this.pageSize, pageNos.length);
    for (const pageNo of pageNos) {
      const page = pages.get(pageNo)!;
      if (page.length === this.pageSize && this.cacheable(page[TYPE])) this.cache.admit(pageNo, page);
      else this.cache.delete(pageNo);
      if (this.warming.size > 0) this.noteWrite(pageNo);
      native.storeStagePage(handle, pageNo, page);
      if (pace.due()) yield;
    }
    return { handle, pageNos };
  }

  /**
   * A tree commit (a checkpoint: tx.ts): its staged pages, sync, `meta` in
   * its meta page, sync. Nothing reaches the pages until the meta is
   * written after them, so a crash leaves the commit before or this one,
   * whole. Durable when it resolves (no syncs when `sync` is off).
   */
  treeCommit(staged: StagedPages, meta: Meta): Promise<void> {
    return this.commit(native.storeTreeCommit, staged, meta);
  }

  /**
   * A log commit (log-commit.ts): its staged pages and `meta` in its meta
   * page, then one sync. A crash can leave the meta without some of its
   * pages; opening sees that from the meta's `newLogSum` and uses the
   * commit before (log.ts, `tornLogCommit`). Durable when it resolves (no
   * sync when `sync` is off).
   */
  logCommit(staged: StagedPages, meta: Meta): Promise<void> {
    return this.commit(native.storeLogCommit, staged, meta);
  }

  /**
   * A commit's writes in one job on the libuv pool (a commit's pages are
   * scattered, and a pool round trip per run of consecutive pages was most
   * of a commit's time). The job starts once every commit this pager was
   * given before has finished on disk, and writes nothing if one failed:
   * the writer may call this while the commit before is still being written.
   */
  private async commit(write: typeof native.storeTreeCommit, { handle, pageNos }: StagedPages, meta: Meta): Promise<void> {
    const metaPageNo = metaPageOf(meta.txid);
    this.cache.delete(metaPageNo);
    // Only direct reads (warm, readWindow) ask which pages are being written: buffered commits skip the bookkeeping.
    const track = this.directBlock > 0;
    if (track) for (const pageNo of pageNos) this.unwritten.set(pageNo, (this.unwritten.get(pageNo) ?? 0) + 1);
    try {
      await write(this.fd, handle, encodeMeta(meta), metaPageNo, this.sync, this.order);
    } finally {
      if (track) for (const pageNo of pageNos) {
        const n = this.unwritten.get(pageNo)! - 1;
        if (n === 0) this.unwritten.delete(pageNo);
        else this.unwritten.set(pageNo, n);
      }
    }
  }

  writeSync(pageNo: number, page: Buffer): void {
    this.cache.delete(pageNo);
    if (this.warming.size > 0) this.noteWrite(pageNo);
    let source = page;
    if (this.directBlock) {
      source = this.staging('write', page.length);
      page.copy(source);
    }
    for (let done = 0; done < page.length; ) {
      done += writeSync(this.fd, source, done, page.length - done, pageNo * this.pageSize + done);
    }
  }

  /** Tells the reads `warm` has in flight that `pageNo` is being written. */
  private noteWrite(pageNo: number): void {
    for (const r of this.warming) if (pageNo >= r.first && pageNo < r.end) r.written.add(pageNo);
  }

  /**
   * Reads pages `first..first + count` in one request, off the event loop,
   * and caches those that verify as tree pages, are not cached already, are
   * not in `skip` (free pages), and were not written while the read ran;
   * none if the cache was cleared meanwhile (cache-warmer.ts). Direct reads only: buffered, the kernel's cache is
   * the one to fill (prefetch.ts). Returns the pages cached.
   */
  async warm(first: number, count: number, skip: (pageNo: number) => boolean): Promise<number> {
    const p = this.pageSize;
    if (this.directBlock === 0 || this.fd < 0) return 0;
    const staged = alignedBuffer(count * p);
    const range = { first, end: first + count, written: new Set<number>() };
    if (this.unwritten.size > 0) for (let n = first; n < first + count; n++) if (this.unwritten.has(n)) range.written.add(n);
    this.warming.add(range);
    const generation = this.cache.generation;
    let got: number;
    try {
      ({ bytesRead: got } = await readAsync(this.fd, staged, 0, count * p, first * p));
    } finally {
      this.warming.delete(range);
    }
    let cached = 0;
    if (this.cache.generation !== generation) return 0;
    for (let i = 0; i < Math.floor(got / p); i++) {
      const pageNo = first + i;
      if (range.written.has(pageNo) || skip(pageNo)) continue;
      if (this.admitFrom(staged, i, pageNo)) cached++;
    }
    return cached;
  }

  /**
   * Caches page `i` of `pages` (read in one request) as page `pageNo`,
   * unless the cache holds that page already or it is not a tree page that
   * verifies: whether it did. A damaged page is not reported here, but when
   * a lookup reads it.
   */
  private admitFrom(pages: Buffer, i: number, pageNo: number): boolean {
    const p = this.pageSize;
    if (this.cache.page(pageNo) !== undefined || !this.cacheable(pages[i * p + TYPE]!)) return false;
    // Its own memory, so that evicting it frees it.
    const page = Buffer.allocUnsafeSlow(p);
    pages.copy(page, 0, i * p, (i + 1) * p);
    try {
      verifyPage(page, pageNo);
    } catch {
      return false;
    }
    this.cache.admit(pageNo, page);
    return true;
  }

  flushSync(): void {
    if (this.sync) fdatasyncSync(this.fd);
  }

  /**
   * Drops the file's clean pages in `offset..offset + length` (0: to the
   * end) from the kernel's page cache, so that reads of them go to the disk
   * (stale-cache.ts). This pager's own cache holds only verified pages of
   * commits that were durable when read, so it keeps them.
   */
  dropCache(offset: number, length: number): void {
    if (this.directBlock !== 0) return;
    // The kernel drops no page a map holds: unmap ours first (the next read
    // maps the file again; opening drops thousands of runs of free pages).
    if (this.map !== null) {
      native.storeMapClose(this.map);
      this.map = null;
      this.remap = true;
    }
    native.storeDropCache(this.fd, offset, length);
  }

  /** Cuts the file to `bytes`: its pages past that leave the kernel's cache and every map of the file. */
  truncate(bytes: number): void {
    ftruncateSync(this.fd, bytes);
  }

  /**
   * Whether pages of this file may be mapped by xrpkv processes: buffered,
   * pages of whole memory pages, and the addon can guard map reads (the
   * same whether or not this handle maps: another may).
   */
  get mapsTreePages(): boolean {
    return this.directBlock === 0 && this.pageSize >= MEMORY_PAGE && native.storeMapGuarded();
  }

  /** A byte per memory page of the file's first `length` bytes, 1 where the kernel's cache holds it; undefined where it cannot tell. */
  residentPages(length: number): Buffer | undefined {
    try {
      return native.storeResident(this.fd, 0, length);
    } catch {
      return undefined;
    }
  }

  /** Deallocates pages `offset..offset + length` of the file (free pages only): they leave the kernel's cache and every map. */
  punchHole(offset: number, length: number): void {
    native.storePunchHole(this.fd, offset, length);
  }

  close(): void {
    this.cache.clear();
    if (this.map !== null) native.storeMapClose(this.map);
    this.map = null;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
