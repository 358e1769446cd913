// Meta pages 0 and 1 (FORMAT.md, "Meta pages"). A commit writes meta page
// `txid % 2`, so the other always holds the previous commit: if the newest is
// torn, opening falls back to it. Opening uses the valid meta with the larger
// txid, unless its commit's log pages are torn (file.ts); the one it did not
// pick may describe pages since reused.
import { CorruptionError } from '../errors.js';
import { HEADER, META_PAGES, PAGE_SIZES, PageType, checksumOf, newPage, readHeader, readU64, seal, writeU64 } from './page.js';

export const MAGIC = Buffer.from('XRPKVDB\0', 'latin1');
/**
 * Written by this code. Older files are read, and take this version at
 * their next commit: version 1 had no log, version 2 synced a log commit's
 * pages before its meta (so its metas carry no `newLog` check), version 3
 * recorded no encodings.
 */
export const VERSION = 4;
const VERSIONS = [1, 2, 3, 4];

/**
 * The codes of the key and value encodings a meta records (bytes 112 and
 * 113); 0, or a version before 4, records none. Codes are never reused.
 */
export const KEY_ENCODING_CODES = { 'ordered-binary': 1, binary: 2 } as const;
export const VALUE_ENCODING_CODES = { msgpack: 1, binary: 2, string: 3, json: 4 } as const;

/** What a commit publishes: the state of the tree as of `txid`. */
export interface Meta {
  txid: number;
  pageSize: number;
  /** The root page, 0 when the tree is empty. */
  root: number;
  /** Levels of the tree: 0 empty, 1 when the root is a leaf. */
  height: number;
  /** Pages in the file; the next page to append. */
  pageCount: number;
  /** The first freelist page, 0 when none. */
  freelist: number;
  entries: number;
  /** The newest log page (log.ts), 0 when the log is empty. */
  log: number;
  /** Pages in the log chain. */
  logPages: number;
  /**
   * The log pages this commit appended (the newest `newLogPages` of the
   * chain; 0 for a checkpoint) and their `logSum`. A log commit writes its
   * pages and this meta with one sync, so after a crash the meta may be on
   * disk without them: opening checks the sum, and falls back to the
   * previous commit if it does not match (log.ts: `tornLogCommit`).
   */
  newLogPages: number;
  newLogSum: number;
  /**
   * The encodings the file's entries are in (KEY_ENCODING_CODES,
   * VALUE_ENCODING_CODES); absent when the file records none (written
   * before version 4 and never opened with an explicit encoding since).
   */
  keyEncoding?: number;
  valueEncoding?: number;
}

/** The meta page a commit of `txid` writes: the other holds the commit before it. */
export const metaPageOf = (txid: number) => txid % META_PAGES;

export function encodeMeta(m: Meta): Buffer {
  const slot = metaPageOf(m.txid);
  const page = newPage(m.pageSize, PageType.Meta, 0, slot, m.txid);
  MAGIC.copy(page, HEADER);
  page.writeUInt32LE(VERSION, 40);
  page.writeUInt32LE(m.pageSize, 44);
  writeU64(page, 48, m.root);
  page.writeUInt32LE(m.height, 56);
  writeU64(page, 64, m.pageCount);
  writeU64(page, 72, m.freelist);
  writeU64(page, 80, m.entries);
  writeU64(page, 88, m.log);
  writeU64(page, 96, m.logPages);
  page.writeUInt32LE(m.newLogPages, 104);
  page.writeUInt32LE(m.newLogSum >>> 0, 108);
  page[112] = m.keyEncoding ?? 0;
  page[113] = m.valueEncoding ?? 0;
  return seal(page);
}

/** The meta in `page` (meta page `slot`), or why it is not a valid one. */
export function decodeMeta(page: Buffer, slot: number): Meta | string {
  if (page.length < 112) return 'the file is too short';
  if (!page.subarray(HEADER, HEADER + 8).equals(MAGIC)) return 'not an xrpkv meta page (bad magic)';
  const version = page.readUInt32LE(40);
  if (!VERSIONS.includes(version)) return `unsupported format version ${version}`;
  const pageSize = page.readUInt32LE(44);
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) return `bad page size ${pageSize}`;
  if (page.length !== pageSize) return `page size ${pageSize}, read ${page.length} bytes`;
  if (page.readUInt32LE(0) !== checksumOf(page)) return 'checksum mismatch';
  const h = readHeader(page);
  if (h.type !== PageType.Meta) return `type ${h.type}, not a meta page`;
  if (h.pageNo !== slot) return `it claims to be page ${h.pageNo}`;
  if (metaPageOf(h.txid) !== slot) return `txid ${h.txid} belongs in meta page ${metaPageOf(h.txid)}`;
  const m: Meta = {
    txid: h.txid,
    pageSize,
    root: readU64(page, 48),
    height: page.readUInt32LE(56),
    pageCount: readU64(page, 64),
    freelist: readU64(page, 72),
    entries: readU64(page, 80),
    log: version === 1 ? 0 : readU64(page, 88),
    logPages: version === 1 ? 0 : readU64(page, 96),
    newLogPages: version < 3 ? 0 : page.readUInt32LE(104),
    newLogSum: version < 3 ? 0 : page.readUInt32LE(108),
  };
  if (version >= 4 && page[112] !== 0) m.keyEncoding = page[112];
  if (version >= 4 && page[113] !== 0) m.valueEncoding = page[113];
  if (m.pageCount < META_PAGES) return `page count ${m.pageCount}`;
  for (const [name, n] of [['root', m.root], ['freelist', m.freelist], ['log', m.log]] as const) {
    if (n !== 0 && (n < META_PAGES || n >= m.pageCount)) return `${name} page ${n} is outside the file's ${m.pageCount} pages`;
  }
  if ((m.root === 0) !== (m.height === 0)) return `root ${m.root} with height ${m.height}`;
  if ((m.log === 0) !== (m.logPages === 0)) return `log page ${m.log} with ${m.logPages} log pages`;
  if (m.newLogPages > m.logPages) return `${m.newLogPages} new log pages in a chain of ${m.logPages}`;
  return m;
}

/**
 * The page size of a file from the start of its first two meta pages: page 0
 * says, or else page 1 at one of the four offsets a page size allows.
 * `read(offset, length)` returns what the file holds there (shorter at its end).
 */
export function probePageSize(read: (offset: number, length: number) => Buffer): number | undefined {
  const p0 = read(0, 48);
  if (p0.length >= 48 && p0.subarray(HEADER, HEADER + 8).equals(MAGIC)) {
    const p = p0.readUInt32LE(44);
    if ((PAGE_SIZES as readonly number[]).includes(p) && typeof decodeMeta(read(0, p), 0) !== 'string') return p;
  }
  for (const p of PAGE_SIZES) {
    if (typeof decodeMeta(read(p, p), 1) !== 'string') return p;
  }
  return undefined;
}

/**
 * The valid metas of `pages`, newest (larger txid) first; throws
 * `CorruptionError` naming page 0 when neither is valid.
 */
export function validMetas(pages: [Buffer, Buffer], path?: string): Meta[] {
  const a = decodeMeta(pages[0], 0);
  const b = decodeMeta(pages[1], 1);
  if (typeof a === 'string' && typeof b === 'string') {
    throw new CorruptionError(0, `no valid meta page (page 0: ${a}; page 1: ${b})`, path);
  }
  return [a, b].filter((m): m is Meta => typeof m !== 'string').sort((x, y) => y.txid - x.txid);
}

/** The valid meta with the larger txid (its log commit not checked: file.ts does that). */
export function pickMeta(pages: [Buffer, Buffer], path?: string): Meta {
  return validMetas(pages, path)[0];
}
