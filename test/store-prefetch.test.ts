// Reading the file ahead at open (prefetch.ts): when it is chosen, that the
// store's cache fills from the file in the background with direct reads
// (cache-warmer.ts) and the kernel's page cache with buffered ones, and
// that warming never caches a page from a read that a write raced.
import { afterAll, describe, expect, it } from 'vitest';
import { closeSync, openSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { open } from '../src/index.js';
import { native } from '../src/native.js';
import { prefetchChoice } from '../src/store/prefetch.js';
import { warmRanges } from '../src/store/cache-warmer.js';
import { Pager } from '../src/store/pager.js';
import { PageType, seal, HEADER_FIELDS } from '../src/format/page.js';
import { random } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const BIN = { keyEncoding: 'binary', valueEncoding: 'binary' } as const;
const limit = (bytes: number) => () => ({ bytes, source: 'a test' });

describe('prefetchChoice', () => {
  it('buffered: the kernel reads ahead a file of at most half the memory beside the cache', () => {
    const o = { treeBytes: 50 * MiB, direct: false, cacheSize: 1 * GiB };
    expect(prefetchChoice('auto', { ...o, fileBytes: 100 * MiB }, limit(4 * GiB)).how).toBe('kernel');
    const big = prefetchChoice('auto', { ...o, fileBytes: 2 * GiB }, limit(4 * GiB));
    expect(big.how).toBe('none');
    expect(big.reason).toMatch(/larger than half the memory/);
    expect(prefetchChoice('auto', { ...o, fileBytes: 64 * 1024 }, limit(4 * GiB)).how).toBe('none');
    expect(prefetchChoice(true, { ...o, fileBytes: 2 * GiB }, limit(4 * GiB)).how).toBe('kernel');
    expect(prefetchChoice(false, { ...o, fileBytes: 100 * MiB }, limit(4 * GiB)).how).toBe('none');
  });

  it("direct: the store's cache is warmed with a tree of at most three quarters of it", () => {
    const o = { fileBytes: 300 * MiB, direct: true, cacheSize: 256 * MiB };
    expect(prefetchChoice('auto', { ...o, treeBytes: 150 * MiB }).how).toBe('cache');
    expect(prefetchChoice('auto', { ...o, treeBytes: 250 * MiB }).how).toBe('none');
    expect(prefetchChoice(true, { ...o, treeBytes: 250 * MiB }).how).toBe('cache');
    expect(prefetchChoice(false, { ...o, treeBytes: 10 * MiB }).how).toBe('none');
  });

  it('open refuses a bad prefetch and takes lmdb-js\'s noReadAhead', () => {
    const path = join(tmp.dir, 'options.db');
    expect(() => open(path, { prefetch: 'yes' as never })).toThrow(RangeError);
    expect(() => open(path, { noReadAhead: true, prefetch: true })).toThrow(/contradict/);
    const db = open(path, { noReadAhead: true });
    expect(db.stats().prefetch).toBe('no: prefetch: false was asked for');
    return db.close();
  });
});

describe('warmRanges', () => {
  it('reads runs of wanted pages, through short gaps, in requests of at most max pages', () => {
    const wanted = new Set([2, 3, 4, 10, 40, 41, 42, 43, 44, 45, 46]);
    expect(warmRanges(0, 50, (n) => wanted.has(n), 5)).toEqual([[2, 3], [10, 1], [40, 5], [45, 2]]);
    expect(warmRanges(0, 50, () => false, 5)).toEqual([]);
  });
});

/** A store of `n` keys with values of `size` bytes, closed. */
async function filled(path: string, n: number, size: number, direct: boolean): Promise<Map<string, Buffer>> {
  const rnd = random(n);
  const oracle = new Map<string, Buffer>();
  const db = open<Buffer, Buffer>(path, { ...BIN, direct, prefetch: false });
  for (let c = 0; c < n; c += 5000) {
    const ops = Array.from({ length: Math.min(5000, n - c) }, (_, i) => {
      const key = Buffer.from(`key-${String(c + i).padStart(8, '0')}`);
      const value = Buffer.alloc(size, rnd(256));
      oracle.set(key.toString(), value);
      return { type: 'put' as const, key, value };
    });
    await db.batch(ops);
  }
  await db.close();
  return oracle;
}

describe('warming the cache (direct)', () => {
  it('fills the cache from the file while reads and commits go on, and every value stays right', async () => {
    const path = join(tmp.dir, 'warm.db');
    const oracle = await filled(path, 40_000, 60, true);
    const probe = open(join(tmp.dir, 'probe.db'), { direct: 'auto' });
    const { direct, access } = probe.stats();
    await probe.close();
    if (!direct) {
      console.log(`skipped: ${tmp.dir} has no O_DIRECT (${access})`);
      return;
    }
    // No stats() until the end: it reads every page of the tree.
    const db = open<Buffer, Buffer>(path, { ...BIN, direct: true, prefetch: true });
    // Before any turn of the event loop (no warm read has landed), one lookup's miss caches its whole window.
    const first = [...oracle.keys()][12_345]!;
    const before = db.cacheUse.pages;
    expect(db.getSync(Buffer.from(first))?.toString('hex')).toBe(oracle.get(first)!.toString('hex'));
    expect(db.cacheUse.pages - before).toBeGreaterThanOrEqual(32);
    // Commits while the warmer reads: each rewrites pages the warmer may be reading.
    const rnd = random(7);
    const keys = [...oracle.keys()];
    for (let round = 0; round < 20; round++) {
      const ops = Array.from({ length: 200 }, () => {
        const key = keys[rnd(keys.length)]!;
        const value = Buffer.alloc(60, rnd(256));
        oracle.set(key, value);
        return { type: 'put' as const, key: Buffer.from(key), value };
      });
      await db.batch(ops);
      for (let i = 0; i < 50; i++) {
        const key = keys[rnd(keys.length)]!;
        expect(db.getSync(Buffer.from(key))?.toString('hex')).toBe(oracle.get(key)!.toString('hex'));
      }
    }
    // Let the warmer finish: the cache then holds most of the tree.
    for (let last = -1; db.cacheUse.pages !== last; ) {
      last = db.cacheUse.pages;
      await new Promise((r) => setTimeout(r, 100));
    }
    const warmed = db.cacheUse.pages;
    const { leafPages, branchPages, prefetch } = db.stats();
    expect(prefetch).toMatch(/^into the store's cache/);
    expect(warmed).toBeGreaterThanOrEqual(0.9 * (leafPages + branchPages));
    for (const [key, value] of oracle) expect(db.getSync(Buffer.from(key))?.toString('hex')).toBe(value.toString('hex'));
    await db.close();
  });

  it('never caches a page from a read that a write raced', async () => {
    const path = join(tmp.dir, 'race.db');
    await filled(path, 20_000, 60, true);
    const pager = new Pager(path, { direct: true, sync: false });
    if (pager.directBlock === 0) {
      console.log(`skipped: ${tmp.dir} has no O_DIRECT (${pager.access})`);
      pager.close();
      return;
    }
    pager.pageSize = 4096;
    // Page 5 rewritten (as a reused free page would be) while the read of pages 2..41 is in flight.
    const page = Buffer.alloc(4096);
    page.writeUInt8(PageType.Leaf, HEADER_FIELDS.type);
    page.writeBigUInt64LE(5n, HEADER_FIELDS.pageNo);
    const warming = pager.warm(2, 40, () => false);
    pager.writeSync(5, seal(page));
    const cached = await warming;
    expect(cached).toBeGreaterThan(0);
    expect(pager.cache.page(5)).toBeUndefined();
    expect(pager.cache.page(6)).toBeDefined();
    // A clear (another handle's checkpoint) while a read is in flight: nothing from that read.
    const again = pager.warm(50, 40, () => false);
    pager.cache.clear();
    expect(await again).toBe(0);
    expect(pager.cache.pages).toBe(0);
    pager.close();
  });
});

describe('reading ahead into the kernel (buffered)', () => {
  it("brings the file into the kernel's page cache after open", async () => {
    const fincore = spawnSync('fincore', ['--version']);
    if (fincore.error) {
      console.log('skipped: util-linux fincore is not installed (it reports what the page cache holds)');
      return;
    }
    const path = join(tmp.dir, 'kernel.db');
    await filled(path, 30_000, 100, false);
    const fd = openSync(path, 'r');
    native.storeDropCache(fd, 0, 0);
    closeSync(fd);
    const cachedBytes = () => Number(spawnSync('fincore', ['--bytes', '--noheadings', '--output', 'RES', path], { encoding: 'utf8' }).stdout.trim());
    const before = cachedBytes();
    const db = open(path, { ...BIN, direct: false, prefetch: true });
    expect(db.stats().prefetch).toMatch(/^into the kernel's page cache/);
    const size = db.stats().fileBytes;
    let now = cachedBytes();
    for (let i = 0; i < 50 && now < size; i++) {
      await new Promise((r) => setTimeout(r, 100));
      now = cachedBytes();
    }
    expect(before).toBeLessThan(size / 2);
    expect(now).toBeGreaterThanOrEqual(size);
    await db.close();
  });
});
