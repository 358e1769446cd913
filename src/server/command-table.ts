// Every command the server knows, by lower-case name, and the lookup of a
// command name as a client sent it (any case), done on its bytes: the name
// of every command a client sends is looked up, and a string per command
// (decoded, lower-cased, hashed) cost more than comparing a few bytes.
import type { CommandSpec } from './command-spec.js';
import { BIT_COMMANDS } from './commands-bits.js';
import { BLOCKING_COMMANDS } from './commands-blocking.js';
import { CLIENT } from './commands-client.js';
import { CONNECTION_COMMANDS } from './commands-connection.js';
import { EXPIRY_COMMANDS } from './commands-expiry.js';
import { GEO_COMMANDS } from './commands-geo.js';
import { HASH_COMMANDS } from './commands-hashes.js';
import { HYPERLOGLOG_COMMANDS } from './commands-hyperloglog.js';
import { LIST_COMMANDS } from './commands-lists.js';
import { SET_COMMANDS } from './commands-sets.js';
import { ZSET_COMMANDS } from './commands-zsets.js';
import { ZSET_COMBINE_COMMANDS } from './commands-zset-combine.js';
import { COUNTER_COMMANDS } from './commands-counters.js';
import { KEY_COMMANDS } from './commands-keys.js';
import { KEYSPACE_COMMANDS } from './commands-keyspace.js';
import { MEMORY } from './commands-memory.js';
import { OBJECT } from './commands-object.js';
import { PERSISTENCE_COMMANDS } from './commands-persistence.js';
import { PUBSUB_COMMANDS } from './commands-pubsub.js';
import { SCRIPTING_COMMANDS } from './commands-scripting.js';
import { SERVER_COMMANDS, commandCommand } from './commands-server.js';
import { SORT_COMMANDS } from './commands-sort.js';
import { BITFIELD_COMMANDS } from './commands-bitfield.js';
import { ADMIN_COMMANDS } from './commands-admin.js';
import { DUMP_COMMANDS } from './commands-dump.js';
import { MIGRATE } from './commands-migrate.js';
import { FUNCTION_COMMANDS } from './commands-functions.js';
import { SLOW_COMMANDS } from './commands-slowlog.js';
import { REPLICATION_COMMANDS } from './commands-replication.js';
import { STREAM_GROUP_COMMANDS } from './commands-stream-groups.js';
import { XINFO } from './commands-stream-info.js';
import { STREAM_READ_COMMANDS } from './commands-stream-read.js';
import { STREAM_COMMANDS } from './commands-streams.js';
import { STRING_COMMANDS } from './commands-strings.js';
import { TRANSACTION_COMMANDS } from './commands-transactions.js';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  [...STRING_COMMANDS, ...BIT_COMMANDS, ...BITFIELD_COMMANDS, ...COUNTER_COMMANDS, ...KEY_COMMANDS, ...KEYSPACE_COMMANDS, ...EXPIRY_COMMANDS, ...HASH_COMMANDS, ...LIST_COMMANDS, ...BLOCKING_COMMANDS, ...SET_COMMANDS, ...ZSET_COMMANDS, ...ZSET_COMBINE_COMMANDS, ...GEO_COMMANDS, ...HYPERLOGLOG_COMMANDS, ...SORT_COMMANDS, ...STREAM_COMMANDS, ...DUMP_COMMANDS, MIGRATE, ...REPLICATION_COMMANDS, ...SLOW_COMMANDS, ...STREAM_READ_COMMANDS, ...STREAM_GROUP_COMMANDS, XINFO, ...TRANSACTION_COMMANDS, ...CONNECTION_COMMANDS, CLIENT, ...SERVER_COMMANDS, ...PERSISTENCE_COMMANDS, MEMORY, OBJECT, ...PUBSUB_COMMANDS, ...SCRIPTING_COMMANDS, ...FUNCTION_COMMANDS, ...ADMIN_COMMANDS, commandCommand(() => COMMANDS)].map((c) => [c.name, c]),
);

/** Commands by the length of their name, each with its name's bytes (lower case); the table's order, so GET and SET come first. */
const BY_LENGTH: { name: Buffer; spec: CommandSpec }[][] = [];
for (const spec of COMMANDS.values()) {
  const name = Buffer.from(spec.name, 'latin1');
  (BY_LENGTH[name.length] ??= []).push({ name, spec });
}

/** The command named `name` (compared without regard to ASCII case), or undefined. */
export function lookupCommand(name: Buffer): CommandSpec | undefined {
  const candidates = BY_LENGTH[name.length];
  if (candidates === undefined) return undefined;
  for (let c = 0; c < candidates.length; c++) {
    if (sameName(name, candidates[c]!.name)) return candidates[c]!.spec;
  }
  return undefined;
}

/** Whether `sent` is `lower` in any case; `lower` holds lower-case letters and other bytes that must match exactly. */
function sameName(sent: Buffer, lower: Buffer): boolean {
  for (let i = 0; i < lower.length; i++) {
    const want = lower[i]!;
    const got = sent[i]!;
    // Only 'A'-'Z' become 'a'-'z' with bit 0x20 set; other bytes must be equal.
    if (got !== want && !(want >= 97 && want <= 122 && got === want - 32)) return false;
  }
  return true;
}
