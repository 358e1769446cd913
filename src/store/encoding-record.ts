// The key and value encodings a file records in its meta (docs/FORMAT.md,
// "Meta pages", bytes 112 and 113), and what opening makes of them: a file
// that records encodings is read with them, and an explicit option that
// differs is an EncodingMismatchError (reading with the other would misread
// every entry); a file that records none (version 3 or older) is read with
// the options or the defaults, and records the options at its next commit
// when they were given (the defaults are not recorded: they may be a guess). A file records
// each of the two on its own.
import { closeSync, openSync, readSync } from 'node:fs';
import { EncodingMismatchError, UnsupportedError } from '../errors.js';
import { KEY_ENCODING_CODES, VALUE_ENCODING_CODES, probePageSize, validMetas, type Meta } from '../format/meta.js';
import type { KeyEncoding, ValueEncoding } from './encoding.js';
import type { EncodingCodes } from './file.js';

export interface Encodings {
  keyEncoding: KeyEncoding;
  valueEncoding: ValueEncoding;
}

export const DEFAULT_ENCODINGS: Encodings = { keyEncoding: 'ordered-binary', valueEncoding: 'msgpack' };

export function codesOf(e: Encodings): EncodingCodes {
  return { keyEncoding: KEY_ENCODING_CODES[e.keyEncoding], valueEncoding: VALUE_ENCODING_CODES[e.valueEncoding] };
}

function nameOf<N extends string>(codes: Record<N, number>, code: number | undefined, which: string, path: string): N | undefined {
  if (code === undefined) return undefined;
  const name = (Object.keys(codes) as N[]).find((n) => codes[n] === code);
  if (name === undefined) throw new UnsupportedError(`${path} records ${which} code ${code}, which this version of xrpkv does not know`);
  return name;
}

/** The encodings `meta` records; a field is absent when it records none. */
export function recordedEncodings(meta: Meta, path: string): Partial<Encodings> {
  const keyEncoding = nameOf(KEY_ENCODING_CODES, meta.keyEncoding, 'keyEncoding', path);
  const valueEncoding = nameOf(VALUE_ENCODING_CODES, meta.valueEncoding, 'valueEncoding', path);
  return { ...(keyEncoding ? { keyEncoding } : {}), ...(valueEncoding ? { valueEncoding } : {}) };
}

/**
 * The encodings to open `path` with, its meta being `meta`, and the asked
 * ones (explicit options; absent: not asked). `record`: the codes of the
 * asked encodings the meta does not record, for the next commit to record.
 */
export function resolveEncodings(path: string, meta: Meta, asked: Partial<Encodings>): { encodings: Encodings; record: Partial<EncodingCodes> } {
  const recorded = recordedEncodings(meta, path);
  const record: Partial<EncodingCodes> = {};
  for (const which of ['keyEncoding', 'valueEncoding'] as const) {
    const [r, a] = [recorded[which], asked[which]];
    if (r !== undefined && a !== undefined && r !== a) throw new EncodingMismatchError(path, which, r, a);
  }
  if (recorded.keyEncoding === undefined && asked.keyEncoding !== undefined) record.keyEncoding = KEY_ENCODING_CODES[asked.keyEncoding];
  if (recorded.valueEncoding === undefined && asked.valueEncoding !== undefined) record.valueEncoding = VALUE_ENCODING_CODES[asked.valueEncoding];
  return { encodings: { ...DEFAULT_ENCODINGS, ...asked, ...recorded }, record };
}

/**
 * What the file at `path` records, read from its meta pages without opening
 * the store (no lock: a server may hold it). Any valid meta will do: a file
 * never changes its encodings, only gains a record of them. Empty when it
 * records none or is no readable database (opening it then says why).
 */
export function fileEncodings(path: string): Partial<Encodings> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return {};
  }
  try {
    const read = (offset: number, length: number) => {
      const b = Buffer.alloc(length);
      return b.subarray(0, readSync(fd, b, 0, length, offset));
    };
    const p = probePageSize(read);
    if (p === undefined) return {};
    const metas = validMetas([read(0, p), read(p, p)], path);
    const recording = metas.find((m) => m.keyEncoding !== undefined || m.valueEncoding !== undefined);
    return recording ? recordedEncodings(recording, path) : {};
  } catch (e) {
    if (e instanceof UnsupportedError) throw e;
    return {};
  } finally {
    closeSync(fd);
  }
}
