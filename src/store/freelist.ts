// Free pages. A page freed by transaction T (a page T copied, a dropped
// overflow chain, the previous freelist) is still reachable from every
// snapshot older than T, and from the previous meta page, which a torn commit
// falls back to. So it is *pending* until no snapshot older than T is open,
// in this process or any other (the reader table: reader-table.ts), and only
// then *free*: reusable by a later writer. Since T's own meta is durable
// before anything else is written, the fallback rule holds too.
//
// Readers in other processes outlive this handle, so the freelist written at
// commit keeps the distinction (docs/FORMAT.md, "Freelist pages"): its pages
// list one group each, the free pages under txid 0 and each pending group
// under the txid that freed it, and opening (or a writer that takes over the
// file: refresh.ts) promotes what the reader table allows.
import { META_PAGES, freelistCapacity } from '../format/page.js';

/** Pages freed by commit `txid` (0: free, reusable by any commit). */
export interface FreeGroup {
  txid: number;
  ids: number[];
}

export class Freelist {
  /** Reusable now, sorted descending so that `pop` hands out the lowest page. */
  private free: number[];
  /** Freed by a transaction (txid -> pages), waiting for older snapshots to close. */
  private pending = new Map<number, number[]>();
  /** Every page in `free` or `pending`: catches a page freed twice. */
  private members: Set<number>;

  /** `groups`: as `groups()` lists them, the free ones under txid 0. */
  constructor(groups: FreeGroup[] = []) {
    this.free = [];
    this.members = new Set();
    for (const { txid, ids } of groups) {
      for (const id of ids) {
        if (this.members.has(id)) throw new Error(`internal error: page ${id} listed twice`);
        this.members.add(id);
      }
      if (txid === 0) this.free.push(...ids);
      else this.pending.set(txid, [...(this.pending.get(txid) ?? []), ...ids]);
    }
    this.free.sort((a, b) => b - a);
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

  /** The free pages (txid 0), then each pending group by txid, each ascending: what a commit writes. */
  groups(): FreeGroup[] {
    const out: FreeGroup[] = [];
    if (this.free.length > 0) out.push({ txid: 0, ids: [...this.free].reverse() });
    for (const txid of [...this.pending.keys()].sort((a, b) => a - b)) {
      out.push({ txid, ids: [...this.pending.get(txid)!].sort((a, b) => a - b) });
    }
    return out;
  }

  /** Freelist pages of `pageSize` bytes needed to list every group, one group per page. */
  pagesNeeded(pageSize: number): number {
    const cap = freelistCapacity(pageSize);
    let n = Math.ceil(this.free.length / cap);
    for (const pages of this.pending.values()) n += Math.ceil(pages.length / cap);
    return n;
  }

  clone(): Freelist {
    const c = new Freelist();
    c.free = [...this.free];
    c.members = new Set(this.members);
    for (const [txid, pages] of this.pending) c.pending.set(txid, [...pages]);
    return c;
  }
}
