// The store against a Map: 100,000 random operations (puts, removes,
// batches, transactions, ranges, reopens) per page size, with binary keys of
// every length up to the limit and values from empty to several overflow
// pages. Every few thousand operations the whole content is compared and the
// file checked. Small commits go to the log, others checkpoint it.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../src/index.js';
import { maxInline, maxKeyLen } from '../src/format/page.js';
import { tempDir } from './xrp-fixtures.js';
import { random, randomKeys, randomOps, seedsFrom } from './store-fixtures.js';

/** XRPKV_MODEL_SEEDS=N-M runs those seeds for each page size (default: the page size as the seed). */
const seedsFor = (pageSize: number) => seedsFrom('XRPKV_MODEL_SEEDS', String(pageSize));

const tmp = tempDir();
afterAll(() => tmp.remove());


const hex = (b: Buffer) => b.toString('hex');

async function model(pageSize: number, seed: number, total: number, logLimit?: number): Promise<void> {
  const rnd = random(seed);
  const path = join(tmp.dir, `model-${pageSize}-${seed}.db`);
  const options = { pageSize, sync: false, keyEncoding: 'binary', valueEncoding: 'binary', logLimit } as const;
  let db: Database<Buffer, Buffer> = open(path, options);
  const oracle = new Map<string, Buffer>();
  const keys = randomKeys(rnd, 3000, maxKeyLen(pageSize));
  const inline = maxInline(pageSize);
  const value = () => {
    const r = rnd(100);
    const len = r < 5 ? 0 : r < 85 ? rnd(inline) : r < 97 ? inline + rnd(2 * pageSize) : rnd(4 * pageSize);
    return Buffer.alloc(len, rnd(256));
  };
  const sorted = () => [...oracle.keys()].sort();
  const compareAll = () => {
    const got = [...db.getRange()].map((e) => `${hex(e.key)}=${hex(e.value)}`).join(',');
    expect(got === sorted().map((k) => `${k}=${hex(oracle.get(k)!)}`).join(',')).toBe(true);
    expect(db.count()).toBe(oracle.size);
  };

  for (let done = 0; done < total; ) {
    const pending: Promise<unknown>[] = [];
    const n = 1 + rnd(24);
    for (let i = 0; i < n; i++, done++) {
      const r = rnd(100);
      const key = keys[rnd(keys.length)];
      if (r < 50) {
        const v = value();
        oracle.set(hex(key), v);
        pending.push(db.put(key, v));
      } else if (r < 75) {
        const existed = oracle.delete(hex(key));
        pending.push(db.remove(key).then((was) => expect(was).toBe(existed)));
      } else if (r < 90) {
        const ops = randomOps(rnd, 1 + rnd(40), keys, value, oracle, 3);
        done += ops.length - 1;
        pending.push(db.batch(ops));
      } else if (r < 95) {
        // Moves a value from one key to another, or throws and changes nothing.
        const [from, to] = [keys[rnd(keys.length)], keys[rnd(keys.length)]];
        const fail = rnd(4) === 0;
        const moved = oracle.get(hex(from));
        if (!fail && moved && hex(from) !== hex(to)) {
          oracle.delete(hex(from));
          oracle.set(hex(to), moved);
        }
        const t = db.transaction((tx) => {
          const v = tx.get(from);
          const move = v !== undefined && hex(from) !== hex(to);
          if (move) {
            tx.remove(from);
            tx.put(to, v);
          }
          if (fail) throw new Error('rolled back');
          return move;
        });
        pending.push(fail ? expect(t).rejects.toThrow('rolled back') : t.then((ok) => expect(ok).toBe(moved !== undefined && hex(from) !== hex(to))));
      } else if (r < 99) {
        // A range of the last commit: flush the queue first so the oracle matches it.
        await Promise.all(pending.splice(0));
        const [a, b] = [keys[rnd(keys.length)], keys[rnd(keys.length)]].sort(Buffer.compare);
        const reverse = rnd(2) === 0;
        const limit = rnd(50);
        const got = [...db.getRange(reverse ? { start: b, end: a, reverse, limit } : { start: a, end: b, limit })].map((e) => hex(e.key));
        let want = sorted().filter((k) => k >= hex(a) && k < hex(b));
        if (reverse) want = sorted().filter((k) => k > hex(a) && k <= hex(b)).reverse();
        expect(got).toEqual(want.slice(0, limit));
      } else {
        await Promise.all(pending.splice(0));
        await db.close();
        db = open(path, options);
        expect(db.check()).toMatchObject({ ok: true, problems: [] });
      }
    }
    await Promise.all(pending);
    const probe = keys[rnd(keys.length)];
    expect(db.getSync(probe)).toEqual(oracle.get(hex(probe)));
    if (done % 10_000 < n) compareAll();
  }
  compareAll();
  expect(db.check()).toMatchObject({ ok: true, problems: [] });
  await db.close();
}

// A commit with an overflow value checkpoints the log into the tree; with
// 512-byte pages a small log limit makes checkpoints of full logs common too.
// Each run takes about 15 s on a quiet 2-core machine; the timeout leaves
// room for a loaded one (it took 60 s with ten runnable tasks per core).
describe('the store against a Map', { timeout: 240_000 }, () => {
  for (const [pageSize, logLimit] of [
    [512, 200],
    [4096, undefined],
  ]) {
    for (const seed of seedsFor(pageSize!)) {
      it(`100,000 random operations with ${pageSize}-byte pages, log limit ${logLimit ?? 'default'}, seed ${seed}`, async () => {
        const started = Date.now();
        await model(pageSize!, seed, 100_000, logLimit);
        console.log(`${pageSize}-byte pages, seed ${seed}: ${Date.now() - started} ms`);
      });
    }
  }
});
