// Conditional writes: put only if absent (noOverwrite), put or remove only if
// the current value is a given one (ifValue); a conditional batch is all or
// nothing; a failed condition writes nothing and answers false.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type OpenOptions } from '../src/index.js';
import { layout } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;

describe.each([
  ['log commits', undefined],
  ['tree commits', 0],
])('conditional writes (%s)', (_, logLimit) => {
  const fresh = (options: OpenOptions = {}) => {
    const path = join(tmp.dir, `${seq++}.db`);
    return { path, db: open<string, { n: number }>(path, { pageSize: 512, logLimit, ...options }) };
  };

  it('put with noOverwrite writes only an absent key', async () => {
    const { db } = fresh();
    expect(await db.put('a', { n: 1 }, { noOverwrite: true })).toBe(true);
    expect(await db.put('a', { n: 2 }, { noOverwrite: true })).toBe(false);
    expect(db.getSync('a')).toEqual({ n: 1 });
    expect(db.putSync('a', { n: 3 }, { noOverwrite: true })).toBe(false);
    expect(db.putSync('b', { n: 3 }, { noOverwrite: true })).toBe(true);
    expect(db.getSync('b')).toEqual({ n: 3 });
    await db.close();
  });

  it('put and remove with ifValue apply only over that value', async () => {
    const { db } = fresh();
    await db.put('a', { n: 1 });
    expect(await db.put('a', { n: 2 }, { ifValue: { n: 9 } })).toBe(false);
    expect(db.getSync('a')).toEqual({ n: 1 });
    expect(await db.put('a', { n: 2 }, { ifValue: { n: 1 } })).toBe(true);
    expect(db.getSync('a')).toEqual({ n: 2 });
    expect(await db.put('missing', { n: 2 }, { ifValue: { n: 2 } })).toBe(false);
    expect(db.has('missing')).toBe(false);
    expect(await db.remove('a', { ifValue: { n: 1 } })).toBe(false);
    expect(db.has('a')).toBe(true);
    expect(db.removeSync('a', { ifValue: { n: 2 } })).toBe(true);
    expect(db.has('a')).toBe(false);
    expect(db.removeSync('a', { ifValue: { n: 2 } })).toBe(false);
    await db.close();
  });

  it('conditions see the writes issued before them in the same commit', async () => {
    const { db } = fresh();
    const first = db.put('k', { n: 1 });
    const second = db.put('k', { n: 2 }, { noOverwrite: true });
    const third = db.put('k', { n: 3 }, { ifValue: { n: 1 } });
    expect(await Promise.all([first, second, third])).toEqual([undefined, false, true]);
    expect(db.getSync('k')).toEqual({ n: 3 });
    await db.close();
  });

  it('a conditional batch is all or nothing and answers whether it applied', async () => {
    const { path, db } = fresh();
    await db.batch([
      { type: 'put', key: 'a', value: { n: 1 } },
      { type: 'put', key: 'b', value: { n: 2 } },
    ]);
    const txid = layout(path, 512).meta.txid;
    // The second condition fails: nothing of the batch applies, not even the unconditional put.
    expect(
      await db.batch([
        { type: 'put', key: 'a', value: { n: 10 }, ifValue: { n: 1 } },
        { type: 'put', key: 'c', value: { n: 30 } },
        { type: 'del', key: 'b', ifValue: { n: 99 } },
      ]),
    ).toBe(false);
    expect(db.getRange().map((e) => [e.key, e.value.n]).asArray).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(layout(path, 512).meta.txid).toBe(txid); // nothing changed: no commit written
    expect(
      await db.batch([
        { type: 'put', key: 'a', value: { n: 10 }, ifValue: { n: 1 } },
        { type: 'put', key: 'c', value: { n: 30 }, noOverwrite: true },
        { type: 'del', key: 'b', ifValue: { n: 2 } },
      ]),
    ).toBe(true);
    expect(db.getRange().map((e) => [e.key, e.value.n]).asArray).toEqual([
      ['a', 10],
      ['c', 30],
    ]);
    await db.close();
  });

  it('in a transaction, a failed condition writes nothing of its call and answers false', async () => {
    const { db } = fresh();
    await db.put('a', { n: 1 });
    const answers = await db.transaction((tx) => [
      tx.put('a', { n: 2 }, { noOverwrite: true }),
      tx.put('b', { n: 2 }, { noOverwrite: true }),
      tx.put('b', { n: 3 }, { ifValue: { n: 2 } }), // sees the transaction's own write
      tx.remove('a', { ifValue: { n: 5 } }),
    ]);
    expect(answers).toEqual([false, true, true, false]);
    expect(db.getSync('a')).toEqual({ n: 1 });
    expect(db.getSync('b')).toEqual({ n: 3 });
    // Throwing abandons the whole transaction, its successful conditional writes included.
    await expect(
      db.transaction((tx) => {
        tx.put('c', { n: 1 }, { noOverwrite: true });
        if (!tx.put('a', { n: 9 }, { noOverwrite: true })) throw new Error('a exists');
      }),
    ).rejects.toThrow('a exists');
    expect(db.has('c')).toBe(false);
    await db.close();
  });

  it('rejects contradictory or unknown conditions with a TypeError, writing nothing', async () => {
    const { db } = fresh();
    expect(() => db.put('a', { n: 1 }, { noOverwrite: true, ifValue: { n: 1 } })).toThrow(TypeError);
    expect(() => db.put('a', { n: 1 }, { ifVersion: 3 } as never)).toThrow(/ifVersion/);
    expect(() => db.remove('a', { noOverwrite: true } as never)).toThrow(TypeError);
    expect(() => db.putSync('a', { n: 1 }, { noOverwrite: 'yes' } as never)).toThrow(TypeError);
    await db.flushed;
    expect(db.count()).toBe(0);
    await db.close();
  });
});
