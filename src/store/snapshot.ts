// Read snapshots and the `walk` lookup. A snapshot is a meta (root, height,
// page count) as of one commit; every page reachable from it stays as it was
// while the snapshot is registered (db.ts counts open snapshots by txid, and
// freelist.ts frees nothing a registered snapshot can reach). Keys the log
// has changed since the tree's last checkpoint are answered from the overlay
// (overlay.ts) as of the snapshot's txid: `find` looks there first.
//
// A lookup reads one page per level. The top `cacheLevels` levels are kept
// decoded in `cache` (page number -> view); deeper pages are read and searched
// in place. A cached page number is evicted when the page is freed and again
// when it is reused, so the cache never holds a page's old contents under its
// new number.
import { CorruptionError } from '../errors.js';
import type { Freelist } from './freelist.js';
import type { Meta } from '../format/meta.js';
import {
  HEADER,
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
  readonly cache: Map<number, PageView>;
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
    return this.meta.root !== 0 && this.lookup(src.subarray(at, at + len)) !== undefined;
  }

  /** The value stored under `key` as of this snapshot, log included, or undefined. */
  find(key: Buffer): LeafValue | undefined {
    const v = this.recent(key);
    return v === undefined ? this.lookup(key) : (v ?? undefined);
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
    return this.store.pager.read(pageNo, [depth === this.meta.height - 1 ? PageType.Leaf : PageType.Branch]);
  }

  /** Page `pageNo` at `depth`, decoded; from the cache in the top `cacheLevels` levels. */
  view(pageNo: number, depth: number): PageView {
    const cached = depth < this.store.cacheLevels;
    if (cached) {
      const hit = this.store.cache.get(pageNo);
      if (hit) return hit;
    }
    const page = this.read(pageNo, depth);
    const leaf = readHeader(page).type === PageType.Leaf;
    const view: PageView = leaf
      ? { leaf, children: [], ...decodeLeaf(page, pageNo) }
      : { leaf, values: [], ...decodeBranch(page, pageNo) };
    if (cached) this.store.cache.set(pageNo, view);
    return view;
  }

  /** The value the tree (without the log) holds under `key`, or undefined: one page per level. */
  lookup(key: Buffer): LeafValue | undefined {
    return this.meta.root === 0 ? undefined : this.lookupFrom(this.meta.root, 0, key);
  }

  /** `lookup` from page `pageNo` at `depth` down. */
  lookupFrom(pageNo: number, depth: number, key: Buffer): LeafValue | undefined {
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
      const page = this.read(pageNo, depth);
      const i = searchPage(page, key, last, pageNo);
      if (last) {
        if (!i.exact) return undefined;
        const [start, end] = keyBounds(page, i.index, true, pageNo);
        return leafValue(page, i.index, start, end, pageNo);
      }
      if (i.index < 0) throw new CorruptionError(pageNo, 'branch page with no entries', this.store.path);
      pageNo = this.checkPointer(pageNo, branchChild(page, keyBounds(page, i.index, false, pageNo)[0]));
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

/** Open snapshots, counted by txid: the pages they reach are not reused (freelist.ts). */
export class Snapshots {
  private readonly byTxid = new Map<number, number>();
  private readonly live = new Set<Snapshot>();

  /** A registered snapshot of the last commit. */
  open(store: StoreState): Snapshot {
    const { txid } = store.meta;
    const snap = new Snapshot(store, store.meta, (s) => {
      this.live.delete(s);
      const n = (this.byTxid.get(txid) ?? 1) - 1;
      if (n === 0) this.byTxid.delete(txid);
      else this.byTxid.set(txid, n);
    });
    this.live.add(snap);
    this.byTxid.set(txid, (this.byTxid.get(txid) ?? 0) + 1);
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
