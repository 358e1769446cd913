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
// - its changes go into the overlay under its txid as it is prepared:
//   readers see the overlay as of the txid they read at, so they see them
//   only once it has published; while a fold runs, into the overlay the
//   fold will leave too;
// - it is prepared in slices of a pace (pace.ts), so a commit of thousands
//   of keys lets the event loop turn, and the commit before it may publish
//   in between: what it reads of the store (the head's meta, the freelist's
//   free pages) no commit but this one changes meanwhile (nothing else
//   prepares, and a log commit frees no page), and it changes nothing a
//   reader sees until its last slice has decided it goes to the log.
import { LogEncoder, LogKind, countDelta, logRecord, logSum } from '../format/log.js';
import type { Meta } from '../format/meta.js';
import type { Overlay } from './overlay.js';
import type { PreparedCommit } from './commit.js';
import type { LogTx } from './log-tx.js';
import { eachPaced, type Pace, type Steps } from './pace.js';
import type { StoreState } from './snapshot.js';

/** Log bytes on disk that force a checkpoint: bounds the file's growth and the replay at open. */
export const LOG_BYTES = 16 << 20;

/** What bounds a log commit. */
export interface LogBounds {
  /** Keys this commit may log. */
  commitKeys: number;
  /** Keys the log may hold, this commit's included (the store's `logLimit`). */
  logKeys: number;
  /** Bytes the log's pages may take, this commit's included (LOG_BYTES). */
  logBytes: number;
  /** The txid of the oldest open snapshot, Infinity when none. */
  oldestSnapshot: number;
  /**
   * The overlay a running fold will leave as the log (fold.ts), which takes
   * every log commit after the fold's as well.
   */
  alsoInto?: Overlay;
}

/**
 * `log`'s changes as a log commit on top of `head` (the meta of the newest
 * prepared commit): undefined when nothing changed, 'checkpoint' when no
 * log can take them (too many keys, a value too long for a record), 'full'
 * when this one cannot (it would grow past its bounds). In slices of `pace`.
 */
export function* prepareLogCommit(state: StoreState, head: Meta, log: LogTx, bounds: LogBounds, pace: Pace): Steps<PreparedCommit | undefined | 'checkpoint' | 'full'> {
  if (log.tooLarge || log.size > bounds.commitKeys) return 'checkpoint';
  if (state.overlay.size + log.size > bounds.logKeys) return 'full';
  const changes = log.recordChanges();
  if (changes.length === 0) return undefined;
  // One record, filled in for each change in turn (LogTx.recordOf).
  const rec = logRecord(LogKind.Remove, Buffer.alloc(0), undefined);
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
  const encoder = new LogEncoder(pageSize, txid, allocate, head.log);
  yield* eachPaced(changes.length, pace, (i) => encoder.add(log.recordOf(changes[i], rec)));
  const { pages, newest } = encoder.finish();
  if ((head.logPages + pages.size) * pageSize > bounds.logBytes) return 'full';
  let delta = 0;
  for (const c of changes) delta += countDelta(log.recordOf(c, rec).kind);
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
  // The horizon as it is now: a snapshot opened later reads at a newer txid,
  // so keeping what this one keeps is never too little.
  const horizon = Math.min(bounds.oldestSnapshot, state.meta.txid);
  const { overlay } = state;
  const { alsoInto } = bounds;
  overlay.reserve(overlay.size + changes.length);
  alsoInto?.reserve(alsoInto.size + changes.length);
  yield* eachPaced(changes.length, pace, (i) => {
    overlay.applyRecord(log.recordOf(changes[i], rec), txid, horizon);
    // No snapshot will read an older version there: the first to read it
    // opens once the fold has published, on top of this commit.
    alsoInto?.applyRecord(rec, txid, Infinity);
  });
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
