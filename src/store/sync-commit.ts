// A prepared commit written in this turn, for the synchronous writes
// (writer.ts `commitSync`), by the same protocols as the addon's jobs
// (docs/FORMAT.md, "Meta pages"): a tree commit writes its pages, syncs,
// writes its meta and syncs; a log commit writes its pages and its meta
// and syncs once (opening checks the meta's `newLogSum` against the pages).
// The writer calls it only when no commit is in flight, so nothing else
// writes the file meanwhile.
import { encodeMeta, metaPageOf } from '../format/meta.js';
import type { PreparedCommit } from './commit.js';
import type { Pager } from './pager.js';

/** Durable when it returns (unsynced when the store's `sync` is off); throws the system's error when a write or sync fails. */
export function writeCommitSync(pager: Pager, commit: PreparedCommit): void {
  const order = [...commit.pages.keys()].sort((a, b) => a - b);
  for (const pageNo of order) pager.writeSync(pageNo, commit.pages.get(pageNo)!);
  if (commit.protocol === 'tree') pager.flushSync();
  pager.writeSync(metaPageOf(commit.meta.txid), encodeMeta(commit.meta));
  pager.flushSync();
}
