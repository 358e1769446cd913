// A read the system refuses (EIO from a failing disk, a bad descriptor)
// surfaces as a ReadFailedError naming the file and the page, with the
// system's code kept, and `check` lists it as a problem instead of stopping.
// EIO itself is injected with strace into a child process's pread64 calls
// (skipped, saying why, where strace is missing); the rest swaps the
// pager's descriptor for one that cannot read. Both reach `pread`, so those
// stores are opened with `mapReads: false`: a read from the map fails only
// on a real fault (SIGBUS), which the last test raises by shrinking the
// file under an open store.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../src/index.js';
import { DIST_INDEX, layout, requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/read-on-cue.mjs', import.meta.url));
const P = 512;
const BINARY = { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 0, mapReads: false } as const;
const tmp = tempDir();
let seq = 0;
beforeAll(() => requireFreshStore());
afterAll(() => tmp.remove());
const key = (i: number) => Buffer.from(`k${String(i).padStart(6, '0')}`);

/** A closed store of 1,000 keys, three levels of 512-byte pages. */
async function store(): Promise<string> {
  const path = join(tmp.dir, `${seq++}.db`);
  const db = open<Buffer, Buffer>(path, BINARY);
  await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.alloc(30, i) })));
  await db.close();
  expect(layout(path, P).levels.length).toBe(3);
  return path;
}

/** Runs `f` with `db`'s pager reading through a descriptor opened write-only (every read: EBADF). */
function unreadable<T>(db: Database<Buffer, Buffer>, f: () => T): T {
  const pager = (db as unknown as { state: { pager: { fd: number } } }).state.pager;
  const fd = pager.fd;
  pager.fd = openSync((db as unknown as { path: string }).path, 'a');
  try {
    return f();
  } finally {
    closeSync(pager.fd);
    pager.fd = fd;
  }
}

describe('read errors', () => {
  it('name the file and the page, and keep the system code', async () => {
    const path = await store();
    const { levels } = layout(path, P);
    const db = open<Buffer, Buffer>(path, BINARY);
    // The first read below the root: a branch of the second level.
    const failed = expect.objectContaining({
      name: 'ReadFailedError',
      code: 'READ_FAILED',
      path,
      page: expect.toBeOneOf(levels[1]),
      systemCode: 'EBADF',
      errno: 9,
      message: expect.stringMatching(new RegExp(`^${path}: reading page \\d+ failed: EBADF: bad file descriptor, read$`)),
    });
    unreadable(db, () => expect(() => db.getSync(key(500))).toThrow(failed));
    // A scan's reads too; and nothing was changed: with the descriptor back, all reads work.
    unreadable(db, () => expect(() => [...db.getRange()]).toThrow(failed));
    expect(db.getSync(key(500))).toEqual(Buffer.alloc(30, 500 & 0xff));
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('check lists pages it cannot read as problems', async () => {
    const db = open<Buffer, Buffer>(await store(), BINARY);
    const report = unreadable(db, () => db.check());
    expect(report.ok).toBe(false);
    expect(report.problems.length).toBeGreaterThan(0);
    for (const p of report.problems) expect(p.message).toMatch(/reading it failed: EBADF: bad file descriptor, read$/);
    expect(report.problems.map((p) => p.page)).toContain(layout(db.path, P).meta.root);
    await db.close();
  });

  const strace = spawnSync('strace', ['-V']);
  if (strace.error) console.log(`skipping the EIO test: strace is not installed (${strace.error.message}); apt-get install strace runs it`);
  it.skipIf(strace.error !== undefined)('an EIO from the disk, injected with strace, is a ReadFailedError naming the page', async () => {
    const path = await store();
    const { levels } = layout(path, P);
    const child = spawn(process.execPath, [CHILD, DIST_INDEX, path], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let out = '';
    const waiters: (() => void)[] = [];
    child.stdout!.on('data', (d) => {
      out += d;
      const split = out.split('\n');
      out = split.pop()!;
      lines.push(...split);
      waiters.splice(0).forEach((w) => w());
    });
    const line = async (n: number) => {
      while (lines.length < n) await new Promise<void>((resolve) => waiters.push(resolve));
      return lines[n - 1];
    };
    expect(await line(1)).toBe('ready');
    // Every pread64 of the child's threads fails with EIO from the moment strace is attached.
    const tracer = spawn('strace', ['-f', '-p', String(child.pid), '-e', 'trace=pread64', '-e', 'inject=pread64:error=EIO', '-o', '/dev/null'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let traced = '';
    await new Promise<void>((resolve, reject) => {
      tracer.stderr!.on('data', (d) => {
        traced += d;
        if (/attached/.test(traced)) resolve();
      });
      tracer.once('exit', (code) => reject(new Error(`strace exited (${code}): ${traced}`)));
    });
    child.stdin!.write(`${key(500).toString()}\n`);
    const { error } = JSON.parse(await line(2));
    tracer.kill();
    await new Promise((resolve) => tracer.once('exit', resolve));
    // Without strace the same read works.
    child.stdin!.write(`${key(500).toString()}\n`);
    expect(JSON.parse(await line(3))).toEqual({ length: 30 });
    child.stdin!.end();
    await new Promise((resolve) => child.once('exit', resolve));
    expect(error).toMatchObject({ name: 'ReadFailedError', code: 'READ_FAILED', path, systemCode: 'EIO', errno: 5 });
    expect(levels[1]).toContain(error.page);
    expect(error.message).toBe(`${path}: reading page ${error.page} failed: EIO: i/o error, read`);
  });

  it('a page gone from under the map (the file shrank) is a CorruptionError, not a SIGBUS', async () => {
    // The map serves 4096-byte pages (a smaller one shares its memory page with the meta pages).
    const path = join(tmp.dir, `${seq++}.db`);
    const options = { ...BINARY, pageSize: 4096, mapReads: true, lookup: 'walk', cacheLevels: 0 } as const;
    const writer = open<Buffer, Buffer>(path, options);
    await writer.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.alloc(30, i) })));
    await writer.close();
    const db = open<Buffer, Buffer>(path, options);
    expect(db.stats().height).toBe(2);
    if (!db.stats().mapReads) {
      console.log(`skipping the map's fault test: this build reads with pread alone (${process.arch}): ${db.stats().access}`);
      await db.close();
      return;
    }
    expect(db.getSync(key(500))).toEqual(Buffer.alloc(30, 500 & 0xff));
    // Someone else empties the file: every page is past its end now (those
    // the store caches aside), and reading one through the map raises
    // SIGBUS, which the addon turns into a failed copy; pread then finds
    // the page missing.
    truncateSync(path, 0);
    for (const i of [0, 500, 999]) {
      expect(() => db.getSync(key(i))).toThrow(expect.objectContaining({ name: 'CorruptionError', path, message: expect.stringMatching(/beyond the end of the file/) }));
    }
    expect(() => [...db.getRange()]).toThrow(expect.objectContaining({ name: 'CorruptionError' }));
    await db.close();
  });
});
