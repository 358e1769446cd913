// The server's settings, from four places, the first that has one winning:
//   1. command-line flags        --max-bulk-len 1mb
//   2. environment variables     XRPKV_MAX_BULK_LEN=1mb
//   3. a config file             max-bulk-len 1mb      (--config FILE or XRPKV_CONFIG)
//   4. defaults (below)
// The file is redis.conf-like: one `name value` per line, `#` comments,
// values may be "quoted"; `client-output-buffer-limit` takes several words,
// as in redis.conf. Sizes take k/kb/m/mb/g/gb suffixes (powers of 1024).
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
  /** Keys the store's log holds before a checkpoint folds them into the tree (the store's `logLimit`). */
  logLimit: number;
  /** Longest bulk string a client may send. */
  maxBulkLen: number;
  /** Most elements in one command. */
  maxArrayLen: number;
  /** Longest inline command line. */
  maxInlineLen: number;
  /** What one client's unsent replies may cost (session.ts); CONFIG SET changes it while the server runs. */
  clientOutputBufferLimit: OutputBufferLimit;
  /** How long a Lua script may run (ms) before it is stopped with none of its writes kept (scripts.ts). */
  busyReplyThreshold: number;
  /** Commands that run at least this long (µs) go to the slow log (slow-commands.ts); negative: none, 0: all. */
  slowlogLogSlowerThan: number;
  /** Entries the slow log keeps. */
  slowlogMaxLen: number;
  /** Commands that run at least this long (ms) are latency events (LATENCY LATEST); 0: none kept. */
  latencyMonitorThreshold: number;
}

/**
 * Redis's `client-output-buffer-limit` for normal clients, in bytes of
 * replies not yet taken by the client's socket (0: no limit). Over `hard`,
 * the client is disconnected at once; over `soft` for more than
 * `softSeconds`, too. The server also stops running a client's commands
 * while it is over `soft` (over 8 MiB when `soft` is 0).
 */
export interface OutputBufferLimit {
  hard: number;
  soft: number;
  softSeconds: number;
}

export class ConfigError extends RangeError {
  override name = 'ConfigError';
}

type Parser = (raw: string) => unknown;

const MiB = 1024 * 1024;

/**
 * The server's default `log-limit`, four times the store's: a checkpoint
 * rewrites every leaf that a logged key falls in, which for a server's
 * scattered writes is most of the tree whatever the limit, so its cost per
 * logged key falls as the limit rises (pipelined MSETs ran 2.5x to 4x
 * faster than with 65,536: docs/RESULTS.md). The price is memory, about
 * 80 bytes a logged key besides its key and value (store/overlay.ts), and
 * the log read again at open, which the store bounds at 16 MiB anyway.
 */
export const SERVER_LOG_LIMIT = 262_144;

/**
 * Large enough that any value SET can store (max-bulk-len's default,
 * 512 MiB) can be read back; the soft limit is what bounds a client that
 * stops reading (docs/SERVER.md, "Slow and stalled clients").
 */
export const DEFAULT_OUTPUT_BUFFER_LIMIT: OutputBufferLimit = { hard: 1024 * MiB, soft: 8 * MiB, softSeconds: 60 };

interface Setting {
  /** Its name in a config file and CONFIG GET; the flag is `--name`, the variable XRPKV_NAME. */
  name: string;
  parse: Parser;
  fallback: unknown;
  /** Its value as CONFIG GET shows it (String(value) when absent). */
  show?: (value: never) => string;
  /** A config file line may give it several words (joined with spaces). */
  words?: true;
}

/** Every setting: its file name (flags and env derive from it), parser and default. */
const SETTINGS: Record<keyof ServerConfig, Setting> = {
  db: { name: 'db', parse: nonEmpty, fallback: undefined },
  port: { name: 'port', parse: port, fallback: 6379 },
  bind: { name: 'bind', parse: nonEmpty, fallback: '127.0.0.1' },
  requirepass: { name: 'requirepass', parse: (s) => (s === '' ? undefined : s), fallback: undefined },
  maxclients: { name: 'maxclients', parse: positive, fallback: 10_000 },
  lookup: { name: 'lookup', parse: lookup, fallback: 'auto' },
  pageSize: { name: 'page-size', parse: pageSize, fallback: 4096 },
  logLimit: { name: 'log-limit', parse: logLimit, fallback: SERVER_LOG_LIMIT },
  maxBulkLen: { name: 'max-bulk-len', parse: size, fallback: 512 * MiB },
  maxArrayLen: { name: 'max-array-len', parse: positive, fallback: MiB },
  maxInlineLen: { name: 'max-inline-len', parse: size, fallback: 64 * 1024 },
  clientOutputBufferLimit: {
    name: 'client-output-buffer-limit',
    parse: (s) => outputBufferLimit(s, DEFAULT_OUTPUT_BUFFER_LIMIT),
    fallback: DEFAULT_OUTPUT_BUFFER_LIMIT,
    show: showOutputBufferLimit,
    words: true,
  },
  busyReplyThreshold: { name: 'busy-reply-threshold', parse: positive, fallback: 5_000 },
  slowlogLogSlowerThan: { name: 'slowlog-log-slower-than', parse: signed, fallback: 10_000 },
  slowlogMaxLen: { name: 'slowlog-max-len', parse: (s) => integer(s, 'a number of entries', 0, 1 << 30), fallback: 128 },
  latencyMonitorThreshold: { name: 'latency-monitor-threshold', parse: (s) => integer(s, 'a number of milliseconds', 0, Number.MAX_SAFE_INTEGER), fallback: 0 },
};

/**
 * Parses `raw` as setting `name` would be at startup (for CONFIG SET);
 * throws with the parser's message. Its key in ServerConfig, and the value.
 */
export function parseSetting(name: string, raw: string): { key: keyof ServerConfig; value: unknown } {
  const [key, setting] = Object.entries(SETTINGS).find(([, s]) => s.name === name)!;
  return { key: key as keyof ServerConfig, value: setting.parse(raw) };
}

/** The names a config file, `CONFIG GET` and the flags (`--name`) use. */
export const SETTING_NAMES = Object.values(SETTINGS).map((s) => s.name);

/** The setting called `name` (a name of SETTING_NAMES) as CONFIG GET shows it. */
export function settingValue(config: ServerConfig, name: string): string {
  const [key, setting] = Object.entries(SETTINGS).find(([, s]) => s.name === name)!;
  const value = config[key as keyof ServerConfig];
  if (value === undefined) return '';
  return setting.show ? setting.show(value as never) : String(value);
}

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
    const setting = Object.values(SETTINGS).find((s) => s.name === name);
    if (!setting) throw new ConfigError(`${where}: unknown setting '${name}' (settings: ${SETTING_NAMES.join(', ')})`);
    if (rest.length !== 1 && !(setting.words && rest.length > 1)) throw new ConfigError(`${where}: '${name}' takes one value, got ${rest.length}`);
    settings.set(name!, { value: rest.join(' '), where });
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

/** A signed integer (slowlog-log-slower-than's negative turns the slow log off). */
function signed(s: string): number {
  const t = s.trim();
  return t.startsWith('-') ? -integer(t.slice(1), 'an integer', 0, Number.MAX_SAFE_INTEGER) : integer(t, 'an integer', 0, Number.MAX_SAFE_INTEGER);
}

function positive(s: string): number {
  return integer(s, 'a positive integer', 1, Number.MAX_SAFE_INTEGER);
}

function pageSize(s: string): number {
  const n = integer(s, 'a page size', 512, 4096);
  if (![512, 1024, 2048, 4096].includes(n)) throw new Error(`expected 512, 1024, 2048 or 4096, got '${s}'`);
  return n;
}

function logLimit(s: string): number {
  return integer(s, 'a number of keys from 0 (0: no log) to 16777216', 0, 1 << 24);
}

function lookup(s: string): Lookup {
  if (s !== 'auto' && s !== 'walk' && s !== 'xrp') throw new Error(`expected auto, walk or xrp, got '${s}'`);
  return s;
}

const UNITS: Record<string, number> = { '': 1, k: 1024, kb: 1024, m: MiB, mb: MiB, g: 1024 * MiB, gb: 1024 * MiB };

/** Bytes: `65536`, `64kb`, `512mb`, `1g`; at least `min`. */
export function size(s: string, min = 1): number {
  const m = /^\s*(\d+)\s*([a-z]*)\s*$/i.exec(s);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  const n = m && unit ? Number(m[1]) * unit : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`expected a size such as ${min === 0 ? '0, ' : ''}65536, 64kb or 512mb, got '${s}'`);
  return n;
}

const CLIENT_CLASSES = ['normal', 'replica', 'slave', 'pubsub'];

/**
 * `client-output-buffer-limit` as Redis takes it: one or more groups of
 * `<class> <hard> <soft> <soft-seconds>`. The normal group applies to every
 * connection, Pub/Sub subscribers included; groups for replica (slave) and
 * pubsub clients are accepted, as Redis accepts them, and not applied.
 * Without a normal group, the limit stays `current`.
 */
export function outputBufferLimit(s: string, current: OutputBufferLimit): OutputBufferLimit {
  const words = s.trim().split(/\s+/);
  if (words.length % 4 !== 0 || words.some((w, i) => i % 4 === 0 && !CLIENT_CLASSES.includes(w.toLowerCase()))) {
    throw new Error(`expected 'normal <hard> <soft> <soft-seconds>', e.g. 'normal 1gb 8mb 60' (0 for no limit), got '${s}'`);
  }
  let limit = current;
  for (let i = 0; i < words.length; i += 4) {
    const parsed = { hard: size(words[i + 1]!, 0), soft: size(words[i + 2]!, 0), softSeconds: integer(words[i + 3]!, 'soft-seconds, an integer from 0', 0, 1e9) };
    if (words[i]!.toLowerCase() === 'normal') limit = parsed;
  }
  return limit;
}

/** As Redis's CONFIG GET shows it: the class and numbers of bytes. */
function showOutputBufferLimit({ hard, soft, softSeconds }: OutputBufferLimit): string {
  return `normal ${hard} ${soft} ${softSeconds}`;
}
