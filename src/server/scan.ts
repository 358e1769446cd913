// The SCAN family's shared part: its options (MATCH, COUNT, TYPE) and one
// call's step over items in key order. COUNT is the number of items a call
// examines; a MATCH pattern's literal prefix (`user:` of `user:*`) bounds
// the range the caller reads; a call returns cursor 0 only when no item is
// left (cursors.ts keeps the position otherwise).
import { SYNTAX, count, dataCommand, word, type CommandSpec } from './command-spec.js';
import type { ScanCursors } from './cursors.js';
import { globMatch } from './glob.js';
import type { KeyType } from './layout.js';
import { array, bulk, bulks } from './resp-writer.js';

export interface ScanOptions {
  pattern: Buffer | undefined;
  limit: number;
  /** SCAN's TYPE, lower case. */
  type: string | undefined;
}

/** Parses `args[from..]` as [MATCH p] [COUNT n] (and [TYPE t] when `withType`). */
export function scanOptions(args: Buffer[], from: number, withType: boolean): ScanOptions {
  const o: ScanOptions = { pattern: undefined, limit: 10, type: undefined };
  for (let i = from; i < args.length; i += 2) {
    const opt = word(args[i]);
    const value = args[i + 1];
    if (value === undefined) throw SYNTAX();
    if (opt === 'match') o.pattern = value;
    else if (opt === 'count') {
      o.limit = count(value, 'value is not an integer or out of range');
      if (o.limit < 1) throw SYNTAX();
    } else if (opt === 'type' && withType) o.type = word(value);
    else throw SYNTAX();
  }
  return o;
}

/**
 * Examines up to `limit` of `items` (those after the cursor), keeping those
 * whose name (`nameOf`) matches `pattern` and `keep` says to; answers the
 * kept ones and the next cursor (0 when no item is left).
 */
export function scanStep<T>(
  cursors: ScanCursors,
  items: Iterable<T>,
  nameOf: (item: T) => Buffer,
  o: { pattern: Buffer | undefined; limit: number },
  keep: (item: T) => boolean = () => true,
): { cursor: number; found: T[] } {
  const found: T[] = [];
  let last: Buffer | undefined;
  let seen = 0;
  for (const item of items) {
    if (seen === o.limit) return { cursor: cursors.save(last!), found };
    const name = nameOf(item);
    last = name;
    seen++;
    if ((o.pattern === undefined || globMatch(o.pattern, name)) && keep(item)) found.push(item);
  }
  return { cursor: 0, found };
}

/** HSCAN, SSCAN, ZSCAN: a call over the members of a collection of `type`, each answered as `reply` says. */
export function scanCommand(name: string, type: KeyType, group: string, summary: string, reply: (member: [Buffer, Buffer]) => (Buffer | string)[]): CommandSpec {
  return dataCommand(
    name,
    { arity: -3, flags: ['readonly', 'random'], firstKey: 1, lastKey: 1, step: 1, group, summary: `${summary} A cursor resumes after the last member examined.`, since: '2.8.0', access: 'read' },
    ({ data, keyspace }, args) => {
      const key = args[1]!;
      const after = keyspace.cursors.resume(count(args[2], 'invalid cursor'));
      const o = scanOptions(args, 3, false);
      const meta = data.collection(key, type);
      if (meta === undefined) return array([bulk('0'), array([])]);
      const from = after === undefined ? undefined : Buffer.concat([after, Buffer.alloc(1)]);
      const { cursor, found } = scanStep(keyspace.cursors, data.members(key, meta, { from }), ([m]) => m, o);
      return array([bulk(String(cursor)), bulks(found.flatMap(reply))]);
    },
  );
}
