// The store's errors. Every one is a `StoreError` with a `code`; wrong
// argument types are plain `TypeError`s (code ERR_INVALID_ARG_TYPE), as Node's.

export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A page that fails its checksum, type, number or structure checks, or lies beyond the file's end. */
export class CorruptionError extends StoreError {
  override name = 'CorruptionError';
  constructor(
    readonly page: number,
    readonly reason: string,
    readonly path?: string,
  ) {
    super(`${path ? `${path}: ` : ''}page ${page} is corrupt: ${reason}`, 'CORRUPTION');
  }
}

/**
 * A read of the database file that the system refused (EIO from a failing
 * disk, EBADF...): names the file and, when the read was of a page, the
 * page. `errno` and `systemCode` are the system error's (5 and 'EIO'), which
 * is also the `cause`. Nothing was changed by the failed read.
 */
export class ReadFailedError extends StoreError {
  override name = 'ReadFailedError';
  readonly errno: number | undefined;
  readonly systemCode: string | undefined;
  constructor(
    readonly path: string,
    /** The page being read; undefined for a read that is not of one page (the start of the file, probing its page size). */
    readonly page: number | undefined,
    cause: unknown,
  ) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${path}: ${page === undefined ? 'a read' : `reading page ${page}`} failed: ${why}`, 'READ_FAILED', { cause });
    const { errno, code } = (cause ?? {}) as { errno?: unknown; code?: unknown };
    this.errno = typeof errno === 'number' ? Math.abs(errno) : undefined;
    this.systemCode = typeof code === 'string' ? code : undefined;
  }
}

/** Whether `e` is a failure to read a page (damaged, or refused by the system): one write's, not the commit's. */
export function isPageFailure(e: unknown): e is CorruptionError | ReadFailedError {
  return e instanceof CorruptionError || e instanceof ReadFailedError;
}

/** An encoded key longer than the page size allows (FORMAT.md, maxKeyLen). */
export class KeyTooLargeError extends StoreError {
  override name = 'KeyTooLargeError';
  constructor(
    readonly length: number,
    readonly max: number,
  ) {
    super(`the encoded key is ${length} bytes; at most ${max} fit this page size`, 'KEY_TOO_LARGE');
  }
}

/**
 * A key the root database may not store: it starts with the bytes of the
 * space reserved for named databases (src/store/keyspace.ts, `RESERVED`).
 */
export class ReservedKeyError extends StoreError {
  override name = 'ReservedKeyError';
  constructor(readonly prefix: string) {
    super(`keys starting with bytes ${prefix} are reserved for named databases (db.openDB): the root database cannot store them`, 'RESERVED_KEY');
  }
}

/** A value whose encoding is longer than a u32 length field holds. */
export class ValueTooLargeError extends StoreError {
  override name = 'ValueTooLargeError';
  constructor(readonly length: number) {
    super(`the encoded value is ${length} bytes; at most 4294967295 are stored`, 'VALUE_TOO_LARGE');
  }
}

export class DatabaseClosedError extends StoreError {
  override name = 'DatabaseClosedError';
  constructor(readonly path: string) {
    super(`${path}: the database is closed`, 'DATABASE_CLOSED');
  }
}

/**
 * Another handle holds the writer lock. Writers now wait for it (each
 * commit takes it: src/store/write-lock.ts), so nothing the store does
 * throws this; it stays for code that catches it.
 */
export class LockError extends StoreError {
  override name = 'LockError';
  constructor(
    readonly path: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, 'LOCKED', options);
  }
}

/** A write on a handle opened with `readOnly: true`: nothing was written. */
export class ReadOnlyError extends StoreError {
  override name = 'ReadOnlyError';
  constructor(readonly path: string) {
    super(`${path} is open read-only (readOnly: true): open it without readOnly to write`, 'READ_ONLY');
  }
}

/** What this machine or file cannot do: O_DIRECT where the file system refuses it or its block is larger than a page, xrp lookups without the XRP runtime. */
export class UnsupportedError extends StoreError {
  override name = 'UnsupportedError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'UNSUPPORTED', options);
  }
}

/**
 * A synchronous write (`putSync`, `removeSync`, `transactionSync`) issued
 * while an asynchronous commit is being written: it cannot wait for that
 * commit without returning to the event loop, and committing first would
 * reorder writes already issued. Nothing of it was queued; await
 * `db.flushed` and issue it again.
 */
export class WritesPendingError extends StoreError {
  override name = 'WritesPendingError';
  constructor(
    readonly path: string,
    why = 'a commit is being written; a synchronous write must wait for it (await db.flushed first)',
  ) {
    super(`${path}: ${why}`, 'WRITES_PENDING');
  }
}

/**
 * A database file whose recorded key or value encoding is not the one asked
 * for: reading it with the other would misread every entry. `recorded` and
 * `asked` name the encodings; open with the recorded one, or no option.
 */
export class EncodingMismatchError extends StoreError {
  override name = 'EncodingMismatchError';
  constructor(
    readonly path: string,
    readonly which: 'keyEncoding' | 'valueEncoding',
    readonly recorded: string,
    readonly asked: string,
  ) {
    super(`${path} was written with ${which} '${recorded}', not '${asked}': open it with ${which} '${recorded}' (or none, to take the file's)`, 'ENCODING_MISMATCH');
  }
}

/**
 * A commit that failed to reach the disk; the handle then refuses every
 * write (each gets this error) until the database is reopened, which is
 * safe: opening takes what the disk holds (docs/FORMAT.md, "When a commit
 * fails"). `stage` says which step failed: `write` (nothing of the commit
 * was synced: a full disk), `sync` (fdatasync failed: the disk may not hold
 * the commit), or `earlier` (a commit before it failed, so it wrote nothing).
 */
export class WriteFailedError extends StoreError {
  override name = 'WriteFailedError';
  readonly stage: 'write' | 'sync' | 'earlier' | undefined;
  constructor(path: string, cause: unknown) {
    const stage = (cause as { stage?: unknown } | undefined)?.stage;
    const why = cause instanceof Error ? cause.message : String(cause);
    const after =
      stage === 'write'
        ? 'nothing of it was synced, and the database on disk is as the last acknowledged commit left it'
        : stage === 'sync'
          ? 'the disk may not hold it (it was not acknowledged)'
          : 'it was not acknowledged';
    super(`${path}: a commit failed (${why}); ${after}. This handle accepts no more writes: reopen the database to write again (opening reads what the disk holds)`, 'WRITE_FAILED', { cause });
    this.stage = stage === 'write' || stage === 'sync' || stage === 'earlier' ? stage : undefined;
  }
}

export function typeError(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: 'ERR_INVALID_ARG_TYPE' });
}
