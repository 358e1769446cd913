// The `xrp` lookup (src/store/xrp-lookup.ts) against `walk`: the same random
// workload through both, at every page size and with 0, 1 and 2 cached
// levels (and kernel-compatible 512-byte reads), compared after every commit
// through getSync, get and getMany; reads racing commits; which runtime call
// each read uses; corrupt pages.
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptionError, XrpProgram, open, type Database, type OpenOptions } from '../src/index.js';
import { HEADER, maxInline, maxKeyLen, seal } from '../src/format/page.js';
import { layout, random, randomOps } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
afterEach(() => vi.restoreAllMocks());
let seq = 0;
type Bin = Database<Buffer, Buffer>;
// No log by default: a logged key is answered from memory, without a chain.
const BINARY = { keyEncoding: 'binary', valueEncoding: 'binary', sync: false, logLimit: 0 } as const;
const fresh = (options: OpenOptions = {}): Bin => open(join(tmp.dir, `${seq++}.db`), { ...BINARY, ...options });


const hex = (v: Buffer | undefined) => (v === undefined ? '-' : v.toString('hex'));
/** Chains an xrp database has run (the cached levels answer some lookups without one). */
const chains = (db: Bin) => db.xrpChains;

async function workload(pageSize: number, seed: number, rounds: number): Promise<void> {
  const rnd = random(seed);
  const walk = fresh({ pageSize, lookup: 'walk', cacheLevels: 1 });
  const xrps: [string, Bin][] = [0, 1, 2].map((c) => [`xrp cacheLevels ${c}`, fresh({ pageSize, lookup: 'xrp', cacheLevels: c })]);
  if (pageSize === 512) xrps.push(['xrp kernel mode', fresh({ pageSize, lookup: 'xrp', cacheLevels: 0, xrpMode: 'kernel' })]);
  // Keys in the log and in the tree at once: lookups and range.c's scans merged with the log.
  const logged: [string, Bin] = ['xrp with a log', fresh({ pageSize, lookup: 'xrp', cacheLevels: 1, logLimit: 300 })];
  xrps.push(logged);
  const all: Bin[] = [walk, ...xrps.map((x) => x[1])];
  expect(walk.lookup).toBe('walk');
  for (const [, db] of xrps) expect(db.stats().backend).toBe('xrp');

  const maxKey = maxKeyLen(pageSize);
  // Shared prefixes make long separators; one in six keys is near the limit.
  const keys = Array.from({ length: 2500 }, (_, i) => {
    const len = i === 0 ? 0 : i % 6 === 0 ? maxKey - rnd(4) : 1 + rnd(20);
    const k = Buffer.alloc(len);
    for (let j = 0; j < len; j++) k[j] = j < 2 ? rnd(4) : rnd(256);
    return k;
  });
  const inline = maxInline(pageSize);
  // Every third round only inline values: a commit with an overflow value
  // cannot be logged, so those rounds are the ones the log takes.
  let overflow = true;
  const value = () => {
    const r = rnd(overflow ? 100 : 80);
    const len = r < 5 ? 0 : r < 80 ? rnd(inline + 1) : r < 95 ? inline + 1 + rnd(2 * pageSize) : rnd(4 * pageSize);
    return Buffer.alloc(len, rnd(256));
  };
  const oracle = new Map<string, Buffer>();
  let loggedRounds = 0;

  for (let round = 0; round < rounds; round++) {
    // One commit's worth of operations, the same on every database.
    overflow = round % 3 !== 1;
    const ops = randomOps(rnd, 20 + rnd(round < 10 ? 300 : 60), keys, value, oracle, 4);
    await Promise.all(all.map((db) => db.batch(ops)));
    if (logged[1].stats().logKeys > 0) loggedRounds++;

    // Present and absent keys: pool keys, their neighbours, and keys at the length limit.
    const queries: Buffer[] = [];
    for (let i = 0; i < 40; i++) {
      const k = keys[rnd(keys.length)];
      const r = rnd(5);
      if (r === 0) queries.push(Buffer.concat([k, Buffer.from([rnd(256)])]).subarray(0, maxKey));
      else if (r === 1 && k.length > 0) queries.push(k.subarray(0, k.length - 1));
      else if (r === 2) queries.push(Buffer.alloc(maxKey, rnd(256)));
      else queries.push(k);
    }
    const want = queries.map((k) => hex(oracle.get(hex(k))));
    for (const db of all) expect(queries.map((k) => hex(db.getSync(k)))).toEqual(want);
    for (const [, db] of xrps) {
      expect((await Promise.all(queries.slice(0, 8).map((k) => db.get(k)))).map(hex)).toEqual(want.slice(0, 8));
      expect((await db.getMany(queries)).map(hex)).toEqual(want);
      expect(queries.map((k) => db.has(k))).toEqual(want.map((w) => w !== '-'));
    }

    // Range scans (bpf/range.c on the xrp databases, forward) from random
    // starts, to random ends, with random limits, against the oracle.
    const sorted = [...oracle.keys()].sort();
    for (let i = 0; i < 6; i++) {
      const start = rnd(4) === 0 ? undefined : queries[rnd(queries.length)];
      const end = rnd(3) === 0 ? undefined : queries[rnd(queries.length)];
      const limit = [1, 2, 7, 50, Infinity][rnd(5)];
      const expected = sorted
        .filter((k) => (start === undefined || k >= hex(start)) && (end === undefined || k < hex(end)))
        .slice(0, limit)
        .map((k) => `${k}=${hex(oracle.get(k))}`);
      for (const db of all) {
        const got = [...db.getRange({ start, end, limit })].map(({ key, value }) => `${hex(key)}=${hex(value)}`);
        expect(got).toEqual(expected);
      }
    }
  }
  // Tall enough that every xrp database ran chains below its cached levels.
  const height = walk.stats().height;
  expect(height).toBeGreaterThanOrEqual(3);
  for (const [name, db] of xrps) expect(chains(db), name).toBeGreaterThan(0);
  for (const db of all) if (db !== logged[1]) expect(db.stats().height).toBe(height);
  expect(loggedRounds).toBeGreaterThan(rounds / 6);
  // A full scan through range.c, resumed many times, and a reverse one (the TypeScript cursor).
  const everything = [...oracle.keys()].sort();
  for (const [name, db] of xrps) {
    const before = chains(db);
    expect([...db.getRange()].map(({ key }) => hex(key)), name).toEqual(everything);
    expect(chains(db) - before, name).toBeGreaterThan(1);
    expect([...db.getRange({ reverse: true })].map(({ key }) => hex(key)), name).toEqual([...everything].reverse());
  }
  await Promise.all(all.map((db) => db.close()));
}

describe('xrp lookups give what walk gives', () => {
  for (const pageSize of [512, 1024, 2048, 4096]) {
    it(`random puts, overwrites, removes and overflow values with ${pageSize}-byte pages`, async () => {
      await workload(pageSize, pageSize * 7 + 1, pageSize <= 1024 ? 25 : 35);
    });
  }
});

describe('the xrp path', () => {
  it("'xrp' runs chains in the emulator, 'walk' none; stats say which (test/store-auto.test.ts: 'auto')", async () => {
    const walk = fresh({ lookup: 'walk' });
    expect(walk.lookup).toBe('walk');
    expect(walk.lookupReason).toBe("lookup 'walk' was asked for");
    expect(walk.stats().backend).toBe('walk');
    const xrp = fresh({ lookup: 'xrp' });
    expect(xrp.lookupReason).toMatch(/bpf\/lookup.c on the XRP emulator \(lookup 'xrp' was asked for\); reads: /);
    expect(xrp.stats().backend).toBe('xrp');
    expect(xrp.stats().lookups).toBeUndefined();
    await Promise.all([walk.close(), xrp.close()]);
    expect(() => fresh({ pageSize: 1024, xrpMode: 'kernel' })).toThrow(/needs 512-byte pages/);
    expect(() => fresh({ xrpMode: 'fast' as never })).toThrow(RangeError);
  });

  it('sync chains find a key after a longer one that it prefixes, their scratch reused in place', async () => {
    // The store's sync io keeps what earlier chains left (xrp-lookup.ts): the
    // bytes of a longer key past a shorter one's length must not count.
    const db = fresh({ pageSize: 512, lookup: 'xrp', cacheLevels: 0 });
    const keys = ['k', 'ka', 'kab', 'kabc', 'kabcd', 'kabcdefgh'].map((k) => Buffer.from(k));
    await db.batch(keys.filter((_, i) => i % 2 === 0).map((key) => ({ type: 'put', key, value: Buffer.concat([key, Buffer.from('!')]) })));
    const runSync = vi.spyOn(XrpProgram.prototype, 'runSyncIo');
    for (const order of [keys, [...keys].reverse(), [keys[5], keys[0], keys[4], keys[1], keys[3], keys[2]]]) {
      for (const key of order) {
        const i = keys.indexOf(key);
        expect(db.getSync(key)?.toString()).toBe(i % 2 === 0 ? `${key}!` : undefined);
      }
    }
    expect(runSync).toHaveBeenCalledTimes(18);
    await db.close();
  });

  it('getSync runs runSyncIo; concurrent gets and getMany run as gathered batches, off the event loop', async () => {
    const db = fresh({ pageSize: 512, lookup: 'xrp', cacheLevels: 0 });
    const keys = Array.from({ length: 300 }, (_, i) => Buffer.from(`key-${i}`));
    await db.batch(keys.map((key, i) => ({ type: 'put', key, value: Buffer.from(`v${i}`) })));
    const runSync = vi.spyOn(XrpProgram.prototype, 'runSyncIo');
    const run = vi.spyOn(XrpProgram.prototype, 'run');
    const runBatch = vi.spyOn(XrpProgram.prototype, 'runBatchPacked');
    expect(hex(db.getSync(keys[5]))).toBe(hex(Buffer.from('v5')));
    expect(runSync).toHaveBeenCalledTimes(1);
    let ticked = false;
    setImmediate(() => (ticked = true));
    // A turn's gets: one batch once the turn's callbacks have run, or one per 16 gathered.
    const gets = [db.get(keys[7]), db.get(keys[8]), db.get(Buffer.from('absent'))];
    expect(runBatch).not.toHaveBeenCalled();
    expect((await Promise.all(gets)).map(String)).toEqual(['v7', 'v8', 'undefined']);
    expect(runBatch).toHaveBeenCalledTimes(1);
    expect(runBatch.mock.calls[0][1].count).toBe(3);
    const many = await Promise.all(keys.slice(0, 40).map((k) => db.get(k)));
    expect(many.map(String)).toEqual(keys.slice(0, 40).map((_, i) => `v${i}`));
    expect(runBatch.mock.calls.slice(1).map((c) => c[1].count)).toEqual([16, 16, 8]);
    runBatch.mockClear();
    const all = await db.getMany([...keys, Buffer.from('absent')]);
    // Handed over 16 at a time as the keys are descended.
    expect(runBatch.mock.calls.map((c) => c[1].count)).toEqual([...Array.from({ length: 18 }, () => 16), 13]);
    expect(all.map(String)).toEqual([...keys.map((_, i) => `v${i}`), 'undefined']);
    expect(run).not.toHaveBeenCalled();
    expect(await db.getMany([])).toEqual([]);
    expect(ticked || (await new Promise((r) => setImmediate(() => r(ticked))))).toBe(true);
    await db.close();
    await expect(db.get(keys[1])).rejects.toThrow(/closed/);
  });

  it('a buffered sync chain reads its hops out of the store\'s map: no read system call on a warm page', async () => {
    // Per thread (/proc/thread-self/io): other threads' reads do not count.
    const syscr = () => Number(/syscr: (\d+)/.exec(readFileSync('/proc/thread-self/io', 'latin1'))![1]);
    for (const mapReads of [true, false]) {
      const db = fresh({ pageSize: 4096, lookup: 'xrp', cacheLevels: 1, mapReads, direct: false });
      const keys = Array.from({ length: 3000 }, (_, i) => Buffer.from(`key-${String(i).padStart(6, '0')}`));
      await db.batch(keys.map((key, i) => ({ type: 'put', key, value: Buffer.from(`v${i}`) })));
      expect(db.stats().height).toBeGreaterThanOrEqual(2); // the root cached (cacheLevels 1), a chain per leaf
      for (const k of keys) db.getSync(k); // warm: every page in the kernel's cache (and the map)
      const before = syscr();
      const chainsBefore = chains(db);
      for (let i = 0; i < 500; i++) expect(String(db.getSync(keys[(i * 7) % keys.length]))).toBe(`v${(i * 7) % keys.length}`);
      const reads = syscr() - before;
      expect(chains(db) - chainsBefore).toBe(500);
      // Without the map each chain's leaf is a pread.
      if (mapReads) expect(reads).toBeLessThan(50);
      else expect(reads).toBeGreaterThanOrEqual(500);
      await db.close();
    }
  });

  it('a file cut short under a mapped store: sync chains past the cut raise CorruptionError, none answers wrong or dies of SIGBUS', async () => {
    const path = join(tmp.dir, `${seq++}.db`);
    const db = open(path, { ...BINARY, pageSize: 4096, lookup: 'xrp', cacheLevels: 1, direct: false });
    const keys = Array.from({ length: 20000 }, (_, i) => Buffer.from(`key-${String(i).padStart(7, '0')}`));
    await db.batch(keys.map((key, i) => ({ type: 'put', key, value: Buffer.alloc(60, i & 255) })));
    for (const k of keys) db.getSync(k); // every leaf in the map
    const size = statSync(path).size;
    truncateSync(path, Math.floor(size / 2 / 4096) * 4096);
    let right = 0;
    let failed = 0;
    for (let i = 0; i < keys.length; i += 7) {
      try {
        const v = db.getSync(keys[i]);
        expect(v?.length === 60 && v[0] === (i & 255)).toBe(true);
        right++;
      } catch (e) {
        expect(e).toBeInstanceOf(CorruptionError);
        failed++;
      }
    }
    expect(right).toBeGreaterThan(0);
    expect(failed).toBeGreaterThan(0);
    await db.close().catch(() => undefined);
  });

  it("a sync chain's uncopied value (getBinaryFast) is the store's own: another store's chains leave it", async () => {
    const a = fresh({ pageSize: 4096, lookup: 'xrp', cacheLevels: 0, direct: false });
    const b = fresh({ pageSize: 4096, lookup: 'xrp', cacheLevels: 0, direct: false });
    await a.put(Buffer.from('k'), Buffer.from('from a'));
    await b.put(Buffer.from('k'), Buffer.from('b, longer than a'));
    const seen = a.getBinaryFast(Buffer.from('k'));
    expect(String(b.getBinaryFast(Buffer.from('k')))).toBe('b, longer than a');
    expect(String(seen)).toBe('from a');
    expect(String(a.getSync(Buffer.from('k')))).toBe('from a');
    await Promise.all([a.close(), b.close()]);
  });

  for (const sync of [false, true]) {
    it(`reads right after each commit see it (sync: ${sync})`, async () => {
      const db = fresh({ pageSize: 1024, lookup: 'xrp', cacheLevels: 0, sync });
      // As the store's own: the default `direct: 'auto'` is O_DIRECT where the file system allows it when commits sync, else buffered.
      expect(db.lookupReason).toMatch(db.stats().direct ? /reads: direct/ : /reads: buffered/);
      expect(db.stats().direct).toBe(sync && !db.stats().access.startsWith('buffered'));
      const key = (i: number) => Buffer.from(`k${String(i).padStart(5, '0')}`);
      const val = (i: number, gen: number) => Buffer.alloc(i % 9 === 0 ? 1500 : 40, (i + gen) & 0xff);
      for (let gen = 0; gen < (sync ? 15 : 60); gen++) {
        const batch = Array.from({ length: 40 }, (_, j) => (gen * 37 + j * 11) % 1200);
        await db.batch(batch.map((i) => ({ type: 'put', key: key(i), value: val(i, gen) })));
        for (const i of batch) {
          expect(hex(db.getSync(key(i)))).toBe(hex(val(i, gen)));
        }
        expect((await db.getMany(batch.map(key))).map(hex)).toEqual(batch.map((i) => hex(val(i, gen))));
        const removed = batch[0];
        await db.remove(key(removed));
        expect(db.getSync(key(removed))).toBeUndefined();
        expect(await db.get(key(removed))).toBeUndefined();
      }
      expect(db.check()).toMatchObject({ ok: true });
      await db.close();
    });
  }

  it('an async read racing commits sees one snapshot: the value before or after', async () => {
    const db = fresh({ pageSize: 512, lookup: 'xrp', cacheLevels: 1 });
    const key = (i: number) => Buffer.from(`r${i}`);
    const val = (i: number, gen: number) => Buffer.alloc(i % 5 === 0 ? 700 : 30, gen & 0xff);
    await db.batch(Array.from({ length: 500 }, (_, i) => ({ type: 'put', key: key(i), value: val(i, 0) })));
    for (let gen = 1; gen <= 40; gen++) {
      const ids = Array.from({ length: 30 }, (_, j) => (gen * 13 + j * 17) % 500);
      const old = new Map(ids.map((i) => [i, hex(db.getSync(key(i)))]));
      const reads = ids.map((i) => db.get(key(i)).then((v) => [i, hex(v)] as const));
      const many = db.getMany(ids.map(key));
      // Commits overwrite these keys (and free and reuse pages) while the chains run.
      const writes = ids.map((i) => db.put(key(i), val(i, gen)));
      const [got, gotMany] = await Promise.all([Promise.all(reads), many, Promise.all(writes)]);
      for (const [i, v] of got) expect([old.get(i), hex(val(i, gen))]).toContain(v);
      const manyHex = gotMany.map(hex);
      const allOld = ids.every((i, j) => manyHex[j] === old.get(i));
      const allNew = ids.every((i, j) => manyHex[j] === hex(val(i, gen)));
      expect(allOld || allNew).toBe(true);
    }
    await db.close();
  });

  it('a corrupt page: CorruptionError naming it, from getSync, get and getMany', async () => {
    const path = join(tmp.dir, 'corrupt.db');
    const keys = Array.from({ length: 400 }, (_, i) => Buffer.from(`c${String(i).padStart(4, '0')}`));
    let db: Bin = open(path, { ...BINARY, pageSize: 512 });
    await db.batch(keys.map((key) => ({ type: 'put', key, value: Buffer.alloc(20, 1) })));
    await db.close();
    const { levels, firstKey } = layout(path, 512);
    const leaf = levels[levels.length - 1][3];
    const victim = firstKey(leaf);
    const file = readFileSync(path);
    const original = Buffer.from(file.subarray(leaf * 512, (leaf + 1) * 512));
    const damage = (f: (page: Buffer) => void, reseal: boolean) => {
      const page = Buffer.from(original);
      f(page);
      if (reseal) seal(page);
      const copy = Buffer.from(file);
      page.copy(copy, leaf * 512);
      writeFileSync(path, copy);
    };
    const expectCorrupt = async (reason: RegExp) => {
      db = open(path, { ...BINARY, lookup: 'xrp', cacheLevels: 0 });
      expect(db.getSync(keys[399])).toEqual(Buffer.alloc(20, 1)); // another leaf: fine
      const sync = (() => {
        try {
          db.getSync(victim);
        } catch (e) {
          return e;
        }
      })() as CorruptionError;
      expect(sync).toBeInstanceOf(CorruptionError);
      expect(sync.page).toBe(leaf);
      expect(sync.message).toMatch(reason);
      await expect(db.get(victim)).rejects.toThrow(CorruptionError);
      await expect(db.getMany([keys[0], victim])).rejects.toThrow(new RegExp(`page ${leaf} is corrupt`));
      await db.close();
    };
    // A page type the program refuses (checksum left wrong: the store names that).
    damage((p) => (p[4] = 9), false);
    await expectCorrupt(/checksum/);
    // A slot pointing into the slot array, checksum fixed: only the structure is wrong.
    damage((p) => p.writeUInt16LE(HEADER, HEADER), true);
    await expectCorrupt(/corrupt\.db: page \d+ is corrupt: (?!.*checksum)/);
  });
});
