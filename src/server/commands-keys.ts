// Commands on the keyspace as a whole: SCAN, KEYS, DBSIZE, FLUSHDB, SELECT.
import { ReplyError, SYNTAX, command, count, dataCommand, word } from './command-spec.js';
import { OK, array, bulk, bulks, integer } from './resp-writer.js';

export const SCAN = command(
  'scan',
  {
    arity: -2,
    flags: ['readonly'],
    group: 'generic',
    summary: 'Iterates over the keys in key order; a cursor resumes after the last key the previous call examined.',
    since: '2.8.0',
    access: 'read',
  },
  ({ keyspace }, args) => {
    const cursor = count(args[1], 'invalid cursor');
    let pattern: Buffer | undefined;
    let limit = 10;
    let onlyStrings = true;
    for (let i = 2; i < args.length; i += 2) {
      const opt = word(args[i]);
      const value = args[i + 1];
      if (value === undefined) throw SYNTAX();
      if (opt === 'match') pattern = value;
      else if (opt === 'count') {
        limit = count(value, 'value is not an integer or out of range');
        if (limit < 1) throw SYNTAX();
      } else if (opt === 'type') onlyStrings = word(value) === 'string';
      else throw SYNTAX();
    }
    // Every key holds a string: TYPE with any other type finds nothing.
    const found = keyspace.scan(cursor, pattern, limit);
    return array([bulk(String(found.cursor)), bulks(onlyStrings ? found.keys : [])]);
  },
);

export const KEYS = command(
  'keys',
  { arity: 2, flags: ['readonly'], group: 'generic', summary: 'Returns every key matching a glob pattern, in key order.', since: '1.0.0', access: 'read' },
  ({ keyspace }, [, pattern]) => bulks(keyspace.keys(pattern!)),
);

export const DBSIZE = command(
  'dbsize',
  { arity: 1, flags: ['readonly', 'fast'], group: 'server', summary: 'Returns the number of keys.', since: '1.0.0', access: 'read' },
  ({ keyspace }) => integer(keyspace.count()),
);

/** FLUSHDB's argument: ASYNC and SYNC are accepted; both reply once the removal is durable. */
function flushMode(args: Buffer[]): void {
  if (args.length > 2 || (args.length === 2 && !['async', 'sync'].includes(word(args[1])))) throw SYNTAX();
}

export const FLUSHDB = dataCommand(
  'flushdb',
  { arity: -1, flags: ['write'], group: 'server', summary: 'Removes every key, in one commit (all or nothing).', since: '1.0.0', access: 'write' },
  ({ data }, args) => {
    flushMode(args);
    data.removeAll();
    return OK;
  },
  // Alone, it holds every other write back until it is done (keyspace.ts).
  ({ keyspace }, args) => {
    flushMode(args);
    return keyspace.flush().then(() => OK);
  },
);

export const SELECT = command(
  'select',
  { arity: 2, flags: ['loading', 'stale', 'fast'], group: 'connection', summary: 'Selects a database: xrpkv has one, database 0.', since: '1.0.0' },
  (_ctx, [, index]) => {
    if (count(index, 'value is not an integer or out of range') !== 0) throw new ReplyError('ERR DB index is out of range');
    return OK;
  },
);

export const KEYSPACE_COMMANDS = [SCAN, KEYS, DBSIZE, FLUSHDB, SELECT];
