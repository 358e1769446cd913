// Argument parsers shared by the CLI's commands (commander calls them; a
// thrown InvalidArgumentError becomes a usage error).
import { existsSync } from 'node:fs';
import { InvalidArgumentError } from 'commander';
import { PAGE_SIZES } from '../format/page.js';

/** `text` as bytes when it is pairs of hex digits (whitespace ignored), else undefined. */
export function hexBytes(text: string): Buffer | undefined {
  const digits = text.replace(/\s+/g, '');
  return /^([0-9a-fA-F]{2})*$/.test(digits) ? Buffer.from(digits, 'hex') : undefined;
}

export function hex(value: string): Buffer {
  const b = hexBytes(value);
  if (!b) throw new InvalidArgumentError('expected an even number of hex digits');
  return b;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** An unsigned 64-bit integer, decimal or 0x-hex. */
export function u64(value: string): bigint {
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(value.trim())) throw new InvalidArgumentError('expected a decimal or 0x-hex integer');
  const n = BigInt(value.trim());
  if (n >= 1n << 64n) throw new InvalidArgumentError('expected an integer below 2^64');
  return n;
}

/** A file offset: a multiple of 512. */
export function offset(value: string): bigint {
  const n = u64(value);
  if (n % 512n !== 0n) throw new InvalidArgumentError('expected a multiple of 512');
  return n;
}

/** A read length: a multiple of 512 from 512 to 4096. */
export function readLength(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 512 || n > 4096 || n % 512 !== 0) {
    throw new InvalidArgumentError('expected a multiple of 512 from 512 to 4096');
  }
  return n;
}

/**
 * `PROG.o:NAME` picks a program by function or section name, and section
 * names hold slashes (`lookup.o:xrp/lookup`): the object is the longest
 * prefix before a colon that is an existing file. When none is, a colon
 * followed by a path is taken as part of the object's name, so the error
 * names the file that is missing.
 */
export function splitSelector(spec: string): [string, string | undefined] {
  if (existsSync(spec)) return [spec, undefined];
  for (let colon = spec.lastIndexOf(':'); colon > 0; colon = spec.lastIndexOf(':', colon - 1)) {
    if (existsSync(spec.slice(0, colon))) return [spec.slice(0, colon), spec.slice(colon + 1)];
  }
  const colon = spec.lastIndexOf(':');
  if (colon <= 0 || spec.slice(colon + 1).includes('/')) return [spec, undefined];
  return [spec.slice(0, colon), spec.slice(colon + 1)];
}

/**
 * A failure the user can fix (a missing database file, a bad argument found
 * after parsing, a bad input line under --strict): the CLI prints its message
 * as one line and exits 1.
 */
export class CliError extends Error {
  override name = 'CliError';
}

/** An integer >= 0. */
export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('expected an integer >= 0');
  return n;
}

/** A page size for a new database file. */
export function pageSize(value: string): number {
  const n = Number(value);
  if (!(PAGE_SIZES as readonly number[]).includes(n)) throw new InvalidArgumentError('expected 512, 1024, 2048 or 4096');
  return n;
}
