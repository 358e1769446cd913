// Stream IDs and entries as xrpkv keeps them (layout.ts): an entry is a
// member record named by its ID (ms then seq, 64-bit big-endian each, so
// records sort by ID) whose value holds its fields and values; the
// stream's metadata adds its last ID, its largest deleted ID and how many
// entries it ever had (STREAM_FIELDS bytes).
import { ReplyError } from './command-spec.js';
import { STREAM_FIELDS, type Meta } from './layout.js';

/** An entry ID: milliseconds and a sequence number, 64 bits each. */
export interface StreamId {
  ms: bigint;
  seq: bigint;
}

export const MAX_U64 = (1n << 64n) - 1n;
export const MIN_ID: StreamId = { ms: 0n, seq: 0n };
export const MAX_ID: StreamId = { ms: MAX_U64, seq: MAX_U64 };

export const compareIds = (a: StreamId, b: StreamId): number => (a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq === b.seq ? 0 : a.seq < b.seq ? -1 : 1);

export const idText = (id: StreamId): string => `${id.ms}-${id.seq}`;

export function idBytes(id: StreamId): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(id.ms, 0);
  b.writeBigUInt64BE(id.seq, 8);
  return b;
}

export const idFromBytes = (b: Buffer): StreamId => ({ ms: b.readBigUInt64BE(0), seq: b.readBigUInt64BE(8) });

/** The ID after `id` (undefined after the last one). */
export function nextId(id: StreamId): StreamId | undefined {
  if (id.seq < MAX_U64) return { ms: id.ms, seq: id.seq + 1n };
  return id.ms < MAX_U64 ? { ms: id.ms + 1n, seq: 0n } : undefined;
}

/** The ID before `id` (undefined before 0-0). */
export function previousId(id: StreamId): StreamId | undefined {
  if (id.seq > 0n) return { ms: id.ms, seq: id.seq - 1n };
  return id.ms > 0n ? { ms: id.ms - 1n, seq: MAX_U64 } : undefined;
}

const INVALID = () => new ReplyError('ERR Invalid stream ID specified as stream command argument');

/** A u64 as Redis's string2ull reads it: decimal digits only. */
function u64(s: string): bigint {
  if (!/^\d{1,20}$/.test(s)) throw INVALID();
  const n = BigInt(s);
  if (n > MAX_U64) throw INVALID();
  return n;
}

/**
 * An ID argument: `ms-seq`, or `ms` (seq `missingSeq`); with `special`,
 * `-` and `+` too. `seqStar`: `ms-*` allowed, its seq then undefined.
 */
export function parseId(arg: Buffer, missingSeq: bigint, special = true, seqStar = false): { id: StreamId; autoSeq: boolean } {
  const s = arg.toString('latin1');
  if (special && s === '-') return { id: MIN_ID, autoSeq: false };
  if (special && s === '+') return { id: MAX_ID, autoSeq: false };
  const dash = s.indexOf('-');
  if (dash < 0) return { id: { ms: u64(s), seq: missingSeq }, autoSeq: false };
  const seqText = s.slice(dash + 1);
  if (seqStar && seqText === '*') return { id: { ms: u64(s.slice(0, dash)), seq: 0n }, autoSeq: true };
  return { id: { ms: u64(s.slice(0, dash)), seq: u64(seqText) }, autoSeq: false };
}

/** The stream's own metadata fields. */
export interface StreamState {
  last: StreamId;
  maxDeleted: StreamId;
  entriesAdded: bigint;
  /** Records of its consumer groups (stream-groups.ts), so a DEL knows what it leaves to the sweep. */
  groupRecords: number;
}

export function streamState(meta: Meta): StreamState {
  const b = meta.stream!;
  return {
    last: { ms: b.readBigUInt64BE(0), seq: b.readBigUInt64BE(8) },
    maxDeleted: { ms: b.readBigUInt64BE(16), seq: b.readBigUInt64BE(24) },
    entriesAdded: b.readBigUInt64BE(32),
    groupRecords: Number(b.readBigUInt64BE(40)),
  };
}

/** Writes `state` into `meta` (a copy of its bytes: a `before` metadata shares them). */
export function setStreamState(meta: Meta, state: StreamState): void {
  const b = Buffer.alloc(STREAM_FIELDS);
  b.writeBigUInt64BE(state.last.ms, 0);
  b.writeBigUInt64BE(state.last.seq, 8);
  b.writeBigUInt64BE(state.maxDeleted.ms, 16);
  b.writeBigUInt64BE(state.maxDeleted.seq, 24);
  b.writeBigUInt64BE(state.entriesAdded, 32);
  b.writeBigUInt64BE(BigInt(state.groupRecords), 40);
  meta.stream = b;
}

/** An entry's fields and values as its record's value: a count, then each length and its bytes. */
export function encodeFields(fields: readonly Buffer[]): Buffer {
  let size = 4;
  for (const f of fields) size += 4 + f.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(fields.length, 0);
  let at = 4;
  for (const f of fields) {
    out.writeUInt32BE(f.length, at);
    f.copy(out, at + 4);
    at += 4 + f.length;
  }
  return out;
}

export function decodeFields(value: Buffer): Buffer[] {
  const n = value.readUInt32BE(0);
  const out: Buffer[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const len = value.readUInt32BE(at);
    out.push(value.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const isZero = (id: StreamId): boolean => id.ms === 0n && id.seq === 0n;

/** What a consumer group's read counter is reckoned from: the stream's fields, its length and its first entry's ID (0-0 when empty). */
export interface StreamShape {
  state: StreamState;
  length: number;
  first: StreamId;
}

/** Whether entries from `from` on may have been deleted (Redis's streamRangeHasTombstones, open-ended). */
export function tombstonesFrom(s: StreamShape, from: StreamId): boolean {
  const { maxDeleted } = s.state;
  if (s.length === 0 || isZero(maxDeleted)) return false;
  if (compareIds(s.first, maxDeleted) > 0) return false;
  return compareIds(from, maxDeleted) <= 0;
}

/**
 * How many entries were added up to and including `id`, where that is
 * known without counting (Redis's streamEstimateDistanceFromFirstEverEntry);
 * -1 where it is not: an ID between the first and last entries of a stream
 * with deletions, or after the last.
 */
export function entriesUpTo(s: StreamShape, id: StreamId): bigint {
  const { entriesAdded, last, maxDeleted } = s.state;
  if (entriesAdded === 0n) return 0n;
  if (s.length === 0 && compareIds(id, last) <= 0) return entriesAdded;
  const toLast = compareIds(id, last);
  if (toLast === 0) return entriesAdded;
  if (toLast > 0) return -1n;
  const toFirst = compareIds(id, s.first);
  if (isZero(maxDeleted) || compareIds(maxDeleted, s.first) < 0) {
    if (toFirst < 0) return entriesAdded - BigInt(s.length);
    if (toFirst === 0) return entriesAdded - BigInt(s.length) + 1n;
  }
  return -1n;
}
