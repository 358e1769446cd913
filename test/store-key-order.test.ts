// Large commits in any key order (key-order.ts, ops.ts, tx.ts). A large
// batch goes to the tree in key order: the order must be the byte order of
// the keys, stable, and mark every operation a later one on its key
// supersedes. Applied so, a shuffled commit must leave exactly what the same
// keys in order leave, byte for byte; a damaged page still fails only the
// puts that need it, the superseded ones on its keys included; and every
// commit must leave what a Map says, check clean and reopen the same: into
// a tree that already holds keys, with several batches, puts and
// transactions interleaving in one commit, with keys repeated, after a log
// that the commit folds in, and with the root splitting part way through the
// commit (nodes split as they grow: tx.ts `settle`), so that pages the
// commit reads after the split sit a level deeper in memory than on disk.
// And the event loop turns while such a commit is prepared.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type BatchOp, type Database, type OpenOptions } from '../src/index.js';
import { keyOrder } from '../src/store/key-order.js';
import { PackedOps } from '../src/store/packed.js';
import { Pace, UNPACED } from '../src/store/pace.js';
import { KEY_ORDER_MIN } from '../src/store/ops.js';
import { damagePage, layout, random, readEachTurn, seedsFrom, shuffled } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
type Bin = Database<Buffer, Buffer>;
const BIN = { keyEncoding: 'binary', valueEncoding: 'binary', sync: false } as const;
const key = (i: number) => Buffer.from(`k${String(i).padStart(8, '0')}`);
const val = (tag: string, i: number) => Buffer.from(`${tag}:${i}:`.padEnd(40, '.'));

/** 0..n-1, shuffled by `rnd`. */
const shuffledUpTo = (n: number, rnd: (n: number) => number) => shuffled(Array.from({ length: n }, (_, i) => i), rnd);

/** The key order of `keys` as puts of one packed batch, computed all at once or in slices of a few units. */
function orderOf(keys: Buffer[], sliced: boolean) {
  const ops = new PackedOps(keys.length, 64);
  for (const k of keys) ops.put(k, Buffer.alloc(3));
  const steps = keyOrder(ops.bytes, ops.ops, ops.count, sliced ? new Pace(5, Infinity) : UNPACED);
  let yields = 0;
  for (;;) {
    const r = steps.next();
    if (r.done) return { order: r.value, yields };
    yields++;
  }
}

function expectSame(db: Bin, oracle: Map<string, Buffer>): void {
  const got = [...db.getRange()].map(({ key: k, value }) => `${k}=${value}`);
  expect(got.length).toBe(oracle.size);
  expect(got).toEqual([...oracle.keys()].sort().map((k) => `${k}=${oracle.get(k)}`));
  expect(db.count()).toBe(oracle.size);
  expect(db.check().ok).toBe(true);
}

/** Checks `db` against `oracle`, then again after a reopen; returns the reopened handle. */
async function expectSameAfterReopen(db: Bin, oracle: Map<string, Buffer>, path: string, options: OpenOptions): Promise<Bin> {
  expectSame(db, oracle);
  await db.close();
  const again: Bin = open(path, { ...BIN, ...options });
  expectSame(again, oracle);
  return again;
}

describe('the key order of a batch', () => {
  it('is byte order, stable, and marks superseded operations, for keys that share prefixes, end inside others and repeat', () => {
    const rnd = random(17);
    // Lengths 0 to 20 over a 3-letter alphabet with a common first byte or
    // two: ties past the 8 bytes a record carries, keys that are prefixes of
    // others, and repeats.
    const keys = Array.from({ length: 5000 }, () => {
      const k = Buffer.alloc(rnd(21));
      for (let j = 0; j < k.length; j++) k[j] = j < 2 ? 0x61 : 0x61 + rnd(3);
      return k;
    });
    const want = keys.map((_, i) => i).sort((a, b) => Buffer.compare(keys[a], keys[b]) || a - b);
    for (const sliced of [false, true]) {
      const { order, yields } = orderOf(keys, sliced);
      expect(order).toBeDefined();
      expect(Array.from(order!.order)).toEqual(want);
      const superseded = want.map((i, k) => (k + 1 < want.length && keys[want[k + 1]].equals(keys[i]) ? 1 : 0));
      expect(Array.from(order!.superseded)).toEqual(superseded);
      expect(superseded.filter((x) => x === 1).length).toBeGreaterThan(100);
      // In slices, it let its caller go between them.
      if (sliced) expect(yields).toBeGreaterThan(10);
    }
  });

  it('is left alone (undefined) when the keys rise already', () => {
    const keys = Array.from({ length: 3000 }, (_, i) => key(i));
    expect(orderOf(keys, false).order).toBeUndefined();
    // One key out of place, or one repeated, and it sorts.
    expect(orderOf([...keys, key(5)], false).order).toBeDefined();
    expect(orderOf([...keys, key(2999)], false).order).toBeDefined();
  });

  it('sorts binary keys of every byte value (ordered-binary numbers, arrays) as Buffer.compare does', () => {
    const rnd = random(5);
    const keys = Array.from({ length: 20_000 }, () => Buffer.from(Array.from({ length: 1 + rnd(12) }, () => rnd(256))));
    const { order } = orderOf(keys, false);
    const got = Array.from(order!.order, (i) => keys[i]);
    for (let k = 1; k < got.length; k++) expect(Buffer.compare(got[k - 1], got[k])).toBeLessThanOrEqual(0);
  });
});

describe('a shuffled commit', () => {
  it('of 100,000 keys into an empty store writes the file that the same keys in order write', async () => {
    const files: Buffer[] = [];
    for (const order of [Array.from({ length: 100_000 }, (_, i) => i), shuffledUpTo(100_000, random(3))]) {
      const path = newPath();
      const db: Bin = open(path, BIN);
      let last: Promise<void> | undefined;
      for (const i of order) last = db.put(key(i), val('v', i));
      await last;
      expect(db.count()).toBe(100_000);
      expect(db.check().ok).toBe(true);
      await db.close();
      files.push(readFileSync(path));
    }
    expect(files[1].length).toBe(files[0].length);
    expect(files[1].equals(files[0])).toBe(true);
  });
});

describe('a damaged page in a commit applied in key order', () => {
  it('fails the puts that need it, repeated ones included, and only them', async () => {
    const P = 512;
    const path = newPath();
    let db: Bin = open(path, { ...BIN, pageSize: P, logLimit: 0 });
    await db.batch(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: val('old', 2 * i) })));
    await db.close();
    // Damage a leaf in the middle of the tree: its keys are the ones in [lo, hi).
    const { levels, firstKey } = layout(path, P);
    const leaves = levels[levels.length - 1];
    const bad = leaves[leaves.length >> 1];
    const lo = firstKey(bad);
    const hi = firstKey(leaves[(leaves.length >> 1) + 1]);
    damagePage(path, bad, P);

    db = open(path, { ...BIN, pageSize: P, logLimit: 0 });
    // 4,000 puts of odd keys, shuffled, each key twice: the first value, then the second.
    const keys = shuffledUpTo(2000, random(9)).map((i) => key(2 * i + 1));
    const needsBad = (k: Buffer) => k.compare(lo) >= 0 && k.compare(hi) < 0;
    expect(keys.filter(needsBad).length).toBeGreaterThan(0);
    const turn = [...keys.map((k) => ({ k, v: val('first', 0) })), ...keys.map((k) => ({ k, v: val('second', 0) }))];
    expect(turn.length).toBeGreaterThanOrEqual(KEY_ORDER_MIN);
    const results = await Promise.all(turn.map(({ k, v }) => db.put(k, v).then(() => 'ok', (e: { name?: string; page?: number }) => `${e.name} ${e.page}`)));
    turn.forEach(({ k }, i) => expect(results[i]).toBe(needsBad(k) ? `CorruptionError ${bad}` : 'ok'));
    await db.close();
    db = open(path, { ...BIN, pageSize: P, logLimit: 0 });
    for (const k of keys) {
      if (needsBad(k)) expect(() => db.getSync(k)).toThrow(/checksum mismatch/);
      else expect(db.getSync(k)).toEqual(val('second', 0));
    }
    expect(db.count()).toBe(3000 + keys.filter((k) => !needsBad(k)).length);
    expect(db.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    await db.close();
  });
});

describe.each([
  ['512-byte pages, no log', { pageSize: 512, logLimit: 0 }],
  ['4096-byte pages, the log', { pageSize: 4096 }],
] as [string, OpenOptions][])('shuffled commits into a tree that holds keys (%s)', (_name, options) => {
  it('interleave with its keys, with each other and with transactions in one commit', async () => {
    const rnd = random(options.pageSize!);
    const path = newPath();
    let db: Bin = open(path, { ...BIN, ...options });
    const oracle = new Map<string, Buffer>();
    const put = (i: number, tag: string) => {
      oracle.set(key(i).toString(), val(tag, i));
      return db.put(key(i), val(tag, i));
    };

    // The tree: every fourth key, shuffled, in one turn.
    let last: Promise<void> | undefined;
    for (const i of shuffled(Array.from({ length: 20_000 }, (_, n) => 4 * n), rnd)) last = put(i, 'a');
    await last;
    db = await expectSameAfterReopen(db, oracle, path, options);

    // Keys between its keys, overwrites of its keys and removals of some, in one shuffled batch.
    const batch = shuffled(Array.from({ length: 30_000 }, (_, n) => n), rnd).map((n) => {
      const i = n < 20_000 ? 4 * n + 2 : 4 * (n - 20_000) * 2;
      if (n >= 25_000) {
        oracle.delete(key(i).toString());
        return { type: 'del' as const, key: key(i) };
      }
      oracle.set(key(i).toString(), val('b', i));
      return { type: 'put' as const, key: key(i), value: val('b', i) };
    });
    await db.batch(batch);
    db = await expectSameAfterReopen(db, oracle, path, options);

    // One commit: three batches whose keys interleave, a transaction that
    // reads what they wrote and writes more, and a turn of puts, all shuffled.
    const writes: Promise<unknown>[] = [];
    for (const r of [1, 3, 5]) {
      const ops = shuffled(Array.from({ length: 8000 }, (_, n) => 8 * n + r), rnd).map((i) => {
        oracle.set(key(i).toString(), val(`c${r}`, i));
        return { type: 'put' as const, key: key(i), value: val(`c${r}`, i) };
      });
      writes.push(db.batch(ops));
    }
    writes.push(
      db.transaction((tx) => {
        expect(tx.get(key(8 * 100 + 3))).toEqual(val('c3', 8 * 100 + 3));
        expect(tx.get(key(4 * 7))).toEqual(val('a', 4 * 7));
        for (let n = 0; n < 3000; n++) tx.put(key(8 * n + 7), val('t', n));
        return tx.get(key(8 * 5 + 1));
      }),
    );
    for (let n = 0; n < 3000; n++) oracle.set(key(8 * n + 7).toString(), val('t', n));
    for (const i of shuffled(Array.from({ length: 10_000 }, (_, n) => 8 * n + 7), rnd)) writes.push(put(i, 'd'));
    const results = await Promise.all(writes);
    expect(results[3]).toEqual(val('c1', 8 * 5 + 1));
    db = await expectSameAfterReopen(db, oracle, path, options);
    await db.close();
  });
});

describe.each([
  ['512-byte pages, no log', { pageSize: 512, logLimit: 0 }],
  ['4096-byte pages, the log', { pageSize: 4096 }],
] as [string, OpenOptions][])('batches past the end of the tree in one commit (%s)', (_name, options) => {
  // A batch in key order tells the tree that each put's key is above the
  // last (ops.ts `follows`), so the append tail does not compare them: a
  // batch whose first keys fall below another batch's tail, then rise past
  // it, must still land each key in its place.
  it('land each key in order, whichever batch began the tail', async () => {
    const rnd = random(options.pageSize! + 1);
    const path = newPath();
    let db: Bin = open(path, { ...BIN, ...options });
    const oracle = new Map<string, Buffer>();
    const batch = (tag: string, keys: number[]) =>
      db.batch(
        keys.map((i) => {
          oracle.set(key(i).toString(), val(tag, i));
          return { type: 'put' as const, key: key(i), value: val(tag, i) };
        }),
      );
    const span = (from: number, to: number) => Array.from({ length: (to - from) / 10 }, (_, n) => from + 10 * n);
    await Promise.all([
      // Shuffled, past the end of the empty tree: a tail.
      batch('a', shuffled(span(10_000, 20_000), rnd)),
      // Issued in key order: below that tail, then past its end.
      batch('b', [...span(5, 10_005), ...span(20_005, 30_005)]),
      // Shuffled: its lowest key below the tail b began, the rest past it.
      batch('c', shuffled([19_997, ...span(30_000, 40_000)], rnd)),
      // Issued in key order, between keys of every batch before, its last ones past them all: a tail.
      batch('d', span(3, 40_003)),
      // Shuffled, each past the last: one tail of entries from three batches.
      batch('e', shuffled(span(50_000, 60_000), rnd)),
      batch('f', shuffled(span(60_001, 70_001), rnd)),
    ]);
    expectSame(db, oracle);
    db = await expectSameAfterReopen(db, oracle, path, options);
    await db.close();
  });
});

/** Seeds of the random large batches: 5, or XRPKV_LARGE_BATCH_SEEDS=1-40 for a longer search by hand. */
const LARGE_BATCH_SEEDS = seedsFrom('XRPKV_LARGE_BATCH_SEEDS', '5');

describe.each([
  ['512-byte pages, no log', { pageSize: 512, logLimit: 0 }],
  ['4096-byte pages, the log', { pageSize: 4096 }],
] as [string, OpenOptions][])('random large batches (%s)', (_name, options) => {
  // Batches large enough to go to the tree in key order (KEY_ORDER_MIN and
  // up), sorted or shuffled, several in one commit: puts past the end of
  // the tree (the append tail), among its keys, repeated, removes, values
  // too long to sit inline. Each commit must leave what a Map says.
  for (const seed of LARGE_BATCH_SEEDS) {
    it(`agree with a Map, seed ${seed}`, async () => {
      const rnd = random(seed * 7919 + options.pageSize!);
      const path = newPath();
      let db: Bin = open(path, { ...BIN, ...options });
      const oracle = new Map<string, Buffer>();
      let top = 0;
      const value = (tag: string, i: number) => (rnd(30) === 0 ? Buffer.from(`${tag}:${i}:`.padEnd(options.pageSize! * 2, '#')) : val(tag, i));
      for (let round = 0; round < 10; round++) {
        const batches: BatchOp<Buffer, Buffer>[][] = [];
        for (let b = 1 + rnd(3); b > 0; b--) {
          const n = KEY_ORDER_MIN + rnd(1500);
          const ops: BatchOp<Buffer, Buffer>[] = [];
          for (let j = 0; j < n; j++) {
            const r = rnd(100);
            // Mostly past the highest key so far (the tail), else anywhere below it.
            const i = r < 55 ? (top += 1 + rnd(3)) : rnd(top + 1);
            ops.push(r >= 90 ? { type: 'del', key: key(i) } : { type: 'put', key: key(i), value: value(`r${round}b${b}`, i) });
          }
          // Repeats of keys just written, later in the batch.
          for (let j = rnd(20); j > 0; j--) {
            const again = ops[rnd(ops.length)];
            ops.push({ type: 'put', key: again.key, value: value(`again${round}`, j) });
          }
          batches.push(rnd(3) === 0 ? ops : shuffled(ops, rnd));
        }
        for (const ops of batches) {
          for (const op of ops) {
            if (op.type === 'put') oracle.set(op.key.toString(), op.value);
            else oracle.delete(op.key.toString());
          }
        }
        await Promise.all(batches.map((ops) => db.batch(ops)));
        if (round % 4 === 3) db = await expectSameAfterReopen(db, oracle, path, options);
        else expectSame(db, oracle);
      }
      await db.close();
    });
  }
});

describe('repeated keys in a large commit', () => {
  it('keeps the last operation on a repeated key, in puts of one turn and in a batch with removals', async () => {
    const rnd = random(11);
    // No log: commits this small would go to it, where order does not matter.
    const db: Bin = open(newPath(), { ...BIN, logLimit: 0 });
    const oracle = new Map<string, Buffer>();
    // A turn of puts: 6,000 puts of 2,000 keys, each key put three times, shuffled.
    const puts: Promise<void>[] = [];
    for (const i of shuffledUpTo(6000, rnd)) {
      const k = i % 2000;
      const v = val(`put${i}`, k);
      oracle.set(key(k).toString(), v);
      puts.push(db.put(key(k), v));
    }
    await Promise.all(puts);
    // A batch of 5,000 operations on 3,000 keys: puts and removals mixed, shuffled.
    const ops = shuffledUpTo(5000, rnd).map((i) => {
      const k = key(1000 + (i % 3000));
      if (i % 4 === 0) {
        oracle.delete(k.toString());
        return { type: 'del' as const, key: k };
      }
      const value = val(`batch${i}`, i);
      oracle.set(k.toString(), value);
      return { type: 'put' as const, key: k, value };
    });
    await db.batch(ops);
    expectSame(db, oracle);
    await db.close();
  });
});

describe('a commit whose root splits part way', () => {
  it('reads the pages it reaches after the split at their depth on disk', async () => {
    const P = 512;
    const path = newPath();
    let db: Bin = open(path, { ...BIN, pageSize: P, logLimit: 0 });
    const oracle = new Map<string, Buffer>();
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: key(i), value: val('a', i) })));
    for (let i = 0; i < 100; i++) oracle.set(key(i).toString(), val('a', i));
    await db.close();
    expect(layout(path, P).levels.length).toBe(2);
    db = open(path, { ...BIN, pageSize: P, logLimit: 0 });
    // In key order (the batch is sorted before it applies): 3,000 keys into
    // the first leaf, which splits again and again until the root does,
    // then keys for leaves further right, read only after that.
    const inFirst = Array.from({ length: 3000 }, (_, n) => Buffer.concat([key(0), Buffer.from(String(n).padStart(5, '0'))]));
    const ops = shuffled([...inFirst.map((k) => ({ k, v: val('first', 0) })), ...[50, 70, 99].map((i) => ({ k: key(i), v: val('right', i) }))], random(1)).map(
      ({ k, v }) => {
        oracle.set(k.toString(), v);
        return { type: 'put' as const, key: k, value: v };
      },
    );
    const done = db.batch(ops);
    // In the same commit, after it: a transaction that reads keys of leaves no write touched.
    const read = db.transaction((tx) => [tx.get(key(30)), tx.get(key(98)), tx.get(key(99))]);
    await done;
    expect(await read).toEqual([val('a', 30), val('a', 98), val('right', 99)]);
    expect(layout(path, P).levels.length).toBeGreaterThan(2);
    db = await expectSameAfterReopen(db, oracle, path, { pageSize: P, logLimit: 0 });
    await db.close();
  });
});

describe('a checkpoint', () => {
  it('folds the log and then a large shuffled batch whose keys fall among the logged ones', async () => {
    const rnd = random(23);
    const path = newPath();
    let db: Bin = open(path, { ...BIN, logLimit: 20_000 });
    const oracle = new Map<string, Buffer>();
    for (let c = 0; c < 4; c++) {
      const ops = Array.from({ length: 4000 }, (_, n) => 3 * (4 * n + c));
      await db.batch(shuffled(ops, rnd).map((i) => ({ type: 'put' as const, key: key(i), value: val('log', i) })));
      for (const i of ops) oracle.set(key(i).toString(), val('log', i));
    }
    expect(db.stats().logKeys).toBe(16_000);
    const big = shuffled(Array.from({ length: 40_000 }, (_, n) => n + Math.floor(n / 2)), rnd);
    await db.batch(big.map((i) => ({ type: 'put' as const, key: key(i), value: val('big', i) })));
    for (const i of big) oracle.set(key(i).toString(), val('big', i));
    expect(db.stats().logKeys).toBe(0);
    db = await expectSameAfterReopen(db, oracle, path, { logLimit: 20_000 });
    await db.close();
  });
});

describe('while a large commit is prepared', () => {
  it('the event loop turns, and reads meanwhile see the last commit', async () => {
    const rnd = random(31);
    const db: Bin = open(newPath(), { ...BIN, logLimit: 0 });
    await db.batch(Array.from({ length: 10_000 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: val('a', 2 * i) })));
    let last: Promise<void> | undefined;
    for (const i of shuffled(Array.from({ length: 60_000 }, (_, n) => 2 * n + 1), rnd)) last = db.put(key(i), val('b', i));
    // A reader on every turn, until the commit's pages go to the pager.
    const reader = readEachTurn(db, () => `${db.count()} ${db.getSync(key(2))} ${db.getSync(key(3)) === undefined}`);
    await last;
    // Work is cut into slices of at most 2,048 keys (pace.ts): 60,000 keys
    // apply in 30 or more of them, besides the sort and the pages.
    expect(reader.turns).toBeGreaterThanOrEqual(30);
    expect([...reader.seen]).toEqual([`10000 ${val('a', 2)} true`]);
    expect(db.count()).toBe(70_000);
    expect(db.getSync(key(3))).toEqual(val('b', 3));
    await db.close();
  });
});
