#!/usr/bin/env node
// Builds everything xrpkv needs; `npm install` runs it (the `prepare` script).
//   node scripts/build.mjs              all steps, in order
//   node scripts/build.mjs bpf ts       only the named steps
// Steps: bins (Rust release binaries), addon (Node addon via napi-rs),
// bpf (bpf/*.c -> dist/bpf/*.o), ts (src -> dist), cjs (the CommonJS entries).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', name);

function fail(message) {
  console.error(`\nbuild: ${message}`);
  process.exit(1);
}

function run(cmd, args) {
  console.log(`$ ${[cmd, ...args].join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error) fail(`could not run ${cmd}: ${r.error.message}`);
  if (r.status !== 0) fail(`${cmd} failed (exit ${r.status ?? r.signal})`);
}

const found = (cmd) => spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;

// Checked before anything builds, so a missing tool fails fast with its fix.
const TOOLS = {
  cargo: 'cargo not found: install Rust (https://rustup.rs), then re-run `npm install`',
  clang:
    'clang not found: run `bash scripts/setup.sh` (installs it with apt-get as root) or `apt-get install clang`',
  [bin('napi')]: '@napi-rs/cli is not installed: run `npm install`',
  [bin('tsc')]: 'typescript is not installed: run `npm install`',
};

const bpfSources = () => readdirSync(join(root, 'bpf')).filter((f) => f.endsWith('.c')).sort();

const STEPS = {
  // The VM's command-line tools, e.g. target/release/bpf-conformance-plugin.
  bins: () => run('cargo', ['build', '--release', '-p', 'ebpf', '--bins']),
  // No napi crate: napi-rs only drives cargo and copies the cdylib, named by
  // package.json's napi.binaryName, to dist/native/xrpkv.node.
  addon: () =>
    run(bin('napi'), ['build', '--release', '--manifest-path', 'crates/node/Cargo.toml', '--output-dir', 'dist/native']),
  bpf: () => {
    mkdirSync(join(root, 'dist', 'bpf'), { recursive: true });
    for (const src of bpfSources()) {
      const out = join('dist', 'bpf', src.replace(/\.c$/, '.o'));
      run('clang', ['-target', 'bpf', '-O2', '-mcpu=v3', '-g', '-c', '-I', 'bpf/include', join('bpf', src), '-o', out]);
    }
  },
  // Then what tsc left in dist/ from a module since moved or removed in src/
  // goes, so the package ships nothing stale (dist/ is never emptied: a
  // test or a server may be running from it).
  ts: () => {
    run(bin('tsc'), ['-p', 'tsconfig.json']);
    removeStale(join(root, 'dist'), join(root, 'src'));
  },
  cjs: () => {
    for (const entry of CJS_ENTRIES) writeCjsEntry(entry);
    console.log(`cjs: dist/{${CJS_ENTRIES.join(',')}}.cjs and their .d.cts`);
  },
};

/** Removes compiled files under `dist` whose module is not in `src` (native/ and bpf/ are not tsc's). */
function removeStale(dist, src) {
  for (const entry of readdirSync(dist, { withFileTypes: true })) {
    const path = join(dist, entry.name);
    if (entry.isDirectory()) {
      if (dist === join(root, 'dist') && (entry.name === 'native' || entry.name === 'bpf')) continue;
      removeStale(path, join(src, entry.name));
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
      continue;
    }
    const module = entry.name.replace(/(\.d)?\.(js|ts|cjs|cts)(\.map)?$/, '');
    if (!existsSync(join(src, `${module}.ts`))) rmSync(path);
  }
}

// The package's entries (package.json "exports"), each also given to require().
const CJS_ENTRIES = ['index', 'level'];

// `require('xrpkv')` loads the ES module itself (require(esm), Node >= 20.19):
// one copy of every class and of the addon, whichever way it is loaded. The
// types are the ES declarations copied as .d.cts, their relative imports
// pointing at .cjs, so TypeScript reads them as CommonJS at any version.
function writeCjsEntry(entry) {
  writeFileSync(
    join(root, 'dist', `${entry}.cjs`),
    `'use strict';
// CommonJS entry of dist/${entry}.js (scripts/build.mjs writes it): Node 20.19
// and later load the ES module with require(), as the same instance import gets.
try {
  module.exports = require('./${entry}.js');
} catch (e) {
  if (e && e.code === 'ERR_REQUIRE_ESM') {
    throw new Error(\`xrpkv: require() of xrpkv needs Node.js 20.19 or later (this is \${process.version}); use import instead\`, { cause: e });
  }
  throw e;
}
`,
  );
  const pending = [join(root, 'dist', `${entry}.d.ts`)];
  const done = new Set();
  while (pending.length) {
    const dts = pending.pop();
    if (done.has(dts)) continue;
    if (!existsSync(dts)) fail(`cjs: ${dts} is imported by a declaration but tsc did not write it`);
    done.add(dts);
    const text = readFileSync(dts, 'utf8').replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]+)\.js(['"])/g, (_, a, spec, z) => {
      pending.push(join(dirname(dts), `${spec}.d.ts`));
      return `${a}${spec}.cjs${z}`;
    });
    writeFileSync(dts.replace(/\.d\.ts$/, '.d.cts'), text);
  }
}

const wanted = process.argv.slice(2);
for (const step of wanted) if (!(step in STEPS)) fail(`unknown step '${step}' (steps: ${Object.keys(STEPS).join(', ')})`);
const steps = wanted.length ? wanted : Object.keys(STEPS);

for (const [tool, fix] of Object.entries(TOOLS)) {
  if (tool === 'clang' && !steps.includes('bpf')) continue;
  if (tool === 'cargo' && !steps.some((s) => s === 'bins' || s === 'addon')) continue;
  if (tool.includes('node_modules') ? !existsSync(tool) : !found(tool)) fail(fix);
}

for (const step of steps) STEPS[step]();
console.log(`\nbuild: done (${steps.join(', ')})`);
