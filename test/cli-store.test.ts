// `xrpkv get | put | del | scan | stats`, spawned as `node dist/cli/main.js` (the
// compiled CLI), on databases written by the library with the default
// encodings and with the server's (binary keys and values).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prefixEnd } from '../src/cli/scan.js';
import { open } from '../src/index.js';
import { copyOf, jsonLines, xrpkv, xrpkvAll } from './cli-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { requireFreshDist, ROOT, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const plain = join(tmp.dir, 'plain.xrpkv');
const served = join(tmp.dir, 'served.xrpkv');
const many = join(tmp.dir, 'many.xrpkv');

beforeAll(async () => {
  requireFreshDist();
  requireFreshStore();
  const db = open(plain, { pageSize: 512 });
  // Keys around the prefix `user:`: its successor `user;`, an array key inside its range, and neighbours.
  await db.batch(
    ['user', 'user:', 'user:a', 'user:b', 'user;', 'userz', 'a', 'm', 'z'].map((key) => ({ type: 'put' as const, key, value: `v-${key}` })),
  );
  await db.batch([
    { type: 'put', key: ['user:c', 1], value: { n: 1 } },
    { type: 'put', key: 42, value: [1, 'two'] },
  ]);
  await db.close();
  const bin = open<Buffer, Buffer>(served, { keyEncoding: 'binary', valueEncoding: 'binary' });
  await bin.put(Buffer.from('name'), Buffer.from('ann'));
  await bin.put(Buffer.from([0x00, 0xff]), Buffer.from([0x80, 0x81]));
  await bin.close();
  const big = open(many);
  await big.batch(Array.from({ length: 20_000 }, (_, i) => ({ type: 'put' as const, key: `k${String(i).padStart(6, '0')}`, value: 'x'.repeat(40) })));
  await big.close();
});
afterAll(() => tmp.remove());

describe('xrpkv put and get', () => {
  it('stores strings and, with --json-value, JSON values; prints them back', async () => {
    const db = join(tmp.dir, 'new.xrpkv');
    // One at a time: the second builds on the first's file.
    expect(await xrpkv(['put', '--db', db, 'greeting', 'hello'])).toEqual({ status: 0, stdout: '', stderr: '' });
    expect((await xrpkv(['put', '--db', db, '--json-value', 'user:1', '{"name":"ann","age":7}'])).status).toBe(0);
    expect((await xrpkv(['put', '--db', db, '--json-key', '--json-value', '7', '[1,2]'])).status).toBe(0);
    const [text, json, numberKey, missing] = await xrpkvAll([
      ['get', '--db', db, 'greeting', 'user:1'],
      ['get', '--db', copyOf(db), 'user:1', 'nope', '--json'],
      ['get', '--db', copyOf(db), '--json-key', '7'],
      ['get', '--db', copyOf(db), '7'],
    ]);
    expect(text).toMatchObject({ status: 0, stdout: 'hello\n{"name":"ann","age":7}\n' });
    expect(json!.status).toBe(2);
    expect(jsonLines(json!.stdout)).toEqual([
      { key: 'user:1', found: true, value: { name: 'ann', age: 7 } },
      { key: 'nope', found: false },
    ]);
    // A number key is not the string "7".
    expect(numberKey!.stdout).toBe('[1,2]\n');
    expect(missing).toEqual({ status: 2, stdout: '', stderr: 'xrpkv: 7: not found\n' });
  });

  it('reads a served database with --redis or its record: UTF-8 as text, other bytes as hex', async () => {
    const [name, hex, json, text, recorded, mismatch] = await xrpkvAll([
      ['get', '--db', served, '--redis', 'name'],
      ['get', '--db', copyOf(served), '--redis', '--hex', '00ff'],
      ['scan', '--db', copyOf(served), '--redis', '--json'],
      ['scan', '--db', copyOf(served), '--redis'],
      ['get', '--db', copyOf(served), 'name'],
      ['get', '--db', copyOf(served), '--value-encoding', 'msgpack', 'name'],
    ]);
    expect(name!.stdout).toBe('ann\n');
    expect(hex!.stdout).toBe('8081\n');
    expect(jsonLines(json!.stdout)).toEqual([
      { keyHex: '00ff', valueHex: '8081' },
      { key: 'name', value: 'ann' },
    ]);
    expect(text!.stdout).toBe('0x00ff\t0x8081\nname\tann\n');
    // Without --redis: the file records binary keys and values, and get reads them so.
    expect(recorded).toMatchObject({ status: 0, stdout: 'ann\n' });
    // An encoding that differs from the record: one line, exit 1, nothing printed.
    expect(mismatch).toMatchObject({ status: 1, stdout: '' });
    expect(mismatch!.stderr).toMatch(/^xrpkv: .*served\.xrpkv.* records valueEncoding 'binary': --value-encoding msgpack does not match .+\n$/);
  });
});

describe('xrpkv scan', () => {
  const keys = async (...variants: string[][]) => {
    const runs = await xrpkvAll(variants.map((args) => ['scan', '--db', copyOf(plain), '--keys-only', '--json', ...args]));
    return runs.map((r) => {
      expect(r).toMatchObject({ status: 0, stderr: '' });
      return jsonLines(r.stdout).map((e: { key: unknown }) => e.key);
    });
  };

  it('walks a range forward and back, with a limit', async () => {
    const [forward, back, limited] = await keys(['--start', 'm', '--end', 'user:a'], ['--reverse', '--start', 'user:a', '--end', 'm'], ['--limit', '2']);
    expect(forward).toEqual(['m', 'user', 'user:']);
    expect(back).toEqual(['user:a', 'user:', 'user']);
    expect(limited).toEqual([42, 'a']);
    expect((await xrpkv(['scan', '--db', plain, '--start', 'z'])).stdout).toBe('z\tv-z\n');
  });

  it('takes the keys with a prefix, arrays whose first element has it included, in both orders', async () => {
    const [forward, back, limited, none] = await keys(['--prefix', 'user:'], ['--prefix', 'user:', '--reverse'], ['--prefix', 'user:', '--reverse', '--limit', '2'], ['--prefix', 'nothing']);
    expect(forward).toEqual(['user:', 'user:a', 'user:b', ['user:c', 1]]);
    expect(back).toEqual([['user:c', 1], 'user:b', 'user:a', 'user:']);
    expect(limited).toEqual([['user:c', 1], 'user:b']);
    expect(none).toEqual([]);
    const full = await xrpkv(['scan', '--db', plain, '--prefix', 'user:c', '--json']);
    expect(jsonLines(full.stdout)).toEqual([{ key: ['user:c', 1], value: { n: 1 } }]);
  });

  it('finds the successor of a prefix', () => {
    expect(prefixEnd('user:')).toBe('user;');
    expect(prefixEnd('a\u{10ffff}')).toBe('b');
    expect(prefixEnd('\u{d7ff}')).toBe('\u{e000}');
    expect(prefixEnd('\u{10ffff}')).toBeUndefined();
    expect(prefixEnd(Buffer.from([1, 0xff]))).toEqual(Buffer.from([2]));
    expect(prefixEnd(Buffer.from([0xff]))).toBeUndefined();
  });

  it('stops quietly when the reader closes the pipe', () => {
    const r = spawnSync('bash', ['-c', `set -o pipefail; node dist/cli/main.js scan --db '${many}' | head -n 1`], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`k000000\t${'x'.repeat(40)}\n`);
  });
});

describe('xrpkv del and stats', () => {
  it('deletes in one commit and says how many keys existed', async () => {
    const db = join(tmp.dir, 'del.xrpkv');
    await xrpkv(['put', '--db', db, 'a', 'a']);
    await xrpkv(['put', '--db', db, 'c', 'c']);
    // A key the store refuses fails the whole command: `c` is not deleted (the --json run below finds it).
    const refused = await xrpkv(['del', '--db', db, 'c', 'k'.repeat(5000)]);
    expect(refused).toMatchObject({ status: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^xrpkv: KEY_TOO_LARGE: /);
    expect(await xrpkv(['del', '--db', db, 'a', 'zz'])).toMatchObject({ status: 0, stdout: 'deleted 1 of 2 keys\n' });
    expect(JSON.parse((await xrpkv(['del', '--db', db, 'c', 'a', '--json'])).stdout)).toEqual({ deleted: 1, missing: ['a'] });
    expect(await xrpkv(['scan', '--db', db])).toMatchObject({ status: 0, stdout: '' });
  });

  it('prints the shape of the tree', async () => {
    const [json, text] = await xrpkvAll([
      ['stats', '--db', many, '--json'],
      ['stats', '--db', copyOf(many), '--lookup', 'walk'],
    ]);
    expect(json).toMatchObject({ status: 0, stderr: '' });
    const s = JSON.parse(json!.stdout);
    expect(s).toMatchObject({ path: many, entries: 20_000, pageSize: 4096, backend: 'auto' });
    expect(s.height).toBeGreaterThanOrEqual(2);
    expect(s.leafPages).toBeGreaterThan(100);
    expect(s.pages).toBeGreaterThanOrEqual(s.branchPages + s.leafPages + 2);
    expect(s.fill).toBeGreaterThan(0.4);
    expect(s.fill).toBeLessThanOrEqual(1);
    expect(s.backendReason).toContain("lookup 'auto'");
    expect(text!.stdout).toContain(`height: ${s.height}\n`);
    expect(text!.stdout).toContain('entries: 20000\n');
    expect(text!.stdout).toMatch(/^fill: \d+\.\d% /m);
    expect(text!.stdout).toContain("backend: walk (lookup 'walk' was asked for)");
  });

  it('lists named databases, and scans only the root', async () => {
    const path = join(tmp.dir, 'named.xrpkv');
    const db = open<string, string>(path, { pageSize: 512 });
    const users = db.openDB<string, unknown>('users', { encoding: 'json' });
    await Promise.all([db.put('root', 'r'), users.put('u1', { n: 1 }), users.put('u2', { n: 2 })]);
    await db.close();
    const [text, json, scan] = await xrpkvAll([['stats', '--db', path], ['stats', '--db', copyOf(path), '--json'], ['scan', '--db', copyOf(path)]]);
    expect(text!.stdout).toContain('databases: users (2 entries, ordered-binary/json)\n');
    expect(JSON.parse(json!.stdout).databases).toEqual([{ name: 'users', entries: 2, keyEncoding: 'ordered-binary', valueEncoding: 'json' }]);
    expect(scan).toMatchObject({ status: 0 });
    expect(scan!.stdout.trim().split('\n')).toHaveLength(1);
  });
});

describe('errors', () => {
  it('fails on a missing database without creating it', async () => {
    const path = join(tmp.dir, 'missing.xrpkv');
    const runs = await xrpkvAll([['get', 'a'], ['scan'], ['stats'], ['del', 'a']].map(([command, ...rest]) => [command!, '--db', path, ...rest]));
    for (const r of runs) expect(r).toEqual({ status: 1, stdout: '', stderr: `xrpkv: ${path}: no such database file (this command does not create one)\n` });
    expect(existsSync(path)).toBe(false);
  });

  it('refuses bad options and keys with one line and exit code 1', async () => {
    const cases: [string[], RegExp][] = [
      [['get', '--db', plain, '--key-encoding', 'utf9', 'a'], /^xrpkv: option '--key-encoding <encoding>' argument 'utf9' is invalid/],
      [['get', '--db', plain, '--redis', '--value-encoding', 'json', 'a'], /^xrpkv: option '--redis' cannot be used with option '--value-encoding/],
      [['get', '--db', served, '--redis', '--json-key', 'a'], /^xrpkv: --json-key needs --key-encoding ordered-binary/],
      [['put', '--db', plain, '--value-encoding', 'string', '--json-value', 'a', '1'], /^xrpkv: --json-value needs --value-encoding msgpack or json/],
      [['get', '--db', served, '--redis', '--hex', 'xyz'], /^xrpkv: the key is not hex/],
      [['put', '--db', plain, '--json-value', 'a', '{oops'], /^xrpkv: the value is not JSON: /],
      [['put', '--db', join(tmp.dir, 'oversize.xrpkv'), 'k'.repeat(600), 'v'], /^xrpkv: KEY_TOO_LARGE: the encoded key is 600 bytes; at most \d+ fit/],
      [['get', 'a'], /^xrpkv: required option '--db <path>' not specified/],
      [['scan', '--db', plain, '--prefix', 'a', '--start', 'b'], /^xrpkv: option '--prefix <text>' cannot be used with option '--start <key>'/],
      [['scan', '--db', plain, '--limit', '-1'], /^xrpkv: option '--limit <n>' argument '-1' is invalid/],
      [['get', '--db', tmp.dir, 'a'], /^xrpkv: .*: not a regular file$/m],
    ];
    // Every one fails before it opens the file but the oversized key, which has its own.
    const runs = await xrpkvAll(cases.map(([args]) => args));
    runs.forEach((r, i) => {
      const [args, message] = cases[i]!;
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.status, args.join(' ')).toBe(1);
    });
  });

  it('get, scan and stats read a database another process has open and writes to; put commits beside it', async () => {
    const path = join(tmp.dir, 'shared.xrpkv');
    const db = open(path);
    try {
      await db.put('a', 'one');
      expect(await xrpkv(['get', '--db', path, 'a'])).toMatchObject({ status: 0, stdout: 'one\n' });
      await db.put('b', 'two');
      const scan = await xrpkv(['scan', '--db', path, '--json']);
      expect(jsonLines(scan.stdout)).toEqual([
        { key: 'a', value: 'one' },
        { key: 'b', value: 'two' },
      ]);
      expect(await xrpkv(['put', '--db', path, 'c', 'three'])).toMatchObject({ status: 0 });
      expect(db.getSync('c')).toBe('three');
      const stats = await xrpkv(['stats', '--db', path, '--json']);
      expect(JSON.parse(stats.stdout)).toMatchObject({ entries: 3 });
    } finally {
      await db.close();
    }
  });

  it('has help with examples for every command', async () => {
    const commands = ['get', 'put', 'del', 'scan', 'stats'];
    const runs = await xrpkvAll(commands.map((c) => [c, '--help']));
    runs.forEach((r, i) => {
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`Usage: xrpkv ${commands[i]} [options]`);
      expect(r.stdout).toContain('--db <path>');
      expect(r.stdout).toContain('--redis');
      expect(r.stdout).toContain('Examples:\n  $ xrpkv ');
    });
  });
});
