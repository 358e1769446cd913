// The request side of the Redis protocol: a streaming parser of commands,
// either RESP arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what
// every client library sends) or inline commands (`GET k\r\n`, what a person
// types into telnet). Arguments come out as Buffers (binary safe), views of
// the received bytes: no copy for a command that arrived in one chunk.
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

export class RespParser {
  /** Unparsed bytes start at `buf[pos]`. */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** Chunks received while a known-size command is still incomplete; joined once it can be. */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  /** Bytes the buffer must hold (from `pos`) before parsing can progress. */
  private need = 0;

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
    // Joining on every chunk would make a large bulk string cost O(n²): wait for enough.
    this.waiting.push(chunk);
    this.waitingBytes += chunk.length;
    if (this.buf.length - this.pos + this.waitingBytes >= this.need) this.join();
  }

  private join(): void {
    this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.waiting]);
    this.pos = 0;
    this.waiting = [];
    this.waitingBytes = 0;
  }

  /** The next complete command, `undefined` when more bytes are needed; throws ProtocolError. */
  next(): Buffer[] | undefined {
    if (this.waiting.length > 0) {
      if (this.buffered < this.need) return undefined;
      this.join();
    }
    for (;;) {
      if (this.pos >= this.buf.length) return undefined;
      const start = this.pos;
      const args = this.buf[start] === STAR ? this.array(start) : this.inline(start);
      if (args === undefined) return undefined;
      // Empty arrays and blank inline lines are skipped, as Redis does.
      if (args.length > 0) return args;
    }
  }

  /** The end of the line starting at `from` (index of its CR), or -1 while incomplete. */
  private lineEnd(from: number, max: number, what: string): number {
    const buf = this.buf;
    const lf = buf.indexOf(LF, from);
    if (lf < 0) {
      if (buf.length - from > max) throw new ProtocolError(`too big ${what}`);
      this.need = buf.length - this.pos + 1;
      return -1;
    }
    if (lf - from > max) throw new ProtocolError(`too big ${what}`);
    return lf > from && buf[lf - 1] === CR ? lf - 1 : lf;
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

  private array(start: number): Buffer[] | undefined {
    const buf = this.buf;
    const { maxArrayLen, maxBulkLen } = this.limits;
    let end = this.lineEnd(start + 1, MAX_HEADER_LINE, 'mbulk count string');
    if (end < 0) return undefined;
    const count = this.integer(start + 1, end);
    if (count === -1) return this.consumed(end, []); // *-1: a null array, nothing to run
    if (!(count >= 0 && count <= maxArrayLen)) throw new ProtocolError('invalid multibulk length');
    let at = end + (buf[end] === CR ? 2 : 1);
    const args: Buffer[] = new Array(count);
    for (let i = 0; i < count; i++) {
      if (at >= buf.length) return this.incomplete(at + 1);
      if (buf[at] !== DOLLAR) throw new ProtocolError(`expected '$', got '${printable(buf[at])}'`);
      end = this.lineEnd(at + 1, MAX_HEADER_LINE, 'bulk count string');
      if (end < 0) return undefined;
      const len = this.integer(at + 1, end);
      if (!(len >= 0 && len <= maxBulkLen)) throw new ProtocolError('invalid bulk length');
      const data = end + (buf[end] === CR ? 2 : 1);
      if (buf.length < data + len + 2) return this.incomplete(data + len + 2);
      if (buf[data + len] !== CR || buf[data + len + 1] !== LF) throw new ProtocolError('expected CRLF after a bulk string');
      args[i] = buf.subarray(data, data + len);
      at = data + len + 2;
    }
    this.pos = at;
    this.need = 0;
    return args;
  }

  private incomplete(needUpTo: number): undefined {
    this.need = needUpTo - this.pos;
    return undefined;
  }

  private consumed(end: number, args: Buffer[]): Buffer[] {
    this.pos = end + (this.buf[end] === CR ? 2 : 1);
    this.need = 0;
    return args;
  }

  private inline(start: number): Buffer[] | undefined {
    const end = this.lineEnd(start, this.limits.maxInlineLen, 'inline request');
    if (end < 0) return undefined;
    const args = splitInline(this.buf.subarray(start, end));
    if (args.length > this.limits.maxArrayLen) throw new ProtocolError('invalid multibulk length');
    return this.consumed(end, args);
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
