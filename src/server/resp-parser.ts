// The request side of the Redis protocol: a streaming parser of commands,
// either RESP arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what
// every client library sends) or inline commands (`GET k\r\n`, what a person
// types into telnet). Arguments come out as Buffers (binary safe), views of
// the received bytes: no copy for a command that arrived in one chunk.
//
// Parsing resumes where it stopped: an array keeps the elements parsed so
// far, a line the bytes already searched, and chunks wait unjoined until the
// unit they complete (a line, a bulk string) is whole. The work is linear in
// the bytes received, however the input is split: a 1,000,000-element
// command arriving in 64 KiB reads is parsed once, not once per read.
//
// Limits bound what one client can make the server hold: a bulk string
// longer than `maxBulkLen`, an array with more than `maxArrayLen` elements,
// an inline command longer than `maxInlineLen`, or a `*`/`$` header line
// longer than 64 KiB throws a ProtocolError; after one the stream cannot be
// resynchronised, so the server replies with the error and closes the
// connection.

export class ProtocolError extends Error {
  override name = 'ProtocolError';
  constructor(detail: string) {
    super(`Protocol error: ${detail}`);
  }
}

export interface ParserLimits {
  maxBulkLen: number;
  maxArrayLen: number;
  maxInlineLen: number;
}

const CR = 13;
const LF = 10;
const STAR = 42;
const DOLLAR = 36;
/** A `*N` or `$N` header line is never longer than this (Redis's limit too). */
const MAX_HEADER_LINE = 64 * 1024;
/** Arrays up to this long are allocated whole on their header; longer ones grow as their elements come. */
const PREALLOCATE = 1024;

export class RespParser {
  /** Unparsed bytes start at `buf[pos]`; the command in progress, if any, continues there. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks received after `buf` while it held no complete unit; joined to its rest once parsing can progress. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Of `waiting`, the chunks already searched for a line end. */
  private searched = 0;
  /** What parsing waits for: a line of at most `lineMax` bytes from `pos` (when >= 0), else `need` bytes from `pos`. */
  private lineMax = -1;
  private need = 0;
  /** Bytes from `pos` already searched for the end of the line there. */
  private scanned = 0;
  /** The array in progress (its elements are views of the buffers they arrived in): its length, and how many are parsed. */
  private args: Buffer[] | undefined;
  private count = 0;
  private filled = 0;
  /** The length of the bulk string whose `$N` header was parsed (its data starts at `pos`), -1 when none. */
  private bulkLen = -1;
  /** Bytes searched, checked or copied so far: what parsing cost, for tests that it stays linear in the input. */
  examined = 0;

  constructor(public limits: ParserLimits) {}

  /** Bytes received and not yet parsed into commands. */
  get buffered(): number {
    return this.buf.length - this.pos + this.waitingBytes;
  }

  feed(chunk: Buffer): void {
    if (this.pos >= this.buf.length && this.waiting.length === 0) {
      this.buf = chunk;
      this.pos = 0;
      return;
    }
    // Joining on every chunk would copy a large bulk string once per chunk: wait until parsing can progress.
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
  }

  /** Drops everything received and not yet returned (the connection is being dropped). */
  discard(): void {
    this.buf = Buffer.alloc(0);
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
    this.args = undefined;
    this.bulkLen = -1;
    this.scanned = 0;
  }

  /** The next complete command, `undefined` when more bytes are needed; throws ProtocolError. */
  next(): Buffer[] | undefined {
    for (;;) {
      const args = this.parse();
      if (args === undefined) {
        if (!this.canProgress()) return undefined;
        this.join();
        continue;
      }
      // Empty arrays and blank inline lines are skipped, as Redis does.
      if (args.length > 0) return args;
    }
  }

  private parse(): Buffer[] | undefined {
    if (this.args !== undefined) return this.elements();
    if (this.pos >= this.buf.length) return this.wait(1);
    return this.buf[this.pos] === STAR ? this.array() : this.inline();
  }

  /** Whether the waiting chunks hold what parsing waits for. */
  private canProgress(): boolean {
    if (this.waiting.length === 0) return false;
    const have = this.buf.length - this.pos + this.waitingBytes;
    if (this.lineMax < 0) return have >= this.need;
    // Past the longest line allowed: join, so that parsing throws the error.
    if (have > this.lineMax) return true;
    while (this.searched < this.waiting.length) {
      const chunk = this.waiting[this.searched++]!;
      const lf = chunk.indexOf(LF);
      this.examined += lf < 0 ? chunk.length : lf + 1;
      if (lf >= 0) return true;
    }
    return false;
  }

  private join(): void {
    const rest = this.buf.subarray(this.pos);
    if (rest.length === 0 && this.waiting.length === 1) {
      this.buf = this.waiting[0]!;
    } else {
      this.examined += rest.length + this.waitingBytes;
      this.buf = Buffer.concat([rest, ...this.waiting]);
    }
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
    this.searched = 0;
  }

  private wait(bytes: number): undefined {
    this.lineMax = -1;
    this.need = bytes;
    return undefined;
  }

  /**
   * The end of the line starting at `start` (the index of its CR, or of its
   * LF when it has none), or -1 while incomplete. A search resumes where the
   * last one stopped (`scanned`, set only for a line at `pos`), so a line
   * arriving in pieces is searched once.
   */
  private lineEnd(start: number, max: number, what: string): number {
    const buf = this.buf;
    const from = start + this.scanned;
    const lf = buf.indexOf(LF, from);
    if (lf < 0) {
      this.examined += buf.length - from;
      if (buf.length - start > max) throw new ProtocolError(`too big ${what}`);
      this.pos = start;
      this.scanned = buf.length - start;
      this.lineMax = max;
      return -1;
    }
    this.examined += lf + 1 - from;
    if (lf - start > max) throw new ProtocolError(`too big ${what}`);
    this.scanned = 0;
    return lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
  }

  /** The index after the line ending at `end` (its CR, or its LF). */
  private afterLine(end: number): number {
    return end + (this.buf[end] === CR ? 2 : 1);
  }

  /** The decimal integer of `buf[from, to)` (an optional '-', then digits), NaN when it is not one. */
  private integer(from: number, to: number): number {
    const buf = this.buf;
    let i = from;
    const negative = buf[i] === 45;
    if (negative) i++;
    if (i >= to || to - i > 15) return NaN;
    let n = 0;
    for (; i < to; i++) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) return NaN;
      n = n * 10 + d;
    }
    return negative ? -n : n;
  }

  /** A `*N` header; then its elements. */
  private array(): Buffer[] | undefined {
    const end = this.lineEnd(this.pos, MAX_HEADER_LINE, 'mbulk count string');
    if (end < 0) return undefined;
    const count = this.integer(this.pos + 1, end);
    this.pos = this.afterLine(end);
    if (count === -1 || count === 0) return []; // *-1, a null array, or *0: nothing to run
    if (!(count >= 0 && count <= this.limits.maxArrayLen)) throw new ProtocolError('invalid multibulk length');
    // A long array grows as its elements arrive: a header alone costs little.
    this.args = count <= PREALLOCATE ? new Array<Buffer>(count) : [];
    this.filled = 0;
    this.count = count;
    return this.elements();
  }

  /**
   * The elements of the array in progress, from where the last call stopped;
   * the array once complete. What it waits for, it records, with `pos` at
   * the first byte not yet consumed.
   */
  private elements(): Buffer[] | undefined {
    const args = this.args!;
    const count = this.count;
    const buf = this.buf;
    const maxBulkLen = this.limits.maxBulkLen;
    let at = this.pos;
    let len = this.bulkLen;
    this.bulkLen = -1;
    let i = this.filled;
    while (i < count) {
      if (len < 0) {
        if (at >= buf.length) {
          this.pos = at;
          this.filled = i;
          return this.wait(1);
        }
        if (buf[at] !== DOLLAR) throw new ProtocolError(`expected '$', got '${printable(buf[at])}'`);
        const end = this.lineEnd(at, MAX_HEADER_LINE, 'bulk count string');
        if (end < 0) {
          this.filled = i;
          return undefined;
        }
        len = this.integer(at + 1, end);
        if (!(len >= 0 && len <= maxBulkLen)) throw new ProtocolError('invalid bulk length');
        at = end + (buf[end] === CR ? 2 : 1);
      }
      if (buf.length < at + len + 2) {
        this.pos = at;
        this.filled = i;
        this.bulkLen = len;
        return this.wait(len + 2);
      }
      if (buf[at + len] !== CR || buf[at + len + 1] !== LF) throw new ProtocolError('expected CRLF after a bulk string');
      args[i++] = buf.subarray(at, at + len);
      at += len + 2;
      len = -1;
    }
    this.pos = at;
    this.args = undefined;
    return args;
  }

  private inline(): Buffer[] | undefined {
    const start = this.pos;
    const end = this.lineEnd(start, this.limits.maxInlineLen, 'inline request');
    if (end < 0) return undefined;
    const args = splitInline(this.buf.subarray(start, end));
    if (args.length > this.limits.maxArrayLen) throw new ProtocolError('invalid multibulk length');
    this.pos = this.afterLine(end);
    return args;
  }
}

function printable(byte: number): string {
  return byte >= 32 && byte < 127 ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
}

const SPACE = new Set([32, 9, 11, 12, 13]);
const ESCAPES: Record<string, number> = { n: 10, r: 13, t: 9, b: 8, a: 7 };

/**
 * An inline command's arguments: split on blanks; "double quotes" take the
 * escapes \n \r \t \b \a \\ \" and \xHH, 'single quotes' only \'. A closing
 * quote must be followed by a blank or the end.
 */
export function splitInline(line: Buffer): Buffer[] {
  const args: Buffer[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && SPACE.has(line[i])) i++;
    if (i >= n) return args;
    const quote = line[i] === 34 || line[i] === 39 ? line[i] : 0;
    if (!quote) {
      const from = i;
      while (i < n && !SPACE.has(line[i])) i++;
      args.push(line.subarray(from, i));
      continue;
    }
    const bytes: number[] = [];
    i++;
    for (;;) {
      if (i >= n) throw new ProtocolError('unbalanced quotes in request');
      const c = line[i];
      if (c === quote) {
        i++;
        if (i < n && !SPACE.has(line[i])) throw new ProtocolError('unbalanced quotes in request');
        break;
      }
      if (c === 92 && i + 1 < n) {
        const e = line[i + 1];
        if (quote === 39) {
          if (e === 39) {
            bytes.push(39);
            i += 2;
            continue;
          }
        } else if (e === 120 && i + 3 < n && isHex(line[i + 2]) && isHex(line[i + 3])) {
          bytes.push(parseInt(String.fromCharCode(line[i + 2], line[i + 3]), 16));
          i += 4;
          continue;
        } else {
          bytes.push(ESCAPES[String.fromCharCode(e)] ?? e);
          i += 2;
          continue;
        }
      }
      bytes.push(c);
      i++;
    }
    args.push(Buffer.from(bytes));
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
