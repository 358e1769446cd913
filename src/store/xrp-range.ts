// Forward range scans on the XRP runtime: `bpf/range.c` (dist/bpf/range.o,
// section xrp/range) returns up to 3,008 bytes of pairs per call, in key
// order, and leaves in its scratch where the next call resumes (the leaf, the
// entry, and its path from the root: leaves have no sibling links). A scan is
// a series of calls over one snapshot, each one chain.
//
// Unlike a lookup, a scan always starts at the root: the program keeps the
// path above the leaf it reads, so it must see every level. Reverse scans use
// the TypeScript cursor (range.c only walks forward). As with lookups, the
// emulator verifies each page's checksum and number before the program runs
// (the program itself checks the number, type and level: state 4), and
// overflow values are read and verified by the store.
import { XRP_PAGE_SIZE, type XrpResult } from '../xrp.js';
import { CorruptionError, StoreError } from '../errors.js';
import type { LeafValue } from '../format/page.js';
import { RANGE_PAIR, RANGE_PAIR_FIELDS as PAIR, RANGE_PAIR_LOCATION_FIELDS as LOCATION, RANGE_SCRATCH as S, RANGE_STATES } from '../format/scratch.js';
import { rangeProgram } from '../programs.js';
import type { Snapshot } from './snapshot.js';
import { chainFailure, type XrpLookup } from './xrp-lookup.js';

/** maxPairs is a u16; 0 means "as many as fit". */
const MAX_PAIRS_FIELD = 0xffff;

/** The pairs of one call's scratch, in order. */
function* pairs(s: Buffer): Generator<[Buffer, LeafValue]> {
  const count = s.readUInt32LE(S.pairs);
  const end = S.out + s.readUInt32LE(S.used);
  let at: number = S.out;
  for (let i = 0; i < count; i++) {
    const keyLen = s.readUInt16LE(at + PAIR.keyLen);
    const valueLen = s.readUInt16LE(at + PAIR.valueLen);
    const next = at + RANGE_PAIR.header + keyLen + (valueLen === RANGE_PAIR.overflow ? RANGE_PAIR.location : valueLen);
    if (next > end) throw new StoreError('bpf/range.c wrote pairs past the bytes it says it used', 'XRP_RANGE');
    const key = Buffer.from(s.subarray(at + RANGE_PAIR.header, at + RANGE_PAIR.header + keyLen));
    at += RANGE_PAIR.header + keyLen;
    if (valueLen === RANGE_PAIR.overflow) yield [key, { page: Number(s.readBigUInt64LE(at + LOCATION.firstPage)), length: s.readUInt32LE(at + LOCATION.valueLen) }];
    else yield [key, Buffer.from(s.subarray(at, at + valueLen))];
    at = next;
  }
}

/**
 * The entries of `snap` from `start` (inclusive) up to `end` (exclusive), at
 * most `limit`, through range.c on `xrp`'s file. Keep `snap` registered until
 * the generator ends.
 */
export function* xrpRange(
  xrp: XrpLookup,
  snap: Snapshot,
  start: Buffer | undefined,
  end: Buffer | undefined,
  limit: number,
): Generator<[Buffer, LeafValue], undefined> {
  const { root } = snap.meta;
  if (root === 0 || limit <= 0) return undefined;
  const P = xrp.pageSize;
  const key = start ?? Buffer.alloc(0);
  const scratch = Buffer.alloc(XRP_PAGE_SIZE);
  scratch.writeUInt16LE(key.length, S.keyLen);
  scratch.writeUInt32LE(P, S.pageSize);
  scratch.writeBigUInt64LE(BigInt(root), S.page);
  // range.c checks that each page is a leaf exactly at the bottom level.
  scratch.writeUInt32LE(snap.meta.height, S.height);
  key.copy(scratch, S.key);
  const program = rangeProgram();
  let left = limit;
  for (;;) {
    // Ask for no more pairs than are wanted: a small limit reads one leaf.
    scratch.writeUInt16LE(Math.min(left, MAX_PAIRS_FIELD), S.maxPairs);
    const page = Number(scratch.readBigUInt64LE(S.page));
    xrp.chains++;
    // The chain's final scratch lands back in `scratch`: the next call resumes from it.
    const r = program.runSync(xrp.fileFor(snap), { offset: page * P, length: xrp.readLength, scratch, mode: xrp.mode, into: scratch });
    const s = check(xrp, r, page);
    for (const pair of pairs(s)) {
      if (end !== undefined && Buffer.compare(pair[0], end) >= 0) return undefined;
      yield pair;
      if (--left <= 0) return undefined;
    }
    if (s.readUInt32LE(S.state) === RANGE_STATES.end) return undefined;
  }
}

/** The call's scratch when it ended in state 1 or 2; errors as for lookups otherwise. */
function check(xrp: XrpLookup, r: XrpResult, page: number): Buffer {
  if (!r.ok) throw chainFailure(xrp, r, page, { what: 'xrp range scan', program: 'bpf/range.c', code: 'XRP_RANGE' });
  const last = Math.floor(r.lastOffset / xrp.pageSize);
  const state = r.scratch.readUInt32LE(S.state);
  if (state === RANGE_STATES.more || state === RANGE_STATES.end) return r.scratch;
  if (state === RANGE_STATES.corrupt) throw new CorruptionError(last, 'bpf/range.c found it inconsistent (state 4)', xrp.path);
  throw new StoreError(`${xrp.path}: xrp range scan from page ${page} ended in state ${state}`, 'XRP_RANGE');
}
