// Commands on the keyspace as a whole: SCAN, KEYS, DBSIZE, FLUSHDB, FLUSHALL, SELECT.
import { ReplyError, SYNTAX, command, count, dataCommand, word } from './command-spec.js';
import type { Data } from './data.js';
import { globMatch, literalPrefix } from './glob.js';
import { TYPE_NAMES, type KeyType, type TypeName } from './layout.js';
import { OK, array, bulk, bulks, integer } from './resp-writer.js';
import { scanOptions, scanStep } from './scan.js';

export const SCAN = dataCommand(
  'scan',
  {
    arity: -2,
    flags: ['readonly'],
    group: 'generic',
    summary: 'Iterates over the keys in key order; a cursor resumes after the last key the previous call examined.',
    since: '2.8.0',
    access: 'read',
  },
  ({ keyspace, data }, args) => {
    const after = keyspace.cursors.resume(count(args[1], 'invalid cursor'));
    const o = scanOptions(args, 2, true);
    const { prefix, exact } = o.pattern ? literalPrefix(o.pattern) : { prefix: Buffer.alloc(0), exact: false };
    // A pattern without wildcards names one key: look it up rather than scan.
    const keys = exact ? exactKey(data, prefix, after) : data.keys(after, prefix);
    const wanted = o.type === undefined ? undefined : TYPE_NAMES.indexOf(o.type as TypeName);
    const { cursor, found } = scanStep(keyspace.cursors, keys, (k) => k.key, o, (k) => wanted === undefined || k.type === wanted);
    return array([bulk(String(cursor)), bulks(found.map((k) => k.key))]);
  },
);

/** The key `key` as `Data.keys` yields it, if it is there and after `after`. */
function* exactKey(data: Data, key: Buffer, after: Buffer | undefined): Generator<{ key: Buffer; type: KeyType }> {
  const found = after === undefined || Buffer.compare(key, after) > 0 ? data.find(key) : undefined;
  if (found !== undefined) yield { key, type: found.meta.type };
}

export const KEYS = dataCommand(
  'keys',
  { arity: 2, flags: ['readonly'], group: 'generic', summary: 'Returns every key matching a glob pattern, in key order.', since: '1.0.0', access: 'read' },
  ({ data }, [, pattern]) => {
    const { prefix, exact } = literalPrefix(pattern!);
    const keys = exact ? exactKey(data, prefix, undefined) : data.keys(undefined, prefix);
    const found: Buffer[] = [];
    for (const { key } of keys) if (globMatch(pattern!, key)) found.push(key);
    return bulks(found);
  },
);

export const DBSIZE = dataCommand(
  'dbsize',
  { arity: 1, flags: ['readonly', 'fast'], group: 'server', summary: 'Returns the number of keys.', since: '1.0.0', access: 'read' },
  // Inside EXEC: the last published commit's count and the transaction's own changes.
  ({ keyspace, data }) => integer(keyspace.count() + data.keysDelta),
);

/** FLUSHDB's argument: ASYNC and SYNC are accepted; both reply once the removal is durable. */
function flushMode(args: Buffer[]): void {
  if (args.length > 2 || (args.length === 2 && !['async', 'sync'].includes(word(args[1])))) throw SYNTAX();
}

/** FLUSHDB and FLUSHALL (the same: there is one database). */
const flush = (name: string, since: string) =>
  dataCommand(
    name,
    { arity: -1, flags: ['write'], group: 'server', summary: 'Removes every key, in one commit (all or nothing).', since, access: 'write' },
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

export const FLUSHDB = flush('flushdb', '1.0.0');
export const FLUSHALL = flush('flushall', '1.0.0');

export const SELECT = command(
  'select',
  { arity: 2, flags: ['loading', 'stale', 'fast'], group: 'connection', summary: 'Selects a database: xrpkv has one, database 0.', since: '1.0.0' },
  (_ctx, [, index]) => {
    if (count(index, 'value is not an integer or out of range') !== 0) throw new ReplyError('ERR DB index is out of range');
    return OK;
  },
);

export const KEYSPACE_COMMANDS = [SCAN, KEYS, DBSIZE, FLUSHDB, FLUSHALL, SELECT];
