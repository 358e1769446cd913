// Named databases (`db.openDB(name, options)`, as lmdb-js's): key ranges of
// the file's one tree (keyspace.ts), each with its own encodings, recorded
// in a catalog record per name (docs/FORMAT.md, "Named databases") and
// checked on every open as the root's are (EncodingMismatchError).
//
// A new name's record is written by the write queue ahead of anything
// written to the database after it, so no commit holds a named database's
// keys without its record. Until that commit, the handle's own registry
// (`Catalog.opened`) answers for the name, so that opening it again, in the
// same turn or with other encodings, sees the same encodings.
import { EncodingMismatchError, StoreError, UnsupportedError, typeError } from '../errors.js';
import { KEY_ENCODING_CODES, VALUE_ENCODING_CODES } from '../format/meta.js';
import { range } from './cursor.js';
import { KEY_ENCODINGS, type KeyEncoding, type ValueEncoding } from './encoding.js';
import { DEFAULT_ENCODINGS, type Encodings } from './encoding-record.js';
import { CATALOG_END, CATALOG_START, MAX_NAME_BYTES, catalogKey, dataPrefix } from './keyspace.js';
import { askedValueEncoding } from './open-options.js';
import type { Snapshot } from './snapshot.js';

/** `openDB`'s options: the database's encodings (as `open`'s); an unknown one is a TypeError naming it. */
export interface NamedOptions {
  keyEncoding?: KeyEncoding;
  valueEncoding?: ValueEncoding;
  /** lmdb-js's name for `valueEncoding`. */
  encoding?: ValueEncoding;
}

/** What `stats()` says of a named database. */
export interface NamedStats {
  name: string;
  entries: number;
  keyEncoding: KeyEncoding;
  valueEncoding: ValueEncoding;
}

/** The catalog record's version byte: a record of another version is refused, never misread. */
const RECORD_VERSION = 1;

/** `name` as its key bytes, or a TypeError / RangeError saying what is wrong with it. */
export function nameBytes(name: unknown): Buffer {
  if (typeof name !== 'string') throw typeError(`a database name must be a string, got ${name === null ? 'null' : typeof name}`);
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0) throw new RangeError('a database name must not be empty (the root database is the handle open() returns)');
  if (bytes.length > MAX_NAME_BYTES) throw new RangeError(`a database name is at most ${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes.length}`);
  if (bytes.includes(0)) throw new RangeError('a database name must not contain NUL');
  if (bytes.toString('utf8') !== name) throw new RangeError('a database name must be valid Unicode (no lone surrogates)');
  return bytes;
}

/** `openDB`'s arguments, either form lmdb-js takes: `(name, options)` or `({ name, ...options })`. */
export function namedArgs(name: unknown, options: unknown): [unknown, unknown] {
  if (typeof name === 'object' && name !== null && options === undefined) {
    const { name: n, ...rest } = name as { name?: unknown };
    return [n, rest];
  }
  return [name, options ?? {}];
}

/** The encodings `openDB`'s options ask for (absent: not asked); unknown options are TypeErrors. */
export function askedEncodings(options: unknown): Partial<Encodings> {
  if (typeof options !== 'object' || options === null) throw typeError('openDB options must be an object');
  for (const name of Object.keys(options)) {
    if (name !== 'keyEncoding' && name !== 'valueEncoding' && name !== 'encoding') {
      throw typeError(`unknown openDB option '${name}'; the options are keyEncoding, valueEncoding, encoding`);
    }
  }
  const o = options as NamedOptions;
  const asked: Partial<Encodings> = {};
  if (o.keyEncoding !== undefined) {
    if (!KEY_ENCODINGS.includes(o.keyEncoding)) throw new RangeError(`keyEncoding must be one of ${KEY_ENCODINGS.map((c) => `'${c}'`).join(', ')}, got ${String(o.keyEncoding)}`);
    asked.keyEncoding = o.keyEncoding;
  }
  const value = askedValueEncoding(o);
  if (value !== undefined) asked.valueEncoding = value;
  return asked;
}

export function encodeRecord(e: Encodings): Buffer {
  return Buffer.of(RECORD_VERSION, KEY_ENCODING_CODES[e.keyEncoding], VALUE_ENCODING_CODES[e.valueEncoding]);
}

export function decodeRecord(record: Buffer, name: string, path: string): Encodings {
  const where = `${path}: the catalog record of database '${name}'`;
  if (record.length !== 3 || record[0] !== RECORD_VERSION) throw new UnsupportedError(`${where} is of a layout this version of xrpkv does not know`);
  const keyEncoding = (Object.keys(KEY_ENCODING_CODES) as KeyEncoding[]).find((k) => KEY_ENCODING_CODES[k] === record[1]);
  const valueEncoding = (Object.keys(VALUE_ENCODING_CODES) as ValueEncoding[]).find((k) => VALUE_ENCODING_CODES[k] === record[2]);
  if (keyEncoding === undefined || valueEncoding === undefined) throw new UnsupportedError(`${where} records encoding codes ${record[1]}, ${record[2]}, which this version of xrpkv does not know`);
  return { keyEncoding, valueEncoding };
}

/** What opening a name comes to: its encodings, its key prefix, and the record to write when it is new. */
export interface Opened {
  name: string;
  encodings: Encodings;
  prefix: Buffer;
  /** The catalog record to write (key, value), when the name has none yet. */
  create?: { key: Buffer; value: Buffer };
}

/** The names a handle has opened (and their encodings), and `maxDbs`. */
export class Catalog {
  private readonly opened = new Map<string, Encodings>();

  constructor(
    private readonly path: string,
    private readonly maxDbs: number,
  ) {}

  /**
   * Opens `name` as of `snap` with the `asked` encodings: the recorded
   * ones (the file's, else this handle's registry), which an asked one
   * must match, or, for a new name, the asked ones over the defaults.
   */
  open(snap: Snapshot, given: unknown, asked: Partial<Encodings>): Opened {
    const bytes = nameBytes(given);
    const name = given as string;
    const key = catalogKey(bytes);
    let encodings = this.opened.get(name);
    if (encodings === undefined) {
      const found = snap.find(key);
      if (found !== undefined) encodings = decodeRecord(snap.value(found), name, this.path);
    }
    const where = `${this.path} (database '${name}')`;
    if (encodings !== undefined) {
      for (const which of ['keyEncoding', 'valueEncoding'] as const) {
        const a = asked[which];
        if (a !== undefined && a !== encodings[which]) throw new EncodingMismatchError(where, which, encodings[which], a);
      }
    }
    if (!this.opened.has(name) && this.opened.size >= this.maxDbs) {
      throw new StoreError(`${this.path}: maxDbs is ${this.maxDbs}, and this handle has opened that many named databases`, 'DBS_FULL');
    }
    // Neither the file nor this handle knows the name: a new database.
    const create = encodings === undefined;
    encodings ??= { ...DEFAULT_ENCODINGS, ...asked };
    this.opened.set(name, encodings);
    return { name, encodings, prefix: dataPrefix(bytes), ...(create ? { create: { key, value: encodeRecord(encodings) } } : {}) };
  }
}

/** Every named database the snapshot's catalog records, in name order, with its entries (a walk of its keys). */
export function listDatabases(snap: Snapshot, path: string): NamedStats[] {
  const none = () => undefined;
  const records = [...range(snap, { start: CATALOG_START, end: CATALOG_END, reverse: false, limit: Infinity }, (k, v) => [k, snap.value(v)] as const, none)];
  return records.map(([key, record]) => {
    const name = key.subarray(CATALOG_START.length).toString('utf8');
    const prefix = dataPrefix(key.subarray(CATALOG_START.length));
    const end = Buffer.from(prefix);
    end[end.length - 1]++;
    let entries = 0;
    for (const _ of range(snap, { start: prefix, end, reverse: false, limit: Infinity }, none, none)) entries++;
    return { name, entries, ...decodeRecord(record, name, path) };
  });
}
