// The server's settings, from four places, the first that has one winning:
//   1. command-line flags        --max-bulk-len 1mb
//   2. environment variables     XRPKV_MAX_BULK_LEN=1mb
//   3. a config file             max-bulk-len 1mb      (--config FILE or XRPKV_CONFIG)
//   4. defaults (below)
// The file is redis.conf-like: one `name value` per line, `#` comments,
// values may be "quoted". Sizes take k/kb/m/mb/g/gb suffixes (powers of 1024).
// Anything unknown or malformed is a ConfigError naming where it came from.
import { readFileSync } from 'node:fs';
import { ProtocolError, splitInline } from './resp-parser.js';
import type { Lookup } from '../store/db.js';

export interface ServerConfig {
  /** The database file (created if missing). */
  db: string;
  /** TCP port; 0 picks a free one (the startup line says which). */
  port: number;
  /** Address to listen on; loopback unless told otherwise. */
  bind: string;
  /** When set, clients must AUTH (or HELLO ... AUTH) before anything else. */
  requirepass: string | undefined;
  maxclients: number;
  lookup: Lookup;
  /** Page size for a new database file; an existing file keeps its own. */
  pageSize: number;
  /** Longest bulk string a client may send. */
  maxBulkLen: number;
  /** Most elements in one command. */
  maxArrayLen: number;
  /** Longest inline command line. */
  maxInlineLen: number;
}

export class ConfigError extends RangeError {
  override name = 'ConfigError';
}

type Parser = (raw: string) => unknown;

const MiB = 1024 * 1024;

/** Every setting: its file name (flags and env derive from it), parser and default. */
const SETTINGS: Record<keyof ServerConfig, { name: string; parse: Parser; fallback: unknown }> = {
  db: { name: 'db', parse: nonEmpty, fallback: undefined },
  port: { name: 'port', parse: port, fallback: 6379 },
  bind: { name: 'bind', parse: nonEmpty, fallback: '127.0.0.1' },
  requirepass: { name: 'requirepass', parse: (s) => (s === '' ? undefined : s), fallback: undefined },
  maxclients: { name: 'maxclients', parse: positive, fallback: 10_000 },
  lookup: { name: 'lookup', parse: lookup, fallback: 'auto' },
  pageSize: { name: 'page-size', parse: pageSize, fallback: 4096 },
  maxBulkLen: { name: 'max-bulk-len', parse: size, fallback: 512 * MiB },
  maxArrayLen: { name: 'max-array-len', parse: positive, fallback: MiB },
  maxInlineLen: { name: 'max-inline-len', parse: size, fallback: 64 * 1024 },
};

/** The names a config file, `CONFIG GET` and the flags (`--name`) use. */
export const SETTING_NAMES = Object.values(SETTINGS).map((s) => s.name);

export const envName = (name: string) => `XRPKV_${name.toUpperCase().replace(/-/g, '_')}`;

/**
 * Resolves the settings. `flags` holds raw strings by file name (what
 * commander parsed, unset flags absent); `env` is usually `process.env`.
 */
export function resolveConfig(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const file = flags.config ?? env.XRPKV_CONFIG;
  const fromFile = file === undefined ? new Map<string, { value: string; where: string }>() : readConfigFile(file);
  const out: Record<string, unknown> = {};
  for (const [key, { name, parse, fallback }] of Object.entries(SETTINGS)) {
    const sources: [string | undefined, string][] = [
      [flags[name], `--${name}`],
      [env[envName(name)], envName(name)],
      [fromFile.get(name)?.value, fromFile.get(name)?.where ?? ''],
    ];
    const found = sources.find(([raw]) => raw !== undefined);
    if (!found) {
      out[key] = fallback;
      continue;
    }
    try {
      out[key] = parse(found[0]!);
    } catch (e) {
      throw new ConfigError(`${found[1]}: ${(e as Error).message}`);
    }
  }
  if (out.db === undefined) throw new ConfigError('no database file: pass --db PATH, set XRPKV_DB, or put `db PATH` in the config file');
  return out as unknown as ServerConfig;
}

/** A config file's settings by name, each with the line it came from. */
export function readConfigFile(path: string): Map<string, { value: string; where: string }> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read the config file: ${(e as Error).message}`);
  }
  const settings = new Map<string, { value: string; where: string }>();
  text.split(/\r?\n/).forEach((line, i) => {
    const where = `${path}:${i + 1}`;
    if (/^\s*(#|$)/.test(line)) return;
    let words: string[];
    try {
      words = splitInline(Buffer.from(line, 'utf8')).map((w) => w.toString('utf8'));
    } catch (e) {
      if (e instanceof ProtocolError) throw new ConfigError(`${where}: unbalanced quotes`);
      throw e;
    }
    const [name, ...rest] = words;
    if (!SETTING_NAMES.includes(name!)) throw new ConfigError(`${where}: unknown setting '${name}' (settings: ${SETTING_NAMES.join(', ')})`);
    if (rest.length !== 1) throw new ConfigError(`${where}: '${name}' takes one value, got ${rest.length}`);
    settings.set(name!, { value: rest[0]!, where });
  });
  return settings;
}

function nonEmpty(s: string): string {
  if (s === '') throw new Error('must not be empty');
  return s;
}

function integer(s: string, what: string, min: number, max: number): number {
  const n = /^\d+$/.test(s.trim()) ? Number(s.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`expected ${what}, got '${s}'`);
  return n;
}

function port(s: string): number {
  return integer(s, 'a port from 0 to 65535', 0, 65535);
}

function positive(s: string): number {
  return integer(s, 'a positive integer', 1, Number.MAX_SAFE_INTEGER);
}

function pageSize(s: string): number {
  const n = integer(s, 'a page size', 512, 4096);
  if (![512, 1024, 2048, 4096].includes(n)) throw new Error(`expected 512, 1024, 2048 or 4096, got '${s}'`);
  return n;
}

function lookup(s: string): Lookup {
  if (s !== 'auto' && s !== 'walk' && s !== 'xrp') throw new Error(`expected auto, walk or xrp, got '${s}'`);
  return s;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, m: MiB, mb: MiB, g: 1024 * MiB, gb: 1024 * MiB };

/** Bytes: `65536`, `64kb`, `512mb`, `1g`. */
export function size(s: string): number {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`expected a size such as 65536, 64kb or 512mb, got '${s}'`);
  return n;
}
