// Commands on keys of any type: DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME,
// RENAMENX, COPY, RANDOMKEY. A collection's members move with it: RENAME
// and COPY write them under the new key, as Kvrocks does (O(members)).
import { ReplyError, SYNTAX, count, dataCommand, word, type DataContext } from './command-spec.js';
import { TYPE_NAMES } from './layout.js';
import { OK, bulkOrNil, integer, simple, type Reply } from './resp-writer.js';

const keys = { firstKey: 1, lastKey: -1, step: 1 };
const twoKeys = { firstKey: 1, lastKey: 2, step: 1 };

const removeKeys = ({ data }: DataContext, args: Buffer[]): Reply => integer(args.slice(1).reduce((n, k) => n + (data.remove(k) ? 1 : 0), 0));

export const DEL = dataCommand(
  'del',
  { arity: -2, flags: ['write'], ...keys, group: 'generic', summary: 'Deletes keys; replies how many existed.', since: '1.0.0', access: 'write' },
  removeKeys,
);

export const UNLINK = dataCommand(
  'unlink',
  {
    arity: -2,
    flags: ['write', 'fast'],
    ...keys,
    group: 'generic',
    summary: "Deletes keys, as DEL does: a large collection's members are left to the background sweep either way.",
    since: '4.0.0',
    access: 'write',
  },
  removeKeys,
);

const countExisting = ({ data }: DataContext, args: Buffer[]): Reply => integer(args.slice(1).reduce((n, k) => n + (data.read(k) !== undefined ? 1 : 0), 0));

export const EXISTS = dataCommand(
  'exists',
  { arity: -2, flags: ['readonly', 'fast'], ...keys, group: 'generic', summary: 'How many of the keys exist (a key named twice counts twice).', since: '1.0.0', access: 'read' },
  countExisting,
);

export const TOUCH = dataCommand(
  'touch',
  { arity: -2, flags: ['readonly', 'fast'], ...keys, group: 'generic', summary: 'How many of the keys exist (xrpkv keeps no access times).', since: '3.2.1', access: 'read' },
  countExisting,
);

export const TYPE = dataCommand(
  'type',
  { arity: 2, flags: ['readonly', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'generic', summary: "Returns a key's type: string, hash, list, set, zset, or none.", since: '1.0.0', access: 'read' },
  ({ data }, args) => {
    const found = data.find(args[1]!);
    return simple(found === undefined ? 'none' : TYPE_NAMES[found.meta.type]);
  },
);

/** RENAME and RENAMENX: the key, its value or members, and its deadline move to the new name. */
function rename({ data }: DataContext, args: Buffer[], onlyNew: boolean): Reply {
  const [, from, to] = args as [Buffer, Buffer, Buffer];
  const found = data.find(from);
  if (found === undefined) throw new ReplyError('ERR no such key');
  if (from.equals(to)) return onlyNew ? integer(0) : OK;
  const there = data.find(to);
  if (onlyNew && there !== undefined) return integer(0);
  if (there !== undefined) data.remove(to, there);
  data.copy(from, found, to);
  data.remove(from, found);
  return onlyNew ? integer(1) : OK;
}

export const RENAME = dataCommand(
  'rename',
  { arity: 3, flags: ['write'], ...twoKeys, group: 'generic', summary: 'Renames a key, replacing the destination.', since: '1.0.0', access: 'write' },
  (cmd, args) => rename(cmd, args, false),
);

export const RENAMENX = dataCommand(
  'renamenx',
  { arity: 3, flags: ['write', 'fast'], ...twoKeys, group: 'generic', summary: 'Renames a key only if the new name is free; 1 if it did.', since: '1.0.0', access: 'write' },
  (cmd, args) => rename(cmd, args, true),
);

export const COPY = dataCommand(
  'copy',
  { arity: -3, flags: ['write', 'denyoom'], ...twoKeys, group: 'generic', summary: 'Copies a key (and its deadline) to a new name; REPLACE overwrites it. DB must be 0.', since: '6.2.0', access: 'write' },
  ({ data }, args) => {
    const [, from, to] = args as [Buffer, Buffer, Buffer];
    let replace = false;
    for (let i = 3; i < args.length; i++) {
      const opt = word(args[i]);
      if (opt === 'replace') replace = true;
      else if (opt === 'db' && i + 1 < args.length) {
        if (count(args[++i], 'value is not an integer or out of range') !== 0) throw new ReplyError('ERR DB index is out of range');
      } else throw SYNTAX();
    }
    if (from.equals(to)) throw new ReplyError('ERR source and destination objects are the same');
    const found = data.find(from);
    if (found === undefined) return integer(0);
    const there = data.find(to);
    if (there !== undefined) {
      if (!replace) return integer(0);
      data.remove(to, there);
    }
    data.copy(from, found, to);
    return integer(1);
  },
);

export const RANDOMKEY = dataCommand(
  'randomkey',
  { arity: 1, flags: ['readonly'], group: 'generic', summary: 'Returns a key picked at random (from a random place in key order), or nil.', since: '1.0.0', access: 'read' },
  ({ data, proto }) => bulkOrNil(data.randomKey(), proto),
);

export const KEY_COMMANDS = [DEL, UNLINK, EXISTS, TOUCH, TYPE, RENAME, RENAMENX, COPY, RANDOMKEY];
