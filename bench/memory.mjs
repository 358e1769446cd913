#!/usr/bin/env node
// Random reads of data eight times larger than the memory the reader may
// use: xrpkv (`lookup` auto, walk and xrp at the defaults, which read such a
// file with O_DIRECT, and auto with `direct: false`;
// 4 KiB pages, and 512-byte pages for a tree of height >= 5, BPF-KV's
// shape), lmdb-js (default, noReadAhead) and classic-level, on the same
// keys (`npm run bench:memory`).
//
//   node bench/memory.mjs [--quick] [--no-limit] [--keys N] [--warm-seconds S] [--run-seconds S] [--fio-seconds S]
//                         [--stores xrpkv-4k,xrpkv-512,lmdb,classic-level] [--dir D] [--no-json] [--no-chart]
//
// The data (bench/lib/workload.mjs): N (default 8,000,000; --quick 200,000)
// 16-byte keys and 100-byte values, about 1 GiB in xrpkv at 4 KiB pages.
// Each store is built once (in --dir, reused by later runs with the same N;
// else a temp dir, removed at the end).
// Readers (bench/memory/reader.mjs), each a child process started after the
// page cache was dropped, inside a memory cgroup (v1) limited to an eighth
// of the 4 KiB xrpkv file (at least 96 MiB); the cgroup holds the reader's
// page cache too. Without root or cgroup v1 it says so and runs without the
// limit (and without dropping the page cache); --no-limit does the same.
// Each reads random keys for --warm-seconds (uncounted), then
// --run-seconds: one at a time, and 64 in
// flight (getMany of 64; 64 concurrent get). fio measures the device: 4 KiB
// O_DIRECT random reads of the same file at depth 1 and 64. Then the targets
// (bench/memory/targets.mjs), bench/results/memory-<time>.json and a chart.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { memoryCgroup } from './lib/cgroup.mjs';
import { deviceRate, fioUnavailable } from './lib/fio.mjs';
import { intOption, numberOption, stringOption } from './lib/options.mjs';
import { canDropPageCache, dropPageCache } from './lib/page-cache.mjs';
import { machine, machineLine, resultsBase } from './lib/results.mjs';
import { makeKeys } from './lib/workload.mjs';
import { printTable, writeMemoryChart } from './memory/report.mjs';
import { diskBytes } from './peers/report.mjs';
import { ensureBuilt, STORES } from './memory/stores.mjs';
import { checkTargets, printTargets } from './memory/targets.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const N = intOption(args, 'keys', quick ? 200_000 : 8_000_000);
const WARM_MS = numberOption(args, 'warm-seconds', quick ? 1 : 3) * 1000;
const RUN_MS = numberOption(args, 'run-seconds', quick ? 1 : 8) * 1000;
const FIO_S = intOption(args, 'fio-seconds', quick ? 1 : 6);
const storeIds = stringOption(args, 'stores', STORES.map((s) => s.id).join(',')).split(',');
for (const id of storeIds) {
  if (!STORES.some((s) => s.id === id)) {
    console.error(`--stores: unknown store '${id}' (known: ${STORES.map((s) => s.id).join(', ')})`);
    process.exit(2);
  }
}
const stores = STORES.filter((s) => storeIds.includes(s.id));
const keepDir = args.includes('--dir');
const dir = keepDir ? stringOption(args, 'dir') : mkdtempSync(join(tmpdir(), 'xrpkv-memory-'));
// --no-limit: no cgroup and no dropping of the page cache (which is the
// whole machine's) even as root: for tests and a quick look.
const noLimit = args.includes('--no-limit');
// Below this a reader cannot hold Node itself (about 50 MiB resident) and
// its caches: a smaller data set (--quick) runs at this limit and fits.
const MIN_LIMIT = 96 * 2 ** 20;
const READER = fileURLToPath(new URL('./memory/reader.mjs', import.meta.url));
// A reader that has not finished this long after its counted part should have is stopped and reported.
const READER_GRACE_MS = 60_000;

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

// Stopped by a signal: end the reader and remove the cgroup (a cgroup with a process in it cannot be removed).
let running;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    running?.kill('SIGKILL');
    running?.once('close', () => cgroupRef?.remove?.());
    if (!running) cgroupRef?.remove?.();
    console.error(`bench:memory: stopped by ${sig}`);
    process.exitCode = 130;
    setTimeout(() => process.exit(), 500);
  });
}
let cgroupRef;

/** Runs one reader in its own process (inside `cgroup` when there is one); its RESULT, or `{ error }`. */
function runReader(spec, cgroup) {
  const args = [READER, JSON.stringify(spec)];
  const [cmd, argv] = cgroup.wrap ? cgroup.wrap(process.execPath, args) : [process.execPath, args];
  return new Promise((resolve) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    running = child;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      child.kill('SIGKILL');
    }, spec.warmMs + spec.runMs + READER_GRACE_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running = undefined;
      const line = out.split('\n').find((l) => l.startsWith('RESULT '));
      if (line) return resolve(JSON.parse(line.slice(7)));
      const why = late
        ? `did not finish within ${(spec.warmMs + spec.runMs + READER_GRACE_MS) / 1000} s`
        : signal === 'SIGKILL' && cgroup.wrap
          ? 'killed (SIGKILL: the cgroup ran out of memory)'
          : `exit ${code ?? signal}`;
      const last = err.trim().split('\n').filter((l) => /Error|error/.test(l))[0] ?? err.trim().split('\n').pop() ?? '';
      resolve({ error: `${why}${last ? `: ${last.slice(0, 200)}` : ''}` });
    });
  });
}

// ---- build -----------------------------------------------------------------------
const m = machine();
console.log(`xrpkv bench:memory: ${N.toLocaleString('en-US')} keys (16-byte keys, 100-byte values, raw bytes)`);
console.log(`${machineLine(m)}; load average at start ${load()}; a shared, noisy host: rates move by tens of percent between runs`);
console.log(`data in ${dir}`);
const key = makeKeys(N);
const built = {};
for (const s of stores) {
  const t = performance.now();
  const b = await ensureBuilt(s, dir, N, key);
  built[s.id] = { ...b, bytes: diskBytes(s.file(dir)) };
  const how = b.reused ? 'reused' : `built in ${((performance.now() - t) / 1000).toFixed(1)} s`;
  const shape = b.height ? `, height ${b.height}, ${b.pages.toLocaleString('en-US')} pages` : '';
  console.log(`  ${s.label.padEnd(26)}${(built[s.id].bytes / 2 ** 20).toFixed(0).padStart(6)} MiB${shape} (${how})`);
}

// ---- the limit, the device ----------------------------------------------------------
// An eighth of "the data": the 4 KiB xrpkv file when it is in the run, else the first store's.
const dataStore = stores.find((s) => s.id === 'xrpkv-4k') ?? stores[0];
const eighth = Math.floor(built[dataStore.id].bytes / 8 / 4096) * 4096;
const limit = Math.max(eighth, MIN_LIMIT);
const cgroup = noLimit ? { reason: '--no-limit' } : memoryCgroup(limit);
cgroupRef = cgroup;
const limitNote = cgroup.reason
  ? `no memory limit: ${cgroup.reason}; readers run unlimited`
  : `readers in memory cgroup ${cgroup.dir}, limit ${(cgroup.limitBytes / 2 ** 20).toFixed(1)} MiB, page cache included ` +
    (limit === eighth ? `(an eighth of ${dataStore.label}'s file)` : `(the floor: an eighth of ${dataStore.label}'s file, ${(eighth / 2 ** 20).toFixed(1)} MiB, would not hold Node itself; this data fits in memory)`);
const dropCaches = canDropPageCache() && !noLimit;
const dropNote = dropCaches ? 'page cache dropped before each reader' : `page cache not dropped (${noLimit ? '--no-limit' : 'needs root'})`;
console.log(`${limitNote}; ${dropNote}`);

let device;
const fioMissing = fioUnavailable();
if (fioMissing) {
  console.log(`device: not measured (${fioMissing})`);
} else {
  const file = dataStore.file(dir);
  try {
    device = { file, depth1: deviceRate(file, 1, FIO_S), depth64: deviceRate(file, 64, FIO_S) };
    console.log(
      `device (fio, ${device.depth64.engine}, 4 KiB O_DIRECT random reads of ${file}, ${FIO_S} s each): ` +
        `depth 1 ${Math.round(device.depth1.iops).toLocaleString('en-US')} IOPS (p50 ${device.depth1.p50Us.toFixed(0)} µs), ` +
        `depth 64 ${Math.round(device.depth64.iops).toLocaleString('en-US')} IOPS (p50 ${device.depth64.p50Us.toFixed(0)} µs)`,
    );
  } catch (e) {
    console.log(`device: not measured (${e.message.split('\n')[0]})`);
  }
}

// ---- readers ------------------------------------------------------------------------------
const rows = [];
try {
  for (const s of stores) {
    for (const mode of s.modes) {
      for (const pattern of s.patterns) {
        if (dropCaches) {
          // 1: the page cache only, the file pages a reader finds or not.
          const drop = dropPageCache(1);
          if (!drop.dropped) console.log(`  (${drop.reason})`);
        }
        cgroup.resetPeak?.();
        const spec = { dir, store: s.id, mode, pattern, keys: N, warmMs: WARM_MS, runMs: RUN_MS };
        const r = { store: s.id, mode, pattern, ...(await runReader(spec, cgroup)) };
        if (cgroup.peakBytes) r.cgroupPeakBytes = cgroup.peakBytes();
        rows.push(r);
        const summary = r.error
          ? `failed: ${r.error}`
          : `${Math.round(r.rate).toLocaleString('en-US')} lookups/s, p99 ${Math.round(r.p99Us)} µs, ${r.readsPerLookup.toFixed(2)} reads/lookup`;
        console.log(`  ${s.id} ${mode} ${pattern}: ${summary}`);
      }
    }
  }
} finally {
  cgroup.remove?.();
  if (!keepDir) rmSync(dir, { recursive: true, force: true });
}

// ---- report -------------------------------------------------------------------------------
console.log();
printTable(rows);
console.log('settings:');
for (const r of rows) if (r.settings && r.pattern === 'sync') console.log(`  ${r.store} ${r.mode}: ${r.settings}`);
console.log();
const targets = checkTargets(rows, device);
printTargets(targets);
console.log(`load average at end ${load()}`);

const base = resultsBase('memory');
if (!args.includes('--no-json')) {
  const json = {
    date: new Date().toISOString(),
    machine: { ...m, loadAverage: load() },
    workload: { keys: N, keyBytes: 16, valueBytes: 100, warmSeconds: WARM_MS / 1000, runSeconds: RUN_MS / 1000, inFlight: 64 },
    limit: cgroup.reason ? { bytes: null, reason: cgroup.reason } : { bytes: cgroup.limitBytes, cgroup: cgroup.dir },
    pageCacheDropped: dropCaches,
    stores: Object.fromEntries(stores.map((s) => [s.id, { label: s.label, ...built[s.id] }])),
    device: device ?? { reason: fioMissing ?? 'fio failed' },
    rows,
    targets,
  };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  console.log(`results: ${base}.json`);
}
if (!args.includes('--no-chart')) {
  const title = `Random lookups, data 8x the memory limit (${N.toLocaleString('en-US')} keys)`;
  const subtitle = `${cgroup.reason ? 'no limit' : `limit ${(cgroup.limitBytes / 2 ** 20).toFixed(0)} MiB`}; ${m.cores} cores, shared host`;
  await writeMemoryChart(rows.filter((r) => !r.error), title, subtitle, base);
}
