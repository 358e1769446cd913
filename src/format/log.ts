// Log pages (FORMAT.md, "Log pages"): what a small commit writes instead of
// rewriting the tree. A random write to a copy-on-write tree rewrites its
// whole path, a page per level, so a commit of a few hundred random writes
// rewrites hundreds of leaves; logged, the same commit writes one record per
// key, packed into a few pages appended to the file. The tree takes the
// log's changes later, all at once, in a commit that rewrites each changed
// leaf once (writer.ts: a checkpoint).
//
// Invariants:
// - the meta's `log` is the newest log page; each page's `next` is the one
//   written before it (0 for the oldest), so a commit never changes a page
//   an earlier one wrote;
// - a log commit takes free pages (else grows the file) without rewriting
//   the freelist, so the freelist on disk may list pages the log chain now
//   holds: the chain wins (file.ts takes its pages out of the free ones, and
//   check.ts accepts the overlap). A checkpoint frees the chain's pages and
//   writes a freelist without them;
// - every page of one commit carries that commit's txid; txids fall (or
//   stay) along the chain;
// - a commit logs each key at most once, with its final state after that
//   commit, and a record fits one page (keys and values stay within
//   maxKeyLen and maxInline, so a record takes under half a page);
// - the kind says what the record did to the count of keys: an insert adds
//   one, a remove takes one away, an overwrite neither.
import { CorruptionError } from '../errors.js';
import type { Meta } from './meta.js';
import { HEADER, HEADER_FIELDS, META_PAGES, PageType, maxInline, maxKeyLen, newPage, readHeader, seal } from './page.js';

export enum LogKind {
  Insert = 1,
  Overwrite = 2,
  Remove = 3,
}

/**
 * One logged change. Its key and value are byte ranges of buffers it does
 * not own (a client's batch, a log page), not views: a commit of a few
 * hundred puts would otherwise make two Buffer objects per put just to
 * copy their bytes into log pages and the overlay. `valueLen` is 0 for a
 * remove. `hash` is the key's `hashOf` where the maker knew it.
 */
export interface LogRecord {
  kind: LogKind;
  keySrc: Buffer;
  keyAt: number;
  keyLen: number;
  valueSrc: Buffer;
  valueAt: number;
  valueLen: number;
  hash?: number;
}

const EMPTY = Buffer.alloc(0);

/** A record of whole buffers: `value` undefined for a remove. */
export function logRecord(kind: LogKind, key: Buffer, value: Buffer | undefined): LogRecord {
  const v = value ?? EMPTY;
  return { kind, keySrc: key, keyAt: 0, keyLen: key.length, valueSrc: v, valueAt: 0, valueLen: v.length };
}

/** kind (1) + key length (2) + value length (2). */
const RECORD_HEAD = 5;

export const recordSize = (r: LogRecord) => RECORD_HEAD + r.keyLen + r.valueLen;

/** Whether a value can sit in a log record (else the commit must go to the tree). */
export const loggable = (valueLength: number, p: number) => valueLength <= maxInline(p);

/** What entries a record adds to the count of keys. */
export const countDelta = (kind: LogKind) => (kind === LogKind.Insert ? 1 : kind === LogKind.Remove ? -1 : 0);

/**
 * Records packed into log pages numbered by `allocate`, one `add` at a time
 * (a commit's may be encoded across several turns: writer.ts), each page's
 * `next` the one before it, the first one's `prevNewest`. `finish` seals the
 * last page and returns the pages and the number of the newest.
 */
export class LogEncoder {
  private readonly pages = new Map<number, Buffer>();
  private pageNo: number;
  private page: Buffer | undefined;
  /** Where the next record goes in `page`; past the end while there is none. */
  private off: number;
  private count = 0;

  constructor(
    private readonly p: number,
    private readonly txid: number,
    private readonly allocate: () => number,
    prevNewest: number,
  ) {
    this.pageNo = prevNewest;
    this.off = p;
  }

  add(r: LogRecord): void {
    const size = recordSize(r);
    if (this.off + size > this.p) {
      this.close();
      const older = this.pageNo;
      this.pageNo = this.allocate();
      this.page = newPage(this.p, PageType.Log, 0, this.pageNo, this.txid, older);
      this.off = HEADER;
      this.count = 0;
    }
    const b = this.page!;
    const off = this.off;
    b[off] = r.kind;
    b[off + 1] = r.keyLen;
    b[off + 2] = r.keyLen >>> 8;
    b[off + 3] = r.valueLen;
    b[off + 4] = r.valueLen >>> 8;
    copyBytes(r.keySrc, r.keyAt, r.keyLen, b, off + RECORD_HEAD);
    copyBytes(r.valueSrc, r.valueAt, r.valueLen, b, off + RECORD_HEAD + r.keyLen);
    this.off = off + size;
    this.count++;
  }

  /** The pages, the last one sealed, and the newest's number. Call once, after the last `add`. */
  finish(): { pages: Map<number, Buffer>; newest: number } {
    this.close();
    return { pages: this.pages, newest: this.pageNo };
  }

  private close(): void {
    if (!this.page) return;
    this.page.writeUInt16LE(this.count, HEADER_FIELDS.count);
    this.pages.set(this.pageNo, seal(this.page));
    this.page = undefined;
  }
}

/**
 * Copies `len` bytes of `src` from `at` into `dst` at `to`. Keys and log
 * values are short: a loop beats Buffer#copy of a range, which makes a view.
 */
export function copyBytes(src: Uint8Array, at: number, len: number, dst: Uint8Array, to: number): void {
  if (len > 64) {
    // A plain Uint8Array view: Buffer#subarray constructs a FastBuffer,
    // which cost a log commit of 10,000 keys about a tenth of its time.
    dst.set(new Uint8Array(src.buffer, src.byteOffset + at, len), to);
    return;
  }
  for (let i = 0; i < len; i++) dst[to + i] = src[at + i];
}

/** The records of a verified log page; throws `CorruptionError` naming the page when one is malformed. */
export function decodeLog(page: Buffer, pageNo: number): LogRecord[] {
  const p = page.length;
  const count = readHeader(page).count;
  const records: LogRecord[] = [];
  let off = HEADER;
  for (let i = 0; i < count; i++) {
    if (off + RECORD_HEAD > p) throw new CorruptionError(pageNo, `log record ${i} runs past the page`);
    const kind = page[off];
    const keyLen = page.readUInt16LE(off + 1);
    const valueLen = page.readUInt16LE(off + 3);
    if (kind < LogKind.Insert || kind > LogKind.Remove) throw new CorruptionError(pageNo, `log record ${i} has unknown kind ${kind}`);
    if (keyLen > maxKeyLen(p)) throw new CorruptionError(pageNo, `log record ${i}'s key is ${keyLen} bytes, over ${maxKeyLen(p)}`);
    if (valueLen > maxInline(p)) throw new CorruptionError(pageNo, `log record ${i}'s value is ${valueLen} bytes, over ${maxInline(p)}`);
    if (kind === LogKind.Remove && valueLen !== 0) throw new CorruptionError(pageNo, `log record ${i} removes a key but carries a value`);
    const start = off + RECORD_HEAD;
    if (start + keyLen + valueLen > p) throw new CorruptionError(pageNo, `log record ${i} runs past the page`);
    // Ranges of the page: the overlay copies what it keeps.
    records.push({ kind, keySrc: page, keyAt: start, keyLen, valueSrc: page, valueAt: start + keyLen, valueLen });
    off = start + keyLen + valueLen;
  }
  return records;
}

/**
 * The log chain from `newest`, oldest page first, each with its txid and
 * records. `read` returns a page verified as a log page. The chain is its
 * first `expected` pages, inside the first `pageCount`, txids never rising;
 * where the last points (0, or a page of a folded log: docs/FORMAT.md) is
 * not followed.
 */
export function readLogChain(
  newest: number,
  expected: number,
  pageCount: number,
  read: (pageNo: number) => Buffer,
): { pageNo: number; txid: number; records: LogRecord[] }[] {
  const chain: { pageNo: number; txid: number; records: LogRecord[] }[] = [];
  const seen = new Set<number>();
  let txid = Infinity;
  for (let pageNo = newest, from = 0; chain.length < expected; ) {
    if (pageNo < META_PAGES || pageNo >= pageCount || seen.has(pageNo)) {
      throw new CorruptionError(from, `the log chain points at page ${pageNo} (after ${chain.length} of ${expected} pages)`);
    }
    seen.add(pageNo);
    const page = read(pageNo);
    const h = readHeader(page);
    if (h.txid > txid) throw new CorruptionError(pageNo, `log page of txid ${h.txid} follows one of txid ${txid}`);
    txid = h.txid;
    chain.push({ pageNo, txid: h.txid, records: decodeLog(page, pageNo) });
    from = pageNo;
    pageNo = h.next;
  }
  return chain.reverse();
}

/**
 * A sum over log pages, from their numbers and their checksums (each page's
 * first four bytes), whatever their order: a page that did not reach the
 * disk, or holds an earlier attempt at the same commit, changes it.
 */
export function logSum(pages: Iterable<[number, Buffer]>): number {
  let sum = 0;
  for (const [pageNo, page] of pages) sum = (sum + Math.imul(page.readUInt32LE(0) ^ Math.imul(pageNo, 0x9e3779b1), 0x85ebca6b)) | 0;
  return sum >>> 0;
}

/**
 * Why `meta`'s own log pages are not all on disk, or undefined when they are
 * (or it is not a log commit). A log commit writes its pages and its meta
 * with one sync, so a crash can leave the meta without them: its newest
 * `newLogPages` pages must each read as a valid log page of its txid, with
 * the `logSum` the meta recorded. `read` returns a page verified as a log
 * page (else throws CorruptionError).
 */
export function tornLogCommit(meta: Meta, read: (pageNo: number) => Buffer): string | undefined {
  if (meta.newLogPages === 0) return undefined;
  const pages: [number, Buffer][] = [];
  for (let pageNo = meta.log; pages.length < meta.newLogPages; ) {
    if (pageNo < META_PAGES || pageNo >= meta.pageCount) return `its log chain points at page ${pageNo}`;
    let page: Buffer;
    try {
      page = read(pageNo);
    } catch (e) {
      if (e instanceof CorruptionError) return `its log page ${pageNo} is not on disk (${e.reason})`;
      throw e;
    }
    const h = readHeader(page);
    if (h.txid !== meta.txid) return `its log page ${pageNo} holds txid ${h.txid}`;
    pages.push([pageNo, page]);
    pageNo = h.next;
  }
  return logSum(pages) === meta.newLogSum ? undefined : `its ${meta.newLogPages} log pages are not the ones it wrote`;
}
