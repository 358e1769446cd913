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
// `checkFile` works on a closed file, even one `open` refuses, and on one
// another process is writing.
//
// A live database. A pass checks one commit, t, while a writer may go on
// committing:
// - in the writer's process (`checkStore`: db.check()) the pass holds a
//   registered snapshot, so no page t reaches is rewritten (freelist.ts);
//   only the meta pages change under it, as commits in flight write them;
// - from another process (`checkFile` while `xrpkv serve` writes) nothing
//   holds t's pages: commit t+2 may reuse pages t reaches. It writes only
//   after commit t+1's meta is written and synced, so t's pages are intact
//   while no meta newer than t is on disk.
// A page a writer writes is whole and carries its commit's txid, newer than
// t, but for freelist pages, which carry the txid of the group they list
// (FORMAT.md), so any may be a writer's. So a page read wrong (checksum, type
// or number; unreadable; or a txid newer than t) is damage or a writer's
// change, and a pass that finds no problem read exactly t's pages. A pass
// that finds problems stands if the meta pages did not change during it (no
// commit past t+1 began), or if every page it read wrong reads the same
// again (damage stays; a writer's change is a whole, newer page), none
// merely had a newer txid or was a whole freelist page, and none of its
// problems came from below such a page or from the whole pass. Otherwise
// the pass is made again, from the newest meta, up to `attempts` times (one
// that reads a page that may be a newer commit's stops there: it cannot
// stand; unless no commit began meanwhile, the next goes on past such pages,
// as the last does, for they are then damage); if none
// stands, the report says so (`inconclusive`) and lists only the damage the
// passes confirmed, never what a writer's change may have shown.
import { CorruptionError, ReadFailedError } from '../errors.js';
import { countDelta, decodeLog } from '../format/log.js';
import { chooseMeta } from './refresh.js';
import { decodeMeta, metaPageOf, probePageSize, type Meta } from '../format/meta.js';
import {
  META_PAGES,
  PAGE_SIZES,
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
  /** No problem found, and a pass saw one commit whole. */
  ok: boolean;
  problems: Problem[];
  /** The meta checked (undefined when neither meta page is valid). */
  txid?: number;
  pages: number;
  entries: number;
  /** Passes made: more than one when a writer changed the file during a pass that found problems. */
  attempts: number;
  /**
   * Set when no pass stood: a writer changed the file during every one.
   * `problems` then lists only damage confirmed (pages that read wrong the
   * same way twice, reached through pages that read right), and `ok` is false.
   */
  inconclusive?: string;
}

export interface CheckOptions {
  /** Passes at most over a database a writer keeps changing (default 16). */
  attempts?: number;
}

const ATTEMPTS = 16;

/** What a read gave: the bytes, undefined past the end of the file, or the system's refusal. */
type Seen = Buffer | undefined | ReadFailedError;
type Read = (pageNo: number) => Seen;

/** A read whose result may be a writer's change rather than damage: confirmed if `again` gives the same. */
interface Suspect {
  seen: Seen;
  again: () => Seen;
  /** A whole page of a newer commit: a writer's, unless no commit began during the pass. */
  newer: boolean;
}

interface Found extends Problem {
  suspect?: Suspect;
  /** False when found below a suspect (its pointers may be a writer's) or from the whole pass (counts, leaks, pages reached twice). */
  local: boolean;
}

/** What one pass found, and the meta pages as they were when it began. */
interface Pass {
  found: Found[];
  meta: Meta | undefined;
  metas: Seen;
  /** It stopped at a page a newer commit wrote: it cannot stand, and `found` is what it found until then. */
  overtaken?: boolean;
  /** A registered snapshot kept the commit's pages as they were (db.check()): what it found holds whatever a writer did. */
  guarded?: boolean;
}

function seenAt(pager: Pager, offset: number, length: number): Seen {
  try {
    return pager.readAt(offset, length);
  } catch (e) {
    if (e instanceof ReadFailedError) return e;
    throw e;
  }
}

function pageReader(pager: Pager, p: number): Read {
  return (n) => {
    const b = seenAt(pager, n * p, p);
    return Buffer.isBuffer(b) && b.length < p ? undefined : b;
  };
}

function sameSeen(a: Seen, b: Seen): boolean {
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (a instanceof ReadFailedError || b instanceof ReadFailedError) {
    return a instanceof ReadFailedError && b instanceof ReadFailedError && a.systemCode === b.systemCode;
  }
  return true;
}

const confirmed = (s: Suspect) => !s.newer && sameSeen(s.seen, s.again());

/** Whether `f`, found by `pass`, holds of the commit checked though a writer may have changed the file since. */
const holds = (f: Found, pass: Pass) => (f.suspect ? confirmed(f.suspect) : f.local || pass.guarded === true);

/** Why a read failed, as a problem's message. */
const unreadable = (e: ReadFailedError) => `reading it failed: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`;

class Checker {
  readonly found: Found[] = [];
  private owner = new Map<number, string>();
  private entries = 0;
  /** Set when a tree page could not be read: the entry count is then unknown. */
  private incomplete = false;
  /** Suspect pages above the one being checked (only when nothing guards the pages). */
  private shaky = 0;

  constructor(
    private readonly read: Read,
    private readonly meta: Meta,
    /** Whether a registered snapshot keeps every page the meta reaches as it is (db.check()). */
    private readonly guarded: boolean,
    /** Stop (throw `Overtaken`) at the first page a newer commit wrote: the pass cannot stand, and a new one may. */
    private readonly stopWhenOvertaken = false,
  ) {}

  /** Records a problem; `suspect` when the read that showed it may have been a writer's change. */
  problem(page: number, message: string, suspect?: Suspect): void {
    this.found.push({ page, message, suspect, local: this.shaky === 0 });
  }

  /** A problem that depends on the whole pass (counts, leaks, pages reached twice). */
  private global(page: number, message: string): void {
    this.found.push({ page, message, local: false });
  }

  /** Claims `pageNo` for `role`, reporting pointers outside the file and pages reached twice. */
  private claim(pageNo: number, role: string, from: number): boolean {
    if (pageNo < META_PAGES || pageNo >= this.meta.pageCount) {
      this.problem(from, `points at page ${pageNo} (${role}), outside the file's ${this.meta.pageCount} pages`);
      return false;
    }
    const had = this.owner.get(pageNo);
    if (had) {
      this.global(pageNo, `reachable twice: as ${had} and as ${role}`);
      return false;
    }
    this.owner.set(pageNo, role);
    return true;
  }

  /** The page, verified (checksum, number, type, txid); undefined after reporting why not. */
  private page(pageNo: number, type: PageType): Buffer | undefined {
    const seen = this.read(pageNo);
    const suspect = (newer = false): Suspect | undefined => {
      if (this.guarded) return undefined;
      if (newer && this.stopWhenOvertaken) throw new Overtaken();
      return { seen, again: () => this.read(pageNo), newer };
    };
    if (seen instanceof ReadFailedError) return this.problem(pageNo, unreadable(seen), suspect()), undefined;
    if (!seen) return this.problem(pageNo, 'it lies beyond the end of the file', suspect()), undefined;
    try {
      const h = verifyPage(seen, pageNo, [type]);
      if (h.txid > this.meta.txid) this.problem(pageNo, `written by txid ${h.txid}, newer than the meta's ${this.meta.txid}`, suspect(true));
      return seen;
    } catch (e) {
      if (e instanceof CorruptionError) return this.problem(pageNo, e.reason, suspect(this.newer(seen, pageNo))), undefined;
      throw e;
    }
  }

  /**
   * Whether `page` is whole (checksum, number), of another type than
   * expected, and may be of a newer commit (a page a writer reused): newer
   * than the meta, or a freelist page, whose txid does not say.
   */
  private newer(page: Buffer, pageNo: number): boolean {
    try {
      const h = verifyPage(page, pageNo);
      return h.txid > this.meta.txid || h.type === PageType.Freelist;
    } catch (e) {
      if (e instanceof CorruptionError) return false;
      throw e;
    }
  }

  /** Whether what is below `page` may be a writer's: no snapshot guards it, and it is newer than the meta or a freelist page (undated). */
  private suspectBelow(page: Buffer): boolean {
    if (this.guarded) return false;
    const h = readHeader(page);
    return h.txid > this.meta.txid || h.type === PageType.Freelist;
  }

  run(): void {
    const m = this.meta;
    if (m.root !== 0 && this.claim(m.root, 'root', 0)) this.tree(m.root, 0, undefined, undefined);
    const logged = this.log();
    if (!this.incomplete && this.entries + logged !== m.entries) {
      const log = logged === 0 ? '' : ` and the log adds ${logged}`;
      this.global(0, `the meta counts ${m.entries} entries, the leaves hold ${this.entries}${log}`);
    }
    this.freelist();
    // Below an unreadable page nothing is reachable: its pages are not leaks.
    if (this.incomplete) return;
    for (let n = 2; n < m.pageCount; n++) {
      if (!this.owner.has(n)) this.global(n, 'neither reachable nor free (leaked)');
    }
  }

  private tree(pageNo: number, depth: number, lo: Buffer | undefined, hi: Buffer | undefined): void {
    const leaf = depth === this.meta.height - 1;
    const page = this.page(pageNo, leaf ? PageType.Leaf : PageType.Branch);
    if (!page) return void (this.incomplete = true);
    const shaky = this.suspectBelow(page);
    if (shaky) this.shaky++;
    try {
      this.treePage(page, pageNo, depth, leaf, lo, hi);
    } finally {
      if (shaky) this.shaky--;
    }
  }

  private treePage(page: Buffer, pageNo: number, depth: number, leaf: boolean, lo: Buffer | undefined, hi: Buffer | undefined): void {
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

  /**
   * Runs `walk` along a chain (overflow, log, freelist) whose pages after a
   * suspect one are reached through it: `below(page)` counts each such page.
   */
  private chain<T>(walk: (below: (page: Buffer) => void) => T): T {
    let shaky = 0;
    try {
      return walk((page) => {
        if (this.suspectBelow(page)) (shaky++, this.shaky++);
      });
    } finally {
      this.shaky -= shaky;
    }
  }

  private overflow(leaf: number, entry: number, first: number, length: number): void {
    const want = Math.ceil(length / overflowCapacity(this.meta.pageSize));
    this.chain((below) => {
      let from = leaf;
      let pageNo = first;
      for (let n = 0; n < want; n++) {
        if (pageNo === 0) return this.problem(from, `the overflow chain of entry ${entry} of page ${leaf} ends after ${n} of ${want} pages`);
        if (!this.claim(pageNo, `overflow page of entry ${entry} of page ${leaf}`, from)) return;
        const page = this.page(pageNo, PageType.Overflow);
        if (!page) return;
        below(page);
        from = pageNo;
        pageNo = readHeader(page).next;
      }
      if (pageNo !== 0) this.problem(from, `the overflow chain of entry ${entry} of page ${leaf} is longer than its ${length}-byte value`);
    });
  }

  /** Checks the log chain; returns what its records add to the count of keys. */
  private log(): number {
    const m = this.meta;
    return this.chain((below) => {
      let delta = 0;
      let pages = 0;
      let txid = Infinity;
      // The chain is its first `logPages` pages; where the last points is not followed (docs/FORMAT.md).
      for (let pageNo = m.log, from = 0; pageNo !== 0 && pages < m.logPages; ) {
        const page = this.claim(pageNo, LOG_PAGE, from) ? this.page(pageNo, PageType.Log) : undefined;
        if (!page) return (this.incomplete = true), delta;
        below(page);
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
      if (pages !== m.logPages) this.global(m.log, `the log chain ends after ${pages} pages, the meta counts ${m.logPages}`);
      return delta;
    });
  }

  private freelist(): void {
    this.chain((below) => {
      for (let pageNo = this.meta.freelist, from = 0; pageNo !== 0; ) {
        if (!this.claim(pageNo, 'a freelist page', from)) return;
        const page = this.page(pageNo, PageType.Freelist);
        if (!page) return;
        below(page);
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
    });
  }

  /** Reports meta pages that are not valid: `start` is both as the pass began, `metas` reads them again. */
  metaPages(start: Seen, metas: () => Seen, p: number): void {
    for (const slot of [0, 1]) {
      const seen = slotOf(start, slot, p);
      const suspect = { seen, again: () => slotOf(metas(), slot, p), newer: false };
      if (seen instanceof ReadFailedError) {
        this.problem(slot, `meta page ${slot}: ${unreadable(seen)}`, suspect);
        continue;
      }
      const m = decodeMeta(seen ?? Buffer.alloc(0), slot);
      if (typeof m === 'string') this.problem(slot, `meta page ${slot} is invalid: ${m}`, suspect);
    }
  }
}

const LOG_PAGE = 'a log page';

/** Thrown out of a pass that read a page a newer commit wrote: that pass cannot stand. */
class Overtaken extends Error {}

/** Meta page `slot` of what a read of both gave. */
function slotOf(metas: Seen, slot: number, p: number): Seen {
  return Buffer.isBuffer(metas) ? metas.subarray(slot * p, (slot + 1) * p) : metas;
}

function report(found: Problem[], meta: Meta | undefined, attempts: number, inconclusive?: string): CheckReport {
  const problems = found.map(({ page, message }) => ({ page, message })).sort((a, b) => a.page - b.page);
  return {
    ok: problems.length === 0 && inconclusive === undefined,
    problems,
    txid: meta?.txid,
    pages: meta?.pageCount ?? 0,
    entries: meta?.entries ?? 0,
    attempts,
    ...(inconclusive === undefined ? {} : { inconclusive }),
  };
}

/**
 * Makes passes (`pass`) until one stands (see the top of this file), at
 * most `attempts`; `metas` reads the meta pages now.
 */
function settle(options: CheckOptions, pass: (whole: boolean) => Pass, metas: () => Seen): CheckReport {
  const attempts = options.attempts ?? ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be an integer >= 1, got ${String(attempts)}`);
  // Damage confirmed by passes that did not stand: pages of the commit each checked, reached through pages that read right.
  const sure = new Map<string, Found>();
  let last: Pass | undefined;
  // Whether the next pass goes on past pages that may be a writer's: the last one, or one after a pass that stopped at such a page while no commit began (it will not change: damage).
  let whole = false;
  for (let n = 1; n <= attempts; n++) {
    last = pass(whole || n === attempts);
    whole = last.overtaken === true && sameSeen(last.metas, metas());
    const { found } = last;
    if (!last.overtaken && (found.length === 0 || sameSeen(last.metas, metas()) || found.every((f) => holds(f, last!)))) {
      return report(found, last.meta, n);
    }
    for (const f of found) if (f.local && (!f.suspect || confirmed(f.suspect))) sure.set(`${f.page} ${f.message}`, f);
  }
  const listed = sure.size === 0 ? 'no damage was confirmed' : 'only the damage confirmed is listed';
  return report([...sure.values()], last!.meta, attempts, `the database changed during each of ${attempts} passes (a writer is committing), so none saw one commit whole; ${listed}`);
}

/** Checks the commit `snap` sees, which its registration keeps intact; also what opening fell back from. */
export function checkStore(snap: Snapshot, options: CheckOptions = {}): CheckReport {
  const { pager, recovery } = snap.store;
  const p = pager.pageSize;
  const { meta } = snap;
  const read = pageReader(pager, p);
  const metas = () => seenAt(pager, 0, META_PAGES * p);
  return settle(
    options,
    () => {
      const c = new Checker(read, meta, true);
      const start = metas();
      if (recovery) c.problem(recovery.page, recovery.reason);
      const size = pager.size;
      if (size < meta.pageCount * p) c.problem(Math.floor(size / p), `the file ends at byte ${size}, but the meta counts ${meta.pageCount} pages`);
      c.metaPages(start, metas, p);
      c.run();
      return { found: c.found, meta, metas: start, guarded: true };
    },
    metas,
  );
}

/** Checks a database file that is not open, or open in a writer anywhere (reads only; takes no lock). */
export function checkFile(path: string, options: CheckOptions = {}): CheckReport {
  const pager = new Pager(path, { readOnly: true, cacheSize: 0 });
  try {
    const metas = () => seenAt(pager, 0, META_PAGES * (pager.pageSize || PAGE_SIZES[PAGE_SIZES.length - 1]));
    return settle(options, (whole) => filePass(pager, metas, !whole), metas);
  } finally {
    pager.close();
  }
}

/**
 * One pass over the commit opening would use now; when `hasty`, it stops at
 * the first page a newer commit wrote (`overtaken`: it could not stand).
 */
function filePass(pager: Pager, metas: () => Seen, hasty: boolean): Pass {
  const p = probePageSize((offset, length) => pager.readAt(offset, length));
  if (p === undefined) {
    const start = metas();
    const suspect = { seen: start, again: metas, newer: false };
    return { found: [{ page: 0, message: 'no valid meta page: cannot tell the page size', suspect, local: true }], meta: undefined, metas: start };
  }
  pager.pageSize = p;
  const start = metas();
  // The meta pages as read now: a change to them since (a commit) makes this pass's view of them stale.
  const unchanged: Suspect = { seen: start, again: metas, newer: false };
  const valid = [0, 1]
    .map((slot) => {
      const page = slotOf(start, slot, p);
      return Buffer.isBuffer(page) ? decodeMeta(page, slot) : 'unreadable';
    })
    .filter((m): m is Meta => typeof m !== 'string')
    .sort((a, b) => b.txid - a.txid);
  if (valid.length === 0) {
    return { found: [{ page: 0, message: 'no valid meta page', suspect: unchanged, local: true }], meta: undefined, metas: start };
  }
  // The meta opening uses: a log commit whose pages did not reach the disk is passed over (file.ts).
  let chosen: { meta: Meta; torn?: string };
  try {
    chosen = chooseMeta(valid, (n) => pager.read(n, [PageType.Log]));
  } catch (e) {
    if (e instanceof CorruptionError) return { found: [{ page: e.page, message: e.reason, suspect: unchanged, local: true }], meta: valid[0], metas: start };
    if (e instanceof ReadFailedError) return { found: [{ page: e.page ?? 0, message: unreadable(e), suspect: unchanged, local: true }], meta: valid[0], metas: start };
    throw e;
  }
  const { meta, torn } = chosen;
  const checker = new Checker(pageReader(pager, p), meta, false, hasty);
  if (torn) checker.problem(metaPageOf(meta.txid + 1), `${torn}: a crash before its sync; opening uses txid ${meta.txid}`, unchanged);
  const size = pager.size;
  if (size < meta.pageCount * p) checker.problem(Math.floor(size / p), `the file ends at byte ${size}, but the meta counts ${meta.pageCount} pages`);
  checker.metaPages(start, metas, p);
  try {
    checker.run();
  } catch (e) {
    if (e instanceof Overtaken) return { found: checker.found, meta, metas: start, overtaken: true };
    throw e;
  }
  return { found: checker.found, meta, metas: start };
}
