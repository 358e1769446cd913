// `scan`'s entries: a key range, or the keys with a prefix, in either order.
//
// A prefix is matched on encoded keys: the keys whose encoding starts with the
// prefix's encoding. For binary keys that is a byte prefix. For ordered-binary
// it takes the string keys starting with the prefix (and the arrays whose
// first element does): ordered-binary writes a string as its UTF-8 bytes,
// with only a type byte before a first character below 28 and an escape byte
// before characters 0 to 4. Such keys sit together in key order, from the
// prefix up to its successor (the prefix with its last character or byte
// incremented).
import { keyCodec, type Codec } from '../store/encoding.js';
import { maxKeyLen } from '../format/page.js';
import type { Database } from '../store/db.js';
import type { Encodings } from './db.js';

export interface ScanRequest {
  start?: unknown;
  end?: unknown;
  /** A string (ordered-binary) or bytes (binary). */
  prefix?: string | Buffer;
  reverse: boolean;
  limit?: number;
}

/** The least key above every key with prefix `p`, or undefined when there is none. */
export function prefixEnd(p: string | Buffer): string | Buffer | undefined {
  if (Buffer.isBuffer(p)) {
    const b = Buffer.from(p);
    let i = b.length - 1;
    while (i >= 0 && b[i] === 0xff) i--;
    if (i < 0) return undefined;
    b[i]!++;
    return b.subarray(0, i + 1);
  }
  const points = Array.from(p, (c) => c.codePointAt(0)!);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return undefined;
  let last = points[points.length - 1]! + 1;
  if (last >= 0xd800 && last <= 0xdfff) last = 0xe000; // no code points there
  points[points.length - 1] = last;
  return String.fromCodePoint(...points);
}

export function* scanEntries(db: Database, e: Encodings, r: ScanRequest): Generator<{ key: unknown; value: unknown }> {
  const { prefix } = r;
  if (prefix === undefined || prefix.length === 0) {
    yield* db.getRange({ start: r.start, end: r.end, reverse: r.reverse, limit: r.limit });
    return;
  }
  const codec: Codec = keyCodec(e.keyEncoding, maxKeyLen(db.pageSize));
  const wanted = codec.encode(prefix);
  const above = prefixEnd(prefix);
  // Forward: from the prefix up. Reverse: down from its successor (which may
  // itself be a key: it is skipped), until a key below the prefix.
  const entries = r.reverse ? db.getRange({ start: above, reverse: true }) : db.getRange({ start: prefix, end: above });
  let left = r.limit ?? Infinity;
  for (const entry of entries) {
    if (left <= 0) return;
    const k = codec.encode(entry.key);
    if (k.length >= wanted.length && k.subarray(0, wanted.length).equals(wanted)) {
      left--;
      yield entry;
    } else if (r.reverse ? Buffer.compare(k, wanted) < 0 : Buffer.compare(k, wanted) > 0) {
      return;
    }
  }
}
