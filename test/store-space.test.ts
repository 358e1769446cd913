// The file's size under random overwrites: with the default log budget
// (src/store/log-budget.ts) a checkpoint rewrites about an eighth of the
// tree at most, so the pages its copy on write leaves free stay a small
// share of the file; an explicit `logLimit` of as many keys as the tree
// has leaves lets one checkpoint rewrite most of them, and leaves that much
// of the file free (the contrast shows what the bound buys).
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { open, type Database } from '../src/index.js';
import { TREE_SHARE } from '../src/store/log-budget.js';
import { foldOf, landFold } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

type Bin = Database<Buffer, Buffer>;
/**
 * Enough keys that an eighth of the tree's 512-byte pages is more than one
 * commit may log (4,096 keys): values of 100 bytes, four entries a leaf.
 */
const KEYS = 160_000;
const BATCH = 2_000;
const BATCHES = 40;

const key = (i: number) => {
  const k = Buffer.alloc(8);
  k.writeUInt32BE(i, 0);
  k.writeUInt32BE((i * 2654435761) >>> 0, 4);
  return k;
};
const value = (i: number, round: number) => {
  const v = Buffer.alloc(100, 0x5a);
  v.writeUInt32LE(i, 0);
  v.writeUInt32LE(round, 4);
  return v;
};

/** A sorted load of KEYS keys, then BATCHES commits of BATCH overwrites of keys spread over them (a fixed pattern). */
async function overwrite(db: Bin): Promise<void> {
  for (let i = 0; i < KEYS; i += 40_000) {
    await db.batch(Array.from({ length: 40_000 }, (_, j) => ({ type: 'put' as const, key: key(i + j), value: value(i + j, 0) })));
  }
  let x = 12345;
  for (let b = 0; b < BATCHES; b++) {
    const ops = Array.from({ length: BATCH }, () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const i = x % KEYS;
      return { type: 'put' as const, key: key(i), value: value(i, b + 1) };
    });
    await db.batch(ops);
  }
}

it('random overwrites of a large tree leave at most about an eighth of it free (default log budget)', async () => {
  const db: Bin = open(join(tmp.dir, 'budget.db'), { pageSize: 512, keyEncoding: 'binary', valueEncoding: 'binary', sync: false });
  await overwrite(db);
  const s = db.stats();
  const tree = s.leafPages + s.branchPages;
  expect(tree / TREE_SHARE).toBeGreaterThan(4096); // the share, not the floor, bounded the log
  // A checkpoint of K logged keys frees at most K leaves and their paths'
  // branches. The log holds K keys at most, twice that while a fold of it
  // runs beside new log commits (writer.ts).
  expect(s.logKeys).toBeLessThanOrEqual(2 * Math.floor((s.pages - 2 - s.freePages - s.logPages) / TREE_SHARE));
  expect(s.freeBytes + s.logBytes).toBeLessThan(s.liveBytes / 4);
  expect(db.count()).toBe(KEYS);
  await db.close();
}, 120_000);

it('an explicit logLimit is honoured as given, and a large one leaves much of the file free', async () => {
  const db: Bin = open(join(tmp.dir, 'explicit.db'), { pageSize: 512, keyEncoding: 'binary', valueEncoding: 'binary', sync: false, logLimit: 40_000 });
  await overwrite(db);
  // A fold of a full log lands with the next write: the last one may be waiting.
  if (foldOf(db)) await landFold(db);
  const s = db.stats();
  expect(s.freeBytes).toBeGreaterThan(s.liveBytes / 3);
  await db.close();
}, 120_000);
