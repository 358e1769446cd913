// A write that fails because a page it needs is damaged fails alone: the
// other writes of its commit are committed and acknowledged. Each write is
// all or nothing (a put, a db.batch, a transaction), and the puts of one
// turn, though packed into one batch, are each a write of their own. Run on
// the log (small commits), on the tree (logLimit 0), and on a checkpoint
// that takes over a commit the log could not.
import { openSync, closeSync, readFileSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptionError, ReadFailedError, open, type Database, type OpenOptions } from '../src/index.js';
import { PageType, decodeBranch, readHeader } from '../src/format/page.js';
import { layout } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const P = 512;
const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
type Bin = Database<Buffer, Buffer>;
const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
const val = (tag: string, i: number) => Buffer.alloc(40, `${tag}${i}`);

/** [where, open options, whether each turn also puts a value too long for a log record] */
const MODES: [string, OpenOptions, boolean][] = [
  ['the log', {}, false],
  ['the tree', { logLimit: 0 }, false],
  // The commit runs on the log first; the long value then makes it a checkpoint, which runs it again on the tree.
  ['a checkpoint after the log', {}, true],
];
const LONG = Buffer.alloc(300, 'long');

/**
 * A closed store of 600 keys over three levels, and in it a damaged leaf
 * (`bad`: it holds `badKey` and the keys up to `afterBad`) and a healthy
 * leaf that shares its parent and lies left of it (its keys `leftKeys`).
 */
async function damaged(): Promise<{ path: string; bad: number; badKey: Buffer; afterBad: Buffer; leftKeys: Buffer[] }> {
  const path = join(tmp.dir, `${seq++}.db`);
  const db: Bin = open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0 });
  await db.batch(Array.from({ length: 600 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: val('old', 2 * i) })));
  await db.close();
  const { levels, firstKey } = layout(path, P);
  expect(levels.length).toBe(3);
  const file = Buffer.alloc(P);
  const fd = openSync(path, 'r+');
  try {
    // A branch of the second level with at least three children: damage its second.
    const parent = levels[1].find((n) => (readSync(fd, file, 0, P, n * P), decodeBranch(file, n).children.length >= 3))!;
    readSync(fd, file, 0, P, parent * P);
    const [left, bad, right] = decodeBranch(file, parent).children;
    const badKey = firstKey(bad);
    const afterBad = firstKey(right);
    const leftKeys = Array.from({ length: 600 }, (_, i) => key(2 * i)).filter((k) => k.compare(firstKey(left)) >= 0 && k.compare(badKey) < 0);
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, bad * P + 100);
    b[0] ^= 0x5a;
    writeSync(fd, b, 0, 1, bad * P + 100);
    return { path, bad, badKey, afterBad, leftKeys };
  } finally {
    closeSync(fd);
  }
}

// A read under lookup 'auto' may walk or run a chain (which says it found it): either names the page.
const corrupt = (page: number) =>
  expect.objectContaining({ name: 'CorruptionError', code: 'CORRUPTION', page, reason: expect.stringMatching(/^checksum mismatch( \(found by the xrp lookup\))?$/) });

/** The promise's outcome, without letting a rejection go unhandled. */
const outcome = (p: Promise<unknown>) => p.then(
  (value) => ({ ok: true as const, value }),
  (error: unknown) => ({ ok: false as const, error }),
);

describe.each(MODES)('a damaged page fails only the writes that need it, on %s', (_mode, options, long) => {
  /** The long value's put, in the turns that have one. */
  const longPut = (db: Bin) => (long ? [outcome(db.put(key(9), LONG))] : []);
  const openBin = (path: string): Bin => open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', ...options });

  it('the puts of one turn: each stands alone', async () => {
    const { path, bad, badKey, afterBad } = await damaged();
    let db = openBin(path);
    const before = db.count();
    // 100 puts in one turn (one packed batch), spread over the tree outside
    // the damaged leaf; and an overwrite and an insert in it among them.
    const keys: Buffer[] = Array.from({ length: 130 }, (_, i) => key(12 * i + 1))
      .filter((k) => k.compare(badKey) < 0 || k.compare(afterBad) >= 0)
      .slice(0, 100);
    expect(keys.length).toBe(100);
    keys.splice(40, 0, badKey, Buffer.concat([badKey, Buffer.from('+')]));
    const puts = keys.map((k, i) => outcome(db.put(k, val('new', i))));
    const results = await Promise.all([...puts, ...longPut(db)]);
    if (long) expect(results.pop()).toEqual({ ok: true, value: undefined });
    results.forEach((r, i) => {
      if (i === 40 || i === 41) expect(r).toEqual({ ok: false, error: corrupt(bad) });
      else expect(r).toEqual({ ok: true, value: undefined });
    });
    expect((results[40] as { error: unknown }).error).toBeInstanceOf(CorruptionError);
    await db.close();
    // Durable: every healthy put is there after reopening, and the count is right.
    db = openBin(path);
    keys.forEach((k, i) => {
      if (i !== 40 && i !== 41) expect(db.getSync(k)).toEqual(val('new', i));
    });
    expect(db.count()).toBe(before + 100 + (long ? 1 : 0)); // all inserts: the store's keys are even
    expect(() => db.getSync(badKey)).toThrow(corrupt(bad));
    expect(db.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    await db.close();
  });

  it('putJoined: the batch says which of its puts failed alone, put and putJoined mixed in one turn', async () => {
    const { path, bad, badKey, afterBad } = await damaged();
    const db = openBin(path);
    const healthy = Array.from({ length: 130 }, (_, i) => key(12 * i + 1)).filter((k) => k.compare(badKey) < 0 || k.compare(afterBad) >= 0);
    // Index in the batch: 0 put, 1 putJoined, 2 putJoined (damaged), 3 put (damaged), 4 putJoined, 5 put.
    const p0 = outcome(db.put(healthy[0], val('p', 0)));
    const joined = db.putJoined(healthy[1], val('j', 1));
    expect(joined.count).toBe(2);
    expect(db.putJoined(badKey, val('j', 2))).toBe(joined);
    const p3 = outcome(db.put(Buffer.concat([badKey, Buffer.from('+')]), val('p', 3)));
    db.putJoined(healthy[2], val('j', 4));
    const p5 = outcome(db.put(healthy[3], val('p', 5)));
    expect(joined.count).toBe(6);
    const extra = long ? longPut(db) : [];
    await joined.done;
    expect(joined.failed).toBe(2);
    expect([0, 1, 2, 3, 4, 5].map((i) => joined.failure(i) !== undefined)).toEqual([false, false, true, true, false, false]);
    expect(joined.failure(2)).toEqual(corrupt(bad));
    // Each put's own promise still answers for its own put.
    expect(await Promise.all([p0, p3, p5, ...extra])).toEqual([
      { ok: true, value: undefined },
      { ok: false, error: corrupt(bad) },
      { ok: true, value: undefined },
      ...(long ? [{ ok: true, value: undefined }] : []),
    ]);
    expect(db.getSync(healthy[1])).toEqual(val('j', 1));
    expect(db.getSync(healthy[2])).toEqual(val('j', 4));
    expect(db.getSync(healthy[3])).toEqual(val('p', 5));
    // Inside a transaction callback, its put is the one to use.
    await db.transaction(() => expect(() => db.putJoined(healthy[4], val('t', 0))).toThrow(/putJoined inside a transaction/));
    await db.close();
  });

  it('a batch, a removal and a transaction that need the page fail whole; the rest of their commit stands', async () => {
    const { path, bad, badKey, leftKeys } = await damaged();
    let db = openBin(path);
    const healthy = leftKeys[0];
    const results = await Promise.all([
      outcome(db.put(key(1), val('put', 1))),
      // Its first put is to a healthy leaf: it must not stay when the second fails.
      outcome(db.batch([{ type: 'put', key: healthy, value: val('batch', 0) }, { type: 'put', key: badKey, value: val('batch', 1) }])),
      // Sees the commit without the failed batch.
      outcome(db.transaction((tx) => tx.get(healthy))),
      outcome(db.remove(badKey)),
      outcome(db.transaction((tx) => {
        tx.put(key(3), val('txn', 3));
        tx.put(badKey, val('txn', 0));
      })),
      outcome(db.transaction((tx) => tx.get(badKey))),
      outcome(db.batch([{ type: 'put', key: key(5), value: val('batch', 5) }])),
      outcome(db.transaction((tx) => {
        tx.put(key(7), val('txn', 7));
        return 'done';
      })),
      ...longPut(db),
    ]);
    if (long) expect(results.pop()).toEqual({ ok: true, value: undefined });
    expect(results).toEqual([
      { ok: true, value: undefined },
      { ok: false, error: corrupt(bad) },
      { ok: true, value: val('old', Number(healthy.subarray(4).toString())) },
      { ok: false, error: corrupt(bad) },
      { ok: false, error: corrupt(bad) },
      { ok: false, error: corrupt(bad) },
      { ok: true, value: undefined },
      { ok: true, value: 'done' },
    ]);
    await db.close();
    db = openBin(path);
    expect(db.getSync(key(1))).toEqual(val('put', 1));
    expect(db.getSync(healthy)).toEqual(val('old', Number(healthy.subarray(4).toString())));
    expect(db.getSync(key(3))).toBeUndefined();
    expect(db.getSync(key(5))).toEqual(val('batch', 5));
    expect(db.getSync(key(7))).toEqual(val('txn', 7));
    expect(db.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    await db.close();
  });

  it('emptying the leaf beside the damaged one commits, though it cannot be merged with it', async () => {
    const { path, bad, leftKeys } = await damaged();
    let db = openBin(path);
    const [emptied] = await Promise.all([outcome(db.batch(leftKeys.slice(1).map((k) => ({ type: 'del' as const, key: k })))), ...longPut(db)]);
    expect(emptied).toEqual({ ok: true, value: undefined });
    await db.put(key(1), val('put', 1));
    await db.close();
    db = openBin(path);
    expect(db.getSync(leftKeys[0])).toEqual(val('old', Number(leftKeys[0].subarray(4).toString())));
    for (const k of leftKeys.slice(1)) expect(db.getSync(k)).toBeUndefined();
    expect(db.getSync(key(1))).toEqual(val('put', 1));
    expect(db.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    await db.close();
  });
});

/** A closed store holding `x`, whose value's second (last) overflow page is damaged, and `y`; returns that page. */
async function damagedChain(path: string): Promise<number> {
  const db: Bin = open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary' });
  await db.batch([
    { type: 'put', key: Buffer.from('x'), value: Buffer.alloc(700, 'x') }, // two overflow pages
    { type: 'put', key: Buffer.from('y'), value: Buffer.from('old') },
  ]);
  await db.close();
  const file = readFileSync(path);
  const header = (n: number) => readHeader(file.subarray(n * P, (n + 1) * P));
  const overflow = Array.from({ length: file.length / P }, (_, n) => n).filter((n) => header(n).type === PageType.Overflow);
  expect(overflow.length).toBe(2);
  const last = overflow.find((n) => header(n).next === 0)!;
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0xff]), 0, 1, last * P + 100);
  closeSync(fd);
  return last;
}

describe('a value whose overflow chain is damaged', () => {
  const x = Buffer.from('x');
  const y = Buffer.from('y');
  const z = Buffer.from('z');
  const openBin = (path: string): Bin => open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary' });

  it('cannot be replaced, and none of its pages is freed', async () => {
    const path = join(tmp.dir, `${seq++}.db`);
    const damagedPage = await damagedChain(path);
    let db = openBin(path);
    // One turn, one checkpoint (z is too long for the log): replacing x reads its chain to free it.
    const results = await Promise.all([outcome(db.put(x, Buffer.from('short'))), outcome(db.put(z, Buffer.alloc(300, 'z')))]);
    expect(results).toEqual([
      { ok: false, error: corrupt(damagedPage) },
      { ok: true, value: undefined },
    ]);
    await db.close();
    db = openBin(path);
    expect(db.getSync(z)).toEqual(Buffer.alloc(300, 'z'));
    // The chain's first page is not on the freelist: only the damaged page is a problem.
    expect(db.check().problems).toEqual([{ page: damagedPage, message: 'checksum mismatch' }]);
    await db.close();
  });

  it('fails a batch whose write to it a transaction saw, and the transaction runs again without it', async () => {
    const path = join(tmp.dir, `${seq++}.db`);
    const damagedPage = await damagedChain(path);
    let db = openBin(path);
    let runs = 0;
    const results = await Promise.all([
      // On the log this needs no overflow page (it only asks whether x is there), and stands.
      outcome(db.batch([{ type: 'put', key: y, value: Buffer.from('new') }, { type: 'put', key: x, value: Buffer.from('short') }])),
      outcome(db.transaction((tx) => (runs++, tx.get(y)!.toString()))),
      // Too long for the log: the commit becomes a checkpoint, where replacing x reads its chain.
      outcome(db.put(z, Buffer.alloc(300, 'z'))),
    ]);
    expect(results).toEqual([
      { ok: false, error: corrupt(damagedPage) },
      { ok: true, value: 'old' },
      { ok: true, value: undefined },
    ]);
    expect(runs).toBe(2);
    await db.close();
    db = openBin(path);
    expect(db.getSync(y)).toEqual(Buffer.from('old'));
    expect(db.getSync(z)).toEqual(Buffer.alloc(300, 'z'));
    expect(() => db.getSync(x)).toThrow(corrupt(damagedPage));
    expect(db.check().problems).toEqual([{ page: damagedPage, message: 'checksum mismatch' }]);
    await db.close();
  });
});

describe('a root page that cannot be read', () => {
  it('fails each put that needs it, and is not taken for an empty tree', async () => {
    const path = join(tmp.dir, `${seq++}.db`);
    let db: Bin = open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0 });
    await db.batch(Array.from({ length: 600 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: val('old', 2 * i) })));
    await db.close();
    const { root } = layout(path, P).meta;
    db = open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0 });
    // The system refuses to read the root (as after its cached copy was dropped, on a failing disk).
    const pager = (db as unknown as { state: { pager: { read(n: number, types?: unknown): Buffer } } }).state.pager;
    const read = pager.read.bind(pager);
    pager.read = (n, types) => {
      if (n === root) throw new ReadFailedError(path, n, Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO', errno: -5 }));
      return read(n, types);
    };
    const results = await Promise.all([outcome(db.put(key(1), val('new', 1))), outcome(db.put(key(3), val('new', 3)))]);
    const failed = { ok: false, error: expect.objectContaining({ code: 'READ_FAILED', page: root, systemCode: 'EIO' }) };
    expect(results).toEqual([failed, failed]);
    pager.read = read;
    expect(db.count()).toBe(600);
    await db.close();
    db = open(path, { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary' });
    expect(db.count()).toBe(600);
    expect(db.getSync(key(1))).toBeUndefined();
    expect(db.check().ok).toBe(true);
    await db.close();
  });
});
