// Cursors over a snapshot. `TreeCursor` walks the tree: a stack of (page,
// index) from the root to a leaf entry; moving past the end of a leaf climbs
// to the nearest ancestor with a next (or previous) child and descends to
// that subtree's first (or last) leaf. Leaves' `next` fields are not used:
// copy on write cannot keep them (see tx.ts), so they are always 0.
// `RecentCursor` walks the keys the log changed (overlay.ts), and `Cursor`
// merges the two as the snapshot sees them: a logged version hides the
// tree's entry under the same key, and a logged removal hides it for good.
import { compareBytes, type LeafValue } from '../format/page.js';
import type { Overlay } from './overlay.js';
import { viewSearch, type PageView, type Snapshot } from './snapshot.js';

interface Frame {
  pageNo: number;
  view: PageView;
  index: number;
}

export class TreeCursor {
  private stack: Frame[] = [];

  constructor(private readonly snap: Snapshot) {}

  get valid(): boolean {
    return this.stack.length > 0;
  }
  get key(): Buffer {
    const top = this.stack[this.stack.length - 1];
    return top.view.keys[top.index];
  }
  get value(): LeafValue {
    const top = this.stack[this.stack.length - 1];
    return top.view.values[top.index];
  }

  /** Moves to the first entry >= `key` (the first entry without one); whether there is one. */
  seek(key?: Buffer): boolean {
    if (!this.descend((v) => (key === undefined ? 0 : viewSearch(v, key).index))) return false;
    const top = this.stack[this.stack.length - 1];
    // The leaf search found the last entry <= key: step past it unless it is the key itself.
    if (key !== undefined && (top.index < 0 || Buffer.compare(top.view.keys[top.index], key) < 0)) return this.next();
    return top.index < top.view.keys.length || this.next();
  }

  /** Moves to the last entry <= `key` (the last entry without one); whether there is one. */
  seekLast(key?: Buffer): boolean {
    if (!this.descend((v) => (key === undefined ? v.keys.length - 1 : viewSearch(v, key).index))) return false;
    const top = this.stack[this.stack.length - 1];
    return top.index >= 0 || this.prev();
  }

  next(): boolean {
    return this.step(1);
  }
  prev(): boolean {
    return this.step(-1);
  }

  /** Root to leaf, picking each level's index with `pick`; false for an empty tree. */
  private descend(pick: (v: PageView) => number): boolean {
    this.stack = [];
    let pageNo = this.snap.meta.root;
    if (pageNo === 0) return false;
    for (let depth = 0; ; depth++) {
      const view = this.snap.view(pageNo, depth);
      const index = pick(view);
      this.stack.push({ pageNo, view, index });
      if (view.leaf) return true;
      pageNo = this.snap.checkPointer(pageNo, view.children[Math.max(0, index)]);
    }
  }

  private step(dir: 1 | -1): boolean {
    const out = (f: Frame) => f.index < 0 || f.index >= f.view.keys.length;
    for (;;) {
      let level = this.stack.length - 1;
      if (level < 0) return false;
      this.stack[level].index += dir;
      while (level >= 0 && out(this.stack[level])) {
        level--;
        if (level >= 0) this.stack[level].index += dir;
      }
      if (level < 0) {
        this.stack = [];
        return false;
      }
      this.stack.length = level + 1;
      for (let top = this.stack[level]; !top.view.leaf; ) {
        const child = this.snap.checkPointer(top.pageNo, top.view.children[top.index]);
        const view = this.snap.view(child, this.stack.length);
        top = { pageNo: child, view, index: dir > 0 ? 0 : view.keys.length - 1 };
        this.stack.push(top);
      }
      // An empty leaf (only an empty tree's root has one) moves on again.
      if (!out(this.stack[this.stack.length - 1])) return true;
    }
  }
}

/** A logged key as a snapshot sees it: value undefined where removed. */
interface Version {
  key: Buffer;
  value: Buffer | undefined;
}

/** The overlay's keys a snapshot sees, in order (a key whose versions are all newer is skipped). */
class RecentCursor {
  private readonly overlay: Overlay;
  /** The overlay's rows in key order. */
  private readonly rows: Int32Array;
  private i = -1;
  version: Version | undefined;

  constructor(private readonly snap: Snapshot) {
    this.overlay = snap.overlay;
    this.rows = this.overlay.size === 0 ? new Int32Array(0) : this.overlay.sorted();
  }

  get valid(): boolean {
    return this.version !== undefined;
  }

  /** To the first key >= `key`. */
  seek(key?: Buffer): void {
    this.i = key === undefined ? 0 : this.lowerBound(key);
    this.settle(1);
  }

  /** To the last key <= `key`. */
  seekLast(key?: Buffer): void {
    if (key === undefined) this.i = this.rows.length - 1;
    else {
      const at = this.lowerBound(key);
      this.i = at < this.rows.length && compareBytes(this.overlay.keyAt(this.rows[at]), key) === 0 ? at : at - 1;
    }
    this.settle(-1);
  }

  step(dir: 1 | -1): void {
    this.i += dir;
    this.settle(dir);
  }

  private settle(dir: 1 | -1): void {
    const { txid } = this.snap.meta;
    for (; this.i >= 0 && this.i < this.rows.length; this.i += dir) {
      const row = this.rows[this.i];
      const v = this.overlay.versionAt(row, txid);
      if (v !== undefined) {
        this.version = { key: this.overlay.keyAt(row), value: v ?? undefined };
        return;
      }
    }
    this.version = undefined;
  }

  /** The first index of `rows` whose key is >= `key`. */
  private lowerBound(key: Buffer): number {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.overlay.keyAt(this.rows[mid]), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/**
 * The snapshot's entries: the tree's and the log's merged. Both inner
 * cursors stay on the first entry at or past the current key in the
 * direction of travel; changing direction seeks them again.
 */
export class Cursor {
  private readonly tree: TreeCursor;
  private readonly recent: RecentCursor;
  /** Which inner cursor holds the current entry. */
  private on: 'tree' | 'recent' | undefined;
  private dir: 1 | -1 = 1;

  constructor(snap: Snapshot) {
    this.tree = new TreeCursor(snap);
    this.recent = new RecentCursor(snap);
  }

  get valid(): boolean {
    return this.on !== undefined;
  }
  get key(): Buffer {
    return this.on === 'recent' ? this.recent.version!.key : this.tree.key;
  }
  get value(): LeafValue {
    return this.on === 'recent' ? this.recent.version!.value! : this.tree.value;
  }

  /** Moves to the first entry >= `key` (the first entry without one); whether there is one. */
  seek(key?: Buffer): boolean {
    this.tree.seek(key);
    this.recent.seek(key);
    this.dir = 1;
    return this.settle();
  }

  /** Moves to the last entry <= `key` (the last entry without one); whether there is one. */
  seekLast(key?: Buffer): boolean {
    this.tree.seekLast(key);
    this.recent.seekLast(key);
    this.dir = -1;
    return this.settle();
  }

  next(): boolean {
    return this.move(1);
  }
  prev(): boolean {
    return this.move(-1);
  }

  private move(dir: 1 | -1): boolean {
    if (!this.on) return false;
    if (dir === this.dir) {
      // On the tree, the log's cursor is already past the current key (settle
      // picks the log on a tie); on the log, the tree's may be on the same
      // key, an entry the log's version hides.
      if (this.on === 'recent') {
        if (this.tree.valid && compareBytes(this.tree.key, this.recent.version!.key) === 0) this.stepTree(dir);
        this.recent.step(dir);
      } else {
        this.stepTree(dir);
        if (!this.recent.valid) {
          // Nothing logged ahead: a plain tree step.
          if (!this.tree.valid) this.on = undefined;
          return this.on !== undefined;
        }
      }
      return this.settle();
    }
    // A turn: both cursors seek again, then step past the current key.
    const key = this.key;
    if (dir > 0) this.seek(key);
    else this.seekLast(key);
    while (this.tree.valid && compareBytes(this.tree.key, key) * dir <= 0) this.stepTree(dir);
    while (this.recent.valid && compareBytes(this.recent.version!.key, key) * dir <= 0) this.recent.step(dir);
    return this.settle();
  }

  private stepTree(dir: 1 | -1): void {
    if (dir > 0) this.tree.next();
    else this.tree.prev();
  }

  /** Picks the entry that comes first in the direction of travel, skipping logged removals. */
  private settle(): boolean {
    for (;;) {
      const t = this.tree.valid;
      const r = this.recent.valid;
      if (!t && !r) {
        this.on = undefined;
        return false;
      }
      const c = !r ? -1 : !t ? 1 : compareBytes(this.tree.key, this.recent.version!.key) * this.dir;
      if (c < 0) {
        this.on = 'tree';
        return true;
      }
      if (this.recent.version!.value !== undefined) {
        this.on = 'recent';
        return true;
      }
      if (c === 0) this.stepTree(this.dir);
      this.recent.step(this.dir);
    }
  }
}

export interface Bounds {
  /** Inclusive; with `reverse`, the upper end. */
  start?: Buffer;
  /** Exclusive; with `reverse`, the lower end. */
  end?: Buffer;
  reverse: boolean;
  limit: number;
}

/**
 * The entries of `snap` within `b`, lazily, as `entry(key, value)`: the
 * value as the leaf holds it, so that a caller that needs only keys reads
 * no overflow page (`snap.value` reads it). `alive` runs before every step
 * and throws to stop (a closed database).
 */
export function* range<T>(snap: Snapshot, b: Bounds, entry: (key: Buffer, value: LeafValue) => T, alive: () => void): Generator<T, undefined> {
  alive(); // an iterator made before close and first stepped after it
  const c = new Cursor(snap);
  let ok = b.reverse ? c.seekLast(b.start) : c.seek(b.start);
  for (let n = 0; ok && n < b.limit; n++) {
    if (b.end !== undefined && (b.reverse ? Buffer.compare(c.key, b.end) <= 0 : Buffer.compare(c.key, b.end) >= 0)) break;
    yield entry(c.key, c.value);
    alive();
    ok = b.reverse ? c.prev() : c.next();
  }
  return undefined;
}

/**
 * `range` forward over tree entries that come from elsewhere (bpf/range.c's
 * pairs, already within the bounds), merged with the log's entries as `snap`
 * sees them.
 */
export function* withRecent<T>(
  snap: Snapshot,
  tree: Iterator<[Buffer, LeafValue]>,
  b: Bounds,
  entry: (key: Buffer, value: LeafValue) => T,
  alive: () => void,
): Generator<T, undefined> {
  alive();
  const recent = new RecentCursor(snap);
  recent.seek(b.start);
  let t = tree.next();
  for (let n = 0; n < b.limit; ) {
    const v = recent.version;
    let key: Buffer;
    let value: LeafValue;
    if (!t.done && (!v || compareBytes(t.value[0], v.key) < 0)) {
      [key, value] = t.value;
      t = tree.next();
    } else if (v) {
      if (!t.done && compareBytes(t.value[0], v.key) === 0) t = tree.next(); // the log's version hides it
      recent.step(1);
      if (v.value === undefined) continue;
      key = v.key;
      value = v.value;
    } else break;
    if (b.end !== undefined && compareBytes(key, b.end) >= 0) break;
    yield entry(key, value);
    n++;
    alive();
  }
  return undefined;
}
