// A packed batch's operations in key order (packed.ts), for the tree
// transaction (tx.ts) to apply them in: keys side by side share their leaf
// and path, and keys past the end of the tree become one ascending run that
// the append tail takes without an object per entry (append.ts). In the
// order they were put, shuffled keys cost a descent each, scattered over
// the tree, and an object per entry in some leaf.
//
// The operations of a batch are independent except where they name the same
// key: then only the last counts. So the order is stable (a key's operations
// stay in the order they were issued), and marks every operation that a
// later one on the same key supersedes; applying the rest in key order
// leaves the tree as applying all in issue order would.
//
// The sort is an MSD radix sort on the key bytes (memcmp order, a key
// before the keys it is a prefix of, as ordered-binary and the pages
// order them), done in slices (pace.ts). Keys lie scattered through the
// batch's bytes (100-byte values between 16-byte keys: 124 MB for a
// million), so reading a key's byte at each pass cost a cache miss each
// time, 300 ms for a million keys: each record instead carries the next 8
// bytes of its key, read in one pass (in issue order, so sequentially) and
// moved with it, and only groups that agree on all 8 read their keys again.
import { FIELDS } from './packed.js';
import type { Pace, Steps } from './pace.js';

/** A batch's operations in key order. */
export interface KeyOrder {
  /** Operation indexes by key, ascending; one key's operations in the order issued. */
  order: Int32Array;
  /** 1 at k when `order[k + 1]` names the same key as `order[k]`, which it supersedes. */
  superseded: Uint8Array;
}

/** Groups this small are sorted by insertion, not by another radix pass. */
const SMALL = 24;
/** Key bytes a record carries. */
const WORD_BYTES = 8;
/** A record's `rem` when more of its key follows its 8 bytes. */
const MORE = WORD_BYTES + 1;

/**
 * The key order of `count` operations packed in `fields` (FIELDS numbers
 * each: the key at `bytes[field 1 .. + field 2]`), or undefined when their
 * keys rise strictly already (then issue order is key order, and no key
 * repeats).
 */
export function* keyOrder(bytes: Buffer, fields: Float64Array, count: number, pace: Pace): Steps<KeyOrder | undefined> {
  const { starts, lens } = keysOf(fields, count);
  if (rising(bytes, starts, lens)) return undefined;
  if (pace.due(count)) yield;
  const sort = new RadixSort(bytes, starts, lens);
  if (pace.due(count)) yield;
  while (!sort.sortSome(pace)) yield;
  return { order: sort.order, superseded: sort.superseded };
}

/** Where each operation's key is. */
function keysOf(fields: Float64Array, count: number): { starts: Int32Array; lens: Int32Array } {
  const starts = new Int32Array(count);
  const lens = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    starts[i] = fields[FIELDS * i + 1];
    lens[i] = fields[FIELDS * i + 2];
  }
  return { starts, lens };
}

function rising(bytes: Buffer, starts: Int32Array, lens: Int32Array): boolean {
  for (let i = 1; i < starts.length; i++) if (compareFrom(bytes, starts, lens, i - 1, i, 0) >= 0) return false;
  return true;
}

/**
 * Records of (operation, 8 key bytes from `base`, key bytes left from
 * `base`), sorted in groups: a group's records agree on their keys' first
 * `depth` bytes, and are split by byte `depth` into buckets (the keys that
 * end there first), each bucket a group one byte deeper. Stable: a
 * bucket's records keep their order. A group's records were all filled from
 * one `base`; at `base + 8` they are filled again.
 */
class RadixSort {
  /** The operation of each record. */
  order: Int32Array;
  /** Key bytes base..base+3 and base+4..base+7, big-endian, zeros past the key's end. */
  private hi: Uint32Array;
  private lo: Uint32Array;
  /** Key bytes from base on, MORE when more than 8. */
  private rem: Uint8Array;
  private spare: { order: Int32Array; hi: Uint32Array; lo: Uint32Array; rem: Uint8Array };
  /** 1 at k when record k + 1 has the same key (set as groups finish). */
  readonly superseded: Uint8Array;
  // Bucket 0: the key has ended; bucket b + 1: its byte is b.
  private readonly counts = new Int32Array(257);
  /** Groups to sort: from, to, depth, base. */
  private readonly groups: number[];

  constructor(
    private readonly bytes: Buffer,
    private readonly starts: Int32Array,
    private readonly lens: Int32Array,
  ) {
    const n = starts.length;
    const records = () => ({ order: new Int32Array(n), hi: new Uint32Array(n), lo: new Uint32Array(n), rem: new Uint8Array(n) });
    ({ order: this.order, hi: this.hi, lo: this.lo, rem: this.rem } = records());
    this.spare = records();
    this.superseded = new Uint8Array(n);
    for (let k = 0; k < n; k++) this.order[k] = k;
    this.fill(0, n, 0);
    this.groups = [0, n, 0, 0];
  }


  /** Sorts groups until the slice is due; whether all are sorted. */
  sortSome(pace: Pace): boolean {
    const { groups } = this;
    while (groups.length > 0) {
      let base = groups.pop()!;
      const depth = groups.pop()!;
      const to = groups.pop()!;
      const from = groups.pop()!;
      if (depth - base === WORD_BYTES) this.fill(from, to, (base = depth));
      if (to - from <= SMALL) this.insertionSort(from, to, base);
      else this.split(from, to, depth, base);
      if (pace.due(to - from)) return groups.length === 0;
    }
    return true;
  }

  /** Fills records from..to with their keys' bytes from `base`: a read of each key. */
  private fill(from: number, to: number, base: number): void {
    const { bytes, starts, lens, order, hi, lo, rem } = this;
    for (let k = from; k < to; k++) {
      const i = order[k];
      const at = starts[i] + base;
      const left = lens[i] - base;
      let h = 0;
      let l = 0;
      for (let t = 0; t < 4; t++) h = h * 256 + (t < left ? bytes[at + t] : 0);
      for (let t = 4; t < 8; t++) l = l * 256 + (t < left ? bytes[at + t] : 0);
      hi[k] = h;
      lo[k] = l;
      rem[k] = left > WORD_BYTES ? MORE : left;
    }
  }

  /** One radix pass over group from..to at byte `depth`; its buckets of two or more records become groups. */
  private split(from: number, to: number, depth: number, base: number): void {
    const { counts, groups, order, hi, lo, rem, spare } = this;
    // Byte j of the word: bits `shift` up of `word`, present where j < rem.
    const j = depth - base;
    const word = j < 4 ? hi : lo;
    const shift = j < 4 ? 24 - 8 * j : 56 - 8 * j;
    counts.fill(0);
    for (let k = from; k < to; k++) counts[j < rem[k] ? ((word[k] >>> shift) & 255) + 1 : 0]++;
    const first = j < rem[from] ? ((word[from] >>> shift) & 255) + 1 : 0;
    if (counts[first] === to - from) {
      // One bucket for all: nothing moves. Keys that all ended are equal.
      if (first === 0) this.superseded.fill(1, from, to - 1);
      else groups.push(from, to, depth + 1, base);
      return;
    }
    for (let b = 0, at = from; b < 257; b++) {
      const c = counts[b];
      counts[b] = at;
      at += c;
    }
    for (let k = from; k < to; k++) {
      const at = counts[j < rem[k] ? ((word[k] >>> shift) & 255) + 1 : 0]++;
      spare.order[at] = order[k];
      spare.hi[at] = hi[k];
      spare.lo[at] = lo[k];
      spare.rem[at] = rem[k];
    }
    order.set(spare.order.subarray(from, to), from);
    hi.set(spare.hi.subarray(from, to), from);
    lo.set(spare.lo.subarray(from, to), from);
    rem.set(spare.rem.subarray(from, to), from);
    // counts[b] is now the end of bucket b, and so the start of b + 1.
    if (counts[0] - from > 1) this.superseded.fill(1, from, counts[0] - 1);
    for (let b = 1; b < 257; b++) {
      const start = counts[b - 1];
      if (counts[b] - start > 1) groups.push(start, counts[b], depth + 1, base);
    }
  }

  /** Insertion sort of records from..to (filled from `base`), stable; then marks the records a next one repeats. */
  private insertionSort(from: number, to: number, base: number): void {
    const { order, hi, lo, rem } = this;
    for (let k = from + 1; k < to; k++) {
      const o = order[k];
      const h = hi[k];
      const l = lo[k];
      const r = rem[k];
      let j = k - 1;
      while (j >= from && this.compareRecord(j, o, h, l, r, base) > 0) {
        order[j + 1] = order[j];
        hi[j + 1] = hi[j];
        lo[j + 1] = lo[j];
        rem[j + 1] = rem[j];
        j--;
      }
      order[j + 1] = o;
      hi[j + 1] = h;
      lo[j + 1] = l;
      rem[j + 1] = r;
    }
    for (let k = from; k + 1 < to; k++) {
      if (this.compareRecord(k, order[k + 1], hi[k + 1], lo[k + 1], rem[k + 1], base) === 0) this.superseded[k] = 1;
    }
  }

  /** Record k against a record (operation o, its word and rem), both filled from `base`. */
  private compareRecord(k: number, o: number, h: number, l: number, r: number, base: number): number {
    if (this.hi[k] !== h) return this.hi[k] - h;
    if (this.lo[k] !== l) return this.lo[k] - l;
    if (this.rem[k] !== r || r < MORE) return this.rem[k] - r;
    return compareFrom(this.bytes, this.starts, this.lens, this.order[k], o, base + WORD_BYTES);
  }
}

/** Keys `a` and `b` compared from byte `depth` on (memcmp, then the shorter first). */
function compareFrom(bytes: Buffer, starts: Int32Array, lens: Int32Array, a: number, b: number, depth: number): number {
  const aLen = lens[a];
  const bLen = lens[b];
  const n = aLen < bLen ? aLen : bLen;
  const aAt = starts[a];
  const bAt = starts[b];
  for (let d = depth; d < n; d++) {
    const diff = bytes[aAt + d] - bytes[bAt + d];
    if (diff !== 0) return diff;
  }
  return aLen - bLen;
}
