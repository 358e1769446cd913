// `check` on a database a writer is committing to: no damage reported that is
// not there, and damage that is there still reported. In the writer's own
// process (db.check(), which holds a snapshot), from another reader in the
// same process (checkFile) and from the command line (`xrpkv check`), while
// test/fixtures/busy-writer.mjs commits without pause in a child process
// with checkpoints every few commits, so the pages a commit reaches are soon
// reused.
import { spawn, type ChildProcess } from 'node:child_process';
import { truncateSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFile, open, type CheckReport, type Database } from '../src/index.js';
import { DIST_INDEX, damagePage, layout, requireFreshStore } from './store-fixtures.js';
import { node, tempDir } from './xrp-fixtures.js';

const WRITER = fileURLToPath(new URL('./fixtures/busy-writer.mjs', import.meta.url));
const P = 512;
const BINARY = { pageSize: P, keyEncoding: 'binary', valueEncoding: 'binary' } as const;
const tmp = tempDir();
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
beforeAll(() => requireFreshStore());
afterAll(() => tmp.remove());

/** A store of 1,000 'a' keys (about a hundred leaves), closed; and a leaf in the middle of them. */
async function base(): Promise<{ path: string; leaf: number }> {
  const path = newPath();
  const db = open<Buffer, Buffer>(path, { ...BINARY, logLimit: 0 });
  await db.batch(Array.from({ length: 1000 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`a${String(i).padStart(6, '0')}`), value: Buffer.alloc(30, i) })));
  await db.close();
  const { levels } = layout(path, P);
  expect(levels.length).toBe(3);
  const leaves = levels[2];
  return { path, leaf: leaves[Math.floor(leaves.length / 2)] };
}

/** XORs a byte of page `pageNo` (past its checksum): its checksum no longer matches. */
const damage = (path: string, pageNo: number) => damagePage(path, pageNo, P);

/** Starts busy-writer.mjs on `path`; resolves once it has committed. */
async function startWriter(path: string, logLimit: number): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [WRITER, DIST_INDEX, path, String(logLimit)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.once('data', () => resolve());
    proc.once('exit', (code) => reject(new Error(`the writer exited (${code}) before its first commit: ${stderr}`)));
  });
  return proc;
}

/** Stops the writer; resolves with how many commits it made (it must have gone on committing all along). */
async function stopWriter(proc: ChildProcess): Promise<number> {
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stdin!.end();
  const code = await new Promise((resolve) => proc.once('exit', resolve));
  expect(code).toBe(0);
  return Number(/commits (\d+)/.exec(out)?.[1]);
}

/** An in-process writer like busy-writer.mjs: puts to 'w' keys each turn until `stop`. */
function writeInProcess(db: Database<Buffer, Buffer>): { stop: () => Promise<number> } {
  let stopped = false;
  let commits = 0;
  const done = (async () => {
    while (!stopped) {
      const puts = [];
      for (let i = 0; i < 20; i++) {
        const n = (commits * 7919 + i * 104729) % 3000;
        puts.push(db.put(Buffer.from(`w${String(n).padStart(6, '0')}`), Buffer.alloc(20 + ((commits + i) % 80), commits & 0xff)));
      }
      // Now and then a value too long for the log (overflow pages): a checkpoint.
      if (commits % 7 === 0) puts.push(db.put(Buffer.from(`w${String(commits % 3000).padStart(6, '0')}`), Buffer.alloc(700, 1)));
      await Promise.all(puts);
      commits++;
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return commits;
    },
  };
}

/** Runs `check` for `ms`, letting the writer run in between; returns every report. */
async function checkWhile(ms: number, check: () => CheckReport): Promise<CheckReport[]> {
  const reports: CheckReport[] = [];
  for (const end = Date.now() + ms; Date.now() < end; ) {
    reports.push(check());
    await new Promise((resolve) => setTimeout(resolve, reports.length % 3));
  }
  return reports;
}

const problemsOf = (reports: CheckReport[]) => reports.flatMap((r) => r.problems);

/**
 * The writer's logLimit where the tests ask how often a check stands: a
 * checkpoint every 50 commits, some a second. (200, in the tests of damage,
 * makes one every 10: a pass is overtaken most of the time.)
 */
const SOUND_LOG_LIMIT = 1000;

describe('check under a writer in its own process (db.check)', () => {
  it('reports nothing on a sound database, however the commits fall', async () => {
    const { path } = await base();
    const db = open<Buffer, Buffer>(path, { ...BINARY, logLimit: 200 });
    const writer = writeInProcess(db);
    const reports = await checkWhile(2000, () => db.check());
    const commits = await writer.stop();
    expect(problemsOf(reports)).toEqual([]);
    expect(reports.every((r) => r.ok)).toBe(true);
    expect(commits).toBeGreaterThan(20);
    expect(new Set(reports.map((r) => r.txid)).size).toBeGreaterThan(10);
    await db.close();
  });

  it('reports the damaged leaf, and only it, while the writer commits', async () => {
    const { path, leaf } = await base();
    damage(path, leaf);
    const db = open<Buffer, Buffer>(path, { ...BINARY, logLimit: 200 });
    const writer = writeInProcess(db);
    const reports = await checkWhile(1000, () => db.check());
    await writer.stop();
    for (const r of reports) expect(r.problems).toEqual([{ page: leaf, message: 'checksum mismatch' }]);
    await db.close();
  });

  it('does not take a meta page read while a commit writes it for damage', async () => {
    const { path } = await base();
    const db = open<Buffer, Buffer>(path, BINARY);
    await db.put(Buffer.from('a1'), Buffer.from('x'));
    const pager = (db as unknown as { state: { pager: { readAt(offset: number, length: number): Buffer } } }).state.pager;
    const readAt = pager.readAt.bind(pager);
    // The first read of meta page 1 returns it half written: what a read racing
    // the write of a commit in flight sees (the page in the middle of a pwrite).
    let torn = false;
    pager.readAt = (offset, length) => {
      const b = readAt(offset, length);
      if (!torn && offset <= P && offset + b.length >= 2 * P) {
        torn = true;
        b.fill(0x77, P - offset + 256, 2 * P - offset);
      }
      return b;
    };
    const report = db.check();
    expect(torn).toBe(true);
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.attempts).toBe(2);
    // A meta page that stays damaged is reported.
    damage(path, 1);
    expect(db.check().problems).toEqual([{ page: 1, message: 'meta page 1 is invalid: checksum mismatch' }]);
    await db.close();
  });
});

describe('db.check finds what checkFile finds', () => {
  it('a file cut short under the handle, and what opening fell back from', async () => {
    const { path } = await base();
    const second = open<Buffer, Buffer>(path, BINARY);
    await second.put(Buffer.from('a1'), Buffer.from('x'));
    await second.close();
    const { meta } = layout(path, P);
    damage(path, meta.txid % 2); // the newest meta page: opening falls back to the commit before
    const db = open<Buffer, Buffer>(path, BINARY);
    expect(db.recovery).toMatchObject({ page: meta.txid % 2, txid: meta.txid - 1 });
    const end = db.stats().pages - 3;
    truncateSync(path, end * P);
    const live = db.check();
    const offline = checkFile(path);
    expect(offline.ok).toBe(false);
    expect(live.problems).toEqual(expect.arrayContaining(offline.problems));
    expect(live.problems).toContainEqual({ page: end, message: `the file ends at byte ${end * P}, but the meta counts ${end + 3} pages` });
    expect(live.problems).toContainEqual({ page: meta.txid % 2, message: db.recovery!.reason });
    await db.close();
  });
});

describe('check under a writer in another process', () => {
  it('checkFile reports nothing on a sound database', async () => {
    const { path } = await base();
    const writer = await startWriter(path, SOUND_LOG_LIMIT);
    const reports = await checkWhile(3000, () => checkFile(path));
    const commits = await stopWriter(writer);
    expect(problemsOf(reports)).toEqual([]);
    // Passes stand often enough to be of use; the other checks say the database kept changing.
    const ok = reports.filter((r) => r.ok).length;
    expect(ok).toBeGreaterThan(reports.length / 3);
    for (const r of reports) if (!r.ok) expect(r.inconclusive).toMatch(/changed during each of 16 passes/);
    expect(new Set(reports.map((r) => r.txid)).size).toBeGreaterThan(10);
    expect(commits).toBeGreaterThan(50);
    expect(checkFile(path)).toMatchObject({ ok: true, attempts: 1 });
  }, 30_000);

  it('checkFile reports the damaged leaf, and only it', async () => {
    const { path, leaf } = await base();
    damage(path, leaf);
    const writer = await startWriter(path, 200);
    const reports = await checkWhile(2000, () => checkFile(path));
    await stopWriter(writer);
    for (const r of reports) expect(r.problems).toEqual([{ page: leaf, message: 'checksum mismatch' }]);
  }, 30_000);

  it('xrpkv check exits 0 (or 3: the file changed during every pass), never 2, on a sound database', async () => {
    const { path } = await base();
    const writer = await startWriter(path, SOUND_LOG_LIMIT);
    const runs: { status: number | null; out: { ok: boolean; problems: unknown[] } }[] = [];
    for (let i = 0; i < 12; i++) {
      const r = node(['dist/cli/main.js', 'check', path, '--json']);
      runs.push({ status: r.status, out: JSON.parse(r.stdout) });
    }
    await stopWriter(writer);
    expect(runs.flatMap((r) => r.out.problems)).toEqual([]);
    for (const r of runs) expect(r.status).toBe(r.out.ok ? 0 : 3);
    expect(runs.filter((r) => r.status === 0).length).toBeGreaterThan(runs.length / 3);
  }, 60_000);

  it('gives up honestly when no pass stands, listing only damage it confirmed', async () => {
    const { path, leaf } = await base();
    damage(path, leaf);
    // Checkpoints at nearly every commit: a pass is often overtaken.
    const writer = await startWriter(path, 20);
    let report: CheckReport | undefined;
    for (let i = 0; i < 300 && !report?.inconclusive; i++) report = checkFile(path, { attempts: 1 });
    await stopWriter(writer);
    expect(report!.inconclusive).toBe(
      'the database changed during each of 1 passes (a writer is committing), so none saw one commit whole; ' +
        (report!.problems.length === 0 ? 'no damage was confirmed' : 'only the damage confirmed is listed'),
    );
    expect(report!.ok).toBe(false);
    // The damaged leaf, if that pass reached it through pages that read right; nothing a writer's change showed.
    for (const p of report!.problems) expect(p).toEqual({ page: leaf, message: 'checksum mismatch' });
    expect(() => checkFile(path, { attempts: 0 })).toThrow(RangeError);
  }, 30_000);
});
