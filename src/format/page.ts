// On-disk pages, byte for byte as docs/FORMAT.md describes them: the 32-byte
// header, checksums, and the slotted branch and leaf layouts. Nothing here
// knows about transactions; `node.ts` turns pages into mutable nodes.
//
// The layouts' constants are copies of bpf/include/xrpkv_format.h's, which
// test/format-layout.test.ts checks against what clang compiles from it.
//
// Invariants every encoder keeps (and `check.ts` verifies):
// - bytes 0..4 hold the CRC-32 of bytes 4..P, written last (`seal`);
// - `pageNo` is the page's own number, `txid` the transaction that wrote it;
// - slots are in key order; entries are packed from the end of the page down;
// - a branch's entry 0 has an empty key (it covers everything below key 1).
import { CorruptionError } from '../errors.js';
import { native } from '../native.js';

/** The page header's size (`XRPKV_HEADER_SIZE`). */
export const HEADER = 32;
/** The page header's fields (`struct xrpkv_header`): offsets in the page. */
export const HEADER_FIELDS = { checksum: 0, type: 4, flags: 5, count: 6, pageNo: 8, txid: 16, next: 24 } as const;
/** The checksum covers the page from here (past itself) to its end. */
export const CHECKSUMMED = HEADER_FIELDS.checksum + 4;
const TYPE = HEADER_FIELDS.type;
const COUNT = HEADER_FIELDS.count;
export const PAGE_SIZES = [512, 1024, 2048, 4096] as const;
/** Pages 0 and 1 are the meta pages: no child, chain or freelist names one (`XRPKV_META_PAGES`). */
export const META_PAGES = 2;
export enum PageType {
  Meta = 1,
  Branch = 2,
  Leaf = 3,
  Overflow = 4,
  Freelist = 5,
  Log = 6,
}
export const TYPE_NAMES = ['?', 'meta', 'branch', 'leaf', 'overflow', 'freelist', 'log'];

/** The longest key any page stores (`XRPKV_MAX_KEY`); smaller pages allow less (`maxKeyLen`). */
export const MAX_KEY_LEN = 511;
/** The longest key a page of `p` bytes stores: every branch then holds 4 entries, every leaf 2. */
export const maxKeyLen = (p: number) => Math.min(MAX_KEY_LEN, p / 4 - 24);
/** The longest value stored inline in a leaf; longer ones go to overflow pages. */
export const maxInline = (p: number) => p / 4 - 16;
export const overflowCapacity = (p: number) => p - HEADER;
export const freelistCapacity = (p: number) => Math.floor((p - HEADER) / 8);

/** A branch entry's fixed part (`struct xrpkv_branch_entry`); its key follows. */
export const BRANCH_ENTRY = 10;
/** Its fields: offsets in the entry. */
export const BRANCH_ENTRY_FIELDS = { keyLen: 0, child: 2 } as const;
/** A leaf entry's fixed part (`struct xrpkv_leaf_entry`); its key, then its value or overflow page number, follow. */
export const LEAF_ENTRY = 8;
/** Its fields: offsets in the entry. */
export const LEAF_ENTRY_FIELDS = { keyLen: 0, valueKind: 2, reserved: 3, valueLen: 4 } as const;
/** A leaf entry's `valueKind` (`XRPKV_KIND_*`). */
export enum ValueKind {
  Inline = 0,
  Overflow = 1,
}
const { valueKind: VALUE_KIND, valueLen: VALUE_LEN } = LEAF_ENTRY_FIELDS;
/** Both kinds of entry start with their key's length. */
const KEY_LEN = LEAF_ENTRY_FIELDS.keyLen;
/** What follows an overflow value's key in its leaf entry: its first overflow page, a u64. */
export const OVERFLOW_REF = 8;
/** A slot: the u16 offset of an entry, in the array after the header. */
export const SLOT_SIZE = 2;

/** A value that lives in a chain of overflow pages starting at `page`. */
export interface OverflowRef {
  page: number;
  length: number;
}
/** A leaf value: inline bytes, or a reference to an overflow chain. */
export type LeafValue = Buffer | OverflowRef;

export interface Header {
  type: number;
  count: number;
  pageNo: number;
  txid: number;
  next: number;
}

// u64 fields as numbers: page numbers and txids stay far below 2^53.
export function readU64(b: Buffer, off: number): number {
  return b.readUInt32LE(off) + b.readUInt32LE(off + 4) * 0x1_0000_0000;
}
export function writeU64(b: Buffer, off: number, n: number): void {
  b.writeUInt32LE(n >>> 0, off);
  b.writeUInt32LE(Math.floor(n / 0x1_0000_0000), off + 4);
}

export function readHeader(page: Buffer): Header {
  return {
    type: page[TYPE],
    count: page.readUInt16LE(COUNT),
    pageNo: readU64(page, HEADER_FIELDS.pageNo),
    txid: readU64(page, HEADER_FIELDS.txid),
    next: readU64(page, HEADER_FIELDS.next),
  };
}

/** A zeroed page with its header filled in; the caller fills the body, then `seal`s it. */
export function newPage(p: number, type: PageType, count: number, pageNo: number, txid: number, next = 0): Buffer {
  const page = Buffer.alloc(p);
  page[TYPE] = type;
  page.writeUInt16LE(count, COUNT);
  writeU64(page, HEADER_FIELDS.pageNo, pageNo);
  writeU64(page, HEADER_FIELDS.txid, txid);
  writeU64(page, HEADER_FIELDS.next, next);
  return page;
}

/**
 * The page check XRP chains run on every page they read of a store's file
 * (XrpFile's `pageCheck`): the checksum as checksumOf computes it, and the
 * page's own number.
 */
export const pageCheckOf = (pageSize: number) =>
  ({ pageSize, checksumAt: HEADER_FIELDS.checksum, coveredFrom: CHECKSUMMED, pageNoAt: HEADER_FIELDS.pageNo }) as const;

export function checksumOf(page: Buffer): number {
  // The addon's (zlib's CRC-32, with carry-less multiplication): 0.42 µs a
  // 4 KiB page against zlib.crc32's 0.84, paid by every read and commit.
  return native.crc32(page, CHECKSUMMED);
}
export function seal(page: Buffer): Buffer {
  page.writeUInt32LE(checksumOf(page), HEADER_FIELDS.checksum);
  return page;
}

/**
 * Checks what every page must satisfy: its checksum, its own number, a known
 * type (one of `types` when given). Throws `CorruptionError` naming the page.
 * `summed`: the checksum was checked already (the addon's map read).
 */
export function verifyPage(page: Buffer, pageNo: number, types?: readonly PageType[], path?: string, summed = false): Header {
  if (!summed && page.readUInt32LE(HEADER_FIELDS.checksum) !== checksumOf(page)) throw new CorruptionError(pageNo, 'checksum mismatch', path);
  const h = readHeader(page);
  if (h.pageNo !== pageNo) throw new CorruptionError(pageNo, `it claims to be page ${h.pageNo}`, path);
  if (h.type < PageType.Meta || h.type > PageType.Log) throw new CorruptionError(pageNo, `unknown type ${h.type}`, path);
  if (types && !types.includes(h.type)) {
    const want = types.map((t) => TYPE_NAMES[t]).join(' or ');
    throw new CorruptionError(pageNo, `expected a ${want} page, found a ${TYPE_NAMES[h.type]} page`, path);
  }
  return h;
}

// ---- slotted pages ---------------------------------------------------------

/** Bytes a leaf entry takes, its slot included. */
export const leafEntrySize = (keyLen: number, v: LeafValue, p: number) =>
  SLOT_SIZE + LEAF_ENTRY + keyLen + (Buffer.isBuffer(v) && v.length <= maxInline(p) ? v.length : OVERFLOW_REF);
export const branchEntrySize = (keyLen: number) => SLOT_SIZE + BRANCH_ENTRY + keyLen;

/** The offset of entry `i`, checked to leave room for `fixed` bytes of it. */
function slot(page: Buffer, i: number, fixed: number, pageNo: number): number {
  const off = page.readUInt16LE(HEADER + SLOT_SIZE * i);
  const count = page.readUInt16LE(COUNT);
  if (off < HEADER + SLOT_SIZE * count || off + fixed > page.length) {
    throw new CorruptionError(pageNo, `slot ${i} points at ${off}, outside the entry area`);
  }
  return off;
}

function checkCount(page: Buffer, pageNo: number, min: number): number {
  const count = page.readUInt16LE(COUNT);
  if (count < min || HEADER + SLOT_SIZE * count > page.length) throw new CorruptionError(pageNo, `bad entry count ${count}`);
  return count;
}

/** Entry `i`'s key bounds [start, end) within the page, checked. */
export function keyBounds(page: Buffer, i: number, leaf: boolean, pageNo: number): [number, number] {
  const fixed = leaf ? LEAF_ENTRY : BRANCH_ENTRY;
  const off = slot(page, i, fixed, pageNo);
  const end = off + fixed + page.readUInt16LE(off + KEY_LEN);
  if (end > page.length) throw new CorruptionError(pageNo, `entry ${i}'s key runs past the page`);
  return [off + fixed, end];
}

/** Fills slots and entries (packed downward from the end); `write` writes entry i at `off`, `size` its length. */
function pack(page: Buffer, n: number, size: (i: number) => number, write: (i: number, off: number) => void): void {
  let end = page.length;
  for (let i = 0; i < n; i++) {
    end -= size(i);
    if (end < HEADER + SLOT_SIZE * n) throw new RangeError('entries overflow the page');
    page.writeUInt16LE(end, HEADER + SLOT_SIZE * i);
    write(i, end);
  }
}

export function encodeBranch(p: number, pageNo: number, txid: number, keys: Buffer[], children: number[]): Buffer {
  const page = newPage(p, PageType.Branch, keys.length, pageNo, txid);
  const key = (i: number) => (i === 0 ? EMPTY : keys[i]);
  pack(page, keys.length, (i) => BRANCH_ENTRY + key(i).length, (i, off) => {
    page.writeUInt16LE(key(i).length, off + BRANCH_ENTRY_FIELDS.keyLen);
    writeU64(page, off + BRANCH_ENTRY_FIELDS.child, children[i]);
    key(i).copy(page, off + BRANCH_ENTRY);
  });
  return seal(page);
}
const EMPTY = Buffer.alloc(0);

/** The child of the branch entry whose key starts at `keyStart` (from `keyBounds`). */
export const branchChild = (page: Buffer, keyStart: number) => readU64(page, keyStart - BRANCH_ENTRY + BRANCH_ENTRY_FIELDS.child);

export function decodeBranch(page: Buffer, pageNo: number): { keys: Buffer[]; children: number[] } {
  const count = checkCount(page, pageNo, 1);
  const keys: Buffer[] = [];
  const children: number[] = [];
  for (let i = 0; i < count; i++) {
    const [start, end] = keyBounds(page, i, false, pageNo);
    keys.push(page.subarray(start, end));
    children.push(branchChild(page, start));
  }
  return { keys, children };
}

/** Bytes of a leaf entry (slot excluded) for `key` and a value already inline-sized or an overflow reference. */
export const leafEntryBytes = (key: Buffer, v: LeafValue) => LEAF_ENTRY + key.length + (Buffer.isBuffer(v) ? v.length : OVERFLOW_REF);

/** Writes a leaf entry at `off`; the value must be inline-sized or an overflow reference. */
export function writeLeafEntry(page: Buffer, off: number, key: Buffer, v: LeafValue, p: number): void {
  page.writeUInt16LE(key.length, off + KEY_LEN);
  key.copy(page, off + LEAF_ENTRY);
  const at = off + LEAF_ENTRY + key.length;
  if (Buffer.isBuffer(v)) {
    if (v.length > maxInline(p)) throw new RangeError('an inline value is too long');
    page.writeUInt32LE(v.length, off + VALUE_LEN);
    v.copy(page, at);
  } else {
    page[off + VALUE_KIND] = ValueKind.Overflow;
    page.writeUInt32LE(v.length, off + VALUE_LEN);
    writeU64(page, at, v.page);
  }
}

/** Leaf entries (no slots) back to back, as `writeLeafEntry` puts them in a page. */
export function leafEntryRun(keys: Buffer[], values: LeafValue[], p: number): Buffer {
  let size = 0;
  for (let i = 0; i < keys.length; i++) size += leafEntryBytes(keys[i], values[i]);
  const run = Buffer.alloc(size);
  for (let i = 0, off = 0; i < keys.length; off += leafEntryBytes(keys[i], values[i]), i++) writeLeafEntry(run, off, keys[i], values[i], p);
  return run;
}

/** Leaf values must already be inline-sized buffers or overflow references. */
export function encodeLeaf(p: number, pageNo: number, txid: number, keys: Buffer[], values: LeafValue[]): Buffer {
  const page = newPage(p, PageType.Leaf, keys.length, pageNo, txid);
  pack(page, keys.length, (i) => leafEntryBytes(keys[i], values[i]), (i, off) => writeLeafEntry(page, off, keys[i], values[i], p));
  return seal(page);
}

/** Leaf entry `i`'s value, given its key's bounds (from `keyBounds`). */
export function leafValue(page: Buffer, i: number, keyStart: number, keyEnd: number, pageNo: number): LeafValue {
  const off = keyStart - LEAF_ENTRY;
  const length = page.readUInt32LE(off + VALUE_LEN);
  const kind = page[off + VALUE_KIND];
  if (kind === ValueKind.Overflow) {
    if (keyEnd + OVERFLOW_REF > page.length) throw new CorruptionError(pageNo, `entry ${i}'s overflow reference runs past the page`);
    return { page: readU64(page, keyEnd), length };
  }
  if (kind !== ValueKind.Inline) throw new CorruptionError(pageNo, `entry ${i} has unknown value kind ${kind}`);
  if (keyEnd + length > page.length) throw new CorruptionError(pageNo, `entry ${i}'s value runs past the page`);
  return page.subarray(keyEnd, keyEnd + length);
}

export function decodeLeaf(page: Buffer, pageNo: number): { keys: Buffer[]; values: LeafValue[] } {
  const count = checkCount(page, pageNo, 0);
  const keys: Buffer[] = [];
  const values: LeafValue[] = [];
  for (let i = 0; i < count; i++) {
    const [start, end] = keyBounds(page, i, true, pageNo);
    keys.push(page.subarray(start, end));
    values.push(leafValue(page, i, start, end, pageNo));
  }
  return { keys, values };
}

/**
 * Binary search of a slotted page for `key`: the index of the last entry
 * whose key is <= `key` (-1 if none), and whether it is equal. On a branch,
 * entry 0's empty key is <= every key, so the result is never -1.
 */
export function searchPage(page: Buffer, key: Buffer, leaf: boolean, pageNo: number): { index: number; exact: boolean } {
  // keyBounds' checks, inlined: no tuple per probe, and keys compared in JS
  // (a native Buffer#compare call costs more than comparing short keys here).
  const fixed = leaf ? LEAF_ENTRY : BRANCH_ENTRY;
  const count = page[COUNT] | (page[COUNT + 1] << 8);
  const size = page.length;
  const low = HEADER + SLOT_SIZE * count;
  let lo = 0;
  let hi = count - 1;
  let index = -1;
  // Bytes `key` shares with the entries just below `lo` and just above `hi`.
  let sharedLo = 0;
  let sharedHi = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const s = HEADER + SLOT_SIZE * mid;
    const off = s + 1 < size ? page[s] | (page[s + 1] << 8) : 0;
    if (off < low || off + fixed > size) throw new CorruptionError(pageNo, `slot ${mid} points at ${off}, outside the entry area`);
    const start = off + fixed;
    const end = start + (page[off + KEY_LEN] | (page[off + KEY_LEN + 1] << 8));
    if (end > size) throw new CorruptionError(pageNo, `entry ${mid}'s key runs past the page`);
    const c = compareKeyFrom(key, page, start, end, sharedLo < sharedHi ? sharedLo : sharedHi);
    if (c === 0) return { index: mid, exact: true };
    if (c > 0) {
      index = mid;
      lo = mid + 1;
      sharedLo = c - 1;
    } else {
      hi = mid - 1;
      sharedHi = -c - 1;
    }
  }
  return { index, exact: false };
}

/**
 * `key` against the key at `keys[start..end)` in memcmp order, then length,
 * given that their first `from` bytes are equal: 0 when equal, else
 * ±(1 + the bytes they share), with the sign of key - other.
 *
 * A binary search passes the smaller of the prefixes `key` shares with the
 * entries bounding the range still searched: every entry between two keys
 * that share a prefix with `key` shares it too, so those bytes need no
 * second look. Keys with a long common prefix (`user:0000…`) then cost a
 * few byte comparisons per probe instead of the whole prefix each time.
 */
export function compareKeyFrom(key: Buffer, keys: Buffer, start: number, end: number, from: number): number {
  const klen = key.length;
  const plen = end - start;
  const n = klen < plen ? klen : plen;
  let i = from;
  while (i < n && key[i] === keys[start + i]) i++;
  if (i < n) return key[i] < keys[start + i] ? -(i + 1) : i + 1;
  return klen === plen ? 0 : klen < plen ? -(i + 1) : i + 1;
}

/** `Buffer.compare(a, b)` without the native call (cheaper for keys of up to a few hundred bytes). */
export function compareBytes(a: Buffer, b: Buffer): number {
  const alen = a.length;
  const blen = b.length;
  const n = alen < blen ? alen : blen;
  for (let i = 0; i < n; i++) {
    const d = a[i] - b[i];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return alen === blen ? 0 : alen < blen ? -1 : 1;
}


// ---- overflow and freelist pages --------------------------------------------

export function encodeOverflow(p: number, pageNo: number, txid: number, chunk: Buffer, next: number): Buffer {
  const page = newPage(p, PageType.Overflow, 0, pageNo, txid, next);
  chunk.copy(page, HEADER);
  return seal(page);
}

export function encodeFreelist(p: number, pageNo: number, txid: number, ids: number[], next: number): Buffer {
  const page = newPage(p, PageType.Freelist, ids.length, pageNo, txid, next);
  ids.forEach((id, i) => writeU64(page, HEADER + 8 * i, id));
  return seal(page);
}

export function decodeFreelist(page: Buffer, pageNo: number): number[] {
  const count = page.readUInt16LE(COUNT);
  if (count > freelistCapacity(page.length)) throw new CorruptionError(pageNo, `bad freelist count ${count}`);
  return Array.from({ length: count }, (_, i) => readU64(page, HEADER + 8 * i));
}
