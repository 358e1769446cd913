#!/usr/bin/env node
// Builds everything xrpkv needs; `npm install` runs it (the `prepare` script).
//   node scripts/build.mjs              all steps, in order
//   node scripts/build.mjs bpf ts       only the named steps
// Steps: bins (Rust release binaries), addon (Node addon via napi-rs),
// bpf (bpf/*.c -> dist/bpf/*.o), ts (src -> dist).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
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
  ts: () => run(bin('tsc'), ['-p', 'tsconfig.json']),
};

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
