// The bytes a connection will send next: replies are encoded into one
// reusable scratch buffer, and a send takes them out as one Buffer. Under a
// pipeline that is one socket write for many replies, without a JS string
// per reply (a latin1 string per value, then a flattened string per write,
// cost more than the copies). Values too large for the scratch buffer are
// not copied into it: they are sent as they are, between its bytes.
import type { Reply } from './resp-writer.js';

/** Bytes of scratch a connection starts with, and keeps between sends; a longer pipeline grows it for the time of one send. */
const SCRATCH = 4096;
/** Buffers longer than this are sent as they are rather than copied. */
const COPY_LIMIT = 16 * 1024;
const CR = 13;
const LF = 10;
const DOLLAR = 36;

export class ReplyBuffer {
  /** Allocated on the first reply: a connection that only sends commands holds none. */
  private scratch: Buffer | undefined;
  private length = 0;
  /** Whole Buffers and copies of the scratch bytes before them, in order, when a large value came. */
  private parts: Buffer[] = [];
  private partsBytes = 0;

  get empty(): boolean {
    return this.length === 0 && this.parts.length === 0;
  }

  /** Bytes appended and not yet taken. */
  get size(): number {
    return this.length + this.partsBytes;
  }

  append(reply: Reply): void {
    if (typeof reply === 'string') this.appendString(reply);
    else this.appendBytes(reply);
  }

  /** A bulk string reply of `value`: `$<length>\r\n<value>\r\n`. */
  appendBulk(value: Buffer): void {
    const n = value.length;
    const out = this.reserve(n <= COPY_LIMIT ? n + 24 : 24);
    let at = this.length;
    out[at++] = DOLLAR;
    at = writeDecimal(out, at, n);
    out[at++] = CR;
    out[at++] = LF;
    this.length = at;
    this.appendBytes(value);
    this.appendString('\r\n');
  }

  /** Everything appended since the last take, as one Buffer; undefined when nothing was. */
  take(): Buffer | undefined {
    this.seal();
    if (this.scratch !== undefined && this.scratch.length > SCRATCH) this.scratch = undefined;
    const parts = this.parts;
    if (parts.length === 0) return undefined;
    this.parts = [];
    this.partsBytes = 0;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** Moves the scratch bytes into `parts`, as a copy: the scratch buffer is reused. */
  private seal(): void {
    const n = this.length;
    if (n === 0) return;
    const copy = Buffer.allocUnsafe(n);
    this.scratch!.copy(copy, 0, 0, n);
    this.parts.push(copy);
    this.partsBytes += n;
    this.length = 0;
  }

  /** Drops what was not taken, and the scratch buffer (the connection is gone). */
  clear(): void {
    this.scratch = undefined;
    this.length = 0;
    this.parts = [];
    this.partsBytes = 0;
  }

  private appendString(s: string): void {
    const n = s.length;
    const out = this.reserve(n);
    let at = this.length;
    if (n <= 32) {
      // Replies are latin1 strings (one byte per character); short ones, the usual, are cheaper copied here than through a native call.
      for (let i = 0; i < n; i++) out[at++] = s.charCodeAt(i);
    } else {
      at += out.write(s, at, n, 'latin1');
    }
    this.length = at;
  }

  private appendBytes(b: Buffer): void {
    const n = b.length;
    if (n > COPY_LIMIT) {
      this.seal();
      this.parts.push(b);
      this.partsBytes += n;
      return;
    }
    const out = this.reserve(n);
    if (n <= 32) for (let i = 0; i < n; i++) out[this.length + i] = b[i]!;
    else b.copy(out, this.length);
    this.length += n;
  }

  /** The scratch buffer with room for `n` more bytes. */
  private reserve(n: number): Buffer {
    const need = this.length + n;
    const scratch = this.scratch;
    if (scratch !== undefined && need <= scratch.length) return scratch;
    const grown = Buffer.allocUnsafe(Math.max(SCRATCH, need, 2 * (scratch?.length ?? 0)));
    if (scratch !== undefined) scratch.copy(grown, 0, 0, this.length);
    this.scratch = grown;
    return grown;
  }
}

/** Writes `n` (a non-negative integer) in decimal at `at`; returns the index after it. */
function writeDecimal(out: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let m = n; m >= 10; m = Math.floor(m / 10)) digits++;
  for (let i = at + digits - 1, m = n; i >= at; i--, m = Math.floor(m / 10)) out[i] = 48 + (m % 10);
  return at + digits;
}
