// Every command the server knows, by lower-case name.
import type { CommandSpec } from './command-spec.js';
import { CONNECTION_COMMANDS } from './commands-connection.js';
import { KEYSPACE_COMMANDS } from './commands-keys.js';
import { SERVER_COMMANDS, commandCommand } from './commands-server.js';
import { STRING_COMMANDS } from './commands-strings.js';

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map(
  [...STRING_COMMANDS, ...KEYSPACE_COMMANDS, ...CONNECTION_COMMANDS, ...SERVER_COMMANDS, commandCommand(() => COMMANDS)].map((c) => [c.name, c]),
);
