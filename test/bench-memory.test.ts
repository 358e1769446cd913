// bench/memory.mjs end to end on a tiny data set, without the memory cgroup
// or dropping the page cache (--no-limit: both are the whole machine's
// business, and root only), on the 512-byte xrpkv tree, lmdb-js and
// classic-level (the 4 KiB tree is the same code with another page size;
// leaving it out keeps the test short, and its targets must then say they
// were not measured): every store, mode and pattern runs as its own reader
// process and reads only right values (a reader checks each value
// against its key and fails otherwise), and the report has its table, its
// targets and its JSON. The shape only: rates are bench/'s business, never
// a test's.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const ROOT = join(import.meta.dirname, '..');
const PATTERNS: Record<string, string[]> = {
  'xrpkv-512': ['auto', 'auto-buffered', 'walk', 'xrp'],
  lmdb: ['default', 'noReadAhead'],
  'classic-level': ['default'],
};

interface Row {
  store: string;
  mode: string;
  pattern: string;
  error?: string;
  lookups: number;
  rate: number;
  p50Us: number;
  p99Us: number;
  readsPerLookup: number;
  peakRssBytes: number;
}

it('runs every store, mode and pattern on a small data set and reports the targets', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['bench/memory.mjs', '--quick', '--no-limit', '--keys', '20000', '--warm-seconds', '0.1', '--run-seconds', '0.2', '--fio-seconds', '1', '--stores', 'xrpkv-512,lmdb,classic-level', '--no-chart', '--dir', tmp.dir],
    { cwd: ROOT, maxBuffer: 1 << 24 },
  );
  expect(stdout).toContain('no memory limit: --no-limit');
  expect(stdout).toMatch(/xrpkv, 512-byte pages\s+\d+ MiB, height \d+/);

  const targets = stdout.slice(stdout.indexOf('\ntargets:\n')).split('\n').filter((l) => /^\s+\[(MET|NOT MET|NOT MEASURED)\]/.test(l));
  // Measured or not, each says which; the 4 KiB tree's say why not.
  expect(targets[0]).toMatch(/^\s+\[NOT MEASURED\] xrpkv-4k .*: not measured \(/);
  expect(targets[4]).toMatch(/^\s+\[(MET|NOT MET)\] xrpkv-512 .*: xrpkv-512 xrp \w+ [\d,.]+\/s vs xrpkv-512 walk \w+ [\d,.]+\/s = [\d.]+x$/);
  expect(targets.map((l) => l.replace(/^\s+\[[A-Z ]+\] /, '').split(':')[0])).toEqual([
    'xrpkv-4k auto, 64 in flight >= 5x lmdb-js noReadAhead (its best pattern)',
    'xrpkv-4k auto, 64 in flight >= 0.8x device rate at depth 64 / reads per lookup',
    'xrpkv-512 auto, 64 in flight >= 5x lmdb-js noReadAhead (its best pattern)',
    'xrpkv-512 auto, 64 in flight >= 0.8x device rate at depth 64 / reads per lookup',
    'xrpkv-512 (the deep tree) xrp >= 1.5x walk, 64 in flight',
  ]);

  const jsonPath = /^results: (.+\.json)$/m.exec(stdout)?.[1];
  expect(jsonPath).toBeDefined();
  const json = JSON.parse(readFileSync(jsonPath!, 'utf8')) as { rows: Row[]; limit: { bytes: null; reason: string }; pageCacheDropped: boolean; targets: unknown[] };
  rmSync(jsonPath!);
  expect(json.limit).toEqual({ bytes: null, reason: '--no-limit' });
  expect(json.pageCacheDropped).toBe(false);
  expect(json.targets).toHaveLength(5);

  const expected = Object.entries(PATTERNS).flatMap(([store, modes]) =>
    modes.flatMap((mode) => (store === 'lmdb' ? ['sync', 'many64'] : ['sync', 'many64', 'conc64']).map((pattern) => `${store} ${mode} ${pattern}`)),
  );
  expect(json.rows.map((r) => `${r.store} ${r.mode} ${r.pattern}`)).toEqual(expected);
  for (const r of json.rows) {
    expect(r.error, `${r.store} ${r.mode} ${r.pattern}`).toBeUndefined();
    expect(r.lookups).toBeGreaterThan(0);
    expect(r.p50Us).toBeLessThanOrEqual(r.p99Us);
    expect(r.readsPerLookup).toBeGreaterThanOrEqual(0);
    expect(r.peakRssBytes).toBeGreaterThan(0);
  }
}, 120_000);
