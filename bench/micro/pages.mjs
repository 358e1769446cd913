// Full leaf and branch pages, built with the store's own encoders
// (dist/format/page.js), in the shape bench/store.mjs and bench/peers.mjs
// store: 16-byte keys, 100-byte values. Shared by the node-search and
// vm-lookup suites so both search the same bytes.
import { makeKeys, makeValue } from '../lib/workload.mjs';
import { dist } from './common.mjs';

const page = await dist('format/page.js');
const { HEADER, encodeBranch, encodeLeaf, leafEntrySize, branchEntrySize } = page;

const POOL = 1024;
const pool = makeKeys(POOL);
// Every 2nd key of the pool goes in a page; the others fall between them.
const inPage = (i) => pool(2 * i + 1);
const between = (i) => pool(2 * i);

/** How many entries of `size(i)` bytes fit a page of `p` bytes. */
function fill(p, size) {
  let used = HEADER;
  let n = 0;
  while (n < POOL / 2 && used + size(n) <= p) used += size(n++);
  return n;
}

/**
 * A full leaf of `p` bytes (page number 7) and the keys to search it with:
 * `hits` (in the page), `misses` (between its keys), both cycled by callers.
 */
export function fullLeaf(p) {
  const value = (i) => makeValue(i, 0);
  const n = fill(p, (i) => leafEntrySize(16, value(i), p));
  const keys = Array.from({ length: n }, (_, i) => Buffer.from(inPage(i)));
  const bytes = encodeLeaf(p, 7, 1, keys, keys.map((_, i) => value(i)));
  return { bytes, count: n, keys, hits: keys, misses: Array.from({ length: n }, (_, i) => Buffer.from(between(i))), value };
}

/** A full branch of `p` bytes (page number 3), children 100 + i, and keys between its separators. */
export function fullBranch(p) {
  const n = fill(p, () => branchEntrySize(16));
  const keys = Array.from({ length: n }, (_, i) => Buffer.from(inPage(i)));
  const children = keys.map((_, i) => 100 + i);
  const bytes = encodeBranch(p, 3, 1, keys, children);
  return { bytes, count: n, keys, children, probes: Array.from({ length: n }, (_, i) => Buffer.from(between(i))) };
}
