// `lookup: 'auto'` gives what the data says, whichever path a lookup takes
// (issue 16): the same random puts, overwrites, removes and overflow values,
// with log commits and checkpoints, go into two `auto` stores, one with the
// default cache (warm: the branch levels stay in memory) and one whose cache
// holds three pages and no decoded level (cold: nearly every page misses,
// and every few rounds the kernel's page cache of its file is dropped too).
// After every commit, every key (and absent neighbours) is looked up by a
// forced walk and a forced sync chain (the two paths getSync chooses
// between), by getSync as it chooses, by gathered gets and by getMany, and
// the store is scanned both ways: each answer is checked against a Map.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { open, type Database } from '../src/index.js';
import { maxInline, maxKeyLen } from '../src/format/page.js';
import { LookupChoice } from '../src/store/lookup-choice.js';
import { random, randomKeys, randomOps, seedsFrom } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
afterEach(() => vi.restoreAllMocks());
type Bin = Database<Buffer, Buffer>;
const hex = (v: Buffer | undefined) => (v === undefined ? '-' : v.toString('hex'));

/** Drops the kernel's cached pages of `db`'s file, so that its next reads go to the disk (reaches into the handle for its pager). */
const dropKernelCache = (db: Bin) => (db as unknown as { state: { pager: { dropCache(o: number, l: number): void } } }).state.pager.dropCache(0, 0);

/** getSync of every query with the sync path forced to `path`. */
function forced(db: Bin, path: 'walk' | 'chain', queries: Buffer[]): string[] {
  const spy = vi.spyOn(LookupChoice.prototype, 'syncPath').mockReturnValue(path);
  try {
    return queries.map((k) => hex(db.getSync(k)));
  } finally {
    spy.mockRestore();
  }
}

async function differential(pageSize: number, seed: number, rounds: number): Promise<void> {
  const rnd = random(seed);
  const options = { pageSize, lookup: 'auto', keyEncoding: 'binary', valueEncoding: 'binary', sync: false, logLimit: 150 } as const;
  const stores: [string, Bin][] = [
    ['warm', open(join(tmp.dir, `warm-${pageSize}-${seed}.db`), options)],
    ['cold', open(join(tmp.dir, `cold-${pageSize}-${seed}.db`), { ...options, cacheLevels: 0, cacheSize: 3 * pageSize })],
  ];
  const maxKey = maxKeyLen(pageSize);
  const keys = randomKeys(rnd, 3000, maxKey);
  const inline = maxInline(pageSize);
  // Small rounds are inline values only: a commit with an overflow value cannot be logged.
  let overflow = true;
  const value = () => {
    const r = rnd(100);
    return Buffer.alloc(r < 5 ? 0 : r < 90 || !overflow ? rnd(inline + 1) : inline + 1 + rnd(2 * pageSize), rnd(256));
  };
  const oracle = new Map<string, Buffer>();
  let checkpoints = 0;
  for (let round = 0; round < rounds; round++) {
    // Small commits go to the log, large ones (and a full log) rewrite the tree.
    overflow = round % 4 === 0;
    const ops = randomOps(rnd, overflow ? 300 + rnd(300) : 5 + rnd(60), keys, value, oracle, 4);
    const logBefore = stores[0][1].stats().logKeys;
    await Promise.all(stores.map(([, db]) => db.batch(ops)));
    if (stores[0][1].stats().logKeys < logBefore) checkpoints++;
    if (round % 3 === 2) dropKernelCache(stores[1][1]);

    const queries = [...keys.filter((_, i) => i % 5 === round % 5), ...keys.slice(0, 40).map((k) => Buffer.concat([k, Buffer.from([rnd(256)])]).subarray(0, maxKey))];
    const want = queries.map((k) => hex(oracle.get(k.toString('hex'))));
    for (const [name, db] of stores) {
      const at = `${name} ${pageSize}, round ${round}`;
      expect(forced(db, 'walk', queries), `${at}: walk`).toEqual(want);
      expect(forced(db, 'chain', queries), `${at}: sync chain`).toEqual(want);
      expect(queries.map((k) => hex(db.getSync(k))), `${at}: getSync`).toEqual(want);
      expect((await Promise.all(queries.map((k) => db.get(k)))).map(hex), `${at}: gathered gets`).toEqual(want);
      expect((await db.getMany(queries)).map(hex), `${at}: getMany`).toEqual(want);
    }
    if (round % 4 === 3) {
      const sorted = [...oracle.keys()].sort();
      const start = keys[rnd(keys.length)];
      const from = sorted.filter((k) => k >= start.toString('hex')).slice(0, 100);
      for (const [name, db] of stores) {
        expect([...db.getRange()].map(({ key }) => hex(key)), `${name}: full scan`).toEqual(sorted);
        expect([...db.getRange({ start, limit: 100 })].map(({ key, value }) => `${hex(key)}=${hex(value)}`), `${name}: scan from a key`).toEqual(from.map((k) => `${k}=${hex(oracle.get(k))}`));
        expect([...db.getRange({ reverse: true })].map(({ key }) => hex(key)), `${name}: reverse scan`).toEqual([...sorted].reverse());
      }
    }
  }
  expect(checkpoints, 'rounds whose commit folded the log into the tree').toBeGreaterThan(0);
  const [warm, cold] = stores.map(([, db]) => db.stats());
  expect(warm.height).toBeGreaterThanOrEqual(pageSize <= 1024 ? 3 : 2);
  // The cold store read pages on every path; the warm one answered some from memory.
  expect(cold.lookups).toMatchObject({ cached: 0, batches: expect.any(Number) });
  for (const n of ['walked', 'chained', 'batched', 'batches', 'scansChained', 'scansWalked'] as const) expect(cold.lookups![n], `cold ${n}`).toBeGreaterThan(0);
  expect(warm.lookups!.cached + warm.lookups!.batched).toBeGreaterThan(0);
  await Promise.all(stores.map(([, db]) => db.close()));
}

describe("'auto': a walk and a chain agree on every key", () => {
  for (const pageSize of [512, 1024, 2048, 4096]) {
    // XRPKV_AUTO_SEEDS=N-M runs those seeds for each page size.
    for (const seed of seedsFrom('XRPKV_AUTO_SEEDS', String(pageSize * 13 + 5))) {
      it(`random puts, overwrites, removes, log commits and checkpoints with ${pageSize}-byte pages, warm and cold, seed ${seed}`, async () => {
        await differential(pageSize, seed, pageSize <= 1024 ? 16 : 20);
      }, 120_000);
    }
  }
});
