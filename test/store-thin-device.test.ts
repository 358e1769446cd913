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
// The device must not lose what it acknowledges, or the test measures the
// device. Linux's loop driver (seen on 6.18) completes a write request as
// done when its write to the backing file came back short: a request that
// spans the moment the tmpfs fills is acknowledged, flush and all, with
// its tail never stored (lo_complete_rq retries a short read; a short write
// ends as BLK_STS_OK). It depends on timing: this test lost acknowledged
// keys in about half its runs, with ext4 reading zeros where the pages had
// been written and synced, and the backing file holding a hole there. So the
// device here takes requests of one 4 KiB page (`max_sectors_kb` 4) and
// ext4 uses 4 KiB blocks: every write to the backing file is one tmpfs
// page, stored whole or refused with ENOSPC.
//
// Needs root, losetup, mkfs.ext4 and mount; elsewhere it says why it is skipped.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { WriteFailedError, checkFile, open, type Database, type OpenOptions } from '../src/index.js';
import { alignedBuffer } from '../src/aligned.js';
import { tempDir } from './xrp-fixtures.js';
import { DIST_INDEX, requireFreshStore } from './store-fixtures.js';

const MAP_HOLDER = fileURLToPath(new URL('./fixtures/map-holder.mjs', import.meta.url));

const tmp = tempDir();

const unavailable = (() => {
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['losetup', 'mkfs.ext4', 'mount']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  }
  return undefined;
})();
if (unavailable) console.log(`store-thin-device: skipped: ${unavailable}`);

const run = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { encoding: 'utf8' }).trim();

/**
 * A 256 MiB loop device over a file on a 64 MiB tmpfs, `fillerKiB` of which
 * a file holds until `giveBack`; its requests are one page (the header says why).
 */
class ThinDevice {
  readonly backing: string;
  readonly image: string;
  readonly loop: string;

  constructor(name: string, fillerKiB: number) {
    this.backing = join(tmp.dir, name, 'backing');
    mkdirSync(this.backing, { recursive: true });
    run('mount', '-t', 'tmpfs', '-o', 'size=64M', 'tmpfs', this.backing);
    devices.push(this);
    this.image = join(this.backing, 'disk.img');
    run('truncate', '-s', '256M', this.image);
    run('dd', 'if=/dev/zero', `of=${join(this.backing, 'filler')}`, 'bs=1K', `count=${fillerKiB}`, 'status=none');
    this.loop = run('losetup', '-f', '--show', this.image);
    writeFileSync(`/sys/block/${this.loop.slice('/dev/'.length)}/queue/max_sectors_kb`, '4');
  }

  giveBack(): void {
    rmSync(join(this.backing, 'filler'));
  }

  teardown(): void {
    spawnSync('losetup', ['-d', this.loop]);
    spawnSync('umount', [this.backing]);
  }
}

const devices: ThinDevice[] = [];
const mounts: string[] = [];
afterAll(() => {
  for (const mnt of mounts) spawnSync('umount', [mnt]);
  for (const device of devices) device.teardown();
  tmp.remove();
});

/**
 * Writes 1 MiB chunks to the device, each one request (O_DIRECT) and
 * flushed, until one fails; returns how many were acknowledged and how many
 * of those the backing file does not hold whole.
 */
function acknowledgedButLost(device: ThinDevice): { acknowledged: number; lost: number; failure?: string } {
  const chunk = 1 << 20;
  const fd = openSync(device.loop, constants.O_RDWR | constants.O_DIRECT);
  const write = alignedBuffer(chunk);
  let acknowledged = 0;
  let failure: string | undefined;
  try {
    for (; acknowledged < 256; acknowledged++) {
      writeSync(fd, write.fill(acknowledged + 1), 0, chunk, acknowledged * chunk);
      fsyncSync(fd);
    }
  } catch (e) {
    failure = (e as NodeJS.ErrnoException).code;
  } finally {
    closeSync(fd);
  }
  const image = openSync(device.image, 'r');
  const read = Buffer.alloc(chunk);
  let lost = 0;
  for (let i = 0; i < acknowledged; i++) {
    readSync(image, read, 0, chunk, i * chunk);
    if (!read.equals(Buffer.alloc(chunk, i + 1))) lost++;
  }
  closeSync(image);
  return { acknowledged, lost, failure };
}

type Bin = Database<Buffer, Buffer>;
const value = Buffer.alloc(100, 7);

/** Commits keys named `${tag}B-N` in batches of 500 until one fails; returns the acknowledged ones and the error that stopped it, if any. */
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

/** Opens, runs `body`, and closes even when `body` throws (so the file system can be unmounted). */
async function withDb<T>(path: string, options: OpenOptions, body: (db: Bin) => Promise<T>): Promise<T> {
  const db: Bin = open(path, { keyEncoding: 'binary', valueEncoding: 'binary', ...options });
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

/** A reader process holding every page of `path` mapped (fixtures/map-holder.mjs), until `stop`. */
async function mapHolder(path: string): Promise<{ stop: () => Promise<void> }> {
  const child = spawn(process.execPath, [MAP_HOLDER, DIST_INDEX.replace(/index\.js$/, 'native.js'), path], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready\n')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`map-holder exited (${code}): ${out}`)));
  });
  return {
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin!.end();
      await exited;
    },
  };
}

// Each makes a different commit the one whose sync fails. `logLimit` 65,536: the
// log fills for 131 batches, and a checkpoint of all of them fails. The
// default budget follows the tree's size: a small checkpoint (some 4,500
// keys into 170,000) fails. `direct`: the same through O_DIRECT, where the
// kernel's cache holds none of the pages. With a process holding the whole
// file mapped from before the failure to after the reopen's commits, the
// kernel cannot drop the pages it maps: opening must take them out of
// every map (stale-cache.ts `dropWritablePages`; without it both lost the
// newest log page).
const SCENARIOS: [string, OpenOptions, { mapped?: boolean }][] = [
  ['a checkpoint of a full log', { logLimit: 65_536 }, {}],
  ['a small checkpoint, under the default log budget', {}, {}],
  ['O_DIRECT', { direct: true }, {}],
  ['a small checkpoint, with the file mapped by a reader', {}, { mapped: true }],
  ['a full log, with the file mapped by a reader', { logLimit: 65_536 }, { mapped: true }],
];

describe.skipIf(unavailable !== undefined)('a thin device that runs out of space', () => {
  it('is one whose loop device stores every write it acknowledges, with requests of one page', () => {
    // 100 KiB taken: the space runs out inside a 1 MiB write, not between two.
    const paged = acknowledgedButLost(new ThinDevice('paged', 100));
    expect(paged.failure).toMatch(/^(ENOSPC|EIO)$/);
    expect(paged.acknowledged).toBeGreaterThan(32);
    expect(paged.lost).toBe(0);
  });

  it.each(SCENARIOS)('keeps every acknowledged key across a failed sync, a reopen, more writes and a remount: %s', async (name, options, { mapped }) => {
    // Room that is given back once the disk is full: enough for the reopen's
    // commits, a checkpoint of a full log among them, and ext4's journal
    // (8 MiB was too little once: the writes after the reopen failed too).
    const device = new ThinDevice(name.replace(/\W+/g, '-'), 24 << 10);
    run('mkfs.ext4', '-q', '-F', '-b', '4096', device.loop);
    const mnt = join(tmp.dir, name.replace(/\W+/g, '-'), 'mnt');
    mkdirSync(mnt);
    run('mount', '-o', 'errors=continue', device.loop, mnt);
    mounts.push(mnt);
    const path = join(mnt, 'db');

    let holder: { stop: () => Promise<void> } | undefined;
    let first: string[] = [];
    if (mapped) {
      requireFreshStore();
      first = (await withDb(path, options, (db) => fill(db, 'first', 1))).acknowledged;
      holder = await mapHolder(path);
    }
    const before = await withDb(path, options, (db) => fill(db, 'before', 10_000));
    expect(before.failure).toBeInstanceOf(WriteFailedError);
    expect(before.acknowledged.length).toBeGreaterThan(10_000);
    console.log(`thin device (${name}): ${before.acknowledged.length} keys acknowledged, then: ${(before.failure as Error).message}`);

    device.giveBack();
    const after = await withDb(path, options, (db) => fill(db, 'after', 2));
    await holder?.stop();
    expect(after.failure).toBeUndefined();

    run('umount', mnt);
    run('mount', '-o', 'errors=continue', device.loop, mnt);
    expect(checkFile(path).problems).toEqual([]);
    const missing = await withDb(path, options, async (db) =>
      [...first, ...before.acknowledged, ...after.acknowledged].filter((k) => db.getSync(Buffer.from(k)) === undefined),
    );
    expect(missing.length).toBe(0);
  }, 300_000);
});
