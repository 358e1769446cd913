// The data every store benchmark uses (bench/store.mjs, bench/peers.mjs):
// deterministic 16-byte binary keys, ascending in their index, and 100-byte
// binary values, so that runs and stores see the same bytes.

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

/** splitmix32-ish: a deterministic 32-bit hash of `x`. */
export function mix(x) {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * `n` keys in one buffer; `key(i)` is a view of key i. Key i: u64 big-endian
 * i * 2^20 + hash (spread over the key space), then 8 hash bytes; ascending in i.
 */
export function makeKeys(n) {
  const bytes = Buffer.alloc(KEY_BYTES * n);
  for (let i = 0; i < n; i++) writeKey(i, bytes, KEY_BYTES * i);
  return (i) => bytes.subarray(KEY_BYTES * i, KEY_BYTES * i + KEY_BYTES);
}

/**
 * Writes key `i` (as makeKeys lays it out) into `bytes` at `offset`: for a
 * reader that must not hold every key (bench/memory.mjs's readers run in a
 * memory limit smaller than the key set).
 */
export function writeKey(i, bytes, offset = 0) {
  bytes.writeUInt32BE(Math.floor(i / 4096), offset);
  bytes.writeUInt32BE(((i % 4096) * 0x100000 + (mix(i) & 0xfffff)) >>> 0, offset + 4);
  bytes.writeUInt32BE(mix(i + 0x1234567), offset + 8);
  bytes.writeUInt32BE(mix(i + 0x7654321), offset + 12);
  return bytes;
}

const valueTemplate = Buffer.alloc(VALUE_BYTES);
for (let i = 0; i < VALUE_BYTES; i++) valueTemplate[i] = mix(i) & 0xff;

/** A fresh 100-byte value for key `i`, written in `round` (both in its first 8 bytes). */
export function makeValue(i, round) {
  const v = Buffer.from(valueTemplate);
  v.writeUInt32LE(i, 0);
  v.writeUInt32LE(round, 4);
  return v;
}

/** A deterministic generator of key indexes in [0, n): call it for the next one. */
export function randomIndexes(n, seed = 12345) {
  return () => (seed = mix(seed + 0x9e3779b9)) % n;
}
