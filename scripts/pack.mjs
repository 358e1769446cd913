#!/usr/bin/env node
// Packs what npm would publish, from a built checkout (`npm run build`):
//   node scripts/pack.mjs [--out DIR]     (default DIR: pack/)
// writes DIR/xrpkv-<version>.tgz, the main package (JavaScript, types, the
// BPF objects, the CLI), and DIR/xrpkv-<platform>-<version>.tgz, this
// machine's platform package (npm/<platform>/ plus the addon built here), and
// prints their sizes. Other platforms' packages are packed on their own machines.
// The main package is packed from a copy of the files npm would take, with a
// package.json that has no scripts or devDependencies: they mean nothing to
// an installed package, and npm warns about a `prepare` it will not run.
import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function fail(message) {
  console.error(`pack: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.length && !(args.length === 2 && args[0] === '--out')) fail('usage: node scripts/pack.mjs [--out DIR]');
const out = resolve(args[1] ?? join(root, 'pack'));

const readJson = (path) => JSON.parse(readFileSync(path, 'utf8'));
const main = readJson(join(root, 'package.json'));

// The platform packages and the main package's optionalDependencies must name
// each other at the main package's version, or an install silently goes without an addon.
const platforms = readdirSync(join(root, 'npm'));
for (const dir of platforms) {
  const pkg = readJson(join(root, 'npm', dir, 'package.json'));
  if (pkg.name !== `@xrpkv/${dir}`) fail(`npm/${dir}/package.json is named ${pkg.name}, not @xrpkv/${dir}`);
  if (pkg.version !== main.version) fail(`npm/${dir}/package.json is version ${pkg.version}, package.json ${main.version}`);
  if (main.optionalDependencies?.[pkg.name] !== main.version) {
    fail(`package.json's optionalDependencies must hold "${pkg.name}": "${main.version}"`);
  }
}
for (const name of Object.keys(main.optionalDependencies ?? {})) {
  if (!platforms.includes(name.replace('@xrpkv/', ''))) fail(`optionalDependencies names ${name}, which has no npm/ directory`);
}

for (const built of ['dist/index.js', 'dist/index.cjs', 'dist/level.d.cts', 'dist/cli/main.js', 'dist/bpf/lookup.o', 'dist/native/xrpkv.node']) {
  if (!existsSync(join(root, built))) fail(`${built} is missing: run \`npm run build\` first`);
}

// As src/native.ts names this machine: linux-x64-gnu, linux-arm64-musl, ...
const glibc = process.report.getReport().header.glibcVersionRuntime;
const platform = `${process.platform}-${process.arch}${process.platform === 'linux' ? (glibc ? '-gnu' : '-musl') : ''}`;
if (!platforms.includes(platform)) fail(`there is no platform package for ${platform} (npm/${platform}/)`);

function npmPack(dir, ...flags) {
  // --ignore-scripts: `prepare` would rebuild everything; the build is done.
  const r = spawnSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out, ...flags], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) fail(`npm pack in ${dir} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout)[0];
}

/** Copies the files npm would pack from the root into `to`, with the installed package's package.json. */
function stageMain(to) {
  for (const { path } of npmPack(root, '--dry-run').files) {
    mkdirSync(dirname(join(to, path)), { recursive: true });
    cpSync(join(root, path), join(to, path));
  }
  const { scripts: _scripts, devDependencies: _dev, ...installed } = main;
  writeFileSync(join(to, 'package.json'), `${JSON.stringify(installed, null, 2)}\n`);
}

mkdirSync(out, { recursive: true });
const stage = mkdtempSync(join(tmpdir(), 'xrpkv-pack-'));
try {
  const mainStage = join(stage, 'main');
  const platformStage = join(stage, platform);
  mkdirSync(mainStage);
  mkdirSync(platformStage);
  stageMain(mainStage);
  const source = join(root, 'npm', platform);
  const pkg = readJson(join(source, 'package.json'));
  for (const file of readdirSync(source)) copyFileSync(join(source, file), join(platformStage, file));
  copyFileSync(join(root, 'dist', 'native', 'xrpkv.node'), join(platformStage, pkg.main));
  copyFileSync(join(root, 'LICENSE'), join(platformStage, 'LICENSE'));
  const packed = [npmPack(mainStage), npmPack(platformStage)];
  const kB = (n) => `${(n / 1000).toFixed(0)} kB`;
  for (const p of packed) {
    console.log(`${join(out, p.filename)}: ${p.name}@${p.version}, ${kB(p.size)} packed, ${kB(p.unpackedSize)} unpacked, ${p.entryCount} files`);
  }
} finally {
  rmSync(stage, { recursive: true, force: true });
}
