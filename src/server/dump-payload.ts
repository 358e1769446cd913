// DUMP payloads, as Redis 7.0 makes and reads them: an RDB value (its type
// byte, then the value), the RDB version (2 bytes, little-endian) and a
// CRC-64 of all that (8 bytes, little-endian). `readPayload` takes what
// Redis 7.0 writes and what Redis 6 and 5 wrote (RDB versions 9 and 8:
// ziplists, the first stream layout); `writePayload` writes RDB version 10
// in the simplest types Redis 7.0 loads: plain sets, hashes and sorted
// sets (it packs small ones itself as it loads them), lists as listpacks,
// streams as listpacks of up to 100 entries.
import { BadPayload, RdbReader, RdbWriter, crc64 } from './rdb-format.js';
import { readIntset, readListpack, readZiplist, writeListpack } from './rdb-packed.js';
import { MAX_U64, compareIds, idBytes, idFromBytes, type StreamId } from './stream.js';

export const RDB_VERSION = 10;

const TYPE = {
  STRING: 0,
  LIST: 1,
  SET: 2,
  ZSET: 3,
  HASH: 4,
  ZSET_2: 5,
  LIST_ZIPLIST: 10,
  SET_INTSET: 11,
  ZSET_ZIPLIST: 12,
  HASH_ZIPLIST: 13,
  LIST_QUICKLIST: 14,
  STREAM_LISTPACKS: 15,
  HASH_LISTPACK: 16,
  ZSET_LISTPACK: 17,
  LIST_QUICKLIST_2: 18,
  STREAM_LISTPACKS_2: 19,
} as const;

/** A stream as a payload holds it: entries, its fields, and its consumer groups. */
export interface StreamValue {
  entries: { id: StreamId; fields: Buffer[] }[];
  last: StreamId;
  maxDeleted: StreamId;
  entriesAdded: bigint;
  groups: {
    name: Buffer;
    lastId: StreamId;
    entriesRead: bigint;
    pending: { id: StreamId; deliveryTime: number; deliveries: bigint }[];
    consumers: { name: Buffer; seenTime: number; pending: StreamId[] }[];
  }[];
}

/** A value a payload holds. */
export type DumpValue =
  | { type: 'string'; value: Buffer }
  | { type: 'list'; elements: Buffer[] }
  | { type: 'set'; members: Buffer[] }
  | { type: 'zset'; entries: { member: Buffer; score: number }[] }
  | { type: 'hash'; entries: [Buffer, Buffer][] }
  | { type: 'stream'; stream: StreamValue };

/** A payload's footer: the RDB version (u16) and the CRC-64 (u64) of all before it. */
const FOOTER = 10;

/** Whether the footer's version is one this reads and its checksum holds (Redis's verifyDumpPayload). */
export function payloadVerified(payload: Buffer): boolean {
  if (payload.length < FOOTER) return false;
  const footer = payload.length - FOOTER;
  if (payload.readUInt16LE(footer) > RDB_VERSION) return false;
  return crc64(payload.subarray(0, payload.length - 8)) === payload.readBigUInt64LE(footer + 2);
}

/** A payload's bytes before its footer (DUMP's value, FUNCTION DUMP's libraries). */
export const payloadBody = (payload: Buffer): Buffer => payload.subarray(0, payload.length - FOOTER);

// ---- reading ------------------------------------------------------------------------------

const pairs = (items: Buffer[]): [Buffer, Buffer][] => {
  if (items.length % 2 !== 0) throw new BadPayload('an odd number of items where pairs were expected');
  const out: [Buffer, Buffer][] = [];
  for (let i = 0; i < items.length; i += 2) out.push([items[i]!, items[i + 1]!]);
  return out;
};

/** A score as text (ziplists and listpacks hold scores so). */
function textScore(b: Buffer): number {
  const s = b.toString('latin1');
  const n = s === 'inf' || s === '+inf' ? Infinity : s === '-inf' ? -Infinity : Number(s);
  if (Number.isNaN(n) || s.trim() === '') throw new BadPayload(`a score that is not a number: ${s}`);
  return n;
}

/** The value of a payload whose footer `payloadVerified` accepted; BadPayload when it cannot be read. */
export function readPayload(payload: Buffer): DumpValue {
  const r = new RdbReader(payloadBody(payload));
  const type = r.byte();
  const value = readValue(r, type);
  if (!r.done) throw new BadPayload('bytes after the value');
  const empty =
    value.type === 'list' ? value.elements.length === 0 : value.type === 'set' ? value.members.length === 0 : value.type === 'zset' || value.type === 'hash' ? value.entries.length === 0 : false;
  if (empty) throw new BadPayload('an empty collection');
  return value;
}

function readValue(r: RdbReader, type: number): DumpValue {
  switch (type) {
    case TYPE.STRING:
      return { type: 'string', value: r.string() };
    case TYPE.LIST: {
      const n = r.count();
      return { type: 'list', elements: Array.from({ length: n }, () => r.string()) };
    }
    case TYPE.SET: {
      const n = r.count();
      return { type: 'set', members: Array.from({ length: n }, () => r.string()) };
    }
    case TYPE.ZSET:
    case TYPE.ZSET_2: {
      const n = r.count();
      const entries = Array.from({ length: n }, () => {
        const member = r.string();
        return { member, score: type === TYPE.ZSET_2 ? r.binaryDouble() : oldDouble(r) };
      });
      return { type: 'zset', entries };
    }
    case TYPE.HASH: {
      const n = r.count();
      return { type: 'hash', entries: Array.from({ length: n }, () => [r.string(), r.string()] as [Buffer, Buffer]) };
    }
    case TYPE.LIST_ZIPLIST:
      return { type: 'list', elements: readZiplist(r.string()) };
    case TYPE.SET_INTSET:
      return { type: 'set', members: readIntset(r.string()) };
    case TYPE.ZSET_ZIPLIST:
    case TYPE.ZSET_LISTPACK: {
      const items = type === TYPE.ZSET_LISTPACK ? readListpack(r.string()) : readZiplist(r.string());
      return { type: 'zset', entries: pairs(items).map(([member, score]) => ({ member, score: textScore(score) })) };
    }
    case TYPE.HASH_ZIPLIST:
      return { type: 'hash', entries: pairs(readZiplist(r.string())) };
    case TYPE.HASH_LISTPACK:
      return { type: 'hash', entries: pairs(readListpack(r.string())) };
    case TYPE.LIST_QUICKLIST:
    case TYPE.LIST_QUICKLIST_2: {
      const nodes = r.count();
      const elements: Buffer[] = [];
      for (let i = 0; i < nodes; i++) {
        const container = type === TYPE.LIST_QUICKLIST_2 ? r.len() : 2;
        const data = r.string();
        if (container === 1) elements.push(data);
        else if (container === 2) elements.push(...(type === TYPE.LIST_QUICKLIST_2 ? readListpack(data) : readZiplist(data)));
        else throw new BadPayload(`unknown quicklist container ${container}`);
      }
      return { type: 'list', elements };
    }
    case TYPE.STREAM_LISTPACKS:
    case TYPE.STREAM_LISTPACKS_2:
      return { type: 'stream', stream: readStream(r, type === TYPE.STREAM_LISTPACKS_2) };
    default:
      throw new BadPayload(`an RDB type xrpkv does not read: ${type}`);
  }
}

/** A double as RDB versions before 8 saved it: a length byte and its text (253-255: nan, +inf, -inf). */
function oldDouble(r: RdbReader): number {
  const len = r.byte();
  if (len === 253) return NaN;
  if (len === 254) return Infinity;
  if (len === 255) return -Infinity;
  return textScore(r.raw(len));
}

const id = (ms: bigint, seq: bigint): StreamId => ({ ms, seq });
const readId = (r: RdbReader) => id(r.u64(), r.u64());

/** Item flags of an entry in a stream listpack (t_stream.c). */
const ENTRY_DELETED = 1;
const ENTRY_SAMEFIELDS = 2;

/** One listpack of a stream: the entries it holds, not deleted, named by their IDs from `master`. */
function readStreamNode(master: StreamId, items: Buffer[]): { id: StreamId; fields: Buffer[] }[] {
  let at = 0;
  const next = () => {
    const item = items[at++];
    if (item === undefined) throw new BadPayload('a stream listpack cut short');
    return item;
  };
  const int = () => {
    const s = next().toString('latin1');
    if (!/^-?\d+$/.test(s)) throw new BadPayload('a stream listpack with text where a number was expected');
    return BigInt(s);
  };
  const count = int();
  const deleted = int();
  const fieldCount = int();
  if (fieldCount < 0n || fieldCount > BigInt(items.length)) throw new BadPayload('a stream master entry with more fields than its listpack');
  const masterFields = Array.from({ length: Number(fieldCount) }, next);
  if (int() !== 0n) throw new BadPayload('a stream master entry without its terminator');
  const out: { id: StreamId; fields: Buffer[] }[] = [];
  for (let i = 0n; i < count + deleted; i++) {
    const flags = Number(int());
    const entryId = id(BigInt.asUintN(64, master.ms + int()), BigInt.asUintN(64, master.seq + int()));
    const fields: Buffer[] = [];
    if (flags & ENTRY_SAMEFIELDS) for (const f of masterFields) fields.push(f, next());
    else {
      const n = int();
      if (n < 0n || n > BigInt(items.length)) throw new BadPayload('a stream entry with more fields than its listpack');
      for (let k = 0; k < 2 * Number(n); k++) fields.push(next());
    }
    int(); // lp-count: how many items the entry took, for reading backwards
    if (!(flags & ENTRY_DELETED)) out.push({ id: entryId, fields });
  }
  if (at !== items.length) throw new BadPayload('items after the last entry of a stream listpack');
  return out;
}

function readStream(r: RdbReader, v2: boolean): StreamValue {
  const nodes = r.count();
  const entries: StreamValue['entries'] = [];
  for (let i = 0; i < nodes; i++) {
    const key = r.string();
    if (key.length !== 16) throw new BadPayload('a stream node key that is not an ID');
    entries.push(...readStreamNode(idFromBytes(key), readListpack(r.string())));
  }
  for (let i = 1; i < entries.length; i++) if (compareIds(entries[i - 1]!.id, entries[i]!.id) >= 0) throw new BadPayload('stream entries out of order');
  const length = r.u64();
  if (length !== BigInt(entries.length)) throw new BadPayload('a stream length that differs from its entries');
  const last = readId(r);
  let maxDeleted = id(0n, 0n);
  let entriesAdded = length;
  if (v2) {
    readId(r); // the first entry's ID: xrpkv reads it from the entries
    maxDeleted = readId(r);
    entriesAdded = r.u64();
  }
  const groups: StreamValue['groups'] = [];
  const ngroups = r.count();
  for (let g = 0; g < ngroups; g++) {
    const name = r.string();
    const lastId = readId(r);
    const entriesRead = v2 ? BigInt.asIntN(64, r.u64()) : -1n;
    const pending = Array.from({ length: r.count() }, () => ({ id: idFromBytes(r.raw(16)), deliveryTime: Number(r.millis()), deliveries: BigInt.asIntN(64, r.u64()) }));
    const consumers = Array.from({ length: r.count() }, () => ({ name: r.string(), seenTime: Number(r.millis()), pending: Array.from({ length: r.count() }, () => idFromBytes(r.raw(16))) }));
    const owned = consumers.flatMap((c) => c.pending);
    if (owned.length !== pending.length) throw new BadPayload("a group's pending entries differ from its consumers'");
    groups.push({ name, lastId, entriesRead, pending, consumers });
  }
  if (last.ms === MAX_U64 && last.seq === MAX_U64 && entries.length === 0 && entriesAdded === 0n) throw new BadPayload('a stream at its last ID with no entries');
  return { entries, last, maxDeleted, entriesAdded, groups };
}

// ---- writing ------------------------------------------------------------------------------

/** Entries of one list node, and bytes (Redis's default list-max-listpack-size is 8 KB). */
const LIST_NODE_ENTRIES = 128;
const LIST_NODE_BYTES = 8192;
/** Entries of one stream node (Redis's stream-node-max-entries). */
const STREAM_NODE_ENTRIES = 100;

/** `body` with a payload's footer: the RDB version and the CRC-64 of both (DUMP's, and FUNCTION DUMP's). */
export function withFooter(body: Buffer): Buffer {
  const version = Buffer.alloc(2);
  version.writeUInt16LE(RDB_VERSION, 0);
  const withVersion = Buffer.concat([body, version]);
  const crc = Buffer.alloc(8);
  crc.writeBigUInt64LE(crc64(withVersion), 0);
  return Buffer.concat([withVersion, crc]);
}

/** The DUMP payload of `value`. */
export function writePayload(value: DumpValue): Buffer {
  return withFooter(writeTypedValue(new RdbWriter(), value).bytes());
}

/** Writes `value`'s RDB type byte and the value, as an RDB file and a DUMP payload hold them. */
export function writeTypedValue(w: RdbWriter, value: DumpValue): RdbWriter {
  switch (value.type) {
    case 'string':
      w.byte(TYPE.STRING).string(value.value);
      break;
    case 'set':
      w.byte(TYPE.SET).len(value.members.length);
      for (const m of value.members) w.string(m);
      break;
    case 'hash':
      w.byte(TYPE.HASH).len(value.entries.length);
      for (const [f, v] of value.entries) w.string(f).string(v);
      break;
    case 'zset':
      w.byte(TYPE.ZSET_2).len(value.entries.length);
      for (const e of value.entries) w.string(e.member).binaryDouble(e.score);
      break;
    case 'list': {
      const nodes: Buffer[][] = [];
      let bytes = Infinity;
      for (const e of value.elements) {
        if (bytes + e.length > LIST_NODE_BYTES || nodes[nodes.length - 1]!.length === LIST_NODE_ENTRIES) {
          nodes.push([]);
          bytes = 0;
        }
        nodes[nodes.length - 1]!.push(e);
        bytes += e.length;
      }
      w.byte(TYPE.LIST_QUICKLIST_2).len(nodes.length);
      for (const node of nodes) w.len(2).string(writeListpack(node));
      break;
    }
    case 'stream':
      writeStream(w.byte(TYPE.STREAM_LISTPACKS_2), value.stream);
      break;
  }
  return w;
}

/** A stream node's listpack: the master entry (its first entry's fields), then each entry, SAMEFIELDS where its fields are the master's. */
function streamNode(entries: StreamValue['entries']): Buffer {
  const master = entries[0]!;
  const masterFields = master.fields.filter((_, i) => i % 2 === 0);
  const items: Buffer[] = [];
  const int = (n: number | bigint) => items.push(Buffer.from(String(n)));
  int(entries.length);
  int(0);
  int(masterFields.length);
  items.push(...masterFields);
  int(0);
  for (const e of entries) {
    const names = e.fields.filter((_, i) => i % 2 === 0);
    const same = names.length === masterFields.length && names.every((f, i) => f.equals(masterFields[i]!));
    int(same ? ENTRY_SAMEFIELDS : 0);
    int(BigInt.asIntN(64, e.id.ms - master.id.ms));
    int(BigInt.asIntN(64, e.id.seq - master.id.seq));
    if (same) for (let i = 1; i < e.fields.length; i += 2) items.push(e.fields[i]!);
    else {
      int(names.length);
      items.push(...e.fields);
    }
    int(same ? names.length + 3 : 2 * names.length + 4);
  }
  return writeListpack(items);
}

function writeStream(w: RdbWriter, s: StreamValue): void {
  const nodes: StreamValue['entries'][] = [];
  for (let i = 0; i < s.entries.length; i += STREAM_NODE_ENTRIES) nodes.push(s.entries.slice(i, i + STREAM_NODE_ENTRIES));
  w.len(nodes.length);
  for (const node of nodes) w.string(idBytes(node[0]!.id)).string(streamNode(node));
  const first = s.entries[0]?.id ?? id(0n, 0n);
  w.len(s.entries.length).len(s.last.ms).len(s.last.seq).len(first.ms).len(first.seq).len(s.maxDeleted.ms).len(s.maxDeleted.seq).len(s.entriesAdded);
  w.len(s.groups.length);
  for (const g of s.groups) {
    w.string(g.name).len(g.lastId.ms).len(g.lastId.seq).len(BigInt.asUintN(64, g.entriesRead));
    w.len(g.pending.length);
    for (const p of g.pending) w.raw(idBytes(p.id)).millis(p.deliveryTime).len(BigInt.asUintN(64, p.deliveries));
    w.len(g.consumers.length);
    for (const c of g.consumers) {
      w.string(c.name).millis(c.seenTime).len(c.pending.length);
      for (const p of c.pending) w.raw(idBytes(p));
    }
  }
}
