#!/usr/bin/env node
// xrpkv store vs lmdb-js on one workload, in one run (`npm run bench:store`).
//
//   node bench/store.mjs [--keys N] [--gets N] [--batches N] [--repeat N] [--commits N,N,...] [--only-commits]
//                        [--dir D] [--no-lmdb] [--no-json]
//
// Workload, the same for both stores: 16-byte binary keys, 100-byte binary
// values (keyEncoding/valueEncoding 'binary' on xrpkv; keyEncoding 'binary',
// encoding 'binary' on lmdb-js), durable commits (xrpkv sync: true; lmdb-js
// commits with its default overlappingSync, which resolves a write before
// the flush, so each batch also awaits db.flushed). A batch is each store's
// way of writing many keys in one commit with `put`: on lmdb-js, puts inside
// db.batch(callback); on xrpkv, puts issued in one turn (they share one
// commit and one promise).
//   warm-up      200,000 keys loaded into a scratch file by each store, untimed
//   bulk load    all keys in ascending order, batches of 100,000 (one commit each)
//   puts         random existing keys overwritten, 200 batches of 1,000 (one durable commit each)
//   gets         random existing keys, getSync / get, each pass on a handle opened after
//                the writes and warmed by an untimed pass; xrpkv's walk and xrp take
//                turns (median of --repeat)
//   lookup paths xrpkv alone: random gets through each `lookup` (walk, xrp, auto), one
//                at a time (getSync) and 64 per turn (Promise.all of get), with the
//                default cacheSize (warm: every branch page in the store's cache) and
//                with --cold-cache bytes (default 256 KiB, no decoded level: lower
//                branch levels miss, and are read from the kernel's page cache), and
//                with the file's pages dropped from the kernel's page cache before
//                each pass (posix_fadvise on this file only; the leaves then come
//                from the device)
//   scan         every row in key order with getRange (median of --repeat)
//   one commit   --commits N keys (default 10,000, 100,000 and 1,000,000) put in one
//                turn into an empty store, in key order and shuffled; the same with
//                db.batch; each timed from the first put to durable, and the longest
//                the event loop went without a turn after the puts' own turn (a
//                setImmediate that re-arms itself), with and without the garbage
//                collector's pauses in it; median of 9 runs at 10,000 keys, 3 up
//                to 100,000, 1 above
// Needs a built dist/ (`node scripts/build.mjs ts`). Results also go to bench/results/store-*.json.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { intOption } from './lib/options.mjs';
import { ROOT as root } from './lib/results.mjs';
import { fmt, median, passRates, timed } from './lib/timing.mjs';
import { makeKeys, makeValue as value, randomIndexes } from './lib/workload.mjs';
import { keyOrder, watchTurns } from './lib/turns.mjs';

const { open } = await import(join(root, 'dist/store/db.js')).catch(() => {
  console.error('bench:store: dist/store/db.js is missing: run `node scripts/build.mjs ts` first');
  process.exit(1);
});

// ---- options ------------------------------------------------------------------
const args = process.argv.slice(2);
const opt = (name, fallback) => intOption(args, name, fallback);
const N = opt('keys', 1_000_000);
const GETS = opt('gets', Math.min(N, 200_000));
// 200 batches: enough for xrpkv's log to fill and be checkpointed into the
// tree three times (every 65,536 keys), so the rate includes that cost.
const BATCHES = opt('batches', 200);
const REPEAT = opt('repeat', 3);
const LOAD_BATCH = Math.min(N, 100_000);
const PUT_BATCH = 1_000;
const useLmdb = !args.includes('--no-lmdb');
const COMMITS = listOption('commits', [10_000, 100_000, 1_000_000]);
const onlyCommits = args.includes('--only-commits');
const COLD_CACHE = opt('cold-cache', 256 * 1024);
const IN_FLIGHT = 64;
const dir = args.includes('--dir') ? args[args.indexOf('--dir') + 1] : mkdtempSync(join(tmpdir(), 'xrpkv-bench-'));
mkdirSync(dir, { recursive: true });

/** `--name 1,2,3`: positive integers (underscores allowed), else `fallback`. */
function listOption(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const list = String(args[i + 1]).split(',').map((x) => Number(x.replace(/_/g, '')));
  if (!list.every((x) => Number.isInteger(x) && x > 0)) {
    console.error(`--${name} needs positive integers separated by commas`);
    process.exit(2);
  }
  return list;
}

// ---- data: deterministic (bench/lib/workload.mjs) -----------------------------------
const key = makeKeys(Math.max(N, ...COMMITS));
const rand = randomIndexes(N);
const getOrder = Array.from({ length: GETS }, rand);
const putOrder = Array.from({ length: BATCHES * PUT_BATCH }, rand);

// ---- the stores -------------------------------------------------------------------
const xrpkv = {
  name: 'xrpkv',
  open(path, lookup, extra = {}) {
    return open(path, { lookup, keyEncoding: 'binary', valueEncoding: 'binary', sync: true, ...extra });
  },
  async batch(db, from, to, keyAt, round) {
    let committed;
    for (let j = from; j < to; j++) committed = db.put(key(keyAt(j)), value(keyAt(j), round));
    await committed;
  },
  get: (db, k) => db.getSync(k),
  scan(db) {
    let n = 0;
    for (const _ of db.getRange()) n++;
    return n;
  },
  close: (db) => db.close(),
  files: (path) => [path],
};

let lmdbOpen;
const lmdb = {
  name: 'lmdb-js',
  open(path) {
    return lmdbOpen({ path, keyEncoding: 'binary', encoding: 'binary', compression: false });
  },
  async batch(db, from, to, keyAt, round) {
    await db.batch(() => {
      for (let j = from; j < to; j++) db.put(key(keyAt(j)), value(keyAt(j), round));
    });
    await db.flushed;
  },
  get: (db, k) => db.get(k),
  scan(db) {
    let n = 0;
    for (const _ of db.getRange()) n++;
    return n;
  },
  close: (db) => db.close(),
  files: (path) => [path, `${path}-lock`],
};

/** Runs the workload on `store`; returns rates (per second) and medians. */
async function run(store, path) {
  const r = {};
  let db = store.open(path, 'walk');
  // bulk load: ascending keys
  const load = await timed(async () => {
    for (let i = 0; i < N; i += LOAD_BATCH) await store.batch(db, i, Math.min(N, i + LOAD_BATCH), (j) => j, 0);
  });
  r.bulkLoad = N / load;
  // durable random puts, batches of 1,000
  const puts = await timed(async () => {
    for (let b = 0; b < BATCHES; b++) await store.batch(db, b * PUT_BATCH, (b + 1) * PUT_BATCH, (j) => putOrder[j], 1);
  });
  r.puts = (BATCHES * PUT_BATCH) / puts;
  await store.close(db);
  // Warm random gets, each pass on a handle of its own opened after the
  // writes (xrpkv's xrp lookups need their own open: the file is locked
  // while open), its first pass over the keys untimed. xrpkv's walk and
  // xrp take turns, a pass each per round, so that the two lookup paths
  // start from the same cache and a change of the host's load falls on
  // both alike.
  // A pass is at most --gets lookups, fewer when the warm-up pass shows that
  // would take over ~4 s (a slow lookup path must not stretch the run).
  const getPass = (handle, label) => {
    let missing = 0;
    let n = 0;
    const t0 = performance.now();
    for (const i of getOrder) {
      if (store.get(handle, key(i)) === undefined) missing++; // warm-up pass
      if (++n % 1000 === 0 && performance.now() - t0 > 8000) break;
    }
    if (missing) throw new Error(`${store.name} ${label}: ${missing} keys missing`);
    const pass = Math.max(1000, Math.min(GETS, Math.floor((n / (performance.now() - t0)) * 4000)));
    const t = performance.now();
    for (let j = 0; j < pass; j++) store.get(handle, key(getOrder[j]));
    r[`${label}Pass`] = pass;
    return pass / ((performance.now() - t) / 1000);
  };
  const lookups = store === xrpkv ? ['walk', 'xrp'] : ['walk'];
  const rates = { walk: [], xrp: [] };
  for (let k = 0; k < REPEAT; k++) {
    for (const lookup of [...lookups]) {
      let handle;
      try {
        handle = store.open(path, lookup);
      } catch (e) {
        if (lookup !== 'xrp' || (e?.name !== 'UnsupportedError' && e?.code !== 'UNSUPPORTED')) throw e;
        r.xrp = `not available (${e.message})`;
        lookups.pop();
        continue;
      }
      rates[lookup].push(getPass(handle, lookup));
      await store.close(handle);
    }
  }
  r.getsWalkAll = rates.walk;
  r.getsWalk = median(rates.walk);
  if (store === xrpkv && rates.xrp.length > 0) {
    r.getsXrpAll = rates.xrp;
    r.getsXrp = median(rates.xrp);
  } else if (store !== xrpkv) {
    r.getsXrpAll = r.getsWalkAll;
    r.getsXrp = r.getsWalk;
  }
  // range scan
  db = store.open(path, 'walk');
  const scans = [];
  for (let k = 0; k < REPEAT; k++) {
    let rows = 0;
    const s = await timed(() => (rows = store.scan(db)));
    if (rows !== N) throw new Error(`${store.name}: scan saw ${rows} rows, expected ${N}`);
    scans.push(N / s);
  }
  r.scanAll = scans;
  r.scan = median(scans);
  await store.close(db);
  if (store === xrpkv && rates.xrp.length > 0) r.paths = await lookupPaths(path);
  return r;
}

// ---- xrpkv's lookup paths ----------------------------------------------------------
// Each `lookup` on the same file, opened in turn (the file is locked while
// open): getSync one at a time, and 64 gets per turn (one Promise.all: under
// auto one gathered batch, under xrp 64 `run`s, under walk 64 getSyncs),
// with the store's default cache, a cold one, and the leaves on the device.
// The lookups take turns, one pass each per round (--repeat rounds,
// medians), so that a change of the host's load falls on all three alike.
// Every value is checked.
async function lookupPaths(path) {
  const caches = [
    ['warm', {}, false],
    [`cold (cacheSize ${COLD_CACHE / 1024} KiB)`, { cacheSize: COLD_CACHE, cacheLevels: 0 }, false],
    ['leaves from the device', {}, true],
  ];
  const LOOKUPS = ['walk', 'xrp', 'auto'];
  const out = [];
  for (const [cache, extra, dropFile] of caches) {
    const runs = Object.fromEntries(LOOKUPS.map((l) => [l, { sync: [], batched: [], counts: [] }]));
    for (let round = 0; round < REPEAT; round++) {
      for (const lookup of LOOKUPS) {
        const db = xrpkv.open(path, lookup, extra);
        const check = (v, i) => {
          if (v === undefined) throw new Error(`xrpkv ${lookup} ${cache}: key ${getOrder[i]} missing`);
        };
        // Each pass starts at item 0: the file's pages leave the kernel's cache then (the store's pager does it, as its stale-cache check does).
        const fresh = (from) => dropFile && from === 0 && db.state.pager.dropCache(0, 0);
        const sync = await passRates((from, to) => {
          fresh(from);
          for (let i = from; i < to; i++) check(db.getSync(key(getOrder[i])), i);
        }, { count: GETS, repeat: 1, warmMs: 1000, passMs: 1000 });
        const batched = await passRates(async (from, to) => {
          fresh(from);
          for (let i = from; i < to; i += IN_FLIGHT) {
            const end = Math.min(to, i + IN_FLIGHT);
            const got = await Promise.all(Array.from({ length: end - i }, (_, j) => db.get(key(getOrder[i + j]))));
            got.forEach((v, j) => check(v, i + j));
          }
        }, { count: GETS, repeat: 1, warmMs: 1000, passMs: 1000 });
        runs[lookup].sync.push(sync.rate);
        runs[lookup].batched.push(batched.rate);
        if (lookup === 'auto') runs.auto.counts.push(db.lookupCounts);
        await db.close();
      }
    }
    const row = { cache };
    for (const l of LOOKUPS) {
      const r = runs[l];
      row[l] = { sync: median(r.sync), syncAll: r.sync, batched: median(r.batched), batchedAll: r.batched };
    }
    row.auto.counts = runs.auto.counts;
    out.push(row);
  }
  return out;
}

function printPaths(paths) {
  const ratio = (a, b) => `${(a / b).toFixed(2)}x`;
  console.log(`\nxrpkv lookup paths, gets/s: medians of ${REPEAT} rounds in which the three take turns (ratios side by side from this run)`);
  console.log(`${'cache'.padEnd(30)}${'reads'.padEnd(18)}${pad('walk', 10)}${pad('xrp', 10)}${pad('auto', 10)}${pad('auto/walk', 11)}${pad('auto/xrp', 10)}`);
  for (const row of paths) {
    for (const [how, field] of [['getSync', 'sync'], [`${IN_FLIGHT} get per turn`, 'batched']]) {
      const [w, x, a] = ['walk', 'xrp', 'auto'].map((l) => row[l][field]);
      console.log(`${row.cache.padEnd(30)}${how.padEnd(18)}${pad(fmt(w), 10)}${pad(fmt(x), 10)}${pad(fmt(a), 10)}${pad(ratio(a, w), 11)}${pad(ratio(a, x), 10)}`);
    }
    for (const c of row.auto.counts) {
      console.log(
        `  auto chose: ${c.cached} cached, ${c.walked} walked, ${c.chained} sync chains, ${c.batched} batched in ${c.batches} batches, ${c.probes} probes; ` +
          `getSync at the end: ${c.sync.path} (chain ${c.sync.chainMicros} µs, walk ${c.sync.walkMicros} µs a lookup)`,
      );
    }
  }
}

// ---- one commit of many keys, in key order and shuffled ----------------------------
// A new store for each commit. `puts`: n puts issued in one turn (on lmdb-js
// inside one db.batch callback, as `batch` above); `db.batch`: one array of n
// put operations, built before the clock starts. `total`: from the first put
// to durable (lmdb-js applies its writes on a thread of its own while the
// puts are issued, xrpkv once their turn ends: only the whole compares);
// `after`: from the end of the puts' turn; `turn`: the longest the event loop
// went without turning after the puts' turn (the puts' own turn is the
// caller's loop), as waited, and less the time the loop's thread waited for
// a core and the garbage collector's pauses (bench/lib/turns.mjs says why).
xrpkv.batchOps = (db, ops) => db.batch(ops);
lmdb.batchOps = async (db, ops) => {
  await db.batch(ops);
  await db.flushed;
};

/**
 * Runs of each commit size: a commit of 10,000 keys takes 5 to 20 ms, and
 * one run of it moves by 2x on this host (a scavenge, page faults on memory
 * new to the process, the other core's work), so the small ones are run
 * more often: with 9 runs, the medians' ratios at 10,000 keys still moved
 * from 1.1x to 2.1x between runs of the benchmark.
 */
const runsOf = (n) => (n <= 10_000 ? 15 : n <= 100_000 ? 3 : 1);

async function oneCommit(store, api, n, shuffled) {
  const path = join(dir, `commit-${store.name}`);
  const order = keyOrder(n, shuffled);
  const ops = api === 'db.batch' ? Array.from(order, (i) => ({ type: 'put', key: key(i), value: value(i, 0) })) : undefined;
  const db = store.open(path, 'walk');
  const t0 = performance.now();
  const durable = ops ? store.batchOps(db, ops) : store.batch(db, 0, n, (j) => order[j], 0);
  const t1 = performance.now();
  const stop = watchTurns();
  await durable;
  const t2 = performance.now();
  const turn = await stop();
  for (const i of [order[0], order[n >> 1], order[n - 1]]) {
    if (store.get(db, key(i)) === undefined) throw new Error(`${store.name}: key ${i} missing after its commit`);
  }
  await store.close(db);
  for (const f of store.files(path)) rmSync(f, { recursive: true, force: true });
  return { total: t2 - t0, after: t2 - t1, turn };
}

/** The one-commit rows: each size and api, each store sorted and shuffled; printed, and returned for the JSON. */
async function commitRows() {
  const stores = useLmdb ? [xrpkv, lmdb] : [xrpkv];
  const variants = stores.flatMap((store) => [false, true].map((shuffled) => ({ store, shuffled, name: `${store.name} ${shuffled ? 'shuffled' : 'sorted'}` })));
  // Untimed: the code of each kind of commit compiled before any is timed
  // (a large shuffled one, and the smallest size of each api and order:
  // at 10,000 keys the first commit of a kind took 10 to 30 ms in one turn
  // while V8 compiled it, and 1 to 3 ms after).
  for (const store of stores) {
    await oneCommit(store, 'puts', Math.min(100_000, Math.max(...COMMITS)), true);
    for (const api of ['puts', 'db.batch']) for (const shuffled of [false, true]) await oneCommit(store, api, Math.min(...COMMITS), shuffled);
  }
  const rows = [];
  for (const n of COMMITS) {
    for (const api of ['puts', 'db.batch']) {
      if (api === 'db.batch' && n > 100_000) continue;
      const runs = Object.fromEntries(variants.map((v) => [v.name, []]));
      for (let r = 0; r < runsOf(n); r++) {
        for (const v of variants) runs[v.name].push(await oneCommit(v.store, api, n, v.shuffled));
      }
      const row = { keys: n, api };
      for (const [name, list] of Object.entries(runs)) {
        row[name] = {
          total: median(list.map((x) => x.total)),
          after: median(list.map((x) => x.after)),
          turn: Math.max(...list.map((x) => x.turn.longest)),
          work: Math.max(...list.map((x) => x.turn.work)),
          runQueueOut: list.every((x) => x.turn.runQueueOut),
          runs: list,
        };
      }
      rows.push(row);
    }
  }
  const runQueueOut = rows.every((row) => variants.every((v) => row[v.name].runQueueOut));
  const ms = (x) => (x === undefined ? '-' : `${Math.round(x.total)} [${Math.round(x.work)}; ${Math.round(x.turn)}]`);
  const verdict = (ratio, limit) => (ratio === undefined ? '-' : `${ratio.toFixed(2)}x ${ratio <= limit ? 'met' : 'MISSED'}`);
  console.log(
    `\none commit into an empty store: ms from the first put to durable, median of ${COMMITS.map((n) => `${runsOf(n)} at ${n.toLocaleString('en-US')}`).join(', ')} ` +
      `[longest event-loop turn after the puts' turn, ms, of the runs: less the time the loop's thread waited for a core${runQueueOut ? '' : ' (not known here: counted)'} and the garbage collector's pauses; as waited]; ` +
      `the turn budget is judged on the first`,
  );
  console.log(
    `${'keys'.padEnd(11)}${'api'.padEnd(10)}${pad('xrpkv sorted', 14)}${pad('shuffled', 14)}${pad('shuf/sorted <= 2x', 19)}` +
      `${pad('lmdb-js sorted', 16)}${pad('shuffled', 14)}${pad('xrpkv/lmdb shuf <= 2x', 23)}${pad('turn budget', 13)}`,
  );
  for (const row of rows) {
    const ours = row['xrpkv shuffled'];
    const theirs = row['lmdb-js shuffled'];
    const budget = (50 * row.keys) / 100_000;
    console.log(
      `${row.keys.toLocaleString('en-US').padEnd(11)}${row.api.padEnd(10)}${pad(ms(row['xrpkv sorted']), 14)}${pad(ms(ours), 14)}` +
        `${pad(verdict(ours.total / row['xrpkv sorted'].total, 2), 19)}${pad(ms(row['lmdb-js sorted']), 16)}${pad(ms(theirs), 14)}` +
        `${pad(verdict(theirs && ours.total / theirs.total, 2), 23)}${pad(`${Math.round(budget)} ${Math.max(ours.work, row['xrpkv sorted'].work) <= budget ? 'met' : 'MISSED'}`, 13)}`,
    );
  }
  console.log(`(after the puts' turn, ms: ${rows.map((r) => `${r.keys} ${r.api}: ${variants.map((v) => `${v.name} ${Math.round(r[v.name].after)}`).join(', ')}`).join('; ')})`);
  return rows;
}

// ---- run -----------------------------------------------------------------------------
const cpu = cpus();
console.log(`xrpkv bench:store: ${N.toLocaleString('en-US')} keys (16-byte keys, 100-byte values, binary encodings), durable commits`);
console.log(
  `machine: ${cpu.length} cores (${cpu[0]?.model?.trim() ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}; ` +
    `a shared, noisy host: figures move by tens of percent between runs; gets and scans are medians of ${REPEAT}`,
);
console.log(`files in ${dir}`);
const load = () => loadavg().map((x) => x.toFixed(2)).join(', ');
const loadAtStart = load();
console.log(`load average at the start: ${loadAtStart}`);

// An untimed warm-up load (200,000 keys) for each store before either is
// timed: otherwise the store measured first also pays for the JIT compiling
// the benchmark's own key and value code and for the heap growing. xrpkv,
// measured first, loaded at 0.73 to 1.36M keys/s in runs without it and at
// 0.97 to 1.33M with it.
const WARM = Math.min(N, 200_000);
async function warmUp(store, path) {
  const db = store.open(path, 'walk');
  for (let i = 0; i < WARM; i += LOAD_BATCH) await store.batch(db, i, Math.min(WARM, i + LOAD_BATCH), (j) => j, 0);
  await store.close(db);
  for (const f of [path, `${path}-lock`]) rmSync(f, { recursive: true, force: true });
}
if (useLmdb) ({ open: lmdbOpen } = await import('lmdb'));
await warmUp(xrpkv, join(dir, 'warm.xrpkv'));
if (useLmdb) await warmUp(lmdb, join(dir, 'warm.lmdb'));

let ours;
let theirs;
let oursBytes = 0;
if (!onlyCommits) {
  ours = await run(xrpkv, join(dir, 'bench.xrpkv'));
  oursBytes = statSync(join(dir, 'bench.xrpkv')).size;
  if (useLmdb) theirs = await run(lmdb, join(dir, 'bench.lmdb'));
}

const rows = [
  ['bulk load (sorted, 100k/commit)', 'keys/s', 'bulkLoad', 0.5],
  ['random durable puts (1k/commit)', 'puts/s', 'puts', undefined],
  ['random gets, warm, walk', 'gets/s', 'getsWalk', 0.3],
  ['random gets, warm, xrp', 'gets/s', 'getsXrp', 0.3],
  ['range scan (all rows)', 'rows/s', 'scan', undefined],
];
const pad = (s, n) => String(s).padStart(n);
if (ours) console.log(`\n${'workload'.padEnd(34)}${pad('xrpkv', 12)}${pad('lmdb-js', 12)}${pad('ratio', 8)}  target`);
for (const [label, unit, field, target] of ours ? rows : []) {
  if (field === 'getsXrp' && ours.xrp) {
    console.log(`${label.padEnd(34)}  xrp: not available`);
    continue;
  }
  const a = ours[field];
  const b = theirs?.[field];
  const ratio = b ? a / b : undefined;
  const verdict = target === undefined || ratio === undefined ? '' : `>= ${target}x ${ratio >= target ? 'met' : 'MISSED'}`;
  console.log(`${label.padEnd(34)}${pad(fmt(a), 12)}${pad(b ? fmt(b) : '-', 12)}${pad(ratio ? ratio.toFixed(3) + 'x' : '-', 8)}  ${verdict}  (${unit})`);
}
if (ours) {
  console.log(`\nxrpkv file: ${(oursBytes / 2 ** 20).toFixed(1)} MiB; gets per pass: walk ${ours.walkPass}${ours.xrpPass ? `, xrp ${ours.xrpPass}` : ''}, lmdb-js ${theirs?.walkPass ?? '-'}`);
  if (typeof ours.getsXrp === 'number') {
    const x = ours.getsXrp / ours.getsWalk;
    console.log(`warm gets, xrp over walk (the two taking turns): ${x.toFixed(3)}x, >= 0.9x ${x >= 0.9 ? 'met' : 'MISSED'}`);
  }
  if (ours.paths) printPaths(ours.paths);
  console.log(`all passes (gets/s): xrpkv walk ${ours.getsWalkAll.map(fmt).join(', ')}${ours.getsXrpAll ? `; xrpkv xrp ${ours.getsXrpAll.map(fmt).join(', ')}` : ''}${theirs ? `; lmdb-js ${theirs.getsWalkAll.map(fmt).join(', ')}` : ''}`);
}

const commits = await commitRows();
console.log(`load average at the start: ${loadAtStart}; at the end: ${load()} (${cpu.length} cores, shared with other work)`);

if (!args.includes('--no-json')) {
  const out = join(root, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  const file = join(out, `store-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const json = {
    date: new Date().toISOString(),
    machine: { cores: cpu.length, model: cpu[0]?.model, node: process.version, note: 'shared, noisy host', loadAverage: { start: loadAtStart, end: load() } },
    workload: { keys: N, keyBytes: 16, valueBytes: 100, encodings: 'binary keys and values', loadBatch: LOAD_BATCH, putBatch: PUT_BATCH, putBatches: BATCHES, gets: GETS, repeat: REPEAT },
    xrpkv: ours,
    lmdb: theirs,
    ratios: theirs && Object.fromEntries(rows.filter(([, , f]) => typeof ours[f] === 'number').map(([, , f]) => [f, ours[f] / theirs[f]])),
    commits,
  };
  writeFileSync(file, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${file}`);
}
if (!args.includes('--dir')) rmSync(dir, { recursive: true, force: true });
