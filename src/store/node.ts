// In-memory nodes of a write transaction: a page decoded into arrays a
// writer can change. A node is never written over the page it came from
// (copy on write): `tx.ts` frees that page and spills the node to new ones.
//
// Invariants:
// - keys are in ascending byte order (Buffer.compare), unique within a node;
// - a branch's keys[0] is its lower bound as the parent knows it (empty for
//   the leftmost branch of each level); pages store it as an empty key;
// - `kids[i]`, when set, is the materialized child `children[i]`;
// - `dirty` is set on a node and on every ancestor whenever it changes, so
//   a clean node's subtree is exactly what its page holds;
// - once `size` has been asked, entries change only through the methods
//   here (`insert`, `setValue`, `removeAt`, `absorb`, `replaceChild`), which
//   keep it right; `split` and tx.ts's `spill` measure for themselves.
import { HEADER, branchEntrySize, compareBytes, decodeBranch, decodeLeaf, leafEntrySize, type LeafValue } from '../format/page.js';

export class Node {
  /** Materialized children (branch only). */
  kids: (Node | undefined)[] = [];
  dirty = false;
  /** `size` as last computed, kept up to date by the changes below; -1 until asked (or after a change that does not keep it). */
  private bytes = -1;

  constructor(
    readonly leaf: boolean,
    /** The page this node was read from; 0 for a node this transaction made. */
    public pageNo: number,
    public keys: Buffer[] = [],
    /** Leaf values; a Buffer too long to sit inline goes to overflow pages at spill. */
    public values: LeafValue[] = [],
    /** Branch children: page numbers (stale where `kids` holds a dirty node). */
    public children: number[] = [],
  ) {}

  static fromPage(page: Buffer, pageNo: number, leaf: boolean): Node {
    if (leaf) {
      const { keys, values } = decodeLeaf(page, pageNo);
      return new Node(true, pageNo, keys, values);
    }
    const { keys, children } = decodeBranch(page, pageNo);
    return new Node(false, pageNo, keys, [], children);
  }

  get length(): number {
    return this.keys.length;
  }

  /** Bytes of entries, slots included, when written to a page of `p` bytes. */
  entrySize(i: number, p: number): number {
    return this.leaf ? leafEntrySize(this.keys[i].length, this.values[i], p) : branchEntrySize(this.keys[i].length);
  }

  /** Bytes of the page this node would be: header and entries (more than a page when it must split). */
  size(p: number): number {
    if (this.bytes < 0) {
      let n = HEADER;
      for (let i = 0; i < this.keys.length; i++) n += this.entrySize(i, p);
      this.bytes = n;
    }
    return this.bytes;
  }

  /** Puts a leaf entry at `i` (where `find` said it goes). */
  insert(i: number, key: Buffer, value: LeafValue, p: number): void {
    if (i === this.keys.length) {
      this.keys.push(key);
      this.values.push(value);
    } else {
      this.keys.splice(i, 0, key);
      this.values.splice(i, 0, value);
    }
    if (this.bytes >= 0) this.bytes += leafEntrySize(key.length, value, p);
  }

  /** Replaces leaf entry `i`'s value. */
  setValue(i: number, value: LeafValue, p: number): void {
    if (this.bytes >= 0) {
      const keyLen = this.keys[i].length;
      this.bytes += leafEntrySize(keyLen, value, p) - leafEntrySize(keyLen, this.values[i], p);
    }
    this.values[i] = value;
  }

  /**
   * Puts `pieces`, what `split` made of child `i`, in its place: the first
   * keeps child i's key, the others come in under their first keys.
   * Their page numbers are to come (spill), so `children` holds 0 for them.
   */
  replaceChild(i: number, pieces: Node[]): void {
    const added = pieces.slice(1).map((x) => x.keys[0]);
    this.keys = spliced(this.keys, i + 1, 0, added);
    this.kids.length = this.children.length;
    this.children = spliced(this.children, i, 1, new Array<number>(pieces.length).fill(0));
    this.kids = spliced(this.kids, i, 1, pieces);
    if (this.bytes >= 0) for (const k of added) this.bytes += branchEntrySize(k.length);
  }

  /**
   * Leaf: the index of `key` and whether it is there (else where it would go).
   * Branch: the child covering `key`: the last entry whose key is <= it,
   * entry 0 counting as below every key.
   */
  find(key: Buffer): { index: number; exact: boolean } {
    const keys = this.keys;
    let lo = this.leaf ? 0 : 1;
    let hi = keys.length - 1;
    // Ascending inserts (a bulk load) land after the last key: try it first.
    if (hi >= lo) {
      const c = compareBytes(keys[hi], key);
      if (c === 0) return { index: hi, exact: true };
      if (c < 0) return this.leaf ? { index: hi + 1, exact: false } : { index: hi, exact: false };
      hi--;
    }
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareBytes(keys[mid], key);
      if (c === 0) return { index: mid, exact: true };
      if (c < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return this.leaf ? { index: lo, exact: false } : { index: lo - 1, exact: false };
  }

  /** Removes entry `i` (its child, value and kid). */
  removeAt(i: number): void {
    this.bytes = -1;
    this.keys.splice(i, 1);
    if (this.leaf) this.values.splice(i, 1);
    else {
      this.children.splice(i, 1);
      this.kids.splice(i, 1);
    }
  }

  /** Appends `right`'s entries: `right` is the next sibling at the same level. */
  absorb(right: Node): void {
    this.bytes = -1;
    this.keys.push(...right.keys);
    if (this.leaf) this.values.push(...right.values);
    else {
      // Keep kids aligned with children, holes included.
      this.kids.length = this.children.length;
      this.children.push(...right.children);
      this.kids.push(...Array.from({ length: right.children.length }, (_, i) => right.kids[i]));
    }
    this.dirty = true;
  }

  /**
   * This node cut into nodes that each fit a page of `p` bytes, as evenly
   * filled as entry sizes allow (a node just over a page becomes two half-full
   * ones; a bulk insert packs pages nearly full). Every piece has at least one
   * entry, and one entry always fits: it takes at most half a page (maxKeyLen).
   */
  split(p: number): Node[] {
    const sizes = this.keys.map((_, i) => this.entrySize(i, p));
    const pieces = cutPieces(sizes, p);
    return pieces.length === 1 ? [this] : pieces.map(([from, to]) => this.slice(from, to));
  }

  private slice(from: number, to: number): Node {
    const piece = new Node(this.leaf, 0, this.keys.slice(from, to));
    if (this.leaf) piece.values = this.values.slice(from, to);
    else {
      piece.children = this.children.slice(from, to);
      piece.kids = this.kids.slice(from, to);
    }
    piece.dirty = true;
    return piece;
  }
}

/**
 * `array` with `items` in place of its `count` entries from `at`: spliced in
 * place, or a new array when `items` are too many to pass as arguments.
 */
export function spliced<T>(array: T[], at: number, count: number, items: T[]): T[] {
  if (items.length > 4096) return array.slice(0, at).concat(items, array.slice(at + count));
  array.splice(at, count, ...items);
  return array;
}

/**
 * Entries of `sizes` bytes each (slots included) cut into [from, to) ranges
 * that each fit a page of `p` bytes, as evenly filled as the sizes allow.
 */
export function cutPieces(sizes: ArrayLike<number>, p: number): [number, number][] {
  const usable = p - HEADER;
  let total = 0;
  for (let i = 0; i < sizes.length; i++) total += sizes[i];
  if (total <= usable) return [[0, sizes.length]];
  // Aim at `k` equal pieces; when entry sizes make that impossible, at one
  // more. No cut has fewer pieces than pages filled as full as they go, so
  // `k` starts there (from total / usable, entries of one size took a pass
  // per piece of difference: 25 for 100,000 entries of 126 bytes).
  for (let k = fewestPieces(sizes, usable); ; k++) {
    const cuts = cutPoints(sizes, usable, total, k);
    if (cuts.length <= k) return cuts;
  }
}

/** Pieces when each takes entries while they fit: the fewest any cut can have. */
function fewestPieces(sizes: ArrayLike<number>, usable: number): number {
  let pieces = 1;
  let acc = 0;
  for (let i = 0; i < sizes.length; i++) {
    if (acc > 0 && acc + sizes[i] > usable) {
      pieces++;
      acc = 0;
    }
    acc += sizes[i];
  }
  return pieces;
}

/** [from, to) ranges of entries: each fills about (what is left) / (pieces left), none more than `usable`. */
function cutPoints(sizes: ArrayLike<number>, usable: number, total: number, k: number): [number, number][] {
  const cuts: [number, number][] = [];
  let start = 0;
  let acc = 0;
  let left = total;
  for (let i = 0; i < sizes.length; i++) {
    const target = left / Math.max(1, k - cuts.length);
    // Take entry i into the current piece if it fits and lands nearer the target than stopping short.
    if (i > start && (acc + sizes[i] > usable || acc + sizes[i] / 2 > target)) {
      cuts.push([start, i]);
      left -= acc;
      start = i;
      acc = 0;
    }
    acc += sizes[i];
  }
  cuts.push([start, sizes.length]);
  return cuts;
}
