// A write transaction: copy on write over the last commit. Changes go to
// in-memory nodes (node.ts); `commit` rebalances them, writes them to pages
// taken from the freelist or appended, and returns those pages and the new
// meta as a tree commit (commit.ts) for writer.ts to write: pages, sync,
// meta, sync. A log commit (log-commit.ts) never comes here.
//
// Invariants:
// - the transaction writes only pages that are free (freelist.ts): no open
//   snapshot and neither meta page can reach them; every page it replaces
//   is released as pending under its own txid, never reused by itself;
// - a node that outgrows SPLIT_PAGES pages is split at once into nodes of
//   a page (`settle`), up to a new root if the root splits, so that no
//   insert moves more than a few pages' worth of entries, whatever order
//   keys come in (a node that splits only at commit grew to the size of
//   the batch, and each insert into it moved half of it: 100,000 shuffled
//   keys took seconds). Merges and the root's collapse happen in `commit`;
//   levels only ever grow before it, so a committed page's depth is its
//   depth in memory less `raised`, the levels added above the old root;
// - leaves are written with `next` = 0: under copy on write a sibling link
//   would force rewriting every leaf to the left of each changed one, so
//   ranges walk down from the root with a stack (cursor.ts) instead;
// - ascending puts past the tree's last key go to an append tail (append.ts)
//   that belongs to the rightmost leaf, the end of `tailPath`; any other
//   operation first moves the tail's entries into that leaf (`flushTail`),
//   so only appends and `commit` ever see a tail;
// - `commit` runs in slices (pace.ts): while the event loop turns in
//   between, reads may open snapshots and fill caches, but nothing writes,
//   and the pages this transaction takes were free before it began.
import { AppendTail } from './append.js';
import type { PreparedCommit } from './commit.js';
import { Freelist, type FreeGroup } from './freelist.js';
import { LogEncoder, type LogRecord } from '../format/log.js';
import type { Meta } from '../format/meta.js';
import { encodeLeafRuns } from './leaves.js';
import { Node, cutPieces, spliced } from './node.js';
import {
  HEADER_FIELDS,
  PageType,
  encodeBranch,
  encodeFreelist,
  encodeLeaf,
  encodeOverflow,
  freelistCapacity,
  leafEntryRun,
  maxInline,
  overflowCapacity,
  type LeafValue,
} from '../format/page.js';
import { Overlay } from './overlay.js';
import { Snapshot, overflowChain, type StoreState } from './snapshot.js';
import { isPageFailure } from '../errors.js';
import type { Pace, Steps } from './pace.js';

const EMPTY = Buffer.alloc(0);
/**
 * Pages' worth of entries a node may hold before it is split. More than
 * one: a node split as soon as it outgrew a page became two half pages,
 * and 200,000 shuffled keys into a tree of as many left its leaves 75% full
 * (the file 25% larger); from 2 to 16 they were 99.5% full, as the commit
 * cuts a node into even pieces of about a page, and as fast within noise.
 * And few, so that an insert moves few entries.
 */
const SPLIT_PAGES = 8;
/** Pages of an append tail the addon encodes per call (per slice of a commit at most): 256 took 2 to 3 ms, a whole slice (pace.ts). */
const TAIL_CHUNK_PAGES = 64;

/**
 * What is left of the log after a checkpoint that folded only part of it
 * (fold.ts): the log commits made while it folded, which its meta keeps.
 */
export interface LogLeft {
  /** The newest of their log pages (0: none) and how many there are. */
  log: number;
  logPages: number;
  /** Their pages, oldest first, and their changes. */
  pageList: number[];
  overlay: Overlay;
}

export class WriteTx {
  txid: number;
  /** Whether anything changed: a commit without changes writes nothing. */
  changed = false;
  readonly prefersKeyOrder = true;
  private readonly base: Snapshot;
  private readonly p: number;
  private freelist: Freelist;
  /** Pages freed before `rebase` (fold.ts), released under the txid the commit ends with. */
  private deferred: number[] | undefined;
  private root: Node | undefined;
  private rootLoaded = false;
  private height: number;
  /** Levels added above the committed root by splits: a committed page at depth d is at d + raised in memory. */
  private raised = 0;
  private entries: number;
  private pageCount: number;
  private readonly pages = new Map<number, Buffer>();
  /** Entries appended past the end of the tree, and the path (root to rightmost leaf) they follow. */
  private tail: AppendTail | undefined;
  private tailPath: Node[] | undefined;

  /**
   * `oldestSnapshot`: the txid of the oldest open snapshot (Infinity when
   * none); `logDelta`: what the log adds to the meta's count of keys (the
   * overlay's `delta`), whose changes the caller is about to put here.
   */
  constructor(
    private readonly store: StoreState,
    oldestSnapshot: number,
    logDelta = 0,
    /**
     * `on`: the commit to build on, when not the published one (a log
     * commit on top of it, the same tree); `rebasing`: `rebase` will run
     * before `commit`, and frees wait for it.
     */
    { on = store.meta, rebasing = false }: { on?: Meta; rebasing?: boolean } = {},
  ) {
    const meta = on;
    this.base = new Snapshot(store, meta);
    this.txid = meta.txid + 1;
    this.p = store.pageSize;
    this.height = meta.height;
    this.entries = meta.entries - logDelta;
    this.pageCount = meta.pageCount;
    this.freelist = store.freelist.clone();
    this.freelist.promote(oldestSnapshot);
    if (rebasing) this.deferred = [];
  }

  /**
   * Moves the transaction on top of `head`, a commit made since it began
   * that changed neither the tree nor the freelist's frees (log commits
   * only: fold.ts): it will commit as `head.txid + 1`, its pages taken from
   * the freelist and the file as they are now, its frees released under
   * that txid. Only before `commit`, which alone allocates.
   */
  rebase(head: Meta, oldestSnapshot: number): void {
    this.txid = head.txid + 1;
    this.pageCount = head.pageCount;
    this.freelist = this.store.freelist.clone();
    this.freelist.promote(oldestSnapshot);
    const freed = this.deferred ?? [];
    this.deferred = undefined;
    for (const page of freed) this.freelist.release(this.txid, page);
  }

  get(key: Buffer): Buffer | undefined {
    this.flushTail();
    let node = this.loadRoot();
    for (let depth = 0; node; depth++) {
      if (node.leaf) {
        const { index, exact } = node.find(key);
        return exact ? this.base.value(node.values[index]) : undefined;
      }
      const i = node.find(key).index;
      if (!node.kids[i]) {
        // Not materialized: search the committed pages without decoding them.
        const v = this.base.lookupFrom(this.base.checkPointer(node.pageNo, node.children[i]), depth + 1 - this.raised, key);
        return v === undefined ? undefined : this.base.value(v);
      }
      node = node.kids[i];
    }
    return undefined;
  }

  /**
   * `put` of the key at `src[keyStart..+keyLen]` and the value at
   * `src[valueStart..+valueLen]`; an ascending put past the tree's end
   * whose bytes are a leaf entry (packed.ts packs them so) joins the tail's
   * run of them and makes no object at all. `follows` (ops.ts): the key is
   * above the last write's, which, if the tail is there, was the tail's
   * last entry (every other write flushes the tail first).
   */
  putBytes(src: Buffer, keyStart: number, keyLen: number, valueStart: number, valueLen: number, follows = false): void {
    if (this.tail?.takes(src, keyStart, keyLen, valueStart, valueLen, follows)) {
      this.tail.push(src, keyStart, keyLen, valueLen);
      this.entries++;
      return;
    }
    const key = src.subarray(keyStart, keyStart + keyLen);
    const value = src.subarray(valueStart, valueStart + valueLen);
    this.flushTail();
    const path = this.putNode(key, value);
    if (!path) return;
    // Past the tree's last key: this and later ascending puts go to a tail.
    const tail = new AppendTail(this.p);
    if (tail.takes(src, keyStart, keyLen, valueStart, valueLen)) {
      tail.push(src, keyStart, keyLen, valueLen);
      this.tail = tail;
      this.tailPath = path;
      this.entries++;
    } else {
      this.append(path, key, value);
    }
  }

  put(key: Buffer, value: Buffer): void {
    this.flushTail();
    const path = this.putNode(key, value);
    if (path) this.append(path, key, value);
  }

  /**
   * Puts `key` in its leaf, unless it goes after every key of the tree with
   * an inline value: then returns the path to the (rightmost) leaf and
   * leaves the entry to the caller.
   */
  private putNode(key: Buffer, value: Buffer): Node[] | undefined {
    if (!this.loadRoot()) {
      this.root = new Node(true, 0);
      this.height = 1;
    }
    const path = this.descend(key);
    const leaf = path[path.length - 1];
    const { index, exact } = leaf.find(key);
    const dropped = exact ? this.overflowPages(leaf.values[index]) : undefined;
    for (const n of path) n.dirty = true;
    this.changed = true;
    if (exact) {
      if (dropped) for (const page of dropped) this.free(page);
      leaf.setValue(index, value, this.p);
    } else if (index === leaf.length && value.length <= maxInline(this.p) && this.rightmost(path)) {
      return path;
    } else {
      leaf.insert(index, key, value, this.p);
      this.entries++;
    }
    this.settle(path);
    return undefined;
  }

  /** Appends an entry to the leaf at the end of `path` (the rightmost): `key` is above every key of the tree. */
  private append(path: Node[], key: Buffer, value: Buffer): void {
    const leaf = path[path.length - 1];
    leaf.insert(leaf.length, key, value, this.p);
    this.entries++;
    this.settle(path);
  }

  /**
   * Splits the nodes of `path` (root to a node that just grew) that
   * outgrew SPLIT_PAGES pages into even pieces of a page, from the bottom
   * up; a root that splits gets a new root above it. Reads nothing, so a
   * put that got this far cannot fail.
   */
  private settle(path: Node[]): void {
    const limit = SPLIT_PAGES * this.p;
    for (let d = path.length - 1; d >= 0; d--) {
      const node = path[d];
      if (node.size(this.p) <= limit) return;
      const pieces = node.split(this.p);
      if (node.pageNo) this.free(node.pageNo);
      if (d > 0) {
        const parent = path[d - 1];
        parent.replaceChild(parent.kids.indexOf(node), pieces);
        continue;
      }
      // The root split: a new root above the pieces, split in turn while it is too big.
      let root = this.rootOver(pieces);
      while (root.size(this.p) > limit) root = this.rootOver(root.split(this.p));
      this.root = root;
    }
  }

  /** A new root over `pieces` (the old root split): one level more. */
  private rootOver(pieces: Node[]): Node {
    const root = new Node(false, 0, [EMPTY, ...pieces.slice(1).map((x) => x.keys[0])], [], new Array<number>(pieces.length).fill(0));
    root.kids = pieces;
    root.dirty = true;
    this.height++;
    this.raised++;
    return root;
  }

  /** Whether `key` was there. */
  remove(key: Buffer): boolean {
    this.flushTail();
    if (!this.loadRoot()) return false;
    const path = this.descend(key);
    const leaf = path[path.length - 1];
    const { index, exact } = leaf.find(key);
    if (!exact) return false;
    const dropped = this.overflowPages(leaf.values[index]);
    for (const n of path) n.dirty = true;
    if (dropped) for (const page of dropped) this.free(page);
    leaf.removeAt(index);
    this.entries--;
    this.changed = true;
    return true;
  }

  /** Frees pages the new meta will not reach (the log's, at a checkpoint); the commit then happens. */
  discard(pages: number[]): void {
    for (const page of pages) this.free(page);
    if (pages.length > 0) this.changed = true;
  }

  /**
   * Rebalances, spills and lists the pages to write, as a tree commit whose
   * meta has an empty log, or `left` of it: publishing it replaces the
   * freelist and the in-memory log (the caller has put the log's changes
   * here, or those up to where `left` begins, and `discard`ed their pages).
   * The transaction is spent after. Runs in slices of `pace`: spilling a
   * large commit encodes thousands of pages. `carried`, without `left`:
   * log records this commit writes as its log, for the keys its fold could
   * not put into the tree (fold.ts `carried`).
   */
  *commit(pace: Pace, left?: LogLeft, carried: readonly LogRecord[] = []): Steps<PreparedCommit> {
    if (this.deferred) throw new Error('internal error: a rebasing transaction committed before its rebase');
    // A small tail joins its leaf: the rules below then see a plain node. A
    // large one makes its leaf more than a page, so neither empty nor underfull.
    if (this.tail && this.tail.pageBytes < this.p) this.flushTail();
    // After the flush: the leaf it grows can split, up to a new root.
    let root = this.loadRoot();
    let rootPage = this.store.meta.root;
    if (root?.dirty) {
      this.rebalance(root, 0);
      // An empty root empties the tree; a branch root with one child gives way to it.
      for (let depth = 0; root && (this.count(root) === 0 || (!root.leaf && root.length === 1)); depth++) {
        const next: Node | undefined = this.count(root) === 0 ? undefined : this.sibling(root, 0, depth);
        // An only child that cannot be read keeps its parent as the root (a branch of one entry).
        if (next === undefined && this.count(root) !== 0) break;
        if (root.pageNo) this.free(root.pageNo);
        root = next;
        this.height--;
      }
      if (!root) this.height = 0;
      rootPage = root?.pageNo ?? 0;
      if (root?.dirty) {
        let parts = yield* this.spill(root, pace);
        while (parts.length > 1) {
          const up = new Node(false, 0, parts.map((x, i) => (i === 0 ? EMPTY : x.key)), [], parts.map((x) => x.page));
          up.dirty = true;
          this.height++;
          parts = yield* this.spill(up, pace);
        }
        rootPage = parts[0].page;
      }
    }
    if (carried.length > 0) {
      if (left) throw new Error('internal error: a commit that carries log records leaves no log of its own');
      left = this.carry(carried);
    }
    const freelistPages = this.writeFreelist();
    const meta: Meta = {
      txid: this.txid,
      pageSize: this.p,
      root: rootPage,
      height: rootPage === 0 ? 0 : this.height,
      pageCount: this.pageCount,
      freelist: freelistPages[0] ?? 0,
      entries: this.entries + (left?.overlay.delta ?? 0),
      log: left?.log ?? 0,
      logPages: left?.logPages ?? 0,
      newLogPages: 0,
      newLogSum: 0,
      keyEncoding: this.store.meta.keyEncoding,
      valueEncoding: this.store.meta.valueEncoding,
    };
    const { store, freelist } = this;
    return {
      protocol: 'tree',
      pages: this.pages,
      meta,
      publish: () => {
        store.meta = meta;
        store.freelist = freelist;
        store.freelistPages = freelistPages;
        store.overlay = left?.overlay ?? new Overlay(store.overlay.size);
        store.logPages = left?.pageList ?? [];
      },
    };
  }

  /**
   * `records` as this commit's log: pages of this commit (txid), and an
   * overlay that holds them for the snapshots that will read it. Their
   * kinds are what they do to the tree this commit leaves, so the meta
   * counts them as a log commit's are counted.
   */
  private carry(records: readonly LogRecord[]): LogLeft {
    const encoder = new LogEncoder(this.p, this.txid, () => this.allocate(), 0);
    for (const r of records) encoder.add(r);
    const { pages, newest } = encoder.finish();
    for (const [pageNo, page] of pages) this.pages.set(pageNo, page);
    const overlay = new Overlay(records.length);
    // Every snapshot that reads this overlay reads this commit or a later one.
    overlay.apply([...records], this.txid, Infinity);
    // The encoder numbers pages as it fills them: the first is the oldest.
    return { log: newest, logPages: pages.size, pageList: [...pages.keys()], overlay };
  }

  // ---- the append tail --------------------------------------------------------

  /** Whether `path` (root to leaf) takes the last child at every level. */
  private rightmost(path: Node[]): boolean {
    for (let d = 0; d + 1 < path.length; d++) {
      if (path[d].kids[path[d].children.length - 1] !== path[d + 1]) return false;
    }
    return true;
  }

  /** The leaf the tail follows, while there is a tail. */
  private get tailLeaf(): Node | undefined {
    return this.tail && this.tailPath![this.tailPath!.length - 1];
  }

  /**
   * Moves the tail's entries into its leaf, as plain node entries, and
   * splits the leaf as they make it grow, unless `settle` is false (a merge
   * is about to take the leaf whole: `rebalance`).
   */
  private flushTail(settle = true): void {
    const { tail, tailPath } = this;
    if (!tail || !tailPath) return;
    this.tail = this.tailPath = undefined;
    const leaf = tailPath[tailPath.length - 1];
    tail.forEach((key, value) => leaf.insert(leaf.length, key, value, this.p));
    if (settle) this.settle(tailPath);
  }

  /** Entries of `n`, its tail's included. */
  private count(n: Node): number {
    return n.length + (n === this.tailLeaf ? this.tail!.count : 0);
  }

  /**
   * `spill` for the leaf with the tail: its own entries, then the tail's,
   * cut into pages here and written by the addon from their page form, up
   * to TAIL_CHUNK_PAGES pages a call. The pages are views of the calls'
   * buffers, which a cached page keeps alive.
   */
  private *spillTail(leaf: Node, tail: AppendTail, pace: Pace): Steps<{ key: Buffer; page: number }[]> {
    this.spillValues(leaf);
    const own = leaf.length;
    const sizes = new Int32Array(own + tail.count);
    for (let i = 0; i < own; i++) sizes[i] = leaf.entrySize(i, this.p);
    sizes.set(tail.sizes(), own);
    if (leaf.pageNo) this.free(leaf.pageNo);
    leaf.pageNo = 0;
    const pieces = cutPieces(sizes, this.p);
    if (pace.due(pieces.length)) yield;
    const pageNos = pieces.map(() => this.allocate());
    // Entry i is the leaf's own below `own`, else the tail's i - own.
    for (let first = 0; first < pieces.length; first += TAIL_CHUNK_PAGES) {
      const end = Math.min(pieces.length, first + TAIL_CHUNK_PAGES);
      const from = pieces[first][0];
      const to = pieces[end - 1][1];
      const head = from < own ? leafEntryRun(leaf.keys.slice(from, Math.min(to, own)), leaf.values.slice(from, Math.min(to, own)), this.p) : EMPTY;
      const run = to > own ? tail.run(Math.max(from, own) - own, to - own) : { bytes: EMPTY };
      const counts = pieces.slice(first, end).map(([a, b]) => b - a);
      const bytes = encodeLeafRuns(this.p, this.txid, head, run, counts, pageNos.slice(first, end));
      for (let k = first; k < end; k++) this.pages.set(pageNos[k], bytes.subarray((k - first) * this.p, (k - first + 1) * this.p));
      if (pace.due(end - first)) yield;
    }
    return pieces.map(([from], k) => ({ key: from < own ? leaf.keys[from] : tail.key(from - own), page: pageNos[k] }));
  }

  // ---- nodes ----------------------------------------------------------------

  private loadRoot(): Node | undefined {
    if (!this.rootLoaded) {
      const { root } = this.store.meta;
      // Loaded only once read: a root that cannot be read is not an empty tree.
      if (root !== 0) this.root = this.load(root, 0);
      this.rootLoaded = true;
    }
    return this.root;
  }

  /** Page `pageNo` at `depth` in memory as a node: copied from the read cache when it is there. */
  private load(pageNo: number, memoryDepth: number): Node {
    const depth = memoryDepth - this.raised;
    const view = depth < this.store.cacheLevels ? this.store.cache.get(pageNo) : undefined;
    if (view) return new Node(view.leaf, pageNo, view.keys.slice(), view.values.slice(), view.children.slice());
    const page = this.base.read(pageNo, depth);
    return Node.fromPage(page, pageNo, page[HEADER_FIELDS.type] === PageType.Leaf);
  }

  /** Child `i` of `parent` (at `depth`), materialized; a branch learns its lower bound from `parent`. */
  private child(parent: Node, i: number, depth: number): Node {
    let kid = parent.kids[i];
    if (!kid) {
      kid = this.load(this.base.checkPointer(parent.pageNo, parent.children[i]), depth + 1);
      if (!kid.leaf) kid.keys[0] = parent.keys[i];
      parent.kids[i] = kid;
    }
    return kid;
  }

  /** The nodes from the root to the leaf that covers `key`. */
  private descend(key: Buffer): Node[] {
    let node = this.root!;
    const path = [node];
    for (let depth = 0; !node.leaf; depth++) {
      node = this.child(node, node.find(key).index, depth);
      path.push(node);
    }
    return path;
  }

  /**
   * The overflow pages of a value about to be replaced or removed, each read
   * and verified now, before anything changes: a page that cannot be read
   * fails the operation with the transaction as it was (ops.ts applyPacked).
   */
  private overflowPages(v: LeafValue): number[] | undefined {
    if (Buffer.isBuffer(v)) return undefined;
    const pages: number[] = [];
    overflowChain(this.base, v, (_page, _offset, pageNo) => pages.push(pageNo));
    return pages;
  }

  private free(pageNo: number): void {
    if (this.deferred) this.deferred.push(pageNo);
    else this.freelist.release(this.txid, pageNo);
    this.store.cache.delete(pageNo);
  }

  private allocate(): number {
    const reused = this.freelist.allocate();
    if (reused === undefined) return this.pageCount++;
    this.store.cache.delete(reused);
    return reused;
  }

  private underfull(n: Node): boolean {
    if (n === this.tailLeaf) return false; // more than a page: see commit
    return n.length === 0 || (!n.leaf && n.length < 2) || n.size(this.p) < this.p / 4;
  }

  /**
   * Bottom-up over changed nodes: drops empty children and merges each
   * underfull changed child into a sibling (a merged node too big for a page
   * is split again by `spill`, which evens the two out).
   */
  private rebalance(node: Node, depth: number): void {
    if (node.leaf) return;
    for (const kid of node.kids) if (kid?.dirty) this.rebalance(kid, depth + 1);
    for (let i = 0; i < node.children.length; ) {
      const kid = node.kids[i];
      if (!kid?.dirty || !this.underfull(kid)) {
        i++;
      } else if (kid.length === 0) {
        if (kid.pageNo) this.free(kid.pageNo);
        node.removeAt(i);
      } else if (node.children.length === 1) {
        break;
      } else {
        const left = i + 1 < node.children.length ? i : i - 1;
        const l = this.sibling(node, left, depth);
        const r = l && this.sibling(node, left + 1, depth);
        // A sibling that cannot be read stays as it is, and this node underfull (valid, if less full than it could be).
        if (!l || !r) {
          i++;
          continue;
        }
        if (r === this.tailLeaf) this.flushTail(false);
        l.absorb(r);
        if (r.pageNo) this.free(r.pageNo);
        node.removeAt(left + 1);
        i = left;
      }
    }
  }

  /** `child`, or undefined when its page cannot be read (a merge then leaves it alone). */
  private sibling(parent: Node, i: number, depth: number): Node | undefined {
    try {
      return this.child(parent, i, depth);
    } catch (e) {
      if (isPageFailure(e)) return undefined;
      throw e;
    }
  }

  /** Writes `node` (and its changed descendants) to new pages; returns them with their lower keys. */
  private *spill(node: Node, pace: Pace): Steps<{ key: Buffer; page: number }[]> {
    if (node === this.tailLeaf && this.tail) return yield* this.spillTail(node, this.tail, pace);
    if (!node.leaf) {
      node.kids.length = node.children.length;
      for (let i = node.children.length - 1; i >= 0; i--) {
        const kid = node.kids[i];
        if (!kid?.dirty) continue;
        // A leaf is a page or a few, written here; a branch or the tail's leaf, many.
        const parts = kid.leaf && kid !== this.tailLeaf ? this.pieces(kid).map((part) => this.writePiece(part)) : yield* this.spill(kid, pace);
        node.children = spliced(node.children, i, 1, parts.map((x) => x.page));
        node.keys = spliced(node.keys, i + 1, 0, parts.slice(1).map((x) => x.key));
        node.kids = spliced(node.kids, i, 1, new Array<Node | undefined>(parts.length));
        if (pace.due(parts.length)) yield;
      }
    }
    // The root's level can be hundreds of pages (the commit's `up` nodes).
    const written: { key: Buffer; page: number }[] = [];
    for (const part of this.pieces(node)) {
      written.push(this.writePiece(part));
      if (pace.due()) yield;
    }
    return written;
  }

  /** `node`, whose changed children are written already, cut into pieces of a page to write; its page is freed. */
  private pieces(node: Node): Node[] {
    if (node.leaf) this.spillValues(node);
    if (node.pageNo) this.free(node.pageNo);
    node.pageNo = 0;
    return node.split(this.p);
  }

  /** Writes a piece of a node to a new page. */
  private writePiece(part: Node): { key: Buffer; page: number } {
    const page = this.allocate();
    const bytes = part.leaf
      ? encodeLeaf(this.p, page, this.txid, part.keys, part.values)
      : encodeBranch(this.p, page, this.txid, part.keys, part.children);
    this.pages.set(page, bytes);
    return { key: part.keys[0], page };
  }

  /** Moves a leaf's new values too long to sit inline to overflow chains. */
  private spillValues(leaf: Node): void {
    const cap = overflowCapacity(this.p);
    leaf.values.forEach((v, i) => {
      if (!Buffer.isBuffer(v) || v.length <= maxInline(this.p)) return;
      const chain = Array.from({ length: Math.ceil(v.length / cap) }, () => this.allocate());
      chain.forEach((page, k) => {
        const chunk = v.subarray(k * cap, (k + 1) * cap);
        this.pages.set(page, encodeOverflow(this.p, page, this.txid, chunk, chain[k + 1] ?? 0));
      });
      leaf.values[i] = { page: chain[0], length: v.length };
    });
  }

  /**
   * Writes the freelist: every free and pending page, the pages of the
   * previous freelist included (the previous meta still points at them),
   * one group per page (freelist.ts: the free ones under txid 0, each
   * pending group under the txid that freed it). The freelist's own pages
   * come off the list first, so they are not on it.
   */
  private writeFreelist(): number[] {
    for (const page of this.store.freelistPages) this.free(page);
    const pages: number[] = [];
    while (pages.length < this.freelist.pagesNeeded(this.p)) pages.push(this.allocate());
    const cap = freelistCapacity(this.p);
    const chunks: FreeGroup[] = [];
    for (const { txid, ids } of this.freelist.groups()) {
      for (let k = 0; k < ids.length; k += cap) chunks.push({ txid, ids: ids.slice(k, k + cap) });
    }
    pages.forEach((page, k) => {
      // Pages taken for the list may leave fewer groups than pages: the rest list nothing.
      const { txid, ids } = chunks[k] ?? { txid: 0, ids: [] };
      this.pages.set(page, encodeFreelist(this.p, page, txid, ids, pages[k + 1] ?? 0));
    });
    return pages;
  }

}
