// A stream's consumer groups as records, in the stream's second record
// space (layout.ts's score space, which a stream has no other use for):
//
//   'G' group                           -> last delivered ID (16), entries read (i64; -1: not known),
//                                          pending entries (u64), consumers (u64)
//   'C' len(group) group consumer       -> seen time (ms, u64), pending entries (u64)
//   'P' len(group) group ID             -> delivery time (ms, u64), deliveries (i64), consumer
//   'Q' len(group) group len(consumer) consumer ID -> ''  (the consumer's own pending entries)
//
// (len: 16 bits, big-endian.) Groups sort by name, a group's consumers by
// name and pending entries by ID, as Redis's radix trees order them.
//
// What must hold, after every command:
// - an entry is pending in a group exactly when its 'P' record exists, and
//   then it is pending for the one consumer that record names, which has a
//   'Q' record for it; no 'Q' record without its 'P' record;
// - a group's counts of pending entries and consumers, and a consumer's of
//   pending entries, are the numbers of those records;
// - the stream's `groupRecords` (stream.ts) counts every record here, so a
//   DEL knows what it leaves to the sweep (data.ts).
import type { DataContext } from './command-spec.js';
import { prefixEnd, type Meta } from './layout.js';
import { MIN_ID, idBytes, idFromBytes, setStreamState, streamState, type StreamId } from './stream.js';

export interface Group {
  readonly name: Buffer;
  lastId: StreamId;
  /** Entries delivered up to `lastId` since the stream began (-1: not known), for the lag. */
  entriesRead: bigint;
  pending: number;
  consumers: number;
}

export interface Consumer {
  readonly name: Buffer;
  /** When it last read or claimed (ms since the epoch). */
  seenTime: number;
  pending: number;
}

/** An entry delivered and not yet acknowledged (Redis's NACK). */
export interface Pending {
  readonly id: StreamId;
  consumer: Buffer;
  deliveryTime: number;
  deliveries: bigint;
}

const GROUP = 0x47; // 'G'
const CONSUMER = 0x43; // 'C'
const PENDING = 0x50; // 'P'
const OWNED = 0x51; // 'Q'

function tagged(tag: number, ...parts: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([tag]), ...parts]);
}

function sized(name: Buffer): Buffer {
  const len = Buffer.allocUnsafe(2);
  len.writeUInt16BE(name.length, 0);
  return Buffer.concat([len, name]);
}

const groupName = (name: Buffer) => tagged(GROUP, name);
const consumerName = (g: Buffer, c: Buffer) => tagged(CONSUMER, sized(g), c);
const pendingName = (g: Buffer, id: StreamId) => tagged(PENDING, sized(g), idBytes(id));
const ownedName = (g: Buffer, c: Buffer, id: StreamId) => tagged(OWNED, sized(g), sized(c), idBytes(id));

function encodeGroup(g: Group): Buffer {
  const b = Buffer.allocUnsafe(40);
  idBytes(g.lastId).copy(b, 0);
  b.writeBigInt64BE(g.entriesRead, 16);
  b.writeBigUInt64BE(BigInt(g.pending), 24);
  b.writeBigUInt64BE(BigInt(g.consumers), 32);
  return b;
}

function decodeGroup(name: Buffer, b: Buffer): Group {
  return { name, lastId: idFromBytes(b), entriesRead: b.readBigInt64BE(16), pending: Number(b.readBigUInt64BE(24)), consumers: Number(b.readBigUInt64BE(32)) };
}

function encodeConsumer(c: Consumer): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeBigUInt64BE(BigInt(c.seenTime), 0);
  b.writeBigUInt64BE(BigInt(c.pending), 8);
  return b;
}

const decodeConsumer = (name: Buffer, b: Buffer): Consumer => ({ name, seenTime: Number(b.readBigUInt64BE(0)), pending: Number(b.readBigUInt64BE(8)) });

function encodePending(p: Pending): Buffer {
  const b = Buffer.allocUnsafe(16 + p.consumer.length);
  b.writeBigUInt64BE(BigInt(p.deliveryTime), 0);
  b.writeBigInt64BE(BigInt.asIntN(64, p.deliveries), 8);
  p.consumer.copy(b, 16);
  return b;
}

const decodePending = (id: StreamId, b: Buffer): Pending => ({ id, deliveryTime: Number(b.readBigUInt64BE(0)), deliveries: b.readBigInt64BE(8), consumer: Buffer.from(b.subarray(16)) });

/**
 * The consumer groups of one stream, for one command: groups and consumers
 * it reads are kept and written back by `save` (a write command calls it
 * once, at its end); pending entries are written at once.
 */
export class StreamGroups {
  private readonly groupCache = new Map<string, Group | undefined>();
  private readonly consumerCache = new Map<string, Consumer | undefined>();
  private readonly changedGroups = new Set<Group>();
  private readonly changedConsumers = new Map<Consumer, Group>();
  private records: number;
  /** The count of group records in the stream's metadata as last saved. */
  private recordsSaved: number;

  /** `meta`: the stream's metadata, a copy the command may change (`before`: as read, for `save`). */
  constructor(
    private readonly cmd: DataContext,
    readonly key: Buffer,
    readonly meta: Meta,
  ) {
    this.records = this.recordsSaved = streamState(meta).groupRecords;
  }

  private get data() {
    return this.cmd.data;
  }

  private value(name: Buffer): Buffer | undefined {
    return this.data.memberValue(this.key, this.meta, name, 'score');
  }

  private put(name: Buffer, value: Buffer, fresh?: boolean): void {
    if (this.data.putMember(this.data.memberRecord(this.key, this.meta, name, 'score'), value, fresh)) this.records++;
  }

  private remove(name: Buffer): void {
    if (this.data.removeMember(this.data.memberRecord(this.key, this.meta, name, 'score'))) this.records--;
  }

  /** The records whose names start with `prefix` (from `from` on), in order: [the rest of the name, value]. */
  private *under(prefix: Buffer, from: Buffer = prefix, reverse = false): Generator<[Buffer, Buffer]> {
    for (const [name, value] of this.data.members(this.key, this.meta, { space: 'score', from, to: prefixEnd(prefix), reverse })) yield [name.subarray(prefix.length), value];
  }

  // ---- groups -----------------------------------------------------------------------

  group(name: Buffer): Group | undefined {
    const k = name.toString('latin1');
    if (!this.groupCache.has(k)) {
      const v = this.value(groupName(name));
      this.groupCache.set(k, v === undefined ? undefined : decodeGroup(name, v));
    }
    return this.groupCache.get(k);
  }

  /** A new group (undefined when one of that name exists). */
  createGroup(name: Buffer, lastId: StreamId, entriesRead: bigint): Group | undefined {
    if (this.group(name) !== undefined) return undefined;
    const g: Group = { name, lastId, entriesRead, pending: 0, consumers: 0 };
    this.put(groupName(name), encodeGroup(g), true);
    this.groupCache.set(name.toString('latin1'), g);
    return g;
  }

  /** Every group, by name. */
  groups(): Group[] {
    return [...this.under(Buffer.from([GROUP]))].map(([name, v]) => cached(this.groupCache, Buffer.from(name), name.toString('latin1'), v, decodeGroup));
  }

  changed(g: Group): void {
    this.changedGroups.add(g);
  }

  /** Removes the group, its consumers and its pending entries. */
  destroyGroup(g: Group): void {
    for (const tag of [PENDING, OWNED, CONSUMER]) {
      const prefix = tagged(tag, sized(g.name));
      for (const [rest] of [...this.under(prefix)]) this.remove(Buffer.concat([prefix, rest]));
    }
    this.remove(groupName(g.name));
    this.groupCache.set(g.name.toString('latin1'), undefined);
    this.changedGroups.delete(g);
    for (const [c, of] of this.changedConsumers) if (of === g) this.changedConsumers.delete(c);
    for (const k of [...this.consumerCache.keys()]) if (k.startsWith(consumerName(g.name, Buffer.alloc(0)).toString('latin1'))) this.consumerCache.delete(k);
  }

  // ---- consumers --------------------------------------------------------------------

  /** The consumer, or undefined; `seen`: it is reading or claiming now (its seen time becomes now). */
  consumer(g: Group, name: Buffer, seen: boolean): Consumer | undefined {
    const k = consumerName(g.name, name).toString('latin1');
    if (!this.consumerCache.has(k)) {
      const v = this.value(consumerName(g.name, name));
      this.consumerCache.set(k, v === undefined ? undefined : decodeConsumer(name, v));
    }
    const c = this.consumerCache.get(k);
    if (c !== undefined && seen) {
      c.seenTime = this.data.now;
      this.changedConsumers.set(c, g);
    }
    return c;
  }

  /** A new consumer, seen now or at `seenTime` (undefined when it exists). */
  createConsumer(g: Group, name: Buffer, seenTime = this.data.now): Consumer | undefined {
    if (this.consumer(g, name, false) !== undefined) return undefined;
    const c: Consumer = { name, seenTime, pending: 0 };
    this.put(consumerName(g.name, name), encodeConsumer(c), true);
    this.consumerCache.set(consumerName(g.name, name).toString('latin1'), c);
    g.consumers++;
    this.changedGroups.add(g);
    return c;
  }

  /** The consumer, made if it is new; its seen time now. */
  seenConsumer(g: Group, name: Buffer): Consumer {
    return this.consumer(g, name, true) ?? this.createConsumer(g, name)!;
  }

  /** Every consumer of the group, by name. */
  consumers(g: Group): Consumer[] {
    return [...this.under(consumerName(g.name, Buffer.alloc(0)))].map(([name, v]) =>
      cached(this.consumerCache, Buffer.from(name), consumerName(g.name, name).toString('latin1'), v, decodeConsumer),
    );
  }

  /** Removes the consumer and its pending entries (from the group's too); how many it had. */
  deleteConsumer(g: Group, c: Consumer): number {
    const prefix = ownedName(g.name, c.name, MIN_ID).subarray(0, -16);
    const ids = [...this.under(prefix)].map(([id]) => idFromBytes(id));
    for (const id of ids) {
      this.remove(pendingName(g.name, id));
      this.remove(ownedName(g.name, c.name, id));
    }
    this.remove(consumerName(g.name, c.name));
    this.consumerCache.set(consumerName(g.name, c.name).toString('latin1'), undefined);
    this.changedConsumers.delete(c);
    g.pending -= ids.length;
    g.consumers--;
    this.changedGroups.add(g);
    return ids.length;
  }

  // ---- pending entries --------------------------------------------------------------

  pending(g: Group, id: StreamId): Pending | undefined {
    const v = this.value(pendingName(g.name, id));
    return v === undefined ? undefined : decodePending(id, v);
  }

  /** The group's first or last pending entry. */
  edgePending(g: Group, last: boolean): Pending | undefined {
    for (const [id, v] of this.under(pendingName(g.name, MIN_ID).subarray(0, -16), undefined, last)) return decodePending(idFromBytes(id), v);
    return undefined;
  }

  /** The group's pending entries from `from` to `to`, by ID; with `owner`, only that consumer's. */
  *pendingRange(g: Group, from: StreamId, to: StreamId, owner?: Consumer): Generator<Pending> {
    if (owner === undefined) {
      const prefix = pendingName(g.name, MIN_ID).subarray(0, -16);
      for (const [id, v] of this.under(prefix, Buffer.concat([prefix, idBytes(from)]))) {
        const pid = idFromBytes(id);
        if (idAfter(pid, to)) return;
        yield decodePending(pid, v);
      }
      return;
    }
    const prefix = ownedName(g.name, owner.name, MIN_ID).subarray(0, -16);
    for (const [id] of this.under(prefix, Buffer.concat([prefix, idBytes(from)]))) {
      const pid = idFromBytes(id);
      if (idAfter(pid, to)) return;
      const p = this.pending(g, pid);
      if (p !== undefined) yield p;
    }
  }

  /**
   * Makes `p` (new, or as read and changed by the caller but for its
   * consumer) pending for `owner`, taking it from its consumer before; its
   * record is written now.
   */
  own(g: Group, p: Pending, owner: Consumer, isNew: boolean): void {
    const before = isNew ? undefined : p.consumer;
    if (before === undefined || !before.equals(owner.name)) {
      if (before !== undefined) {
        this.remove(ownedName(g.name, before, p.id));
        const old = this.consumer(g, before, false);
        if (old !== undefined) {
          old.pending--;
          this.changedConsumers.set(old, g);
        }
      } else {
        g.pending++;
        this.changedGroups.add(g);
      }
      this.put(ownedName(g.name, owner.name, p.id), Buffer.alloc(0), true);
      owner.pending++;
      this.changedConsumers.set(owner, g);
      p.consumer = owner.name;
    }
    this.put(pendingName(g.name, p.id), encodePending(p), isNew);
  }

  /** Writes a pending entry changed in place (same consumer). */
  update(g: Group, p: Pending): void {
    this.put(pendingName(g.name, p.id), encodePending(p), false);
  }

  /** Acknowledges `p`: it is pending no more. */
  ack(g: Group, p: Pending): void {
    this.remove(pendingName(g.name, p.id));
    this.remove(ownedName(g.name, p.consumer, p.id));
    const c = this.consumer(g, p.consumer, false);
    if (c !== undefined) {
      c.pending--;
      this.changedConsumers.set(c, g);
    }
    g.pending--;
    this.changedGroups.add(g);
  }

  // ---- writing back -----------------------------------------------------------------

  /**
   * Writes the groups and consumers changed, and the stream's metadata if
   * its count of group records changed (`before`: as read; undefined, a
   * stream made by this command, whose metadata is written whatever changed).
   */
  save(before: Meta | undefined): void {
    for (const g of this.changedGroups) this.put(groupName(g.name), encodeGroup(g), false);
    for (const [c, g] of this.changedConsumers) this.put(consumerName(g.name, c.name), encodeConsumer(c), false);
    this.changedGroups.clear();
    this.changedConsumers.clear();
    if (this.records !== this.recordsSaved || before === undefined) {
      setStreamState(this.meta, { ...streamState(this.meta), groupRecords: this.records });
      this.data.saveMeta(this.key, before, this.meta, before === undefined);
      this.recordsSaved = this.records;
    }
  }
}


/** What `cache` holds for `k` (this command may have changed it), else `decode`d from the record just read. */
function cached<T>(cache: Map<string, T | undefined>, name: Buffer, k: string, value: Buffer, decode: (name: Buffer, value: Buffer) => T): T {
  let item = cache.get(k);
  if (item === undefined) cache.set(k, (item = decode(name, value)));
  return item;
}
const idAfter = (a: StreamId, b: StreamId): boolean => a.ms > b.ms || (a.ms === b.ms && a.seq > b.seq);
