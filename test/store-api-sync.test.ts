// putSync, removeSync and transactionSync: committed and durable when they
// return, after (and with) the asynchronous writes issued before them, and
// refused while an earlier commit is still being written.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WritesPendingError, open, type OpenOptions } from '../src/index.js';
import { DIST_INDEX, layout, requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const pathOf = () => join(tmp.dir, `${seq++}.db`);

describe.each([
  ['log commits', undefined],
  ['tree commits', 0],
])('synchronous writes (%s)', (_, logLimit) => {
  const fresh = (options: OpenOptions = {}) => {
    const path = pathOf();
    return { path, db: open<string, number>(path, { pageSize: 512, logLimit, ...options }) };
  };

  it('are in the file when they return, and answer as their async forms do', async () => {
    const { path, db } = fresh();
    expect(db.putSync('a', 1)).toBe(true);
    expect(db.getSync('a')).toBe(1);
    // The file's newest meta counts it: written, not only queued.
    expect(layout(path, 512).meta.entries).toBe(1);
    expect(db.removeSync('a')).toBe(true);
    expect(db.removeSync('a')).toBe(false);
    expect(layout(path, 512).meta.entries).toBe(0);
    expect(db.transactionSync((tx) => {
      tx.put('b', 2);
      tx.put('c', 3);
      return tx.get('b');
    })).toBe(2);
    expect(layout(path, 512).meta.entries).toBe(2);
    expect(() =>
      db.transactionSync((tx) => {
        tx.put('d', 4);
        throw new Error('no');
      }),
    ).toThrow('no');
    expect(db.has('d')).toBe(false);
    expect(db.check().problems).toEqual([]);
    await db.close();
    const again = open<string, number>(path);
    expect(again.getRange().map((e) => [e.key, e.value]).asArray).toEqual([
      ['b', 2],
      ['c', 3],
    ]);
    await again.close();
  });

  it('take the writes queued before them first, in the same commit, and settle their promises', async () => {
    const { db } = fresh();
    const put = db.put('x', 1);
    const batch = db.batch([{ type: 'put', key: 'y', value: 2 }]);
    // x was put before: removeSync sees it and removes it.
    expect(db.removeSync('x')).toBe(true);
    expect(db.getSync('y')).toBe(2);
    await expect(put).resolves.toBeUndefined();
    await expect(batch).resolves.toBeUndefined();
    // The last issued write wins, whatever its kind.
    const later = db.put('z', 1);
    db.putSync('z', 2);
    await later;
    expect(db.getSync('z')).toBe(2);
    db.put('t', 5);
    expect(db.transactionSync((tx) => tx.get('t'))).toBe(5);
    await db.close();
  });

  it('refuse, queuing nothing, while an earlier commit is being written; after `flushed` they go on', async () => {
    const { db } = fresh();
    const put = db.put('k', 1);
    // The writer takes the turn's writes in a setImmediate queued before this one: the commit is in flight now.
    await new Promise((resolve) => setImmediate(resolve));
    expect(() => db.putSync('k', 2)).toThrow(WritesPendingError);
    expect(() => db.removeSync('k')).toThrow(WritesPendingError);
    expect(() => db.transactionSync(() => 1)).toThrow(WritesPendingError);
    await db.flushed;
    await put;
    expect(db.getSync('k')).toBe(1);
    expect(db.putSync('k', 3)).toBe(true);
    expect(db.getSync('k')).toBe(3);
    await db.close();
  });

  it('join the transaction whose callback calls them, synchronous or not (as lmdb-js)', async () => {
    const { db } = fresh();
    expect(db.transactionSync(() => db.putSync('inner', 1))).toBe(true);
    expect(db.getSync('inner')).toBe(1);
    await db.transaction(() => {
      expect(db.removeSync('inner')).toBe(true);
      expect(db.putSync('inner', 2, { noOverwrite: true })).toBe(true);
      expect(db.getSync('inner')).toBe(2); // the transaction's view
    });
    expect(db.getSync('inner')).toBe(2);
    // The callback throws: nothing it wrote through them commits.
    expect(() =>
      db.transactionSync(() => {
        db.putSync('lost', 3);
        throw new Error('abandoned');
      }),
    ).toThrow('abandoned');
    await expect(
      db.transaction(() => {
        db.removeSync('inner');
        throw new Error('abandoned');
      }),
    ).rejects.toThrow('abandoned');
    expect([db.has('lost'), db.getSync('inner')]).toEqual([false, 2]);
    expect(db.putSync('outer', 2)).toBe(true);
    await db.close();
  });

  it('commit a large transaction (a checkpoint) in one call', async () => {
    const { path, db } = fresh();
    db.transactionSync((tx) => {
      for (let i = 0; i < 6000; i++) tx.put(`k${String(i).padStart(5, '0')}`, i);
    });
    expect(db.count()).toBe(6000);
    expect(layout(path, 512).meta.entries).toBe(6000);
    expect(db.check().problems).toEqual([]);
    await db.close();
  });
});

describe('durability', () => {
  beforeAll(() => requireFreshStore());

  it('a putSync survives the process being killed the moment it returns', () => {
    const path = pathOf();
    const script = `
      const { open } = await import(${JSON.stringify(DIST_INDEX)});
      const db = open(${JSON.stringify(path)});
      db.putSync('kept', 'yes');
      db.transactionSync((tx) => tx.put('also', 'kept'));
      process.kill(process.pid, 'SIGKILL');
    `;
    expect(() => execFileSync(process.execPath, ['--input-type=module', '-e', script], { stdio: 'pipe' })).toThrow();
    const db = open(path);
    expect(db.getSync('kept')).toBe('yes');
    expect(db.getSync('also')).toBe('kept');
    return db.close();
  });
});
