// A checkpoint that writes wait for only briefly: the log, as of one
// commit, folded into the tree while later commits go on to the log.
//
// When the log fills (writer.ts), the writer starts a fold of the log as of
// its newest commit F. The fold puts each logged key's version as of F into
// a tree transaction (tx.ts), in slices, between which log commits go on
// preparing and publishing as usual: the log may hold up to twice its
// bounds meanwhile. Then, in one commit the writer prepares alone, the
// transaction moves on top of the newest commit (`WriteTx.rebase`), frees
// F's log pages and commits: its meta keeps the log commits after F, whose
// pages stay the log, and their changes, which went into a new overlay
// (`left`) as well as the store's as they were prepared, become the log's
// overlay. A checkpoint of
// 100,000 logged keys stopped writes for about 450 ms, its fold 330 of them.
//
// Why it is safe:
// - the fold reads the tree at F's root, which log commits never change,
//   and the log's newest versions at F, whose places in the overlay's
//   arena it notes at the start (`Overlay.note`): the arena only grows;
// - it takes no page before the rebase: only `commit` allocates, and then
//   from the freelist and file as the log commits have left them; what it
//   freed before is released under the txid it commits as, so no snapshot
//   of the log commits in between loses a page it reads;
// - its meta's log is the chain of the log commits after F: recovery
//   replays exactly their records, on the tree that already holds F's;
// - F's log pages are freed by it, pending until no snapshot older than it
//   remains, as any page a commit replaces;
// - the overlay it leaves (`left`) holds every change of the log commits
//   after F and nothing of F's or older: each such commit put its changes
//   there as it was prepared, the fold's start came after F was prepared,
//   and a commit by another writer abandons the fold (writer.ts). No
//   snapshot reads `left` before the fold has published, on top of all of
//   them, so it keeps no older versions.
import { isPageFailure } from '../errors.js';
import { LogKind, logRecord, type LogRecord } from '../format/log.js';
import type { Meta } from '../format/meta.js';
import type { PreparedCommit } from './commit.js';
import { Overlay, type NewestVersions, type NotedLog } from './overlay.js';
import { eachPaced, type Pace, type Steps } from './pace.js';
import { KeySort } from './sort-keys.js';
import type { StoreState } from './snapshot.js';
import { WriteTx } from './tx.js';

/**
 * A fold's slices (pace.ts), shorter than a commit's: they run between the
 * slices of the commits it goes on beside, and each of those waits for one.
 * `xrpkv serve` under SET (redis-benchmark -P 16 -c 50, 1.4M requests, two
 * runs each): p99 17 and 18 ms with these, 20 and 26 with a commit's 2 ms.
 */
export const FOLD_SLICE_UNITS = 512;
export const FOLD_SLICE_MS = 0.5;

/**
 * Puts `versions` (the log's keys with their newest versions, in key
 * order: keys side by side share their leaf and path, so each page is
 * decoded once) into `tx`, in slices of `pace`; `stop()`, checked per key,
 * ends it early. With `unfolded`, a key whose page cannot be read (damaged,
 * or a failed read) is left out, its index pushed there, and the others go
 * on (a put or remove that fails leaves `tx` as it was: tx.ts); without,
 * that failure ends the fold.
 */
export function fold(versions: NewestVersions, tx: WriteTx, pace: Pace, stop = () => false, unfolded?: number[]): Steps<void> {
  return eachPaced(versions.count, pace, (i) => {
    if (stop()) return;
    const value = versions.value(i);
    try {
      if (value) tx.put(versions.key(i), value);
      else tx.remove(versions.key(i));
    } catch (e) {
      if (unfolded === undefined || !isPageFailure(e)) throw e;
      unfolded.push(i);
    }
  });
}

/**
 * The log records that keep the keys a checkpoint could not fold
 * (`unfolded`, indexes into `versions`) in the log it leaves, each with its
 * newest version and its kind as the tree (which still holds what it held
 * for them) sees it: none for a key the log added and then removed.
 */
export function carried(versions: NewestVersions, unfolded: readonly number[]): LogRecord[] {
  const records: LogRecord[] = [];
  for (const i of unfolded) {
    const value = versions.value(i);
    const held = versions.treeHeld(i);
    if (value === null && !held) continue;
    records.push(logRecord(value === null ? LogKind.Remove : held ? LogKind.Overwrite : LogKind.Insert, versions.key(i), value ?? undefined));
  }
  return records;
}

export class BackgroundFold {
  /** F: the commit whose log this folds. */
  readonly txid: number;
  /** Keys in the log, and its pages, at F: the log may hold as many again while this folds. */
  readonly keys: number;
  readonly logPages: number;
  /** Set when a checkpoint of the whole log makes this one moot: the fold stops, and never commits. */
  abandoned = false;
  /** Settles once the fold has run or failed (set by the writer that runs it); `isFolded` says it ran. */
  folded: Promise<void> = Promise.resolve();
  isFolded = false;
  private readonly base: Meta;
  private readonly overlay: Overlay;
  /** Where the log's keys and their versions at F are, noted at the start. */
  private readonly noted: NotedLog;
  /**
   * The log once this has committed: each log commit after F goes into it
   * as it is prepared (writer.ts), beside the store's overlay, so that the
   * commit, which every write waits for, need not copy them (100 to 280 ms
   * for 200,000 keys under a server's steady writes).
   */
  readonly left: Overlay;
  private readonly tx: WriteTx;

  /** A fold of the log as of `head`, the newest prepared commit (published or not). */
  constructor(
    private readonly state: StoreState,
    head: Meta,
    oldestSnapshot: number,
  ) {
    this.txid = head.txid;
    this.base = head;
    this.overlay = state.overlay;
    this.keys = this.overlay.size;
    this.logPages = head.logPages;
    this.noted = this.overlay.note();
    // The log it leaves fills to as many keys again, and past that while
    // the next fold runs: room for twice as many, so it never doubles
    // (a doubling rehashes every key in one call).
    this.left = new Overlay(2 * this.keys);
    this.tx = new WriteTx(state, oldestSnapshot, this.overlay.delta, { on: head, rebasing: true });
  }

  /**
   * The fold itself, in slices of `pace`, log commits between them: the
   * keys in order (a sort of 100,000 took 40 to 65 ms, too long for one
   * turn), then into the tree.
   */
  *steps(pace: Pace): Steps<void> {
    const { flat, starts, lengths } = yield* this.noted.keysSideBySide(pace);
    const sort = new KeySort(this.noted.count, flat, starts, lengths);
    // A key's share of a radix pass costs about a 64th of a put into the tree.
    while (!sort.run((keys) => pace.due(Math.max(1, keys >> 6)))) yield;
    yield* fold(this.noted.inOrder(sort.order), this.tx, pace, () => this.abandoned);
  }

  /**
   * The fold as a tree commit on top of `head`, the newest commit, which
   * has published (with every log commit since F). Prepared alone: no log
   * commit may take pages meanwhile. In slices of `pace`.
   */
  *commit(head: Meta, oldestSnapshot: number, pace: Pace): Steps<PreparedCommit> {
    const { state } = this;
    if (state.meta !== head || state.overlay !== this.overlay || state.logPages.length !== head.logPages) {
      throw new Error('internal error: a fold committed on top of a commit not published, or after another checkpoint');
    }
    this.tx.rebase(head, oldestSnapshot);
    this.tx.discard(state.logPages.slice(0, this.logPages));
    const pageList = state.logPages.slice(this.logPages);
    const left = {
      log: pageList.length > 0 ? head.log : 0,
      logPages: pageList.length,
      pageList,
      overlay: this.left,
    };
    this.left.delta = head.entries - this.base.entries;
    // The fold has read all it noted: its buffer serves the next fold's note.
    this.left.reuseForNote(this.noted.buffer);
    return yield* this.tx.commit(pace, left);
  }
}
