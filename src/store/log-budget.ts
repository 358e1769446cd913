// How many keys the log may hold before a checkpoint, when `logLimit` is
// not given: a share of the tree's size, so that a checkpoint's copy on
// write never needs much more than that share of the file again.
//
// Why: a checkpoint rewrites every leaf a logged key falls in, and the
// pages it replaces stay in use until its meta is durable, so the file must
// hold both copies at once; they become free pages the next commits reuse,
// but the file never shrinks. Random keys spread over the leaves: 65,536 of
// them in a tree of 31,250 leaves (bench:peers, a million 116-byte entries)
// touch 87% of them, and the file ended 1.95x its live bytes (240 MiB, 110
// of them free). Bounding the log by the tree's pages bounds that: K random
// keys rewrite at most K leaves (and their branches), so K <= pages / 8
// keeps the second copy within about an eighth of the tree.
//
// The cost is write amplification: more checkpoints, each rewriting fewer
// pages, as a B+tree committing every batch does (LMDB). An explicit
// `logLimit` is honoured as it is (a caller who wants fewer checkpoints and
// accepts the space). The budget is never below the keys one commit may
// log, so that small trees keep the log, and an empty log takes any commit
// small enough to log (writer.ts): a commit's own size never forces a
// checkpoint it would not have had.
import { META_PAGES } from '../format/page.js';
import type { Meta } from '../format/meta.js';

/** The default `logLimit`, the most keys the log holds whatever the tree's size. */
export const LOG_LIMIT = 65_536;
/** A checkpoint rewrites about 1 / TREE_SHARE of the tree's pages at most, under the default. */
export const TREE_SHARE = 8;

/**
 * Keys the log may hold now: `logLimit` when given, else a share of the
 * pages the tree uses (the file's, less free and log pages), between
 * `floor` (the keys one commit may log) and LOG_LIMIT.
 */
export function logKeyBudget(logLimit: number | undefined, head: Meta, freePages: number, floor: number): number {
  if (logLimit !== undefined) return logLimit;
  const treePages = head.pageCount - META_PAGES - freePages - head.logPages;
  return Math.min(LOG_LIMIT, Math.max(floor, Math.floor(treePages / TREE_SHARE)));
}
