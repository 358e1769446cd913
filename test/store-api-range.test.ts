// getRange and getKeys as lmdb-js's RangeIterable (lazy, composable map and
// filter, forEach, asArray, sync and async iteration), and count over a range.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RangeIterable, open, type OpenOptions } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const fresh = (options: OpenOptions = {}) => open<number, { n: number }>(join(tmp.dir, `${seq++}.db`), options);

/** A store of keys 0..n-1, value { n: key }, half in the tree and the rest in the log when `logged`. */
async function filled(n: number, logged: boolean) {
  const db = fresh({ pageSize: 512, logLimit: logged ? undefined : 0 });
  await db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: i, value: { n: i } })));
  return db;
}

describe.each([
  ['in the tree', false],
  ['in the log', true],
])('getRange and getKeys (%s)', (_, logged) => {
  it('is lazy: no snapshot until iterated, and each iteration sees the commits before it', async () => {
    const db = await filled(10, logged);
    const range = db.getRange({ start: 5 });
    expect(range).toBeInstanceOf(RangeIterable);
    const keys = db.getKeys({ start: 5 });
    await db.put(10, { n: 10 }); // committed after getRange returned, before it is iterated
    expect(range.map((e) => e.key).asArray).toEqual([5, 6, 7, 8, 9, 10]);
    expect(keys.asArray).toEqual([5, 6, 7, 8, 9, 10]);
    await db.remove(6);
    expect(keys.asArray).toEqual([5, 7, 8, 9, 10]); // a second iteration, a new snapshot
    await db.close();
  });

  it('map and filter compose, lazily, with indexes; forEach and asArray run them', async () => {
    const db = await filled(100, logged);
    const seen: number[] = [];
    const evens = db
      .getRange({ start: 10, end: 30 })
      .map((e, i) => {
        seen.push(i);
        return e.value.n * 10;
      })
      .filter((v) => v % 20 === 0)
      .map((v, i) => `${i}:${v}`);
    expect(seen).toEqual([]); // nothing ran yet
    expect(evens.asArray).toEqual(Array.from({ length: 10 }, (_, i) => `${i}:${(10 + 2 * i) * 10}`));
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const each: [number, number][] = [];
    db.getKeys({ start: 50, limit: 3, reverse: true }).forEach((k, i) => each.push([k, i]));
    expect(each).toEqual([
      [50, 0],
      [49, 1],
      [48, 2],
    ]);
    await db.close();
  });

  it('iterates with for await, and stopping early (break, a callback that throws) releases the snapshot', async () => {
    const db = await filled(50, logged);
    const got: number[] = [];
    for await (const { key } of db.getRange({ start: 40 })) got.push(key);
    expect(got).toEqual(Array.from({ length: 10 }, (_, i) => 40 + i));
    const keys: number[] = [];
    for await (const k of db.getKeys().filter((k) => k % 7 === 0)) {
      if (k > 30) break;
      keys.push(k);
    }
    expect(keys).toEqual([0, 7, 14, 21, 28]);
    expect(() =>
      db.getRange().map(() => {
        throw new Error('stop');
      }).asArray,
    ).toThrow('stop');
    // Every snapshot released: close does not wait for any, and the store still writes.
    await db.put(1000, { n: 1 });
    expect(db.getSync(1000)).toEqual({ n: 1 });
    await db.close();
  });

  it('count honours start, end, reverse and limit', async () => {
    const db = await filled(200, logged);
    await db.remove(12);
    expect(db.count()).toBe(199);
    expect(db.count({ start: 10, end: 15 })).toBe(4);
    expect(db.getCount({ start: 10, end: 15 })).toBe(4);
    expect(db.count({ start: 190 })).toBe(10);
    expect(db.count({ end: 5 })).toBe(5);
    expect(db.count({ start: 100, limit: 7 })).toBe(7);
    expect(db.count({ limit: 3 })).toBe(3);
    expect(db.count({ start: 20, end: 10, reverse: true })).toBe(9); // 20 down to 11, 12 removed
    expect(db.count({ start: 500 })).toBe(0);
    expect(() => db.count({ limit: -1 })).toThrow(RangeError);
    await db.close();
  });
});

it('rejects a bad callback or options with a TypeError at once', async () => {
  const db = await filled(3, false);
  expect(() => db.getRange().map(1 as never)).toThrow(TypeError);
  expect(() => db.getKeys().filter(undefined as never)).toThrow(TypeError);
  expect(() => db.getRange(null as never)).toThrow(TypeError);
  expect(() => db.count('a' as never)).toThrow(TypeError);
  await db.close();
});
