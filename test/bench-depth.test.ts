// `xrpkv bench depth`: the tree builder (exact heights, files the store and
// `checkFile` accept), every lookup mode's answers, and a tiny run through the
// compiled CLI. No timing assertions: speed goals live in the benchmark itself.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/index.js';
import { checkFile } from '../src/store/check.js';
import { encodeBranch, encodeLeaf } from '../src/format/page.js';
import { lookupProgram } from '../src/programs.js';
import {
  branchCapacity,
  buildTree,
  keyForInteger,
  keyOf,
  leafCapacity,
  planTree,
  plannedPages,
  valueOf,
  type BuiltTree,
} from '../src/bench/build-tree.js';
import { lookupChain, lookupValue, runXrpBatch, runXrpSync, syncScratchFor, xrpLookupSync } from '../src/bench/chains.js';
import { runPlainReads, runWalkThreads } from '../src/bench/threads.js';
import { BenchCheckError, type Probe } from '../src/bench/probe.js';
import { closeTarget, openTarget, type Target } from '../src/bench/target.js';
import { runReadAsync, runReadSync, runWalkAsync, runWalkSync, walkAsync, walkSync } from '../src/bench/walk.js';
import { alignedBuffer } from '../src/aligned.js';
import { node, requireFreshDist, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const VALUE = 64;

function build(name: string, pageSize: number, height: number, maxKeys = 2_000_000, fanout = 31): BuiltTree {
  return buildTree(join(tmp.dir, name), planTree({ pageSize, fanout, valueSize: VALUE, height, maxKeys }));
}

describe('planning a tree', () => {
  it('derives page capacities from the format: one more entry would not fit', () => {
    for (const p of [512, 4096]) {
      const leaf = leafCapacity(p, VALUE);
      const keys = (n: number) => Array.from({ length: n }, (_, i) => keyOf(i));
      encodeLeaf(p, 2, 1, keys(leaf), keys(leaf).map((k) => valueOf(k, VALUE)));
      expect(() => encodeLeaf(p, 2, 1, keys(leaf + 1), keys(leaf + 1).map((k) => valueOf(k, VALUE)))).toThrow(/overflow the page/);
      const branch = branchCapacity(p);
      encodeBranch(p, 2, 1, keys(branch), keys(branch).map((_, i) => i + 3));
      expect(() => encodeBranch(p, 2, 1, keys(branch + 1), keys(branch + 1).map((_, i) => i + 3))).toThrow(/overflow the page/);
    }
    // 512-byte pages fit fewer than BPF-KV's 31 entries, and the plan says so.
    const s = planTree({ pageSize: 512, fanout: 31, valueSize: VALUE, height: 2, maxKeys: 1e6 });
    expect(s.leafFill).toBe(leafCapacity(512, VALUE));
    expect(s.branchFill).toBe(Math.min(31, branchCapacity(512)));
    expect(s.leafFill).toBeLessThan(31);
    expect(s.notes.join(' ')).toMatch(/leaf fits/);
  });

  it('lowers the branch fanout of deep trees to the largest that fits --max-keys', () => {
    for (const [p, h, max] of [[512, 6, 20_000], [4096, 5, 100_000], [4096, 6, 2_000_000]] as const) {
      const s = planTree({ pageSize: p, fanout: 31, valueSize: VALUE, height: h, maxKeys: max });
      expect(s.keys).toBeLessThanOrEqual(max);
      expect(s.keys).toBe(s.leafFill * s.branchFill ** (h - 1));
      expect(s.leafFill * (s.branchFill + 1) ** (h - 1)).toBeGreaterThan(max);
      expect(s.notes.join(' ')).toMatch(/branch fanout lowered to \d+/);
    }
    expect(() => planTree({ pageSize: 512, fanout: 31, valueSize: VALUE, height: 8, maxKeys: 100 })).toThrow(/needs at least 128 keys/);
    expect(() => planTree({ pageSize: 512, fanout: 31, valueSize: 200, height: 2, maxKeys: 100 })).toThrow(/value size/);
    expect(() => planTree({ pageSize: 600, fanout: 31, valueSize: 8, height: 2, maxKeys: 100 })).toThrow(/page size/);
  });
});

describe('building a tree', () => {
  const cases = [
    ...[1, 2, 3, 4].map((h) => [512, h, 2_000_000] as const),
    [512, 6, 3000] as const,
    ...[1, 2, 3].map((h) => [4096, h, 2_000_000] as const),
    [4096, 5, 5000] as const,
  ];
  it.each(cases)('makes a %i-byte-page tree of exactly %i levels that open and checkFile accept (max keys %i)', async (p, h, max) => {
    const t = build(`t-${p}-${h}.xrpkv`, p, h, max);
    expect(t.pageCount).toBe(plannedPages(t));
    const report = checkFile(t.path);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({ ok: true, entries: t.keys, pages: t.pageCount });
    const db = open<Buffer, Buffer>(t.path, { keyEncoding: 'binary', valueEncoding: 'binary', lookup: 'walk' });
    try {
      const stats = db.stats();
      expect(stats).toMatchObject({ height: h, entries: t.keys, pageSize: p, leafPages: t.leafPages, branchPages: t.branchPages });
      for (const i of [0, 1, Math.floor(t.keys / 2), t.keys - 1]) {
        expect(db.getSync(keyOf(i))).toEqual(valueOf(keyOf(i), VALUE));
      }
      expect(db.getSync(keyForInteger(3))).toBeUndefined();
      expect(db.getSync(keyForInteger(2 * t.keys))).toBeUndefined();
    } finally {
      await db.close();
    }
  });
});

describe('every mode', () => {
  let t: Target;
  let probes: Probe[];
  beforeAll(() => {
    t = openTarget(build('modes.xrpkv', 512, 4, 3000));
    const present = [0, 1, 7, Math.floor(t.tree.keys / 3), t.tree.keys - 1].map((i) => keyOf(i));
    const absent = [1, 2 * 7 + 1, 2 * t.tree.keys, 2 * t.tree.keys + 99].map(keyForInteger);
    probes = [
      ...present.map((key) => ({ key, expected: valueOf(key, VALUE) })),
      ...absent.map((key) => ({ key, expected: undefined })),
    ];
  });
  afterAll(() => closeTarget(t));

  it('finds each key with its value and reports missing keys absent (single lookups)', async () => {
    const buf = alignedBuffer(512);
    const program = lookupProgram();
    for (const p of probes) {
      expect(walkSync(t, p.key, buf)).toEqual(p.expected);
      const viaAsync = await new Promise<Buffer | undefined>((resolve, reject) =>
        walkAsync(t, p.key, buf, (err, v) => (err ? reject(err) : resolve(v && Buffer.from(v)))),
      );
      expect(viaAsync).toEqual(p.expected);
      const r = program.runSync(t.xrp, lookupChain(t, p.key));
      expect(r.hops).toBe(t.tree.height);
      expect(lookupValue('xrp-sync', p.key, r)).toEqual(p.expected);
      expect(xrpLookupSync(t, program, p.key, syncScratchFor(t))).toEqual(p.expected);
    }
  });

  it('walks natively on threads to the same answers, and fails on a page that does not parse', async () => {
    for (const threads of [1, 3]) {
      const r = await runWalkThreads(t, probes, threads, VALUE);
      expect(r.latenciesNs.length).toBe(probes.length);
      expect(r.io).toBe(`${threads} native threads doing pread`);
    }
    // The root read as if the tree were one level taller: a branch where a leaf belongs.
    const taller = { ...t, tree: { ...t.tree, height: t.tree.height + 1 } };
    await expect(runWalkThreads(taller, probes, 2, VALUE)).rejects.toThrow(/type 3 where a branch belongs|where a leaf belongs|type 2/);
  });

  it('runs slices that check every result, and fail on a wrong expectation', async () => {
    const runs = [
      runWalkSync(t, probes),
      await runWalkAsync(t, probes, 4),
      await runWalkThreads(t, probes, 4, VALUE),
      runXrpSync(t, probes),
      await runXrpBatch(t, probes, 4, VALUE),
    ];
    for (const r of runs) {
      expect(r.latenciesNs.length).toBe(probes.length);
      expect(Math.min(...r.latenciesNs)).toBeGreaterThan(0);
    }
    const wrong = [{ key: keyOf(5), expected: valueOf(keyOf(6), VALUE) }];
    const gone = [{ key: keyOf(5), expected: undefined }];
    expect(() => runWalkSync(t, wrong)).toThrow(BenchCheckError);
    await expect(runWalkAsync(t, gone, 2)).rejects.toThrow(/found a value, but the key is absent/);
    expect(() => runXrpSync(t, wrong)).toThrow(/differs/);
    await expect(runWalkThreads(t, wrong, 2, VALUE)).rejects.toThrow(/walk-threads: .*differs/);
    await expect(runXrpBatch(t, [{ key: keyForInteger(3), expected: valueOf(keyForInteger(3), VALUE) }], 2, VALUE)).rejects.toThrow(
      /reported absent/,
    );
  });

  it('reads one page per device read', async () => {
    const pages = Uint32Array.from([2, 3, t.tree.leafPages + 1, 2]);
    const plain = [await runPlainReads(t, pages, 1, 'threads'), await runPlainReads(t, pages, 4, 'threads'), await runPlainReads(t, pages, 3, 'uring')];
    for (const r of [runReadSync(t, pages), await runReadAsync(t, pages, 3), ...plain]) {
      expect(r.latenciesNs.length).toBe(pages.length);
      expect(Math.min(...r.latenciesNs)).toBeGreaterThan(0);
    }
    // A page past the end of the file fails the slice.
    await expect(runPlainReads(t, Uint32Array.from([t.tree.pageCount + 5]), 1, 'threads')).rejects.toThrow(/bytes of 512/);
    await expect(runPlainReads(t, Uint32Array.from([t.tree.pageCount + 5]), 1, 'uring')).rejects.toThrow(/returned 0 bytes/);
  });
});

describe('xrpkv bench depth (CLI)', () => {
  beforeAll(() => requireFreshDist());

  it('writes results.json, results.csv and both charts with a row per depth and mode', () => {
    const out = join(tmp.dir, 'cli-out');
    const r = node(['dist/cli/main.js', 'bench', 'depth', '--depths', '1..3', '--max-keys', '200', '--rounds', '1', '--lookups', '20', '--warmup', '5', '--concurrency', '4', '--out', out]);
    expect(r.stderr).not.toMatch(/Error|at .*\.js/);
    expect(r.status).toBe(0);
    for (const d of [1, 2, 3]) expect(r.stdout).toMatch(new RegExp(`^depth ${d}: [\\d,]+ keys`, 'm'));
    expect(r.stdout).toMatch(/xrp-kernel\s+unavailable: /);
    // How xrp-batch read, and why (the device was measured), after each depth's table.
    expect(r.stdout).toMatch(/^xrp-batch read with: (io_uring, queue depth 4|\d io_urings, one per thread|\d threads? doing pread).* \(.*probe reads/m);
    expect(r.stdout).toMatch(/lean path: an xrp lookup on a depth-1 tree in the page cache costs -?[\d.]+ µs more than one fs.readSync/);
    expect(r.stdout).toMatch(/in CPU time -?[\d.]+ µs more\)/);
    const json = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
    expect(json.depths.map((d: { depth: number }) => d.depth)).toEqual([1, 2, 3]);
    expect(json.command).toContain('bench depth --depths 1..3');
    expect(json.machine.cores).toBeGreaterThan(0);
    expect(json.leanPath).toMatchObject({ rounds: 31, perRound: 1000, pageSize: 4096 });
    expect(json.leanPath.xrpLookupUs).toBeGreaterThan(0);
    expect(Number.isFinite(json.leanPath.cpuOverUs)).toBe(true);
    for (const d of json.depths) {
      expect(d.shape.keys).toBeLessThanOrEqual(200);
      const modes = d.rows.map((row: { mode: string }) => row.mode);
      expect(modes).toEqual([
        ...['walk-sync', 'walk-async', 'walk-threads', 'xrp-sync', 'xrp-batch', 'xrp-kernel'],
        ...['device-qd1', 'device-qdc', 'device-qdc-threads', 'read-sync', 'read-async'],
      ]);
      for (const row of d.rows) {
        if (row.mode === 'xrp-kernel') expect(row.unavailable).toMatch(/\S/);
        else expect(row.summary.count).toBe(20);
      }
      expect(d.rows.find((row: { mode: string }) => row.mode === 'walk-async').speedup).toBe(1);
    }
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv).toHaveLength(1 + 3 * 11);
    expect(csv[0]).toMatch(/^depth,keys,page_size,/);
    for (const name of ['speedup', 'latency']) {
      expect(readFileSync(join(out, `${name}.svg`), 'utf8')).toMatch(/<svg[\s\S]*xrp-batch/);
      expect(readFileSync(join(out, `${name}.png`)).subarray(1, 4).toString()).toBe('PNG');
    }
    expect(existsSync(join(out, 'tree.xrpkv'))).toBe(false);
  });

  it('refuses bad arguments with a clear message', () => {
    const bad = node(['dist/cli/main.js', 'bench', 'depth', '--depths', '0..3']);
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/expected depths from 1 to 12/);
    const both = node(['dist/cli/main.js', 'bench', 'depth', '--device', 'zram', '--path', join(tmp.dir, 'x'), '--out', join(tmp.dir, 'o2')]);
    expect(both.status).toBe(1);
    expect(both.stderr).toMatch(/--device or --path, not both/);
  });
});
