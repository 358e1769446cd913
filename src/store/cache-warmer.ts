// Filling the store's own cache from its file in the background, when reads
// are direct (O_DIRECT) and the tree fits in the cache: the buffered
// counterpart is the kernel's readahead (prefetch.ts), which direct reads
// bypass.
//
// The tree's pages are read in file order, in requests of up to WARM_BYTES
// (runs of pages that are neither free nor the log's, small gaps read
// through), at most IN_FLIGHT at a time, off the event loop; Pager.warm
// verifies each page and caches it unless a lookup or a commit got there
// first. Lookups run meanwhile: one whose page has not arrived reads the
// 256 KiB around it and caches that too (Pager.readWindow), so lookups that
// run back to back, with no turn of the event loop for the warmer's reads
// to land, warm the cache as well. Warming stops when the cache is nearly full (it never
// evicts what lookups brought in for what they may never read), when every
// page is read, or when the handle closes: `stop` waits for the reads in
// flight, so the file is never closed under them.
import type { Pager } from './pager.js';

/** Bytes per read: large enough to stream, small enough to keep the event loop's share per completion short. */
const WARM_BYTES = 2 << 20;
const IN_FLIGHT = 2;
/** What a lookup's miss reads while warming: enough to stream, little enough for one lookup to wait on. */
const MISS_WINDOW_BYTES = 256 << 10;
/** Free pages in a gap this short are read through rather than split into two requests. */
const GAP_PAGES = 16;
/** Warming stops once the cache holds this share of its limit. */
export const WARM_SHARE = 0.9;

export class CacheWarmer {
  private stopped = false;
  private readonly done: Promise<void>;
  /** Pages cached so far. */
  cached = 0;

  /**
   * `wanted` says which of pages `first..end` to read (not free, not the
   * log's); `skip` is asked again as each read completes.
   */
  constructor(
    private readonly pager: Pager,
    first: number,
    end: number,
    wanted: (pageNo: number) => boolean,
    private readonly skip: (pageNo: number) => boolean,
  ) {
    const ranges = warmRanges(first, end, wanted, Math.max(1, Math.floor(WARM_BYTES / pager.pageSize)));
    // Until the warmer is done, a lookup's miss reads its window (Pager.readWindow).
    pager.readAround = { pages: Math.max(1, Math.floor(MISS_WINDOW_BYTES / pager.pageSize)), skip };
    this.done = this.run(ranges);
  }

  /** Stops issuing reads and resolves once those in flight have finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async run(ranges: [number, number][]): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!this.stopped && next < ranges.length && this.pager.cache.bytes < WARM_SHARE * this.pager.cache.limit) {
        const [first, count] = ranges[next++]!;
        try {
          this.cached += await this.pager.warm(first, count, this.skip);
        } catch {
          // A read that fails (EIO) is reported by the lookup that needs the page.
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    this.pager.readAround = undefined;
  }
}

/** Runs of wanted pages in `first..end` as [first, count], each at most `max` pages, gaps under GAP_PAGES read through. */
export function warmRanges(first: number, end: number, wanted: (pageNo: number) => boolean, max: number): [number, number][] {
  const out: [number, number][] = [];
  let start = -1;
  let last = -1;
  for (let n = first; n < end; n++) {
    if (!wanted(n)) continue;
    if (start >= 0 && n - last <= GAP_PAGES && n - start < max) {
      last = n;
      continue;
    }
    if (start >= 0) out.push([start, last - start + 1]);
    start = last = n;
  }
  if (start >= 0) out.push([start, last - start + 1]);
  return out;
}
