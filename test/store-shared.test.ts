// Handles on one file in one process (src/store/shared-stores.ts): a second
// open() with the same store options shares the first one's store (one
// cache, one writer, one reader slot in the lock file), with its own
// encodings, readOnly and close; the store closes with its last handle.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatabaseClosedError, EncodingMismatchError, ReadOnlyError, open } from '../src/index.js';
import { slotsOf } from './concurrency-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
beforeAll(() => requireFreshStore());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);

/** A file of 5,000 keys (a tree with branch pages, which the cache keeps), closed. */
async function filled(): Promise<string> {
  const path = newPath();
  const db = open<string, string>(path, { valueEncoding: 'string' });
  await db.batch(Array.from({ length: 5000 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(5, '0')}`, value: `v${i}` })));
  await db.close();
  return path;
}

/** Reads keys across the whole tree through `db`, so that its cache takes branch pages of every part. */
function readAcross(db: { getSync(key: string): unknown }): void {
  for (let i = 0; i < 5000; i += 97) expect(db.getSync(`k${String(i).padStart(5, '0')}`)).toBe(`v${i}`);
}

describe('two open() of one file in one process', () => {
  it('share one store: one cache, one reader slot, and each sees the other\'s writes at once', async () => {
    const path = await filled();
    const a = open<string, string>(path);
    const b = open<string, string>(path);
    expect(slotsOf(path)).toHaveLength(1);
    const atOpen = a.cacheUse.bytes;
    expect(b.getSync('k00042')).toBe('v42');
    readAcross(b);
    // Read through b, cached for a: one cache.
    expect(a.cacheUse.bytes).toBeGreaterThan(atOpen);
    expect(a.cacheUse).toEqual(b.cacheUse);
    // A write through either is what the other reads next, with no commit between.
    const written = a.put('new', 'from a');
    expect(b.getSync('new')).toBeUndefined(); // not committed yet
    await written;
    expect(b.getSync('new')).toBe('from a');
    await b.put('k00042', 'from b');
    expect(a.getSync('k00042')).toBe('from b');
    await Promise.all([a.close(), b.close()]);
    expect(slotsOf(path)).toEqual([]);
  });

  it('each handle keeps its own encodings, checked against the file, and its own readOnly', async () => {
    const path = await filled();
    const a = open<string, string>(path);
    expect(() => open(path, { keyEncoding: 'binary' })).toThrow(EncodingMismatchError);
    const reader = open<string, string>(path, { readOnly: true });
    expect(reader.readOnly).toBe(true);
    expect(a.readOnly).toBe(false);
    expect(reader.getSync('k00001')).toBe('v1');
    await expect(async () => reader.put('x', 'y')).rejects.toThrow(ReadOnlyError);
    await a.put('x', 'y');
    expect(reader.getSync('x')).toBe('y');
    expect(slotsOf(path)).toHaveLength(1);
    await Promise.all([a.close(), reader.close()]);
  });

  it('closes the store with its last handle, whichever closes first', async () => {
    const path = await filled();
    const first = open<string, string>(path);
    const atOpen = first.cacheUse.bytes;
    const second = open<string, string>(path);
    readAcross(second);
    expect(first.cacheUse.bytes).toBeGreaterThan(atOpen);
    await first.close();
    expect(first.closed).toBe(true);
    expect(() => first.getSync('k00001')).toThrow(DatabaseClosedError);
    // The store stays open for the second, reads and writes.
    expect(slotsOf(path)).toHaveLength(1);
    expect(second.getSync('k00001')).toBe('v1');
    await second.put('after', 'the first closed');
    // A third open() while it is: shared too.
    const third = open<string, string>(path);
    expect(third.getSync('after')).toBe('the first closed');
    expect(slotsOf(path)).toHaveLength(1);
    await second.close();
    expect(third.getSync('k00002')).toBe('v2');
    await third.close();
    expect(slotsOf(path)).toEqual([]);
    // Then a new open() is a new store, its cache as a store's at open.
    const fresh = open<string, string>(path);
    expect(fresh.cacheUse.bytes).toBe(atOpen);
    expect(fresh.getSync('after')).toBe('the first closed');
    await fresh.close();
  });

  it('with other store options, opens a store of its own, which sees the first one\'s commits', async () => {
    const path = await filled();
    const a = open<string, string>(path);
    const b = open<string, string>(path, { cacheSize: 1 << 20 });
    expect(slotsOf(path)).toHaveLength(2);
    const atOpen = a.cacheUse.bytes;
    readAcross(b);
    expect(a.cacheUse.bytes).toBe(atOpen);
    await a.put('k00042', 'changed');
    expect(b.getSync('k00042')).toBe('changed');
    await Promise.all([a.close(), b.close()]);
  });

  it('a named database opened through a second handle closes with it', async () => {
    const path = await filled();
    const a = open<string, string>(path);
    const b = open<string, string>(path);
    const named = b.openDB<string, string>('side', { valueEncoding: 'string' });
    await named.put('n', 'named');
    expect(a.openDB<string, string>('side').getSync('n')).toBe('named');
    await b.close();
    expect(() => named.getSync('n')).toThrow(DatabaseClosedError);
    expect(a.openDB<string, string>('side').getSync('n')).toBe('named');
    await a.close();
  });
});
