// The store's API: reads, writes, batching per event-loop turn,
// transactions, ranges, encodings, stats, and the errors bad input gets.
import { join } from 'node:path';
import { pack } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CorruptionError,
  type Database,
  DatabaseClosedError,
  KeyTooLargeError,
  checkFile,
  open,
  type OpenOptions,
} from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const fresh = (options: OpenOptions = {}) => open(join(tmp.dir, `${seq++}.db`), options);

describe('reads and writes', () => {
  it('puts, gets, removes and counts, with keys of every kind', async () => {
    const db = fresh();
    const keys = ['a', '', 0, -1.5, 2 ** 40, true, null, 10n, ['user', 42], ['user', 'x', 1], Buffer.from([0xff, 0])];
    await Promise.all(keys.map((k, i) => db.put(k, { i, k: String(k) })));
    expect(db.count()).toBe(keys.length);
    for (const [i, k] of keys.entries()) {
      expect(db.getSync(k)).toEqual({ i, k: String(k) });
      expect(await db.get(k)).toEqual({ i, k: String(k) });
      expect(db.has(k)).toBe(true);
    }
    expect(db.getSync('missing')).toBeUndefined();
    expect(await db.getMany(['a', 'missing', 0])).toEqual([{ i: 0, k: 'a' }, undefined, { i: 2, k: '0' }]);
    expect(await db.remove('a')).toBe(true);
    expect(await db.remove('a')).toBe(false);
    expect(db.has('a')).toBe(false);
    expect(db.count()).toBe(keys.length - 1);
    await db.close();
  });

  it.each([
    ['in the tree', 0],
    ['in the log', undefined],
  ])('orders keys as ordered-binary does and ranges over them (%s)', async (_, logLimit) => {
    const db = fresh({ pageSize: 512, logLimit });
    await db.batch(Array.from({ length: 500 }, (_, i) => ({ type: 'put' as const, key: i, value: i * 2 })));
    const keys = (o: object) => [...db.getRange(o)].map((e) => e.key);
    expect(keys({ start: 10, end: 15 })).toEqual([10, 11, 12, 13, 14]);
    expect(keys({ start: 495 })).toEqual([495, 496, 497, 498, 499]);
    expect(keys({ end: 3 })).toEqual([0, 1, 2]);
    expect(keys({ start: 14, end: 10, reverse: true })).toEqual([14, 13, 12, 11]);
    expect(keys({ reverse: true, limit: 3 })).toEqual([499, 498, 497]);
    expect(keys({ start: 9.5, end: 12 })).toEqual([10, 11]);
    expect(keys({ start: 100, end: 100 })).toEqual([]);
    const all: number[] = [];
    for await (const { key, value } of db.getRange()) {
      expect(value).toBe((key as number) * 2);
      all.push(key as number);
    }
    expect(all).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const shape = logLimit === 0 ? { height: 2, logKeys: 0 } : { height: 0, logKeys: 500 };
    expect(db.stats()).toMatchObject({ ...shape, entries: 500, backend: 'auto', pageSize: 512 });
    await db.close();
  });

  it('getBinaryFast gives the stored bytes, undecoded, from the tree and from the log', async () => {
    const db = fresh({ pageSize: 1024, logLimit: 0 });
    await db.put('inline', { a: 1 });
    await db.put('big', 'x'.repeat(5000));
    await db.close();
    const again = open(db.path, { pageSize: 1024 });
    await again.put('logged', [1, 2]);
    expect(again.getBinaryFast('inline')).toEqual(pack({ a: 1 }));
    expect(again.getBinaryFast('big')).toEqual(pack('x'.repeat(5000)));
    expect(again.getBinaryFast('logged')).toEqual(pack([1, 2]));
    expect(again.getBinaryFast('missing')).toBeUndefined();
    await again.close();
  });

  it('values read together stay whole; getBinaryFast answers from the buffer the next read reuses', async () => {
    // Buffered reads of leaves go through one reused buffer: a value kept past the next read must be a copy.
    const db = fresh({ pageSize: 4096, valueEncoding: 'binary', logLimit: 0 }) as unknown as Database<number, Buffer>;
    const value = (i: number) => Buffer.alloc(200, i % 251);
    await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: i, value: value(i) })));
    await db.close();
    // One level decoded in memory, so the leaves are read from the file; walks, so getMany reads each in turn.
    const again = open<number, Buffer>(db.path, { valueEncoding: 'binary', cacheLevels: 1, lookup: 'walk' });
    expect(await again.getMany([3, 1500, 7, 1999])).toEqual([value(3), value(1500), value(7), value(1999)]);
    const first = again.getSync(3)!;
    expect(again.has(1999)).toBe(true);
    expect(again.getSync(1500)).toEqual(value(1500));
    expect(first).toEqual(value(3));
    expect(again.getBinaryFast(7)).toEqual(value(7));
    expect(again.getBinaryFast(1998)).toEqual(value(1998));
    await again.close();
  });

  it('stores values inline and in overflow pages, in every encoding', async () => {
    for (const valueEncoding of ['msgpack', 'binary', 'string', 'json'] as const) {
      // No log: its records would hold the small values and leave the tree's overflow pages until a checkpoint.
      const db = fresh({ pageSize: 1024, valueEncoding, logLimit: 0 });
      const make = (n: number) =>
        valueEncoding === 'binary' ? Buffer.alloc(n, n % 251) : valueEncoding === 'string' ? 'é'.repeat(n) : { n, s: 'x'.repeat(n) };
      const sizes = [0, 1, 200, 240, 241, 1000, 5000, 100_000];
      await Promise.all(sizes.map((n) => db.put(n, make(n))));
      for (const n of sizes) expect(db.getSync(n)).toEqual(make(n));
      // Replacing and removing big values frees their overflow pages.
      await Promise.all(sizes.map((n) => db.put(n, make(3))));
      await db.remove(0);
      const s = db.stats();
      expect(s.overflowPages).toBe(0);
      expect(db.check().ok).toBe(true);
      await db.close();
    }
  });
});

describe('commits', () => {
  it('commits the writes of one event-loop turn together, durable when they resolve', async () => {
    const db = fresh();
    const before = db.stats().txid;
    await Promise.all([db.put('a', 1), db.put('b', 2), db.remove('c'), db.batch([{ type: 'put', key: 'd', value: 4 }])]);
    expect(db.stats().txid).toBe(before + 1);
    await db.put('e', 5);
    await db.put('f', 6);
    expect(db.stats().txid).toBe(before + 3);
    // Resolved means on disk: a reader of the file itself sees it.
    expect(checkFile(db.path)).toMatchObject({ ok: true, entries: 5, txid: before + 3 });
    // A turn that changes nothing commits nothing.
    expect(await db.remove('nothing')).toBe(false);
    expect(db.stats().txid).toBe(before + 3);
    await db.close();
  });

  it('packs the puts of a turn into one batch, kept in order with the other writes', async () => {
    const db = fresh();
    const first = db.put('a', 1);
    const alongside = db.put('b', 2); // the same batch; a promise of its own, since each put can fail alone
    expect(alongside).not.toBe(first);
    const removed = db.remove('a'); // closes the batch: later puts come after it
    const second = db.put('a', 3);
    expect(second).not.toBe(first);
    db.put('c', 4);
    expect(() => db.put(Buffer.alloc(5000), 1)).toThrow(KeyTooLargeError); // refused alone, before it joins
    const batch = db.batch([{ type: 'del', key: 'c' }]);
    const third = db.put('d', 5);
    await Promise.all([first, alongside, second, batch, third]);
    expect(await removed).toBe(true);
    expect([...db.getRange()].map(({ key, value }) => [key, value])).toEqual([['a', 3], ['b', 2], ['d', 5]]);
    // A put issued once the writer has taken the batch (a later microtask, after
    // a commit settled) starts another batch rather than joining a taken one.
    const later = db.put('e', 6);
    await db.put('f', 7).then(() => db.put('g', 8));
    await later;
    expect(['e', 'f', 'g'].map((k) => db.getSync(k))).toEqual([6, 7, 8]);
    await db.close();
    const again = open(db.path);
    expect(again.count()).toBe(6);
    await again.close();
  });

  it('runs transactions all or nothing, after the writes queued before them', async () => {
    const db = fresh();
    await db.put('n', 1);
    const put = db.put('n', 10);
    const t = db.transaction((tx) => {
      const n = tx.get('n');
      tx.put('n', n + 1);
      tx.put('seen', n);
      expect(tx.get('n')).toBe(n + 1);
      return n;
    });
    const failed = db.transaction((tx) => {
      tx.put('n', -1);
      tx.remove('seen');
      throw new Error('no');
    });
    const after = db.transaction((tx) => [tx.get('n'), tx.has('seen'), tx.remove('seen'), tx.remove('seen')]);
    await put;
    expect(await t).toBe(10);
    await expect(failed).rejects.toThrow('no');
    expect(await after).toEqual([11, true, true, false]);
    expect(db.getSync('n')).toBe(11);
    expect(db.has('seen')).toBe(false);
    // An async callback is refused, and what it wrote is dropped.
    await expect(db.transaction(async (tx) => tx.put('x', 1))).rejects.toThrow(/must be synchronous/);
    expect(db.has('x')).toBe(false);
    await db.close();
  });

  it('finishes queued writes on close, then refuses everything', async () => {
    const db = fresh();
    const p = db.put('k', 'v');
    await db.close();
    await p;
    expect(() => db.getSync('k')).toThrow(DatabaseClosedError);
    expect(() => db.put('k', 1)).toThrow(DatabaseClosedError);
    expect(() => db.getRange()).toThrow(DatabaseClosedError);
    await expect(db.get('k')).rejects.toMatchObject({ code: 'DATABASE_CLOSED' });
    await db.close();
    const again = open(db.path);
    expect(again.getSync('k')).toBe('v');
    await again.close();
  });
});

describe('bad input', () => {
  it('refuses oversize keys for the page size', async () => {
    const db = fresh({ pageSize: 512, keyEncoding: 'binary' });
    await db.put(Buffer.alloc(104, 1), 'max');
    expect(db.getSync(Buffer.alloc(104, 1))).toBe('max');
    expect(() => db.put(Buffer.alloc(105), 'x')).toThrow(KeyTooLargeError);
    expect(() => db.getSync(Buffer.alloc(105))).toThrow(/105 bytes; at most 104/);
    await db.close();
    const big = fresh();
    expect(() => big.put('x'.repeat(512), 1)).toThrow(expect.objectContaining({ code: 'KEY_TOO_LARGE' }));
    expect(() => big.put(['x'.repeat(300), 'y'.repeat(300)], 1)).toThrow(KeyTooLargeError);
    await big.close();
  });

  it('refuses keys and values of the wrong type', async () => {
    const db = fresh();
    for (const key of [undefined, {}, () => 1, NaN, [[1]], new Date()]) {
      expect(() => db.put(key, 1)).toThrow(TypeError);
    }
    expect(() => db.put('k', undefined)).toThrow(/must not be undefined/);
    expect(() => db.batch([{ type: 'nope', key: 'k' } as never])).toThrow(/type 'put', 'del' or 'remove'/);
    await db.close();
    const bin = fresh({ keyEncoding: 'binary', valueEncoding: 'binary' });
    expect(() => bin.put('k' as never, Buffer.alloc(1))).toThrow(/keys must be Buffers/);
    expect(() => bin.put(Buffer.from('k'), 'v' as never)).toThrow(/values must be Buffers/);
    await bin.close();
  });

  it('refuses bad options', () => {
    expect(() => fresh({ pageSize: 300 })).toThrow(RangeError);
    expect(() => fresh({ keyEncoding: 'utf8' as never })).toThrow(/keyEncoding must be one of/);
    expect(() => fresh({ lookup: 'xrp', xrpMode: 'kernel' })).toThrow(/needs 512-byte pages/);
    expect(() => fresh({ cacheLevels: -1 })).toThrow(RangeError);
  });

  it('keeps the page size a file was made with', async () => {
    const path = join(tmp.dir, 'sized.db');
    const a = open(path, { pageSize: 1024 });
    await a.put('k', 1);
    await a.close();
    const b = open(path, { pageSize: 4096 });
    expect(b.pageSize).toBe(1024);
    expect(b.getSync('k')).toBe(1);
    await b.close();
  });

  it('says a file that is not a database is corrupt', () => {
    const path = join(tmp.dir, 'junk.db');
    const junk = open(path); // creates it
    return junk.close().then(async () => {
      const { writeFileSync } = await import('node:fs');
      writeFileSync(path, Buffer.alloc(10_000, 0x41));
      expect(() => open(path)).toThrow(CorruptionError);
      expect(() => open(path)).toThrow(/page 0 is corrupt: no valid meta page/);
    });
  });
});
