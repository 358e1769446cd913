// Redis's keys and values over the store's records (layout.ts), through a
// StoreView: the last published commit for a read, a transaction for a
// write. Every command on the data goes through here, so that what must
// hold for every write holds in one place:
// - a key is one record: its raw string record, or its metadata record;
//   writing a key of one kind removes it as the other kind;
// - a key past its deadline is gone for every command at once; a write
//   that meets one removes it (as Redis's lazy expiry), the sweep the rest;
// - the expiry index and the counters (layout.ts, Counters) follow every
//   metadata and member record written or removed, in the same transaction;
// - a write that changes a key tells WATCH (`touched`), in the order the
//   writes apply;
// - a member record's key fits the store's key size, or the command fails
//   before it writes anything of it.
import { randomBytes } from 'node:crypto';
import { ReplyError } from './command-spec.js';
import {
  COUNTERS_KEY,
  ESCAPED_START,
  KeyType,
  META_END,
  META_START,
  RESERVED_START,
  STREAM_FIELDS,
  STRING_VALUE_AT,
  decodeCounters,
  decodeMeta,
  encodeCounters,
  encodeMeta,
  encodeStringMeta,
  expiryKey,
  fromMetaKey,
  fromRawKey,
  isReserved,
  memberKey,
  memberPrefix,
  memberPrefixLength,
  memberRecordKey,
  metaKey,
  orphanKey,
  orphanValue,
  prefixEnd,
  rawKey,
  type Counters,
  type Meta,
} from './layout.js';
import { MetaRecords } from './meta-records.js';
import { streamState } from './stream.js';
import type { StoreView, TxnView } from './store-view.js';

/** What the data layer tells the server, and asks of it: keyspace.ts implements it. */
export interface DataHooks {
  /** `key` was changed (WATCH's clients must fail their EXEC; clients blocked on it try again). */
  touched(key: Buffer): void;
  /** Only a stream's consumer groups changed: clients blocked on `key` try again, WATCH does not hear of it (as in Redis). */
  ready(key: Buffer): void;
  /** A read command looked a key up (INFO's keyspace_hits and keyspace_misses). */
  looked(hit: boolean): void;
  /** Whether the last published commit may hold metadata records (none: a string-only database skips looking). */
  readonly mayHaveMetas: boolean;
  /** The longest record key the store takes. */
  readonly maxKeyLength: number;
}

/** A live key: its metadata, and for a string its value. */
export interface Found {
  meta: Meta;
  value: Buffer | undefined;
}

/** The metadata of a string without a deadline (a raw record). */
const PLAIN_STRING: Readonly<Meta> = { type: KeyType.String, deadline: 0, version: 0, size: 0, head: 0, tail: 0 };

/** Bytes a metadata record's key adds to the user key. */
const META_OVERHEAD = 2;

/** Collections of at most this many records are removed with their key; larger ones are left to the sweep. */
const REMOVE_INLINE = 128;

export const WRONGTYPE = () => new ReplyError('WRONGTYPE Operation against a key holding the wrong kind of value');

export class Data {
  /**
   * The metadata records this transaction has found and written
   * (meta-records.ts): every write of a raw or metadata record goes through
   * the methods below, which keep it in step, and every range read through
   * `range`, which writes what it holds unwritten first. None for a read
   * command's view (one lookup, nothing written).
   */
  private readonly metas: MetaRecords | undefined;
  /** Counters as this transaction changes them (loaded from the store at the first change). */
  private counters: Counters | undefined;
  private countersExisted = true;
  /** Keys that passed their deadline and were removed here. */
  expired = 0;
  /** Keys this transaction added less the keys it removed (DBSIZE inside EXEC). */
  keysDelta = 0;

  constructor(
    readonly view: StoreView,
    private readonly hooks: DataHooks,
  ) {
    this.metas = view.writable ? new MetaRecords() : undefined;
  }

  get now(): number {
    return this.view.now;
  }

  // ---- finding keys ---------------------------------------------------------------

  /** The key as it is now, or undefined (missing, or past its deadline: a write then removes it). */
  find(key: Buffer): Found | undefined {
    const { metas } = this;
    const name = metas === undefined ? '' : key.toString('latin1');
    let record: Buffer | undefined;
    if (metas?.has(name)) record = metas.record(name);
    else {
      const raw = this.view.get(rawKey(key));
      if (raw !== undefined) return { meta: PLAIN_STRING, value: raw };
      if (!this.view.writable && !this.hooks.mayHaveMetas) return undefined;
      // A key too long for a metadata record has none.
      if (key.length + META_OVERHEAD > this.hooks.maxKeyLength) return undefined;
      record = this.view.get(metaKey(key));
      metas?.found(this.view, name, record);
    }
    if (record === undefined) return undefined;
    const meta = decodeMeta(record);
    if (meta.deadline !== 0 && meta.deadline <= this.now) {
      if (this.view.writable) this.expire(key, meta);
      return undefined;
    }
    return { meta, value: meta.type === KeyType.String ? record.subarray(STRING_VALUE_AT) : undefined };
  }

  /** `find` for a read command: counted as a keyspace hit or miss. */
  read(key: Buffer): Found | undefined {
    const found = this.find(key);
    this.hooks.looked(found !== undefined);
    return found;
  }

  exists(key: Buffer): boolean {
    return this.find(key) !== undefined;
  }

  /** The string value at `key` (undefined when missing); WRONGTYPE for another type. */
  string(key: Buffer): Buffer | undefined {
    const found = this.read(key);
    if (found === undefined) return undefined;
    if (found.meta.type !== KeyType.String) throw WRONGTYPE();
    return found.value;
  }

  /** When `key` expires (ms since the epoch); 0 when it has no deadline or is missing. */
  deadline(key: Buffer): number {
    return this.find(key)?.meta.deadline ?? 0;
  }

  /** `key`'s collection metadata of `type` (undefined when missing); WRONGTYPE for another type. */
  collection(key: Buffer, type: KeyType, counted = true): Meta | undefined {
    const found = counted ? this.read(key) : this.find(key);
    if (found === undefined) return undefined;
    if (found.meta.type !== type) throw WRONGTYPE();
    return found.meta;
  }

  // ---- writing keys ----------------------------------------------------------------

  /** Sets `key` to a string; `deadline` 0: none. Whatever the key held goes. */
  setString(key: Buffer, value: Buffer, deadline = 0, found = this.find(key)): void {
    if (found === undefined) this.keysDelta++;
    if (found !== undefined && found.meta !== PLAIN_STRING) this.removeMeta(key, found.meta);
    if (deadline === 0) {
      if (isReserved(key)) this.countersExist();
      this.putRaw(key, value);
    } else {
      if (found?.meta === PLAIN_STRING) this.removeRaw(key);
      this.putMeta(key, undefined, { type: KeyType.String, deadline, version: 0, size: 0, head: 0, tail: 0 }, value);
    }
    this.hooks.touched(key);
  }

  /** Gives an existing key a deadline (0: none); false when the key is missing. */
  setDeadline(key: Buffer, deadline: number, found = this.find(key)): boolean {
    if (found === undefined) return false;
    const { meta } = found;
    if (meta.deadline === deadline) return true;
    if (meta.type === KeyType.String) {
      const value = found.value!;
      if (meta === PLAIN_STRING) this.removeRaw(key);
      else this.removeMeta(key, meta);
      if (deadline === 0) this.putRaw(key, value);
      else this.putMeta(key, undefined, { ...PLAIN_STRING, deadline }, value);
    } else {
      this.putMeta(key, meta, { ...meta, deadline });
    }
    this.hooks.touched(key);
    return true;
  }

  /** Removes `key` whatever it holds; whether it existed. */
  remove(key: Buffer, found = this.find(key)): boolean {
    if (found === undefined) return false;
    if (found.meta === PLAIN_STRING) this.removeRaw(key);
    else this.removeMeta(key, found.meta);
    this.keysDelta--;
    this.hooks.touched(key);
    return true;
  }

  /** Removes a key found past its deadline. */
  private expire(key: Buffer, meta: Meta): void {
    this.removeMeta(key, meta);
    this.keysDelta--;
    this.expired++;
    this.hooks.touched(key);
  }

  /** Removes every key (FLUSHDB inside EXEC); the counters start again, keeping the version. */
  removeAll(): void {
    const keys = [...this.keys()].map((k) => k.key);
    for (const key of keys) this.hooks.touched(key);
    this.keysDelta -= keys.length;
    const nextVersion = this.loadCounters().nextVersion;
    const records: Buffer[] = [];
    for (const [record] of this.range(Buffer.alloc(0), undefined)) records.push(record);
    for (const record of records) this.view.remove(record);
    this.metas?.clear(this.view);
    this.counters = { ...decodeCounters(undefined), nextVersion };
    this.countersExisted = false;
  }

  // ---- collections -------------------------------------------------------------------

  /** Metadata for a new collection at `key` (nothing is written until `saveMeta`). */
  newCollection(type: KeyType, deadline = 0): Meta {
    const counters = this.loadCounters();
    const version = counters.nextVersion++;
    return { type, deadline, version, size: 0, head: 0, tail: 0, ...(type === KeyType.Stream ? { stream: Buffer.alloc(STREAM_FIELDS) } : {}) };
  }

  /**
   * Writes a collection's metadata after its members changed (`before`: as
   * it was, undefined for a new one). An empty collection is removed, as
   * Redis removes it; but for a stream, which Redis keeps, empty.
   * `modified` false: only a stream's consumer groups changed, which WATCH
   * does not see.
   */
  saveMeta(key: Buffer, before: Meta | undefined, meta: Meta, modified = true): void {
    if (meta.size === 0 && meta.type !== KeyType.Stream) {
      if (before !== undefined) this.removeMeta(key, { ...before, size: 0 });
      if (before !== undefined) this.keysDelta--;
    } else {
      if (before === undefined) this.keysDelta++;
      this.putMeta(key, before, meta);
    }
    if (modified) this.hooks.touched(key);
    else this.hooks.ready(key);
  }

  /** For a write to the collection at `key`: its metadata as it is (undefined when missing), and a copy to change (a new collection's when missing). */
  openCollection(key: Buffer, type: KeyType): { before: Meta | undefined; meta: Meta } {
    const before = this.collection(key, type, false);
    return { before, meta: before !== undefined ? { ...before } : this.newCollection(type) };
  }

  /** The value of `member` of the collection, or undefined (a member too long to store is never there). */
  memberValue(key: Buffer, meta: Meta, member: Buffer, space: 'member' | 'score' = 'member'): Buffer | undefined {
    if (memberPrefixLength(key) + member.length > this.hooks.maxKeyLength) return undefined;
    return this.view.get(memberRecordKey(key, meta.version, space, member));
  }

  /** The record key of `member` of the collection (`space`: the members, or a zset's score index). */
  memberRecord(key: Buffer, meta: Meta, member: Buffer, space: 'member' | 'score' = 'member'): Buffer {
    this.memberFits(key, member.length);
    return memberRecordKey(key, meta.version, space, member);
  }

  /** Throws unless a member of `length` bytes of the collection at `key` fits a record. */
  memberFits(key: Buffer, length: number): void {
    const total = memberPrefixLength(key) + length;
    if (total > this.hooks.maxKeyLength) {
      throw new ReplyError(`ERR member too large: xrpkv keeps a key and its member together in one record of at most ${this.hooks.maxKeyLength} bytes (here ${total})`);
    }
  }

  /**
   * Puts a member record; whether it is new. `fresh`, when the caller knows
   * (a list's new index, a sorted set's score index record, a member it has
   * just read): whether it is new, so that neither this nor the store's
   * commit looks it up.
   */
  putMember(record: Buffer, value: Buffer, fresh = this.view.get(record) === undefined): boolean {
    this.view.putKnown(record, value, !fresh);
    if (fresh) this.change('internal', 1);
    return fresh;
  }

  /** Removes a member record; whether it was there. `there`, when the caller knows (a sorted set's old score record): it was, and nothing looks it up. */
  removeMember(record: Buffer, there?: true): boolean {
    let existed: boolean;
    if (there) {
      this.view.removeKnown(record, true);
      existed = true;
    } else {
      existed = this.view.remove(record);
    }
    if (existed) this.change('internal', -1);
    return existed;
  }

  /** The member records of a collection in [from, to) of member names (whole when absent), as [member, value]; lazy. */
  *members(key: Buffer, meta: Meta, options: { from?: Buffer; to?: Buffer; reverse?: boolean; space?: 'member' | 'score' } = {}): Generator<[Buffer, Buffer]> {
    const prefix = memberPrefix(key, meta.version, options.space);
    const start = options.from === undefined ? prefix : memberKey(prefix, options.from);
    const end = options.to === undefined ? prefixEnd(prefix) : memberKey(prefix, options.to);
    for (const [record, value] of this.range(start, end, options.reverse)) yield [record.subarray(prefix.length), value];
  }

  /** The values of the member records `members` would give, without the members' names. */
  *memberValues(key: Buffer, meta: Meta, options: { from?: Buffer; to?: Buffer; reverse?: boolean } = {}): Generator<Buffer> {
    const prefix = memberPrefix(key, meta.version);
    const start = options.from === undefined ? prefix : memberKey(prefix, options.from);
    const end = options.to === undefined ? prefixEnd(prefix) : memberKey(prefix, options.to);
    for (const [, value] of this.range(start, end, options.reverse)) yield value;
  }

  /** Writes `found` (the key `from` as it is) under the free key `to`, with its deadline: a string's value, or a collection's members under a new version. */
  copy(from: Buffer, found: Found, to: Buffer): void {
    const { meta } = found;
    if (meta.type === KeyType.String) return this.setString(to, found.value!, meta.deadline, undefined);
    const copy = { ...this.newCollection(meta.type, meta.deadline), size: meta.size, head: meta.head, tail: meta.tail, ...(meta.stream ? { stream: Buffer.from(meta.stream) } : {}) };
    for (const space of spacesOf(meta.type)) {
      for (const [member, value] of this.members(from, meta, { space })) this.putMember(this.memberRecord(to, copy, member, space), value);
    }
    this.saveMeta(to, undefined, copy);
  }

  /**
   * A live key from a random place in key order, or undefined when there is
   * none: the first key at or after a random point between the first and
   * the last key (past their common prefix). Keys after large gaps come up
   * more often, where Redis picks uniformly.
   */
  randomKey(): Buffer | undefined {
    const first = this.firstKey();
    if (first === undefined) return undefined;
    const last = this.lastKey() ?? first;
    let common = 0;
    while (common < first.length && common < last.length && first[common] === last[common]) common++;
    const lo = first[common] ?? 0;
    const hi = last[common] ?? 0;
    const point = Buffer.concat([first.subarray(0, common), Buffer.from([lo + Math.floor(Math.random() * (Math.max(hi, lo) - lo + 1))]), randomBytes(4)]);
    return this.firstKey(point) ?? first;
  }

  private firstKey(after?: Buffer): Buffer | undefined {
    for (const { key } of take(this.keys(after), 1)) return key;
    return undefined;
  }

  /** The last key in key order (live or not: only a bound for `randomKey`). */
  private lastKey(): Buffer | undefined {
    const [escaped] = [...take(this.range(ESCAPED_START, undefined, true), 1)];
    const [plain] = escaped === undefined ? [...take(this.range(Buffer.alloc(0), RESERVED_START, true), 1)] : [];
    const [meta] = [...take(this.range(META_START, META_END, true), 1)];
    const raw = escaped !== undefined ? fromRawKey(escaped[0]) : plain?.[0];
    const metaKeyName = meta === undefined ? undefined : fromMetaKey(meta[0]);
    if (raw === undefined || metaKeyName === undefined) return raw ?? metaKeyName;
    return Buffer.compare(raw, metaKeyName) > 0 ? raw : metaKeyName;
  }

  // ---- iterating keys ------------------------------------------------------------

  /**
   * Live keys in key order with their types, after `after` (exclusive) and
   * starting with `prefix`: raw strings and metadata records merged; lazy.
   */
  *keys(after?: Buffer, prefix: Buffer = Buffer.alloc(0)): Generator<{ key: Buffer; type: KeyType }> {
    const from = after !== undefined && Buffer.compare(after, prefix) >= 0 ? Buffer.concat([after, Buffer.alloc(1)]) : prefix;
    const to = prefix.length === 0 ? undefined : prefixEnd(prefix);
    const raw = this.rawKeys(from, to)[Symbol.iterator]();
    const metas = this.range(Buffer.concat([META_START, from]), to === undefined ? META_END : Buffer.concat([META_START, to]))[Symbol.iterator]();
    let a = raw.next();
    let b = metas.next();
    while (!a.done || !b.done) {
      const metaUserKey = b.done ? undefined : fromMetaKey(b.value[0]);
      if (!a.done && (metaUserKey === undefined || Buffer.compare(a.value, metaUserKey) < 0)) {
        yield { key: a.value, type: KeyType.String };
        a = raw.next();
        continue;
      }
      const meta = decodeMeta(b.value![1]);
      if (meta.deadline === 0 || meta.deadline > this.now) yield { key: metaUserKey!, type: meta.type };
      b = metas.next();
    }
  }

  /** User keys of raw string records in [from, to) (to undefined: no end). */
  private *rawKeys(from: Buffer, to: Buffer | undefined): Generator<Buffer> {
    // Outside the reserved space, then the escaped keys (0xFF ... as FF FF ...).
    if (!isReserved(from)) {
      const end = to !== undefined && Buffer.compare(to, RESERVED_START) < 0 ? to : RESERVED_START;
      for (const [record] of this.range(from, end)) yield record;
      if (end !== RESERVED_START) return;
    }
    const start = isReserved(from) ? rawKey(from) : ESCAPED_START;
    const end = to === undefined || !isReserved(to) ? undefined : rawKey(to);
    for (const [record] of this.range(start, end)) yield fromRawKey(record);
  }

  // ---- metadata and counters -----------------------------------------------------

  /** Writes `meta` for `key` (`before`: the record there now, if any), keeping the expiry index and counters. */
  private putMeta(key: Buffer, before: Meta | undefined, meta: Meta, stringValue?: Buffer): void {
    const max = this.hooks.maxKeyLength - META_OVERHEAD;
    if (key.length > max) {
      throw new ReplyError(`ERR key too large: ${key.length} bytes; xrpkv keys with a deadline or of a type other than string are at most ${max} bytes with this database's page size`);
    }
    if (before === undefined) {
      this.change('metas', 1);
      if (meta.deadline !== 0) this.change('expiring', 1);
    } else if (before.deadline !== meta.deadline) {
      if (before.deadline !== 0) this.removeMember(expiryKey(before.deadline, key));
      if (meta.deadline === 0) this.change('expiring', -1);
      else if (before.deadline === 0) this.change('expiring', 1);
    }
    if (meta.deadline !== 0 && before?.deadline !== meta.deadline) this.putMember(expiryKey(meta.deadline, key), Buffer.alloc(0));
    const record = meta.type === KeyType.String ? encodeStringMeta(stringValue!, meta.deadline) : encodeMeta(meta);
    // A key is one record: with its metadata record written, it has no raw
    // one. Where `find` has looked (the key has an entry), the write waits
    // for the next flush: the group's next command on the key changes it again.
    const name = key.toString('latin1');
    if (this.metas?.has(name)) this.metas.wrote(name, key, record);
    else this.view.put(metaKey(key), record);
  }

  /** Writes `key`'s raw string record (its metadata record is gone or going: `find` must look again). */
  private putRaw(key: Buffer, value: Buffer): void {
    this.view.put(rawKey(key), value);
    this.metas?.forget(key.toString('latin1'));
  }

  private removeRaw(key: Buffer): void {
    this.view.remove(rawKey(key));
    this.metas?.forget(key.toString('latin1'));
  }

  /** Removes `key`'s metadata record, its expiry index record and its members (or leaves them to the sweep). */
  private removeMeta(key: Buffer, meta: Meta): void {
    this.view.remove(metaKey(key));
    this.metas?.removed(key.toString('latin1'));
    this.change('metas', -1);
    if (meta.deadline !== 0) {
      this.removeMember(expiryKey(meta.deadline, key));
      this.change('expiring', -1);
    }
    const records = recordsOf(meta);
    if (records === 0) return;
    if (records > REMOVE_INLINE) {
      // Too many to remove in this command: the members stay, unreachable (no metadata has their version), until the sweep.
      this.putMember(orphanKey(meta.version), orphanValue(meta.type, key));
      this.change('orphans', records);
      return;
    }
    for (const space of spacesOf(meta.type)) this.removeMembers(key, meta, space, Infinity);
  }

  /** Removes up to `limit` member records of a collection (the sweep's work on orphans); how many it removed. */
  removeMembers(key: Buffer, meta: Meta, space: 'member' | 'score', limit: number): number {
    const records: Buffer[] = [];
    const prefix = memberPrefix(key, meta.version, space);
    for (const [record] of this.range(prefix, prefixEnd(prefix))) {
      if (records.length === limit) break;
      records.push(record);
    }
    for (const record of records) this.removeMember(record);
    return records.length;
  }

  /** The counters as this transaction changes them. */
  loadCounters(): Counters {
    if (this.counters === undefined) {
      const stored = this.view.get(COUNTERS_KEY);
      this.countersExisted = stored !== undefined;
      this.counters = decodeCounters(stored);
    }
    return this.counters;
  }

  change(field: 'internal' | 'metas' | 'expiring' | 'orphans', delta: number): void {
    this.loadCounters()[field] += delta;
  }

  /** The counters record must exist from now on (it marks a database written with this layout). */
  private countersExist(): void {
    this.loadCounters();
  }

  /** Writes the counters this transaction changed; returns them (undefined when it changed none). */
  finish(): Counters | undefined {
    this.metas?.flush(this.view);
    const counters = this.counters;
    if (counters === undefined || !this.view.writable) return undefined;
    if (!this.countersExisted) {
      counters.internal++;
      this.countersExisted = true;
    }
    this.view.put(COUNTERS_KEY, encodeCounters(counters));
    return counters;
  }

  /** The view's records in [start, end), once what `metas` holds unwritten is written. */
  private range(start: Buffer, end: Buffer | undefined, reverse?: boolean): Iterable<[Buffer, Buffer]> {
    this.metas?.flush(this.view);
    return this.view.range(start, end, reverse);
  }

  // ---- one command of EXEC or of a write group ----------------------------------------

  /**
   * Runs `fn` (one command inside a transaction of several); if it throws,
   * nothing it did is kept, its writes (TxnView.nested) nor its changes to
   * the counters, and the error is thrown on.
   */
  nested<T>(fn: () => T): T {
    const c = this.counters;
    // A literal of the fields, not a spread: every command of a write group runs here.
    const counters: Counters | undefined = c && { layout: c.layout, internal: c.internal, metas: c.metas, expiring: c.expiring, orphans: c.orphans, nextVersion: c.nextVersion };
    const { expired, keysDelta, countersExisted } = this;
    this.metas?.begin();
    try {
      const result = (this.view as TxnView).nested(fn);
      this.metas?.end();
      return result;
    } catch (e) {
      this.metas?.rollback();
      this.counters = counters;
      this.expired = expired;
      this.keysDelta = keysDelta;
      this.countersExisted = countersExisted;
      throw e;
    }
  }
}

/** The record spaces of a collection: its members, and a sorted set's score index or a stream's consumer groups. */
export const spacesOf = (type: KeyType): ('member' | 'score')[] => (type === KeyType.ZSet || type === KeyType.Stream ? ['member', 'score'] : ['member']);

/** How many member records a key's metadata stands for. */
function recordsOf(meta: Meta): number {
  switch (meta.type) {
    case KeyType.String:
      return 0;
    case KeyType.ZSet:
      return 2 * meta.size;
    case KeyType.Stream:
      return meta.size + streamState(meta).groupRecords;
    default:
      return meta.size;
  }
}

/** The first `n` of `items`, closing the iterator after them (a range read releases its snapshot). */
export function* take<T>(items: Iterable<T>, n: number): Generator<T> {
  if (n === 0) return;
  let i = 0;
  for (const item of items) {
    yield item;
    if (++i === n) return;
  }
}
