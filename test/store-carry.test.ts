// A leaf damaged after the log changed keys in it: checkpoints fold every
// other key and carry those over into the log they leave (writer.ts
// `checkpoint`), so the store goes on taking writes, and the logged
// changes of the damaged leaf's keys stay readable and durable.
import { closeSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../src/index.js';
import { pickMeta } from '../src/format/meta.js';
import { decodeBranch } from '../src/format/page.js';
import { CorruptionError } from '../src/index.js';
import { foldOf, layout, random, seedsFrom } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const P = 512;
const tmp = tempDir();
afterAll(() => tmp.remove());
type Bin = Database<Buffer, Buffer>;
const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
const val = (tag: string, i: number) => Buffer.alloc(40, `${tag}${i}`);
const OPTIONS = { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 200 } as const;
/** Flips bits of the byte at `at` of the file (`mask`, at least one bit): damage, and the same call again undoes it. */
function flip(path: string, at: number, mask = 0x5a): void {
  const b = Buffer.alloc(1);
  const fd = openSync(path, 'r+');
  try {
    readSync(fd, b, 0, 1, at);
    b[0] ^= mask;
    writeSync(fd, b, 0, 1, at);
  } finally {
    closeSync(fd);
  }
}

/** Writes keys 0, 2, ... 2(n - 1), each `val(tag, k)`, in one commit into the tree of a new store at `path`, and closes it. */
async function tree(path: string, n: number, tag = 'old'): Promise<void> {
  const db: Bin = open(path, { ...OPTIONS, logLimit: 0 });
  await db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: val(tag, 2 * i) })));
  await db.close();
}

/** `rounds` commits of 100 new keys from `from`, key from + i with `val(tag, i % 100)`; `after` runs after each. */
async function putRounds(db: Bin, from: number, rounds: number, tag: string, after = () => {}): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    await db.batch(Array.from({ length: 100 }, (_, i) => ({ type: 'put' as const, key: key(from + 100 * round + i), value: val(tag, i) })));
    after();
  }
}

/** The randomized test's seeds: 1-4, or XRPKV_CARRY_SEEDS=1-100 for a longer search by hand. */
const CARRY_SEEDS = seedsFrom('XRPKV_CARRY_SEEDS', '1-4');

describe('a checkpoint that meets a damaged leaf', () => {
  it('carries the keys it cannot fold over into the log, and every other write goes on', async () => {
    const path = join(tmp.dir, 'carry.db');
    await tree(path, 600);
    let db: Bin;
    // A leaf in the middle of the tree, and three of its keys: one to overwrite, one to remove, and a new one between them.
    const { levels, firstKey } = layout(path, P);
    const file = Buffer.alloc(P);
    const fd = openSync(path, 'r+');
    const parent = levels[1].find((n) => (readSync(fd, file, 0, P, n * P), decodeBranch(file, n).children.length >= 3))!;
    readSync(fd, file, 0, P, parent * P);
    const bad = decodeBranch(file, parent).children[1]!;
    const first = Number(firstKey(bad).toString().slice(4));
    closeSync(fd);
    const [overwritten, removed, inserted] = [first, first + 2, first + 3];

    db = open(path, OPTIONS);
    await db.put(key(overwritten), val('new', overwritten));
    await db.remove(key(removed));
    await db.put(key(inserted), val('new', inserted));
    await db.close();
    flip(path, bad * P + 100);

    db = open(path, OPTIONS);
    // 2,000 new keys above the tree's, 100 a commit: the log (200 keys) fills again and again.
    await putRounds(db, 2000, 20, 'more');
    const check = (d: Bin) => {
      expect(d.stats().logKeys).toBeLessThan(300);
      expect(d.getSync(key(overwritten))).toEqual(val('new', overwritten));
      expect(d.getSync(key(removed))).toBeUndefined();
      expect(d.getSync(key(inserted))).toEqual(val('new', inserted));
      expect(() => d.getSync(key(first + 4))).toThrow(expect.objectContaining({ name: 'CorruptionError', page: bad }));
      expect(d.getSync(key(2000))).toEqual(val('more', 0));
      expect(d.getSync(key(3999))).toEqual(val('more', 99));
      expect(d.getSync(key(0))).toEqual(val('old', 0));
      // 600, one removed and one inserted in the damaged leaf, 2,000 new.
      expect(d.count()).toBe(600 + 2000);
      expect(d.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    };
    check(db);
    await db.close();
    db = open(path, OPTIONS);
    check(db);
    // Writes into the damaged leaf still fail alone; the log's own keys there can change again.
    await expect(db.put(key(first + 4), val('x', 0))).rejects.toMatchObject({ name: 'CorruptionError', page: bad });
    await db.put(key(overwritten), val('again', overwritten));
    await putRounds(db, 5000, 5, 'last');
    expect(db.getSync(key(overwritten))).toEqual(val('again', overwritten));
    expect(db.count()).toBe(600 + 2000 + 500);
    await db.close();
  });

  it('folds in the background again once a checkpoint has folded the whole log (the page read again)', async () => {
    const path = join(tmp.dir, 'carry-repaired.db');
    await tree(path, 600);
    let db: Bin;
    const { levels, firstKey } = layout(path, P);
    const bad = levels[levels.length - 1]![3]!;
    const first = Number(firstKey(bad).toString().slice(4));
    db = open(path, OPTIONS);
    await db.put(key(first), val('new', first));
    await db.close();
    flip(path, bad * P + 100);
    db = open(path, OPTIONS);
    /** 100 new keys a commit from `from`; whether a background fold ran meanwhile. */
    const fill = async (from: number, rounds: number) => {
      let folded = false;
      await putRounds(db, from, rounds, 'more', () => (folded ||= foldOf(db) !== undefined));
      return folded;
    };
    // The fold meets the damaged leaf: checkpoints are the writes' own, and carry its key.
    await fill(2000, 10);
    expect(await fill(3000, 10)).toBe(false);
    expect(db.getSync(key(first))).toEqual(val('new', first));
    // The page reads right again (rewritten as it was): the next checkpoint folds everything, and folds run in the background again.
    flip(path, bad * P + 100);
    expect(await fill(4000, 20)).toBe(true);
    expect(db.getSync(key(first))).toEqual(val('new', first));
    expect(db.count()).toBe(600 + 4000);
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('carries every logged key under a damaged branch page, and the rest of the tree takes writes', async () => {
    const path = join(tmp.dir, 'carry-branch.db');
    await tree(path, 3000);
    let db: Bin;
    const { levels, firstKey } = layout(path, P);
    expect(levels.length).toBeGreaterThanOrEqual(3);
    // The middle branch page of the level above the leaves: a few hundred keys below it.
    const branch = levels[levels.length - 2]![Math.floor(levels[levels.length - 2]!.length / 2)]!;
    const page = Buffer.alloc(P);
    const rfd = openSync(path, 'r');
    readSync(rfd, page, 0, P, branch * P);
    closeSync(rfd);
    const low = Number(firstKey(decodeBranch(page, branch).children[0]!).toString().slice(4));
    // Logged changes under it (every tenth key of its first 40: overwrites, one new key), and elsewhere.
    db = open(path, OPTIONS);
    const under = Array.from({ length: 4 }, (_, i) => low + 20 * i);
    for (const k of under) await db.put(key(k), val('new', k));
    await db.put(key(low + 1), val('new', low + 1));
    await db.close();
    flip(path, branch * P + 200);

    db = open(path, OPTIONS);
    await putRounds(db, 10_000, 20, 'more');
    for (const k of under) expect(db.getSync(key(k))).toEqual(val('new', k));
    expect(db.getSync(key(low + 1))).toEqual(val('new', low + 1));
    expect(db.getSync(key(0))).toEqual(val('old', 0));
    expect(db.getSync(key(11_999))).toEqual(val('more', 99));
    expect(db.count()).toBe(3000 + 1 + 2000);
    expect(db.check().problems).toContainEqual({ page: branch, message: 'checksum mismatch' });
    await db.close();
    // Checkpoints ran: the log holds what the last one carried and the writes since (logLimit 200), not all 2,005 keys.
    const meta = pickMeta([0, 1].map((n) => readFileSync(path).subarray(n * P, (n + 1) * P)) as [Buffer, Buffer]);
    expect(meta.logPages).toBeLessThan(60); // 2,005 records of 55 bytes, 8 a page, would take over 250
  });

  /**
   * Random puts and removes, each a write of its own, in turns of 1 to 40,
   * some as a batch, on a store with one damaged leaf, its log folded again
   * and again; a Map holds what every acknowledged write left. A write the
   * store refuses must have needed the damaged leaf (CorruptionError naming
   * it); every read answers the Map's value or, for a key of that leaf the
   * log does not hold, that error; never another value.
   */
  for (const seed of CARRY_SEEDS) {
    it(`holds up against a Map through random writes, checkpoints and reopens, seed ${seed}`, async () => {
      const r = random(seed);
      const path = join(tmp.dir, `carry-random-${seed}.db`);
      const N = 1500;
      await tree(path, N, 't');
      let db: Bin;
      const model = new Map<number, Buffer>();
      for (let i = 0; i < N; i++) model.set(2 * i, val('t', 2 * i));
      const { levels, firstKey } = layout(path, P);
      const leaves = levels[levels.length - 1]!;
      const leafIndex = 1 + r(leaves.length - 2);
      const bad = leaves[leafIndex]!;
      const lo = Number(firstKey(bad).toString().slice(4));
      const hi = Number(firstKey(leaves[leafIndex + 1]!).toString().slice(4));
      const inBad = (k: number) => k >= lo && k < hi;
      /** Keys of the damaged leaf written since the tree was built (a write that went through). */
      const logged = new Set<number>();
      // Before the damage, the log takes writes to keys of that leaf: each later checkpoint must carry them.
      db = open(path, OPTIONS);
      for (let k = lo; k < hi; k++) {
        if (r(3) !== 0) continue;
        if (r(4) === 0) {
          await db.remove(key(k));
          model.delete(k);
        } else {
          await db.put(key(k), val('early', k));
          model.set(k, val('early', k));
        }
        logged.add(k);
      }
      await db.close();
      flip(path, bad * P + 64 + r(P - 64), 1 + r(255));
      /**
       * A key of the damaged leaf reads what the log holds of it, or fails:
       * never written, it fails; written and there, its value; written and
       * removed, absent, unless the tree never held it: then a checkpoint
       * may have dropped its removal from the log (nothing to carry), and
       * the read fails as for any key the log does not hold.
       */
      const expectRead = (d: Bin, k: number) => {
        let got: Buffer | undefined;
        try {
          got = d.getSync(key(k));
        } catch (e) {
          expect(e, `key ${k}`).toBeInstanceOf(CorruptionError);
          expect(inBad(k) && (!logged.has(k) || (!model.has(k) && k % 2 === 1)), `key ${k} failed`).toBe(true);
          return;
        }
        expect(!inBad(k) || logged.has(k), `key ${k} read`).toBe(true);
        expect(got, `key ${k}`).toEqual(model.get(k));
      };
      db = open(path, OPTIONS);
      for (let turn = 0; turn < 120; turn++) {
        const n = 1 + r(40);
        // Near the damaged leaf a third of the time: those writes may need it.
        const pick = () => (r(3) === 0 ? Math.max(0, lo - 10 + r(hi - lo + 20)) : r(2 * N + 200));
        const ops = Array.from({ length: n }, () => {
          const k = pick();
          return r(4) === 0 ? { type: 'del' as const, k } : { type: 'put' as const, k, v: val(`w${turn}-`, k) };
        });
        const apply = (op: (typeof ops)[number]) => {
          if (op.type === 'put') model.set(op.k, op.v);
          else model.delete(op.k);
          if (inBad(op.k)) logged.add(op.k);
        };
        if (r(5) === 0) {
          const outcome = await db.batch(ops.map((op) => (op.type === 'put' ? { type: 'put' as const, key: key(op.k), value: op.v } : { type: 'del' as const, key: key(op.k) }))).then(
            () => undefined,
            (e: unknown) => e,
          );
          if (outcome === undefined) ops.forEach(apply);
          else {
            expect(outcome).toBeInstanceOf(CorruptionError);
            expect(ops.some((op) => inBad(op.k))).toBe(true);
          }
        } else {
          const outcomes = await Promise.all(ops.map((op) => (op.type === 'put' ? db.put(key(op.k), op.v) : db.remove(key(op.k))).then(() => undefined, (e: unknown) => e)));
          outcomes.forEach((e, i) => {
            if (e === undefined) apply(ops[i]!);
            else {
              expect(e, `op ${i} of turn ${turn}`).toBeInstanceOf(CorruptionError);
              expect(inBad(ops[i]!.k)).toBe(true);
            }
          });
        }
        if (turn % 40 === 39) {
          await db.close();
          db = open(path, OPTIONS);
        }
      }
      for (let k = 0; k < 2 * N + 200; k++) expectRead(db, k);
      expect(db.count()).toBe(model.size);
      expect(db.check().problems.map((p) => p.page)).toEqual([bad]);
      await db.close();
    });
  }
});
