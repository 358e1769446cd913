// The turn's gathered lookups (lookup-gather.ts), with a stand-in runtime and
// snapshots whose costs the test sets: while walking costs less than a batch
// and little in itself, a caller is answered at once, without waiting for
// the turn; when a walk costs a device read, callers wait for the turn and
// are batched together.
import { describe, expect, it } from 'vitest';
import { BATCH_PROBE_EVERY, BATCH_PROBE_MAX, EAGER_BATCH, TurnBatch, WALK_NOW_PROBE, WALK_PROBE } from '../src/store/lookup-gather.js';
import type { LookupCounts } from '../src/store/lookup-choice.js';
import type { ChainAsk, XrpLookup } from '../src/store/xrp-lookup.js';

const counts = (): LookupCounts => ({ cached: 0, walked: 0, chained: 0, batched: 0, batches: 0, probes: 0, scansWalked: 0, scansChained: 0 });

/** A runtime whose batches take `ms` (or what `ms()` says then; 0: until the next turn) and answer every ask with its key. */
function runtime(ms: number | (() => number)): XrpLookup {
  return {
    chainMany: async (asks: ChainAsk[]) => {
      const wait = typeof ms === 'number' ? ms : ms();
      await new Promise((r) => (wait === 0 ? setImmediate(r) : setTimeout(r, wait)));
      return asks.map((a) => a.key);
    },
  } as unknown as XrpLookup;
}

/** `runtime(ms)` that also counts the batches begun. */
function counted(ms: number | (() => number)): { runtime: XrpLookup; begun: () => number } {
  const inner = runtime(ms);
  let begun = 0;
  const chainMany = (asks: ChainAsk[]) => {
    begun++;
    return inner.chainMany(asks);
  };
  return { runtime: { chainMany } as unknown as XrpLookup, begun: () => begun };
}

/** An ask whose walk answers its key after spinning `micros`. */
function ask(key: string, micros = 0): ChainAsk {
  const lookupFrom = () => {
    const until = performance.now() + micros / 1000;
    while (performance.now() < until);
    return Buffer.from(key);
  };
  return { snap: { lookupFrom }, start: { page: 1, depth: 0 }, key: Buffer.from(key) } as unknown as ChainAsk;
}

/** Whether `p` settles at once: within the microtasks after the call, before any later turn of the event loop. */
async function settlesAtOnce(p: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void p.then(() => (settled = true));
  await Promise.resolve();
  await Promise.resolve();
  return settled;
}

/** A turn of ten callers: measures both ways (a few walked, the rest one batch). */
async function measureBoth(batch: TurnBatch, micros: number): Promise<void> {
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => batch.lookup([ask(`m${i}`, micros)])));
  expect(answers.map((a) => a[0]?.toString())).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
}

describe('gathered lookups', () => {
  it('are answered at once while walks are cheap, every WALK_NOW_PROBE-th caller waiting for its turn', async () => {
    const c = counts();
    const batch = new TurnBatch(runtime(5), c);
    // Turns until the walks' average shows their cost (a pause of the process in the first sample is averaged away).
    for (let turn = 0; turn < 100 && !(batch.choice.walkMicros! < 5); turn++) await measureBoth(batch, 0);
    expect(batch.choice.path).toBe('walk');
    expect(batch.choice.walkMicros).toBeLessThan(5);
    const batches = c.batches;
    let waited = 0;
    for (let i = 0; i < 2 * WALK_NOW_PROBE; i++) {
      const p = batch.lookup([ask(`k${i}`)]);
      if (!(await settlesAtOnce(p))) waited++;
      expect((await p)[0]?.toString()).toBe(`k${i}`);
    }
    expect(waited).toBe(2);
    // The callers that waited were walked too (walking is cheaper), not batched.
    expect(c.batches).toBe(batches);
    // A caller that asks first (db.ts get) may look up synchronously, but
    // for every WALK_NOW_PROBE-th, which goes through `lookup` and waits.
    let alone = 0;
    waited = 0;
    for (let i = 0; i < 2 * WALK_NOW_PROBE; i++) {
      if (batch.walksAlone()) {
        alone++;
        continue;
      }
      const p = batch.lookup([ask(`a${i}`)]);
      if (!(await settlesAtOnce(p))) waited++;
      await p;
    }
    expect(waited).toBe(2);
    expect(alone).toBe(2 * WALK_NOW_PROBE - 2);
  });

  it('wait for the turn, and are batched together, when a walk costs a device read', async () => {
    const c = counts();
    const batch = new TurnBatch(runtime(30), c);
    await measureBoth(batch, 300);
    // Walking measured cheaper than these slow batches, but not cheap: no caller is answered at once.
    expect(batch.choice.path).toBe('walk');
    expect(batch.walksAlone()).toBe(false);
    expect(await settlesAtOnce(batch.lookup([ask('slow', 300)]))).toBe(false);
  });

  it('go back to batches within a few probes once batches become cheaper than walks', async () => {
    // Batches first cost 6 ms a lookup (a cold cache: every level read; the first turn batches
    // two of its ten lookups), more than a 1 ms walk.
    let batchMs = 12;
    const batch = new TurnBatch(runtime(() => batchMs), counts());
    for (let turn = 0; turn < 20 && batch.choice.path !== 'walk'; turn++) await measureBoth(batch, 1000);
    expect(batch.choice.path).toBe('walk');
    // Then about 0.1 ms a lookup: the probes, one turn in BATCH_PROBE_EVERY, must bring the choice
    // back within a few of them, not after the thirty-odd the ordinary weight of a sample would take.
    batchMs = 1;
    let turns = 0;
    while (batch.choice.path === 'walk' && turns < 5 * BATCH_PROBE_EVERY) {
      await measureBoth(batch, 1000);
      turns++;
    }
    expect(batch.choice.path).toBe('batch');
  });

  it('probe walks rarely while they cost many times a batch, and often again once they do not', async () => {
    const c = counts();
    let batchMs = 0;
    const batch = new TurnBatch(runtime(() => batchMs), c);
    // Walks of 300 µs against batches of a turn's wait (a few µs a lookup).
    const turns = async (n: number, micros: number) => {
      for (let i = 0; i < n; i++) await measureBoth(batch, micros);
    };
    await turns(BATCH_PROBE_EVERY, 300);
    expect(batch.choice.path).toBe('batch');
    const before = c.walked;
    await turns(1500, 300);
    // At a fixed gap, 1500 / BATCH_PROBE_EVERY probes of WALK_PROBE walks; the gaps doubling, a handful.
    const probes = (c.walked - before) / WALK_PROBE;
    expect(probes).toBeGreaterThanOrEqual(3);
    expect(probes).toBeLessThanOrEqual(7);
    // Walks become cheap, batches dear (a 1 ms timer over 10 lookups): the next
    // probe (at most BATCH_PROBE_MAX turns on) sees it, and the gap is short again.
    batchMs = 1;
    let n = 0;
    while (batch.choice.path === 'batch' && n < BATCH_PROBE_MAX + 8 * BATCH_PROBE_EVERY) {
      await measureBoth(batch, 0);
      n++;
    }
    expect(batch.choice.path).toBe('walk');
  });

  it('start a batch at once when EAGER_BATCH have gathered while batches are the way, and the rest at the turn', async () => {
    const { runtime: rt, begun } = counted(0);
    const batch = new TurnBatch(rt, counts());
    await measureBoth(batch, 300); // walks of 300 µs against batches of a turn's wait: batches
    expect(batch.choice.path).toBe('batch');
    const before = begun();
    const n = 2 * EAGER_BATCH + 3;
    const pending = Array.from({ length: n }, (_, i) => batch.lookup([ask(`e${i}`, 300)]));
    // Two batches began within the callers' own turn; the last three wait for its end.
    expect(begun() - before).toBe(2);
    const answers = await Promise.all(pending);
    expect(answers.map((a) => a[0]?.toString())).toEqual(Array.from({ length: n }, (_, i) => `e${i}`));
    expect(begun() - before).toBe(3);
    await batch.idle();
  });

  it('gather a whole turn while walks are the way, however many callers it has', async () => {
    const { runtime: rt, begun } = counted(30);
    const batch = new TurnBatch(rt, counts());
    await measureBoth(batch, 300); // walks of 300 µs against batches of 30 ms over ten: walks
    expect(batch.choice.path).toBe('walk');
    const before = begun();
    const pending = Array.from({ length: 3 * EAGER_BATCH }, (_, i) => batch.lookup([ask(`w${i}`, 300)]));
    expect(begun() - before).toBe(0);
    await Promise.all(pending);
  });

  it('charge batches in flight together what they take together', async () => {
    // Four batches of EAGER_BATCH in flight at once, each 20 ms: 20 ms over
    // 4 * EAGER_BATCH lookups (0.3 ms each), where each batch alone would
    // say 20 over EAGER_BATCH (1.25 ms), dearer than these 0.8 ms walks.
    let batchMs = 0;
    const batch = new TurnBatch(runtime(() => batchMs), counts());
    await measureBoth(batch, 800);
    expect(batch.choice.path).toBe('batch');
    batchMs = 20;
    for (let round = 0; round < 12; round++) {
      await Promise.all(Array.from({ length: 4 * EAGER_BATCH }, (_, i) => batch.lookup([ask(`o${i}`, 800)])));
    }
    expect(batch.choice.path).toBe('batch');
    expect(batch.choice.batchMicros!).toBeLessThan(0.6 * 1000);
  });

  it('join a turn already gathering, so that probes measure batches of every caller of the turn', async () => {
    const c = counts();
    const batch = new TurnBatch(runtime(5), c);
    for (let turn = 0; turn < 100 && !(batch.choice.walkMicros! < 5); turn++) await measureBoth(batch, 0);
    const first = batch.lookup([ask('a')]);
    // The turn has no gathering yet: answered at once; once one caller waits (every WALK_NOW_PROBE-th), the rest of its turn join it.
    expect(await settlesAtOnce(first)).toBe(true);
    let joined = 0;
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < WALK_NOW_PROBE + 5; i++) pending.push(batch.lookup([ask(`t${i}`)]).then(() => joined++));
    await Promise.resolve();
    await Promise.resolve();
    // Some settled at once; the one that waited and every caller after it in this turn had not.
    expect(joined).toBeLessThan(WALK_NOW_PROBE + 5);
    expect(joined).toBeGreaterThan(0);
    await Promise.all(pending);
    expect(joined).toBe(WALK_NOW_PROBE + 5);
  });
});
