// stats() splits the file's bytes into live, free and log bytes, which add
// up to the pages the last commit counts, through every kind of commit.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { open, type Stats } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const split = (s: Stats) => ({ file: s.fileBytes, live: s.liveBytes, free: s.freeBytes, log: s.logBytes });

it('live, free and log bytes add up to the file, and move as commits log, checkpoint and free', async () => {
  const path = join(tmp.dir, 'stats.db');
  const db = open<number, string>(path, { pageSize: 512, logLimit: 2000 });
  const empty = split(db.stats());
  expect(empty).toEqual({ file: 2 * 512, live: 2 * 512, free: 0, log: 0 });

  // A tree commit: live pages only.
  await db.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: i, value: 'v'.repeat(40) })));
  const loaded = db.stats();
  expect(loaded.logBytes).toBe(0);
  expect(loaded.liveBytes).toBe((2 + loaded.branchPages + loaded.leafPages + loaded.freelistPages) * 512);
  expect(loaded.liveBytes + loaded.freeBytes + loaded.logBytes).toBe(loaded.fileBytes);

  // Small commits go to the log: log bytes grow, the tree's pages stay.
  for (let i = 0; i < 5; i++) await db.put(i, 'changed');
  const logged = db.stats();
  expect(logged.logBytes).toBeGreaterThan(0);
  expect(logged.logBytes).toBe(logged.logPages * 512);
  expect(logged.liveBytes + logged.freeBytes + logged.logBytes).toBe(logged.fileBytes);

  // Removing most keys in a checkpoint frees pages: free bytes appear, live bytes shrink.
  await db.batch(Array.from({ length: 4500 }, (_, i) => ({ type: 'del' as const, key: i })));
  const freed = db.stats();
  expect(freed.logBytes).toBe(0);
  expect(freed.freeBytes).toBeGreaterThan(0);
  expect(freed.liveBytes).toBeLessThan(loaded.liveBytes);
  expect(freed.liveBytes + freed.freeBytes + freed.logBytes).toBe(freed.fileBytes);
  expect(statSync(path).size).toBeGreaterThanOrEqual(freed.fileBytes);
  await db.close();
});
