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
import { PageType, readHeader } from '../src/format/page.js';
import { exchange, redisCli, resp, startTestServer } from './server-fixtures.js';
import { layout } from './store-fixtures.js';
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

describe('a damaged leaf', () => {
  it('fails only the SETs whose puts need it; the rest of their pipeline and batch are answered OK and kept', async () => {
    const path = join(tmp.dir, 'leaf.db');
    const key = (i: number) => Buffer.from(`key:${String(i).padStart(6, '0')}`);
    const db = open<Buffer, Buffer>(path, { logLimit: 0, keyEncoding: 'binary', valueEncoding: 'binary' });
    await db.batch(Array.from({ length: 3000 }, (_, i) => ({ type: 'put' as const, key: key(2 * i), value: Buffer.alloc(20, 'old') })));
    await db.close();
    const { levels, firstKey } = layout(path, 4096);
    expect(levels.length).toBe(2);
    // A leaf in the middle, not the first: keys left of it live in healthy leaves.
    const leaves = levels[1]!;
    const bad = leaves[leaves.length >> 1]!;
    const badKey = firstKey(bad);
    const fd = openSync(path, 'r+');
    const page = Buffer.alloc(4096);
    readSync(fd, page, 0, 4096, bad * 4096);
    expect(readHeader(page).type).toBe(PageType.Leaf);
    writeSync(fd, Buffer.from([page[300]! ^ 0x5a]), 0, 1, bad * 4096 + 300);
    closeSync(fd);
    const server = await startTestServer(tmp.dir, 'leaf.db');
    try {
      // One pipeline of plain SETs (new keys, odd numbers): the damaged leaf's is fourth of seven.
      const keys = [key(1), key(3), key(5), Buffer.concat([badKey, Buffer.from('+')]), key(7), key(9), key(11)];
      const sent = Buffer.concat(keys.map((k) => resp('set', k, 'new')));
      const { reply } = await exchange(server.port, sent, 5000, (r) => r.split('\r\n').length > keys.length);
      const answers = reply.split('\r\n').slice(0, keys.length);
      expect(answers.map((a, i) => (i === 3 ? a.startsWith('-') : a))).toEqual(['+OK', '+OK', '+OK', true, '+OK', '+OK', '+OK']);
      expect(answers[3]).toMatch(new RegExp(`page ${bad}`));
      for (const i of [0, 1, 2, 4, 5, 6]) expect((await redisCli(server.port, 'get', keys[i]!.toString())).stdout.trim()).toBe('new');
      const stats = await info(server.port, 'commandstats');
      expect(stats.cmdstat_set).toMatch(/calls=7,.*failed_calls=1/);
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
