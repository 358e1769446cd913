// checkFile while a writer in another process reuses, as freelist pages, pages
// of the commit a pass is checking. A freelist page's txid is that of the
// group it lists (FORMAT.md, "Freelist pages"), not of the commit that wrote
// it, so it does not tell a writer's page from damage: a pass that reads one
// where the commit had another page, or reads the commit's freelist pages
// after a writer rewrote them, cannot stand unless no commit began during it.
// The writer is simulated, deterministically: the file becomes a later state
// of the same database at the moment the pass first reads a chosen page.
import { closeSync, copyFileSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { checkFile, open } from '../src/index.js';
import { PageType, readHeader } from '../src/format/page.js';
import { Pager } from '../src/store/pager.js';
import { layout, random, requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const P = 512;
const BINARY = { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0 } as const;
const tmp = tempDir();
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
beforeAll(() => requireFreshStore());
afterAll(() => tmp.remove());
afterEach(() => vi.restoreAllMocks());

const key = (n: number) => Buffer.from(`k${String(n).padStart(6, '0')}`);

/** A closed store of 1,000 keys after `rounds` more commits of 20 random puts (so it has a freelist). */
async function store(rounds: number): Promise<string> {
  const path = newPath();
  const db = open<Buffer, Buffer>(path, BINARY);
  await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.alloc(30, i) })));
  const rnd = random(1);
  for (let r = 0; r < rounds; r++) await db.batch(Array.from({ length: 20 }, () => ({ type: 'put' as const, key: key(rnd(1000)), value: Buffer.alloc(20 + rnd(40), r) })));
  await db.close();
  return path;
}

function pageOf(path: string, pageNo: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(P);
    readSync(fd, b, 0, P, pageNo * P);
    return b;
  } finally {
    closeSync(fd);
  }
}

/**
 * The bytes of `path`'s database some commits later (on a copy), once one of
 * `pages` is a freelist page whose txid is no newer than `txid` and whose
 * bytes differ from what they were (a writer's page that reads as the
 * commit's own); and which page that is.
 */
async function laterState(path: string, pages: number[], txid: number): Promise<{ bytes: Buffer; page: number }> {
  const copy = newPath();
  copyFileSync(path, copy);
  const before = pages.map((n) => pageOf(path, n));
  const db = open<Buffer, Buffer>(copy, BINARY);
  const rnd = random(2);
  try {
    for (let r = 0; r < 400; r++) {
      await db.batch(Array.from({ length: 20 }, () => ({ type: 'put' as const, key: key(rnd(1000)), value: Buffer.alloc(20 + rnd(40), r) })));
      for (const [i, page] of pages.entries()) {
        const now = pageOf(copy, page);
        const h = readHeader(now);
        if (h.type === PageType.Freelist && h.txid <= txid && !now.equals(before[i])) return { bytes: readFileSync(copy), page };
      }
    }
  } finally {
    await db.close();
  }
  throw new Error(`none of pages ${pages.join(', ')} became a freelist page of txid <= ${txid}`);
}

/** Writes `bytes` into `path` at page `from` on, `pages` pages (all of them: to their end). */
function writePages(path: string, bytes: Buffer, from = 0, pages = Infinity): void {
  const fd = openSync(path, 'r+');
  const end = Math.min(bytes.length, (from + pages) * P);
  writeSync(fd, bytes, from * P, end - from * P, from * P);
  if (pages === Infinity) ftruncateSync(fd, bytes.length);
  closeSync(fd);
}

/**
 * A writer's commits, landing while checkFile reads `path`: just before it
 * first reads page `pageNo`, the meta pages and that page become `later`'s
 * (the writer's newest commit, and a page it reused; its other pages are not
 * written yet); when it next reads the meta pages, all of the file does.
 */
function commitDuringPass(path: string, pageNo: number, later: Buffer): { stages: () => number } {
  const readAt = Pager.prototype.readAt;
  let stage = 0;
  vi.spyOn(Pager.prototype, 'readAt').mockImplementation(function (this: Pager, offset: number, length: number) {
    if (stage === 0 && offset === pageNo * P) {
      writePages(path, later, 0, 2);
      writePages(path, later, pageNo, 1);
      stage = 1;
    } else if (stage === 1 && offset === 0) {
      writePages(path, later);
      stage = 2;
    }
    return readAt.call(this, offset, length);
  });
  return { stages: () => stage };
}

describe('checkFile and pages a writer reuses as freelist pages during a pass', () => {
  it('a leaf of the commit checked, now a freelist page: the pass is made again, from the newer commit', async () => {
    const path = await store(30);
    const { meta, levels } = layout(path, P);
    const { bytes, page: leaf } = await laterState(path, levels[levels.length - 1], meta.txid);
    const { stages } = commitDuringPass(path, leaf, bytes);
    const report = checkFile(path);
    expect(stages()).toBe(2);
    expect(report).toMatchObject({ ok: true, problems: [], attempts: 2 });
    expect(report.txid).toBeGreaterThan(meta.txid);
  });

  it('the freelist of the commit checked, rewritten by a newer commit: the pass is made again, from the newer commit', async () => {
    const path = await store(30);
    const { meta } = layout(path, P);
    expect(meta.freelist).not.toBe(0);
    const { bytes } = await laterState(path, [meta.freelist], meta.txid);
    const { stages } = commitDuringPass(path, meta.freelist, bytes);
    const report = checkFile(path);
    expect(stages()).toBe(2);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.attempts).toBeGreaterThan(1);
    expect(report.txid).toBeGreaterThan(meta.txid);
  });

  it('a freelist page where the commit has a leaf, on a file no writer changes, is damage', async () => {
    const path = await store(30);
    const { meta, levels } = layout(path, P);
    const { bytes, page: leaf } = await laterState(path, levels[levels.length - 1], meta.txid);
    writePages(path, bytes, leaf, 1);
    expect(checkFile(path)).toMatchObject({ ok: false, attempts: 2, problems: expect.arrayContaining([{ page: leaf, message: 'expected a leaf page, found a freelist page' }]) });
  });
});
