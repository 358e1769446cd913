// Leaf pages written by the addon (crates/node/src/leaves.rs) from leaf
// entries already in page form: the append tail's runs (append.ts). Byte for
// byte what `encodeLeaf` (page.ts) writes for the same entries, checksums
// included, in one call for a commit's new leaves instead of a page Buffer,
// a few calls into Node per entry, and a CRC call per page.
import { native } from '../native.js';
import { writeU64 } from '../format/page.js';

/** Entries in page form: all of `bytes` back to back, or, with `starts`, the ones starting at those offsets, in that order. */
export interface EntryRun {
  bytes: Buffer;
  starts?: Uint32Array;
}

/**
 * Leaf pages `pageNos[k]` of `counts[k]` entries each, taken in order from
 * `head`, then `entries`, every entry once; page k at `k * p` of the result.
 */
export function encodeLeafRuns(p: number, txid: number, head: Buffer, entries: EntryRun, counts: number[], pageNos: number[]): Buffer {
  const countBytes = Buffer.allocUnsafe(4 * counts.length);
  const numberBytes = Buffer.allocUnsafe(8 * pageNos.length);
  counts.forEach((n, k) => countBytes.writeUInt32LE(n, 4 * k));
  pageNos.forEach((n, k) => writeU64(numberBytes, 8 * k, n));
  const { bytes, starts } = entries;
  const startBytes = starts && Buffer.from(starts.buffer, starts.byteOffset, starts.byteLength);
  return native.storeEncodeLeaves(head, bytes, countBytes, numberBytes, p, txid, startBytes);
}
