// What the store commands (get, put, del, scan, stats, load) share: the
// database file and its encodings as options, opening it, and turning
// command-line text into keys and values.
//
// Text becomes a key or value by the encoding: `binary` takes the UTF-8 bytes
// of the text (or, with --hex, the bytes the hex digits spell); an
// `ordered-binary` key is the string itself (or, with --json-key, the JSON
// value it spells: a number, an array...); a `msgpack` or `json` value is the
// string (or, with --json-value, the JSON value); a `string` value is the string.
import { statSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { CliError, hexBytes, pageSize } from './args.js';
import { open, type Database, type Lookup } from '../store/db.js';
import { KEY_ENCODINGS, VALUE_ENCODINGS, type KeyEncoding, type ValueEncoding } from '../store/encoding.js';
import { DEFAULT_ENCODINGS, fileEncodings, type Encodings } from '../store/encoding-record.js';

export type { Encodings };

export interface StoreCliOptions {
  db: string;
  /** Undefined unless given: the file's record then says (encoding-record.ts). */
  keyEncoding?: KeyEncoding;
  valueEncoding?: ValueEncoding;
  redis?: boolean;
  lookup: Lookup;
  hex?: boolean;
  jsonKey?: boolean;
  jsonValue?: boolean;
  pageSize?: number;
}


export interface StoreOptionsWanted {
  /** put, load: --json-value. */
  values?: boolean;
  /** put, load: the command may create the file, so --page-size applies. */
  creates?: boolean;
}

/** Adds the options every store command takes. */
export function storeOptions(command: Command, wanted: StoreOptionsWanted = {}): Command {
  command
    .requiredOption('--db <path>', 'the database file')
    .addOption(new Option('--key-encoding <encoding>', 'how keys are stored (default: what the file records, else ordered-binary)').choices(KEY_ENCODINGS))
    .addOption(new Option('--value-encoding <encoding>', 'how values are stored (default: what the file records, else msgpack)').choices(VALUE_ENCODINGS))
    .addOption(
      new Option('--redis', 'binary keys and values, as `xrpkv serve` writes them (same as --key-encoding binary --value-encoding binary)').conflicts([
        'keyEncoding',
        'valueEncoding',
      ]),
    )
    .option('--hex', 'binary keys and values are given, and bytes are printed, as hex digits')
    .option('--json-key', 'keys are JSON (a number, an array...); needs --key-encoding ordered-binary')
    .addOption(new Option('--lookup <how>', 'how lookups run').choices(['auto', 'walk', 'xrp']).default('auto'));
  if (wanted.values) command.option('--json-value', 'values are JSON (a number, an object...); needs --value-encoding msgpack or json');
  if (wanted.creates) command.option('--page-size <bytes>', 'page size of a new database file: 512, 1024, 2048 or 4096 (default 4096)', pageSize);
  return command;
}

/** The encodings the command line gives (--redis, --key-encoding, --value-encoding); absent where it gives none. */
function explicitEncodings(o: StoreCliOptions): Partial<Encodings> {
  if (o.redis) return { keyEncoding: 'binary', valueEncoding: 'binary' };
  return { ...(o.keyEncoding ? { keyEncoding: o.keyEncoding } : {}), ...(o.valueEncoding ? { valueEncoding: o.valueEncoding } : {}) };
}

/**
 * The encodings to read and write `o.db` with: the ones given, else what
 * the file records (read from its meta without taking its lock), else the
 * defaults. One given that differs from the file's record is an error.
 */
export function encodingsOf(o: StoreCliOptions): Encodings {
  const explicit = explicitEncodings(o);
  const recorded = fileEncodings(o.db);
  const e: Encodings = { ...DEFAULT_ENCODINGS, ...recorded, ...explicit };
  if (o.jsonKey && e.keyEncoding !== 'ordered-binary') {
    throw new CliError(`--json-key needs --key-encoding ordered-binary: '${e.keyEncoding}' keys are bytes (text, or hex with --hex)`);
  }
  if (o.jsonValue && e.valueEncoding !== 'msgpack' && e.valueEncoding !== 'json') {
    throw new CliError(`--json-value needs --value-encoding msgpack or json: '${e.valueEncoding}' values are ${e.valueEncoding === 'string' ? 'strings' : 'bytes'}`);
  }
  for (const [which, flag] of [['keyEncoding', '--key-encoding'], ['valueEncoding', '--value-encoding']] as const) {
    const [r, a] = [recorded[which], explicit[which]];
    if (r !== undefined && a !== undefined && r !== a) {
      throw new CliError(`${o.db} records ${which} '${r}': ${o.redis ? '--redis' : `${flag} ${a}`} does not match (leave it out to use the file's)`);
    }
  }
  return e;
}

/** Read commands never create a file: check that one is there first. */
function requireDatabase(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new CliError(`${path}: not a regular file`);
    size = st.size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`${path}: no such database file (this command does not create one)`);
    throw e;
  }
  if (size === 0) throw new CliError(`${path}: an empty file, not an xrpkv database`);
}

/**
 * Opens the database, runs `fn`, and closes it (waiting for its writes).
 * `existing`: the file must be there already; `read`: and the handle is
 * read-only, so it reads beside a server or any other writer (each commit
 * takes the write lock; a read never does).
 */
export async function withStore<T>(o: StoreCliOptions, how: 'existing' | 'create' | 'read', fn: (db: Database) => Promise<T>): Promise<T> {
  if (how !== 'create') requireDatabase(o.db);
  // Only the encodings given: the defaults are not recorded in a file that records none.
  const db = open(o.db, { ...explicitEncodings(o), lookup: o.lookup, pageSize: o.pageSize, readOnly: how === 'read' });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/**
 * Runs `read`, turning a failure to decode what is stored (msgpackr's or
 * JSON's errors: the file was written with other encodings, e.g. by
 * `xrpkv serve`) into a CliError that says so. The store's own errors pass.
 */
export async function decoding<T>(o: StoreCliOptions, e: Encodings, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const plain = err instanceof Error && (err.constructor === Error || err instanceof SyntaxError || err instanceof RangeError);
    if (!plain || err instanceof CliError || typeof (err as NodeJS.ErrnoException).code === 'string') throw err;
    const hint = o.redis ? '' : ' (a database that records no encodings, written by `xrpkv serve`, needs --redis)';
    throw new CliError(`${o.db}: cannot decode a stored entry as keys '${e.keyEncoding}', values '${e.valueEncoding}'${hint}: ${err.message}`);
  }
}

function parseHex(text: string, what: string): Buffer {
  const b = hexBytes(text);
  if (!b) throw new CliError(`the ${what} is not hex (an even number of hex digits): ${JSON.stringify(text)}`);
  return b;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CliError(`the ${what} is not JSON: ${(e as Error).message}`);
  }
}

/** Text (an argument, a CSV field) to a key or value; throws CliError for bad hex or JSON. */
export interface TextInput {
  key(text: string): unknown;
  value(text: string): unknown;
}

export function textInput(o: StoreCliOptions, e: Encodings): TextInput {
  return {
    key(text) {
      if (e.keyEncoding === 'binary') return o.hex ? parseHex(text, 'key') : Buffer.from(text, 'utf8');
      return o.jsonKey ? parseJson(text, 'key') : text;
    },
    value(text) {
      if (e.valueEncoding === 'binary') return o.hex ? parseHex(text, 'value') : Buffer.from(text, 'utf8');
      return o.jsonValue ? parseJson(text, 'value') : text;
    },
  };
}

/**
 * A JSON Lines row's key or value: `key` / `value` hold the JSON value (a
 * string gives a binary encoding its UTF-8 bytes); `keyHex` / `valueHex` hold
 * bytes as hex, as `scan --json` prints them.
 */
export function jsonField(row: Record<string, unknown>, name: 'key' | 'value', encoding: KeyEncoding | ValueEncoding): unknown {
  const hexName = `${name}Hex`;
  if (hexName in row) {
    if (name in row) throw new CliError(`give "${name}" or "${hexName}", not both`);
    const h = row[hexName];
    if (typeof h !== 'string') throw new CliError(`"${hexName}" must be a string of hex digits`);
    return parseHex(h, hexName);
  }
  if (!(name in row)) throw new CliError(`no "${name}" (or "${hexName}") field`);
  const x = row[name];
  if (encoding === 'binary') {
    if (typeof x !== 'string') throw new CliError(`"${name}" must be a string (its UTF-8 bytes are stored) or given as "${hexName}"`);
    return Buffer.from(x, 'utf8');
  }
  return x;
}
