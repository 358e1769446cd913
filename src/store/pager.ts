// Page I/O on the database file: whole-page reads (verified), commits (their
// pages, meta and syncs, by one of the two protocols of docs/FORMAT.md "Meta
// pages"), and syncs. The pager never decides *what* to write where; `tx.ts`
// and `log-commit.ts` guarantee it only writes pages no snapshot can reach.
//
// Page cache: verified branch, leaf and overflow pages stay in memory (up to
// `cacheBytes`, oldest first out), so a warm read costs neither a syscall nor
// a checksum. Pages this pager writes replace their cached copies, so the
// cache never holds a page's old contents under a reused number. Cached
// buffers are shared: callers must not modify a page `read` returns.
//
// Direct I/O (`direct: true`): the file is opened with O_DIRECT, so reads and
// writes bypass the kernel's page cache (this pager's cache is then the only
// one, as in a database with its own buffer pool, and what the XRP kernel
// path needs). O_DIRECT wants memory, offsets and lengths aligned to the
// device's logical block: reads go through an aligned buffer, commits'
// writes through the addon's aligned copy (its commit calls), the meta pages
// of a new file through an aligned buffer here (a copy of each page, far
// cheaper than the I/O), and the page size must be a multiple of the block
// size (`directBlock`).
import { closeSync, fstatSync, openSync, readSync, writeSync, fdatasyncSync, constants } from 'node:fs';
import { native } from '../native.js';
import { alignedBuffer } from '../aligned.js';
import { CorruptionError, ReadFailedError, UnsupportedError } from '../errors.js';
import { HEADER_FIELDS, PageType, verifyPage } from '../format/page.js';
import { encodeMeta, metaPageOf, type Meta } from '../format/meta.js';

/** The page cache's default budget: a 1M-key store of 100-byte values (about 128 MiB) fits. */
export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;
const cacheable = (type: number) => type === PageType.Branch || type === PageType.Leaf || type === PageType.Overflow;
const TYPE = HEADER_FIELDS.type;

export interface PagerOptions {
  /** fdatasync after writing (default true); false trades durability for speed. */
  sync?: boolean;
  /** O_DIRECT reads and writes (default false). */
  direct?: boolean;
  /** Open for reading only (check.ts); the file must exist. */
  readOnly?: boolean;
  /** Bytes of verified pages kept in memory (default `DEFAULT_CACHE_BYTES`; 0: none). */
  cacheBytes?: number;
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
  readonly cacheBytes: number;
  /** The device's logical block size with O_DIRECT; 0 for buffered I/O. */
  readonly directBlock: number;
  private fd: number;
  /**
   * Reused buffers, grown on demand: direct I/O's aligned ones for reads and
   * for `writeSync`, and a commit's pages and their numbers as `write` hands
   * them to the addon.
   */
  private readonly buffers: Record<'read' | 'write' | 'numbers' | 'pages', Buffer> = {
    read: Buffer.alloc(0),
    write: Buffer.alloc(0),
    numbers: Buffer.alloc(0),
    pages: Buffer.alloc(0),
  };
  /** Commits reach the disk in the order `commit` was called (crates/node/src/commit_order.rs). */
  private readonly order = native.storeCommitOrder();
  /** pageNo -> verified page, oldest first; `cached` is their total size. */
  private readonly cache = new Map<number, Buffer>();
  private cached = 0;

  constructor(
    readonly path: string,
    options: PagerOptions = {},
  ) {
    this.sync = options.sync ?? true;
    this.cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    // The file exists: file.ts creates a new one whole before opening it.
    const flags = options.readOnly ? constants.O_RDONLY : constants.O_RDWR;
    this.fd = openSync(path, flags);
    this.directBlock = 0;
    if (options.direct) {
      try {
        this.directBlock = directBlock(path);
        closeSync(this.fd);
        this.fd = openSync(path, flags | constants.O_DIRECT);
      } catch (e) {
        closeSync(this.fd);
        throw e;
      }
    }
  }

  get pageSize(): number {
    return this.#pageSize;
  }

  /** Set once the file's page size is known; with O_DIRECT it must be a multiple of the device's block. */
  set pageSize(p: number) {
    if (this.directBlock > p) {
      throw new UnsupportedError(
        `direct: true reads whole ${this.directBlock}-byte blocks on the device of ${this.path}, so it needs pages of at least that size; this file's are ${p} bytes`,
      );
    }
    this.#pageSize = p;
  }

  /** The first `bytes` of reused buffer `which` (read and write are aligned for O_DIRECT). */
  private staging(which: keyof Pager['buffers'], bytes: number): Buffer {
    const b = this.buffers;
    if (b[which].length < bytes) {
      const size = Math.max(bytes, 2 * b[which].length);
      b[which] = which === 'read' || which === 'write' ? alignedBuffer(size) : Buffer.allocUnsafeSlow(size);
    }
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

  /** Page `pageNo`, verified (checksum, number, type); `CorruptionError` names it when it is not whole or valid. */
  read(pageNo: number, types?: readonly PageType[]): Buffer {
    const hit = this.cache.get(pageNo);
    // Verified when cached; only the expected type is left to check.
    if (hit !== undefined && (types === undefined || types.includes(hit[TYPE] as PageType))) return hit;
    const page = this.readAt(pageNo * this.pageSize, this.pageSize);
    if (page.length < this.pageSize) {
      throw new CorruptionError(pageNo, 'it lies beyond the end of the file (truncated?)', this.path);
    }
    try {
      verifyPage(page, pageNo, types);
    } catch (e) {
      if (e instanceof CorruptionError) throw new CorruptionError(pageNo, e.reason, this.path);
      throw e;
    }
    if (cacheable(page[TYPE])) this.remember(pageNo, page);
    return page;
  }

  private remember(pageNo: number, page: Buffer): void {
    this.forget(pageNo);
    if (page.length > this.cacheBytes) return;
    this.cache.set(pageNo, page);
    this.cached += page.length;
    while (this.cached > this.cacheBytes) {
      const [oldest, bytes] = this.cache.entries().next().value as [number, Buffer];
      this.cache.delete(oldest);
      this.cached -= bytes.length;
    }
  }

  private forget(pageNo: number): void {
    const old = this.cache.get(pageNo);
    if (old === undefined) return;
    this.cache.delete(pageNo);
    this.cached -= old.length;
  }

  /** Pages and bytes in the page cache. */
  get cacheUse(): { pages: number; bytes: number } {
    return { pages: this.cache.size, bytes: this.cached };
  }

  /**
   * A tree commit (a checkpoint: tx.ts): `pages`, sync, `meta` in its meta
   * page, sync. Nothing reaches the pages until the meta is written after
   * them, so a crash leaves the commit before or this one, whole.
   * Durable when it resolves (no syncs when `sync` is off).
   */
  treeCommit(pages: Map<number, Buffer>, meta: Meta): Promise<void> {
    return this.commit(native.storeTreeCommit, pages, meta);
  }

  /**
   * A log commit (log-commit.ts): `pages` and `meta` in its meta page, then
   * one sync. A crash can leave the meta without some of its pages; opening
   * sees that from the meta's `newLogSum` and uses the commit before
   * (log.ts, `tornLogCommit`). Durable when it resolves (no sync when
   * `sync` is off).
   */
  logCommit(pages: Map<number, Buffer>, meta: Meta): Promise<void> {
    return this.commit(native.storeLogCommit, pages, meta);
  }

  /**
   * A commit's writes in one job. The job starts once every commit this
   * pager was given before has finished on disk, and writes nothing if one
   * failed: the writer may call this while the commit before is still being
   * written.
   */
  private async commit(write: typeof native.storeTreeCommit, pages: Map<number, Buffer>, meta: Meta): Promise<void> {
    const { data, numbers } = this.stage(pages);
    const metaPageNo = metaPageOf(meta.txid);
    this.forget(metaPageNo);
    await write(this.fd, data, numbers, this.pageSize, encodeMeta(meta), metaPageNo, this.sync, this.order);
  }

  /** `pages` in the cache, and in the staging buffers in page order, with their numbers. */
  private stage(pages: Map<number, Buffer>): { data: Buffer; numbers: Buffer } {
    // The cache takes the new bytes first: a failed write leaves the file's
    // state unknown anyway (writer.ts then refuses every write), and no
    // published snapshot reaches a page being written.
    for (const [pageNo, page] of pages) {
      if (page.length === this.pageSize && cacheable(page[TYPE])) this.remember(pageNo, page);
      else this.forget(pageNo);
    }
    // One job on the libuv pool writes them all (crates/node/src/store.rs):
    // a commit's pages are scattered, and a pool round trip per run of
    // consecutive pages was most of a commit's time.
    // The staging buffers are reused (the addon copies them before it
    // returns): fresh ones cost a page fault per 4 KiB, which in a VM is
    // most of the copying's time.
    const order = [...pages.keys()].sort((a, b) => a - b);
    const numbers = this.staging('numbers', 8 * order.length);
    const data = this.staging('pages', order.length * this.pageSize);
    order.forEach((pageNo, i) => {
      const page = pages.get(pageNo)!;
      if (page.length !== this.pageSize) throw new RangeError(`page ${pageNo} is ${page.length} bytes, not ${this.pageSize}`);
      numbers.writeBigUInt64LE(BigInt(pageNo), 8 * i);
      page.copy(data, i * this.pageSize);
    });
    return { data, numbers };
  }

  writeSync(pageNo: number, page: Buffer): void {
    this.forget(pageNo);
    let source = page;
    if (this.directBlock) {
      source = this.staging('write', page.length);
      page.copy(source);
    }
    for (let done = 0; done < page.length; ) {
      done += writeSync(this.fd, source, done, page.length - done, pageNo * this.pageSize + done);
    }
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
    if (this.directBlock === 0) native.storeDropCache(this.fd, offset, length);
  }

  close(): void {
    this.cache.clear();
    this.cached = 0;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
