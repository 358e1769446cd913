#!/usr/bin/env node
// xrpkv next to lmdb-js and classic-level on the same data, in one run (`npm run bench:peers`).
//
//   node bench/peers.mjs [--keys N] [--gets N] [--cold-gets N] [--scans N] [--batches N] [--repeat N]
//                        [--stores xrpkv,lmdb,classic-level] [--lookup auto|walk|xrp] [--direct|--buffered] [--pread] [--dir D] [--no-json] [--no-chart]
//
// The data, the same for every store: N (default 1,000,000) 16-byte binary
// keys and 100-byte binary values (bench/lib/workload.mjs), stored as raw
// bytes (binary / buffer encodings, compression off), so no store pays for
// serialization differently. Every write is durable when it resolves (each
// store's setting is printed). Each store gets its own temp directory.
//   bulk load     all keys in ascending order, batches of 100,000 (one commit each)
//   durable puts  random existing keys overwritten, 200 batches of 1,000 (one durable commit each)
//   warm gets     random existing keys, one at a time: a sync row (xrpkv getSync, lmdb get,
//                 classic-level getSync) and an async row (await get; lmdb-js has no
//                 async get, so its row is its sync get awaited); one warm-up pass, then
//                 the median of --repeat passes
//   cold gets     after every store is closed: per store, sync + drop the page cache
//                 (root only), reopen the store (its own caches empty), then the first
//                 --cold-gets random sync gets (capped at 20 s); then the same again
//                 with getMany of 64 keys at a time (each store's way of keeping
//                 reads in flight: xrpkv with lookup 'xrp' runs them as one batch of
//                 chains on io_uring, lmdb-js prefetches on a thread, classic-level
//                 runs them on the libuv pool)
//                 (xrpkv's chains read as the store does: by default and with
//                 --buffered through the kernel's page cache; with --direct
//                 (`direct: 'auto'`) O_DIRECT where the file system allows;
//                 buffered walks copy pages out of a map of the file, or with
//                 --pread (`mapReads: false`) read them with pread)
//   range scan    100 rows from a random existing key (sync getRange on xrpkv and lmdb,
//                 iterator({ gte, limit }).all() on classic-level); scans/s and rows/s
// Ratios are store ops/s divided by xrpkv ops/s: 2.00x = twice xrpkv's rate.
// Writes bench/results/peers-<time>.json and .svg/.png (chart: dist/bench/chart.js).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { intOption, stringOption } from './lib/options.mjs';
import { machine, machineLine, resultsBase } from './lib/results.mjs';
import { canDropPageCache, dropPageCache } from './lib/page-cache.mjs';
import { ioCounters, ioDelta } from './lib/proc.mjs';
import { fmt, firstPassRate, passRates, timed } from './lib/timing.mjs';
import { KEY_BYTES, VALUE_BYTES, makeKeys, makeValue, randomIndexes } from './lib/workload.mjs';
import { ROWS, diskBytes, printTable, writePeersChart } from './peers/report.mjs';

// ---- options ------------------------------------------------------------------
const args = process.argv.slice(2);
const N = intOption(args, 'keys', 1_000_000);
const GETS = intOption(args, 'gets', Math.min(N, 200_000));
const COLD_GETS = intOption(args, 'cold-gets', Math.min(N, 20_000));
const SCANS = intOption(args, 'scans', 20_000);
// 200 batches, as bench/store.mjs: xrpkv's log fills and is checkpointed
// into the tree three times, so its rate includes that cost.
const BATCHES = intOption(args, 'batches', 200);
const REPEAT = intOption(args, 'repeat', 3);
const LOAD_BATCH = Math.min(N, 100_000);
const PUT_BATCH = 1_000;
const SCAN_ROWS = Math.min(N, 100);
const COLD_CAP_MS = 20_000;
const COLD_BATCH = 64;
const ADAPTERS = { xrpkv: './peers/xrpkv.mjs', lmdb: './peers/lmdb.mjs', 'classic-level': './peers/classic-level.mjs' };
// xrpkv first: ratios are to the first store.
const names = stringOption(args, 'stores', Object.keys(ADAPTERS).join(','))
  .split(',')
  .sort((a, b) => (b === 'xrpkv') - (a === 'xrpkv'));
for (const n of names) {
  if (!ADAPTERS[n]) {
    console.error(`--stores: unknown store '${n}' (known: ${Object.keys(ADAPTERS).join(', ')})`);
    process.exit(2);
  }
}
const stores = await Promise.all(names.map(async (n) => (await import(ADAPTERS[n])).default));
const lookup = stringOption(args, 'lookup', 'auto');
if (!['auto', 'walk', 'xrp'].includes(lookup)) {
  console.error(`--lookup must be auto, walk or xrp (xrpkv's lookup option), got '${lookup}'`);
  process.exit(2);
}
const xrpkv = stores.find((s) => s.name === 'xrpkv');
if (xrpkv) xrpkv.lookup = lookup;
if (xrpkv) xrpkv.direct = args.includes('--direct') ? 'auto' : args.includes('--buffered') ? false : undefined;
if (xrpkv) xrpkv.mapReads = !args.includes('--pread');
const keepDir = args.includes('--dir');
const dir = keepDir ? stringOption(args, 'dir') : mkdtempSync(join(tmpdir(), 'xrpkv-peers-'));

// ---- data: deterministic --------------------------------------------------------
const key = makeKeys(N);
const rand = randomIndexes(N);
const getOrder = Array.from({ length: GETS }, rand);
const putOrder = Array.from({ length: BATCHES * PUT_BATCH }, rand);
const coldOrder = Array.from({ length: COLD_GETS }, randomIndexes(N, 4242));
// Scans start at a key with at least SCAN_ROWS keys from it on.
const scanStarts = Array.from({ length: SCANS }, randomIndexes(N - SCAN_ROWS + 1, 777));
const puts = (from, to, keyAt, round) => {
  const ops = [];
  for (let j = from; j < to; j++) ops.push({ type: 'put', key: key(keyAt(j)), value: makeValue(keyAt(j), round) });
  return ops;
};

// ---- the workload on one store ----------------------------------------------------
/** Runs everything but the cold gets on `store` in `path`; returns rates per second. */
async function runWarm(store, path) {
  const r = {};
  const db = await store.open(path);
  r.reads = store.describe(db);
  // Batches are built outside the timer: only the store's work is timed.
  let load = 0;
  for (let i = 0; i < N; i += LOAD_BATCH) {
    const ops = puts(i, Math.min(N, i + LOAD_BATCH), (j) => j, 0);
    load += await timed(() => store.write(db, ops));
  }
  r.bulkLoad = N / load;
  log(store, 'bulk load', r.bulkLoad, 'keys/s');
  let put = 0;
  for (let b = 0; b < BATCHES; b++) {
    const ops = puts(b * PUT_BATCH, (b + 1) * PUT_BATCH, (j) => putOrder[j], 1);
    put += await timed(() => store.write(db, ops));
  }
  r.puts = (BATCHES * PUT_BATCH) / put;
  log(store, 'durable puts', r.puts, 'puts/s');

  let missing = 0;
  const sync = await passRates(
    (from, to) => {
      for (let j = from; j < to; j++) if (store.getSync(db, key(getOrder[j])) === undefined) missing++;
    },
    { count: GETS, repeat: REPEAT },
  );
  const async = await passRates(
    async (from, to) => {
      for (let j = from; j < to; j++) if ((await store.getAsync(db, key(getOrder[j]))) === undefined) missing++;
    },
    { count: GETS, repeat: REPEAT },
  );
  if (missing) throw new Error(`${store.name}: ${missing} gets found no value`);
  Object.assign(r, { getsWarm: sync.rate, getsWarmAll: sync.rates, getsWarmPass: sync.pass });
  Object.assign(r, { getsWarmAsync: async.rate, getsWarmAsyncAll: async.rates, getsWarmAsyncPass: async.pass });
  log(store, 'warm gets', r.getsWarm, `gets/s sync, ${fmt(r.getsWarmAsync)} gets/s async`);

  const checkRows = (rows) => {
    if (rows !== SCAN_ROWS) throw new Error(`${store.name}: a scan saw ${rows} rows, expected ${SCAN_ROWS}`);
  };
  const scanRange = store.scanSync
    ? (from, to) => {
        for (let j = from; j < to; j++) checkRows(store.scanSync(db, key(scanStarts[j]), SCAN_ROWS));
      }
    : async (from, to) => {
        for (let j = from; j < to; j++) checkRows(await store.scanAsync(db, key(scanStarts[j]), SCAN_ROWS));
      };
  const scans = await passRates(scanRange, { count: SCANS, repeat: REPEAT, passMs: 1000 });
  Object.assign(r, { scans: scans.rate, scansAll: scans.rates, scansPass: scans.pass, scanRows: scans.rate * SCAN_ROWS });
  log(store, 'range scans', r.scans, `scans/s (${fmt(r.scanRows)} rows/s)`);
  await store.close(db);
  r.diskBytes = diskBytes(path);
  return r;
}

/**
 * The first COLD_GETS random gets after the page cache was dropped and the
 * store reopened: one at a time (sync), then again cold, as getMany batches
 * of COLD_BATCH (each store's way of keeping reads in flight).
 */
async function runCold(store, path, r) {
  const drop = dropPageCache();
  if (!drop.dropped) return drop.reason;
  const t = performance.now();
  const db = await store.open(path);
  r.coldOpenMs = performance.now() - t;
  let missing = 0;
  let io = ioCounters();
  const cold = await firstPassRate(
    (from, to) => {
      for (let j = from; j < to; j++) if (store.getSync(db, key(coldOrder[j])) === undefined) missing++;
    },
    { count: COLD_GETS, capMs: COLD_CAP_MS },
  );
  // How reads ran on the loaded file (the first open's answer was for an
  // empty one); asked only now: xrpkv's stats() reads every branch page,
  // which would warm the cache the cold gets are to find cold.
  r.reads = store.describe(db);
  await store.close(db);
  if (missing) throw new Error(`${store.name}: ${missing} cold gets found no value`);
  r.getsColdIo = perGet(ioDelta(io, ioCounters()), cold.items);
  Object.assign(r, { getsCold: cold.rate, getsColdCount: cold.items });
  log(store, 'cold gets', r.getsCold, `gets/s (first ${cold.items.toLocaleString('en-US')} gets, open took ${r.coldOpenMs.toFixed(1)} ms; ${ioLine(r.getsColdIo)})`);

  const dropAgain = dropPageCache();
  if (!dropAgain.dropped) return dropAgain.reason;
  const dbMany = await store.open(path);
  io = ioCounters();
  const coldMany = await firstPassRate(
    async (from, to) => {
      for (let j = from; j < to; j += COLD_BATCH) {
        const keys = coldOrder.slice(j, Math.min(to, j + COLD_BATCH)).map(key);
        for (const v of await store.getMany(dbMany, keys)) if (v === undefined) missing++;
      }
    },
    { count: COLD_GETS, capMs: COLD_CAP_MS, chunk: COLD_BATCH * 8 },
  );
  await store.close(dbMany);
  if (missing) throw new Error(`${store.name}: ${missing} cold getMany lookups found no value`);
  r.getsColdManyIo = perGet(ioDelta(io, ioCounters()), coldMany.items);
  Object.assign(r, { getsColdMany: coldMany.rate, getsColdManyCount: coldMany.items });
  log(store, 'cold getMany', r.getsColdMany, `gets/s (first ${coldMany.items.toLocaleString('en-US')} gets, ${COLD_BATCH} per getMany; ${ioLine(r.getsColdManyIo)})`);
  return undefined;
}

/** This process's read counters (bench/lib/proc.mjs) per get: what a cold get costs the device. */
const perGet = (d, n) => ({ kibRead: d.readBytes / 1024 / n, readCalls: d.syscr / n, majorFaults: d.majorFaults / n });
const ioLine = (x) => `${x.kibRead.toFixed(1)} KiB read, ${x.readCalls.toFixed(2)} read calls, ${x.majorFaults.toFixed(2)} major faults per get`;

/**
 * Issue 16's target for the cold rows: xrpkv's fastest cold read path (sync
 * gets or getMany, whichever was faster) at least as fast as lmdb-js's.
 */
function printColdTarget(results) {
  const best = (r) => Math.max(...[r?.getsCold, r?.getsColdMany].filter((x) => typeof x === 'number'));
  const [x, l] = [best(results.xrpkv), best(results.lmdb)];
  if (!Number.isFinite(x) || !Number.isFinite(l)) {
    console.log('target: xrpkv fastest cold read >= 1.0x lmdb-js: NOT MEASURED (needs both stores and root)');
    return;
  }
  const ratio = x / l;
  console.log(
    `target: xrpkv's fastest cold read path >= 1.0x lmdb-js's: ${ratio >= 1 ? 'MET' : 'NOT MET'} ` +
      `(xrpkv ${fmt(x)} gets/s, ${results.xrpkv.reads}; lmdb-js ${fmt(l)} gets/s: ${ratio.toFixed(2)}x)`,
  );
}

function log(store, what, rate, unit) {
  console.log(`  ${store.name.padEnd(14)}${what.padEnd(14)}${fmt(rate).padStart(12)} ${unit}`);
}

// ---- run -----------------------------------------------------------------------------
const m = machine();
console.log(
  `xrpkv bench:peers: ${N.toLocaleString('en-US')} keys (${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values, raw bytes: binary/buffer encodings, no compression)`,
);
console.log(`${machineLine(m)}; a shared, noisy host: figures move by tens of percent between runs`);
console.log(
  `bulk load: ${LOAD_BATCH.toLocaleString('en-US')} keys per commit; durable puts: ${BATCHES} x ${PUT_BATCH.toLocaleString('en-US')} per commit; ` +
    `warm gets and scans: median of ${REPEAT} passes; cold gets: the first ${COLD_GETS.toLocaleString('en-US')} (sync)`,
);
for (const s of stores) console.log(`  ${s.name}: ${s.settings}`);
console.log(`files in ${dir}\n`);

const results = {};
let coldSkipped;
try {
  for (const s of stores) {
    const path = join(dir, s.name);
    mkdirSync(path, { recursive: true });
    results[s.name] = await runWarm(s, path);
  }
  if (!canDropPageCache()) {
    coldSkipped = 'needs root to drop the page cache';
  } else {
    for (const s of stores) {
      coldSkipped = await runCold(s, join(dir, s.name), results[s.name]);
      if (coldSkipped) break;
    }
  }
  if (coldSkipped) {
    for (const s of stores) results[s.name].getsCold = results[s.name].getsColdMany = `skipped (${coldSkipped})`;
    console.log(`  cold cache: skipped (${coldSkipped})`);
  }
} finally {
  if (!keepDir) rmSync(dir, { recursive: true, force: true });
}

console.log();
printTable(stores, results, { loadBatch: LOAD_BATCH, putBatch: PUT_BATCH, scanRows: SCAN_ROWS, coldGets: COLD_GETS });
printColdTarget(results);
console.log(`\nreads: ${stores.map((s) => `${s.name}: ${results[s.name].reads}`).join('; ')}`);
console.log(`durability: ${stores.map((s) => `${s.name}: ${s.durability}`).join('; ')}`);
console.log(`on disk: ${stores.map((s) => `${s.name} ${(results[s.name].diskBytes / 2 ** 20).toFixed(1)} MiB`).join(', ')}`);

const base = resultsBase('peers');
const ratios = Object.fromEntries(
  stores.map((s) => [
    s.name,
    Object.fromEntries(
      ROWS.filter((row) => typeof results[s.name][row.field] === 'number').map((row) => [row.field, results[s.name][row.field] / results[stores[0].name][row.field]]),
    ),
  ]),
);
if (!args.includes('--no-json')) {
  const json = {
    date: new Date().toISOString(),
    machine: m,
    workload: {
      keys: N,
      keyBytes: KEY_BYTES,
      valueBytes: VALUE_BYTES,
      encodings: 'binary keys and values, no compression',
      loadBatch: LOAD_BATCH,
      putBatch: PUT_BATCH,
      putBatches: BATCHES,
      gets: GETS,
      coldGets: COLD_GETS,
      coldCache: coldSkipped ? `skipped (${coldSkipped})` : 'page cache dropped and store reopened before each store',
      scanRows: SCAN_ROWS,
      repeat: REPEAT,
    },
    ratioDirection: `store ops/s divided by ${stores[0].name} ops/s (>1: faster than ${stores[0].name})`,
    stores: Object.fromEntries(stores.map((s) => [s.name, { settings: s.settings, durability: s.durability, ...results[s.name] }])),
    ratios,
  };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${base}.json`);
}
if (!args.includes('--no-chart')) await writePeersChart(stores, results, N, base);
