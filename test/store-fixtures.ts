// Helpers of the store tests: temporary databases and a look at the file's
// pages without the store (to find pages to damage).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pickMeta, type Meta } from '../src/format/meta.js';
import { PageType, decodeBranch, decodeLeaf, readHeader } from '../src/format/page.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The meta in use and the tree's pages by level, read straight from the file. */
export function layout(path: string, pageSize: number): { meta: Meta; levels: number[][]; firstKey: (pageNo: number) => Buffer } {
  const file = readFileSync(path);
  const page = (n: number) => file.subarray(n * pageSize, (n + 1) * pageSize);
  const meta = pickMeta([page(0), page(1)]);
  const levels: number[][] = [];
  let level = meta.root ? [meta.root] : [];
  while (level.length > 0) {
    levels.push(level);
    level = level.flatMap((n) => (readHeader(page(n)).type === PageType.Branch ? decodeBranch(page(n), n).children : []));
  }
  return { meta, levels, firstKey: (n) => Buffer.from(decodeLeaf(page(n), n).keys[0]) };
}

/** Throws unless dist/ holds the store compiled from the current sources (child processes run it). */
export function requireFreshStore(): void {
  for (const dir of ['', 'store']) {
    const src = join(ROOT, 'src', dir);
    for (const name of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
      const js = join(ROOT, 'dist', dir, name.replace(/\.ts$/, '.js'));
      if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(src, name)).mtimeMs) {
        throw new Error(`dist/ is older than src/${join(dir, name)}: run \`node scripts/build.mjs ts\` first`);
      }
    }
  }
}

export const DIST_INDEX = join(ROOT, 'dist', 'index.js');

/** mulberry32: a small, fast, seeded generator of integers below `n`, so failures replay. */
export function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

export type RandomOp = { type: 'put'; key: Buffer; value: Buffer } | { type: 'del'; key: Buffer };

/**
 * `length` random batch operations on `keys`, one in `deleteOneIn` a delete,
 * applied to `oracle` (keyed by hex) as they are drawn.
 */
export function randomOps(
  rnd: (n: number) => number,
  length: number,
  keys: Buffer[],
  value: () => Buffer,
  oracle: Map<string, Buffer>,
  deleteOneIn: number,
): RandomOp[] {
  return Array.from({ length }, (): RandomOp => {
    const key = keys[rnd(keys.length)];
    if (rnd(deleteOneIn) === 0) {
      oracle.delete(key.toString('hex'));
      return { type: 'del', key };
    }
    const v = value();
    oracle.set(key.toString('hex'), v);
    return { type: 'put', key, value: v };
  });
}
