// Which keys of the file's one B+tree a handle sees. Named databases
// (`db.openDB`, named-db.ts) live in a space of the tree reserved for them,
// each under a prefix of its own, beside a catalog record that holds its
// encodings (docs/FORMAT.md, "Named databases"):
//
//   catalog record     FF 00 6E 00 name         -> version, keyEncoding, valueEncoding
//   a named key        FF 00 6E 01 name 00 key  -> the value
//
// What must hold:
// - the root database never writes a key in the reserved space (it refuses
//   one: ReservedKeyError) and never sees one (its ranges skip the space,
//   its count leaves it out), so the two never mix;
// - a name is 1 to MAX_NAME_BYTES bytes of UTF-8 without NUL: then no
//   database's prefix is a prefix of another's (each ends at the first NUL
//   after the name), and each one's keys are exactly those that start with
//   its prefix;
// - prefix + key is a key the tree takes: a named database's keys are
//   shorter by the prefix (KeyTooLargeError names its own limit);
// - the server's layout (src/server/layout.ts) keeps its records at FF 00 63
//   ('c') and under FF followed by a letter or FF: none in FF 00 6E.
import { ReservedKeyError } from '../errors.js';
import { compareBytes } from '../format/page.js';
import type { Bounds } from './cursor.js';
import type { Codec } from './encoding.js';

/** Where the reserved space starts, and where it ends (exclusive). */
export const RESERVED = Buffer.from([0xff, 0x00, 0x6e]);
const RESERVED_END = Buffer.from([0xff, 0x00, 0x6f]);
const CATALOG = 0x00;
const DATA = 0x01;
/** The longest name, in bytes of UTF-8. */
export const MAX_NAME_BYTES = 64;

export const isReservedKey = (key: Uint8Array): boolean => key.length >= 3 && key[0] === 0xff && key[1] === 0x00 && key[2] === 0x6e;

/** The reserved space as a cursor's bounds: what the root's count leaves out. */
export const RESERVED_SEGMENT = { start: RESERVED, end: RESERVED_END };

/** The catalog record of `name` (its encodings). */
export function catalogKey(name: Buffer): Buffer {
  return Buffer.concat([RESERVED, Buffer.of(CATALOG), name]);
}

/** The start of the catalog, and its end (exclusive). */
export const CATALOG_START = Buffer.concat([RESERVED, Buffer.of(CATALOG)]);
export const CATALOG_END = Buffer.concat([RESERVED, Buffer.of(CATALOG + 1)]);

/** The prefix of every key of the database `name`. */
export function dataPrefix(name: Buffer): Buffer {
  return Buffer.concat([RESERVED, Buffer.of(DATA), name, Buffer.of(0)]);
}

/** A half-open range of the tree's keys, [from, to); undefined: unbounded. */
export interface Segment {
  from?: Buffer;
  to?: Buffer;
}

/** What a handle sees of the tree: its key codec and the segments its keys lie in, in key order. */
export interface Keyspace {
  keys: Codec;
  /** A range's bound encoded: as `keys.encode`, but a root bound may lie in the reserved space (the segments clip it). */
  bound: (x: unknown) => Buffer;
  segments: readonly Segment[];
}

/** The root database: every key but the reserved space's. */
export function rootKeyspace(keys: Codec): Keyspace {
  const refuse = (b: Uint8Array) => {
    if (isReservedKey(b)) throw new ReservedKeyError(RESERVED.toString('hex'));
    return b;
  };
  return {
    keys: {
      encode: (x) => refuse(keys.encode(x)) as Buffer,
      bytes: (x) => refuse(keys.bytes(x)),
      decode: keys.decode,
    },
    bound: keys.encode,
    segments: [{ to: RESERVED }, { from: RESERVED_END }],
  };
}

/** A named database: the keys under `prefix`, encoded by `keys` (whose limit is the tree's less the prefix). */
export function prefixedKeyspace(keys: Codec, prefix: Buffer, maxKeyLen: number): Keyspace {
  const p = prefix.length;
  const scratch = Buffer.alloc(p + maxKeyLen);
  prefix.copy(scratch);
  const end = Buffer.from(prefix);
  end[p - 1]++; // the prefix ends in 0: no carry
  const encode = (x: unknown) => Buffer.concat([prefix, keys.bytes(x)]);
  return {
    bound: encode,
    keys: {
      encode,
      bytes: (x) => {
        const b = keys.bytes(x);
        scratch.set(b, p);
        return scratch.subarray(0, p + b.length);
      },
      decode: (b) => keys.decode(b.subarray(p)),
    },
    segments: [{ from: prefix, to: end }],
  };
}

/**
 * The parts of the asked range that lie in `segments`, as the cursor's
 * bounds, in the order the range runs (each with the asked limit: the
 * caller counts across them). A reverse range's `start` is inclusive and
 * its `end` exclusive, so a segment's `to` (exclusive) becomes the largest
 * key below it, `below(to)`, and its `from` the largest key below that.
 */
export function segmentBounds(segments: readonly Segment[], asked: Bounds, maxKeyLen: number): Bounds[] {
  const out: Bounds[] = [];
  const ordered = asked.reverse ? [...segments].reverse() : segments;
  for (const s of ordered) {
    if (asked.reverse) {
      // Keys k with end < k <= start and from <= k < to.
      const upper = s.to === undefined ? asked.start : min(asked.start, below(s.to, maxKeyLen));
      const lower = s.from === undefined ? asked.end : max(asked.end, below(s.from, maxKeyLen));
      if (upper !== undefined && lower !== undefined && compareBytes(upper, lower) <= 0) continue;
      out.push({ start: upper, end: lower, reverse: true, limit: asked.limit });
    } else {
      const start = max(asked.start, s.from);
      const end = min(asked.end, s.to);
      if (start !== undefined && end !== undefined && compareBytes(start, end) >= 0) continue;
      out.push({ start, end, reverse: false, limit: asked.limit });
    }
  }
  return out;
}

/**
 * The largest key of at most `maxKeyLen` bytes below `key`, a segment's
 * bound (never empty): without its last byte when that is 0 (nothing lies
 * between `x` and `x 00`), else with the last byte less one, then 0xFF up
 * to the limit.
 */
function below(key: Buffer, maxKeyLen: number): Buffer {
  if (key[key.length - 1] === 0) return key.subarray(0, key.length - 1);
  const out = Buffer.alloc(Math.max(maxKeyLen, key.length), 0xff);
  key.copy(out);
  out[key.length - 1]--;
  return out;
}

/** The entries of `parts` one after another, `limit` of them at most across all. */
export function* eachSegment<T>(parts: Bounds[], limit: number, scan: (b: Bounds) => Iterator<T>): Generator<T, undefined> {
  let left = limit;
  for (const part of parts) {
    if (left <= 0) break;
    const it = scan({ ...part, limit: left });
    try {
      for (let r = it.next(); !r.done; r = it.next()) {
        left--;
        yield r.value;
      }
    } finally {
      it.return?.();
    }
  }
  return undefined;
}

/** The lower of two bounds, either unbounded (undefined) on its side. */
function min(a: Buffer | undefined, b: Buffer | undefined): Buffer | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareBytes(a, b) <= 0 ? a : b;
}

function max(a: Buffer | undefined, b: Buffer | undefined): Buffer | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareBytes(a, b) >= 0 ? a : b;
}
