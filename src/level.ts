// `xrpkv/level`: the store behind the abstract-level interface (v3), so the
// Level ecosystem (sublevels, encodings, streams, ...) runs on it.
//
//   import { XrpkvLevel } from 'xrpkv/level';
//   const db = new XrpkvLevel('data.xrpkv', { valueEncoding: 'json' });
//   await db.put('a', { n: 1 });
//
// Underneath, the store holds raw bytes (keyEncoding and valueEncoding
// 'binary'); abstract-level transcodes every other encoding to Buffers.
// Reads use the store's snapshots: `get`, `getMany`, `has` and every iterator
// read from a snapshot taken synchronously when they are called (implicit
// snapshots), and `db.snapshot()` gives an explicit one. Writes resolve once
// their commit is durable; a batch commits as a whole or not at all.
import { existsSync } from 'node:fs';
import { AbstractIterator, AbstractKeyIterator, AbstractLevel, AbstractSnapshot, AbstractValueIterator } from 'abstract-level';
import { Cursor } from './store/cursor.js';
import { open, type Database } from './store/db.js';
import type { Snapshot } from './store/snapshot.js';

export interface XrpkvLevelOptions {
  /** 512, 1024, 2048 or 4096 (default); an existing file keeps its own. */
  pageSize?: number;
  /** fdatasync each commit (default true). */
  sync?: boolean;
  /** Levels of the tree kept decoded in memory (default 2). */
  cacheLevels?: number;
  keyEncoding?: string | object;
  valueEncoding?: string | object;
  [option: string]: unknown;
}

type Store = Database<Buffer, Buffer>;
type AnyLevel = XrpkvLevel<any, any>;

/** The store's registered snapshot of its last commit (`Database` keeps this method to itself). */
function storeSnapshot(store: Store): Snapshot {
  return (store as unknown as { snapshot(): Snapshot }).snapshot();
}

const copy = (b: Buffer | undefined): Buffer | undefined => (b === undefined ? undefined : Buffer.from(b));

/** A snapshot handed out by `db.snapshot()`; pass it as `{ snapshot }` to reads. */
export class XrpkvSnapshot extends AbstractSnapshot {
  readonly inner: Snapshot;
  constructor(db: AnyLevel, options: { owner?: unknown }) {
    // abstract-level's constructor takes { owner } (the database that closes it), untyped in its .d.ts.
    super(...([{ owner: db, ...options }] as unknown as []));
    this.inner = storeSnapshot(db.store);
  }
  async _close(): Promise<void> {
    this.inner.release();
  }
}

interface RangeOptions {
  gt?: Buffer;
  gte?: Buffer;
  lt?: Buffer;
  lte?: Buffer;
  reverse?: boolean;
  limit?: number;
  snapshot?: XrpkvSnapshot;
}

/**
 * A position in a snapshot within a range: `entry()` yields the entry the
 * cursor is on and moves past it; `seek()` moves anywhere, and a position
 * outside the range ends the walk (as abstract-level's tests require).
 */
class Walk {
  private readonly cursor: Cursor;
  private readonly lower?: Buffer;
  private readonly lowerInclusive: boolean;
  private readonly upper?: Buffer;
  private readonly upperInclusive: boolean;
  readonly reverse: boolean;
  /** Whether the cursor is on the entry to yield next (else it must step first). */
  private placed = false;
  private ended = false;

  constructor(
    readonly snap: Snapshot,
    o: RangeOptions,
  ) {
    this.cursor = new Cursor(snap);
    this.reverse = o.reverse === true;
    // gte takes precedence over gt, lte over lt.
    this.lower = o.gte ?? o.gt;
    this.lowerInclusive = o.gte !== undefined;
    this.upper = o.lte ?? o.lt;
    this.upperInclusive = o.lte !== undefined;
    const start = this.reverse ? this.upper : this.lower;
    this.seek(start);
    // An exclusive start bound: step past the key equal to it.
    const exclusive = this.reverse ? !this.upperInclusive : !this.lowerInclusive;
    if (start !== undefined && exclusive && this.cursor.valid && this.cursor.key.equals(start)) this.step();
  }

  seek(target: Buffer | undefined): void {
    if (this.reverse) this.cursor.seekLast(target);
    else this.cursor.seek(target);
    this.placed = true;
    this.ended = false;
  }

  private step(): void {
    if (this.reverse) this.cursor.prev();
    else this.cursor.next();
  }

  private inRange(key: Buffer): boolean {
    if (this.lower !== undefined) {
      const c = Buffer.compare(key, this.lower);
      if (c < 0 || (c === 0 && !this.lowerInclusive)) return false;
    }
    if (this.upper !== undefined) {
      const c = Buffer.compare(key, this.upper);
      if (c > 0 || (c === 0 && !this.upperInclusive)) return false;
    }
    return true;
  }

  /** The next entry's key (copied), or undefined at the end; `value()` then reads its value. */
  next(): Buffer | undefined {
    if (this.ended) return undefined;
    if (!this.placed && this.cursor.valid) this.step();
    this.placed = false;
    // Past the end, or (after a seek) outside the range: the walk is over until the next seek.
    if (!this.cursor.valid || !this.inRange(this.cursor.key)) {
      this.ended = true;
      return undefined;
    }
    return Buffer.from(this.cursor.key);
  }

  value(): Buffer {
    return Buffer.from(this.snap.value(this.cursor.value));
  }
}

interface Iter {
  walk: Walk;
  owned: boolean;
}

function startWalk(db: AnyLevel, options: RangeOptions): Iter {
  const explicit = options.snapshot;
  const snap = explicit ? explicit.inner : storeSnapshot(db.store);
  return { walk: new Walk(snap, options), owned: !explicit };
}

class XrpkvIterator extends AbstractIterator<AnyLevel, Buffer, Buffer> {
  private readonly it: Iter;
  constructor(db: AnyLevel, options: RangeOptions) {
    super(db, options as never);
    this.it = startWalk(db, options);
  }
  async _next(): Promise<[Buffer, Buffer] | undefined> {
    const key = this.it.walk.next();
    return key === undefined ? undefined : [key, this.it.walk.value()];
  }
  async _nextv(size: number): Promise<[Buffer, Buffer][]> {
    const out: [Buffer, Buffer][] = [];
    for (let key; out.length < size && (key = this.it.walk.next()) !== undefined; ) out.push([key, this.it.walk.value()]);
    return out;
  }
  _seek(target: Buffer): void {
    this.it.walk.seek(target);
  }
  async _close(): Promise<void> {
    if (this.it.owned) this.it.walk.snap.release();
  }
}

class XrpkvKeyIterator extends AbstractKeyIterator<AnyLevel, Buffer> {
  private readonly it: Iter;
  constructor(db: AnyLevel, options: RangeOptions) {
    super(db, options as never);
    this.it = startWalk(db, options);
  }
  async _next(): Promise<Buffer | undefined> {
    return this.it.walk.next();
  }
  async _nextv(size: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    for (let key; out.length < size && (key = this.it.walk.next()) !== undefined; ) out.push(key);
    return out;
  }
  _seek(target: Buffer): void {
    this.it.walk.seek(target);
  }
  async _close(): Promise<void> {
    if (this.it.owned) this.it.walk.snap.release();
  }
}

class XrpkvValueIterator extends AbstractValueIterator<AnyLevel, Buffer, Buffer> {
  private readonly it: Iter;
  constructor(db: AnyLevel, options: RangeOptions) {
    super(db, options as never);
    this.it = startWalk(db, options);
  }
  async _next(): Promise<Buffer | undefined> {
    return this.it.walk.next() === undefined ? undefined : this.it.walk.value();
  }
  async _nextv(size: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    while (out.length < size && this.it.walk.next() !== undefined) out.push(this.it.walk.value());
    return out;
  }
  _seek(target: Buffer): void {
    this.it.walk.seek(target);
  }
  async _close(): Promise<void> {
    if (this.it.owned) this.it.walk.snap.release();
  }
}

export class XrpkvLevel<KDefault = string, VDefault = string> extends AbstractLevel<Buffer, KDefault, VDefault> {
  readonly location: string;
  private readonly storeOptions: { pageSize?: number; sync?: boolean; cacheLevels?: number };
  private current: Store | undefined;

  constructor(location: string, options: XrpkvLevelOptions = {}) {
    if (typeof location !== 'string' || location === '') throw new TypeError('location must be a non-empty string (the database file)');
    const { pageSize, sync, cacheLevels, ...levelOptions } = options;
    super(
      {
        encodings: { buffer: true },
        implicitSnapshots: true,
        explicitSnapshots: true,
        permanence: true,
        createIfMissing: true,
        errorIfExists: true,
        getSync: true,
        has: true,
        seek: true,
        additionalMethods: {},
      } as never,
      levelOptions as never,
    );
    this.location = location;
    this.storeOptions = { pageSize, sync, cacheLevels };
  }

  /** The open store (throws when the database is not open). */
  get store(): Store {
    if (!this.current) throw new Error('the database is not open');
    return this.current;
  }

  async _open(options: { createIfMissing: boolean; errorIfExists: boolean }): Promise<void> {
    const exists = existsSync(this.location);
    if (!exists && !options.createIfMissing) throw new Error(`${this.location} does not exist (createIfMissing is false)`);
    if (exists && options.errorIfExists) throw new Error(`${this.location} exists (errorIfExists is true)`);
    this.current = open<Buffer, Buffer>(this.location, { ...this.storeOptions, keyEncoding: 'binary', valueEncoding: 'binary' });
  }

  async _close(): Promise<void> {
    const store = this.current;
    this.current = undefined;
    await store?.close();
  }

  private read(options: { snapshot?: XrpkvSnapshot }): Snapshot | undefined {
    return options.snapshot?.inner;
  }

  _getSync(key: Buffer, options: { snapshot?: XrpkvSnapshot }): Buffer | undefined {
    const snap = this.read(options);
    return snap ? copy(snap.get(key)) : this.store.getSync(key);
  }

  async _get(key: Buffer, options: { snapshot?: XrpkvSnapshot }): Promise<Buffer | undefined> {
    return this._getSync(key, options);
  }

  async _getMany(keys: Buffer[], options: { snapshot?: XrpkvSnapshot }): Promise<(Buffer | undefined)[]> {
    const snap = this.read(options) ?? storeSnapshot(this.store);
    try {
      return keys.map((k) => copy(snap.get(k)));
    } finally {
      if (!options.snapshot) snap.release();
    }
  }

  async _has(key: Buffer, options: { snapshot?: XrpkvSnapshot }): Promise<boolean> {
    const snap = this.read(options);
    return snap ? snap.find(key, false) !== undefined : this.store.has(key);
  }

  async _hasMany(keys: Buffer[], options: { snapshot?: XrpkvSnapshot }): Promise<boolean[]> {
    const snap = this.read(options) ?? storeSnapshot(this.store);
    try {
      return keys.map((k) => snap.find(k, false) !== undefined);
    } finally {
      if (!options.snapshot) snap.release();
    }
  }

  async _put(key: Buffer, value: Buffer): Promise<void> {
    await this.store.put(key, value);
  }

  async _del(key: Buffer): Promise<void> {
    await this.store.remove(key);
  }

  async _batch(operations: { type: 'put' | 'del'; key: Buffer; value?: Buffer }[]): Promise<void> {
    await this.store.batch(
      operations.map((op) => (op.type === 'put' ? { type: 'put' as const, key: op.key, value: op.value as Buffer } : { type: 'del' as const, key: op.key })),
    );
  }

  _iterator(options: RangeOptions): XrpkvIterator {
    return new XrpkvIterator(this, options);
  }

  _keys(options: RangeOptions): XrpkvKeyIterator {
    return new XrpkvKeyIterator(this, options);
  }

  _values(options: RangeOptions): XrpkvValueIterator {
    return new XrpkvValueIterator(this, options);
  }

  _snapshot(options: { owner?: unknown }): XrpkvSnapshot {
    return new XrpkvSnapshot(this, options);
  }

  /** Removes the range's keys (from a snapshot taken now) in one commit. */
  async _clear(options: RangeOptions): Promise<void> {
    const { walk, owned } = startWalk(this, options);
    const ops: { type: 'del'; key: Buffer }[] = [];
    try {
      const limit = options.limit === undefined || options.limit < 0 ? Infinity : options.limit;
      for (let key; ops.length < limit && (key = walk.next()) !== undefined; ) ops.push({ type: 'del', key });
    } finally {
      if (owned) walk.snap.release();
    }
    if (ops.length > 0) await this.store.batch(ops);
  }
}
