// Helpers of the store tests: temporary databases and a look at the file's
// pages without the store (to find pages to damage).
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync, writeSync } from 'node:fs';
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

/**
 * Seeds for a randomized test: `fallback`, or the environment variable
 * `variable` as N or N-M (a longer search by hand); anything else is an
 * error, so that a typo cannot run no seed and pass.
 */
export function seedsFrom(variable: string, fallback: string): number[] {
  const text = process.env[variable] ?? fallback;
  const [from, to = from] = text.split('-').map(Number) as [number, number?];
  if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`${variable} must be N or N-M, got ${JSON.stringify(text)}`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

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

/** A seeded generator of fractions in [0, 1): `random`'s over 2^32. */
export function fractions(seed: number): () => number {
  const next = random(seed);
  return () => next(2 ** 32) / 2 ** 32;
}

/**
 * `count` random binary keys of 1 to 24 bytes, one in seven up to `maxKey`
 * bytes; their first two bytes take four values each, so keys share
 * prefixes and branch separators get long.
 */
export function randomKeys(rnd: (n: number) => number, count: number, maxKey: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => {
    const len = 1 + (i % 7 === 0 ? rnd(maxKey) : rnd(24));
    const k = Buffer.alloc(len);
    for (let j = 0; j < len; j++) k[j] = j < 2 ? rnd(4) : rnd(256);
    return k;
  });
}

/** `items` shuffled by `rnd` (Fisher-Yates), a new array. */
export function shuffled<T>(items: T[], rnd: (n: number) => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rnd(i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** XORs a byte of page `pageNo` (past its checksum): its checksum no longer matches. */
export function damagePage(path: string, pageNo: number, pageSize: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, pageNo * pageSize + 100);
  b[0] ^= 0x5a;
  writeSync(fd, b, 0, 1, pageNo * pageSize + 100);
  closeSync(fd);
}

/**
 * Runs `read` on every turn of the event loop from the next one until `db`
 * hands a tree commit's pages to its pager (the commit is prepared then, and
 * not yet durable): how many turns it ran on, and what it answered, each
 * answer once. Reaches into the handle for its pager.
 */
export function readEachTurn(db: object, read: () => string): { turns: number; seen: Set<string> } {
  type Commit = (pages: Map<number, Buffer>, meta: Meta) => Promise<void>;
  const pager = (db as { state: { pager: { treeCommit: Commit } } }).state.pager;
  const commit = pager.treeCommit.bind(pager);
  let writing = false;
  pager.treeCommit = (...args) => ((writing = true), commit(...args));
  const result = { turns: 0, seen: new Set<string>() };
  const tick = () => {
    if (writing) return;
    result.turns++;
    result.seen.add(read());
    setImmediate(tick);
  };
  setImmediate(tick);
  return result;
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

/** The writer's background fold of a full log (src/store/fold.ts), if one runs. */
export function foldOf(db: object): { txid: number; keys: number; folded: Promise<void>; isFolded: boolean } | undefined {
  return (db as { writer: { folding?: { txid: number; keys: number; folded: Promise<void>; isFolded: boolean } } }).writer.folding;
}

/**
 * Waits for the background fold of a full log to finish folding, then
 * lands it with a write that changes nothing (the remove of a key that is
 * not there): a fold commits only while writes are prepared (writer.ts).
 */
export async function landFold(db: { remove(key: Buffer): Promise<unknown> }): Promise<void> {
  const folding = foldOf(db);
  if (!folding) throw new Error('no fold runs');
  await folding.folded;
  await db.remove(Buffer.from('\xff no such key \xff', 'latin1'));
  if (foldOf(db) === folding) throw new Error('the fold did not commit');
}
