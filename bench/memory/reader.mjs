#!/usr/bin/env node
// One reader of bench/memory.mjs, in its own process (started inside the
// memory cgroup when there is one, after the page cache was dropped):
//
//   node bench/memory/reader.mjs '{"dir":..,"store":..,"mode":..,"pattern":..,"keys":N,"warmMs":..,"runMs":..}'
//
// Opens one store, reads random existing keys for warmMs (not counted: the
// caches fill towards what the limit lets them hold), then for runMs
// counted, and prints one line `RESULT <json>`: lookups/s, latency
// percentiles, and the kernel's counters over the counted part. Every value
// read is checked against the key it was asked for; a wrong or missing one
// ends the reader with an error.
//   sync    one lookup at a time (getSync / lmdb-js get)
//   many64  getMany of 64 keys, one batch at a time; a lookup's latency is its batch's
//   conc64  64 `get` calls in flight, each replaced as it resolves
import { performance } from 'node:perf_hooks';
import { Histogram } from '../lib/histogram.mjs';
import { ioCounters, ioDelta, peakRss } from '../lib/proc.mjs';
import { KEY_BYTES, randomIndexes, writeKey } from '../lib/workload.mjs';
import { STORES } from './stores.mjs';

export const IN_FLIGHT = 64;

const spec = JSON.parse(process.argv[2]);
const store = STORES.find((s) => s.id === spec.store);
if (!store) throw new Error(`unknown store ${spec.store}`);
const next = randomIndexes(spec.keys, spec.seed ?? 4242);
const keyOf = (i) => writeKey(i, Buffer.allocUnsafe(KEY_BYTES));

function check(value, i) {
  if (value === undefined || value === null) throw new Error(`${spec.store} ${spec.mode}: key ${i} found no value`);
  if (value.readUInt32LE(0) !== i) throw new Error(`${spec.store} ${spec.mode}: key ${i} read key ${value.readUInt32LE(0)}'s value`);
}

/** Runs `pattern` on `db` until `until` (performance.now()), recording into `hist` (or nowhere). */
async function run(db, pattern, until, hist) {
  const rec = hist ? (us, n) => hist.record(us, n) : () => {};
  if (pattern === 'sync') {
    while (performance.now() < until) {
      for (let n = 0; n < 64; n++) {
        const i = next();
        const k = keyOf(i);
        const t = performance.now();
        const v = db.getSync(k);
        rec((performance.now() - t) * 1000, 1);
        check(v, i);
      }
    }
  } else if (pattern === 'many64') {
    while (performance.now() < until) {
      const is = Array.from({ length: IN_FLIGHT }, next);
      const ks = is.map(keyOf);
      const t = performance.now();
      const vs = await db.getMany(ks);
      rec((performance.now() - t) * 1000, IN_FLIGHT);
      vs.forEach((v, j) => check(v, is[j]));
    }
  } else if (pattern === 'conc64') {
    const worker = async () => {
      while (performance.now() < until) {
        const i = next();
        const t = performance.now();
        const v = await db.get(keyOf(i));
        rec((performance.now() - t) * 1000, 1);
        check(v, i);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } else {
    throw new Error(`unknown pattern ${pattern}`);
  }
}

const t0 = performance.now();
const db = await store.open(spec.dir, spec.mode);
const openMs = performance.now() - t0;
await run(db, spec.pattern, performance.now() + spec.warmMs, undefined);
const hist = new Histogram();
const before = ioCounters();
const start = performance.now();
await run(db, spec.pattern, start + spec.runMs, hist);
const seconds = (performance.now() - start) / 1000;
const io = ioDelta(before, ioCounters());
await db.close();
const n = hist.count;
const result = {
  settings: db.settings,
  openMs,
  lookups: n,
  seconds,
  rate: n / seconds,
  p50Us: hist.percentile(0.5),
  p99Us: hist.percentile(0.99),
  syscrPerLookup: io.syscr / n,
  readKiBPerLookup: io.readBytes / 1024 / n,
  // Storage reads: bytes over the size of one read, 4 KiB (a page of the
  // page cache, and fio's unit) or, for O_DIRECT reads, the store's page
  // (db.readUnit): a 512-byte direct read is one request to the device.
  readsPerLookup: io.readBytes / (db.readUnit ?? 4096) / n,
  majorFaultsPerLookup: io.majorFaults / n,
  peakRssBytes: peakRss(),
};
console.log(`RESULT ${JSON.stringify(result)}`);
