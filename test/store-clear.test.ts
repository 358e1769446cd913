// clearAsync / clearSync, as lmdb-js's: every entry of one database removed
// in one commit of its own, in the order the writes were issued.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ReadOnlyError, UnsupportedError, WritesPendingError, open } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
const STRING = { valueEncoding: 'string' } as const;

async function filled(path: string, n: number) {
  const db = open<string, string>(path, STRING);
  await db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(5, '0')}`, value: `v${i}` })));
  return db;
}

describe('clearAsync', () => {
  it("removes the root's keys written before it, not those written after it, nor a named database's", async () => {
    const path = newPath();
    const db = await filled(path, 3000);
    const side = db.openDB<string, string>('side', STRING);
    await side.put('n', 'named');
    // Issued in one turn: the put before the clear is cleared, the one after is not.
    const before = db.put('before', 'b');
    const cleared = db.clearAsync();
    const after = db.put('after', 'a');
    await Promise.all([before, cleared, after]);
    expect(db.getSync('before')).toBeUndefined();
    expect(db.getSync('k00001')).toBeUndefined();
    expect(db.getSync('after')).toBe('a');
    expect([...db.getKeys()]).toEqual(['after']);
    expect(db.getCount()).toBe(1);
    expect(side.getSync('n')).toBe('named');
    await db.close();
    const again = open<string, string>(path, STRING);
    expect([...again.getKeys()]).toEqual(['after']);
    expect(again.openDB<string, string>('side', STRING).getSync('n')).toBe('named');
    expect(again.check().ok).toBe(true);
    await again.close();
  });

  it("of a named database removes only its keys", async () => {
    const path = newPath();
    const db = await filled(path, 100);
    const side = db.openDB<string, string>('side', STRING);
    await side.batch(Array.from({ length: 50 }, (_, i) => ({ type: 'put' as const, key: `s${i}`, value: `${i}` })));
    await side.clearAsync();
    expect(side.getCount()).toBe(0);
    expect(db.getCount()).toBe(100);
    await side.put('s1', 'back');
    expect(side.getSync('s1')).toBe('back');
    await db.close();
  });

  it('is refused inside a transaction callback and on a read-only handle', async () => {
    const path = newPath();
    const db = await filled(path, 10);
    await expect(db.transaction(() => db.clearAsync())).rejects.toThrow(UnsupportedError);
    expect(db.getCount()).toBe(10);
    const reader = open(path, { ...STRING, readOnly: true });
    expect(() => reader.clearAsync()).toThrow(ReadOnlyError);
    await Promise.all([db.close(), reader.close()]);
  });
});

describe('clearSync', () => {
  it('clears at once, and refuses while writes issued before it wait to commit', async () => {
    const path = newPath();
    const db = await filled(path, 500);
    const pending = db.put('pending', 'p');
    expect(() => db.clearSync()).toThrow(WritesPendingError);
    await pending;
    expect(db.getCount()).toBe(501);
    db.clearSync();
    expect(db.getCount()).toBe(0);
    await db.close();
    const again = open<string, string>(path, STRING);
    expect(again.getCount()).toBe(0);
    await again.close();
  });
});
