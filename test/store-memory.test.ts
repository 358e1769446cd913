// The store's memory: the limit it reads from the cgroup (memory.ts), the one
// cache that holds what it keeps of its file (page-cache.ts), and that a
// database never holds more than its `cacheSize` whatever it reads.
import { afterAll, describe, expect, it } from 'vitest';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { open } from '../src/index.js';
import { PageCache, VIEW_ENTRY_BYTES } from '../src/store/page-cache.js';
import { defaultCacheSize, defaultDirect, memoryLimit, type ReadText } from '../src/store/memory.js';
import type { PageView } from '../src/store/snapshot.js';
import { tempDir } from './xrp-fixtures.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const V1_NO_LIMIT = '9223372036854771712';

/** A file system of cgroup files: `read` answers what `files` holds. */
const files =
  (f: Record<string, string>): ReadText =>
  (path) =>
    f[path];

describe('memoryLimit', () => {
  it('takes a v1 memory cgroup limit, the tightest up the hierarchy', () => {
    const read = files({
      '/proc/self/cgroup': '9:name=systemd:/\n4:memory:/app/worker\n1:cpu:/\n0::/',
      '/sys/fs/cgroup/memory/app/worker/memory.limit_in_bytes': String(2 * GiB),
      '/sys/fs/cgroup/memory/app/memory.limit_in_bytes': String(GiB),
      '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_NO_LIMIT,
    });
    expect(memoryLimit(read, 24 * GiB)).toEqual({ bytes: GiB, source: '/sys/fs/cgroup/memory/app/memory.limit_in_bytes' });
  });

  it("takes v2's memory.max, ignoring `max`", () => {
    const read = files({
      '/proc/self/cgroup': '0::/system.slice/xrpkv.service',
      '/sys/fs/cgroup/system.slice/xrpkv.service/memory.max': String(256 * MiB),
      '/sys/fs/cgroup/system.slice/memory.max': 'max\n',
    });
    expect(memoryLimit(read, 24 * GiB)).toEqual({ bytes: 256 * MiB, source: '/sys/fs/cgroup/system.slice/xrpkv.service/memory.max' });
  });

  it("reads the mount's root in a cgroup namespace, where the process's own path is not there", () => {
    const read = files({
      '/proc/self/cgroup': '0::/../../outside',
      '/sys/fs/cgroup/memory.max': String(512 * MiB),
    });
    expect(memoryLimit(read, 24 * GiB).bytes).toBe(512 * MiB);
  });

  it("falls back to the machine's memory without a limit, or with one above it", () => {
    const none = files({ '/proc/self/cgroup': '4:memory:/\n', '/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_NO_LIMIT });
    expect(memoryLimit(none, 8 * GiB)).toEqual({ bytes: 8 * GiB, source: "the machine's memory" });
    const above = files({ '/proc/self/cgroup': '0::/a', '/sys/fs/cgroup/a/memory.max': String(64 * GiB) });
    expect(memoryLimit(above, 8 * GiB).bytes).toBe(8 * GiB);
    expect(memoryLimit(files({}), 8 * GiB).bytes).toBe(8 * GiB);
    const garbage = files({ '/proc/self/cgroup': '0::/a', '/sys/fs/cgroup/a/memory.max': 'lots' });
    expect(memoryLimit(garbage, 8 * GiB).bytes).toBe(8 * GiB);
  });

  it('gives a quarter of the limit, or less in a small one to leave the runtime room, in whole KiB, as the default cacheSize', () => {
    expect(defaultCacheSize({ bytes: 8 * GiB, source: 'x' })).toBe(2 * GiB);
    expect(defaultCacheSize({ bytes: 256 * MiB, source: 'x' })).toBe(64 * MiB);
    // bench:memory's cgroup: half of what is left beside the runtime's 96 MiB.
    expect(defaultCacheSize({ bytes: 123 * MiB, source: 'x' })).toBe(13.5 * MiB);
    expect(defaultCacheSize({ bytes: 64 * MiB, source: 'x' })).toBe(4 * MiB);
    expect(defaultCacheSize({ bytes: 4097, source: 'x' })).toBe(0);
    expect(defaultCacheSize({ bytes: 16 * 4096, source: 'x' })).toBe(4096);
  });
});

const page = (fill: number, size = 4096) => Buffer.alloc(size, fill);
const view = (keys: number): PageView => ({ leaf: true, children: [], keys: Array.from({ length: keys }, () => Buffer.alloc(4)), values: [] }) as unknown as PageView;

describe('PageCache', () => {
  it('never holds more than its limit, and keeps what is used over what was touched once', () => {
    const cache = new PageCache(10 * 4096);
    cache.admit(1, page(1));
    for (let n = 2; n < 200; n++) {
      cache.admit(n, page(n & 0xff));
      expect(cache.page(1)?.[0]).toBe(1); // used on every round: its second chance keeps it
      expect(cache.bytes).toBeLessThanOrEqual(cache.limit);
    }
    expect(cache.pages).toBe(10);
    expect(cache.has(150)).toBe(false);
    expect(cache.has(199)).toBe(true);
  });

  it('charges views for their entries, refuses what exceeds the whole budget, and forgets a page on delete', () => {
    const cache = new PageCache(3 * 4096);
    const p = page(7);
    cache.set(5, view(10), p);
    expect(cache.bytes).toBe(4096 + 10 * VIEW_ENTRY_BYTES);
    expect(cache.views).toBe(1);
    expect(cache.get(5)?.keys).toHaveLength(10);
    cache.admit(6, page(1, 4 * 4096)); // larger than the budget: not kept
    expect(cache.has(6)).toBe(false);
    expect(cache.delete(5)).toBe(true);
    expect(cache.bytes).toBe(0);
    expect(cache.views).toBe(0);
    expect(cache.get(5)).toBeUndefined();
  });

  it('keeps a copy, not the larger buffer a page is a view of', () => {
    const cache = new PageCache(2 * 4096);
    const big = Buffer.alloc(64 * 4096, 3);
    cache.admit(1, big.subarray(4096, 8192));
    expect(cache.page(1)!.buffer.byteLength).toBe(4096);
    expect(cache.bytes).toBe(4096);
  });

  it('lets loose pages (leaves a walk read) evict one another but never a page of a held level', () => {
    const cache = new PageCache(10 * 4096);
    for (let n = 1; n <= 6; n++) cache.admit(n, page(n)); // a level, never read again
    for (let n = 100; n < 300; n++) {
      cache.admit(n, page(n & 0xff), true);
      expect(cache.bytes).toBeLessThanOrEqual(cache.limit);
    }
    for (let n = 1; n <= 6; n++) expect(cache.page(n)?.[0], `level page ${n}`).toBe(n);
    expect(cache.pages).toBe(10);
    expect(cache.has(299) && cache.has(296) && !cache.has(295)).toBe(true);
    // Levels still evict one another, and loose pages before any of them.
    for (let n = 7; n <= 12; n++) cache.admit(n, page(n));
    expect([296, 297, 298, 299].some((n) => cache.has(n))).toBe(false);
    expect(cache.pages).toBe(10);
    // Where levels fill the whole budget, a loose page is not kept at all.
    cache.admit(500, page(5), true);
    expect(cache.has(500)).toBe(false);
    expect(cache.pages).toBe(10);
  });

  it('holds a whole branch level in up to three quarters of its budget: the last level of the bench:memory tree in the default 13.5 MiB', () => {
    const cache = new PageCache(13.5 * MiB);
    // 8,000,000 keys at 4 KiB pages: a root of 12 children, 12 pages of about 148, then the leaves.
    cache.noteBranch(0, 4, 12);
    for (let i = 0; i < 12; i++) cache.noteBranch(1, 4, 148);
    expect(cache.holdsLevel(2, 4, 4096, 2)).toBe(true); // 1,776 pages, 7.3 MiB with the views above
    const small = new PageCache(9 * MiB);
    small.noteBranch(0, 4, 12);
    for (let i = 0; i < 12; i++) small.noteBranch(1, 4, 148);
    expect(small.holdsLevel(1, 4, 4096, 2)).toBe(true);
    expect(small.holdsLevel(2, 4, 4096, 2)).toBe(false); // more than 3/4 of 9 MiB
  });

  it('rejects a limit that is not a byte count', () => {
    expect(() => new PageCache(-1)).toThrow(RangeError);
    expect(() => new PageCache(1.5)).toThrow(RangeError);
  });
});

describe('a database within its cacheSize', () => {
  const tmp = tempDir();
  afterAll(tmp.remove);
  for (const direct of [false, 'auto'] as const) {
    it(`holds at most cacheSize of its file however it reads (direct: ${direct})`, async () => {
      const cacheSize = 64 * 1024;
      const db = open<string, string>(join(tmp.dir, `bounded-${direct}.db`), { pageSize: 1024, cacheSize, direct, logLimit: 0 });
      const key = (i: number) => `key-${String(i).padStart(6, '0')}`;
      for (let b = 0; b < 8; b++) await db.batch(Array.from({ length: 1000 }, (_, j) => ({ type: 'put' as const, key: key(b * 1000 + j), value: 'v'.repeat(60) + j })));
      let peak = 0;
      for (let i = 0; i < 8000; i += 7) {
        expect(db.getSync(key(i))).toBe('v'.repeat(60) + (i % 1000));
        peak = Math.max(peak, db.cacheUse.bytes);
      }
      for (const _ of db.getRange({ start: key(100), end: key(4000) })) peak = Math.max(peak, db.cacheUse.bytes);
      expect(db.cacheUse.limit).toBe(cacheSize);
      expect(peak).toBeGreaterThan(cacheSize / 2); // the reads filled it: the bound was tested
      expect(peak).toBeLessThanOrEqual(cacheSize);
      expect(db.stats()).toMatchObject({ cacheSize, cacheBytes: db.cacheUse.bytes });
      await db.close();
    });
  }

  it('reads a file larger than the memory the page cache can give it with O_DIRECT by default, and a smaller one buffered', async () => {
    const path = join(tmp.dir, 'default-direct.db');
    const db = open<string, string>(path, { pageSize: 4096 });
    await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: `k${i}`, value: 'v'.repeat(100) })));
    expect(db.stats().direct).toBe(false);
    expect(db.stats().access).toMatch(/^buffered; direct I\/O by default only for a larger file: the file \(0\.0 MiB\) fits in/);
    await db.close();
    const bytes = statSync(path).size;
    // The rule itself, with the memory given: half of what is left beside cacheSize.
    const limit = { bytes: 4 * bytes + 2 * MiB, source: 'a test' };
    expect(defaultDirect(path, 2 * MiB, limit).direct).toBe(false); // room 2 * bytes
    expect(defaultDirect(path, 2 * MiB + 3 * bytes, limit)).toMatchObject({ direct: 'auto', directWhy: expect.stringMatching(/^direct I\/O by default: the file .* is larger than half the memory left beside the store's cache .*from a test\)$/) });
    expect(defaultDirect(join(tmp.dir, 'missing.db'), 2 * MiB, limit).direct).toBe(false);
    // A cacheSize as large as the machine's memory leaves the page cache nothing: the file reopens direct.
    const big = open<string, string>(path, { cacheSize: 2 ** 45 });
    const s = big.stats();
    expect(s.access).toMatch(/; direct I\/O by default: the file .* is larger than half the memory left beside the store's cache \(0\.0 MiB/);
    // O_DIRECT where the file system allows it (tmpfs does not: then buffered, saying why).
    expect(s.direct || s.access.startsWith('buffered (')).toBe(true);
    expect(big.getSync('k1999')).toBe('v'.repeat(100));
    await big.close();
    // Asked for, it is what was asked.
    const asked = open<string, string>(path, { cacheSize: 2 ** 45, direct: false });
    expect(asked.stats()).toMatchObject({ direct: false, access: 'buffered' });
    await asked.close();
  });

  it('keeps the branch levels that fit when every read is a batched chain, so a chain reads only its leaf', async () => {
    // A root and one branch level of 12 pages (53 KiB with the root's
    // view) in 80 KiB: between half and three quarters of the budget. Chains
    // read with the native engine and leave no page in the cache: the level
    // is held only because the descent before each chain reads it there.
    const cacheSize = 80 * 1024;
    const db = open<string, string>(join(tmp.dir, 'levels.db'), { pageSize: 4096, cacheSize, cacheLevels: 1, lookup: 'xrp', direct: 'auto', logLimit: 0 });
    const key = (i: number) => `key-${String(i).padStart(6, '0')}`;
    for (let b = 0; b < 6; b++) await db.batch(Array.from({ length: 10_000 }, (_, j) => ({ type: 'put' as const, key: key(b * 10_000 + j), value: 'v'.repeat(100) })));
    const { height, branchPages } = db.stats();
    expect(height).toBe(3);
    expect(branchPages * 4096).toBeGreaterThan(cacheSize / 2);
    await db.close();
    const reader = open<string, string>(join(tmp.dir, 'levels.db'), { cacheSize, cacheLevels: 1, lookup: 'xrp', direct: 'auto' });
    for (let i = 0; i < 60_000; i += 64 * 13) {
      const keys = Array.from({ length: 64 }, (_, j) => key((i + j * 13) % 60_000));
      expect(await reader.getMany(keys)).toEqual(keys.map(() => 'v'.repeat(100)));
    }
    // Every branch page held (the root as a view, charged for its entries too), within the budget.
    expect(reader.cacheUse.bytes).toBeGreaterThanOrEqual(branchPages * 4096);
    expect(reader.cacheUse.bytes).toBeLessThanOrEqual(cacheSize);
    await reader.close();
  });

  it('refuses a cacheSize that is not a byte count', () => {
    const path = join(tmp.dir, 'bad.db');
    expect(() => open(path, { cacheSize: -5 })).toThrow(RangeError);
    expect(() => open(path, { cacheSize: '1gb' as never })).toThrow(RangeError);
  });
});
