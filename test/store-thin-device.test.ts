// Issue 14's first finding, reproduced on a real file system: ext4 on a
// loop device whose backing file sits on a small tmpfs, which runs out of
// space. A commit's fdatasync fails; space comes back; the database is
// reopened in the same boot and more commits are acknowledged; then the
// file system is unmounted and mounted again (the kernel's cache is gone,
// as after a reboot). Every acknowledged key must be there and the file
// must check clean. Before stale-cache.ts, the reopened handle built on
// pages the failed write-back left in the kernel's cache and the file did
// not open after the remount.
//
// Needs root, losetup, mkfs.ext4 and mount; elsewhere it says why it is skipped.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteFailedError, checkFile, open, type Database } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const backing = join(tmp.dir, 'backing');
const mnt = join(tmp.dir, 'mnt');
let loop: string | undefined;

const unavailable = (() => {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['losetup', 'mkfs.ext4', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
})();
if (unavailable) console.log(`store-thin-device: skipped: ${unavailable}`);

const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

afterAll(() => {
  spawnSync('umount', [mnt]);
  if (loop) spawnSync('losetup', ['-d', loop]);
  spawnSync('umount', [backing]);
  tmp.remove();
});

type Bin = Database<Buffer, Buffer>;
// logLimit as the default was when this was written (65,536): the log then
// fills for 131 batches, and a checkpoint of all of them is the commit whose
// sync fails, the pattern docs/FORMAT.md ("When a commit fails") says
// survives the remount. With the default that follows the tree's size, a
// small checkpoint (4,500 keys into 121,000) is the one that fails, and
// after the remount the file had pages unlike what was written, with ext4
// logging "failed to convert unwritten extents to written extents":
// another pattern of the limit that section describes, not tested here
// (the store before that default, given logLimit 4,096, fails the same way).
const BINARY = { keyEncoding: 'binary', valueEncoding: 'binary', logLimit: 65_536 } as const;
const value = Buffer.alloc(100, 7);

/** Commits `count` keys named `${tag}-N` in batches of 500; returns the acknowledged ones and the error that stopped it, if any. */
async function fill(db: Bin, tag: string, batches: number): Promise<{ acknowledged: string[]; failure?: unknown }> {
  const acknowledged: string[] = [];
  for (let b = 0; b < batches; b++) {
    const keys = Array.from({ length: 500 }, (_, i) => `${tag}${b}-${i}`);
    try {
      await db.batch(keys.map((k) => ({ type: 'put' as const, key: Buffer.from(k), value })));
    } catch (failure) {
      return { acknowledged, failure };
    }
    acknowledged.push(...keys);
  }
  return { acknowledged };
}

describe.skipIf(unavailable !== undefined)('a thin device that runs out of space', () => {
  it('keeps every acknowledged key across a failed sync, a reopen, more writes and a remount', async () => {
    mkdirSync(backing);
    mkdirSync(mnt);
    run('mount', '-t', 'tmpfs', '-o', 'size=64M', 'tmpfs', backing);
    run('truncate', '-s', '256M', join(backing, 'disk.img'));
    // Room that is given back once the disk is full: enough for the reopen's
    // commits, a checkpoint of a full log among them, and ext4's journal
    // (8 MiB was too little once: the writes after the reopen failed too).
    run('dd', 'if=/dev/zero', `of=${join(backing, 'filler')}`, 'bs=1M', 'count=24', 'status=none');
    loop = run('losetup', '-f', '--show', join(backing, 'disk.img'));
    run('mkfs.ext4', '-q', '-F', loop);
    run('mount', '-o', 'errors=continue', loop, mnt);
    const path = join(mnt, 'db');

    let db: Bin = open(path, BINARY);
    const before = await fill(db, 'before', 10_000);
    expect(before.failure).toBeInstanceOf(WriteFailedError);
    expect(before.acknowledged.length).toBeGreaterThan(10_000);
    console.log(`thin device: ${before.acknowledged.length} keys acknowledged, then: ${(before.failure as Error).message}`);
    await db.close();

    rmSync(join(backing, 'filler'));
    db = open(path, BINARY);
    const after = await fill(db, 'after', 2);
    expect(after.failure).toBeUndefined();
    await db.close();

    run('umount', mnt);
    run('mount', '-o', 'errors=continue', loop, mnt);
    const report = checkFile(path);
    expect(report.problems).toEqual([]);
    db = open(path, BINARY);
    const missing = [...before.acknowledged, ...after.acknowledged].filter((k) => db.getSync(Buffer.from(k)) === undefined);
    expect(missing.length).toBe(0);
    await db.close();
  }, 300_000);
});
