// INFO's text: `# Section` headers and `field:value` lines, as Redis writes
// them, so tools that parse Redis's INFO (ioredis checks `loading:0` before
// it calls a connection ready) read ours. Sections: Server, Clients, Memory,
// Persistence, Stats, Replication, CPU, Errorstats, Keyspace and Xrpkv (how
// lookups run) by default; Commandstats too with `all` or by name, as Redis.
import { arch, platform, release } from 'node:os';
import { VERSION } from '../version.js';
import { xrpBackend, type XrpBackendInfo } from '../xrp.js';
import type { Keyspace } from './keyspace.js';
import type { Client, ServerState } from './command-spec.js';
import type { AutoStats } from '../store/auto-lookup.js';

/**
 * The Redis whose commands, replies and errors xrpkv follows (what HELLO and
 * INFO's redis_version report): Debian's redis-server, which the
 * differential test compares against. xrpkv's own version is xrpkv_version.
 */
export const REDIS_VERSION = '7.0.15';

let backend: XrpBackendInfo | undefined;

/** Where XRP programs would run on this machine (probed once). */
export function xrpRuntime(): { backend: string; reason: string } {
  try {
    backend ??= xrpBackend();
    return backend;
  } catch (e) {
    return { backend: 'unavailable', reason: (e as Error).message };
  }
}

type Section = [name: string, fields: [string, string | number][]];

/** Sections INFO gives without arguments (or with `default`): all but these (as Redis 7.0). */
const NOT_DEFAULT = ['commandstats', 'latencystats'];

/** Bytes as Redis's *_human fields show them (1.50M). */
function human(bytes: number): string {
  const units = ['B', 'K', 'M', 'G', 'T'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n}B` : `${n.toFixed(2)}${units[u]}`;
}

let peakMemory = 0;

function sections(server: ServerState, keyspace: Keyspace): Section[] {
  const uptime = Math.floor((Date.now() - server.startedAt) / 1000);
  const memory = process.memoryUsage();
  const used = memory.heapUsed + memory.external;
  peakMemory = Math.max(peakMemory, used);
  const cpu = process.cpuUsage();
  const keys = keyspace.count();
  const db = keyspace.db;
  const runtime = xrpRuntime();
  return [
    [
      'Server',
      [
        ['redis_version', REDIS_VERSION],
        ['xrpkv_version', VERSION],
        ['redis_mode', 'standalone'],
        ['os', `${platform()} ${release()} ${arch()}`],
        ['arch_bits', 64],
        ['process_id', process.pid],
        ['tcp_port', server.port],
        ['uptime_in_seconds', uptime],
        ['uptime_in_days', Math.floor(uptime / 86400)],
        ['hz', 10],
        ['executable', process.argv[1] ?? ''],
      ],
    ],
    [
      'Clients',
      [
        ['connected_clients', server.clients.size],
        ['maxclients', server.config.maxclients],
        ['client_recent_max_input_buffer', largest(server, (c) => c.inputBytes)],
        ['client_recent_max_output_buffer', largest(server, (c) => c.outputBytes)],
        ['blocked_clients', keyspace.blocked.size],
        ['tracking_clients', 0],
        ['clients_in_timeout_table', 0],
      ],
    ],
    [
      'Memory',
      [
        // The server process's JS heap and buffers: the data itself is in the store file and the page cache.
        ['used_memory', used],
        ['used_memory_human', human(used)],
        ['used_memory_rss', memory.rss],
        ['used_memory_rss_human', human(memory.rss)],
        ['used_memory_peak', peakMemory],
        ['used_memory_peak_human', human(peakMemory)],
        // What Lua has allocated (lua-vm.ts caps it), and the scripts cached.
        ['used_memory_lua', server.scripts.memoryUsed],
        ['used_memory_lua_human', human(server.scripts.memoryUsed)],
        ['number_of_cached_scripts', server.scripts.size],
        ['maxmemory', 0],
        ['maxmemory_human', '0B'],
        ['maxmemory_policy', 'noeviction'],
        ['mem_fragmentation_ratio', (memory.rss / Math.max(1, used)).toFixed(2)],
      ],
    ],
    [
      'Persistence',
      [
        ['loading', 0],
        ['async_loading', 0],
        // Every acknowledged write is durable in the store file: no RDB or AOF.
        ['rdb_changes_since_last_save', 0],
        ['rdb_bgsave_in_progress', 0],
        // When the last commit became durable (LASTSAVE).
        ['rdb_last_save_time', Math.floor(keyspace.lastDurableAt / 1000)],
        ['aof_enabled', 0],
        // Redis's field for writes that cannot be persisted; `err` while the store refuses writes.
        ['aof_last_write_status', keyspace.lastFailure ? 'err' : 'ok'],
        ['xrpkv_durable_writes', 1],
        // 1 once a commit has succeeded since the last failure (keyspace.ts).
        ['xrpkv_writable', keyspace.unwritable || keyspace.lastFailure ? 0 : 1],
        ['xrpkv_write_error', oneLine((keyspace.unwritable ?? keyspace.lastFailure)?.message ?? '')],
        ['xrpkv_reopens', keyspace.reopens],
        ['xrpkv_recovery', oneLine(db.recovery?.reason ?? '')],
      ],
    ],
    [
      'Stats',
      [
        ['total_connections_received', server.connectionsReceived],
        ['total_commands_processed', server.commandsProcessed],
        ['instantaneous_ops_per_sec', server.stats.opsPerSecond()],
        ['rejected_connections', server.rejectedConnections],
        ['client_output_buffer_limit_disconnections', server.outputLimitDisconnections],
        ['expired_keys', keyspace.expiredKeys],
        ['pubsub_channels', server.pubsub.channelCount],
        ['pubsub_patterns', server.pubsub.patternCount],
        ['keyspace_hits', keyspace.hits],
        ['keyspace_misses', keyspace.lookups - keyspace.hits],
        ['evicted_keys', 0],
        ['total_error_replies', server.stats.errorReplies],
      ],
    ],
    [
      'Replication',
      [
        ['role', 'master'],
        ['connected_slaves', 0],
      ],
    ],
    [
      'CPU',
      [
        ['used_cpu_sys', (cpu.system / 1e6).toFixed(6)],
        ['used_cpu_user', (cpu.user / 1e6).toFixed(6)],
      ],
    ],
    [
      'Commandstats',
      [...server.stats.commands].map(([name, s]): [string, string] => [
        `cmdstat_${name}`,
        `calls=${s.calls},usec=${Math.round(s.usec)},usec_per_call=${s.calls === 0 ? '0.00' : (s.usec / s.calls).toFixed(2)},rejected_calls=${s.rejected},failed_calls=${s.failed}`,
      ]),
    ],
    ['Errorstats', [...server.stats.errors].map(([code, n]): [string, string] => [`errorstat_${code}`, `count=${n}`])],
    // Percentiles of the timed runs (slow-commands.ts): the upper bound of the power-of-two bucket each falls in.
    [
      'Latencystats',
      [...server.slow.histograms].map(([name, h]): [string, string] => [
        `latency_percentiles_usec_${name}`,
        ([['p50', 0.5], ['p99', 0.99], ['p99.9', 0.999]] as const).map(([label, q]) => `${label}=${percentile(h, q).toFixed(3)}`).join(','),
      ]),
    ],
    // As Redis: no line for an empty database.
    ['Keyspace', keys === 0 ? [] : [['db0', `keys=${keys},expires=${keyspace.counters.expiring},avg_ttl=0`]]],
    [
      'Xrpkv',
      [
        ['db_path', db.path],
        ['page_size', db.pageSize],
        ['lookup', db.lookup],
        ['lookup_reason', db.lookupReason],
        ['xrp_backend', runtime.backend],
        ['xrp_backend_reason', runtime.reason],
        ['xrp_chains', keyspace.db.xrpChains],
        ...autoLines(keyspace.db.lookupCounts),
        ['gets_served', keyspace.lookups],
        ['writes_acknowledged', keyspace.writes],
      ],
    ],
  ];
}

/** The upper bound (µs) of the bucket of histogram `h` (runs by power-of-two bucket) that holds quantile `q`. */
function percentile(h: readonly number[], q: number): number {
  const total = h.reduce((a, b) => a + b, 0);
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= q * total) return 2 ** i;
  }
  return 2 ** (h.length - 1);
}

/** Under lookup 'auto': how many lookups each path served, and what a getSync, a turn's gathered gets and a scan that must read do now. */
function autoLines(counts: AutoStats | undefined): [string, string | number][] {
  if (counts === undefined) return [];
  return [
    ['lookups_cached', counts.cached],
    ['lookups_walked', counts.walked],
    ['lookups_chained', counts.chained],
    ['lookups_batched', counts.batched],
    ['lookup_batches', counts.batches],
    ['lookup_sync_path', counts.sync.path],
    ['lookup_gathered_path', counts.gathered.path],
    ['lookup_scan_path', counts.scans.path],
  ];
}

/** `text` on one line, as an INFO field must be. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ');

/** The largest of `bytes` over the connected clients (what they hold now; Redis's is over the last few seconds). */
function largest(server: ServerState, bytes: (c: Client) => number): number {
  let max = 0;
  for (const c of server.clients) max = Math.max(max, bytes(c));
  return max;
}

/** INFO's text for `wanted` section names (none, `default`, `all` or `everything`: every section). */
export function infoText(server: ServerState, keyspace: Keyspace, wanted: string[]): string {
  const names = wanted.map((w) => w.toLowerCase());
  const all = names.some((n) => n === 'all' || n === 'everything');
  const byDefault = names.length === 0 || names.includes('default');
  return sections(server, keyspace)
    .filter(([name]) => all || names.includes(name.toLowerCase()) || (byDefault && !NOT_DEFAULT.includes(name.toLowerCase())))
    .map(([name, fields]) => `# ${name}\r\n${fields.map(([k, v]) => `${k}:${String(v).replace(/[\r\n]+/g, ' ')}\r\n`).join('')}`)
    .join('\r\n');
}
