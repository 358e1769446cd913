// Free pages. A page freed by transaction T (a page T copied, a dropped
// overflow chain, the previous freelist) is still reachable from every
// snapshot older than T, and from the previous meta page, which a torn commit
// falls back to. So it is *pending* until no open snapshot is older than T,
// and only then *free*: reusable by a later writer. Since T's own meta is
// durable before anything else is written, the fallback rule holds too.
//
// The freelist pages written at commit list free and pending pages alike: no
// snapshot survives a restart, so after reopening they are all free.
import { META_PAGES, freelistCapacity } from '../format/page.js';

export class Freelist {
  /** Reusable now, sorted descending so that `pop` hands out the lowest page. */
  private free: number[];
  /** Freed by a transaction (txid -> pages), waiting for older snapshots to close. */
  private pending = new Map<number, number[]>();
  /** Every page in `free` or `pending`: catches a page freed twice. */
  private members: Set<number>;

  constructor(ids: number[] = []) {
    this.free = [...ids].sort((a, b) => b - a);
    this.members = new Set(ids);
  }

  get freeCount(): number {
    return this.free.length;
  }
  get pendingCount(): number {
    return this.members.size - this.free.length;
  }
  get size(): number {
    return this.members.size;
  }
  has(page: number): boolean {
    return this.members.has(page);
  }

  /** The lowest free page, or undefined when the file must grow. */
  allocate(): number | undefined {
    const page = this.free.pop();
    if (page !== undefined) this.members.delete(page);
    return page;
  }

  /** The `i`-th page `allocate` would hand out from now (0: the next), or undefined past the free ones. */
  peek(i: number): number | undefined {
    return this.free[this.free.length - 1 - i];
  }

  /** Takes the `n` pages `peek(0)` .. `peek(n - 1)` named. */
  take(n: number): void {
    for (let i = 0; i < n; i++) this.members.delete(this.free.pop()!);
  }

  /** Marks `page` freed by transaction `txid`. */
  release(txid: number, page: number): void {
    if (page < META_PAGES) throw new Error(`internal error: freeing meta page ${page}`);
    if (this.members.has(page)) throw new Error(`internal error: page ${page} freed twice`);
    this.members.add(page);
    const list = this.pending.get(txid);
    if (list) list.push(page);
    else this.pending.set(txid, [page]);
  }

  /** Makes pending pages reusable once no open snapshot is older than the transaction that freed them. */
  promote(oldestSnapshot: number): void {
    let moved = false;
    for (const [txid, pages] of this.pending) {
      if (txid > oldestSnapshot) continue;
      this.free.push(...pages);
      this.pending.delete(txid);
      moved = true;
    }
    if (moved) this.free.sort((a, b) => b - a);
  }

  /** Every free and pending page, ascending: what a commit writes. */
  all(): number[] {
    return [...this.members].sort((a, b) => a - b);
  }

  /** Freelist pages needed to list `n` pages. */
  static pagesFor(n: number, pageSize: number): number {
    return Math.ceil(n / freelistCapacity(pageSize));
  }

  clone(): Freelist {
    const c = new Freelist();
    c.free = [...this.free];
    c.members = new Set(this.members);
    for (const [txid, pages] of this.pending) c.pending.set(txid, [...pages]);
    return c;
  }
}
