// What every micro-benchmark suite shares: the built modules it measures
// (dist/, from `node scripts/build.mjs ts`), benny's case options, and the
// handlers that print results and save them under bench/results/.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import b from 'benny';
import { ROOT, RESULTS_DIR } from '../lib/results.mjs';

/** Imports `dist/<path>`; exits with the build command when it is missing. */
export async function dist(path) {
  const file = join(ROOT, 'dist', path);
  if (!existsSync(file)) {
    console.error(`bench:micro: dist/${path} is missing: run \`node scripts/build.mjs ts\` first`);
    process.exit(1);
  }
  return import(pathToFileURL(file).href);
}

export const distPath = (path) => join(ROOT, 'dist', path);

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

// Up to two seconds per case: the whole run stays within a minute or two.
const CASES = { maxTime: 2, minSamples: 10 };

/** One line per finished case (benny's own cycle output redraws a block, which piles up in logs). */
const line = (r) => `  ${r.name.padEnd(72)}${Math.round(r.ops).toLocaleString('en-US').padStart(14)} ops/s  ±${r.margin.toFixed(1)}%`;

/**
 * benny's configure/cycle/complete/save for suite `slug`: results go to
 * bench/results/micro-<slug>-<stamp>.json and .csv.
 */
export function handlers(slug, stamp) {
  const file = `micro-${slug}-${stamp}`;
  return [
    b.configure({ cases: CASES, minDisplayPrecision: 0 }),
    b.cycle((result) => console.log(line(result))),
    b.complete(),
    b.save({ file, folder: RESULTS_DIR, format: 'json', details: false, version }),
    b.save({ file, folder: RESULTS_DIR, format: 'csv', details: false, version }),
  ];
}

/**
 * A sink for results, so the engine cannot drop the work being measured;
 * `sink.check()` after a suite proves every case did something.
 */
export const sink = {
  n: 0,
  add(x) {
    this.n = (this.n + (typeof x === 'number' ? x : x === undefined ? 0 : 1)) | 0;
  },
};

/** Throws unless `ok`: a suite checks its setup once, before timing anything. */
export function expect(ok, what) {
  if (!ok) throw new Error(`bench:micro setup check failed: ${what}`);
}
