// How the store commands print keys and values, and a stdout writer that
// keeps up with a slow reader (`xrpkv scan | less`).
//
// Text output: a string as it is; bytes (binary encodings, Buffer keys) as
// UTF-8 when they are valid UTF-8, else as 0x and hex digits (with --hex:
// always hex, no 0x); anything else (numbers, objects from msgpack or json)
// as JSON. JSON output: bytes become a `keyHex` / `valueHex` field when they
// are not valid UTF-8 or --hex is given, so a script can always tell.
import { isUtf8 } from 'node:buffer';
import { once } from 'node:events';

/** JSON, with bigints (ordered-binary keys can be bigints) as decimal strings. */
export function toJson(x: unknown): string {
  return JSON.stringify(x, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

const bytesOf = (x: Uint8Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

export function printable(x: unknown, hex: boolean): string {
  if (typeof x === 'string') return x;
  if (x instanceof Uint8Array) {
    const b = bytesOf(x);
    if (hex) return b.toString('hex');
    return isUtf8(b) ? b.toString('utf8') : `0x${b.toString('hex')}`;
  }
  return toJson(x);
}

/** `x` as the field `name` of a JSON object (or `nameHex` for bytes, as above). */
export function jsonEntry(name: string, x: unknown, hex: boolean): [string, unknown] {
  if (x instanceof Uint8Array) {
    const b = bytesOf(x);
    return hex || !isUtf8(b) ? [`${name}Hex`, b.toString('hex')] : [name, b.toString('utf8')];
  }
  return [name, typeof x === 'bigint' ? x.toString() : x];
}

export function entryJson(fields: [string, unknown][]): string {
  return toJson(Object.fromEntries(fields));
}

/** Lines to stdout in 64 KiB writes, waiting for the reader when it falls behind. */
export class Output {
  private pending = '';
  constructor(private readonly stream: NodeJS.WritableStream = process.stdout) {}

  async line(text: string): Promise<void> {
    this.pending += text + '\n';
    if (this.pending.length >= 65536) await this.flush();
  }

  async flush(): Promise<void> {
    const chunk = this.pending;
    this.pending = '';
    if (chunk && !this.stream.write(chunk)) await once(this.stream, 'drain');
  }
}

/** `xrpkv scan | head` closes the pipe early: that ends the command quietly, not with a stack trace. */
export function quietOnBrokenPipe(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    console.error(`xrpkv: cannot write the output: ${e.message}`);
    process.exit(1);
  });
}
