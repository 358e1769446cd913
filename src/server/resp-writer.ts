// The reply side of the Redis protocol, RESP2 and RESP3 (chosen per
// connection with HELLO). A reply is its encoded bytes: a string holding
// bytes one per character (latin1), or a Buffer for large binary values.
// Strings keep the common small replies cheap: V8 joins them without copying,
// and a connection turns everything it sends in one go into one Buffer.

export type Reply = string | Buffer;
export type Protocol = 2 | 3;

export const OK = '+OK\r\n';
export const PONG = '+PONG\r\n';

/** Values at most this long are inlined into latin1 strings; longer ones stay Buffers. */
const INLINE_VALUE = 1024;
const CRLF = '\r\n';

const oneLine = (s: string) => s.replace(/[\r\n]+/g, ' ');

export function simple(s: string): string {
  return `+${oneLine(latin1(s))}\r\n`;
}

/** An error reply; `message` starts with its code (`ERR ...`, `WRONGTYPE ...`, `NOAUTH ...`). */
export function error(message: string): string {
  return `-${oneLine(latin1(message))}\r\n`;
}

export function integer(n: number | bigint): string {
  return `:${n}\r\n`;
}

/** A bulk string: bytes as they are, or a JS string as UTF-8. */
export function bulk(v: Buffer | string): Reply {
  const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
  if (b.length <= INLINE_VALUE) return `$${b.length}\r\n${b.toString('latin1')}\r\n`;
  return Buffer.concat([Buffer.from(`$${b.length}\r\n`, 'latin1'), b, Buffer.from(CRLF, 'latin1')]);
}

/** A missing value: RESP3 null, RESP2 null bulk string. */
export function nil(proto: Protocol): string {
  return proto === 3 ? '_\r\n' : '$-1\r\n';
}

/** A value or nil. */
export function bulkOrNil(v: Buffer | undefined, proto: Protocol): Reply {
  return v === undefined ? nil(proto) : bulk(v);
}

export function array(items: readonly Reply[]): Reply {
  return join(`*${items.length}\r\n`, items);
}

/** An out-of-band message (Pub/Sub): RESP3 push `>`, RESP2 an array. */
export function push(items: readonly Reply[], proto: Protocol): Reply {
  return proto === 3 ? join(`>${items.length}\r\n`, items) : array(items);
}

/** A map: RESP3 `%`, RESP2 a flat array of keys and values. */
export function map(entries: readonly (readonly [Reply, Reply])[], proto: Protocol): Reply {
  const head = proto === 3 ? `%${entries.length}\r\n` : `*${entries.length * 2}\r\n`;
  return join(head, entries.flat());
}

/** A set: RESP3 `~`, RESP2 an array. */
export function set(items: readonly Reply[], proto: Protocol): Reply {
  return proto === 3 ? join(`~${items.length}\r\n`, items) : array(items);
}

/** Text for people (INFO): RESP3 verbatim string `txt`, RESP2 bulk string. */
export function verbatim(text: string, proto: Protocol): Reply {
  if (proto === 2) return bulk(text);
  const b = Buffer.from(`txt:${text}`, 'utf8');
  return `=${b.length}\r\n${b.toString('latin1')}\r\n`;
}

/** A double as Redis 7.0 prints it ("%.17g", inf, -inf): a RESP3 double, or a RESP2 bulk string. */
export function double(d: number, proto: Protocol): string {
  const text = formatDouble(d);
  return proto === 3 ? `,${text}\r\n` : `$${text.length}\r\n${text}\r\n`;
}

/** C's "%.17g" of `d` (Redis's text for a score), with inf and -inf. */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return '0';
  const [mantissa, exp] = d.toExponential(16).split('e') as [string, string];
  const x = Number(exp);
  if (x < -4 || x >= 17) {
    const m = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    return `${m}e${x < 0 ? '-' : '+'}${String(Math.abs(x)).padStart(2, '0')}`;
  }
  const fixed = d.toFixed(16 - x);
  return fixed.includes('.') ? fixed.replace(/0+$/, '').replace(/\.$/, '') : fixed;
}

/** A RESP3 null array answer (EXEC aborted, LPOP with a count on no key): RESP2's null array. */
export function nullArray(proto: Protocol): string {
  return proto === 3 ? '_\r\n' : '*-1\r\n';
}

/**
 * A list of strings as an array of bulk strings. Byte values are written
 * straight into one Buffer: a string per element and their joining were
 * most of a long LRANGE's reply.
 */
/** A HELP reply: its lines as simple strings, as Redis's addReplyHelp sends them. */
export function helpLines(lines: readonly string[]): Reply {
  return array(lines.map((line) => simple(line)));
}

export function bulks(values: readonly (Buffer | string)[]): Reply {
  let size = 0;
  for (const v of values) {
    if (typeof v === 'string') return array(values.map(bulk));
    size += v.length + decimalLength(v.length) + 3 + 2;
  }
  const head = `*${values.length}\r\n`;
  const out = Buffer.allocUnsafe(head.length + size);
  let at = out.write(head, 0, 'latin1');
  for (const v of values as readonly Buffer[]) {
    out[at++] = 36; // '$'
    at += out.write(String(v.length), at, 'latin1');
    out[at++] = 13;
    out[at++] = 10;
    out.set(v, at);
    at += v.length;
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
}

/** Digits of a non-negative integer. */
function decimalLength(n: number): number {
  let digits = 1;
  while (n >= 10) {
    n = Math.floor(n / 10);
    digits++;
  }
  return digits;
}

function join(head: string, items: readonly Reply[]): Reply {
  let s = head;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item !== 'string') return Buffer.concat([Buffer.from(s, 'latin1'), ...items.slice(i).map(asBuffer)]);
    s += item;
  }
  return s;
}

export function asBuffer(r: Reply): Buffer {
  return typeof r === 'string' ? Buffer.from(r, 'latin1') : r;
}

/** A JS string as its UTF-8 bytes, one per character (what a Reply string holds). */
function latin1(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s : Buffer.from(s, 'utf8').toString('latin1');
}
