// Page I/O on the database file: whole-page reads (verified), batched writes
// of runs of consecutive pages, and syncs. The pager never decides *what* to
// write where; `tx.ts` guarantees it only writes pages no snapshot can reach.
import { closeSync, fdatasync, fstatSync, openSync, readSync, writev, writeSync, fdatasyncSync, constants } from 'node:fs';
import { promisify } from 'node:util';
import { CorruptionError, UnsupportedError } from './errors.js';
import { verifyPage, type PageType } from './page.js';

const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);
/** Pages per writev call: Linux accepts at most 1024 buffers (IOV_MAX). */
const MAX_RUN = 1024;

export interface PagerOptions {
  /** fdatasync after writing (default true); false trades durability for speed. */
  sync?: boolean;
  /** O_DIRECT: not implemented yet. */
  direct?: boolean;
  /** Open for reading only (check.ts); the file must exist. */
  readOnly?: boolean;
}

export class Pager {
  pageSize = 0;
  readonly sync: boolean;
  private fd: number;

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
    this.fd = openSync(path, options.readOnly ? constants.O_RDONLY : constants.O_RDWR | constants.O_CREAT, 0o644);
  }

  get size(): number {
    return fstatSync(this.fd).size;
  }

  /** Up to `length` bytes at `offset`: fewer at the end of the file. */
  readAt(offset: number, length: number): Buffer {
    const b = Buffer.alloc(length);
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
    return page;
  }

  /** Writes whole pages (pageNo -> bytes), consecutive ones with one writev each. */
  async write(pages: Map<number, Buffer>): Promise<void> {
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
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
