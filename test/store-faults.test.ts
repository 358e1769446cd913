// Faults of the file and the disk (issue 14): an empty file is no database;
// a create that fails leaves nothing; what opening falls back from is
// reported; a commit that fails ends the handle's writes with an error that
// says what failed, and a reopen writes again with every acknowledged
// commit there. The tests that need a full file system mount a small tmpfs
// (root only; elsewhere they say why they are skipped).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError, WriteFailedError, checkFile, open, type Database } from '../src/index.js';
import { metaPageOf, pickMeta } from '../src/format/meta.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
type Bin = Database<Buffer, Buffer>;
const BINARY = { keyEncoding: 'binary', valueEncoding: 'binary' } as const;
const key = (i: number) => Buffer.from(`key-${String(i).padStart(7, '0')}`);

function readPages(path: string, pageSize: number, first: number, count: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(pageSize * count);
    readSync(fd, b, 0, b.length, first * pageSize);
    return b;
  } finally {
    closeSync(fd);
  }
}

function flipByte(path: string, offset: number): void {
  const fd = openSync(path, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] ^= 0x40;
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

describe('creating and opening', () => {
  it('refuses an existing empty file unless asked to make it a database', async () => {
    const path = newPath();
    writeFileSync(path, '');
    expect(() => open(path)).toThrow(expect.objectContaining({ code: 'EMPTY_FILE', message: expect.stringMatching(/is empty \(0 bytes\).*initEmpty/) }));
    // Refused without a change: still empty, still refused.
    expect(() => open(path)).toThrow(StoreError);
    const db = open(path, { initEmpty: true });
    await db.put('a', 1);
    await db.close();
    const again = open(path);
    expect(again.getSync('a')).toBe(1);
    await again.close();
    expect(() => open(path, { initEmpty: 'yes' as never })).toThrow(TypeError);
  });

  it('creates a missing file whole, with nothing else left in its directory but its lock file', async () => {
    const dir = join(tmp.dir, 'create');
    mkdirSync(dir);
    const db = open(join(dir, 'new.db'));
    await db.close();
    expect(readdirSync(dir).sort()).toEqual(['new.db', 'new.db-lock']);
    expect(checkFile(join(dir, 'new.db')).ok).toBe(true);
  });

  it('makes the missing directories above a new database, as lmdb-js does; a read-only open makes none', async () => {
    const top = join(tmp.dir, 'parents');
    const path = join(top, 'a', 'b', 'new.db');
    expect(() => open(path, { readOnly: true })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(existsSync(top)).toBe(false);
    const db = open(path);
    await db.put('k', 1);
    await db.close();
    expect(readdirSync(join(top, 'a', 'b')).sort()).toEqual(['new.db', 'new.db-lock']);
    const again = open(path, { readOnly: true });
    expect(again.getSync('k')).toBe(1);
    await again.close();
  });

  it('refuses to create under a path that is not a directory, with CREATE_FAILED and nothing left behind', () => {
    const dir = join(tmp.dir, 'not-a-dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'file'), 'x');
    const path = join(dir, 'file', 'new.db');
    expect(() => open(path)).toThrow(expect.objectContaining({ name: 'StoreError', code: 'CREATE_FAILED', message: expect.stringContaining(path) }));
    expect(readdirSync(dir)).toEqual(['file']);
  });
});

describe('what opening falls back from is reported', () => {
  it('a damaged newest meta page: the page, the commit opened, and why', async () => {
    const path = newPath();
    const db: Bin = open(path, { ...BINARY, pageSize: 512, logLimit: 0 });
    await db.put(key(1), Buffer.from('one'));
    await db.put(key(2), Buffer.from('two'));
    expect(db.recovery).toBeUndefined();
    await db.close();
    const newest = pickMeta([readPages(path, 512, 0, 1), readPages(path, 512, 1, 1)]);
    flipByte(path, metaPageOf(newest.txid) * 512 + 100);
    const reopened: Bin = open(path, BINARY);
    expect(reopened.recovery).toMatchObject({ page: metaPageOf(newest.txid), txid: newest.txid - 1 });
    expect(reopened.recovery!.reason).toMatch(new RegExp(`meta page ${metaPageOf(newest.txid)} is invalid.*opened at txid ${newest.txid - 1}`));
    expect(reopened.stats().recovery).toEqual(reopened.recovery);
    // The commit of the damaged meta is gone (that is what is reported), the one before it is there.
    expect(reopened.getSync(key(1))?.toString()).toBe('one');
    expect(reopened.getSync(key(2))).toBeUndefined();
    await reopened.close();
  });

  it('a clean open reports nothing', async () => {
    const path = newPath();
    const db = open(path);
    await db.put('a', 1);
    await db.close();
    const again = open(path);
    expect(again.recovery).toBeUndefined();
    expect(again.stats()).not.toHaveProperty('recovery');
    expect(again.stats().writable).toBe(true);
    await again.close();
  });
});

// ---- a full file system (root: a small tmpfs) --------------------------------

const canMount = (() => {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = join(tmp.dir, 'probe-mount');
  mkdirSync(probe);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs: ${(r.stderr || r.error?.message || '').trim()}`;
  execFileSync('umount', [probe]);
  return undefined;
})();
if (canMount) console.log(`store-faults: skipping the full-file-system tests: ${canMount}`);

/** A tmpfs of `size` mounted for `fn`, unmounted after. */
async function withTmpfs<T>(size: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(tmp.dir, `tmpfs-${seq++}`);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  try {
    return await fn(dir);
  } finally {
    execFileSync('umount', ['-l', dir]);
  }
}

describe.skipIf(canMount !== undefined)('on a full file system', () => {
  it('a create that fails leaves nothing behind', async () => {
    await withTmpfs('4k', async (dir) => {
      const path = join(dir, 'db');
      expect(() => open(path, { pageSize: 4096 })).toThrow(expect.objectContaining({ code: 'CREATE_FAILED', message: expect.stringContaining(path) }));
      expect(readdirSync(dir)).toEqual([]);
      // And nothing that a later open would reject once there is room.
      execFileSync('mount', ['-o', 'remount,size=1m', dir]);
      const db = open(path, { pageSize: 4096 });
      await db.put('a', 1);
      await db.close();
      expect(existsSync(path)).toBe(true);
    });
  });

  it('a commit that fails ends the handle’s writes; a reopen writes again and keeps every acknowledged key', async () => {
    await withTmpfs('512k', async (dir) => {
      const path = join(dir, 'db');
      const db: Bin = open(path, { ...BINARY, pageSize: 4096 });
      const acknowledged: number[] = [];
      let failure: unknown;
      for (let batch = 0; failure === undefined && batch < 1000; batch++) {
        const keys = Array.from({ length: 50 }, (_, i) => batch * 50 + i);
        try {
          await db.batch(keys.map((i) => ({ type: 'put' as const, key: key(i), value: Buffer.alloc(200, i) })));
          acknowledged.push(...keys);
        } catch (e) {
          failure = e;
        }
      }
      expect(failure).toBeInstanceOf(WriteFailedError);
      // tmpfs refuses the write itself: nothing of the commit was synced.
      expect(failure).toMatchObject({ code: 'WRITE_FAILED', stage: 'write', message: expect.stringMatching(/no space left.*reopen the database/i) });
      expect(acknowledged.length).toBeGreaterThan(0);
      // Every later write gets the same error at once; reads go on.
      await expect(db.put(key(0), Buffer.from('x'))).rejects.toBe(failure);
      expect(db.writeError).toBe(failure);
      expect(db.stats().writable).toBe(false);
      expect(db.getSync(key(acknowledged[0]!))?.length).toBe(200);
      await db.close();

      execFileSync('mount', ['-o', 'remount,size=4m', dir]);
      const reopened: Bin = open(path, BINARY);
      expect(reopened.stats().writable).toBe(true);
      await reopened.put(key(-1), Buffer.from('after'));
      for (const i of acknowledged) expect(reopened.getSync(key(i))?.equals(Buffer.alloc(200, i))).toBe(true);
      expect(reopened.getSync(key(-1))?.toString()).toBe('after');
      expect(reopened.check()).toMatchObject({ ok: true });
      await reopened.close();
    });
  });
});
