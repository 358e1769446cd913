// backup(path): a compacted copy of one snapshot while writers go on, whole
// or not at all, never replacing a file; and the CLI's backup and compact.
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StoreError, open } from '../src/index.js';
import { xrpkv } from './cli-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const pathOf = () => join(tmp.dir, `${seq++}.db`);
const key = (i: number) => `k${String(i).padStart(6, '0')}`;

/** A store with churn: a load, most keys removed (free pages), long values (overflow pages), and logged changes. */
async function churned(path: string) {
  const db = open<string, string>(path, { pageSize: 512 });
  await db.batch(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: `v${i}` })));
  await db.batch(Array.from({ length: 15_000 }, (_, i) => ({ type: 'del' as const, key: key(i) })));
  await db.put(key(1), 'x'.repeat(3000)); // overflow pages
  for (let i = 0; i < 10; i++) await db.put(key(19_990 + i), `logged ${i}`);
  return db;
}

describe('backup', () => {
  it('copies the commit it was called at, while writes go on, into a compacted file', async () => {
    const path = pathOf();
    const db = await churned(path);
    const before = db.getRange().map((e) => [e.key, e.value]).asArray;
    const target = pathOf();
    const copying = db.backup(target);
    // Writes issued while the copy runs: committed, and not in the copy.
    const writes = Array.from({ length: 50 }, (_, i) => db.put(key(30_000 + i), 'later'));
    await db.remove(key(19_999));
    await Promise.all(writes);
    expect(await copying).toEqual({ entries: before.length });
    expect(db.count()).toBe(before.length + 50 - 1);
    const source = db.stats();
    await db.close();

    const copy = open<string, string>(target);
    expect(copy.getRange().map((e) => [e.key, e.value]).asArray).toEqual(before);
    const s = copy.stats({ fill: true });
    expect(copy.check().problems).toEqual([]);
    expect([s.freeBytes, s.logBytes, s.pageSize]).toEqual([0, 0, 512]);
    expect(s.fileBytes).toBeLessThan(source.fileBytes);
    expect(s.fill).toBeGreaterThan(0.85); // leaves packed as a sorted load packs them
    await copy.close();
  });

  it('keeps the encodings, and never replaces a file', async () => {
    const path = pathOf();
    const db = open<Buffer, Buffer>(path, { keyEncoding: 'binary', valueEncoding: 'binary' });
    await db.put(Buffer.from([1]), Buffer.from([2, 3]));
    const taken = pathOf();
    writeFileSync(taken, 'keep me');
    await expect(db.backup(taken)).rejects.toThrow(StoreError);
    await expect(db.backup(taken)).rejects.toMatchObject({ code: 'EXISTS' });
    expect(readFileSync(taken, 'utf8')).toBe('keep me');
    const target = pathOf();
    await db.backup(target);
    await db.close();
    const copy = open<Buffer, Buffer>(target);
    expect([copy.keyEncoding, copy.valueEncoding]).toEqual(['binary', 'binary']);
    expect(copy.getSync(Buffer.from([1]))).toEqual(Buffer.from([2, 3]));
    await copy.close();
  });

  it('fails without leaving a file when the database closes under it', async () => {
    const path = pathOf();
    const db = await churned(path);
    // More than one batch of the copy (BACKUP_BATCH_BYTES): the close comes between two.
    await db.batch(Array.from({ length: 2000 }, (_, i) => ({ type: 'put' as const, key: key(40_000 + i), value: 'y'.repeat(3000) })));
    const target = pathOf();
    const copying = db.backup(target);
    await db.close();
    await expect(copying).rejects.toThrow(/closed/);
    expect(existsSync(target)).toBe(false);
  });
});

describe('xrpkv backup and compact', () => {
  beforeAll(() => requireFreshStore());

  it('backup writes a copy; compact replaces the file by one, smaller, with the same entries', async () => {
    const path = pathOf();
    const db = await churned(path);
    const entries = db.getRange().map((e) => [e.key, e.value]).asArray;
    await db.close();
    const sizeBefore = statSync(path).size;

    const target = pathOf();
    const backup = await xrpkv(['backup', '--db', path, target, '--json']);
    expect(backup.status).toBe(0);
    expect(JSON.parse(backup.stdout)).toMatchObject({ path: target, entries: entries.length });
    // The copy's lock file went with its temporary name.
    expect(readdirSync(dirname(target)).filter((name) => name.endsWith('.backup-lock'))).toEqual([]);
    expect(existsSync(`${target}-lock`)).toBe(false);

    const compact = await xrpkv(['compact', '--db', path, '--json']);
    expect(compact.stderr).toBe('');
    expect(JSON.parse(compact.stdout)).toMatchObject({ path, entries: entries.length, bytes: statSync(path).size });
    expect(statSync(path).size).toBeLessThan(sizeBefore);
    for (const p of [path, target]) {
      const again = open<string, string>(p);
      expect(again.getRange().map((e) => [e.key, e.value]).asArray).toEqual(entries);
      expect(again.check().problems).toEqual([]);
      await again.close();
    }
    const again = await xrpkv(['backup', '--db', path, target]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists: a backup never replaces a file/);
  });

  it('compact refuses a file another process has open, which would go on with the old file', async () => {
    const path = pathOf();
    const db = await churned(path);
    const compact = await xrpkv(['compact', '--db', path]);
    expect(compact.status).toBe(1);
    expect(compact.stderr).toContain(`open in other processes (pid ${process.pid})`);
    expect(db.check().ok).toBe(true);
    await db.close();
  });
});
