// Damaged files read through XRP chains (issue 16): no silent wrong answer.
// A chain's program searches pages it cannot verify itself (a flipped bit
// in a key still parses), so the emulator checks every page a chain reads
// (its checksum and the page number it records) before the program sees it,
// as the store's own reads do. For each page size, files are damaged at
// random (bit flips, zeroed ranges) and by misdirection (a valid page copied
// over another: its checksum is fine, its number is not), then read through
// `xrp` (getSync, get, getMany, getRange) and `auto` (with the default
// cache, and with none, so that every level is read: its getSyncs then take
// both sync chains and walks, its gets and getMany gathered batches, its
// scans range.c): every answer is the right value, or a CorruptionError;
// never a wrong value, a present key reported absent, or a range that skips
// or invents an entry.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CorruptionError, open, type Database, type OpenOptions } from '../src/index.js';
import type { LookupCounts } from '../src/store/lookup-choice.js';
import { random } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

type Bin = Database<Buffer, Buffer>;
const KEYS = 1200;
const key = (i: number) => Buffer.from(`key:${String(i * 7919).padStart(9, '0')}`);
const value = (i: number, p: number) => Buffer.alloc(i % 97 === 0 ? p : 10 + (i % 40), `v${i}-`);

/** A tree of KEYS keys (no log: every key in the tree), its pages numbered, and the expected entries. */
async function build(pageSize: number): Promise<{ path: string; pages: number; expected: Map<string, Buffer> }> {
  const path = join(tmp.dir, `base-${pageSize}.db`);
  const db: Bin = open(path, { pageSize, logLimit: 0, keyEncoding: 'binary', valueEncoding: 'binary' });
  const expected = new Map<string, Buffer>();
  const ops = Array.from({ length: KEYS }, (_, i) => ({ type: 'put' as const, key: key(i), value: value(i, pageSize) }));
  for (const o of ops) expected.set(o.key.toString('latin1'), o.value);
  await db.batch(ops);
  await db.close();
  return { path, pages: readFileSync(path).length / pageSize, expected };
}

type Damage = { what: string; apply: (file: Buffer) => void };

function damages(pageSize: number, pages: number, seed: number): Damage[] {
  const next = random(seed);
  const page = () => 2 + next(pages - 2);
  const out: Damage[] = [];
  for (let i = 0; i < 12; i++) {
    const p = page();
    const at = p * pageSize + next(pageSize);
    const bit = 1 << next(8);
    out.push({ what: `bit ${bit} of byte ${at} (page ${p}) flipped`, apply: (f) => void (f[at] ^= bit) });
  }
  for (let i = 0; i < 6; i++) {
    const p = page();
    const from = p * pageSize + next(pageSize - 64);
    const len = 8 + next(56);
    out.push({ what: `${len} bytes zeroed at ${from} (page ${p})`, apply: (f) => void f.fill(0, from, from + len) });
  }
  for (let i = 0; i < 5; i++) {
    const a = page();
    const b = page();
    if (a === b) continue;
    out.push({ what: `page ${a}'s bytes written over page ${b}`, apply: (f) => void f.copy(f, b * pageSize, a * pageSize, (a + 1) * pageSize) });
  }
  return out;
}

const sameOrCorrupt = (e: unknown) => {
  if (!(e instanceof CorruptionError)) throw e;
};

/** How each file is read: through `xrp`, and `auto` with the default cache and with none. */
const READERS: [string, OpenOptions][] = [
  ['xrp', { lookup: 'xrp' }],
  ['auto', { lookup: 'auto' }],
  ['auto, no cache', { lookup: 'auto', cacheSize: 0 }],
];

/** Reads every key and the whole range of `path`; returns the silent wrong answers (none expected), and what `auto` did. */
async function readAll(path: string, options: OpenOptions, expected: Map<string, Buffer>): Promise<{ wrong: string[]; errors: number; lookups?: LookupCounts }> {
  const wrong: string[] = [];
  let errors = 0;
  let db: Bin;
  try {
    db = open(path, { ...options, cacheLevels: 0, keyEncoding: 'binary', valueEncoding: 'binary' });
  } catch (e) {
    sameOrCorrupt(e);
    return { wrong, errors: 1 };
  }
  let lookups: LookupCounts | undefined;
  try {
    const keys = [...expected.keys()];
    const check = (how: string, k: string, got: Buffer | undefined) => {
      if (!got?.equals(expected.get(k)!)) wrong.push(`${how}(${k}): ${got === undefined ? 'absent' : 'a wrong value'}`);
    };
    for (const k of keys) {
      try {
        check('getSync', k, db.getSync(Buffer.from(k, 'latin1')));
      } catch (e) {
        sameOrCorrupt(e);
        errors++;
      }
    }
    for (const k of keys.filter((_, i) => i % 8 === 0)) {
      try {
        check('get', k, await db.get(Buffer.from(k, 'latin1')));
      } catch (e) {
        sameOrCorrupt(e);
        errors++;
      }
    }
    try {
      const got = await db.getMany(keys.map((k) => Buffer.from(k, 'latin1')));
      keys.forEach((k, i) => check('getMany', k, got[i]));
    } catch (e) {
      sameOrCorrupt(e);
      errors++;
    }
    const sorted = keys.sort();
    let i = 0;
    try {
      for (const { key: k, value: v } of db.getRange()) {
        const want = sorted[i++];
        if (k.toString('latin1') !== want) {
          wrong.push(`getRange: entry ${i - 1} is ${k.toString('latin1')}, expected ${want}`);
          break;
        }
        check('getRange', want, v);
      }
      if (i !== sorted.length) wrong.push(`getRange: ended after ${i} of ${sorted.length} entries`);
    } catch (e) {
      sameOrCorrupt(e);
      errors++;
    }
    // stats() reads the whole tree: on a damaged file it may fail, and then says nothing of `auto`.
    try {
      lookups = db.stats().lookups;
    } catch (e) {
      sameOrCorrupt(e);
    }
  } finally {
    await db.close();
  }
  return { wrong, errors, lookups };
}

describe.each([512, 1024, 2048, 4096])('damaged %i-byte pages', (pageSize) => {
  it('never answer wrong through xrp or auto: the right value, or CorruptionError', async () => {
    const base = await build(pageSize);
    const trials = damages(pageSize, base.pages, pageSize);
    let detected = 0;
    const silent: string[] = [];
    const paths = { walked: 0, chained: 0, batched: 0, scansChained: 0 };
    for (const [n, damage] of trials.entries()) {
      const path = join(tmp.dir, `damaged-${pageSize}-${n}.db`);
      copyFileSync(base.path, path);
      const file = readFileSync(path);
      damage.apply(file);
      writeFileSync(path, file);
      for (const [name, options] of READERS) {
        const { wrong, errors, lookups } = await readAll(path, options, base.expected);
        if (errors > 0) detected++;
        silent.push(...wrong.slice(0, 3).map((w) => `${damage.what}, ${name}: ${w}`));
        if (lookups) for (const k of Object.keys(paths) as (keyof typeof paths)[]) paths[k] += lookups[k];
      }
    }
    console.log(
      `${pageSize}-byte pages: ${trials.length} damaged files, read through ${READERS.map((r) => r[0]).join(', ')}: ${detected} reads found damage, ${silent.length} silent wrong answers; auto's paths where stats() could count them: ${JSON.stringify(paths)}`,
    );
    expect(detected).toBeGreaterThan(0);
    expect(silent).toEqual([]);
    // `auto` ran every path it has on these files, so each was swept.
    for (const [path, n] of Object.entries(paths)) expect(n, path).toBeGreaterThan(0);
  }, 120_000);
});
