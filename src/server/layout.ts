// How Redis's keys and values lie in the store's records (one B+tree, keys
// in byte order), after Kvrocks's layout on RocksDB: a metadata record per
// key and one record per member. docs/SERVER.md, "Data layout", says why.
//
//   string, no expiry  K                        -> the value (as written before there was a layout)
//   string key 0xFF..  FF FF K[1..]             -> the value (escaped out of the reserved space)
//   metadata           FF 'M' K                 -> type, deadline, then the value (string)
//                                                  or version, size (hash, set, zset), head, tail (list),
//                                                  last ID, largest deleted ID, entries added,
//                                                  consumer group records (stream)
//   member             FF 'S' len K version m   -> hash: field -> value; set: member -> ''
//                                                  zset: member -> score; list: index -> element
//                                                  stream: ID (ms, seq: u64 each) -> its fields and values
//   score index        FF 'Z' len K version s m -> '' (zset members in score order)
//   stream groups      FF 'Z' len K version g   -> a stream's consumer groups, consumers and
//                                                  pending entries (stream-groups.ts)
//   expiry index       FF 'X' deadline K        -> '' (keys by deadline, for the active sweep)
//   orphans            FF 'G' version           -> type, K (members a DEL left to the sweep)
//   counters           FF 00 'c'                -> layout version and counts (Counters)
//
// What must hold:
// - a user key is exactly one record: its raw (or escaped) record, or its
//   metadata record, never both; so DBSIZE is the store's count minus the
//   internal records (Counters.internal);
// - a metadata record of a string means the string has a deadline;
// - members carry the version of the metadata that made them: a key
//   deleted or overwritten keeps no member reachable (a new metadata record
//   gets a new version), and the sweep removes the old ones (orphans);
// - fixed-size numbers are big-endian, so their records sort by them;
// - every record under FF but the escaped string keys is counted in
//   Counters, whose record exists whenever any of them does.

export const enum KeyType {
  String = 0,
  Hash = 1,
  List = 2,
  Set = 3,
  ZSet = 4,
  Stream = 5,
}

export const TYPE_NAMES = ['string', 'hash', 'list', 'set', 'zset', 'stream'] as const;
export type TypeName = (typeof TYPE_NAMES)[number];

const RESERVED = 0xff;
const META = 0x4d; // 'M'
const MEMBER = 0x53; // 'S'
const SCORE = 0x5a; // 'Z'
const EXPIRY = 0x58; // 'X'
const ORPHAN = 0x47; // 'G'

/** The counters record. */
export const COUNTERS_KEY = Buffer.from([RESERVED, 0x00, 0x63]);
/** Where the reserved space starts, and where escaped string keys start (its end). */
export const RESERVED_START = Buffer.from([RESERVED]);
export const ESCAPED_START = Buffer.from([RESERVED, RESERVED]);
export const META_START = Buffer.from([RESERVED, META]);
export const META_END = Buffer.from([RESERVED, META + 1]);
export const EXPIRY_START = Buffer.from([RESERVED, EXPIRY]);
export const ORPHAN_START = Buffer.from([RESERVED, ORPHAN]);
export const ORPHAN_END = Buffer.from([RESERVED, ORPHAN + 1]);

/** The layout's version in the counters record. */
export const LAYOUT_VERSION = 1;

// ---- string keys -------------------------------------------------------------

/** Whether `key` is stored escaped (it starts with the reserved byte). */
export const isReserved = (key: Buffer): boolean => key.length > 0 && key[0] === RESERVED;

/** The record of a string key without a deadline. */
export function rawKey(key: Buffer): Buffer {
  return isReserved(key) ? Buffer.concat([RESERVED_START, key]) : key;
}

/** The user key of a raw record (outside the reserved space, or escaped). */
export function fromRawKey(record: Buffer): Buffer {
  return isReserved(record) ? record.subarray(1) : record;
}

// ---- metadata ------------------------------------------------------------------

export function metaKey(key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + key.length);
  out[0] = RESERVED;
  out[1] = META;
  key.copy(out, 2);
  return out;
}

/** The user key of a metadata record. */
export const fromMetaKey = (record: Buffer): Buffer => record.subarray(2);

/** A key's metadata: its type and deadline (ms since the epoch, 0 for none), and for the collections their version and size (lists: head and tail indexes). */
export interface Meta {
  type: KeyType;
  deadline: number;
  version: number;
  size: number;
  /** Lists: the index of the first element, and one past the last. */
  head: number;
  tail: number;
  /** Streams: their last ID, largest deleted ID, entries ever added and group records (stream.ts reads and writes them). */
  stream?: Buffer;
}

/** Bytes of a stream's own fields in its metadata (a record written before groups had 40: the count of group records reads as 0). */
export const STREAM_FIELDS = 48;

/** Byte offsets in a metadata value. */
const TYPE_AT = 0;
const DEADLINE_AT = 1;
const VERSION_AT = 9;
const SIZE_AT = 17;
const HEAD_AT = 25;
const TAIL_AT = 33;
/** Where a string's value starts in its metadata record. */
export const STRING_VALUE_AT = 9;

/** A list's first index: the middle of the indexes a number holds exactly, so both ends have room. */
export const LIST_MIDDLE = 2 ** 52;

export function metaType(value: Buffer): KeyType {
  return value[TYPE_AT] as KeyType;
}

export function metaDeadline(value: Buffer): number {
  return readU64(value, DEADLINE_AT);
}

export function decodeMeta(value: Buffer): Meta {
  const type = metaType(value);
  const deadline = metaDeadline(value);
  if (type === KeyType.String) return { type, deadline, version: 0, size: 0, head: 0, tail: 0 };
  const list = type === KeyType.List;
  return {
    type,
    deadline,
    version: readU64(value, VERSION_AT),
    size: readU64(value, SIZE_AT),
    head: list ? readU64(value, HEAD_AT) : 0,
    tail: list ? readU64(value, TAIL_AT) : 0,
    ...(type === KeyType.Stream ? { stream: streamFields(value) } : {}),
  };
}

function streamFields(value: Buffer): Buffer {
  const out = Buffer.alloc(STREAM_FIELDS);
  value.copy(out, 0, HEAD_AT, HEAD_AT + STREAM_FIELDS);
  return out;
}

export function encodeMeta(meta: Meta): Buffer {
  const list = meta.type === KeyType.List;
  const stream = meta.type === KeyType.Stream;
  const out = Buffer.alloc(list ? TAIL_AT + 8 : stream ? HEAD_AT + STREAM_FIELDS : HEAD_AT);
  out[TYPE_AT] = meta.type;
  writeU64(out, DEADLINE_AT, meta.deadline);
  writeU64(out, VERSION_AT, meta.version);
  writeU64(out, SIZE_AT, meta.size);
  if (list) {
    writeU64(out, HEAD_AT, meta.head);
    writeU64(out, TAIL_AT, meta.tail);
  }
  if (stream) meta.stream?.copy(out, HEAD_AT);
  return out;
}

/** The metadata record of a string with a deadline. */
export function encodeStringMeta(value: Buffer, deadline: number): Buffer {
  const out = Buffer.allocUnsafe(STRING_VALUE_AT + value.length);
  out[TYPE_AT] = KeyType.String;
  writeU64(out, DEADLINE_AT, deadline);
  value.copy(out, STRING_VALUE_AT);
  return out;
}

// ---- members -------------------------------------------------------------------

/** The prefix of every member record of `key` at `version` (`space`: members, or the score index). */
export function memberPrefix(key: Buffer, version: number, space: 'member' | 'score' = 'member'): Buffer {
  const out = Buffer.allocUnsafe(memberPrefixLength(key));
  writeMemberPrefix(out, key, version, space);
  return out;
}

/** The length of `key`'s member prefix. */
export const memberPrefixLength = (key: Buffer): number => 4 + key.length + 8;

/** `memberKey(memberPrefix(key, version, space), member)`, in one buffer. */
export function memberRecordKey(key: Buffer, version: number, space: 'member' | 'score', member: Buffer): Buffer {
  const at = memberPrefixLength(key);
  const out = Buffer.allocUnsafe(at + member.length);
  writeMemberPrefix(out, key, version, space);
  member.copy(out, at);
  return out;
}

function writeMemberPrefix(out: Buffer, key: Buffer, version: number, space: 'member' | 'score'): void {
  out[0] = RESERVED;
  out[1] = space === 'member' ? MEMBER : SCORE;
  out.writeUInt16BE(key.length, 2);
  key.copy(out, 4);
  writeU64(out, 4 + key.length, version);
}

/** The record of `member` under `prefix`. */
export function memberKey(prefix: Buffer, member: Buffer): Buffer {
  const out = Buffer.allocUnsafe(prefix.length + member.length);
  prefix.copy(out, 0);
  member.copy(out, prefix.length);
  return out;
}

/** The first key after every key starting with `prefix` (undefined: none, the prefix is all 0xFF). */
export function prefixEnd(prefix: Buffer): Buffer | undefined {
  const out = Buffer.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] !== 0xff) {
      out[i]!++;
      return out.subarray(0, i + 1);
    }
  }
  return undefined;
}

/** A list index as the 8 bytes of its member name. */
export function indexBytes(index: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  writeU64(out, 0, index);
  return out;
}

export function readIndex(bytes: Buffer, at = 0): number {
  return readU64(bytes, at);
}

/** A score as 8 bytes that sort as the numbers do (IEEE 754 with the sign bit flipped, all bits for negatives). */
export function scoreBytes(score: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeDoubleBE(score === 0 ? 0 : score, 0); // -0 sorts as 0, as Redis compares them
  if (out[0]! & 0x80) for (let i = 0; i < 8; i++) out[i] = ~out[i]! & 0xff;
  else out[0]! |= 0x80;
  return out;
}

export function readScoreBytes(bytes: Buffer, at = 0): number {
  const b = Buffer.from(bytes.subarray(at, at + 8));
  if (b[0]! & 0x80) b[0]! &= 0x7f;
  else for (let i = 0; i < 8; i++) b[i] = ~b[i]! & 0xff;
  return b.readDoubleBE(0);
}

/** A member record's value for a zset: the score as a double. */
export function scoreValue(score: number): Buffer {
  const out = Buffer.allocUnsafe(8);
  out.writeDoubleBE(score, 0);
  return out;
}

// ---- expiry and orphans --------------------------------------------------------

/** The expiry index record of `key` with `deadline`. */
export function expiryKey(deadline: number, key: Buffer): Buffer {
  const out = Buffer.allocUnsafe(10 + key.length);
  out[0] = RESERVED;
  out[1] = EXPIRY;
  writeU64(out, 2, deadline);
  key.copy(out, 10);
  return out;
}

/** The deadline and key of an expiry index record. */
export function fromExpiryKey(record: Buffer): { deadline: number; key: Buffer } {
  return { deadline: readU64(record, 2), key: record.subarray(10) };
}

/** The expiry index up to (and including) `now`. */
export function expiryEnd(now: number): Buffer {
  const out = Buffer.alloc(10);
  out[0] = RESERVED;
  out[1] = EXPIRY;
  writeU64(out, 2, now + 1);
  return out;
}

export function orphanKey(version: number): Buffer {
  const out = Buffer.allocUnsafe(10);
  out[0] = RESERVED;
  out[1] = ORPHAN;
  writeU64(out, 2, version);
  return out;
}

export function orphanValue(type: KeyType, key: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type]), key]);
}

export function fromOrphan(record: Buffer, value: Buffer): { version: number; type: KeyType; key: Buffer } {
  return { version: readU64(record, 2), type: value[0] as KeyType, key: value.subarray(1) };
}

// ---- counters ------------------------------------------------------------------

/** What the counters record holds; every field but `nextVersion` counts records. */
export interface Counters {
  layout: number;
  /** Records under FF that are no user key (members, indexes, orphans, this one). */
  internal: number;
  /** Metadata records (keys that have a type other than string, or a deadline). */
  metas: number;
  /** Metadata records with a deadline (INFO's `expires`). */
  expiring: number;
  /** Members of deleted keys not yet removed by the sweep. */
  orphans: number;
  nextVersion: number;
}

export const NO_COUNTERS: Readonly<Counters> = { layout: LAYOUT_VERSION, internal: 0, metas: 0, expiring: 0, orphans: 0, nextVersion: 1 };

const COUNTER_FIELDS = ['layout', 'internal', 'metas', 'expiring', 'orphans', 'nextVersion'] as const;

export function decodeCounters(value: Buffer | undefined): Counters {
  if (value === undefined) return { ...NO_COUNTERS };
  const out = { ...NO_COUNTERS };
  COUNTER_FIELDS.forEach((f, i) => {
    if (8 * i + 8 <= value.length) out[f] = readU64(value, 8 * i);
  });
  return out;
}

export function encodeCounters(c: Counters): Buffer {
  const out = Buffer.alloc(8 * COUNTER_FIELDS.length);
  COUNTER_FIELDS.forEach((f, i) => writeU64(out, 8 * i, c[f]));
  return out;
}

// ---- numbers ---------------------------------------------------------------------

/** An unsigned integer below 2^53 as 8 big-endian bytes. */
export function writeU64(out: Buffer, at: number, n: number): void {
  out.writeUInt32BE(Math.floor(n / 0x1_0000_0000), at);
  out.writeUInt32BE(n >>> 0, at + 4);
}

export function readU64(b: Buffer, at: number): number {
  return b.readUInt32BE(at) * 0x1_0000_0000 + b.readUInt32BE(at + 4);
}

// ---- outside the server -----------------------------------------------------------

/**
 * The string value `xrpkv serve` holds for `key` in `db` (binary keys and
 * values), as GET would answer at `now`: its raw record, or its metadata
 * record while its deadline is ahead; undefined for a missing key, one past
 * its deadline, or one of another type. For `xrpkv get --redis`.
 */
export function servedString(db: { getSync(key: Buffer): Buffer | undefined }, key: Buffer, now = Date.now()): Buffer | undefined {
  const raw = db.getSync(rawKey(key));
  if (raw !== undefined) return raw;
  const meta = db.getSync(metaKey(key));
  if (meta === undefined || metaType(meta) !== KeyType.String) return undefined;
  const deadline = metaDeadline(meta);
  return deadline !== 0 && deadline <= now ? undefined : meta.subarray(STRING_VALUE_AT);
}
