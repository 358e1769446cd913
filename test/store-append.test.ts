// Ascending puts past the end of the tree go to an append tail (append.ts)
// and reach pages without a node per entry. These tests mix such appends,
// in the same commits, with everything that must first fold the tail back
// into its leaf (a read, a remove, an overwrite, a put that lands inside the
// tree, a value too long to sit inline), at two page sizes, and compare every
// commit with a Map; `check` must pass after each reopen.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFile, open, type Database } from '../src/index.js';
import { maxInline } from '../src/format/page.js';
import { random } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
type Bin = Database<Buffer, Buffer>;
const BIN = { keyEncoding: 'binary', valueEncoding: 'binary', sync: false } as const;
const key = (i: number) => Buffer.from(`k${String(i).padStart(9, '0')}`);

function expectSame(db: Bin, oracle: Map<string, Buffer>): void {
  const got = [...db.getRange()].map(({ key: k, value }) => `${k}=${value.toString('hex')}`);
  const want = [...oracle.keys()].sort().map((k) => `${k}=${oracle.get(k)!.toString('hex')}`);
  expect(got).toEqual(want);
  expect(db.count()).toBe(oracle.size);
}

describe('appends past the end of the tree', () => {
  for (const pageSize of [512, 4096]) {
    it(`bulk loads and everything mixed into their commits agree with a Map (${pageSize}-byte pages)`, async () => {
      const path = join(tmp.dir, `append-${pageSize}.db`);
      let db: Bin = open(path, { ...BIN, pageSize });
      const rnd = random(pageSize + 3);
      const oracle = new Map<string, Buffer>();
      const value = (n: number) => Buffer.alloc(n, rnd(256));
      const inline = maxInline(pageSize);
      let next = 0;

      for (let round = 0; round < 24; round++) {
        // A sorted run past the end: small (under a page) or large (many pages).
        const run = rnd(3) === 0 ? 1 + rnd(5) : 200 + rnd(3000);
        const ops: { type: 'put' | 'del'; key: Buffer; value?: Buffer }[] = [];
        for (let i = 0; i < run; i++) {
          next += 1 + rnd(3);
          // Now and then a value too long to sit inline, in the middle of the run.
          const v = value(rnd(40) === 0 ? inline + 1 + rnd(2 * pageSize) : rnd(inline + 1));
          ops.push({ type: 'put', key: key(next), value: v });
        }
        // Mixed into the same batch, after the appends: an overwrite of an
        // appended key, a put inside the tree, a removal.
        const mix = rnd(4);
        if (mix === 0) ops.push({ type: 'put', key: key(next - rnd(Math.min(next, run))), value: value(3) });
        if (mix === 1 && next > 10) ops.push({ type: 'put', key: Buffer.concat([key(rnd(next)), Buffer.from('x')]), value: value(5) });
        if (mix === 2) ops.push({ type: 'del', key: key(next) });
        const done: Promise<unknown>[] = [db.batch(ops as never)];
        for (const op of ops) {
          if (op.type === 'put') oracle.set(op.key.toString(), op.value!);
          else oracle.delete(op.key.toString());
        }
        // In the same commit: a transaction that reads an appended key and appends one more.
        if (rnd(3) === 0) {
          const seen = key(next);
          const expected = oracle.get(seen.toString())?.toString('hex');
          next += 1;
          const k = key(next);
          const v = value(7);
          done.push(
            db.transaction((tx) => {
              expect(tx.get(seen)?.toString('hex')).toBe(expected);
              tx.put(k, v);
            }),
          );
          oracle.set(k.toString(), v);
        }
        await Promise.all(done);
        expectSame(db, oracle);
        if (round % 6 === 5) {
          await db.close();
          expect(checkFile(path).problems).toEqual([]);
          db = open(path, { ...BIN });
          expectSame(db, oracle);
        }
      }
      expect(db.stats().height).toBeGreaterThan(2);
      await db.close();
      expect(checkFile(path).problems).toEqual([]);
    });
  }

  it('batches queued in one turn append to one tail, run after run, in one commit', async () => {
    const path = join(tmp.dir, 'append-runs.db');
    const db: Bin = open(path, { ...BIN, pageSize: 1024 });
    const oracle = new Map<string, Buffer>();
    let next = 0;
    const batch = (n: number) => {
      const ops = Array.from({ length: n }, () => {
        next += 1;
        return { type: 'put' as const, key: key(next), value: Buffer.from(`v${next}`.repeat(1 + (next % 7))) };
      });
      for (const op of ops) oracle.set(op.key.toString(), op.value);
      return db.batch(ops);
    };
    await batch(50);
    const txid = db.stats().txid;
    // Runs of several sizes, one of them a single put, then one put on its own.
    const done = [batch(700), batch(1), batch(2500), batch(30)];
    next += 1;
    oracle.set(key(next).toString(), Buffer.from('single'));
    done.push(db.put(key(next), Buffer.from('single')));
    await Promise.all(done);
    expect(db.stats().txid).toBe(txid + 1);
    expectSame(db, oracle);
    await db.close();
    expect(checkFile(path).problems).toEqual([]);
  });

  it('an append into an empty tree, and after the last leaf was emptied in the same commit', async () => {
    const path = join(tmp.dir, 'append-empty.db');
    const db: Bin = open(path, { ...BIN, pageSize: 512 });
    await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.from(`v${i}`) })));
    expect(db.count()).toBe(2000);
    // Remove the last 40 keys (the rightmost leaf and more), then append past them, in one commit.
    const ops = [
      ...Array.from({ length: 40 }, (_, i) => ({ type: 'del' as const, key: key(1960 + i) })),
      ...Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: key(5000 + i), value: Buffer.from(`w${i}`) })),
    ];
    await db.batch(ops);
    expect(db.count()).toBe(2460);
    expect(db.getSync(key(1959))?.toString()).toBe('v1959');
    expect(db.getSync(key(1960))).toBeUndefined();
    expect(db.getSync(key(5499))?.toString()).toBe('w499');
    const keys = [...db.getRange()].map(({ key: k }) => k.toString());
    expect(keys).toEqual([...keys].sort());
    await db.close();
    expect(checkFile(path).problems).toEqual([]);
  });
});
