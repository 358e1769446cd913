// The package as a user gets it: `npm pack` of the main package and this
// machine's platform package (scripts/pack.mjs), installed into a new project
// whose PATH holds node and npm but neither cargo nor clang, then used there
// as lmdb-js users use theirs: import and require, tsc --strict on ESM and
// CommonJS files, the CLI, the server, and an XRP program the package ships.
// Needs the npm registry (or npm's cache) for the package's dependencies.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync, realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOOKUP_SCRATCH, LOOKUP_STATES } from '../src/format/scratch.js';
import { ROOT, requireFreshDist, tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
const project = join(tmp.dir, 'project');
const bin = join(tmp.dir, 'bin');
/** node and npm only: the PATH of a machine without a Rust or C toolchain. */
const env = { ...process.env, PATH: bin, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

function run(cmd: string, args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: project, env, encoding: 'utf8', input, timeout: 120_000 });
}

function ok(r: SpawnSyncReturns<string>): string {
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Bytes under `dir`, recursively. */
function sizeOf(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += sizeOf(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

let tarballs: string[];

beforeAll(() => {
  requireFreshDist();
  mkdirSync(bin);
  mkdirSync(project);
  const npmCli = realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
  symlinkSync(process.execPath, join(bin, 'node'));
  // npm and npx run commands through sh.
  symlinkSync('/bin/sh', join(bin, 'sh'));
  symlinkSync(npmCli, join(bin, 'npm'));
  symlinkSync(join(npmCli, '..', 'npx-cli.js'), join(bin, 'npx'));
  const packed = spawnSync(process.execPath, [join(ROOT, 'scripts', 'pack.mjs'), '--out', join(tmp.dir, 'pack')], { encoding: 'utf8' });
  ok(packed);
  console.log(packed.stdout.trim());
  tarballs = readdirSync(join(tmp.dir, 'pack')).map((f) => join(tmp.dir, 'pack', f));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }));
  ok(run('npm', ['install', '--no-audit', '--no-fund', ...tarballs]));
  console.log(`node_modules after the install: ${(sizeOf(join(project, 'node_modules')) / 1e6).toFixed(1)} MB in ${readdirSync(join(project, 'node_modules')).length} entries`);
}, 300_000);
afterAll(() => tmp.remove());

describe('the packed package, installed without cargo or clang', () => {
  it('has no toolchain on its PATH, and ships only what runs and what users read', () => {
    for (const tool of ['cargo', 'clang', 'rustc']) expect(run(tool, ['--version']).error).toMatchObject({ code: 'ENOENT' });
    const main = tarballs.find((t) => /\/xrpkv-\d/.test(t))!;
    const files = ok(spawnSync('tar', ['tzf', main], { encoding: 'utf8' })).trim().split('\n');
    expect(files).toContain('package/dist/bpf/lookup.o');
    expect(files).toContain('package/bpf/include/xrp.h');
    expect(files).toContain('package/dist/index.cjs');
    expect(files).toContain('package/dist/index.d.cts');
    expect(files.filter((f) => !/^package\/(dist|bpf|docs)\/|^package\/(package\.json|README\.md|LICENSE)$/.test(f))).toEqual([]);
    expect(files.filter((f) => /\.node$|\.map$|\/test\/|\/src\//.test(f))).toEqual([]);
    // An installed package has nothing to build: no scripts (npm would warn of a `prepare` it never runs).
    const installed = JSON.parse(readFileSync(join(project, 'node_modules', 'xrpkv', 'package.json'), 'utf8'));
    expect(installed.scripts).toBeUndefined();
    expect(installed.optionalDependencies).toEqual({ '@xrpkv/linux-x64-gnu': installed.version });
    // The chart renderers are optional peers: not installed with the package.
    expect(readdirSync(join(project, 'node_modules'))).not.toContain('vega');
    expect(readdirSync(join(project, 'node_modules', '@xrpkv'))).toEqual(['linux-x64-gnu']);
  });

  it('works through import and require, as one instance', () => {
    const script = (db: string) => `
      const db = open(${JSON.stringify(db)}, { valueEncoding: 'json' });
      await db.put('greeting', { hello: 'world' });
      const seen = db.getSync('greeting');
      await db.close();
      console.log(JSON.stringify({ seen, level: typeof XrpkvLevel }));`;
    const esm = ok(run('node', ['--input-type=module', '-e', `import { open } from 'xrpkv'; import { XrpkvLevel } from 'xrpkv/level';${script('esm.db')}`]));
    expect(JSON.parse(esm)).toEqual({ seen: { hello: 'world' }, level: 'function' });
    const cjs = ok(run('node', ['-e', `const { open } = require('xrpkv'); const { XrpkvLevel } = require('xrpkv/level'); (async () => {${script('cjs.db')}})()`]));
    expect(JSON.parse(cjs)).toEqual({ seen: { hello: 'world' }, level: 'function' });
    // One instance of the package whichever way it is loaded.
    const same = ok(run('node', ['--input-type=module', '-e', `import { createRequire } from 'node:module'; import * as x from 'xrpkv';
      const r = createRequire(import.meta.url)('xrpkv'); console.log(r.CorruptionError === x.CorruptionError && r.open === x.open);`]));
    expect(same.trim()).toBe('true');
  });

  it('loads the addon from the platform package, not from a local build', () => {
    const origin = ok(run('node', ['--input-type=module', '-e', `import { nativeOrigin } from './node_modules/xrpkv/dist/native.js'; console.log(nativeOrigin);`]));
    expect(origin.trim()).toBe('@xrpkv/linux-x64-gnu');
  });

  it('type-checks with tsc --strict from an ES module and from a CommonJS module', () => {
    writeFileSync(
      join(project, 'esm.mts'),
      `import { open, CorruptionError, type Database, type OpenOptions } from 'xrpkv';
import { XrpkvLevel } from 'xrpkv/level';
const options: OpenOptions = { pageSize: 4096, valueEncoding: 'json' };
const db: Database = open('typed.db', options);
await db.put('k', { n: 1 });
const value: unknown = db.getSync('k');
const level = new XrpkvLevel<string, string>('level.db');
export { value, level, CorruptionError };
`,
    );
    writeFileSync(
      join(project, 'cjs.cts'),
      `import xrpkv = require('xrpkv');
import level = require('xrpkv/level');
const db: xrpkv.Database = xrpkv.open('typed.db', { lookup: 'walk' });
const err: typeof xrpkv.CorruptionError = xrpkv.CorruptionError;
export = { db, err, level: level.XrpkvLevel };
`,
    );
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2022',
          strict: true,
          noEmit: true,
          // The package's own declarations are checked too (no skipLibCheck).
          typeRoots: [join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['esm.mts', 'cjs.cts'],
      }),
    );
    const tsc = run('node', [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json']);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
  });

  it('runs the CLI: --version, put and get', () => {
    const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
    expect(ok(run('npx', ['xrpkv', '--version'])).trim()).toBe(version);
    expect(ok(run('npx', ['xrpkv', '-V'])).trim()).toBe(version);
    ok(run('npx', ['xrpkv', 'put', '--db', 'cli.db', 'greeting', 'hello']));
    expect(ok(run('npx', ['xrpkv', 'get', '--db', 'cli.db', 'greeting'])).trim()).toBe('hello');
  });

  it('serves: `npx xrpkv serve` answers PING, and stops with its process group', async () => {
    // In a process group of its own: npx runs the server as its child, which a signal to npx alone leaves running.
    const server = spawn('npx', ['xrpkv', 'serve', '--db', 'served.db', '--port', '0'], { cwd: project, env, detached: true });
    const exited = new Promise((resolve) => server.once('exit', resolve));
    let port = 0;
    try {
      port = await new Promise<number>((resolve, reject) => {
        let out = '';
        server.stdout.on('data', (d: Buffer) => {
          out += d;
          const m = /listening on [^:\s]+:(\d+)/.exec(out);
          if (m) resolve(Number(m[1]));
        });
        server.once('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
      });
      const reply = await new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write('*1\r\n$4\r\nPING\r\n'));
        socket.once('data', (d) => {
          resolve(d.toString());
          socket.end();
        });
        socket.once('error', reject);
      });
      expect(reply).toBe('+PONG\r\n');
    } finally {
      process.kill(-server.pid!, 'SIGTERM');
      await exited;
    }
    // The server itself stopped too: its port refuses connections.
    expect(await refusedWithin(port, 10_000)).toBe(true);
  });

  it('runs the shipped lookup program with `xrpkv xrp run` on a database it wrote', async () => {
    // A one-leaf tree (logLimit 0: the key goes into the tree, not the log).
    ok(
      run('node', [
        '--input-type=module',
        '-e',
        `import { open } from 'xrpkv';
         const db = open('tree.db', { logLimit: 0, keyEncoding: 'binary', valueEncoding: 'binary' });
         await db.put(Buffer.from('key-7'), Buffer.from('value-7'));
         await db.close();`,
      ]),
    );
    const file = readFileSync(join(project, 'tree.db'));
    const leaves = [];
    for (let page = 2; page * 4096 < file.length; page++) if (file[page * 4096 + 4] === 3) leaves.push(page);
    expect(leaves.length).toBeGreaterThan(0);
    const leaf = leaves.at(-1)!;
    const scratch = Buffer.alloc(LOOKUP_SCRATCH.key + 5);
    scratch.writeUInt16LE(5, LOOKUP_SCRATCH.keyLen);
    scratch.writeUInt32LE(4096, LOOKUP_SCRATCH.pageSize);
    scratch.write('key-7', LOOKUP_SCRATCH.key);
    writeFileSync(join(project, 'scratch.bin'), scratch);
    const program = 'node_modules/xrpkv/dist/bpf/lookup.o:xrp/lookup';
    const out = JSON.parse(ok(run('npx', ['xrpkv', 'xrp', 'run', program, 'tree.db', '--offset', String(leaf * 4096), '--scratch-file', 'scratch.bin', '--full-scratch', '--json'])));
    expect(out).toMatchObject({ code: 'DONE', hops: 1 });
    const result = Buffer.from(out.scratch, 'hex');
    expect(result.readUInt32LE(LOOKUP_SCRATCH.state)).toBe(LOOKUP_STATES.inline);
    const length = result.readUInt32LE(LOOKUP_SCRATCH.valueLen);
    expect(result.subarray(LOOKUP_SCRATCH.value, LOOKUP_SCRATCH.value + length).toString()).toBe('value-7');
  });
});

/** Whether connecting to `port` on loopback is refused within `ms` (tried every 100 ms). */
async function refusedWithin(port: number, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ECONNREFUSED'));
    });
    if (refused) return true;
  }
  return false;
}
