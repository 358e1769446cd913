// What `lookup: 'auto'` chooses (src/store/auto-lookup.ts, lookup-choice.ts,
// lookup-gather.ts): lookups the store's cache finishes read nothing;
// lookups that must read run chains, gathered per turn into one runBatch for
// get and getMany; getSync follows the measured costs of a sync chain and a
// walk, probing the other now and then; scans that leave the cache run
// range.c; kernel-compatible mode walks. Checked through the runtime's calls
// (spies on XrpProgram) and the store's counters.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CorruptionError, XrpProgram, open, type Database, type OpenOptions } from '../src/index.js';
import { COST_WEIGHT, FIRST_SAMPLES, LookupChoice, MEASURE_EVERY, OUTLIER, PROBE_EVERY, PROBE_MIN_MS, PROBE_RUN, PROBE_SKIP, type SyncPath } from '../src/store/lookup-choice.js';
import { layout } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

type Bin = Database<Buffer, Buffer>;
const BINARY = { keyEncoding: 'binary', valueEncoding: 'binary', sync: false, logLimit: 0 } as const;
const tmp = tempDir();
let files = 0;
const newPath = () => join(tmp.dir, `${files++}.db`);
afterEach(() => vi.restoreAllMocks());
afterAll(() => tmp.remove());
const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
const val = (i: number) => Buffer.from(`value ${i}`);

/** An `auto` store of `n` keys (no log: every key in the tree). */
async function filled(n: number, options: OpenOptions = {}): Promise<Bin> {
  const db: Bin = open(newPath(), { ...BINARY, lookup: 'auto', ...options });
  await db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: key(i), value: val(i) })));
  return db;
}

const spies = () => ({
  runSyncIo: vi.spyOn(XrpProgram.prototype, 'runSyncIo'),
  runSync: vi.spyOn(XrpProgram.prototype, 'runSync'),
  run: vi.spyOn(XrpProgram.prototype, 'run'),
  runBatch: vi.spyOn(XrpProgram.prototype, 'runBatchPacked'),
});

/** One synchronous lookup as AutoLookup makes it: timed (`record`) when the choice says so, else only counted. */
function take(c: LookupChoice, cost: (p: SyncPath) => number): SyncPath {
  const p = c.syncPath();
  if (c.timed) c.record(p, cost(p));
  else c.count(p);
  return p;
}

/** A clock that moves PROBE_MIN_MS each time it is read: every PROBE_EVERY lookups may probe. */
function slowClock(): () => number {
  let t = 0;
  return () => (t += PROBE_MIN_MS);
}

describe('LookupChoice', () => {
  it('probes at most once in PROBE_MIN_MS, however many lookups that time holds', () => {
    let now = 0;
    const c = new LookupChoice(() => now);
    const cost = (p: SyncPath) => (p === 'walk' ? 0.004 : 0.002);
    for (let i = 0; i < 2 * FIRST_SAMPLES; i++) take(c, cost);
    // The first probe comes after PROBE_EVERY lookups; the clock stands still, so the next does not.
    const cycles = (n: number) => Array.from({ length: n * (PROBE_EVERY - 1 + PROBE_RUN) }, () => take(c, cost));
    expect(cycles(3).filter((p) => p === 'walk')).toHaveLength(PROBE_RUN);
    expect(c.counts.probes).toBe(PROBE_RUN);
    // Once PROBE_MIN_MS have passed, the next PROBE_EVERY lookups end in a probe again.
    now += PROBE_MIN_MS;
    expect(cycles(1).filter((p) => p === 'walk')).toHaveLength(PROBE_RUN);
    expect(c.counts.probes).toBe(2 * PROBE_RUN);
  });

  it('times every first sample and probe, but one favoured lookup in MEASURE_EVERY, and counts them all', () => {
    const c = new LookupChoice(slowClock());
    let timed = 0;
    const cost = (p: SyncPath) => {
      timed++;
      return p === 'walk' ? 0.004 : 0.002;
    };
    for (let i = 0; i < 2 * FIRST_SAMPLES; i++) take(c, cost);
    expect(timed).toBe(2 * FIRST_SAMPLES);
    timed = 0;
    const favoured = 8 * MEASURE_EVERY;
    expect(favoured).toBeLessThan(PROBE_EVERY - 1);
    const paths = Array.from({ length: favoured }, () => take(c, cost));
    expect(paths).toEqual(Array(favoured).fill('chain'));
    expect(timed).toBe(8);
    // On to the probe: every one of its lookups is timed (the first PROBE_SKIP then left out of the average).
    for (let i = favoured; i < PROBE_EVERY - 1; i++) take(c, cost);
    timed = 0;
    const probe = Array.from({ length: PROBE_RUN }, () => take(c, cost));
    expect(probe).toEqual(Array(PROBE_RUN).fill('walk'));
    expect(timed).toBe(PROBE_RUN);
    expect(c.counts.walked + c.counts.chained).toBe(2 * FIRST_SAMPLES + PROBE_EVERY - 1 + PROBE_RUN);
    expect(c.sync).toEqual({ path: 'chain', walkMicros: 4, chainMicros: 2 });
  });

  it('measures both paths first, then takes the cheaper, probing the other PROBE_RUN times every PROBE_EVERY', () => {
    const c = new LookupChoice(slowClock());
    const first = Array.from({ length: 2 * FIRST_SAMPLES }, () => {
      const p = c.syncPath();
      c.record(p, p === 'walk' ? 0.004 : 0.002);
      return p;
    });
    expect(first.filter((p) => p === 'walk')).toHaveLength(FIRST_SAMPLES);
    expect(c.sync).toEqual({ path: 'chain', walkMicros: 4, chainMicros: 2 });
    // A probe's first PROBE_SKIP lookups are not measured: ten times slower, they leave the walk's cost as it was.
    // A cycle: PROBE_EVERY - 1 lookups on the cheaper path, then a probe of PROBE_RUN.
    expect(PROBE_SKIP).toBeGreaterThan(0);
    expect(PROBE_SKIP).toBeLessThan(PROBE_RUN);
    const cycle = PROBE_EVERY - 1 + PROBE_RUN;
    const next = Array.from({ length: 3 * cycle }, () =>
      take(c, (p) => {
        const inProbe = (c.counts.probes - 1) % PROBE_RUN;
        const warmingUp = p === 'walk' && inProbe < PROBE_SKIP;
        return p === 'walk' ? (warmingUp ? 0.04 : 0.004) : 0.002;
      }),
    );
    expect(next.filter((p) => p === 'walk')).toHaveLength(3 * PROBE_RUN);
    expect(next.slice(PROBE_EVERY - 1, PROBE_EVERY - 1 + PROBE_RUN)).toEqual(Array(PROBE_RUN).fill('walk'));
    expect(c.counts.probes).toBe(3 * PROBE_RUN);
    expect(c.sync.walkMicros).toBe(4);
    expect(c.counts.chained + c.counts.walked).toBe(2 * FIRST_SAMPLES + 3 * cycle);
  });

  it('changes its choice when the costs change, and ignores samples no lookup takes', () => {
    const c = new LookupChoice(slowClock());
    let chainCost = 0.002;
    const step = () => take(c, (p) => (p === 'walk' ? 0.004 : chainCost));
    for (let i = 0; i < 100; i++) step();
    expect(c.sync.path).toBe('chain');
    chainCost = 0.02; // the chain got ten times slower: probes of the walk must win it back
    for (let i = 0; i < 40 * PROBE_EVERY && c.sync.path === 'chain'; i++) step();
    expect(c.sync.path).toBe('walk');
    const walk = c.sync.walkMicros!;
    c.record('walk', -1);
    c.record('walk', 5000);
    c.record('walk', NaN);
    expect(c.sync.walkMicros).toBe(walk);
    // A descheduled lookup (a thousand times the average) moves it as a sample of OUTLIER times would.
    c.record('walk', (walk / 1000) * 1000);
    expect(c.sync.walkMicros).toBeCloseTo(walk * (1 + (OUTLIER - 1) * COST_WEIGHT), 1);
  });
});

describe("lookup 'auto'", () => {
  it('with everything in the cache, reads nothing and runs no chain', async () => {
    // 300 small keys: two levels, both kept decoded (cacheLevels 2).
    const db = await filled(300, { pageSize: 4096 });
    expect(db.stats().height).toBeLessThanOrEqual(2);
    const s = spies();
    for (let i = 0; i < 300; i++) expect(db.getSync(key(i))).toEqual(val(i));
    expect(db.has(key(1000))).toBe(false);
    expect((await Promise.all([db.get(key(3)), db.get(key(4))])).map(String)).toEqual(['value 3', 'value 4']);
    expect((await db.getMany([key(5), key(6), key(1000)])).map((v) => v && String(v))).toEqual(['value 5', 'value 6', undefined]);
    expect([...db.getRange({ start: key(10), limit: 3 })].map(({ value }) => String(value))).toEqual(['value 10', 'value 11', 'value 12']);
    for (const spy of Object.values(s)) expect(spy).not.toHaveBeenCalled();
    expect(db.stats().lookups).toMatchObject({ cached: 306, walked: 0, chained: 0, batched: 0, batches: 0, scansWalked: 1, scansChained: 0 });
    expect(db.xrpChains).toBe(0);
    await db.close();
  });

  it('with a tiny cache, chains: getSync measures a sync chain against a walk, get and getMany batch', async () => {
    const db = await filled(3000, { pageSize: 512, cacheLevels: 0, cacheSize: 2048 });
    expect(db.stats().height).toBeGreaterThanOrEqual(3);
    const s = spies();
    // Enough for both paths' first samples and a whole probe.
    const n = 2 * FIRST_SAMPLES + PROBE_EVERY + PROBE_RUN;
    for (let i = 0; i < n; i++) expect(db.getSync(key(i))).toEqual(val(i));
    const counts = db.stats().lookups!;
    expect(counts.cached).toBe(0);
    expect(counts.chained + counts.walked).toBe(n);
    // Each path was measured, and every sync chain was one runSyncIo.
    expect(counts.chained).toBeGreaterThanOrEqual(FIRST_SAMPLES);
    expect(counts.walked).toBeGreaterThanOrEqual(FIRST_SAMPLES);
    expect(s.runSyncIo).toHaveBeenCalledTimes(counts.chained);
    expect(counts.probes).toBeGreaterThanOrEqual(PROBE_RUN);
    expect(counts.sync.path).toMatch(/^(walk|chain)$/);
    expect(counts.sync.chainMicros).toBeGreaterThan(0);
    expect(counts.sync.walkMicros).toBeGreaterThan(0);
    expect(db.lookupReason).toMatch(/^lookup 'auto': .*getSync by a (sync chain|walk) \(chain [\d.]+ µs, walk [\d.]+ µs a lookup, lately\)/);
    // Gets and getManys of one turn: gathered, each caller its own answers.
    // The turn's first: neither way measured, so WALK_PROBE-capped walks and
    // the last in one runBatch (lookup-gather.ts `walking`).
    const walkedBefore = counts.walked;
    const turn = await Promise.all([db.get(key(7)), db.getMany([key(8), key(5000), key(9)]), db.get(key(5001)), db.get(key(10))]);
    expect(turn.flat().map((v) => v && String(v))).toEqual(['value 7', 'value 8', undefined, 'value 9', undefined, 'value 10']);
    expect(s.runBatch).toHaveBeenCalledTimes(1);
    expect(s.runBatch.mock.calls[0][1].count).toBe(1);
    expect(s.run).not.toHaveBeenCalled();
    expect(db.stats().lookups).toMatchObject({ walked: walkedBefore + 5, batched: 1, batches: 1 });
    expect(db.stats().lookups!.gathered.batchMicros).toBeGreaterThan(0);
    expect(db.stats().lookups!.gathered.walkMicros).toBeGreaterThan(0);
    // Later turns: walked or one batch each, as the costs say; every lookup
    // answered once. A lone get the turn's batch would walk at once runs as
    // a getSync (db.ts), which takes the sync path's own choice: a sync
    // chain when that one measured cheaper (on a loaded host the two choices
    // can differ), so it may count as chained.
    const beforeLoop = db.stats().lookups!;
    for (let t = 0; t < 40; t++) expect(String(await db.get(key(11 + t)))).toBe(`value ${11 + t}`);
    const after = db.stats().lookups!;
    expect(s.runBatch.mock.calls.length).toBe(after.batches);
    expect(after.batches).toBeLessThanOrEqual(41);
    const answered = (c: typeof after) => c.batched + c.walked + c.chained;
    expect(answered(after) - answered(beforeLoop)).toBe(40);
    expect(beforeLoop.batched + beforeLoop.walked - walkedBefore).toBe(6);
    await db.close();
  });

  it('a gathered get does not block the event loop, and close waits for it', async () => {
    const db = await filled(2000, { pageSize: 512, cacheLevels: 0, cacheSize: 0 });
    let ticked = false;
    setImmediate(() => (ticked = true));
    const pending = db.get(key(3));
    const closed = db.close();
    expect(String(await pending)).toBe('value 3');
    await closed;
    expect(ticked).toBe(true);
    await expect(db.get(key(3))).rejects.toThrow(/closed/);
  });

  it('a first scan that leaves the cache runs range.c (both paths are measured, chain first); reverse ones walk', async () => {
    const db = await filled(3000, { pageSize: 512, cacheLevels: 0, cacheSize: 0 });
    const s = spies();
    expect([...db.getRange({ start: key(100), limit: 5 })].map(({ value }) => String(value))).toEqual([100, 101, 102, 103, 104].map((i) => `value ${i}`));
    expect(s.runSync).toHaveBeenCalled();
    const calls = s.runSync.mock.calls.length;
    expect([...db.getRange({ start: key(100), limit: 2, reverse: true })].map(({ value }) => String(value))).toEqual(['value 100', 'value 99']);
    expect(s.runSync).toHaveBeenCalledTimes(calls);
    expect(db.stats().lookups).toMatchObject({ scansChained: 1, scansWalked: 1 });
    await db.close();
  });

  it('a damaged leaf fails only the gathered lookups that need it', async () => {
    const path = join(tmp.dir, 'damaged.db');
    let db: Bin = open(path, { ...BINARY, pageSize: 512 });
    await db.batch(Array.from({ length: 600 }, (_, i) => ({ type: 'put' as const, key: key(i), value: val(i) })));
    await db.close();
    const { levels, firstKey } = layout(path, 512);
    const leaf = levels[levels.length - 1][2];
    const victim = firstKey(leaf);
    const file = readFileSync(path);
    file[leaf * 512 + 100] ^= 0x5a;
    writeFileSync(path, file);
    db = open(path, { ...BINARY, lookup: 'auto', cacheLevels: 0 });
    const runBatch = vi.spyOn(XrpProgram.prototype, 'runBatchPacked');
    const [bad, good, many] = await Promise.allSettled([db.get(victim), db.get(key(599)), db.getMany([key(598), victim])]);
    expect(runBatch).toHaveBeenCalledTimes(1);
    expect(bad.status === 'rejected' && bad.reason).toBeInstanceOf(CorruptionError);
    expect((bad as PromiseRejectedResult).reason.page).toBe(leaf);
    expect(good).toEqual({ status: 'fulfilled', value: val(599) });
    expect(many.status === 'rejected' && many.reason).toBeInstanceOf(CorruptionError);
    await db.close();
  });

  it("walks in kernel-compatible mode (only the programs' checks would run there); 'xrp' chains there when asked", async () => {
    const db = await filled(2000, { pageSize: 512, cacheLevels: 0, xrpMode: 'kernel' });
    expect(db.lookup).toBe('walk');
    expect(db.lookupReason).toMatch(/^lookup 'auto' walks: with xrpMode 'kernel' .*no page checksum.*lookup 'xrp'/);
    const s = spies();
    expect(await db.get(key(5))).toEqual(val(5));
    expect(db.getSync(key(6))).toEqual(val(6));
    for (const spy of Object.values(s)) expect(spy).not.toHaveBeenCalled();
    const stats = db.stats();
    expect(stats.backend).toBe('walk');
    expect(stats.lookups).toBeUndefined();
    await db.close();
    const xrp = await filled(2000, { pageSize: 512, cacheLevels: 0, xrpMode: 'kernel', lookup: 'xrp' });
    expect(xrp.getSync(key(6))).toEqual(val(6));
    expect(xrp.xrpChains).toBe(1);
    await xrp.close();
  });

  it("is the default; db.lookup, stats().backend and lookupReason say so", async () => {
    const db: Bin = open(newPath(), BINARY);
    expect(db.lookup).toBe('auto');
    expect(db.stats().backend).toBe('auto');
    expect(db.lookupReason).toMatch(/^lookup 'auto': lookups the store's cache finishes walk; the others run bpf\/lookup.c on the XRP emulator, every page verified .*measuring both paths.*reads: buffered/);
    await db.close();
  });
});
