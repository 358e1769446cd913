// xrpkv/level beyond abstract-level's own suite (test/level-suite.mjs): data
// outliving the handle, big values, snapshots holding pages while the store
// rewrites them, and the file staying valid for `check`.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFile } from '../src/index.js';
import { XrpkvLevel } from '../src/level.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const path = () => join(tmp.dir, `${seq++}.xrpkv`);

describe('XrpkvLevel', () => {
  it('keeps data across close and reopen, with encodings and sublevels', async () => {
    const file = path();
    const db = new XrpkvLevel<string, unknown>(file, { valueEncoding: 'json', pageSize: 512 });
    const users = db.sublevel<string, { name: string }>('users', { valueEncoding: 'json' });
    await db.put('config', { v: 1 });
    await users.batch([
      { type: 'put', key: 'ada', value: { name: 'Ada' } },
      { type: 'put', key: 'bob', value: { name: 'Bob' } },
    ]);
    await db.close();
    const again = new XrpkvLevel<string, unknown>(file, { valueEncoding: 'json' });
    expect(await again.get('config')).toEqual({ v: 1 });
    expect(await again.sublevel('users', { valueEncoding: 'json' }).values().all()).toEqual([{ name: 'Ada' }, { name: 'Bob' }]);
    expect(again.supports).toMatchObject({ implicitSnapshots: true, explicitSnapshots: true, permanence: true, seek: true, getSync: true, has: true });
    await again.close();
    expect(checkFile(file)).toMatchObject({ ok: true, entries: 3 });
  });

  it('reads a snapshot unchanged while later commits rewrite and free its pages', async () => {
    const file = path();
    const db = new XrpkvLevel<string, Buffer>(file, { valueEncoding: 'buffer', pageSize: 512 });
    const key = (i: number) => String(i).padStart(3, '0');
    // 100 to 1700 bytes: inline values and overflow chains.
    const big = (i: number, tag: number) => Buffer.alloc(100 + (i % 5) * 400, tag * 31 + i);
    const fill = (tag: number) => db.batch(Array.from({ length: 200 }, (_, i) => ({ type: 'put' as const, key: key(i), value: big(i, tag) })));
    await fill(1);
    const snapshot = db.snapshot();
    const it = db.iterator({ gte: key(50), lt: key(150) });
    await fill(2);
    await db.clear({ gte: key(100) });
    await fill(3); // reuses the pages the previous commits freed, unless a snapshot still reaches them
    await db.clear({ gte: key(100) });
    expect(await db.get(key(120))).toBeUndefined();
    expect(await db.get(key(120), { snapshot })).toEqual(big(120, 1));
    expect(await db.getMany([key(10), key(150)], { snapshot })).toEqual([big(10, 1), big(150, 1)]);
    const seen = await it.all();
    expect(seen.map(([k]) => k)).toEqual(Array.from({ length: 100 }, (_, i) => key(50 + i)));
    for (const [k, v] of seen) expect(v).toEqual(big(Number(k), 1));
    expect(await db.keys({ snapshot, reverse: true, limit: 3 }).all()).toEqual([key(199), key(198), key(197)]);
    await snapshot.close();
    expect(await db.values({ gte: key(98) }).all()).toEqual([big(98, 3), big(99, 3)]);
    await db.close();
    expect(checkFile(file)).toMatchObject({ ok: true, entries: 100 });
  });

  it('reports errors the abstract-level way', async () => {
    const file = path();
    const missing = new XrpkvLevel(file, { createIfMissing: false });
    await expect(missing.open()).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN', cause: { message: expect.stringMatching(/does not exist/) } });
    const db = new XrpkvLevel(file, { pageSize: 512 });
    await db.open();
    // Two handles on one file: each reads what the other commits.
    const second = new XrpkvLevel(file);
    await second.open();
    await second.put('other', 'w');
    expect(await db.get('other')).toBe('w');
    await second.close();
    // Keys longer than the page size allows (104 bytes on 512-byte pages) are refused; the database stays usable.
    await expect(db.put('k'.repeat(200), 'v')).rejects.toMatchObject({ code: 'KEY_TOO_LARGE' });
    await db.put('k', 'v');
    expect(await db.get('k')).toBe('v');
    await db.close();
  });
});
