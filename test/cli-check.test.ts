// `xrpkv check FILE`, spawned as `node dist/cli/main.js` (the compiled CLI), on a
// good file, on files with damaged pages, and on a missing file.
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/index.js';
import { layout, requireFreshStore } from './store-fixtures.js';
import { node, requireFreshDist, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const good = join(tmp.dir, 'good.xrpkv');
const P = 512;

beforeAll(async () => {
  requireFreshDist();
  requireFreshStore();
  const db = open(good, { pageSize: P });
  await db.batch(Array.from({ length: 400 }, (_, i) => ({ type: 'put' as const, key: i, value: 'v'.repeat(i % 300) })));
  await db.close();
});
afterAll(() => tmp.remove());

const xrpkv = (...args: string[]) => node(['dist/cli/main.js', ...args]);

/** A copy of the good file with one byte of each of `pages` flipped (past the checksum). */
function damaged(name: string, pages: number[]): string {
  const path = join(tmp.dir, name);
  copyFileSync(good, path);
  const bytes = readFileSync(path);
  for (const n of pages) bytes[n * P + 40] ^= 0xff;
  writeFileSync(path, bytes);
  return path;
}

describe('xrpkv check', () => {
  it('reports a good file as clean and exits 0', () => {
    const r = xrpkv('check', good);
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(r.stdout).toMatch(/^.*good\.xrpkv: txid \d+, \d+ pages, 400 entries\nok: no problems\n$/);
    const j = xrpkv('check', good, '--json');
    expect(j).toMatchObject({ status: 0, stderr: '' });
    const out = JSON.parse(j.stdout);
    expect(out).toMatchObject({ path: good, ok: true, problems: [], entries: 400 });
    expect(out.pages).toBeGreaterThan(100);
  });

  it('reports every damaged page, not only the first, and exits 2', () => {
    const { levels } = layout(good, P);
    const leaves = levels[levels.length - 1];
    const hit = [leaves[0], leaves[Math.floor(leaves.length / 2)], leaves[leaves.length - 1]];
    const path = damaged('bad.xrpkv', hit);
    const r = xrpkv('check', path);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('');
    for (const n of hit) expect(r.stdout).toContain(`page ${n}: checksum mismatch`);
    expect(r.stdout).toMatch(/\n\d+ problems\n$/);
    const j = xrpkv('check', path, '--json');
    expect(j.status).toBe(2);
    const out = JSON.parse(j.stdout);
    expect(out.ok).toBe(false);
    for (const n of hit) expect(out.problems).toContainEqual({ page: n, message: 'checksum mismatch' });
  });

  it('reports a file whose meta pages are both damaged', () => {
    const r = xrpkv('check', damaged('no-meta.xrpkv', [0, 1]), '--json');
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, problems: [{ page: 0 }] });
  });

  it('fails on a missing file with a message on stderr', () => {
    const r = xrpkv('check', join(tmp.dir, 'missing.xrpkv'));
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^xrpkv: ENOENT/);
  });
});
