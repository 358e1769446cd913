#!/usr/bin/env node
// Where bench:peers' file space goes: its write workload only (bulk load of
// N ascending keys in batches of 100,000, then 200 durable batches of 1,000
// random overwrites), on xrpkv and the peers, printing each store's bytes on
// disk after it closes and, for xrpkv, stats() after each phase (live, free
// and log bytes, leaf fill). Quicker than bench:peers when only the `on disk`
// line is wanted.
//
//   node bench/space.mjs [--keys N] [--batches N] [--stores xrpkv,lmdb,classic-level] [--log-limit N] [--buffered]
//
// --log-limit: xrpkv's `logLimit` option (default: not given, the store's
// default); 65536 is what the default was before it followed the tree's size.
// --buffered: xrpkv with `direct: false` (its default; without the flag the
// store's default is used, which is the same now).
// Each phase's seconds are printed too (noisy on a shared machine: compare
// runs made side by side).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intOption, stringOption } from './lib/options.mjs';
import { makeKeys, makeValue, randomIndexes } from './lib/workload.mjs';
import { performance } from 'node:perf_hooks';
import { diskBytes } from './peers/report.mjs';

const args = process.argv.slice(2);
const N = intOption(args, 'keys', 1_000_000);
const BATCHES = intOption(args, 'batches', 200);
const LOAD_BATCH = Math.min(N, 100_000);
const PUT_BATCH = 1_000;
const ADAPTERS = { xrpkv: './peers/xrpkv.mjs', lmdb: './peers/lmdb.mjs', 'classic-level': './peers/classic-level.mjs' };
const LOG_LIMIT = intOption(args, 'log-limit', 0) || undefined;
const names = stringOption(args, 'stores', Object.keys(ADAPTERS).join(',')).split(',');

const key = makeKeys(N);
const rand = randomIndexes(N);
const putOrder = Array.from({ length: BATCHES * PUT_BATCH }, rand);
const puts = (from, to, keyAt, round) => {
  const ops = [];
  for (let j = from; j < to; j++) ops.push({ type: 'put', key: key(keyAt(j)), value: makeValue(keyAt(j), round) });
  return ops;
};
const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;

function breakdown(db, phase) {
  if (typeof db.stats !== 'function' || db.stats().liveBytes === undefined) return;
  const s = db.stats({ fill: true });
  console.log(
    `  ${phase.padEnd(12)} file ${MiB(s.fileBytes)}: live ${MiB(s.liveBytes)}, free ${MiB(s.freeBytes)}, log ${MiB(s.logBytes)}; ` +
      `leaves ${s.leafPages}, branches ${s.branchPages}, fill ${(s.fill * 100).toFixed(1)}%`,
  );
}

const sizes = {};
for (const name of names) {
  const store = (await import(ADAPTERS[name])).default;
  if (name === 'xrpkv') store.logLimit = LOG_LIMIT;
  if (name === 'xrpkv' && args.includes('--buffered')) store.direct = false;
  const dir = mkdtempSync(join(tmpdir(), 'xrpkv-space-'));
  const path = join(dir, name);
  mkdirSync(path);
  try {
    const db = await store.open(path);
    console.log(name + (name === 'xrpkv' && LOG_LIMIT ? ` (logLimit ${LOG_LIMIT})` : ''));
    let t = performance.now();
    for (let i = 0; i < N; i += LOAD_BATCH) await store.write(db, puts(i, Math.min(N, i + LOAD_BATCH), (j) => j, 0));
    console.log(`  bulk load    ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (name === 'xrpkv') breakdown(db, 'bulk load');
    t = performance.now();
    for (let b = 0; b < BATCHES; b++) await store.write(db, puts(b * PUT_BATCH, (b + 1) * PUT_BATCH, (j) => putOrder[j], 1));
    console.log(`  puts         ${((performance.now() - t) / 1000).toFixed(1)} s`);
    if (name === 'xrpkv') breakdown(db, 'puts');
    await store.close(db);
    sizes[name] = diskBytes(path);
    console.log(`  on disk      ${MiB(sizes[name])}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (sizes.xrpkv !== undefined) {
  for (const [name, bytes] of Object.entries(sizes)) if (name !== 'xrpkv') console.log(`xrpkv / ${name}: ${(sizes.xrpkv / bytes).toFixed(2)}x`);
}
