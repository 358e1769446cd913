// A commit as either builder prepares it for the write queue (writer.ts): a
// tree commit (tx.ts, `WriteTx.commit`: a checkpoint) or a log commit
// (log-commit.ts). The writer hands its pages and meta to the pager by its
// protocol (pager.ts `treeCommit` / `logCommit`; docs/FORMAT.md "Meta
// pages") and publishes it once that has resolved, that is once it is durable.
import type { Meta } from '../format/meta.js';

export interface PreparedCommit {
  /**
   * How it reaches the disk. `tree`: its pages, a sync, its meta, a sync;
   * it replaces the freelist and empties the log when it publishes, so the
   * writer prepares nothing on top of it until then. `log`: its log pages
   * and its meta, one sync; it frees no page, so the next commit may be
   * prepared on top of it before it is durable.
   */
  protocol: 'tree' | 'log';
  /** Page number -> bytes, all written before the meta. */
  pages: Map<number, Buffer>;
  meta: Meta;
  /** Makes it what snapshots opened from now on see; called once, when it is durable. */
  publish(): void;
}
