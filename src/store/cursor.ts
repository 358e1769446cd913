// A cursor over a snapshot: a stack of (page, index) from the root to a
// leaf entry. Moving past the end of a leaf climbs to the nearest ancestor
// with a next (or previous) child and descends to that subtree's first (or
// last) leaf. Leaves' `next` fields are not used: copy on write cannot keep
// them (see tx.ts), so they are always 0.
import { viewSearch, type PageView, type Snapshot } from './snapshot.js';
import type { LeafValue } from './page.js';

interface Frame {
  pageNo: number;
  view: PageView;
  index: number;
}

export class Cursor {
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

export interface Bounds {
  /** Inclusive; with `reverse`, the upper end. */
  start?: Buffer;
  /** Exclusive; with `reverse`, the lower end. */
  end?: Buffer;
  reverse: boolean;
  limit: number;
}

/**
 * The entries of `snap` within `b`, lazily, as `entry(key, value bytes)`;
 * `alive` runs before every step and throws to stop (a closed database).
 */
export function* range<T>(snap: Snapshot, b: Bounds, entry: (key: Buffer, value: Buffer) => T, alive: () => void): Generator<T, undefined> {
  alive(); // an iterator made before close and first stepped after it
  const c = new Cursor(snap);
  let ok = b.reverse ? c.seekLast(b.start) : c.seek(b.start);
  for (let n = 0; ok && n < b.limit; n++) {
    if (b.end !== undefined && (b.reverse ? Buffer.compare(c.key, b.end) <= 0 : Buffer.compare(c.key, b.end) >= 0)) break;
    yield entry(c.key, snap.value(c.value));
    alive();
    ok = b.reverse ? c.prev() : c.next();
  }
  return undefined;
}
