// Fixtures of the XRP tests: bpf/tests/xrp_chain.c compiled with clang, and
// chain files in the layout its header comment gives:
//   block: u64 next (~0 ends), u64 size (extended mode; 0 = 4096), u64 value, u64 action
//   scratch: u64 sum, u64 blocks seen, u64 value of the last block
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const END = 0xffff_ffff_ffff_ffffn;

/** A fresh temporary directory and a function that removes it. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xrpkv-test-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Compiles bpf/tests/xrp_chain.c into `dir`; returns the object's path. clang is required, as by the Rust tests. */
export function compileChainProgram(dir: string): string {
  const out = join(dir, 'xrp_chain.o');
  const clang = process.env.CLANG ?? 'clang';
  const args = ['-target', 'bpf', '-O2', '-mcpu=v3', '-Wall', '-Werror', '-c', '-I', join(ROOT, 'bpf/include')];
  const r = spawnSync(clang, [...args, join(ROOT, 'bpf/tests/xrp_chain.c'), '-o', out], { encoding: 'utf8' });
  if (r.error) throw new Error(`clang is required (${clang}: ${r.error.message}): run \`bash scripts/setup.sh\``);
  if (r.status !== 0) throw new Error(`clang failed:\n${r.stderr}`);
  return out;
}

export interface Block {
  next: bigint;
  size?: bigint;
  value?: bigint;
  action?: bigint;
}

/** A file of `slots` 4 KiB slots holding `blocks` at their offsets. */
export function writeBlocks(path: string, slots: number, blocks: [offset: number, block: Block][]): string {
  const bytes = Buffer.alloc(slots * 4096);
  for (const [at, b] of blocks) {
    bytes.writeBigUInt64LE(b.next, at);
    bytes.writeBigUInt64LE(b.size ?? 0n, at + 8);
    bytes.writeBigUInt64LE(b.value ?? 0n, at + 16);
    bytes.writeBigUInt64LE(b.action ?? 0n, at + 24);
  }
  writeFileSync(path, bytes);
  return path;
}

/** xorshift64*, so every failure replays. */
export function rng(seed: number): (below: number) => number {
  let s = BigInt(seed) || 1n;
  const mask = (1n << 64n) - 1n;
  return (below) => {
    s ^= s >> 12n;
    s ^= (s << 25n) & mask;
    s ^= s >> 27n;
    return Number(((s * 0x2545f4914f6cdd1dn) & mask) % BigInt(below));
  };
}

/**
 * A chain of `n` blocks through a file of `n` slots in shuffled order, block i
 * (from 0) holding value i + 1 and asking for a next read of `size`.
 */
export function shuffledChain(path: string, n: number, seed: number, size = 4096n): { path: string; first: number; order: number[] } {
  const order = Array.from({ length: n }, (_, i) => i * 4096);
  const below = rng(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = below(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const blocks = order.map((at, i): [number, Block] => [
    at,
    { next: i + 1 < n ? BigInt(order[i + 1]!) : END, size, value: BigInt(i + 1) },
  ]);
  writeBlocks(path, n, blocks);
  return { path, first: order[0]!, order };
}

/** What the chain program counted in scratch: [sum, blocks, last]. */
export function tally(scratch: Buffer): [bigint, bigint, bigint] {
  return [scratch.readBigUInt64LE(0), scratch.readBigUInt64LE(8), scratch.readBigUInt64LE(16)];
}

/**
 * Child processes run the compiled dist/: fail clearly when it is older than
 * src/ (rebuild with `npm run build`) rather than test stale code.
 */
export function requireFreshDist(): void {
  const src = join(ROOT, 'src');
  for (const name of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
    const js = join(ROOT, 'dist', name.replace(/\.ts$/, '.js'));
    if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(src, name)).mtimeMs) {
      throw new Error(`dist/ is older than src/${name}: run \`npm run build\` (or \`node scripts/build.mjs ts\`) first`);
    }
  }
}

/** Runs `node` with `args` in the repository, waiting for it to exit. */
export function node(args: string[], input?: string): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', input, timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}
