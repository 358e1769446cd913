// The server when the disk fails it (issue 14): a commit that fails is
// answered with MISCONF, as Redis answers writes it cannot persist; INFO
// says the store is not writable (the image's health check looks there);
// the server reopens the store, again and again while that fails, and
// once there is room writes go on with every acknowledged write there.
// What opening fell back from is in INFO and the server's log.
// The full-disk test mounts a small tmpfs (root only; elsewhere it says why it is skipped).
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open } from '../src/index.js';
import { metaPageOf, pickMeta } from '../src/format/meta.js';
import { redisCli, startTestServer } from './server-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

const info = async (port: number, section: string) => Object.fromEntries(
  (await redisCli(port, 'info', section)).stdout
    .split('\r\n')
    .filter((l) => l.includes(':'))
    .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
);

describe('what opening fell back from', () => {
  it('is in INFO persistence when the newest meta page was damaged', async () => {
    const path = join(tmp.dir, 'damaged.db');
    // The server's encodings: the file records them, and the server opens only such a file.
    const db = open<Buffer, Buffer>(path, { logLimit: 0, keyEncoding: 'binary', valueEncoding: 'binary' });
    await db.put(Buffer.from('a'), Buffer.from('1'));
    await db.put(Buffer.from('b'), Buffer.from('2'));
    await db.close();
    const fd = openSync(path, 'r+');
    const pages = [0, 1].map((n) => {
      const b = Buffer.alloc(4096);
      readSync(fd, b, 0, 4096, n * 4096);
      return b;
    }) as [Buffer, Buffer];
    const newest = metaPageOf(pickMeta(pages).txid);
    writeSync(fd, Buffer.from([0xff]), 0, 1, newest * 4096 + 200);
    closeSync(fd);
    const server = await startTestServer(tmp.dir, 'damaged.db');
    try {
      const fields = await info(server.port, 'persistence');
      expect(fields.xrpkv_recovery).toMatch(new RegExp(`meta page ${newest} is invalid`));
      expect(fields).toMatchObject({ xrpkv_writable: '1', aof_last_write_status: 'ok' });
    } finally {
      await server.close();
    }
  });
});

const canMount = (() => {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = join(tmp.dir, 'probe-mount');
  mkdirSync(probe);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs: ${(r.stderr || r.error?.message || '').trim()}`;
  execFileSync('umount', [probe]);
  return undefined;
})();
if (canMount) console.log(`server-faults: skipping the full-disk test: ${canMount}`);

describe.skipIf(canMount !== undefined)('a full disk', () => {
  it('answers MISCONF, says so in INFO, and writes again once there is room, every acknowledged write kept', async () => {
    const dir = join(tmp.dir, 'full');
    mkdirSync(dir);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
    const server = await startTestServer(dir, 'db');
    try {
      const acknowledged: string[] = [];
      let refusal = '';
      for (let i = 0; i < 20_000 && !refusal; i++) {
        const args = ['mset', ...Array.from({ length: 20 }, (_, j) => [`k${i}-${j}`, 'v'.repeat(200)]).flat()];
        const r = await redisCli(server.port, ...args);
        if (r.stdout.trim() === 'OK') acknowledged.push(`k${i}-0`, `k${i}-19`);
        else refusal = r.stdout.trim();
      }
      expect(refusal).toMatch(/^MISCONF xrpkv cannot persist writes now: .*no space left/i);
      expect(await info(server.port, 'persistence')).toMatchObject({ xrpkv_writable: '0', aof_last_write_status: 'err' });
      expect((await redisCli(server.port, 'set', 'x', 'y')).stdout).toMatch(/^(MISCONF|ERR)/);
      // Reads go on.
      expect((await redisCli(server.port, 'get', acknowledged[0]!)).stdout.trim()).toBe('v'.repeat(200));

      execFileSync('mount', ['-o', 'remount,size=8m', dir]);
      // The server reopens the store within its retry delays (1 s, then 2 s, ...),
      // but says it can write only once a commit has succeeded.
      let fields: Record<string, string> = {};
      for (let waited = 0; waited < 10_000; waited += 250) {
        fields = await info(server.port, 'persistence');
        if (Number(fields.xrpkv_reopens) >= 1) break;
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(fields).toMatchObject({ xrpkv_writable: '0', aof_last_write_status: 'err' });
      expect((await redisCli(server.port, 'set', 'after', 'room')).stdout.trim()).toBe('OK');
      expect(await info(server.port, 'persistence')).toMatchObject({ xrpkv_writable: '1', aof_last_write_status: 'ok', xrpkv_write_error: '' });
      const values = await redisCli(server.port, 'mget', ...acknowledged, 'after');
      expect(values.stdout.trim().split('\n')).toEqual([...acknowledged.map(() => 'v'.repeat(200)), 'room']);
    } finally {
      await server.close();
      execFileSync('umount', ['-l', dir]);
    }
  }, 60_000);
});
