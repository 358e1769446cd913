#!/usr/bin/env node
// Micro-benchmarks of xrpkv's hot paths, with benny (`npm run bench:micro`):
//
//   node bench/micro/run.mjs [suite ...]     suites: key-encoding node-search vm-lookup value-decoding
//
// Each suite prints ops/s per case and saves bench/results/micro-<suite>-<time>.json
// and .csv. About a second per case; the whole run takes about a minute.
// Needs a built dist/ (`node scripts/build.mjs ts`).
import { machine, machineLine } from '../lib/results.mjs';
import { sink } from './common.mjs';

const SUITES = {
  'key-encoding': './key-encoding.mjs',
  'node-search': './node-search.mjs',
  'vm-lookup': './vm-lookup.mjs',
  'value-decoding': './value-decoding.mjs',
};

const asked = process.argv.slice(2);
for (const name of asked) {
  if (!SUITES[name]) {
    console.error(`bench:micro: unknown suite '${name}' (suites: ${Object.keys(SUITES).join(', ')})`);
    process.exit(2);
  }
}
const names = asked.length ? asked : Object.keys(SUITES);
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
console.log(`xrpkv bench:micro: ${names.join(', ')}`);
console.log(`${machineLine(machine())}; a shared, noisy host: compare cases within one run`);
for (const name of names) {
  const { default: suite } = await import(SUITES[name]);
  await suite(stamp);
}
if (sink.n === 0) console.log('(sink is 0)'); // keeps every case's results alive
