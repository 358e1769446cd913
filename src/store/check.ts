// `check`: verifies every page a commit can reach and accounts for every
// page of the file, reporting all problems rather than stopping at the first:
// - both meta pages (the one not in use may be torn after a crash: reported),
//   and whether the newest one's log pages all reached the disk (if not,
//   reported, and the check goes on with the commit before, as opening does);
// - every branch, leaf and overflow page: checksum, type, own number, txid
//   no newer than the meta's, slots inside the page, keys strictly ascending
//   and inside the bounds the parent gives, every leaf at the same depth,
//   key and inline value lengths within FORMAT.md's limits, overflow chains
//   of the right length, leaf `next` 0 (leaves are not linked: docs/FORMAT.md);
// - the freelist chain and the pages it lists;
// - the log chain: log pages, txids not rising along it, records well formed,
//   as many pages as the meta counts; the meta's entries are the leaves' plus
//   what the log's records add;
// - no page reachable twice, and no page (besides metas) neither reachable nor free.
// `checkFile` works on a closed file, even one `open` refuses.
import { CorruptionError } from '../errors.js';
import { countDelta, decodeLog } from '../format/log.js';
import { chooseMeta } from './file.js';
import { decodeMeta, metaPageOf, probePageSize, type Meta } from '../format/meta.js';
import {
  META_PAGES,
  PageType,
  decodeBranch,
  decodeFreelist,
  decodeLeaf,
  maxInline,
  maxKeyLen,
  overflowCapacity,
  readHeader,
  verifyPage,
} from '../format/page.js';
import { Pager } from './pager.js';
import type { Snapshot } from './snapshot.js';

export interface Problem {
  page: number;
  message: string;
}

export interface CheckReport {
  ok: boolean;
  problems: Problem[];
  /** The meta checked (undefined when neither meta page is valid). */
  txid?: number;
  pages: number;
  entries: number;
}

type Read = (pageNo: number) => Buffer | undefined;

class Checker {
  problems: Problem[] = [];
  private owner = new Map<number, string>();
  private entries = 0;
  /** Set when a tree page could not be read: the entry count is then unknown. */
  private incomplete = false;

  constructor(
    private readonly read: Read,
    private readonly meta: Meta,
  ) {}

  problem(page: number, message: string): void {
    this.problems.push({ page, message });
  }

  /** Claims `pageNo` for `role`, reporting pointers outside the file and pages reached twice. */
  private claim(pageNo: number, role: string, from: number): boolean {
    if (pageNo < META_PAGES || pageNo >= this.meta.pageCount) {
      this.problem(from, `points at page ${pageNo} (${role}), outside the file's ${this.meta.pageCount} pages`);
      return false;
    }
    const had = this.owner.get(pageNo);
    if (had) {
      this.problem(pageNo, `reachable twice: as ${had} and as ${role}`);
      return false;
    }
    this.owner.set(pageNo, role);
    return true;
  }

  /** The page, verified (checksum, number, type, txid); undefined after reporting why not. */
  private page(pageNo: number, type: PageType): Buffer | undefined {
    const page = this.read(pageNo);
    if (!page) return this.problem(pageNo, 'it lies beyond the end of the file'), undefined;
    try {
      const h = verifyPage(page, pageNo, [type]);
      if (h.txid > this.meta.txid) this.problem(pageNo, `written by txid ${h.txid}, newer than the meta's ${this.meta.txid}`);
      return page;
    } catch (e) {
      if (e instanceof CorruptionError) return this.problem(pageNo, e.reason), undefined;
      throw e;
    }
  }

  run(): void {
    const m = this.meta;
    if (m.root !== 0 && this.claim(m.root, 'root', 0)) this.tree(m.root, 0, undefined, undefined);
    const logged = this.log();
    if (!this.incomplete && this.entries + logged !== m.entries) {
      const log = logged === 0 ? '' : ` and the log adds ${logged}`;
      this.problem(0, `the meta counts ${m.entries} entries, the leaves hold ${this.entries}${log}`);
    }
    this.freelist();
    // Below an unreadable page nothing is reachable: its pages are not leaks.
    if (this.incomplete) return;
    for (let n = 2; n < m.pageCount; n++) {
      if (!this.owner.has(n)) this.problem(n, 'neither reachable nor free (leaked)');
    }
  }

  private tree(pageNo: number, depth: number, lo: Buffer | undefined, hi: Buffer | undefined): void {
    const leaf = depth === this.meta.height - 1;
    const page = this.page(pageNo, leaf ? PageType.Leaf : PageType.Branch);
    if (!page) return void (this.incomplete = true);
    let keys: Buffer[];
    let decoded: ReturnType<typeof decodeBranch> | ReturnType<typeof decodeLeaf>;
    try {
      decoded = leaf ? decodeLeaf(page, pageNo) : decodeBranch(page, pageNo);
      keys = decoded.keys;
    } catch (e) {
      if (e instanceof CorruptionError) return ((this.incomplete = true), this.problem(pageNo, e.reason));
      throw e;
    }
    const p = this.meta.pageSize;
    keys.forEach((k, i) => {
      if (k.length > maxKeyLen(p)) this.problem(pageNo, `entry ${i}'s key is ${k.length} bytes, over ${maxKeyLen(p)}`);
      if (i > 0 && Buffer.compare(keys[i - 1], k) >= 0) this.problem(pageNo, `entry ${i}'s key is not above entry ${i - 1}'s`);
      const checked = !leaf && i === 0 ? undefined : k;
      if (checked && lo && Buffer.compare(checked, lo) < 0) this.problem(pageNo, `entry ${i}'s key is below the parent's bound`);
      if (checked && hi && Buffer.compare(checked, hi) >= 0) this.problem(pageNo, `entry ${i}'s key is not below the parent's bound`);
    });
    if (!leaf) {
      if (keys.length > 0 && keys[0].length !== 0) this.problem(pageNo, "entry 0's key is not empty");
      const { children } = decoded as ReturnType<typeof decodeBranch>;
      children.forEach((child, i) => {
        if (!this.claim(child, 'a tree page', pageNo)) return;
        this.tree(child, depth + 1, i === 0 ? lo : keys[i], i + 1 < keys.length ? keys[i + 1] : hi);
      });
      return;
    }
    const next = readHeader(page).next;
    if (next !== 0) this.problem(pageNo, `a leaf's next is ${next}, not 0`);
    this.entries += keys.length;
    (decoded as ReturnType<typeof decodeLeaf>).values.forEach((v, i) => {
      if (Buffer.isBuffer(v)) {
        if (v.length > maxInline(p)) this.problem(pageNo, `entry ${i}'s inline value is ${v.length} bytes, over ${maxInline(p)}`);
      } else this.overflow(pageNo, i, v.page, v.length);
    });
  }

  private overflow(leaf: number, entry: number, first: number, length: number): void {
    const want = Math.ceil(length / overflowCapacity(this.meta.pageSize));
    let from = leaf;
    let pageNo = first;
    for (let n = 0; n < want; n++) {
      if (pageNo === 0) return this.problem(from, `the overflow chain of entry ${entry} of page ${leaf} ends after ${n} of ${want} pages`);
      if (!this.claim(pageNo, `overflow page of entry ${entry} of page ${leaf}`, from)) return;
      const page = this.page(pageNo, PageType.Overflow);
      if (!page) return;
      from = pageNo;
      pageNo = readHeader(page).next;
    }
    if (pageNo !== 0) this.problem(from, `the overflow chain of entry ${entry} of page ${leaf} is longer than its ${length}-byte value`);
  }

  /** Checks the log chain; returns what its records add to the count of keys. */
  private log(): number {
    const m = this.meta;
    let delta = 0;
    let pages = 0;
    let txid = Infinity;
    for (let pageNo = m.log, from = 0; pageNo !== 0; ) {
      const page = this.claim(pageNo, LOG_PAGE, from) ? this.page(pageNo, PageType.Log) : undefined;
      if (!page) return (this.incomplete = true), delta;
      pages++;
      const h = readHeader(page);
      if (h.txid > txid) this.problem(pageNo, `log page of txid ${h.txid} follows one of txid ${txid}`);
      txid = h.txid;
      try {
        for (const r of decodeLog(page, pageNo)) delta += countDelta(r.kind);
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw e;
        this.problem(pageNo, e.reason);
        this.incomplete = true;
      }
      from = pageNo;
      pageNo = h.next;
    }
    if (pages !== m.logPages) this.problem(m.log, `the log chain has ${pages} pages, the meta counts ${m.logPages}`);
    return delta;
  }

  private freelist(): void {
    for (let pageNo = this.meta.freelist, from = 0; pageNo !== 0; ) {
      if (!this.claim(pageNo, 'a freelist page', from)) return;
      const page = this.page(pageNo, PageType.Freelist);
      if (!page) return;
      try {
        // A page the log chain took after this freelist was written is the log's (log.ts).
        for (const id of decodeFreelist(page, pageNo)) if (this.owner.get(id) !== LOG_PAGE) this.claim(id, 'free', pageNo);
      } catch (e) {
        if (e instanceof CorruptionError) this.problem(pageNo, e.reason);
        else throw e;
      }
      from = pageNo;
      pageNo = readHeader(page).next;
    }
  }
}

const LOG_PAGE = 'a log page';

function report(problems: Problem[], meta: Meta | undefined): CheckReport {
  problems.sort((a, b) => a.page - b.page);
  return { ok: problems.length === 0, problems, txid: meta?.txid, pages: meta?.pageCount ?? 0, entries: meta?.entries ?? 0 };
}

function checkMetas(read: Read, problems: Problem[]): void {
  for (const slot of [0, 1]) {
    const page = read(slot);
    const m = page ? decodeMeta(page, slot) : 'missing';
    if (typeof m === 'string') problems.push({ page: slot, message: `meta page ${slot} is invalid: ${m}` });
  }
}

function checkWith(read: Read, meta: Meta): CheckReport {
  const c = new Checker(read, meta);
  checkMetas(read, c.problems);
  c.run();
  return report(c.problems, meta);
}

/** Checks the commit `snap` sees. */
export function checkStore(snap: Snapshot): CheckReport {
  const { pager } = snap.store;
  return checkWith((n) => {
    const b = pager.readAt(n * pager.pageSize, pager.pageSize);
    return b.length === pager.pageSize ? b : undefined;
  }, snap.meta);
}

/** Checks a database file that is not open (reads only; takes no lock). */
export function checkFile(path: string): CheckReport {
  const pager = new Pager(path, { readOnly: true });
  try {
    const p = probePageSize((offset, length) => pager.readAt(offset, length));
    if (p === undefined) return report([{ page: 0, message: 'no valid meta page: cannot tell the page size' }], undefined);
    pager.pageSize = p;
    const read: Read = (n) => {
      const b = pager.readAt(n * p, p);
      return b.length === p ? b : undefined;
    };
    const metas = [0, 1].map((slot) => decodeMeta(read(slot) ?? Buffer.alloc(0), slot)).filter((m): m is Meta => typeof m !== 'string');
    if (metas.length === 0) return report([{ page: 0, message: 'no valid meta page' }], undefined);
    metas.sort((a, b) => b.txid - a.txid);
    // The meta opening uses: a log commit whose pages did not reach the disk is passed over (file.ts).
    let chosen: { meta: Meta; torn?: string };
    try {
      chosen = chooseMeta(metas, (n) => pager.read(n, [PageType.Log]));
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      return report([{ page: e.page, message: e.reason }], metas[0]);
    }
    const { meta, torn } = chosen;
    const extra: Problem[] = [];
    if (torn) extra.push({ page: metaPageOf(meta.txid + 1), message: `${torn}: a crash before its sync; opening uses txid ${meta.txid}` });
    if (pager.size < meta.pageCount * p) {
      extra.push({ page: Math.floor(pager.size / p), message: `the file ends at byte ${pager.size}, but the meta counts ${meta.pageCount} pages` });
    }
    const c = checkWith(read, meta);
    if (extra.length === 0) return c;
    return report([...extra, ...c.problems], meta);
  } finally {
    pager.close();
  }
}
