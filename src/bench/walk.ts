// The TypeScript walks of `xrpkv bench depth`: root to leaf, one read of one
// page per level, `searchPage` on each. Like bpf/lookup.c they check each
// page's structure (searchPage's slot and bounds checks, the page type) but
// not its checksum, and keep no page cache: every level is a read.
//   walk-sync:  fs.readSync per level, one lookup at a time;
//   walk-async: fs.read (libuv's thread pool) per level, `concurrency` lookups in flight.
// Also the plain reads of the device rows: one random leaf page per read.
import { read } from 'node:fs';
import { alignedBuffer } from '../aligned.js';
import { CorruptionError } from '../errors.js';
import { HEADER_FIELDS, PageType, branchChild, keyBounds, leafValue, searchPage } from '../format/page.js';
import { checkResult, nowNs, type Probe, type SliceRun } from './probe.js';
import { readPageSync, type Target } from './target.js';

type Step = { next: number } | { value: Buffer | undefined };

/** Searches the page in `buf` (page `pageNo`, `level` from the root) for `key`. */
function searchLevel(t: Target, buf: Buffer, pageNo: number, level: number, key: Buffer): Step {
  const leaf = level === t.tree.height - 1;
  const type = buf[HEADER_FIELDS.type];
  if (type !== (leaf ? PageType.Leaf : PageType.Branch)) throw new CorruptionError(pageNo, `type ${type} at level ${level}`, t.tree.path);
  const { index, exact } = searchPage(buf, key, leaf, pageNo);
  if (leaf) {
    if (!exact) return { value: undefined };
    const [start, end] = keyBounds(buf, index, true, pageNo);
    const v = leafValue(buf, index, start, end, pageNo);
    if (!Buffer.isBuffer(v)) throw new CorruptionError(pageNo, 'an overflow value in a benchmark tree', t.tree.path);
    return { value: v };
  }
  if (index < 0) throw new CorruptionError(pageNo, 'no entry covers the key', t.tree.path);
  const [start] = keyBounds(buf, index, false, pageNo);
  return { next: branchChild(buf, start) };
}

/** One lookup with synchronous reads; the value is a view into `buf`. */
export function walkSync(t: Target, key: Buffer, buf: Buffer): Buffer | undefined {
  let pageNo = t.tree.root;
  for (let level = 0; ; level++) {
    readPageSync(t.fd, buf, pageNo);
    const step = searchLevel(t, buf, pageNo, level, key);
    if ('value' in step) return step.value;
    pageNo = step.next;
  }
}

/** One lookup with asynchronous reads; `done` gets a view into `buf`. */
export function walkAsync(t: Target, key: Buffer, buf: Buffer, done: (err: Error | null, value?: Buffer) => void): void {
  const P = t.tree.pageSize;
  const visit = (pageNo: number, level: number): void => {
    read(t.fd, buf, 0, P, pageNo * P, (err, n) => {
      if (err) return done(err);
      let step: Step;
      try {
        if (n !== P) throw new Error(`short read of page ${pageNo}: ${n} of ${P} bytes`);
        step = searchLevel(t, buf, pageNo, level, key);
      } catch (e) {
        return done(e as Error);
      }
      if ('value' in step) done(null, step.value);
      else visit(step.next, level + 1);
    });
  };
  visit(t.tree.root, 0);
}

export function runWalkSync(t: Target, probes: Probe[]): SliceRun {
  const buf = alignedBuffer(t.tree.pageSize);
  const latenciesNs = new Float64Array(probes.length);
  const start = nowNs();
  for (let i = 0; i < probes.length; i++) {
    const t0 = nowNs();
    const value = walkSync(t, probes[i].key, buf);
    latenciesNs[i] = nowNs() - t0;
    checkResult('walk-sync', probes[i], value);
  }
  return { latenciesNs, elapsedNs: nowNs() - start };
}

/**
 * Runs `count` operations with `concurrency` in flight: `op(i, buf, done)`
 * gets its own page buffer per worker. Latency: from an operation's start to its `done`.
 */
function inFlight(
  count: number,
  concurrency: number,
  pageSize: number,
  op: (i: number, buf: Buffer, done: (err: Error | null) => void) => void,
): Promise<SliceRun> {
  return new Promise((resolve, reject) => {
    const latenciesNs = new Float64Array(count);
    let next = 0;
    let finished = 0;
    let failed = false;
    const start = nowNs();
    const worker = (buf: Buffer): void => {
      if (failed || next >= count) return;
      const i = next++;
      const t0 = nowNs();
      op(i, buf, (err) => {
        if (failed) return;
        if (err) return (failed = true), reject(err);
        latenciesNs[i] = nowNs() - t0;
        if (++finished === count) return resolve({ latenciesNs, elapsedNs: nowNs() - start });
        worker(buf);
      });
    };
    if (count === 0) return resolve({ latenciesNs, elapsedNs: 0 });
    for (let w = 0; w < Math.min(concurrency, count); w++) worker(alignedBuffer(pageSize));
  });
}

export function runWalkAsync(t: Target, probes: Probe[], concurrency: number): Promise<SliceRun> {
  return inFlight(probes.length, concurrency, t.tree.pageSize, (i, buf, done) => {
    walkAsync(t, probes[i].key, buf, (err, value) => {
      if (err) return done(err);
      try {
        checkResult('walk-async', probes[i], value);
      } catch (e) {
        return done(e as Error);
      }
      done(null);
    });
  });
}

/** Plain reads of random leaf pages, one at a time (fs.readSync). */
export function runReadSync(t: Target, pages: Uint32Array): SliceRun {
  const buf = alignedBuffer(t.tree.pageSize);
  const latenciesNs = new Float64Array(pages.length);
  const start = nowNs();
  for (let i = 0; i < pages.length; i++) {
    const t0 = nowNs();
    readPageSync(t.fd, buf, pages[i]);
    latenciesNs[i] = nowNs() - t0;
  }
  return { latenciesNs, elapsedNs: nowNs() - start };
}

/** Plain reads of random leaf pages, `concurrency` in flight (fs.read). */
export function runReadAsync(t: Target, pages: Uint32Array, concurrency: number): Promise<SliceRun> {
  const P = t.tree.pageSize;
  return inFlight(pages.length, concurrency, P, (i, buf, done) => {
    read(t.fd, buf, 0, P, pages[i] * P, (err, n) => done(err ?? (n === P ? null : new Error(`short read: ${n} of ${P} bytes`))));
  });
}
