// A handle's place in the lock file beside its database (`<path>-lock`;
// crates/node/src/reader_table.rs, docs/FORMAT.md "The lock file"): one
// reader slot, the published txid every handle checks before it reads, and
// the write lock, taken per commit (writer.ts).
//
// The slot holds the oldest txid this handle may still read: its oldest
// registered snapshot's, or the txid `pin` took for a read in progress, or
// none. A writer anywhere reuses a page freed by commit T only once every
// slot is at T or later (freelist.ts).
import { statSync } from 'node:fs';
import { native, type ReaderTableHandle } from '../native.js';
import { StoreError, WritesPendingError } from '../errors.js';

/** A live slot of the table: the process, the handle's owner id in it, and the txid it holds (undefined: none). */
export interface ReaderSlot {
  pid: number;
  owner: number;
  txid: number | undefined;
}

/**
 * The files (device:inode) whose write lock a handle of this thread holds.
 * A synchronous wait for a lock this thread holds through another handle
 * would never end: that handle's commit needs this thread's event loop.
 */
const heldHere = new Map<string, ReaderTable>();

export class ReaderTable {
  private handle: ReaderTableHandle | undefined;
  /** Whether this handle holds the write lock. */
  writing = false;
  /** The database file's device:inode. */
  private readonly file: string;

  constructor(readonly path: string) {
    const st = statSync(path);
    this.file = `${st.dev}:${st.ino}`;
    try {
      this.handle = native.storeTableOpen(path);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new StoreError(`${path}: ${(e as Error).message}`, code === 'READERS_FULL' ? 'READERS_FULL' : code === 'LOCK_FILE_INVALID' ? 'LOCK_FILE_INVALID' : 'LOCK_FAILED', { cause: e });
    }
  }

  private get h(): ReaderTableHandle {
    if (!this.handle) throw new StoreError(`${this.path}: the handle's reader slot is closed`, 'CLOSED');
    return this.handle;
  }

  /** The txid of the last commit any handle published. */
  published(): number {
    return native.storeTablePublished(this.h);
  }

  /** Raises the published txid to `txid`: readers everywhere then move to it. */
  publish(txid: number): void {
    native.storeTablePublish(this.h, txid);
  }

  /** Holds the published txid in the slot (safely: see reader_table.rs) and returns it. */
  pin(): number {
    return native.storeTablePin(this.h);
  }

  /** Sets the slot: `txid` (one it has held since without a break, or newer), or undefined for none. */
  hold(txid: number | undefined): void {
    native.storeTableHold(this.h, txid === undefined || txid === Infinity ? -1 : txid);
  }

  /** The oldest txid a live slot anywhere holds; Infinity when none does. Reclaims dead slots. */
  oldest(): number {
    return native.storeTableOldest(this.h);
  }

  /** Takes the write lock without waiting; false when another handle holds it. */
  tryLockWrite(): boolean {
    this.writing = native.storeWriteLock(this.h, false);
    if (this.writing) heldHere.set(this.file, this);
    return this.writing;
  }

  /**
   * Takes the write lock, blocking this thread until it is free; throws
   * WritesPendingError when another handle of this thread holds it.
   */
  lockWriteSync(): void {
    const holder = heldHere.get(this.file);
    if (holder !== undefined && holder !== this) throw new WritesPendingError(this.path, 'another handle on this file, in this thread, is committing: await its flushed first');
    this.writing = native.storeWriteLock(this.h, true);
    heldHere.set(this.file, this);
  }

  /** Flags the slot as waiting for the write lock, or not; taking it clears the flag. */
  waitForWrite(waiting: boolean): void {
    native.storeWriteWaiting(this.h, waiting);
  }

  /** Whether another live handle waits for the write lock. */
  othersWaitForWrite(): boolean {
    return native.storeWriteOthersWaiting(this.h);
  }

  unlockWrite(): void {
    if (!this.writing) return;
    this.writing = false;
    if (heldHere.get(this.file) === this) heldHere.delete(this.file);
    native.storeWriteUnlock(this.h);
  }

  /** This handle's owner id, who last took the write lock, and every live slot. */
  info(): { owner: number; writer: { pid: number; owner: number }; readers: ReaderSlot[] } {
    const [owner, pid, writerOwner, readers] = native.storeTableInfo(this.h);
    return {
      owner,
      writer: { pid, owner: writerOwner },
      readers: readers.map(([p, o, t]) => ({ pid: p, owner: o, txid: t < 0 ? undefined : t })),
    };
  }

  /** Frees the slot and releases the write lock. Idempotent. */
  close(): void {
    if (heldHere.get(this.file) === this) heldHere.delete(this.file);
    if (this.handle) native.storeTableClose(this.handle);
    this.handle = undefined;
    this.writing = false;
  }
}
