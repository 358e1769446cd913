// What keeps data safe: snapshot isolation, reuse of freed pages only after
// the snapshots that can see them close, the freelist across restarts,
// corruption and truncation found and named, `check`, torn meta pages, and
// the write lock between handles and processes.
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, readSync, writeSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { CorruptionError, WriteFailedError, WritesPendingError, checkFile, open, type Database } from '../src/index.js';
import { native } from '../src/native.js';
import { DIST_INDEX, layout, requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
// No log (logLimit 0): these tests are about the tree's pages, which a logged
// commit leaves alone; test/store-log.test.ts has the log's own.
const binary = { keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0 } as const;

async function fill(db: Database<Buffer, Buffer>, n: number, tag: string, size = 40): Promise<void> {
  await db.batch(Array.from({ length: n }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.alloc(size, `${tag}${i}`) })));
}

/** XORs one byte of page `pageNo` of the file in place. */
function flip(path: string, pageSize: number, pageNo: number, offset = 100): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, pageNo * pageSize + offset);
  b[0] ^= 0x5a;
  writeSync(fd, b, 0, 1, pageNo * pageSize + offset);
  closeSync(fd);
}

function thrown(f: () => unknown): CorruptionError {
  try {
    f();
  } catch (e) {
    return e as CorruptionError;
  }
  throw new Error('expected an error');
}

describe('snapshots', () => {
  it('a range iterator keeps seeing the data of when it started while writes commit', async () => {
    const db = open<Buffer, Buffer>(newPath(), { pageSize: 512, sync: false, ...binary });
    await fill(db, 300, 'old');
    const it = db.getRange({ start: key(10) })[Symbol.asyncIterator]();
    expect((await it.next()).value.key).toEqual(key(10));
    // Rewrite everything, remove half, add more: several commits.
    await fill(db, 300, 'new');
    await db.batch(Array.from({ length: 150 }, (_, i) => ({ type: 'del' as const, key: key(2 * i) })));
    await fill(db, 20, 'newer');
    const seen: Buffer[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) {
      expect(r.value.value).toEqual(Buffer.alloc(40, `old${seen.length + 11}`));
      seen.push(r.value.key);
    }
    expect(seen.length).toBe(289);
    expect(db.getSync(key(11))).toEqual(Buffer.alloc(40, 'newer11'));
    expect(db.getSync(key(212))).toBeUndefined();
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('reuses freed pages only once the snapshots that can reach them are released', async () => {
    const db = open<Buffer, Buffer>(newPath(), { pageSize: 512, sync: false, ...binary });
    await fill(db, 400, 'a');
    const held = db.getRange()[Symbol.iterator]();
    held.next();
    const grown: number[] = [];
    for (let round = 0; round < 5; round++) {
      await fill(db, 400, `r${round}`);
      grown.push(db.stats().pages);
    }
    // Every round rewrote every page; none of the old ones could be reused,
    // so the file grew by about a tree per round, and the old tree is intact.
    expect(db.stats().pendingPages).toBeGreaterThan(0);
    for (let i = 1; i < grown.length; i++) expect(grown[i]).toBeGreaterThan(grown[i - 1]);
    expect([...{ [Symbol.iterator]: () => held }].every(({ value }, i) => value.equals(Buffer.alloc(40, `a${i + 1}`)))).toBe(true);
    // Released: the next commits take pages from the freelist instead of growing the file.
    const top = db.stats().pages;
    for (let round = 0; round < 5; round++) await fill(db, 400, `s${round}`);
    expect(db.stats().pages).toBe(top);
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('iterators release their snapshot when they end, break or return early', async () => {
    const db = open<Buffer, Buffer>(newPath(), { pageSize: 512, sync: false, ...binary });
    await fill(db, 400, 'a');
    const unstarted = db.getRange()[Symbol.iterator]();
    unstarted.return!();
    for await (const _ of db.getRange()) break;
    expect([...db.getRange({ limit: 3 })].length).toBe(3);
    // Any of these still open would make every round below grow the file by a tree.
    for (let round = 0; round < 3; round++) await fill(db, 400, `b${round}`);
    const top = db.stats().pages;
    for (let round = 0; round < 4; round++) await fill(db, 400, `c${round}`);
    expect(db.stats().pages).toBe(top);
    await db.close();
  });
});

describe('the freelist', () => {
  it('survives reopening, so churn does not grow the file without bound', async () => {
    const path = newPath();
    let db = open<Buffer, Buffer>(path, { pageSize: 512, sync: false, ...binary });
    const sizes: number[] = [];
    for (let round = 0; round < 60; round++) {
      await fill(db, 200, `v${round}`, 20 + (round % 3) * 100);
      if (round % 7 === 6) {
        await db.close();
        db = open(path, { pageSize: 512, sync: false, ...binary });
        expect(db.stats()).toMatchObject({ freePages: expect.any(Number), pendingPages: 0 });
        expect(db.stats().freePages).toBeGreaterThan(0);
      }
      sizes.push(statSync(path).size);
    }
    expect(sizes[59]).toBe(sizes[20]);
    expect(db.check()).toMatchObject({ ok: true, problems: [] });
    await db.close();
    expect(checkFile(path)).toMatchObject({ ok: true, entries: 200 });
  });
});

describe('damage', () => {
  async function damaged(): Promise<{ path: string; leaves: number[]; root: number; firstKey: (n: number) => Buffer }> {
    const path = newPath();
    const db = open<Buffer, Buffer>(path, { pageSize: 512, ...binary });
    await fill(db, 500, 'x');
    await db.close();
    const { meta, levels, firstKey } = layout(path, 512);
    return { path, leaves: levels[levels.length - 1], root: meta.root, firstKey };
  }

  it('a flipped byte in a leaf fails the reads that reach it, naming the page', async () => {
    const { path, leaves, firstKey } = await damaged();
    const bad = leaves[3];
    flip(path, 512, bad);
    const db = open<Buffer, Buffer>(path, binary);
    const e = thrown(() => db.getSync(firstKey(bad)));
    expect(e).toBeInstanceOf(CorruptionError);
    expect(e).toMatchObject({ code: 'CORRUPTION', page: bad, reason: 'checksum mismatch' });
    expect(e.message).toContain(`page ${bad} is corrupt`);
    expect(db.getSync(firstKey(leaves[0]))).toBeDefined();
    expect(() => [...db.getRange()]).toThrow(CorruptionError);
    expect(db.check().problems).toEqual([{ page: bad, message: 'checksum mismatch' }]);
    await db.close();
  });

  it('a damaged root or meta pages fail open, naming the page', async () => {
    const { path, root } = await damaged();
    flip(path, 512, root, 40);
    expect(thrown(() => open(path))).toMatchObject({ page: root, code: 'CORRUPTION' });
    flip(path, 512, root, 40);
    await open(path).close();
    flip(path, 512, 0, 50);
    flip(path, 512, 1, 50);
    expect(thrown(() => open(path)).message).toMatch(/page 0 is corrupt: no valid meta page \(page 0: checksum mismatch; page 1: checksum mismatch\)/);
  });

  it('a truncated file fails open, naming the first missing page', async () => {
    const { path } = await damaged();
    const pages = statSync(path).size / 512;
    truncateSync(path, (pages - 3) * 512 + 100);
    const e = thrown(() => open(path));
    expect(e).toBeInstanceOf(CorruptionError);
    expect(e.page).toBe(pages - 3);
    expect(e.message).toMatch(/truncated/);
    expect(checkFile(path).ok).toBe(false);
  });

  it('check reports every problem, not just the first', async () => {
    const { path, leaves } = await damaged();
    for (const n of [leaves[1], leaves[5], leaves[9]]) flip(path, 512, n);
    // A page in the middle claiming to be another: a misdirected write.
    const fd = openSync(path, 'r+');
    const copy = Buffer.alloc(512);
    readSync(fd, copy, 0, 512, leaves[2] * 512);
    writeSync(fd, copy, 0, 512, leaves[7] * 512);
    closeSync(fd);
    const report = checkFile(path);
    expect(report.ok).toBe(false);
    expect(report.problems.map((p) => p.page)).toEqual([leaves[1], leaves[5], leaves[7], leaves[9]].sort((a, b) => a - b));
    expect(report.problems.find((p) => p.page === leaves[7])!.message).toBe(`it claims to be page ${leaves[2]}`);
  });

  it('a torn meta page falls back to the previous commit', async () => {
    const path = newPath();
    let db = open<Buffer, Buffer>(path, { pageSize: 512, ...binary });
    await fill(db, 50, 'one');
    await fill(db, 50, 'two');
    const txid = db.stats().txid;
    await db.close();
    flip(path, 512, txid % 2, 60); // the newest meta, as if its write was torn
    db = open(path, binary);
    expect(db.stats().txid).toBe(txid - 1);
    expect(db.getSync(key(7))).toEqual(Buffer.alloc(40, 'one7'));
    await fill(db, 50, 'three');
    // The next commit rewrote the damaged meta page; this handle's check still says what opening fell back from.
    expect(db.check().problems).toEqual([{ page: txid % 2, message: db.recovery!.reason }]);
    await db.close();
    expect(checkFile(path).ok).toBe(true);
  });
});

describe('failed writes', () => {
  afterEach(() => vi.restoreAllMocks());

  it('a commit whose pages cannot be written fails, later writes are refused, and what was committed stays', async () => {
    const path = newPath();
    const db = open<Buffer, Buffer>(path, binary);
    await fill(db, 200, 'a');
    const enospc = Object.assign(new Error('cannot write or sync the commit: No space left on device (os error 28)'), { code: 'WRITE_FAILED', errno: 28 });
    vi.spyOn(native, 'storeTreeCommit').mockRejectedValueOnce(enospc); // logLimit 0: every commit is a tree commit
    const failed = fill(db, 200, 'b');
    await expect(failed).rejects.toThrow(WriteFailedError);
    await expect(failed).rejects.toThrow(/No space left on device.*reopen the database/);
    await expect(db.put(key(1), Buffer.from('c'))).rejects.toThrow(WriteFailedError);
    expect(db.getSync(key(1))?.toString()).toBe(Buffer.alloc(40, 'a1').toString());
    await db.close();
    const again = open<Buffer, Buffer>(path, binary);
    expect(again.getSync(key(1))?.toString()).toBe(Buffer.alloc(40, 'a1').toString());
    expect(again.count()).toBe(200);
    await again.close();
    expect(checkFile(path).ok).toBe(true);
  });

  it('the addon checks its arguments and names the errno of a write it cannot make', async () => {
    const page = Buffer.alloc(512);
    const staged = (pages: [number, Buffer][], size = 512) => {
      const handle = native.storeStagePages(size, pages.length);
      for (const [pageNo, bytes] of pages) native.storeStagePage(handle, pageNo, bytes);
      return handle;
    };
    // An order of its own per call: a failed commit fails every later one on its order.
    const commit = (fd: number, pages = staged([[0, page]]), meta = page, metaNo = 0, sync: unknown = false) =>
      native.storeTreeCommit(fd, pages, meta, metaNo, sync as boolean, native.storeCommitOrder());
    expect(() => native.storeStagePages(300, 1)).toThrow(/pageSize must be/);
    expect(() => native.storeStagePages(512, -1)).toThrow(/count must be an integer/);
    expect(() => native.storeStagePages(512, 1.5)).toThrow(/count must be an integer/);
    const one = native.storeStagePages(512, 1);
    expect(() => native.storeStagePage(one, 0, Buffer.alloc(100))).toThrow(/page must be 512 bytes/);
    expect(() => native.storeStagePage(one, -1, page)).toThrow(/pageNo must be a non-negative integer/);
    expect(() => native.storeStagePage(one, 2 ** 53, page)).toThrow(/pageNo must be a non-negative integer/);
    expect(() => native.storeStagePage({} as never, 0, page)).toThrow(/staged is not a handle made by this addon/);
    native.storeStagePage(one, 0, page);
    expect(() => native.storeStagePage(one, 1, page)).toThrow(/more pages than the handle was made for/);
    expect(() => commit(-1, one)).toThrow(RangeError);
    expect(() => commit(0, {} as never)).toThrow(/staged is not a handle made by this addon/);
    expect(() => commit(0, one, Buffer.alloc(100))).toThrow(/meta must be one page of 512 bytes/);
    expect(() => commit(0, one, page, 2)).toThrow(/metaPageNo must be 0 or 1/);
    expect(() => commit(0, one, page, 0, 2)).toThrow(/sync must be a boolean/);
    expect(() => commit(0, one, page, 0, null)).toThrow(/sync must be a boolean/);
    expect(() => native.storeTreeCommit(0, one, page, 0, false, {} as never)).toThrow(/order is not a handle made by this addon/);
    expect(() => native.storeLogCommit(0, one, page, 0, false, {} as never)).toThrow(/order is not a handle made by this addon/);
    // A call that throws takes nothing; one that returns takes the pages out of the handle.
    const scratch = newPath();
    const scratchFd = openSync(scratch, 'w+');
    try {
      await commit(scratchFd, one);
      expect(readFileSync(scratch).length).toBe(512);
      expect(() => commit(scratchFd, one)).toThrow(/already given to a commit/);
      expect(() => native.storeStagePage(one, 0, page)).toThrow(/already given to a commit/);
    } finally {
      closeSync(scratchFd);
    }
    // A descriptor that is not open: EBADF, before any work is queued.
    expect(() => commit(1_000_000)).toThrow(expect.objectContaining({ code: 'WRITE_FAILED', errno: 9 }));
    // A descriptor open for reading only: the job's write fails with EBADF.
    const readOnly = openSync(newPath(), 'w+');
    const ro = openSync(`/proc/self/fd/${readOnly}`, 'r');
    try {
      await expect(commit(ro)).rejects.toMatchObject({ code: 'WRITE_FAILED', errno: 9 });
    } finally {
      closeSync(ro);
      closeSync(readOnly);
    }
    // A page the file cannot take (past the largest offset a file has): EFBIG, before the meta.
    const path = newPath();
    closeSync(openSync(path, 'w'));
    const fd = openSync(path, 'r+');
    try {
      const huge = staged([[2 ** 53 - 1, Buffer.alloc(4096)]], 4096);
      await expect(commit(fd, huge, Buffer.alloc(4096, 9), 1)).rejects.toMatchObject({ code: 'WRITE_FAILED', errno: 27 });
      expect(statSync(path).size).toBe(0);
      // Pages 3 and 4 (one write), then meta page 1, synced.
      await commit(fd, staged([[3, Buffer.alloc(512, 7)], [4, Buffer.alloc(512, 8)]]), Buffer.alloc(512, 9), 1, true);
      expect(statSync(path).size).toBe(5 * 512);
      const file = readFileSync(path);
      expect([file[512], file[3 * 512], file[5 * 512 - 1], file[0]]).toEqual([9, 7, 8, 0]);
    } finally {
      closeSync(fd);
    }
  });
});

describe('commit order', () => {
  it('commits on one order reach the disk in call order, and none after a failed one writes anything', async () => {
    const path = newPath();
    closeSync(openSync(path, 'w'));
    const fd = openSync(path, 'r+');
    const ro = openSync(path, 'r');
    const order = native.storeCommitOrder();
    const pageAt = (n: number, fill: number) => {
      const staged = native.storeStagePages(512, 1);
      native.storeStagePage(staged, n, Buffer.alloc(512, fill));
      return staged;
    };
    // Tree and log commits alike take their turn on the order.
    const commit = (file: number, n: number, fill: number, metaNo: number) =>
      (n % 2 ? native.storeLogCommit : native.storeTreeCommit)(file, pageAt(n, fill), Buffer.alloc(512, fill), metaNo, false, order);
    try {
      // Issued together: each job waits for the one before, so page 3's
      // second write and meta page 0's lands last.
      const issued = [commit(fd, 2, 1, 0), commit(fd, 3, 2, 1), commit(fd, 3, 3, 0)];
      await Promise.all(issued);
      const file = readFileSync(path);
      expect([file[0], file[512], file[2 * 512], file[3 * 512]]).toEqual([3, 2, 1, 3]);
      // A commit that fails (EBADF: a read-only descriptor), then two more: they write nothing.
      // Every promise is given its expectation at once: each may reject while another is awaited.
      await Promise.all([
        expect(commit(ro, 4, 4, 1)).rejects.toMatchObject({ code: 'WRITE_FAILED', errno: 9, stage: 'write' }),
        expect(commit(fd, 5, 5, 1)).rejects.toMatchObject({ stage: 'earlier', message: expect.stringMatching(/an earlier commit failed, so this one wrote nothing/) }),
        expect(commit(fd, 6, 6, 0)).rejects.toMatchObject({ stage: 'earlier', message: expect.stringMatching(/an earlier commit failed, so this one wrote nothing/) }),
      ]);
      expect(statSync(path).size).toBe(4 * 512);
      expect(readFileSync(path)[0]).toBe(3);
    } finally {
      closeSync(ro);
      closeSync(fd);
    }
  });
});

describe('the write lock', () => {
  beforeAll(() => requireFreshStore());

  /** Runs `code` in a child node (the compiled store as `store`); resolves with its first line of output. */
  function child(code: string): { line: Promise<string>; kill: () => Promise<void> } {
    const script = `import * as store from ${JSON.stringify(DIST_INDEX)};\n${code}`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stderr.on('data', (d) => (err += d));
    const line = new Promise<string>((resolve, reject) => {
      proc.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.split('\n')[0]);
      });
      proc.on('exit', (code) => reject(new Error(`child exited (${code}) without output: ${err}`)));
    });
    const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
    return { line, kill: () => (proc.kill('SIGKILL'), exited) };
  }

  it('two writers never commit at once: a put waits while another process holds the write lock, then commits on top of its writes', async () => {
    const path = newPath();
    const db = open(path);
    await db.put('a', 1);
    // The child commits, then holds the write lock itself (as a commit in
    // progress does) until it is killed, which releases it.
    const holder = child(
      `const db = store.open(${JSON.stringify(path)}); await db.put('k', 2);\n` +
        `const { native } = await import(${JSON.stringify(DIST_INDEX.replace(/index\.js$/, 'native.js'))});\n` +
        `const t = native.storeTableOpen(${JSON.stringify(path)}); native.storeWriteLock(t, true); console.log('locked'); setInterval(() => t, 1000);`,
    );
    expect(await holder.line).toBe('locked');
    let settled = false;
    const put = db.put('x', 3).then(() => (settled = true));
    // However long it waits, a put cannot commit while the lock is held elsewhere.
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect(db.getSync('k')).toBe(2);
    // Killed (SIGKILL), the holder leaves no stale lock behind.
    await holder.kill();
    await put;
    expect([db.getSync('a'), db.getSync('k'), db.getSync('x')]).toEqual([1, 2, 3]);
    expect(db.check().ok).toBe(true);
    await db.close();
    const after = child(`const db = store.open(${JSON.stringify(path)}); console.log('values ' + [db.getSync('a'), db.getSync('k'), db.getSync('x')]); await db.close();`);
    expect(await after.line).toBe('values 1,2,3');
  });

  it('a second handle in this process opens the same file, and each sees what the other commits', async () => {
    const path = newPath();
    const first = open(path);
    const second = open(path);
    await first.put('a', 1);
    expect(second.getSync('a')).toBe(1);
    second.putSync('b', 2);
    expect(first.getSync('b')).toBe(2);
    await Promise.all([first.put('c', 3), second.put('d', 4)]);
    expect([first, second].map((db) => [...db.getKeys()])).toEqual([['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd']]);
    await Promise.all([first.close(), second.close()]);
  });

  it("a synchronous write on one handle while another of this thread is committing is WritesPendingError, not a deadlock", async () => {
    const path = newPath();
    const first = open(path, { sync: false });
    const second = open(path, { sync: false });
    const put = first.put('a', 1);
    // The write queue's turn: `first` now holds the write lock until its commit publishes, on a later turn.
    await new Promise((r) => setImmediate(r));
    expect(() => second.putSync('b', 2)).toThrow(WritesPendingError);
    await put;
    expect(second.putSync('b', 2)).toBe(true);
    expect(first.getSync('b')).toBe(2);
    await Promise.all([first.close(), second.close()]);
  });
});
