// Checks of `open`'s options that are about the names used: an unknown one
// is a TypeError naming it (lmdb-js's that xrpkv lacks say so), and
// lmdb-js's names for options xrpkv has (`encoding`, `noSync`,
// `noReadAhead`) mean what ours do.
import { typeError } from '../errors.js';
import type { OpenOptions } from './db.js';
import type { Prefetch } from './prefetch.js';
import { VALUE_ENCODINGS, type ValueEncoding } from './encoding.js';

/** Every option `open` takes; typed so that a new one cannot be left out. */
const KNOWN: Record<keyof OpenOptions, true> = {
  pageSize: true,
  direct: true,
  mapReads: true,
  sync: true,
  noSync: true,
  lookup: true,
  xrpMode: true,
  cacheLevels: true,
  cacheSize: true,
  logLimit: true,
  initEmpty: true,
  keyEncoding: true,
  valueEncoding: true,
  encoding: true,
  readOnly: true,
  prefetch: true,
  noReadAhead: true,
  maxDbs: true,
};

/** lmdb-js options with no counterpart here: named as such in the error. */
const LMDB_ONLY = [
  'path', 'name', 'compression', 'useVersions', 'sharedStructuresKey', 'encoder', 'dupSort', 'maxReaders', 'mapSize',
  'noSubdir', 'cache', 'commitDelay', 'eventTurnBatching', 'overlappingSync', 'noMetaSync', 'noMemInit', 'useWritemap',
  'remapChunks', 'strictAsyncOrder', 'separateFlushed', 'safeRestore',
];

/**
 * Throws for an unknown option, or one that cannot be honoured; returns
 * `sync` as `sync` and `noSync` say, `prefetch` as `prefetch` and
 * `noReadAhead` say.
 */
export function checkOptionNames(options: OpenOptions): { sync: boolean; prefetch: Prefetch } {
  for (const name of Object.keys(options)) {
    if (name in KNOWN) continue;
    const lmdb = LMDB_ONLY.includes(name) ? ` (an lmdb-js option xrpkv does not have)` : '';
    throw typeError(`unknown option '${name}'${lmdb}; the options are ${Object.keys(KNOWN).join(', ')}`);
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw typeError('readOnly must be a boolean');
  if (options.sync !== undefined && typeof options.sync !== 'boolean') throw typeError('sync must be a boolean');
  if (options.mapReads !== undefined && typeof options.mapReads !== 'boolean') throw typeError('mapReads must be a boolean');
  if (options.noSync !== undefined && typeof options.noSync !== 'boolean') throw typeError('noSync must be a boolean');
  if (options.sync !== undefined && options.noSync !== undefined && options.sync === options.noSync) {
    throw typeError(`sync: ${options.sync} and noSync: ${options.noSync} contradict each other: give one`);
  }
  const { prefetch, noReadAhead } = options;
  if (prefetch !== undefined && typeof prefetch !== 'boolean' && prefetch !== 'auto') throw new RangeError(`prefetch must be true, false or 'auto', got ${String(prefetch)}`);
  if (noReadAhead !== undefined && typeof noReadAhead !== 'boolean') throw typeError('noReadAhead must be a boolean');
  if (noReadAhead === true && prefetch !== undefined && prefetch !== false) {
    throw typeError(`noReadAhead: true and prefetch: ${String(prefetch)} contradict each other: give one`);
  }
  return { sync: options.sync ?? !(options.noSync ?? false), prefetch: noReadAhead ? false : (prefetch ?? 'auto') };
}

/** The value encoding asked for by `valueEncoding` or lmdb-js's `encoding` (undefined: neither). */
export function askedValueEncoding(options: OpenOptions): ValueEncoding | undefined {
  const { valueEncoding, encoding } = options;
  for (const [name, value] of [['valueEncoding', valueEncoding], ['encoding', encoding]] as const) {
    if (value !== undefined && !VALUE_ENCODINGS.includes(value)) {
      throw new RangeError(`${name} must be one of ${VALUE_ENCODINGS.map((c) => `'${c}'`).join(', ')}, got ${String(value)}`);
    }
  }
  if (valueEncoding !== undefined && encoding !== undefined && valueEncoding !== encoding) {
    throw typeError(`valueEncoding '${valueEncoding}' and encoding '${encoding}' (lmdb-js's name for it) differ: give one`);
  }
  return valueEncoding ?? encoding;
}
