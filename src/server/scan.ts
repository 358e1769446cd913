// The SCAN family's shared part: its options (MATCH, COUNT, TYPE) and one
// call's step over items in key order. COUNT is the number of items a call
// examines; a MATCH pattern's literal prefix (`user:` of `user:*`) bounds
// the range the caller reads; a call returns cursor 0 only when no item is
// left (cursors.ts keeps the position otherwise).
import { SYNTAX, count, word } from './command-spec.js';
import type { ScanCursors } from './cursors.js';
import { globMatch } from './glob.js';

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
