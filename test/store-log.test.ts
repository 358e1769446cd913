// The log (src/format/log.ts, overlay.ts, writer.ts): small commits append
// records instead of rewriting the tree; reads, ranges and snapshots see
// them; a reopen replays them; a checkpoint folds them into the tree; log
// pages reuse free pages, so churn does not grow the file; a damaged log
// page is found and named; a log commit torn by a crash is undone at open;
// files from before the log still open.
import { openSync, closeSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptionError, checkFile, open, type Database, type OpenOptions } from '../src/index.js';
import { Cursor } from '../src/store/cursor.js';
import { LogKind, logRecord } from '../src/format/log.js';
import { pickMeta, type Meta } from '../src/format/meta.js';
import { Overlay, hashOf } from '../src/store/overlay.js';
import { readHeader, seal } from '../src/format/page.js';
import type { Snapshot } from '../src/store/snapshot.js';
import type { KnownTransaction } from '../src/store/db.js';
import { LOG_COMMIT_KEYS, LOG_COMMIT_KEYS_SCATTERED } from '../src/store/writer.js';
import { landFold, readEachTurn } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';
import { BINARY, key, put, val, type Bin } from './log-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);

/** Page `pageNo` of a 512-byte-page file. */
function readPage(path: string, pageNo: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(512);
    readSync(fd, b, 0, 512, pageNo * 512);
    return b;
  } finally {
    closeSync(fd);
  }
}

/** The newest meta on disk. */
function metaOf(path: string, pageSize = 512): Meta {
  const fd = openSync(path, 'r');
  try {
    const pages = [0, 1].map((n) => {
      const b = Buffer.alloc(pageSize);
      readSync(fd, b, 0, pageSize, n * pageSize);
      return b;
    }) as [Buffer, Buffer];
    return pickMeta(pages);
  } finally {
    closeSync(fd);
  }
}

/** Runs `check` on `db`, closes it, and runs it again on the file reopened, which must check clean. */
async function checkAcrossReopen(db: Bin, path: string, check: (d: Bin) => void): Promise<void> {
  check(db);
  await db.close();
  const reopened: Bin = open(path, BINARY);
  check(reopened);
  expect(reopened.check().ok).toBe(true);
  await reopened.close();
}

const entries = (db: Bin, o: object = {}) => [...db.getRange(o)].map((e) => `${e.key}=${e.value}`);

describe('the overlay', () => {
  it('tells apart keys whose hashes collide, and lists every key in order', () => {
    // Keys with equal 32-bit hashes exist among a few hundred thousand (birthday bound): find some.
    const byHash = new Map<number, Buffer>();
    const pairs: [Buffer, Buffer][] = [];
    for (let i = 0; pairs.length < 3; i++) {
      const k = Buffer.from(`k${i}`);
      const h = hashOf(k);
      const other = byHash.get(h);
      if (other) pairs.push([other, k]);
      else byHash.set(h, k);
    }
    const overlay = new Overlay();
    const keys = pairs.flat();
    overlay.apply(keys.map((k, i) => logRecord(LogKind.Insert, k, Buffer.from(`v${i}`))), 5, Infinity);
    overlay.apply([logRecord(LogKind.Remove, keys[1], undefined)], 6, 5); // a snapshot of txid 5 is open
    expect(overlay.size).toBe(6);
    keys.forEach((k, i) => expect(overlay.find(k, 5)?.toString()).toBe(`v${i}`));
    expect(overlay.find(keys[1], 6)).toBeNull();
    expect(overlay.find(keys[0], 4)).toBeUndefined();
    expect(overlay.find(Buffer.from('absent'), 9)).toBeUndefined();
    expect(Array.from(overlay.sorted(), (row) => overlay.keyAt(row).toString())).toEqual(keys.map(String).sort());
  });

  it('finds every key through table growth and across arena chunks, at each txid', () => {
    const overlay = new Overlay();
    const key = (i: number) => Buffer.from(`key-${i}`);
    const value = (i: number, round: number) => Buffer.alloc(500 + (i % 7), `${round}:${i}|`);
    // Round 1 inserts 3,000 keys (the table grows from 1,024 slots; 1.5 MB of values fill more than one chunk).
    overlay.apply(Array.from({ length: 3000 }, (_, i) => logRecord(LogKind.Insert, key(i), value(i, 1))), 10, Infinity);
    // Round 2, with a snapshot of txid 10 open: overwrites the even keys, removes every third.
    const round2 = Array.from({ length: 3000 }, (_, i) => i).filter((i) => i % 2 === 0 || i % 3 === 0);
    overlay.apply(round2.map((i) => (i % 3 === 0 ? logRecord(LogKind.Remove, key(i), undefined) : logRecord(LogKind.Overwrite, key(i), value(i, 2)))), 11, 10);
    expect(overlay.size).toBe(3000);
    for (let i = 0; i < 3000; i++) {
      expect(overlay.find(key(i), 10)).toEqual(value(i, 1));
      const now = overlay.find(key(i), 11);
      if (i % 3 === 0) expect(now).toBeNull();
      else expect(now).toEqual(value(i, i % 2 === 0 ? 2 : 1));
      expect(overlay.find(key(i), 9)).toBeUndefined();
    }
    expect(overlay.find(key(3000), 11)).toBeUndefined();

    // Versions kept while an old snapshot is open, dropped once none can see them.
    const k = key(1);
    const put = (txid: number, oldest: number) => overlay.apply([logRecord(LogKind.Overwrite, k, Buffer.from(`t${txid}`))], txid, oldest);
    put(12, 10);
    put(13, 10);
    expect([9, 10, 11, 12, 13].map((t) => overlay.find(k, t)?.toString())).toEqual([undefined, value(1, 1).toString(), value(1, 1).toString(), 't12', 't13']);
    put(14, 12); // nothing older than 12 is read now
    expect([10, 12, 13, 14].map((t) => overlay.find(k, t)?.toString())).toEqual([undefined, 't12', 't13', 't14']);
    put(15, 15); // a replay: every reader sees the newest
    expect([14, 15].map((t) => overlay.find(k, t)?.toString())).toEqual([undefined, 't15']);
    expect(overlay.delta).toBe(3000 - 1000);
  });
});

describe('the log', () => {
  it('takes small commits without touching the tree, and a reopen replays it', async () => {
    const path = newPath();
    let db: Bin = open(path, { ...BINARY, logLimit: 0 });
    await put(db, 0, 300, 'tree');
    const height = db.stats().height;
    await db.close();

    db = open(path, BINARY);
    const root = metaOf(path).root;
    await put(db, 100, 150, 'log'); // overwrites
    await put(db, 300, 320, 'log'); // inserts
    // key(305) was logged as an insert: its removal is the same key's record; key(999) was never there.
    await db.batch([{ type: 'del', key: key(0) }, { type: 'del', key: key(305) }, { type: 'del', key: key(999) }]);
    const s = db.stats();
    expect(s).toMatchObject({ height, entries: 318, logKeys: 71 });
    expect(s.logPages).toBeGreaterThan(0);
    expect(metaOf(path).root).toBe(root); // the tree was not rewritten

    const check = (d: Bin) => {
      expect(d.getSync(key(0))).toBeUndefined();
      expect(d.getSync(key(1))).toEqual(val('tree', 1));
      expect(d.getSync(key(120))).toEqual(val('log', 120));
      expect(d.getSync(key(310))).toEqual(val('log', 310));
      expect(d.getSync(key(305))).toBeUndefined();
      expect(d.count()).toBe(318);
      // Ranges merge the tree's entries with the log's, both ways.
      expect(entries(d, { start: key(98), end: key(102) })).toEqual(['key-000098=tree-98', 'key-000099=tree-99', 'key-000100=log-100', 'key-000101=log-101']);
      expect(entries(d, { start: key(306), end: key(302), reverse: true })).toEqual(['key-000306=log-306', 'key-000304=log-304', 'key-000303=log-303']);
      expect(entries(d, { limit: 2 })).toEqual(['key-000001=tree-1', 'key-000002=tree-2']);
      expect(d.check()).toMatchObject({ ok: true, problems: [] });
    };
    check(db);
    await db.close();
    db = open(path, BINARY);
    expect(db.stats()).toMatchObject({ logKeys: 71, logPages: s.logPages });
    check(db);
    await db.close();
  });

  it('logs a transaction of many more keys than the commit was sized for, overwrites and removals included', async () => {
    const path = newPath();
    const db: Bin = open(path, BINARY);
    await put(db, 0, 100, 'old');
    // One transaction: nothing tells the log its size in advance, so its change table grows many times.
    await db.transaction((tx) => {
      for (let i = 0; i < 1500; i++) tx.put(key(i), val('txn', i));
      for (let i = 0; i < 1500; i += 3) tx.remove(key(i));
      for (let i = 0; i < 1500; i += 6) tx.put(key(i), val('again', i));
    });
    const check = (d: Bin) => {
      expect(d.count()).toBe(1500 - 500 + 250);
      for (let i = 0; i < 1500; i++) {
        const want = i % 6 === 0 ? val('again', i) : i % 3 === 0 ? undefined : val('txn', i);
        expect(d.getSync(key(i))).toEqual(want);
      }
    };
    // Every key but the 250 removed and not put again, whose removals log nothing unless they were there (17 of them, below 100).
    expect(db.stats().logKeys).toBe(1500 - 250 + 17);
    await checkAcrossReopen(db, path, check);
  });

  it('counts keys a transaction read before writing them, whether the tree, the log or an earlier write of the commit held them', async () => {
    const path = newPath();
    const db: Bin = open(path, BINARY);
    await put(db, 0, LOG_COMMIT_KEYS + 1, 'tree'); // too many for the log: in the tree
    await put(db, 5000, 5020, 'log');
    expect(db.stats().logKeys).toBe(20);
    const before = LOG_COMMIT_KEYS + 1 + 20;
    // One turn, one commit: each transaction reads the keys it writes, as the server's commands do.
    const done = [
      db.batch([{ type: 'put', key: key(9000), value: val('batch', 9000) }]),
      db.transaction((tx) => {
        // Read, then overwritten or removed: in the tree, in the log, in this commit (9000), absent (9200).
        for (const i of [0, 5000, 9000, 9200]) expect(tx.get(key(i)) !== undefined).toBe(i !== 9200);
        tx.put(key(0), val('new', 0));
        tx.remove(key(5000));
        tx.remove(key(9000));
        tx.put(key(9200), val('new', 9200));
        // Read again after its own write, then removed: it was not there before the transaction.
        expect(tx.get(key(9200))).toEqual(val('new', 9200));
        tx.remove(key(9200));
        // Removed, then put back: it was there.
        expect(tx.remove(key(1))).toBe(true);
        tx.put(key(1), val('back', 1));
        // Never read: the log looks them up.
        tx.put(key(2), val('blind', 2));
        tx.put(key(9300), val('blind', 9300));
      }),
      db.transaction((tx) => {
        // Written by the transaction before it in the same commit.
        expect(tx.get(key(0))).toEqual(val('new', 0));
        expect(tx.get(key(5000))).toBeUndefined();
        tx.remove(key(0));
        tx.put(key(5000), val('again', 5000));
      }),
    ];
    await Promise.all(done);
    // Key 0 removed, 9300 new; 5000 went and came back, 9000 and 9200 came and went.
    const check = (d: Bin) => {
      expect(d.count()).toBe(before - 1 + 1);
      expect(d.getSync(key(0))).toBeUndefined();
      expect(d.getSync(key(1))).toEqual(val('back', 1));
      expect(d.getSync(key(5000))).toEqual(val('again', 5000));
      expect(d.getSync(key(9000))).toBeUndefined();
      expect(d.getSync(key(9200))).toBeUndefined();
      expect(d.getSync(key(9300))).toEqual(val('blind', 9300));
      expect([...d.getKeys()].length).toBe(d.count());
    };
    await checkAcrossReopen(db, path, check);
  });

  it('counts keys written with their presence told, as the server layout tells it', async () => {
    const path = newPath();
    const db: Bin = open(path, BINARY);
    await put(db, 0, LOG_COMMIT_KEYS + 1, 'tree'); // in the tree
    await put(db, 5000, 5010, 'log');
    const before = LOG_COMMIT_KEYS + 1 + 10;
    await db.transaction((t) => {
      const tx = t as KnownTransaction<Buffer, Buffer>;
      // Told: new (9100, 9101), there (0 in the tree, 5000 in the log); removed, told there (1, 5001).
      tx.putKnown(key(9100), val('new', 9100), false);
      tx.putKnown(key(9101), val('new', 9101), false);
      tx.putKnown(key(0), val('new', 0), true);
      tx.putKnown(key(5000), val('new', 5000), true);
      tx.removeKnown(key(1), true);
      tx.removeKnown(key(5001), true);
      // Told after a write of this transaction: what it wrote stands (9100 was new before it).
      tx.removeKnown(key(9100), true);
      // A read after a told write sees the write.
      expect(tx.get(key(9101))).toEqual(val('new', 9101));
    });
    const check = (d: Bin) => {
      expect(d.count()).toBe(before + 1 - 2);
      expect(d.getSync(key(9100))).toBeUndefined();
      expect(d.getSync(key(9101))).toEqual(val('new', 9101));
      expect(d.getSync(key(0))).toEqual(val('new', 0));
      expect(d.getSync(key(1))).toBeUndefined();
      expect(d.getSync(key(5001))).toBeUndefined();
      expect([...d.getKeys()].length).toBe(d.count());
      expect(d.check()).toMatchObject({ ok: true, entries: d.count() });
    };
    await checkAcrossReopen(db, path, check);
  });

  it('takes and answers the buffers of a binary root database as they are (getOwned, putOwned), and copies elsewhere', async () => {
    const db: Bin = open(newPath(), BINARY);
    const named = db.openDB('named', { keyEncoding: 'binary', valueEncoding: 'binary' }) as Bin;
    const v = val('owned', 1);
    for (const [d, uncopied] of [[db, true], [named, false]] as const) {
      await d.transaction((t) => {
        const tx = t as KnownTransaction<Buffer, Buffer>;
        tx.putOwned(key(1), v);
        expect(tx.getOwned(key(1)) === v).toBe(uncopied);
        expect(tx.getOwned(key(1))).toEqual(v);
        expect(tx.get(key(1))).not.toBe(v);
      });
      expect(d.getSync(key(1))).toEqual(v);
    }
    // Not both binary: as get and put.
    const packed = open(newPath(), { ...BINARY, valueEncoding: 'msgpack' }) as Database<Buffer, unknown>;
    await packed.transaction((t) => {
      const tx = t as KnownTransaction<Buffer, unknown>;
      tx.putOwned(key(2), { a: 1 });
      expect(tx.getOwned(key(2))).toEqual({ a: 1 });
    });
    expect(packed.getSync(key(2))).toEqual({ a: 1 });
    await Promise.all([db.close(), packed.close()]);
  });

  it('a cursor steps both ways over the tree and the log merged, turning anywhere', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 0 });
    await put(db, 0, 200, 't'); // tree: even and odd keys 0..199
    await db.close();
    const logged: Bin = open(db.path, BINARY);
    // Log: overwrites of multiples of 3, inserts 200..209, removes of multiples of 5.
    await logged.batch(Array.from({ length: 67 }, (_, i) => ({ type: 'put' as const, key: key(3 * i), value: val('l', 3 * i) })));
    await put(logged, 200, 210, 'l');
    await logged.batch(Array.from({ length: 42 }, (_, i) => ({ type: 'del' as const, key: key(5 * i) })));
    const want = [...Array(210).keys()].filter((i) => i % 5 !== 0).map((i) => `${key(i)}=${val(i % 3 === 0 || i >= 200 ? 'l' : 't', i)}`);
    expect(entries(logged)).toEqual(want);
    const snap = (logged as unknown as { snapshot(): Snapshot }).snapshot();
    const c = new Cursor(snap);
    const at = () => `${c.key}=${snap.value(c.value)}`;
    let i = 0;
    expect(c.seek()).toBe(true);
    // A walk that turns often: forward 7, back 3, forward 11, back 5, ...
    for (let leg = 0; leg < 40; leg++) {
      const steps = leg % 2 === 0 ? 7 + (leg % 5) : -(3 + (leg % 3));
      for (let n = 0; n < Math.abs(steps); n++) {
        const moved = steps > 0 ? c.next() : c.prev();
        i += Math.sign(steps);
        expect(moved).toBe(i >= 0 && i < want.length);
        if (!moved) break;
        expect(at()).toBe(want[i]);
      }
      if (i < 0 || i >= want.length) break;
    }
    expect(i).toBeGreaterThan(60);
    // Seeks land on the first entry at or past a key, or the last at or before it.
    expect(c.seek(key(10))).toBe(true);
    expect(at()).toBe(`${key(11)}=${val('t', 11)}`);
    expect(c.seekLast(key(15))).toBe(true);
    expect(at()).toBe(`${key(14)}=${val('t', 14)}`);
    expect(c.prev()).toBe(true);
    expect(at()).toBe(`${key(13)}=${val('t', 13)}`);
    expect(c.next() && c.next()).toBe(true);
    expect(at()).toBe(`${key(16)}=${val('t', 16)}`);
    snap.release();
    await logged.close();
  });

  it('checkpoints into the tree when it holds logLimit keys, and takes big commits straight to the tree', async () => {
    const path = newPath();
    const db: Bin = open(path, { ...BINARY, logLimit: 100 });
    await put(db, 0, 60, 'a');
    expect(db.stats()).toMatchObject({ height: 0, logKeys: 60, entries: 60 });
    await put(db, 60, 90, 'a');
    expect(db.stats()).toMatchObject({ logKeys: 90 });
    // 90 + 30 > 100: the log is full. A fold of its 90 keys begins, and
    // this commit is logged beside it (the log holds up to twice its limit
    // while it folds: writer.ts); the next write lands the fold.
    await put(db, 90, 120, 'a');
    expect(db.stats()).toMatchObject({ height: 0, logKeys: 120, entries: 120 });
    await landFold(db);
    const s = db.stats();
    expect(s).toMatchObject({ logKeys: 30, entries: 120 });
    expect(s.height).toBeGreaterThan(0);
    expect(metaOf(path).logPages).toBe(s.logPages);
    expect(db.getSync(key(75))).toEqual(val('a', 75));
    expect(db.getSync(key(105))).toEqual(val('a', 105));
    expect(db.check().ok).toBe(true);

    const big: Bin = open(newPath(), BINARY);
    await put(big, 0, LOG_COMMIT_KEYS + 1, 'b');
    expect(big.stats()).toMatchObject({ logKeys: 0, entries: LOG_COMMIT_KEYS + 1 });
    await put(big, 0, LOG_COMMIT_KEYS, 'c');
    expect(big.stats()).toMatchObject({ logKeys: LOG_COMMIT_KEYS, entries: LOG_COMMIT_KEYS + 1 });
    expect(big.check().ok).toBe(true);
    await Promise.all([db.close(), big.close()]);
  });

  it('logs a bigger commit when its keys do not rise (random writes), up to LOG_COMMIT_KEYS_SCATTERED', async () => {
    const db: Bin = open(newPath(), BINARY);
    await put(db, 0, 20_000, 'tree'); // one rising commit: the tree
    expect(db.stats()).toMatchObject({ logKeys: 0, entries: 20_000 });
    // The same keys in a scrambled order, in MSET-sized batches of one turn: the log takes them.
    const scrambled = (n: number, stride: number) => Array.from({ length: n }, (_, i) => (i * stride) % 20_000);
    const batches = (order: number[], tag: string) => {
      const done: Promise<void>[] = [];
      for (let i = 0; i < order.length; i += 10) {
        done.push(db.batch(order.slice(i, i + 10).map((k) => ({ type: 'put' as const, key: key(k), value: val(tag, k) }))));
      }
      return Promise.all(done);
    };
    await batches(scrambled(LOG_COMMIT_KEYS + 100, 7919), 'mset');
    expect(db.stats()).toMatchObject({ logKeys: LOG_COMMIT_KEYS + 100, entries: 20_000 });
    // Rising keys of the same size still go to the tree (with the log's changes).
    await put(db, 20_000, 20_000 + LOG_COMMIT_KEYS + 100, 'rise');
    expect(db.stats()).toMatchObject({ logKeys: 0, entries: 20_000 + LOG_COMMIT_KEYS + 100 });
    // And scattered ones past the larger limit too.
    await batches(scrambled(LOG_COMMIT_KEYS_SCATTERED + 10, 7919), 'big');
    expect(db.stats().logKeys).toBe(0);
    expect(db.getSync(key((5 * 7919) % 20_000))).toEqual(val('big', (5 * 7919) % 20_000));
    expect(db.getSync(key(20_001))).toEqual(val('rise', 20_001));
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('a checkpoint lets the event loop run while it folds the log, and reads see the last commit meanwhile', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 6000 });
    await put(db, 0, 3000, 'a');
    await put(db, 3000, 6000, 'a');
    expect(db.stats().logKeys).toBe(6000);
    // Too many keys for the log: a checkpoint of the log's 6,000 and these.
    const checkpoint = put(db, 6000, 6001 + LOG_COMMIT_KEYS, 'b');
    // A reader on every turn of the event loop, until the checkpoint's pages are written.
    const reader = readEachTurn(db, () => `${db.getSync(key(10))} ${db.count()} ${db.getSync(key(6001)) === undefined}`);
    await checkpoint;
    expect(db.stats()).toMatchObject({ logKeys: 0, entries: 6001 + LOG_COMMIT_KEYS });
    // The fold yields every 2,048 keys: the reader ran in between, and only saw the last commit.
    expect(reader.turns).toBeGreaterThanOrEqual(2);
    expect([...reader.seen]).toEqual(['a-10 6000 true']);
    await db.close();
  });

  it('a log commit of thousands of keys lets the event loop run while it is prepared, the commit before it publishing meanwhile; readers see each whole or not at all', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: LOG_COMMIT_KEYS_SCATTERED });
    await put(db, 0, 20_000, 'tree');
    // A: ten keys, logged. B, issued a turn later while A is in flight:
    // 10,000 other keys in a scrambled order, logged too (prepared on top of A).
    const a = db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: key(i), value: val('A', i) })));
    await new Promise((resolve) => setImmediate(resolve));
    const bKeys = Array.from({ length: 10_000 }, (_, i) => 10 + ((i * 7919) % 19_990));
    const b = db.batch(bKeys.map((k) => ({ type: 'put' as const, key: key(k), value: val('B', k) })));
    const writer = (db as unknown as { writer: { preparing: Promise<void> | undefined } }).writer;
    const sample = bKeys.filter((_, i) => i % 500 === 0);
    const seen = new Set<string>();
    let aPublishedWhileBPrepared = 0;
    let settled = false;
    void b.finally(() => (settled = true));
    const tick = () => {
      if (settled) return;
      const aNow = db.getSync(key(3))!.toString().startsWith('A') ? 'A' : '-';
      const bNow = sample.map((k) => (db.getSync(key(k))!.toString().startsWith('B') ? 'B' : '-')).join('');
      seen.add(`${aNow} ${bNow}`);
      if (aNow === 'A' && writer.preparing !== undefined) aPublishedWhileBPrepared++;
      setImmediate(tick);
    };
    setImmediate(tick);
    await Promise.all([a, b]);
    const none = '-'.repeat(sample.length);
    // Each commit is seen whole or not at all, and B never before A.
    expect([...seen].every((s) => [`- ${none}`, `A ${none}`, `A ${'B'.repeat(sample.length)}`].includes(s))).toBe(true);
    // A published, and readers ran, while B was still being prepared.
    expect(aPublishedWhileBPrepared).toBeGreaterThanOrEqual(1);
    expect(db.stats()).toMatchObject({ logKeys: 10_010, entries: 20_000 });
    await checkAcrossReopen(db, db.path, (d) => {
      expect(d.getSync(key(3))).toEqual(val('A', 3));
      for (const k of sample) expect(d.getSync(key(k))).toEqual(val('B', k));
    });
  });

  it('a snapshot keeps what it saw across log commits and a checkpoint', async () => {
    const db: Bin = open(newPath(), { ...BINARY, logLimit: 200 });
    await put(db, 0, 100, 'old');
    const held = db.getRange()[Symbol.iterator]();
    expect(held.next().value!.key).toEqual(key(0));
    await put(db, 0, 50, 'new'); // logged
    await db.remove(key(60)); // logged
    await put(db, 100, 250, 'new'); // the log is full: a fold begins
    await landFold(db); // the 51 keys logged before go to the tree; these 150 stay in the log
    expect(db.stats().logKeys).toBe(150);
    const rest = [...{ [Symbol.iterator]: () => held }].map((e) => `${e.key}=${e.value}`);
    expect(rest).toEqual(Array.from({ length: 99 }, (_, i) => `${key(i + 1)}=${val('old', i + 1)}`));
    expect(db.getSync(key(10))).toEqual(val('new', 10));
    expect(db.getSync(key(60))).toBeUndefined();
    expect(db.count()).toBe(249);
    await db.close();
  });

  it('reuses free pages for its own, so churn does not grow the file without bound', async () => {
    const path = newPath();
    let db: Bin = open(path, { ...BINARY, logLimit: 150 });
    const sizes: number[] = [];
    for (let round = 0; round < 60; round++) {
      // Overwrites of random keys: logged, with a checkpoint every few rounds.
      const ops = Array.from({ length: 40 }, (_, j) => ({ type: 'put' as const, key: key((round * 37 + j * 11) % 400), value: val(`r${round}`, j) }));
      await db.batch(ops);
      if (round % 9 === 8) {
        await db.close();
        db = open(path, { ...BINARY, logLimit: 150 });
        expect(db.check()).toMatchObject({ ok: true, problems: [] });
      }
      sizes.push(statSync(path).size);
    }
    // The file stops growing: the last 20 rounds (the log holds up to twice
    // its limit while a fold runs, so the steady state takes a few folds).
    expect(new Set(sizes.slice(40)).size).toBe(1);
    expect(sizes[59]).toBeLessThan(1.25 * sizes[25]);
    await db.close();
    expect(checkFile(path)).toMatchObject({ ok: true });
  });

  it('a damaged log page fails open and check, naming it', async () => {
    const path = newPath();
    const db: Bin = open(path, BINARY);
    await put(db, 0, 40, 'x');
    await put(db, 40, 42, 'y');
    await db.close();
    // A page of the older commit: the newest commit's own pages are checked as a possibly torn write (next test).
    const { log, newLogPages } = metaOf(path);
    expect(newLogPages).toBe(1);
    const older = readHeader(readPage(path, log)).next;
    expect(older).toBeGreaterThan(1);
    const fd = openSync(path, 'r+');
    writeSync(fd, Buffer.from([0xee]), 0, 1, older * 512 + 100);
    closeSync(fd);
    let thrown: unknown;
    try {
      open(path, BINARY);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(CorruptionError);
    expect(thrown).toMatchObject({ page: older, code: 'CORRUPTION' });
    expect(checkFile(path).problems).toEqual([{ page: older, message: 'checksum mismatch' }]);
  });

  /** A file whose last two commits are log commits: 40 keys, then 20 more. Returns its path and newest meta. */
  async function twoLogCommits(): Promise<{ path: string; meta: Meta }> {
    const path = newPath();
    const db: Bin = open(path, BINARY);
    await put(db, 0, 40, 'a');
    await put(db, 40, 60, 'b');
    await db.close();
    return { path, meta: metaOf(path) };
  }

  /** Writes `page` over page `pageNo` of the 512-byte-page file at `path`. */
  function writePage(path: string, pageNo: number, page: Buffer): void {
    const fd = openSync(path, 'r+');
    writeSync(fd, page, 0, 512, pageNo * 512);
    closeSync(fd);
  }

  // A log commit syncs once, pages and meta together: a crash can leave its
  // meta on disk without its pages, which then hold what was there before
  // (zeros, or an earlier, unsynced attempt at the same commit: a valid page
  // with other records), or lie past the file's end if its new length was
  // not synced either.
  for (const [what, damage] of [
    ['pages never written', (path: string, meta: Meta) => writePage(path, meta.log, readPage(path, meta.log).fill(0))],
    ['an earlier attempt at the same commit', (path: string, meta: Meta) => writePage(path, meta.log, seal(readPage(path, meta.log).fill(0x21, 200, 220)))],
    [
      'appended pages cut off with the end of the file',
      (path: string, meta: Meta) => {
        // A new file has no free pages: the last commit appended its log pages, so its newest is the file's last page.
        expect(statSync(path).size).toBe(meta.pageCount * 512);
        expect(meta.log).toBe(meta.pageCount - 1);
        truncateSync(path, meta.log * 512);
      },
    ],
  ] as const) {
    it(`a log commit whose pages did not reach the disk (${what}) is undone at open, and check says so`, async () => {
      const { path, meta } = await twoLogCommits();
      expect(meta.newLogPages).toBeGreaterThanOrEqual(1);
      damage(path, meta);
      const report = checkFile(path);
      expect(report.ok).toBe(false);
      expect(report.txid).toBe(meta.txid - 1);
      expect(report.problems).toEqual([
        { page: meta.txid % 2, message: expect.stringMatching(new RegExp(`txid ${meta.txid} .* newest, but its .*opening uses txid ${meta.txid - 1}$`)) },
      ]);
      let db: Bin = open(path, BINARY);
      expect(db.stats().txid).toBe(meta.txid - 1);
      expect(db.count()).toBe(40);
      expect(db.getSync(key(39))).toEqual(val('a', 39));
      expect(db.getSync(key(40))).toBeUndefined();
      expect(db.getSync(key(50))).toBeUndefined();
      // The next commit takes the torn one's txid and meta page; this handle's check still says what opening fell back from.
      await put(db, 40, 45, 'c');
      expect(db.check().problems).toEqual([{ page: db.recovery!.page, message: db.recovery!.reason }]);
      await db.close();
      db = open(path, BINARY);
      expect(db.count()).toBe(45);
      expect(db.getSync(key(44))).toEqual(val('c', 44));
      expect(db.check().ok).toBe(true);
      await db.close();
      expect(checkFile(path).ok).toBe(true);
    });
  }

  it('a torn log commit with no previous meta to fall back to is corruption', async () => {
    const { path, meta } = await twoLogCommits();
    writePage(path, meta.log, Buffer.alloc(512));
    writePage(path, (meta.txid + 1) % 2, Buffer.alloc(512)); // the previous meta, gone too
    expect(() => open(path, BINARY)).toThrow(CorruptionError);
    expect(() => open(path, BINARY)).toThrow(/no meta of txid \d+ to fall back to/);
    expect(checkFile(path).ok).toBe(false);
  });

  it('opens a version 1 file (before the log) and writes to it', async () => {
    const path = newPath();
    let db: Bin = open(path, { ...BINARY, logLimit: 0 });
    await put(db, 0, 100, 'v1');
    await put(db, 0, 10, 'v1b');
    await db.close();
    // Both metas back to version 1, as the code before the log wrote them.
    const fd = openSync(path, 'r+');
    for (const slot of [0, 1]) {
      const page = Buffer.alloc(512);
      readSync(fd, page, 0, 512, slot * 512);
      page.writeUInt32LE(1, 40);
      page.fill(0, 88, 104);
      writeSync(fd, seal(page), 0, 512, slot * 512);
    }
    closeSync(fd);
    const options: OpenOptions = BINARY;
    db = open(path, options);
    expect(db.getSync(key(5))).toEqual(val('v1b', 5));
    await put(db, 200, 210, 'v2');
    await db.close();
    db = open(path, options);
    expect(db.count()).toBe(110);
    expect(db.getSync(key(205))).toEqual(val('v2', 205));
    expect(db.check().ok).toBe(true);
    await db.close();
  });
});
