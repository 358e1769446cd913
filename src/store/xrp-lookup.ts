// The `xrp` lookup: `bpf/lookup.c` (dist/bpf/lookup.o, section xrp/lookup)
// walks the tree on the XRP runtime, one page per read, to the value, in one
// chain that never returns to JavaScript in between.
//
// As BPF-KV's cache does, the top `cacheLevels` levels are searched here, in
// their decoded views (snapshot.ts), and below them the pages the store's
// cache holds (pager.ts: branch pages, or with O_DIRECT every page); the
// chain starts at the first page it does not hold. When the cache reaches
// the leaf, no chain runs at all.
//
// Consistency: every lookup runs against one snapshot (a meta); the caller
// keeps it registered until the chain ends (async and batch runs), so no page
// it can reach is freed and rewritten meanwhile. Chains read the way the
// store does: with O_DIRECT when it is direct (as the XRP kernel path must),
// else through the page cache, so that a store whose pages are cached gets
// warm chains too (direct reads made warm xrp gets about ten times slower,
// every uncached level a read of the disk). The XRP file's size is fixed when
// it is opened, so it is reopened when a snapshot counts more pages than it had.
//
// Every page a chain reads is verified before the program sees it: the
// emulator checks its checksum and the page number it records (`pageCheck`,
// set when the file is opened here), and bpf/lookup.c checks its number,
// type and level (state 4). Either ends the lookup with CorruptionError, as
// `walk` would. A real XRP kernel would run only the program's checks
// (docs/FORMAT.md), which is why `auto` does not chain in mode `kernel`
// (lookup-choice.ts). Overflow values come back as a location; the store
// reads and verifies those pages.
import { XRP_PAGE_SIZE, XRP_SECTOR_SIZE, XrpBatchChains, XrpFile, XrpSyncIo, type XrpMode, type XrpProgram, type XrpResult } from '../xrp.js';
import { CorruptionError, DatabaseClosedError, StoreError } from '../errors.js';
import { maxInline, pageCheckOf, searchPage, type LeafValue } from '../format/page.js';
import { LOOKUP_INPUT_END, LOOKUP_SCRATCH as S, LOOKUP_STATES, writeLookupInput } from '../format/scratch.js';
import { lookupProgram } from '../programs.js';
import type { LookupStart, Snapshot } from './snapshot.js';

/** How a chain that did not end DONE fails a lookup or a scan: a read the file cannot serve or a chain that did not end is corruption, anything else a StoreError. */
export function chainFailure(
  xrp: XrpLookup,
  r: XrpResult,
  page: number,
  as: { what: string; program: string; code: string },
): StoreError {
  const last = Math.floor(r.lastOffset / xrp.pageSize);
  if (r.code === 'OUT_OF_FILE' || r.code === 'BAD_ADDRESS' || r.code === 'BLOCK_SIZE') {
    return new CorruptionError(last, `the ${as.what} followed it to a read the file cannot serve: ${r.message}`, xrp.path);
  }
  if (r.code === 'HOP_LIMIT') return new CorruptionError(last, `the ${as.what} did not end: ${r.message}`, xrp.path);
  if (r.code === 'CHECKSUM' || r.code === 'CORRUPT') return new CorruptionError(last, `${r.message.replace(/^page \d+: /, '')} (found by the ${as.what})`, xrp.path);
  const why = r.code === 'RETURNED' ? `${as.program} refused its input (returned ${r.returned})` : r.message;
  return new StoreError(`${xrp.path}: ${as.what} from page ${page} failed: ${why}`, as.code, { cause: r.error });
}

/** Why chains in `mode` cannot read a file of `pageSize`-byte pages, or undefined: mode `kernel` reads one sector per hop. */
export function modeMisfit(mode: XrpMode, pageSize: number): string | undefined {
  if (mode !== 'kernel' || pageSize === XRP_SECTOR_SIZE) return undefined;
  return `xrpMode 'kernel' reads ${XRP_SECTOR_SIZE} bytes per hop, so it needs ${XRP_SECTOR_SIZE}-byte pages; this file has ${pageSize}-byte pages`;
}

export type { LookupStart };

/** A lookup a chain finishes: its snapshot, the first page memory does not hold, and the key. */
export interface ChainAsk {
  snap: Snapshot;
  start: { page: number; depth: number };
  key: Buffer;
}

export class XrpLookup {
  readonly program: XrpProgram;
  /** Chains run so far (lookups the cached levels answered run none). */
  chains = 0;
  private file: XrpFile;
  private closed = false;
  /**
   * Sync chains' io (`runSyncIo`): their scratch written in place, and an
   * inline value asked for without a copy (`found`) a view of it, valid
   * until this store's next sync chain.
   */
  private readonly syncIo = new XrpSyncIo();
  private readonly direct: 'require' | 'off';
  /** Each chain's first read: a page, or in mode `kernel` a sector, as the prototype kernel reads. */
  readonly readLength: number;

  /**
   * Opens `path` for chains. `mode: 'kernel'` (512-byte reads, as the XRP
   * prototype kernel) needs 512-byte pages. `requireDirect` (the store's
   * `direct: true`): chains read with O_DIRECT or the lookup is refused;
   * otherwise they read buffered.
   */
  constructor(
    readonly path: string,
    readonly pageSize: number,
    readonly mode: XrpMode = 'extended',
    requireDirect = false,
  ) {
    const misfit = modeMisfit(mode, pageSize);
    if (misfit) throw new RangeError(misfit);
    this.program = lookupProgram();
    this.readLength = mode === 'kernel' ? XRP_SECTOR_SIZE : pageSize;
    // The whole page counts as written, so none of it is zeroed per chain:
    // bpf/lookup.c reads only the input fields, which fillScratch writes
    // each time, and the key's bytes within its length; what an earlier
    // chain of this store left past them is never read.
    this.syncIo.request(this.readLength, mode, XRP_PAGE_SIZE);
    this.direct = requireDirect ? 'require' : 'off';
    this.file = this.openFile();
  }

  /** The file for chains: every page they read is checked (checksum, own number) before bpf/lookup.c or range.c sees it. */
  private openFile(): XrpFile {
    return XrpFile.open(this.path, { direct: this.direct, pageCheck: pageCheckOf(this.pageSize) });
  }

  /** How chains read the file, e.g. `direct (O_DIRECT, 512-byte blocks)`. */
  get access(): string {
    return this.file.access;
  }

  /** Where chains run: `emulator` (or `kernel`, once xrpkv can drive one). */
  get backend(): string {
    return this.file.backend.backend;
  }

  close(): void {
    this.closed = true;
    this.file.close();
  }

  /** The file, reopened if `snap` reaches pages past its size as of opening. */
  fileFor(snap: Snapshot): XrpFile {
    if (this.closed) throw new DatabaseClosedError(this.path);
    if (this.file.size < snap.meta.pageCount * this.pageSize) {
      const old = this.file;
      this.file = this.openFile();
      old.close(); // chains still running keep their descriptor until they end
    }
    return this.file;
  }

  /** Descends what `snap`'s store holds in memory (snapshot.ts `descendCached`): the chain starts at the first page it does not hold. */
  start(snap: Snapshot, key: Buffer): LookupStart {
    return snap.descendCached(key);
  }

  /**
   * A chain's scratch `s` (`w`, the same bytes as u32s): the key, the page
   * size, and what bpf/lookup.c checks each page against: the number of
   * the page it asked for, and the level at which it must find a leaf.
   */
  private fillScratch(w: Uint32Array, s: Buffer, snap: Snapshot, start: { page: number; depth: number }, key: Buffer, at = 0): void {
    writeLookupInput(w, s, key, this.pageSize, start.page, snap.meta.height - start.depth, at);
  }

  /** The leaf value the chain found, undefined when absent; CorruptionError for state 4 or a read outside the file. */
  finish(snap: Snapshot, start: { page: number; depth: number }, key: Buffer, r: XrpResult): LeafValue | undefined {
    if (!r.ok) throw chainFailure(this, r, start.page, { what: 'xrp lookup', program: 'bpf/lookup.c', code: 'XRP_LOOKUP' });
    return this.found(snap, start, key, r.scratch, r.lastOffset);
  }

  /**
   * What a chain that ended DONE found, from its final scratch `s` and its
   * last read's offset. An inline value is a copy, or with `copy` false a
   * view of `s` (the sync chains' scratch: valid until this store's next
   * sync chain, as a walk's view of the pager's reused buffer is until its
   * next read).
   */
  private found(snap: Snapshot, start: { page: number; depth: number }, key: Buffer, s: Buffer, lastOffset: number, copy = true, at = 0): LeafValue | undefined {
    const last = Math.floor(lastOffset / this.pageSize);
    const state = s.readUInt32LE(at + S.state);
    switch (state) {
      case LOOKUP_STATES.inline: {
        const from = at + S.value;
        const to = from + s.readUInt32LE(at + S.valueLen);
        if (!copy) return s.subarray(from, to);
        const value = Buffer.allocUnsafe(to - from);
        s.copy(value, 0, from, to);
        return value;
      }
      case LOOKUP_STATES.absent:
        return undefined;
      case LOOKUP_STATES.overflow:
        return { page: Number(s.readBigUInt64LE(at + S.overflowPage)), length: s.readUInt32LE(at + S.valueLen) };
      case LOOKUP_STATES.corrupt: {
        const depth = start.depth + Number(s.readBigUInt64LE(at + S.levels)) - 1;
        // The store's own checks on the same page name the problem when they can.
        try {
          searchPage(snap.read(last, depth), key, depth === snap.meta.height - 1, last);
        } catch (e) {
          if (e instanceof CorruptionError && !e.path) throw new CorruptionError(e.page, e.reason, this.path);
          throw e;
        }
        throw new CorruptionError(last, `bpf/lookup.c found it inconsistent (state 4) at level ${depth} of the tree`, this.path);
      }
      default:
        throw new StoreError(`${this.path}: xrp lookup from page ${start.page} ended in state ${state}`, 'XRP_LOOKUP');
    }
  }

  /**
   * On this thread: `runSyncIo`, the scratch written in place in the
   * store's own io (no objects per lookup: a warm get is a few µs).
   */
  lookupSync(snap: Snapshot, key: Buffer, copy = true): LeafValue | undefined {
    const start = this.start(snap, key);
    if (start.done) return start.value;
    return this.chainSync(snap, start, key, copy);
  }

  /** `lookupSync` from `start`, the first page memory does not hold (`descendCached`); `copy` as `found`'s. */
  chainSync(snap: Snapshot, start: { page: number; depth: number }, key: Buffer, copy = true): LeafValue | undefined {
    this.chains++;
    const io = this.syncIo;
    const s = io.scratch;
    this.fillScratch(io.scratchWords, s, snap, start, key);
    // Hops copy their pages out of the store's map, as walks do, where it has one.
    const r = this.program.runSyncIo(this.fileFor(snap), io, start.page * this.pageSize, snap.store.pager.treeMap());
    if (typeof r !== 'number') return this.finish(snap, start, key, r);
    return this.found(snap, start, key, s, r, copy);
  }

  /**
   * One `runBatch` of a chain per ask, each from its own start, against its
   * own snapshot (asks gathered over a turn may span commits: lookup-gather.ts).
   * Each ask gets its own outcome: its value, or the error that failed it
   * (CorruptionError for a damaged page), so that one damaged page fails
   * only the lookups that need it. Keep every snapshot registered until it settles.
   */
  async chainMany(asks: readonly ChainAsk[]): Promise<(LeafValue | undefined | Error)[]> {
    // The file as of the newest snapshot: files only grow, so it holds every page the others reach.
    let newest = asks[0].snap;
    for (const a of asks) if (a.snap.meta.pageCount > newest.meta.pageCount) newest = a.snap;
    const file = this.fileFor(newest);
    this.chains += asks.length;
    // Written in place, read in place: no object per chain either way.
    const chains = new XrpBatchChains(asks.length, LOOKUP_INPUT_END);
    asks.forEach((a, i) => {
      chains.set(i, a.start.page * this.pageSize, this.readLength);
      this.fillScratch(chains.scratchWords, chains.scratch, a.snap, a.start, a.key, i * LOOKUP_INPUT_END);
    });
    // Only the scratch up to the end of the longest inline value comes back.
    const out = await this.program.runBatchPacked(file, chains, { mode: this.mode, keepScratch: S.value + maxInline(this.pageSize) });
    return asks.map((a, j) => {
      try {
        if (!out.ok(j)) return this.finish(a.snap, a.start, a.key, out.result(j));
        return this.found(a.snap, a.start, a.key, out.bytes, out.lastOffset(j), true, out.scratchAt(j));
      } catch (e) {
        return e as Error;
      }
    });
  }
}
