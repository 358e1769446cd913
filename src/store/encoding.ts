// Keys and values to bytes and back. Keys: `ordered-binary` (strings,
// numbers, booleans, null, bigints, Buffers and arrays of them, encoded so
// that byte order is value order) or `binary` (Buffers as they are). Values:
// msgpack (msgpackr, the default), `binary`, `string` (UTF-8) or `json`.
//
// `encode` returns fresh copies: the store keeps them until commit, and
// decoded `binary` values are copies too, never views of cached pages.
// `bytes` returns the encoded form without a copy where it can (the input
// itself, or the codec's scratch buffer): for callers that copy it at once
// (a batch packs every operation into one buffer, packed.ts).
import { readKey, writeKey } from 'ordered-binary';
import { Packr } from 'msgpackr';
import { KeyTooLargeError, ValueTooLargeError, typeError } from '../errors.js';

export type KeyEncoding = 'ordered-binary' | 'binary';
export type ValueEncoding = 'msgpack' | 'binary' | 'string' | 'json';
/** What the `ordered-binary` key encoding accepts. */
export type Key = string | number | boolean | null | bigint | Uint8Array | Key[];

export interface Codec {
  encode(x: unknown): Buffer;
  /** The encoded bytes, valid only until the next call on this codec: copy them before. */
  bytes(x: unknown): Uint8Array;
  decode(b: Buffer): unknown;
}

export const KEY_ENCODINGS: readonly KeyEncoding[] = ['ordered-binary', 'binary'];
export const VALUE_ENCODINGS: readonly ValueEncoding[] = ['msgpack', 'binary', 'string', 'json'];
const MAX_VALUE = 0xffff_ffff;

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  return typeof x === 'object' ? `an object (${x.constructor?.name ?? 'no prototype'})` : `a ${typeof x}`;
}

/** Throws a TypeError for what ordered-binary would encode ambiguously or not at all. */
function checkKeyPart(key: unknown, top: boolean): void {
  if (typeof key === 'string' || typeof key === 'boolean' || typeof key === 'bigint' || key === null) return;
  if (key instanceof Uint8Array) return;
  if (typeof key === 'number') {
    if (Number.isNaN(key)) throw typeError('a key must not be NaN');
    return;
  }
  if (Array.isArray(key) && top) {
    for (const part of key) checkKeyPart(part, false);
    return;
  }
  const what = Array.isArray(key) ? 'a nested array' : describe(key);
  throw typeError(`a key must be a string, number, boolean, null, bigint, Buffer or an array of them, got ${what}`);
}

/** A key codec checking `maxKeyLen`. */
export function keyCodec(encoding: KeyEncoding, maxKeyLen: number): Codec {
  if (encoding === 'binary') {
    const bytes = (key: unknown): Uint8Array => {
      if (!(key instanceof Uint8Array)) throw typeError(`keys must be Buffers or Uint8Arrays (keyEncoding 'binary'), got ${describe(key)}`);
      if (key.length > maxKeyLen) throw new KeyTooLargeError(key.length, maxKeyLen);
      return key;
    };
    return {
      encode: (key) => Buffer.from(bytes(key)),
      bytes,
      decode: (b) => Buffer.from(b),
    };
  }
  // Encoded keys past the limit throw at once; the scratch buffer bounds the work.
  const scratch = Buffer.alloc(4 * 512 + 64);
  const bytes = (key: unknown): Buffer => {
    checkKeyPart(key, true);
    if (typeof key === 'string' && key.length > maxKeyLen) throw new KeyTooLargeError(key.length, maxKeyLen);
    let n: number;
    try {
      n = writeKey(key as Key, scratch, 0);
    } catch (e) {
      if (e instanceof RangeError) throw new KeyTooLargeError(scratch.length, maxKeyLen);
      throw typeError(`cannot encode the key: ${(e as Error).message}`);
    }
    if (n > maxKeyLen) throw new KeyTooLargeError(n, maxKeyLen);
    return scratch.subarray(0, n);
  };
  return {
    encode: (key) => Buffer.from(bytes(key)),
    bytes,
    decode: (b) => readKey(b, 0, b.length),
  };
}

function sized(b: Buffer): Buffer {
  if (b.length > MAX_VALUE) throw new ValueTooLargeError(b.length);
  return b;
}

/** A value codec whose encoded bytes are always fresh: `bytes` is `encode`. */
const fresh = (c: Omit<Codec, 'bytes'>): Codec => ({ ...c, bytes: c.encode });

export function valueCodec(encoding: ValueEncoding): Codec {
  const defined = (v: unknown) => {
    if (v === undefined) throw typeError('a value must not be undefined (use remove to delete a key)');
  };
  switch (encoding) {
    case 'binary': {
      const bytes = (v: unknown): Uint8Array => {
        if (!(v instanceof Uint8Array)) throw typeError(`values must be Buffers or Uint8Arrays (valueEncoding 'binary'), got ${describe(v)}`);
        if (v.length > MAX_VALUE) throw new ValueTooLargeError(v.length);
        return v;
      };
      return { encode: (v) => Buffer.from(bytes(v)), bytes, decode: (b) => Buffer.from(b) };
    }
    case 'string':
      return fresh({
        encode(v) {
          if (typeof v !== 'string') throw typeError(`values must be strings (valueEncoding 'string'), got ${describe(v)}`);
          return sized(Buffer.from(v, 'utf8'));
        },
        decode: (b) => b.toString('utf8'),
      });
    case 'json':
      return fresh({
        encode(v) {
          defined(v);
          const s = JSON.stringify(v);
          if (s === undefined) throw typeError(`${describe(v)} has no JSON form`);
          return sized(Buffer.from(s, 'utf8'));
        },
        decode: (b) => JSON.parse(b.toString('utf8')),
      });
    case 'msgpack': {
      // Plain msgpack (no record extension), readable by any msgpack decoder.
      const packr = new Packr({ useRecords: false });
      return fresh({
        encode(v) {
          defined(v);
          try {
            return sized(packr.pack(v));
          } catch (e) {
            if (e instanceof TypeError || e instanceof RangeError) throw typeError(`cannot encode the value: ${e.message}`);
            throw e;
          }
        },
        decode: (b) => packr.unpack(b),
      });
    }
  }
}
