// stats() splits the file's bytes into live, free and log bytes, which add
// up to the pages the last commit counts, through every kind of commit;
// without `fill` it reads no leaf, and agrees with the full count.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { open, type Database, type Stats } from '../src/index.js';
import { HEADER_FIELDS, PageType } from '../src/format/page.js';
import { Pager } from '../src/store/pager.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const split = (s: Stats) => ({ file: s.fileBytes, live: s.liveBytes, free: s.freeBytes, log: s.logBytes });

// Every count from the leaves themselves (overflow pages included), so that the sums below are not true by construction.
const full = (db: Database<number, string>) => db.stats({ fill: true });

it('live, free and log bytes add up to the file, and move as commits log, checkpoint and free', async () => {
  const path = join(tmp.dir, 'stats.db');
  const db = open<number, string>(path, { pageSize: 512, logLimit: 2000 });
  const empty = split(full(db));
  expect(empty).toEqual({ file: 2 * 512, live: 2 * 512, free: 0, log: 0 });

  // A tree commit: live pages only.
  await db.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: i, value: 'v'.repeat(40) })));
  const loaded = full(db);
  expect(loaded.logBytes).toBe(0);
  expect(loaded.liveBytes).toBe((2 + loaded.branchPages + loaded.leafPages + loaded.freelistPages) * 512);
  expect(loaded.liveBytes + loaded.freeBytes + loaded.logBytes).toBe(loaded.fileBytes);

  // Small commits go to the log: log bytes grow, the tree's pages stay.
  for (let i = 0; i < 5; i++) await db.put(i, 'changed');
  const logged = full(db);
  expect(logged.logBytes).toBeGreaterThan(0);
  expect(logged.logBytes).toBe(logged.logPages * 512);
  expect(logged.liveBytes + logged.freeBytes + logged.logBytes).toBe(logged.fileBytes);

  // Removing most keys in a checkpoint frees pages: free bytes appear, live bytes shrink.
  await db.batch(Array.from({ length: 4500 }, (_, i) => ({ type: 'del' as const, key: i })));
  const freed = full(db);
  expect(freed.logBytes).toBe(0);
  expect(freed.freeBytes).toBeGreaterThan(0);
  expect(freed.liveBytes).toBeLessThan(loaded.liveBytes);
  expect(freed.liveBytes + freed.freeBytes + freed.logBytes).toBe(freed.fileBytes);
  expect(statSync(path).size).toBeGreaterThanOrEqual(freed.fileBytes);
  await db.close();
});

it('reads no leaf without fill, and agrees with stats({ fill: true }) through overflow values, the log, checkpoints and open snapshots', async () => {
  const db = open<number, string>(join(tmp.dir, 'cheap.db'), { pageSize: 512, logLimit: 300 });
  const COUNTS = ['height', 'entries', 'pages', 'branchPages', 'leafPages', 'overflowPages', 'freelistPages', 'logPages', 'logKeys', 'freePages', 'pendingPages', 'fileBytes', 'liveBytes', 'freeBytes', 'logBytes', 'txid'] as const;
  const counts = (s: Stats) => Object.fromEntries(COUNTS.map((k) => [k, s[k]]));
  const compare = () => {
    const read = vi.spyOn(Pager.prototype, 'read');
    const cheap = db.stats();
    const types = read.mock.results.map((r) => (r.value as Buffer)[HEADER_FIELDS.type]);
    read.mockRestore();
    // Branch pages, and the one leaf where the catalog of named databases would be (named-db.ts).
    expect(types.filter((t) => t !== PageType.Branch).length).toBeLessThanOrEqual(1);
    expect(types.length).toBeLessThan(cheap.leafPages / 10);
    expect(cheap.fill).toBeUndefined();
    const all = db.stats({ fill: true });
    expect(counts(cheap)).toEqual(counts(all));
    return all;
  };
  // Every seventh value too long for a leaf: overflow pages.
  const value = (i: number, tag: string) => `${tag}${i}`.padEnd(i % 7 === 0 ? 1500 : 40, '.');
  await db.batch(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: i, value: value(i, 'a') })));
  expect(compare().overflowPages).toBeGreaterThan(0);
  for (let i = 0; i < 5; i++) await db.put(i * 11, value(i, 'log')); // logged
  expect(compare().logPages).toBeGreaterThan(0);
  const held = db.getRange()[Symbol.iterator](); // a snapshot keeps the pages the next checkpoint frees pending
  held.next();
  await db.batch(Array.from({ length: 400 }, (_, i) => ({ type: 'del' as const, key: 7 * i }))); // a checkpoint that frees overflow pages
  expect(compare().pendingPages).toBeGreaterThan(0);
  held.return?.();
  await db.put(1, 'after');
  const after = compare();
  expect(after.freePages).toBeGreaterThan(0);
  expect(db.check().ok).toBe(true);
  expect(() => db.stats({ fill: 'yes' } as never)).toThrow(TypeError);
  expect(() => db.stats({ leaves: true } as never)).toThrow(/unknown option 'leaves'/);
  await db.close();
});
