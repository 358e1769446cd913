// A log commit (docs/FORMAT.md, "Log pages"; format/log.ts): a small
// commit's changes, each key's state after it, appended to the log as
// records in a few new log pages, the tree untouched. The write queue
// (writer.ts) asks for one when a commit is small enough; this decides
// whether the log can take it, and prepares it as a tree commit is prepared
// (tx.ts): pages, a meta, and what publishing it changes.
//
// Invariants:
// - its pages are free pages (no snapshot can reach them) or appended; the
//   freelist on disk is not rewritten (format/log.ts: the chain wins);
// - it frees no page, so the next commit may be prepared on top of it
//   before it is durable (writer.ts);
// - its changes go into the overlay at once, under its txid: readers see
//   the overlay as of the txid they read at, so they see them only once it
//   has published.
import { countDelta, encodeLog, logSum } from '../format/log.js';
import type { Meta } from '../format/meta.js';
import type { PreparedCommit } from './commit.js';
import type { LogTx } from './log-tx.js';
import type { StoreState } from './snapshot.js';

/** Log bytes on disk that force a checkpoint: bounds the file's growth and the replay at open. */
const LOG_BYTES = 16 << 20;

/** What bounds a log commit. */
export interface LogBounds {
  /** Keys this commit may log. */
  commitKeys: number;
  /** Keys the log may hold, this commit's included (the store's `logLimit`). */
  logKeys: number;
  /** The txid of the oldest open snapshot, Infinity when none. */
  oldestSnapshot: number;
}

/**
 * `log`'s changes as a log commit on top of `head` (the meta of the newest
 * prepared commit): undefined when nothing changed, 'checkpoint' when the
 * log cannot take them (too many keys, a value too long for a record, or
 * the log grown past its bounds).
 */
export function prepareLogCommit(state: StoreState, head: Meta, log: LogTx, bounds: LogBounds): PreparedCommit | undefined | 'checkpoint' {
  if (log.tooLarge || log.size > bounds.commitKeys || state.overlay.size + log.size > bounds.logKeys) return 'checkpoint';
  const records = log.records();
  if (records.length === 0) return undefined;
  const { pageSize } = state;
  const txid = head.txid + 1;
  // Free pages first, as a tree commit takes them. Promoting pages no
  // snapshot can reach any more changes nothing a reader sees.
  const { freelist } = state;
  freelist.promote(bounds.oldestSnapshot);
  let pageCount = head.pageCount;
  let reused = 0;
  const allocate = () => {
    const page = freelist.peek(reused);
    if (page === undefined) return pageCount++;
    reused++;
    state.cache.delete(page);
    return page;
  };
  const { pages, newest } = encodeLog(pageSize, txid, records, allocate, head.log);
  if ((head.logPages + pages.size) * pageSize > LOG_BYTES) return 'checkpoint';
  let delta = 0;
  for (const r of records) delta += countDelta(r.kind);
  const meta: Meta = {
    ...head,
    txid,
    pageCount,
    log: newest,
    logPages: head.logPages + pages.size,
    entries: head.entries + delta,
    newLogPages: pages.size,
    newLogSum: logSum(pages),
  };
  // Taken now: the next commit, prepared before this one publishes, builds
  // on it. The overlay keeps the versions readers see (up to the published
  // txid) besides this commit's.
  freelist.take(reused);
  state.overlay.apply(records, txid, Math.min(bounds.oldestSnapshot, state.meta.txid));
  return {
    protocol: 'log',
    pages,
    meta,
    publish: () => {
      state.meta = meta;
      state.logPages.push(...pages.keys());
    },
  };
}
