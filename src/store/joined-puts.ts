// The puts of one event-loop turn (db.put, db.putJoined): one packed batch,
// one commit, one promise for the whole of it. Each put is still a write of
// its own: one whose page is damaged fails alone, and the writer records
// why in `packed.failures` by the put's index (ops.ts, applyPacked).
//
// `put` hands each caller a promise of its own (`done.then(each)`); a caller
// that answers many puts at once (the server's SETs) takes the batch itself
// and reads each put's outcome by its index once `done` has settled, with
// no promise per put.
import type { PackedOps } from './packed.js';

/** What `Database.putJoined` hands back: the same object for every put of one batch. */
export interface JoinedPuts {
  /**
   * Settles once the commit holding the batch is durable; rejects if that
   * commit failed (then every put of it failed, with that error).
   */
  readonly done: Promise<unknown>;
  /** Puts in the batch so far: the one just joined is at `count - 1`. */
  readonly count: number;
  /** Once `done` has resolved: puts that failed alone. */
  readonly failed: number;
  /** Once `done` has resolved: why put `index` failed alone, undefined if it committed. */
  failure(index: number): unknown;
}

export class OpenPuts implements JoinedPuts {
  /**
   * The fulfilment handler that gives each put's own promise its outcome:
   * `put` returns `done.then(each)`, and reactions run in the order they
   * were added, so the handler's n-th call is for the n-th put that asked
   * for a promise. Other reactions on `done` (putJoined's callers') call
   * other handlers and do not count.
   */
  readonly each: () => void;
  /**
   * The index of each put that asked for a promise, in order; undefined
   * while every put has (the n-th is then at index n), which is the case
   * unless putJoined and put were mixed in one turn.
   */
  private promised: number[] | undefined;
  private calls = 0;

  constructor(
    readonly packed: PackedOps,
    readonly done: Promise<unknown>,
  ) {
    this.each = () => {
      const n = this.calls++;
      const failure = packed.failures?.get(this.promised === undefined ? n : this.promised[n]!);
      if (failure !== undefined) throw failure;
    };
  }

  get count(): number {
    return this.packed.count;
  }

  get failed(): number {
    return this.packed.failures?.size ?? 0;
  }

  failure(index: number): unknown {
    return this.packed.failures?.get(index);
  }

  /** The promise of the put just joined (at `count - 1`): resolves once durable, rejects if it failed. */
  promiseOfLast(): Promise<void> {
    this.promised?.push(this.packed.count - 1);
    return this.done.then(this.each) as Promise<void>;
  }

  /** The put just joined asked for no promise (putJoined). */
  joinedLast(): void {
    this.promised ??= Array.from({ length: this.packed.count - 1 }, (_, i) => i);
  }
}
