// Page I/O on the database file: whole-page reads (verified), batched writes
// of runs of consecutive pages, and syncs. The pager never decides *what* to
// write where; `tx.ts` guarantees it only writes pages no snapshot can reach.
//
// Page cache: verified branch, leaf and overflow pages stay in memory (up to
// `cacheBytes`, oldest first out), so a warm read costs neither a syscall nor
// a checksum. Pages this pager writes replace their cached copies, so the
// cache never holds a page's old contents under a reused number. Cached
// buffers are shared: callers must not modify a page `read` returns.
import { closeSync, fdatasync, fstatSync, openSync, readSync, writev, writeSync, fdatasyncSync, constants } from 'node:fs';
import { promisify } from 'node:util';
import { CorruptionError, UnsupportedError } from './errors.js';
import { PageType, verifyPage } from './page.js';

const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);
/** Pages per writev call: Linux accepts at most 1024 buffers (IOV_MAX). */
const MAX_RUN = 1024;
/** The page cache's default budget: a 1M-key store of 100-byte values (about 128 MiB) fits. */
export const DEFAULT_CACHE_BYTES = 256 * 2 ** 20;
const cacheable = (type: number) => type === PageType.Branch || type === PageType.Leaf || type === PageType.Overflow;

export interface PagerOptions {
  /** fdatasync after writing (default true); false trades durability for speed. */
  sync?: boolean;
  /** O_DIRECT: not implemented yet. */
  direct?: boolean;
  /** Open for reading only (check.ts); the file must exist. */
  readOnly?: boolean;
  /** Bytes of verified pages kept in memory (default `DEFAULT_CACHE_BYTES`; 0: none). */
  cacheBytes?: number;
}

export class Pager {
  pageSize = 0;
  readonly sync: boolean;
  readonly cacheBytes: number;
  private fd: number;
  /** pageNo -> verified page, oldest first; `cached` is their total size. */
  private readonly cache = new Map<number, Buffer>();
  private cached = 0;

  constructor(
    readonly path: string,
    options: PagerOptions = {},
  ) {
    if (options.direct) {
      throw new UnsupportedError(
        'direct I/O (O_DIRECT) is not supported by the store yet: it needs page-aligned buffers from the native addon; open with direct: false',
      );
    }
    this.sync = options.sync ?? true;
    this.cacheBytes = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
    this.fd = openSync(path, options.readOnly ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT, 0o644);
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  /** Up to `length` bytes at `offset`: fewer at the end of the file. */
  readAt(offset: number, length: number): Buffer {
    // Not from the pool: a cached page must not pin a shared 8 KiB slab.
    const b = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, b, done, length - done, offset + done);
      if (n === 0) break;
      done += n;
    }
    return done === length ? b : b.subarray(0, done);
  }

  /** Page `pageNo`, verified (checksum, number, type); `CorruptionError` names it when it is not whole or valid. */
  read(pageNo: number, types?: readonly PageType[]): Buffer {
    const hit = this.cache.get(pageNo);
    // Verified when cached; only the expected type is left to check.
    if (hit !== undefined && (types === undefined || types.includes(hit[4] as PageType))) return hit;
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
    if (cacheable(page[4])) this.remember(pageNo, page);
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

  /** Writes whole pages (pageNo -> bytes), consecutive ones with one writev each. */
  async write(pages: Map<number, Buffer>): Promise<void> {
    // The cache takes the new bytes first: a failed write leaves the file's
    // state unknown anyway (writer.ts then refuses every write), and no
    // published snapshot reaches a page being written.
    for (const [pageNo, page] of pages) {
      if (page.length === this.pageSize && cacheable(page[4])) this.remember(pageNo, page);
      else this.forget(pageNo);
    }
    const order = [...pages.keys()].sort((a, b) => a - b);
    for (let i = 0; i < order.length; ) {
      let j = i + 1;
      while (j < order.length && order[j] === order[j - 1] + 1 && j - i < MAX_RUN) j++;
      const run = order.slice(i, j).map((n) => pages.get(n)!);
      let offset = order[i] * this.pageSize;
      let rest = run;
      while (rest.length > 0) {
        // writev may write less than asked: continue from where it stopped.
        let written = (await writevAsync(this.fd, rest, offset)).bytesWritten;
        offset += written;
        while (rest.length > 0 && written >= rest[0].length) written -= rest.shift()!.length;
        if (written > 0) rest[0] = rest[0].subarray(written);
      }
      i = j;
    }
  }

  writeSync(pageNo: number, page: Buffer): void {
    this.forget(pageNo);
    for (let done = 0; done < page.length; ) {
      done += writeSync(this.fd, page, done, page.length - done, pageNo * this.pageSize + done);
    }
  }

  /** Makes what was written durable (a no-op with `sync: false`). */
  async flush(): Promise<void> {
    if (this.sync) await fdatasyncAsync(this.fd);
  }
  flushSync(): void {
    if (this.sync) fdatasyncSync(this.fd);
  }

  close(): void {
    this.cache.clear();
    this.cached = 0;
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
