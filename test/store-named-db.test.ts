// Named databases (db.openDB, src/store/named-db.ts, keyspace.ts): key ranges
// of the file's one tree with encodings of their own, isolated from each
// other and from the root, written together in one transaction, recorded
// and checked on reopen.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseClosedError, EncodingMismatchError, KeyTooLargeError, ReservedKeyError, open, type OpenOptions } from '../src/index.js';
import { maxKeyLen } from '../src/format/page.js';
import { COUNTERS_KEY, ESCAPED_START, META_START, metaKey, rawKey } from '../src/server/layout.js';
import { RESERVED, isReservedKey } from '../src/store/keyspace.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
const reserved = (...rest: number[]) => Buffer.from([...RESERVED, ...rest]);

describe.each([
  ['log commits, walk', { logLimit: undefined, lookup: 'walk' }],
  ['tree commits, xrp', { logLimit: 0, lookup: 'xrp' }],
] as const)('named databases (%s)', (_, options: OpenOptions) => {
  // Not synced: what is tested is what each commit holds, not its durability (the store's own tests).
  const fresh = (path = newPath()) => open<string, unknown>(path, { pageSize: 512, sync: false, ...options });

  it('keep their keys apart from each other and from the root, in gets, ranges and counts', async () => {
    const root = fresh();
    const a = root.openDB<string, string>('a', { encoding: 'string' });
    const ab = root.openDB<string, number>('ab'); // 'a' is a prefix of its name
    for (const k of ['k1', 'k2', 'k3']) {
      await root.put(k, `root ${k}`);
      await a.put(k, `a ${k}`);
    }
    await ab.put('k2', 2);
    expect([root.getSync('k2'), a.getSync('k2'), ab.getSync('k2')]).toEqual(['root k2', 'a k2', 2]);
    expect(await a.get('k1')).toBe('a k1');
    expect(await ab.getMany(['k1', 'k2'])).toEqual([undefined, 2]);
    expect(ab.has('k1')).toBe(false);
    expect(root.getRange().asArray).toEqual(['k1', 'k2', 'k3'].map((k) => ({ key: k, value: `root ${k}` })));
    expect(a.getKeys().asArray).toEqual(['k1', 'k2', 'k3']);
    expect(a.getKeys({ reverse: true }).asArray).toEqual(['k3', 'k2', 'k1']);
    expect(a.getKeys({ start: 'k2' }).asArray).toEqual(['k2', 'k3']);
    expect(a.getKeys({ start: 'k2', reverse: true }).asArray).toEqual(['k2', 'k1']);
    expect(a.getKeys({ end: 'k2', limit: 5 }).asArray).toEqual(['k1']);
    expect(ab.getRange().asArray).toEqual([{ key: 'k2', value: 2 }]);
    expect([root.count(), a.count(), ab.count(), a.count({ start: 'k2' }), ab.count({ reverse: true })]).toEqual([3, 3, 1, 2, 1]);
    expect(await a.remove('k1')).toBe(true);
    expect(root.getSync('k1')).toBe('root k1');
    expect([root.count(), a.count()]).toEqual([3, 2]);
    await root.close();
  });

  it('are recorded with their encodings: a reopen takes them, and refuses others', async () => {
    const path = newPath();
    let root = fresh(path);
    const users = root.openDB<string, { name: string }>('users', { encoding: 'json' });
    const blobs = root.openDB<Buffer, Buffer>('blobs', { keyEncoding: 'binary', valueEncoding: 'binary' });
    await users.put('u1', { name: 'ann' });
    await blobs.put(Buffer.from([0xff, 0xff]), Buffer.from('raw'));
    await root.close();

    root = fresh(path);
    expect(() => root.openDB('users', { valueEncoding: 'msgpack' })).toThrow(EncodingMismatchError);
    expect(() => root.openDB('blobs', { keyEncoding: 'ordered-binary' })).toThrow(EncodingMismatchError);
    const again = root.openDB<string, { name: string }>('users');
    expect([again.keyEncoding, again.valueEncoding]).toEqual(['ordered-binary', 'json']);
    expect(again.getSync('u1')).toEqual({ name: 'ann' });
    expect(root.openDB<Buffer, Buffer>('blobs').getSync(Buffer.from([0xff, 0xff]))).toEqual(Buffer.from('raw'));
    // A new name takes the defaults, recorded as well.
    const plain = root.openDB('plain');
    expect([plain.keyEncoding, plain.valueEncoding]).toEqual(['ordered-binary', 'msgpack']);
    await root.close();
    root = fresh(path);
    expect(() => root.openDB('plain', { encoding: 'json' })).toThrow(EncodingMismatchError);
    await root.close();
  });

  it('record a new name before anything written to it, even when opened twice in one turn with the same encodings', async () => {
    const path = newPath();
    let root = fresh(path);
    const first = root.openDB<string, string>('x', { encoding: 'string' });
    expect(() => root.openDB('x', { encoding: 'json' })).toThrow(EncodingMismatchError); // not yet committed: the handle knows
    const second = root.openDB<string, string>('x');
    expect(second.valueEncoding).toBe('string');
    await first.put('k', 'v');
    await root.close();
    root = fresh(path);
    expect(root.openDB('x').getSync('k')).toBe('v');
    expect(root.stats().databases).toEqual([{ name: 'x', entries: 1, keyEncoding: 'ordered-binary', valueEncoding: 'string' }]);
    await root.close();
  });

  it('are written together in one transaction, all or nothing', async () => {
    const path = newPath();
    let root = fresh(path);
    const users = root.openDB<string, string>('users', { encoding: 'string' });
    const index = root.openDB<string, string>('index', { encoding: 'string' });
    await index.put('by-name:bob', 'taken');

    // Every handle's writes join the callback's transaction.
    await root.transaction(() => {
      users.put('u1', 'ann');
      index.putSync('by-name:ann', 'u1');
      root.put('users', 1);
      expect(users.getSync('u1')).toBe('ann'); // reads see the transaction
    });
    expect([users.getSync('u1'), index.getSync('by-name:ann'), root.getSync('users')]).toEqual(['ann', 'u1', 1]);

    // A conditional write that fails, and the callback throws: nothing of it commits, in any database.
    await expect(
      root.transaction(() => {
        users.put('u2', 'bob');
        root.put('users', 2);
        if (!index.putSync('by-name:bob', 'u2', { noOverwrite: true })) throw new Error('name taken');
      }),
    ).rejects.toThrow('name taken');
    expect(() =>
      users.transactionSync((tx) => {
        tx.put('u3', 'cy');
        index.removeSync('by-name:ann');
        throw new Error('abandoned');
      }),
    ).toThrow('abandoned');
    for (const db of [root, users, index]) await db.flushed;
    expect([users.getSync('u2'), users.getSync('u3'), root.getSync('users'), index.getSync('by-name:bob'), index.getSync('by-name:ann')]).toEqual([
      undefined,
      undefined,
      1,
      'taken',
      'u1',
    ]);
    await root.close();
    root = fresh(path);
    expect(root.openDB('users').getKeys().asArray).toEqual(['u1']);
    expect(root.openDB('index').getKeys().asArray).toEqual(['by-name:ann', 'by-name:bob']);
    await root.close();
  });

  it('keep every database across a reopen, many keys in each (a tree of several levels)', async () => {
    const path = newPath();
    let root = fresh(path);
    const names = ['one', 'two', 'three'];
    const dbs = names.map((n) => root.openDB<number, string>(n, { encoding: 'string' }));
    for (let i = 0; i < 600; i++) {
      await Promise.all([root.put(`r${i}`, i), ...dbs.map((db, d) => db.put(i, `${names[d]} ${i}`))]);
    }
    await dbs[1].batch(Array.from({ length: 300 }, (_, i) => ({ type: 'del' as const, key: 2 * i })));
    await root.close();
    root = fresh(path);
    const [one, two, three] = names.map((n) => root.openDB<number, string>(n));
    expect([root.count(), one.count(), two.count(), three.count()]).toEqual([600, 600, 300, 600]);
    expect(two.getKeys({ limit: 3 }).asArray).toEqual([1, 3, 5]);
    expect(three.getSync(599)).toBe('three 599');
    expect(one.getRange({ start: 10, end: 13 }).map(({ value }) => value).asArray).toEqual(['one 10', 'one 11', 'one 12']);
    expect(root.stats().databases!.map((d) => [d.name, d.entries])).toEqual([
      ['one', 600],
      ['three', 600],
      ['two', 300],
    ]);
    expect(root.check().ok).toBe(true);
    await root.close();
  });
});

describe('the root database', () => {
  const binary = (path = newPath()) => open<Buffer, number>(path, { pageSize: 512, keyEncoding: 'binary' });

  it('refuses keys in the space reserved for named databases, and hides that space from its ranges and count', async () => {
    const root = binary();
    const named = root.openDB('n');
    await named.put('k', 1);
    expect(() => root.putSync(reserved(1, 2), 1)).toThrow(ReservedKeyError);
    expect(() => root.put(reserved(), 1)).toThrow(ReservedKeyError);
    expect(() => root.batch([{ type: 'put', key: reserved(0), value: 1 }])).toThrow(ReservedKeyError);
    expect(() => root.getSync(reserved(0))).toThrow(ReservedKeyError);
    // Keys just below and above the space are the root's.
    const below = [Buffer.from([0xff, 0x00, 0x6d, 0xff]), Buffer.from([0xff, 0x00])];
    const above = [Buffer.from([0xff, 0x00, 0x6f]), Buffer.from([0xff, 0x01])];
    for (const k of [...below, ...above]) await root.put(k, k.length);
    const all = [below[1], below[0], ...above];
    expect(root.getKeys().asArray).toEqual(all);
    expect(root.getKeys({ reverse: true }).asArray).toEqual([...all].reverse());
    expect(root.getKeys({ start: Buffer.from([0xff, 0x00, 0x6d]), limit: 2 }).asArray).toEqual([below[0], above[0]]);
    expect(root.getKeys({ start: reserved(1), end: Buffer.from([0xff, 0x02]) }).asArray).toEqual(above);
    expect(root.getKeys({ start: reserved(1), reverse: true, limit: 1 }).asArray).toEqual([below[0]]);
    expect(root.count()).toBe(4);
    expect(root.count({ start: Buffer.from([0xff]) })).toBe(4);
    expect(root.stats().entries).toBe(4 + 2); // the file's: the named key and its catalog record too
    await root.close();
  });

  it('leaves alone every key of the server layout, which therefore never meets a named database', () => {
    for (const k of [COUNTERS_KEY, META_START, ESCAPED_START, metaKey(reserved()), rawKey(reserved(1)), rawKey(Buffer.from('k'))]) {
      expect(isReservedKey(k)).toBe(false);
    }
  });
});

describe('openDB', () => {
  it('checks the name and the options', async () => {
    const root = open(newPath(), { pageSize: 512 });
    expect(() => root.openDB(1 as unknown as string)).toThrow(TypeError);
    expect(() => root.openDB('')).toThrow(RangeError);
    expect(() => root.openDB('x'.repeat(65))).toThrow(RangeError);
    expect(() => root.openDB('a\0b')).toThrow(RangeError);
    expect(() => root.openDB('\ud800')).toThrow(RangeError);
    expect(() => root.openDB('ok', { dupSort: true } as never)).toThrow(/unknown openDB option 'dupSort'/);
    expect(() => root.openDB('ok', { encoding: 'yaml' } as never)).toThrow(RangeError);
    expect(() => root.openDB('ok', { encoding: 'json', valueEncoding: 'string' })).toThrow(TypeError);
    expect(root.openDB('é'.repeat(32)).name).toBe('é'.repeat(32)); // 64 bytes of UTF-8
    expect(root.name).toBe(null);
    // lmdb-js's other form: the name among the options.
    const named = root.openDB<string, string>({ name: 'opts', encoding: 'string' });
    expect([named.name, named.valueEncoding]).toEqual(['opts', 'string']);
    expect(() => root.openDB({ encoding: 'json' } as never)).toThrow(TypeError);
    await root.close();
  });

  it('gives a named database keys shorter by its prefix, with a clear error past them', async () => {
    const root = open<Buffer, Buffer>(newPath(), { pageSize: 512, keyEncoding: 'binary', valueEncoding: 'binary' });
    const name = 'n'.repeat(20);
    const db = root.openDB<Buffer, Buffer>(name, { keyEncoding: 'binary', valueEncoding: 'binary' });
    const max = maxKeyLen(512) - (RESERVED.length + 2 + name.length);
    await db.put(Buffer.alloc(max, 7), Buffer.from('longest'));
    expect(db.getSync(Buffer.alloc(max, 7))).toEqual(Buffer.from('longest'));
    let error: unknown;
    try {
      db.putSync(Buffer.alloc(max + 1, 7), Buffer.from('x'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(KeyTooLargeError);
    expect((error as KeyTooLargeError).max).toBe(max);
    await root.close();
  });

  it('honours maxDbs as lmdb-js does: the names one handle may open', async () => {
    const root = open(newPath(), { pageSize: 512, maxDbs: 2 });
    root.openDB('a');
    root.openDB('b');
    root.openDB('a'); // again: no new one
    expect(() => root.openDB('c')).toThrow(expect.objectContaining({ code: 'DBS_FULL' }));
    expect(() => open(newPath(), { maxDbs: -1 })).toThrow(RangeError);
    await root.close();
  });

  it('closes with the root; a named handle closes alone', async () => {
    const root = open<string, number>(newPath(), { pageSize: 512 });
    const a = root.openDB<string, number>('a');
    const b = root.openDB<string, number>('b');
    await a.put('k', 1);
    await b.close();
    expect(b.closed).toBe(true);
    expect(() => b.getSync('k')).toThrow(DatabaseClosedError);
    expect(() => b.put('k', 1)).toThrow(DatabaseClosedError);
    expect(a.getSync('k')).toBe(1);
    await root.put('r', 2);
    const scan = a.getKeys()[Symbol.iterator]();
    await root.close();
    expect(a.closed).toBe(true);
    expect(() => a.getSync('k')).toThrow(DatabaseClosedError);
    expect(() => a.putSync('k', 2)).toThrow(DatabaseClosedError);
    expect(() => scan.next()).toThrow(DatabaseClosedError);
    expect(() => root.openDB('c')).toThrow(DatabaseClosedError);
  });
});
