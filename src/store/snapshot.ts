// Read snapshots and the `walk` lookup. A snapshot is a meta (root, height,
// page count) as of one commit; every page reachable from it stays as it was
// while the snapshot is registered (db.ts counts open snapshots by txid, and
// freelist.ts frees nothing a registered snapshot can reach). Keys the log
// has changed since the tree's last checkpoint are answered from the overlay
// (overlay.ts) as of the snapshot's txid: `find` looks there first.
//
// A lookup reads one page per level. The top `cacheLevels` levels are kept
// decoded in `cache` (page number -> view); deeper pages are searched in
// place, from the cache when it holds them (pager.ts says which do), else
// read. The cache is bounded (`cacheSize`, page-cache.ts): an evicted view or
// page is read again when next needed. A cached page number is dropped when
// the page is freed and again when it is reused, so the cache never holds a
// page's old contents under its new number.
import { CorruptionError } from '../errors.js';
import type { Freelist } from './freelist.js';
import type { Meta } from '../format/meta.js';
import {
  HEADER,
  HEADER_FIELDS,
  META_PAGES,
  PageType,
  branchChild,
  decodeBranch,
  decodeLeaf,
  keyBounds,
  leafValue,
  overflowCapacity,
  readHeader,
  compareKeyFrom,
  searchPage,
  type LeafValue,
  type OverflowRef,
} from '../format/page.js';
import type { Overlay, Recent } from './overlay.js';
import type { PageCache } from './page-cache.js';
import type { Pager } from './pager.js';

/** A decoded branch or leaf page, shared read-only between snapshots. */
export interface PageView {
  leaf: boolean;
  keys: Buffer[];
  children: number[];
  values: LeafValue[];
}

/** What transactions share: the file, the cache and the last committed state. */
export interface StoreState {
  readonly path: string;
  readonly pager: Pager;
  readonly pageSize: number;
  readonly cacheLevels: number;
  /** The pager's cache: decoded views of the top `cacheLevels` levels, and verified pages. */
  readonly cache: PageCache;
  meta: Meta;
  freelist: Freelist;
  /** The pages the committed freelist is written on (freed by the next commit). */
  freelistPages: number[];
  /** The log's changes since the last checkpoint; replaced, never cleared, by a checkpoint. */
  overlay: Overlay;
  /** The log's pages, oldest first (freed by the next checkpoint). */
  logPages: number[];
  /** What opening fell back from (file.ts), when it had to. */
  readonly recovery?: Recovery;
}

const LEAF: readonly PageType[] = [PageType.Leaf];
const BRANCH: readonly PageType[] = [PageType.Branch];
/** The entries of a page (a branch's children). */
const entryCount = (page: Buffer) => page.readUInt16LE(HEADER_FIELDS.count);

/** Where a lookup goes after the levels held in memory: a value (or absent) already, or a read of `page` at `depth`. */
export type LookupStart = { done: true; value: LeafValue | undefined } | { done: false; page: number; depth: number };

/** What opening fell back from: the first page involved, the commit it opened at, and why. */
export interface Recovery {
  page: number;
  txid: number;
  reason: string;
}

export class Snapshot {
  released = false;
  /** The overlay of the tree `meta` points at. */
  readonly overlay: Overlay;

  constructor(
    readonly store: StoreState,
    readonly meta: Meta,
    private onRelease?: (s: Snapshot) => void,
  ) {
    this.overlay = store.overlay;
  }

  /** What the log says of `key` as of this snapshot: its value, null (removed) or undefined (the tree decides). */
  recent(key: Buffer): Recent {
    return this.overlay.size === 0 ? undefined : this.overlay.find(key, this.meta.txid);
  }

  /**
   * Whether the key `src[at, at + len)` (`h` its `hashOf`) is there as of
   * this snapshot, log included: a write's existence check, which needs no
   * view of the key unless the tree must be searched.
   */
  holds(src: Buffer, at: number, len: number, h: number): boolean {
    if (this.overlay.size > 0) {
      const logged = this.overlay.holds(src, at, len, h, this.meta.txid);
      if (logged !== undefined) return logged;
    }
    return this.meta.root !== 0 && this.lookup(src.subarray(at, at + len), false) !== undefined;
  }

  /**
   * The value stored under `key` as of this snapshot, log included, or
   * undefined. `copy` false: the value may be a view of the buffer the next
   * read reuses (for a caller done with it before then: `getBinaryFast`,
   * an existence check).
   */
  find(key: Buffer, copy = true): LeafValue | undefined {
    const v = this.recent(key);
    return v === undefined ? this.lookup(key, copy) : (v ?? undefined);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.onRelease?.(this);
  }

  /** The child pointer `child` of page `parent`, checked to lie inside the file. */
  checkPointer(parent: number, child: number): number {
    if (child < META_PAGES || child >= this.meta.pageCount) {
      throw new CorruptionError(parent, `it points at page ${child}, outside the file's ${this.meta.pageCount} pages`, this.store.path);
    }
    return child;
  }

  /** Page `pageNo` at `depth` (0 = root), verified to be a branch or, on the last level, a leaf. */
  read(pageNo: number, depth: number): Buffer {
    return this.store.pager.read(pageNo, depth === this.meta.height - 1 ? LEAF : BRANCH);
  }

  /** Whether the cache keeps the branch pages at `depth` (page-cache.ts `holdsLevel`). */
  private keepsLevel(depth: number): boolean {
    const { store } = this;
    return depth < this.meta.height - 1 && store.cache.holdsLevel(depth, this.meta.height, store.pageSize, store.cacheLevels);
  }

  /** Tells the cache a branch page at `depth` was read from the file: its fanout shapes `holdsLevel`. */
  private noteRead(page: Buffer, depth: number): void {
    if (page[HEADER_FIELDS.type] === PageType.Branch) this.store.cache.noteBranch(depth, this.meta.height, entryCount(page));
  }

  /** Page `pageNo` at `depth`, decoded; from the cache in the top `cacheLevels` levels. */
  view(pageNo: number, depth: number): PageView {
    const cached = depth < this.store.cacheLevels;
    if (cached) {
      const hit = this.store.cache.get(pageNo);
      if (hit) return hit;
    }
    const page = this.read(pageNo, depth);
    this.noteRead(page, depth);
    const leaf = readHeader(page).type === PageType.Leaf;
    const view: PageView = leaf
      ? { leaf, children: [], ...decodeLeaf(page, pageNo) }
      : { leaf, values: [], ...decodeBranch(page, pageNo) };
    if (cached) this.store.cache.set(pageNo, view, page);
    return view;
  }

  /**
   * Descends the levels held in memory: the top `cacheLevels` as views,
   * then the pages the cache holds, reading (and keeping) a missing branch
   * page only where the cache keeps its whole level (`keepsLevel`). Returns the
   * value when that reaches the leaf, else the first page left to read and
   * its depth: an `xrp` lookup's chain starts there (xrp-lookup.ts), so that
   * chains read only what memory cannot give.
   */
  descendCached(key: Buffer): LookupStart {
    const { root, height } = this.meta;
    if (root === 0) return { done: true, value: undefined };
    let pageNo = root;
    for (let depth = 0; depth < height; depth++) {
      const last = depth === height - 1;
      if (depth < this.store.cacheLevels) {
        const v = this.view(pageNo, depth);
        const i = viewSearch(v, key);
        if (v.leaf) return { done: true, value: i.exact ? v.values[i.index] : undefined };
        pageNo = this.checkPointer(pageNo, v.children[i.index]);
        continue;
      }
      let page = this.store.pager.cached(pageNo, last ? LEAF : BRANCH);
      if (page === undefined) {
        if (!this.keepsLevel(depth)) return { done: false, page: pageNo, depth };
        page = this.read(pageNo, depth);
        this.noteRead(page, depth);
      }
      const next = this.step(page, pageNo, key, last);
      if (last) return { done: true, value: next as LeafValue | undefined };
      pageNo = next as number;
    }
    return { done: true, value: undefined };
  }

  /** One level of a lookup in verified `page` (page `pageNo`): the leaf's value (a view of `page`) or undefined, or the child to read next. */
  private step(page: Buffer, pageNo: number, key: Buffer, last: boolean): LeafValue | number | undefined {
    const i = searchPage(page, key, last, pageNo);
    if (last) {
      if (!i.exact) return undefined;
      const [start, end] = keyBounds(page, i.index, true, pageNo);
      return leafValue(page, i.index, start, end, pageNo);
    }
    if (i.index < 0) throw new CorruptionError(pageNo, 'branch page with no entries', this.store.path);
    return this.checkPointer(pageNo, branchChild(page, keyBounds(page, i.index, false, pageNo)[0]));
  }

  /** The value the tree (without the log) holds under `key`, or undefined: one page per level (`copy` as `find`'s). */
  lookup(key: Buffer, copy = true): LeafValue | undefined {
    return this.meta.root === 0 ? undefined : this.lookupFrom(this.meta.root, 0, key, copy);
  }

  /** `lookup` from page `pageNo` at `depth` down. */
  lookupFrom(pageNo: number, depth: number, key: Buffer, copy = true): LeafValue | undefined {
    const { height } = this.meta;
    for (; depth < height; depth++) {
      const last = depth === height - 1;
      if (depth < this.store.cacheLevels) {
        const v = this.view(pageNo, depth);
        const i = viewSearch(v, key);
        if (last) return i.exact ? v.values[i.index] : undefined;
        pageNo = this.checkPointer(pageNo, v.children[i.index]);
        continue;
      }
      const { pager } = this.store;
      const types = last ? LEAF : BRANCH;
      let page = pager.cached(pageNo, types);
      if (page === undefined) {
        page = pager.readShared(pageNo, types, this.keepsLevel(depth));
        this.noteRead(page, depth);
      }
      const next = this.step(page, pageNo, key, last);
      if (!last) {
        pageNo = next as number;
        continue;
      }
      // A value in the reused buffer is copied out before the next read overwrites it, unless the caller is done with it by then.
      return copy && Buffer.isBuffer(next) && pager.isShared(page) ? Buffer.from(next) : (next as LeafValue | undefined);
    }
    return undefined;
  }

  get(key: Buffer): Buffer | undefined {
    const v = this.find(key);
    return v === undefined ? undefined : this.value(v);
  }

  /** The bytes of a leaf value, following its overflow chain when it has one. */
  value(v: LeafValue): Buffer {
    if (Buffer.isBuffer(v)) return v;
    const out = Buffer.allocUnsafe(v.length);
    overflowChain(this, v, (page, offset, pageNo) => {
      const n = Math.min(overflowCapacity(page.length), v.length - offset);
      if (n < 0) throw new CorruptionError(pageNo, 'the overflow chain is longer than its value', this.store.path);
      page.copy(out, offset, HEADER, HEADER + n);
    });
    return out;
  }
}

/**
 * Open snapshots, counted by txid: the pages they reach are not reused
 * (freelist.ts). `changed` hears the oldest txid (Infinity: none) after
 * each open and release, for the handle's reader slot (reader-table.ts).
 */
export class Snapshots {
  private readonly byTxid = new Map<number, number>();
  private readonly live = new Set<Snapshot>();

  constructor(private readonly changed?: (oldest: number) => void) {}

  /** A registered snapshot of the last commit. */
  open(store: StoreState): Snapshot {
    const { txid } = store.meta;
    const snap = new Snapshot(store, store.meta, (s) => {
      this.live.delete(s);
      const n = (this.byTxid.get(txid) ?? 1) - 1;
      if (n === 0) this.byTxid.delete(txid);
      else this.byTxid.set(txid, n);
      this.changed?.(this.oldest());
    });
    this.live.add(snap);
    this.byTxid.set(txid, (this.byTxid.get(txid) ?? 0) + 1);
    this.changed?.(this.oldest());
    return snap;
  }

  /** The txid of the oldest open snapshot; Infinity when none is open. */
  oldest(): number {
    let oldest = Infinity;
    for (const txid of this.byTxid.keys()) oldest = Math.min(oldest, txid);
    return oldest;
  }

  releaseAll(): void {
    for (const s of [...this.live]) s.release();
  }
}

/** Binary search of a decoded page (same answer as `searchPage`). */
export function viewSearch(v: PageView, key: Buffer): { index: number; exact: boolean } {
  let lo = v.leaf ? 0 : 1;
  let hi = v.keys.length - 1;
  let index = v.leaf ? -1 : 0;
  // As in searchPage: bytes `key` shares with the entries bounding the range.
  let sharedLo = 0;
  let sharedHi = 0;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const k = v.keys[mid];
    const c = compareKeyFrom(key, k, 0, k.length, sharedLo < sharedHi ? sharedLo : sharedHi);
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
 * Visits the pages of the overflow chain of `ref` in order, with the offset of
 * the value each one holds. The chain must have exactly the pages its length needs.
 */
export function overflowChain(s: Snapshot, ref: OverflowRef, visit: (page: Buffer, offset: number, pageNo: number) => void): void {
  const cap = overflowCapacity(s.store.pageSize);
  const pages = Math.ceil(ref.length / cap);
  let pageNo = ref.page;
  let from = 0;
  for (let i = 0; i < pages; i++) {
    s.checkPointer(i === 0 ? pageNo : from, pageNo);
    const page = s.store.pager.read(pageNo, [PageType.Overflow]);
    visit(page, i * cap, pageNo);
    from = pageNo;
    pageNo = readHeader(page).next;
    if ((pageNo === 0) !== (i === pages - 1)) {
      throw new CorruptionError(from, `the overflow chain of a ${ref.length}-byte value has the wrong length`, s.store.path);
    }
  }
}
