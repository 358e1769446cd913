// Builds the trees of `xrpkv bench depth`: a valid xrpkv file (docs/FORMAT.md)
// holding a full B+tree of exactly `height` levels, written bottom-up in one
// pass as BPF-KV's bulk load does (leaves first, then each branch level, the
// root last), so `open` and `checkFile` accept it.
//
// Keys are 8-byte big-endian integers (what `keyEncoding: 'binary'` sees):
// key number i is the integer 2i, so every odd integer is a key that is
// absent. Values are `valueSize` bytes derived from the key (`valueOf`), so
// every lookup result can be checked.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { encodeMeta } from '../format/meta.js';
import { HEADER, PAGE_SIZES, branchEntrySize, encodeBranch, encodeLeaf, leafEntrySize, maxInline } from '../format/page.js';

export const KEY_BYTES = 8;
/** The transaction the tree's pages and meta claim (1 is the empty file's second meta). */
const TREE_TXID = 2;
/** Pages written per write call. */
const CHUNK_PAGES = 256;

export interface ShapeRequest {
  pageSize: number;
  /** The most entries per page (BPF-KV: 31); the format may fit fewer. */
  fanout: number;
  valueSize: number;
  height: number;
  /** The most keys a tree may hold; deep trees get a lower branch fanout to fit. */
  maxKeys: number;
}

/** What a tree of one height will look like, and why. */
export interface TreeShape {
  pageSize: number;
  height: number;
  valueSize: number;
  /** Entries per leaf and per branch that fit a page of this size (format limits). */
  leafCapacity: number;
  branchCapacity: number;
  /** Entries per leaf and per branch actually used. */
  leafFill: number;
  branchFill: number;
  keys: number;
  /** Why the fills are below `fanout`, in words (empty when they are not). */
  notes: string[];
}

/** Leaf entries of 8-byte keys and `valueSize`-byte inline values that fit one page. */
export function leafCapacity(pageSize: number, valueSize: number): number {
  return Math.floor((pageSize - HEADER) / leafEntrySize(KEY_BYTES, Buffer.alloc(valueSize), pageSize));
}

/** Branch entries that fit one page: entry 0 has an empty key, the others 8-byte keys. */
export function branchCapacity(pageSize: number): number {
  return 1 + Math.floor((pageSize - HEADER - branchEntrySize(0)) / branchEntrySize(KEY_BYTES));
}

/** Plans a full tree of exactly `height` levels within `maxKeys`; RangeError when impossible. */
export function planTree(r: ShapeRequest): TreeShape {
  const { pageSize, fanout, valueSize, height, maxKeys } = r;
  if (!(PAGE_SIZES as readonly number[]).includes(pageSize)) throw new RangeError(`page size must be 512, 1024, 2048 or 4096, got ${pageSize}`);
  if (!Number.isInteger(fanout) || fanout < 2) throw new RangeError(`fanout must be an integer >= 2, got ${fanout}`);
  if (!Number.isInteger(valueSize) || valueSize < 0 || valueSize > maxInline(pageSize)) {
    throw new RangeError(`value size must be 0 to ${maxInline(pageSize)} bytes (inline) at ${pageSize}-byte pages, got ${valueSize}`);
  }
  if (!Number.isInteger(height) || height < 1 || height > 31) throw new RangeError(`height must be 1 to 31, got ${height}`);
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError(`max keys must be a positive integer, got ${maxKeys}`);
  const leafCap = leafCapacity(pageSize, valueSize);
  const branchCap = branchCapacity(pageSize);
  const notes: string[] = [];
  let leafFill = Math.min(fanout, leafCap);
  let branchFill = Math.min(fanout, branchCap);
  if (leafFill < fanout) notes.push(`a ${pageSize}-byte leaf fits ${leafCap} entries of ${valueSize}-byte values`);
  if (branchFill < fanout) notes.push(`a ${pageSize}-byte branch fits ${branchCap} entries`);
  const levelsAbove = height - 1;
  if (levelsAbove === 0) {
    if (leafFill > maxKeys) {
      leafFill = maxKeys;
      notes.push(`leaf fill lowered to ${leafFill} (--max-keys)`);
    }
    return { pageSize, height, valueSize, leafCapacity: leafCap, branchCapacity: branchCap, leafFill, branchFill, keys: leafFill, notes };
  }
  if (leafFill * branchFill ** levelsAbove > maxKeys) {
    // The largest branch fanout >= 2 whose full tree fits the budget.
    let b = branchFill;
    while (b > 2 && leafFill * b ** levelsAbove > maxKeys) b--;
    branchFill = b;
    notes.push(`branch fanout lowered to ${branchFill} to stay within --max-keys ${maxKeys}`);
    if (leafFill * 2 ** levelsAbove > maxKeys) {
      leafFill = Math.floor(maxKeys / 2 ** levelsAbove);
      if (leafFill < 1) {
        throw new RangeError(`a tree of ${height} levels needs at least ${2 ** levelsAbove} keys; --max-keys is ${maxKeys}`);
      }
      notes.push(`leaf fill lowered to ${leafFill} to stay within --max-keys ${maxKeys}`);
    }
  }
  const keys = leafFill * branchFill ** levelsAbove;
  return { pageSize, height, valueSize, leafCapacity: leafCap, branchCapacity: branchCap, leafFill, branchFill, keys, notes };
}

/** Key number `i` as stored: the integer 2i, 8 bytes big-endian. Odd integers are never keys. */
export function keyOf(i: number): Buffer {
  const k = Buffer.allocUnsafe(KEY_BYTES);
  writeKey(k, 2 * i);
  return k;
}

/** The 8-byte big-endian key for the integer `n` (present when even and below 2 x keys). */
export function keyForInteger(n: number): Buffer {
  const k = Buffer.allocUnsafe(KEY_BYTES);
  writeKey(k, n);
  return k;
}

function writeKey(k: Buffer, n: number): void {
  k.writeUInt32BE(Math.floor(n / 0x1_0000_0000), 0);
  k.writeUInt32BE(n >>> 0, 4);
}

/** The value stored under `key`: its bytes repeated, each mixed with its position. */
export function valueOf(key: Buffer, size: number): Buffer {
  const v = Buffer.allocUnsafe(size);
  for (let j = 0; j < size; j++) v[j] = key[j & 7] ^ ((j * 37 + 11) & 0xff);
  return v;
}

/** A built tree: where its root is, how many pages the file holds. */
export interface BuiltTree extends TreeShape {
  path: string;
  root: number;
  pageCount: number;
  leafPages: number;
  branchPages: number;
}

/** Writes pages in order from `first`, a chunk per write call. */
class PageWriter {
  private chunk: Buffer[] = [];
  private chunkStart: number;
  constructor(
    private readonly fd: number,
    private readonly pageSize: number,
    first: number,
  ) {
    this.chunkStart = first;
  }
  push(page: Buffer): void {
    this.chunk.push(page);
    if (this.chunk.length === CHUNK_PAGES) this.flush();
  }
  flush(): void {
    if (this.chunk.length === 0) return;
    const bytes = Buffer.concat(this.chunk);
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.chunkStart * this.pageSize + done);
    this.chunkStart += this.chunk.length;
    this.chunk = [];
  }
}

/**
 * Writes `shape` as a new file at `path` (replacing any file there) and
 * fsyncs it. `progress(pagesWritten, pagesTotal)` is called now and then.
 */
export function buildTree(path: string, shape: TreeShape, progress?: (done: number, total: number) => void): BuiltTree {
  const { pageSize: p, height, leafFill, branchFill, valueSize } = shape;
  // Nodes per level, leaves first; level k (from the bottom) starts at page first[k].
  const counts: number[] = [];
  for (let k = 0; k < height; k++) counts.push(branchFill ** (height - 1 - k));
  const first: number[] = [];
  let next = 2;
  for (const c of counts) first.push(next), (next += c);
  const pageCount = next;
  const total = pageCount - 2;
  const fd = openSync(path, 'w');
  try {
    const writer = new PageWriter(fd, p, 2);
    let written = 0;
    const tick = () => {
      written++;
      if (progress && (written % 4096 === 0 || written === total)) progress(written, total);
    };
    for (let leaf = 0; leaf < counts[0]; leaf++) {
      const keys: Buffer[] = [];
      const values: Buffer[] = [];
      for (let j = 0; j < leafFill; j++) {
        const key = keyOf(leaf * leafFill + j);
        keys.push(key);
        values.push(valueOf(key, valueSize));
      }
      writer.push(encodeLeaf(p, first[0] + leaf, TREE_TXID, keys, values));
      tick();
    }
    // Above the leaves: node n of level k holds children n*b .. n*b+b-1 of level k-1,
    // each child's entry keyed by the first key of its subtree.
    for (let k = 1; k < height; k++) {
      const span = leafFill * branchFill ** (k - 1); // keys under one child
      for (let n = 0; n < counts[k]; n++) {
        const keys: Buffer[] = [];
        const children: number[] = [];
        for (let c = 0; c < branchFill; c++) {
          const child = n * branchFill + c;
          keys.push(keyOf(child * span));
          children.push(first[k - 1] + child);
        }
        writer.push(encodeBranch(p, first[k] + n, TREE_TXID, keys, children));
        tick();
      }
    }
    writer.flush();
    const root = first[height - 1];
    // Meta 1: the empty tree a new file starts with; meta 0: the bulk load's commit.
    const empty = { pageSize: p, root: 0, height: 0, pageCount: 2, freelist: 0, entries: 0, log: 0, logPages: 0, newLogPages: 0, newLogSum: 0 };
    writeSync(fd, encodeMeta({ ...empty, txid: 1 }), 0, p, p);
    writeSync(fd, encodeMeta({ ...empty, txid: TREE_TXID, root, height, pageCount, entries: shape.keys }), 0, p, 0);
    fsyncSync(fd);
    return { ...shape, path, root, pageCount, leafPages: counts[0], branchPages: total - counts[0] };
  } finally {
    closeSync(fd);
  }
}

/** Pages the file of `shape` will have, the two meta pages included. */
export function plannedPages(shape: TreeShape): number {
  let pages = 2;
  for (let k = 0; k < shape.height; k++) pages += shape.branchFill ** (shape.height - 1 - k);
  return pages;
}
