// Everything the store keeps of its file in memory, under one budget (the
// `cacheSize` option): verified pages (pager.ts) and the decoded views of the
// top `cacheLevels` levels (snapshot.ts). What may enter is the pager's
// choice (buffered: branch pages only, the kernel's page cache holds the
// rest; direct: every tree page, this is the only cache): see pager.ts.
//
// Eviction is CLOCK (second chance): a hit sets the entry's `used` bit; when
// the total passes the budget, entries are taken oldest first, and one whose
// bit is set is cleared and moved to the back instead of dropped. Every
// lookup passes the root and the upper levels, so they stay; pages touched
// once go first. Pages admitted `loose` (below the levels lookups hold)
// are a class of their own, evicted before any other and only by their
// own kind. A hit costs a Map lookup or two and a store, no reordering.
//
// What must hold: `bytes <= limit` after every call (an entry larger than
// the whole budget is never admitted), and no entry holds a page's old
// contents under a number that was rewritten (the pager replaces an entry
// when it writes the page; tx.ts and log-commit.ts `delete` a page number
// when it is freed or reused).
import type { PageView } from './snapshot.js';

/**
 * What a decoded entry costs beyond its page's bytes: the key's Buffer view
 * (a JSTypedArray, about 80 bytes in V8), its slots in the keys array and in
 * the children or values array, and a leaf value's own view.
 */
export const VIEW_ENTRY_BYTES = 112;

interface Entry {
  page: Buffer;
  view: PageView | undefined;
  /** What the entry is charged: its page, plus its view's entries. */
  bytes: number;
  used: boolean;
}

/**
 * A page to keep: `page` itself, unless it is a view into a larger buffer
 * (a commit writes many pages from one allocation), which caching would keep
 * alive whole; then a copy of its bytes.
 */
function owned(page: Buffer): Buffer {
  if (page.byteOffset === 0 && page.buffer.byteLength === page.length) return page;
  const copy = Buffer.allocUnsafeSlow(page.length);
  page.copy(copy);
  return copy;
}

/**
 * Of the budget, the share the levels a lookup reads through the cache
 * (`holdsLevel`) may fill; the rest is for leaves a lookup reads again and
 * for error in the estimate of a level's size. A whole level held saves every
 * lookup one read, where leaves in the same bytes serve only keys read
 * twice: bench:memory's tree (8,000,000 keys at 4 KiB pages) has a last
 * branch level of 7.25 MiB, which at half of the default 13.5 MiB was not
 * held, and every chain read it and the leaf (1.95 reads a lookup; getMany
 * of 64, 62,000 lookups/s; held, 1.00 and 83,000).
 */
export const LEVEL_SHARE = 3 / 4;

export class PageCache {
  /** The levels lookups read through the cache (views, and pages read as `holdsLevel` says), and what commits wrote. */
  private readonly entries = new Map<number, Entry>();
  /**
   * Pages admitted `loose`: with O_DIRECT, the leaves and the pages of
   * levels not held that walks read. They fill what the levels leave and
   * evict one another, never a level's page: walks that cached every page
   * they read pushed out pages of a held level that went one sweep of the
   * clock without a hit, and read them again (bench:memory's 512-byte tree,
   * `walk`: 2.17 reads a lookup, 1.90 with this class).
   */
  private readonly loose = new Map<number, Entry>();
  /** The tree's shape as branch pages read from the file show it: per depth, pages seen and their entries. */
  private shape = { height: 0, pages: [] as number[], entries: [] as number[] };
  /** Bytes charged to entries now; never above `limit` once a call returns. */
  bytes = 0;
  /** Entries that hold a decoded view. */
  views = 0;
  /**
   * Counts `clear`s. A clear says any page may have been rewritten (another
   * handle's checkpoint, a closed file): a read begun before one must not
   * fill the cache after it (Pager.warm).
   */
  generation = 0;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`cacheSize must be an integer >= 0, got ${limit}`);
  }

  /** Pages held (with or without a view). */
  get pages(): number {
    return this.entries.size + this.loose.size;
  }

  /** Whether page `pageNo` is held, without counting as a use. */
  has(pageNo: number): boolean {
    return this.entries.has(pageNo) || this.loose.has(pageNo);
  }

  /** The verified page `pageNo`, if held. */
  page(pageNo: number): Buffer | undefined {
    const e = this.entries.get(pageNo) ?? this.loose.get(pageNo);
    if (e === undefined) return undefined;
    e.used = true;
    return e.page;
  }

  /** The decoded view of page `pageNo`, if held (tx.ts and snapshot.ts). */
  get(pageNo: number): PageView | undefined {
    const e = this.entries.get(pageNo);
    if (e?.view === undefined) return undefined;
    e.used = true;
    return e.view;
  }

  /** Keeps verified `page` as page `pageNo`, replacing what was held under that number; `loose`: as one of `loose`. */
  admit(pageNo: number, page: Buffer, loose = false): void {
    this.delete(pageNo);
    if (page.length > this.limit) return;
    const e = { page: owned(page), view: undefined, bytes: page.length, used: false };
    if (!loose) return this.insert(pageNo, e);
    this.loose.set(pageNo, e);
    this.bytes += e.bytes;
    this.evict();
  }

  /** Keeps `view`, decoded from verified `page`, as page `pageNo`'s (replacing a held page of other bytes). */
  set(pageNo: number, view: PageView, page: Buffer): void {
    const held = this.entries.get(pageNo);
    const extra = view.keys.length * VIEW_ENTRY_BYTES;
    if (held !== undefined && held.page === page) {
      if (held.view !== undefined || held.bytes + extra > this.limit) return;
      held.view = view;
      held.bytes += extra;
      held.used = true;
      this.bytes += extra;
      this.views++;
      this.evict();
      return;
    }
    this.delete(pageNo);
    // The view's keys are views of `page`: it is kept whole, and charged whole.
    const bytes = page.buffer.byteLength + extra;
    if (bytes > this.limit) return;
    this.views++;
    this.insert(pageNo, { page, view, bytes, used: true });
  }

  /** Drops page `pageNo` and its view (it was freed, reused or rewritten). */
  delete(pageNo: number): boolean {
    const e = this.entries.get(pageNo) ?? this.loose.get(pageNo);
    if (e === undefined) return false;
    this.entries.delete(pageNo);
    this.loose.delete(pageNo);
    this.bytes -= e.bytes;
    if (e.view !== undefined) this.views--;
    return true;
  }

  /** Records a branch page read from the file at `depth` of a tree of `height` levels, with `count` children. */
  noteBranch(depth: number, height: number, count: number): void {
    const shape = this.shape;
    if (shape.height !== height) this.shape = { height, pages: [], entries: [] };
    this.shape.pages[depth] = (this.shape.pages[depth] ?? 0) + 1;
    this.shape.entries[depth] = (this.shape.entries[depth] ?? 0) + count;
  }

  /**
   * Whether the cache keeps every page of the levels down to `depth` of a
   * tree of `height` levels: whether those levels, their pages estimated
   * from the fanout seen at each level above (`noteBranch`), fill at most
   * LEVEL_SHARE of the budget, views at `viewLevels` and above charged as
   * such. A level not yet seen counts as held, so that its first pages are
   * read through the cache and show its fanout.
   */
  holdsLevel(depth: number, height: number, pageSize: number, viewLevels: number): boolean {
    const { pages, entries } = this.shape.height === height ? this.shape : { pages: [], entries: [] };
    let level = 1;
    let bytes = 0;
    for (let d = 0; d <= depth; d++) {
      const fanout = pages[d] ? entries[d]! / pages[d]! : undefined;
      bytes += level * (pageSize + (d < viewLevels ? (fanout ?? 0) * VIEW_ENTRY_BYTES : 0));
      if (bytes > this.limit * LEVEL_SHARE) return false;
      if (d < depth) {
        if (fanout === undefined) return true;
        level *= fanout;
      }
    }
    return true;
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
    this.loose.clear();
    this.bytes = 0;
    this.views = 0;
  }

  private insert(pageNo: number, e: Entry): void {
    this.entries.set(pageNo, e);
    this.bytes += e.bytes;
    this.evict();
  }

  /** Drops entries, loose ones first, oldest first, each used one given a second chance, until the total fits. */
  private evict(): void {
    this.evictFrom(this.loose);
    this.evictFrom(this.entries);
  }

  private evictFrom(entries: Map<number, Entry>): void {
    // A second chance clears a bit, and there are no more of them than
    // entries: after that every visit drops one, and the total is the sum
    // of what is held, so it falls within the limit before the map empties.
    let chances = entries.size;
    while (this.bytes > this.limit && entries.size > 0) {
      const [pageNo, e] = entries.entries().next().value as [number, Entry];
      entries.delete(pageNo);
      if (e.used && chances-- > 0) {
        e.used = false;
        entries.set(pageNo, e);
        continue;
      }
      this.bytes -= e.bytes;
      if (e.view !== undefined) this.views--;
    }
  }
}
