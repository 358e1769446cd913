// The background fold of a full log (src/store/fold.ts, writer.ts): writes
// go on to the log while it folds, readers see every commit whole, the
// fold commits on top of the writes made meanwhile, and every state reopens
// and checks clean; synchronous writes, a second fold and a checkpoint of
// the whole log meet it without losing anything.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../src/index.js';
import { IDLE_FOLD_MS, LOG_COMMIT_KEYS } from '../src/store/writer.js';
import { foldOf, landFold, random, seedsFrom } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';
import { BINARY, key, put, val, type Bin } from './log-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);

/** The model test's seeds: 77, or XRPKV_FOLD_SEEDS=1-40 for a longer search by hand. */
const FOLD_SEEDS = seedsFrom('XRPKV_FOLD_SEEDS', '77');

describe('the background fold', () => {
  it('lets writes commit while it folds a full log, and commits on top of them', async () => {
    const path = newPath();
    const db: Bin = open(path, { ...BINARY, logLimit: 20_000 });
    for (let k = 0; k < 20_000; k += LOG_COMMIT_KEYS - 96) await put(db, k, Math.min(20_000, k + LOG_COMMIT_KEYS - 96), 'a');
    expect(db.stats()).toMatchObject({ height: 0, logKeys: 20_000 });
    // The log is full: this commit starts a fold of its 20,000 keys and is logged beside it.
    await put(db, 20_000, 20_100, 'b');
    const folding = foldOf(db);
    expect(folding).toBeDefined();
    // Readers on every turn meanwhile: the old keys, and a count that never goes back.
    let lastCount = 0;
    let torn = 0;
    let stop = false;
    const tick = () => {
      if (stop) return;
      const count = db.count();
      if (count < lastCount || db.getSync(key(12_345))?.toString() !== 'a-12345') torn++;
      lastCount = count;
      setImmediate(tick);
    };
    setImmediate(tick);
    // Writes one after another until it has folded: each commits without waiting for it.
    let during = 0;
    while (foldOf(db) === folding && !folding!.isFolded) {
      await db.put(key(30_000 + during), val('d', during));
      during++;
    }
    expect(during).toBeGreaterThan(0);
    // The write that found it folded landed it; else the next one does.
    if (foldOf(db) === folding) await landFold(db);
    stop = true;
    expect(torn).toBe(0);
    const s = db.stats();
    expect(s.height).toBeGreaterThan(0);
    // The tree holds the 20,000 it folded; the log what came after.
    expect(s).toMatchObject({ logKeys: 100 + during, entries: 20_100 + during });
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
    const again: Bin = open(path, BINARY);
    expect(again.stats()).toMatchObject({ logKeys: 100 + during, entries: 20_100 + during });
    expect(again.getSync(key(19_999))).toEqual(val('a', 19_999));
    expect(again.getSync(key(20_050))).toEqual(val('b', 20_050));
    expect(again.getSync(key(30_000 + during - 1))).toEqual(val('d', during - 1));
    expect(again.check()).toMatchObject({ ok: true, problems: [] });
    await again.close();
  });

  it('is abandoned by a commit that rewrites the tree, which folds the whole log', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 20_000 });
    for (let k = 0; k < 20_000; k += 4000) await put(db, k, k + 4000, 'a');
    await put(db, 20_000, 20_010, 'b');
    const folding = foldOf(db);
    expect(folding?.isFolded).toBe(false);
    // Too many keys for the log: a checkpoint of all of it and these.
    await put(db, 40_000, 40_001 + LOG_COMMIT_KEYS, 'c');
    expect(foldOf(db)).toBeUndefined();
    expect(db.stats()).toMatchObject({ logKeys: 0, entries: 20_011 + LOG_COMMIT_KEYS });
    await folding!.folded;
    await db.put(key(1), val('e', 1)); // nothing of the abandoned fold lands
    expect(db.stats()).toMatchObject({ logKeys: 1, entries: 20_011 + LOG_COMMIT_KEYS });
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
  });

  it('drops a folded log that no write comes to land, and folds it again when next found full', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 100 });
    await put(db, 0, 90, 'a');
    await put(db, 90, 120, 'a'); // full: a fold of 90 keys begins
    const first = foldOf(db);
    await first!.folded;
    expect(first!.isFolded).toBe(true);
    // No write for longer than a fold waits: its transaction's memory goes.
    await new Promise((resolve) => setTimeout(resolve, IDLE_FOLD_MS + 300));
    expect(foldOf(db)).toBeUndefined();
    expect(db.stats()).toMatchObject({ height: 0, logKeys: 120 });
    await put(db, 120, 121, 'b'); // full again: a new fold, of all 120
    expect(foldOf(db)).toBeDefined();
    expect(foldOf(db)).not.toBe(first);
    await landFold(db);
    expect(db.stats()).toMatchObject({ logKeys: 1, entries: 121 });
    expect(db.stats().height).toBeGreaterThan(0);
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
  });

  it('keeps the pages it frees while folding for snapshots of the log commits made meanwhile', async () => {
    // The rule in fold.ts: what the fold frees before its rebase (here, the
    // leaves its inserts split) is released under the txid it commits as,
    // not F + 1. A snapshot of a log commit after F still reads F's tree,
    // so those pages must outlive it.
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 20_000 });
    const entry = (i: number, tag: string) => ({ type: 'put' as const, key: key(i), value: val(tag, i) });
    const inTree = (i: number) => i % 20 === 0;
    await db.batch(Array.from({ length: 20_000 }, (_, i) => entry(20 * i, 't'))); // too many for the log: a tree
    expect(db.stats()).toMatchObject({ logKeys: 0, entries: 20_000 });
    // The log: 19 keys between each two of the tree's, so that the fold's puts split its leaves.
    const logged = Array.from({ length: 21_100 }, (_, i) => i).filter((i) => !inTree(i)).slice(0, 20_000);
    for (let k = 0; k < 20_000; k += 4000) await db.batch(logged.slice(k, k + 4000).map((i) => entry(i, 'u')));
    await db.put(key(1), val('u', 1)); // the log is full: a fold of its 20,000 keys begins (F)
    const folding = foldOf(db);
    expect(folding?.isFolded).toBe(false);
    await db.put(key(0), val('w', 0)); // a log commit after F
    expect(foldOf(db)).toBe(folding);
    // A snapshot of that commit: all but its first entry read later, the tree's keys from F's tree.
    const numbers = [...Array.from({ length: 20_000 }, (_, i) => 20 * i), ...logged].sort((a, b) => a - b);
    const want = numbers.map((i) => `${key(i)}=${val(i === 0 ? 'w' : inTree(i) ? 't' : 'u', i)}`);
    const iterator = db.getRange()[Symbol.iterator]();
    expect(iterator.next().value?.value).toEqual(val('w', 0));
    await landFold(db);
    // A commit that rewrites the tree takes every page the freelist allows.
    await db.batch(Array.from({ length: 2 * LOG_COMMIT_KEYS }, (_, i) => entry(500_000 + i, 'x')));
    expect(db.stats()).toMatchObject({ logKeys: 0 });
    const rest = [...{ [Symbol.iterator]: () => iterator }].map((e) => `${e.key}=${e.value}`);
    expect(rest).toEqual(want.slice(1));
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
  });

  it.each(FOLD_SEEDS)('holds up against a Map through random writes, synchronous ones, snapshots and reopens, over many folds (seed %i)', async (seed) => {
    const path = newPath();
    const options = { ...BINARY, logLimit: 300 };
    let db: Bin = open(path, options);
    const rnd = random(seed);
    const oracle = new Map<string, string>();
    const folds = new Set<number>();
    const compare = () => {
      const got = [...db.getRange()].map((e) => `${e.key}=${e.value}`);
      const want = [...oracle.keys()].sort().map((k) => `${k}=${oracle.get(k)}`);
      expect(got).toEqual(want);
      expect(db.count()).toBe(oracle.size);
    };
    for (let round = 0; round < 400; round++) {
      // Now and then a range opened before this round's writes.
      const snapshot = rnd(10) === 0 ? new Map(oracle) : undefined;
      const held = snapshot && db.getRange()[Symbol.iterator]();
      held?.next();
      // A few writes in one turn (one commit), now and then a synchronous one.
      const pending: Promise<unknown>[] = [];
      for (let i = 1 + rnd(30); i > 0; i--) {
        const k = key(rnd(2000));
        if (rnd(4) === 0) {
          oracle.delete(k.toString());
          pending.push(db.remove(k));
        } else {
          const v = val(`r${round}`, rnd(1000));
          oracle.set(k.toString(), v.toString());
          pending.push(db.put(k, v));
        }
      }
      await Promise.all(pending);
      const f = foldOf(db);
      if (f) folds.add(f.txid);
      if (rnd(8) === 0) {
        const k = key(rnd(2000));
        const v = val('sync', round);
        db.putSync(k, v);
        oracle.set(k.toString(), v.toString());
      }
      if (held) {
        // It goes on reading what it saw, across commits and folds.
        const rest = [...{ [Symbol.iterator]: () => held }].length;
        expect(rest).toBe(Math.max(0, snapshot!.size - 1));
      }
      if (round % 50 === 49) compare();
      if (round % 130 === 129) {
        await db.close();
        db = open(path, options);
        expect(db.check()).toMatchObject({ ok: true, problems: [] });
        compare();
      }
    }
    compare();
    expect(folds.size).toBeGreaterThanOrEqual(5);
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
  });
});
