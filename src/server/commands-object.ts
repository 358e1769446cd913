// OBJECT ENCODING, REFCOUNT, FREQ, IDLETIME and HELP. xrpkv lays every type
// out as records on the B+tree (layout.ts), not in Redis's in-memory
// encodings; ENCODING answers the encoding Redis 7.0 would give the value as
// it is now, by Redis's thresholds, so that tools reading it (memory
// reports, client libraries' introspection) see what they expect. Redis's
// encodings also depend on history (a string once APPENDed to is `raw`, a
// hash once over a threshold stays `hashtable`): that part is not kept.
import { ReplyError, dataCommand, word, unknownSubcommand, type DataContext } from './command-spec.js';
import { KeyType, type Meta } from './layout.js';
import { bulk, helpLines, integer, nil, type Reply } from './resp-writer.js';

/** Redis 7.0's defaults: hash-max-listpack-entries (512) and zset-max-listpack-entries (128), their -value (64), set-max-intset-entries. */
const HASH_LISTPACK_ENTRIES = 512;
const ZSET_LISTPACK_ENTRIES = 128;
const LISTPACK_VALUE = 64;
const INTSET_ENTRIES = 512;
/** Strings of at most this many bytes are `embstr` (OBJ_ENCODING_EMBSTR_SIZE_LIMIT). */
const EMBSTR_LIMIT = 44;
/** Redis shares the integers 0 to 9999 (OBJ_SHARED_INTEGERS): their refcount is OBJ_SHARED_REFCOUNT. */
const SHARED_INTEGERS = 10_000;
const SHARED_REFCOUNT = 2147483647;

/** Whether `b` is an integer as Redis's string2ll reads one: canonical decimal, in 64 bits, at most 20 bytes. */
function int64Text(b: Buffer): boolean {
  if (b.length === 0 || b.length > 20) return false;
  const s = b.toString('latin1');
  if (!/^(0|-?[1-9]\d*)$/.test(s)) return false;
  const n = BigInt(s);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

function encoding({ data }: DataContext, key: Buffer): string | undefined {
  const found = data.find(key);
  if (found === undefined) return undefined;
  const { meta } = found;
  switch (meta.type) {
    case KeyType.String: {
      const v = found.value!;
      return int64Text(v) ? 'int' : v.length <= EMBSTR_LIMIT ? 'embstr' : 'raw';
    }
    case KeyType.List:
      return 'quicklist';
    case KeyType.Hash:
    case KeyType.ZSet: {
      const entries = meta.type === KeyType.Hash ? HASH_LISTPACK_ENTRIES : ZSET_LISTPACK_ENTRIES;
      const small = meta.size <= entries && members(data, key, meta, entries).every(([m, v]) => m.length <= LISTPACK_VALUE && (meta.type === KeyType.ZSet || v.length <= LISTPACK_VALUE));
      return small ? 'listpack' : meta.type === KeyType.Hash ? 'hashtable' : 'skiplist';
    }
    case KeyType.Stream:
      return 'stream';
    case KeyType.Set:
      return meta.size <= INTSET_ENTRIES && members(data, key, meta, INTSET_ENTRIES).every(([m]) => int64Text(m)) ? 'intset' : 'hashtable';
    default:
      return undefined;
  }
}

/** The first `limit` members of a collection (enough to decide its encoding). */
function members(data: DataContext['data'], key: Buffer, meta: Meta, limit: number): [Buffer, Buffer][] {
  const out: [Buffer, Buffer][] = [];
  for (const entry of data.members(key, meta)) {
    out.push(entry);
    if (out.length === limit) break;
  }
  return out;
}

const HELP = [
  'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'ENCODING <key>',
  '    Return the encoding Redis 7.0 would use for the value as it is now.',
  'FREQ <key>',
  '    Not tracked (as in Redis without an LFU maxmemory policy).',
  'IDLETIME <key>',
  '    Not tracked: xrpkv does not record when keys were last used.',
  'REFCOUNT <key>',
  '    Return the number of references of the value, as Redis counts them.',
  'HELP',
  '    Print this help.',
];

export const OBJECT = dataCommand(
  'object',
  { arity: -2, flags: ['readonly'], firstKey: 2, lastKey: 2, step: 1, group: 'generic', summary: 'OBJECT ENCODING|REFCOUNT|FREQ|IDLETIME key, OBJECT HELP: how a value would be held in Redis.', since: '2.2.3', access: 'read' },
  (cmd, args): Reply => {
    const sub = word(args[1]);
    if (sub === 'help' && args.length === 2) return helpLines(HELP);
    if (!['encoding', 'refcount', 'freq', 'idletime'].includes(sub)) throw unknownSubcommand(args, 'OBJECT');
    if (args.length !== 3) throw new ReplyError(`ERR wrong number of arguments for 'object|${sub}' command`);
    const key = args[2]!;
    const found = cmd.data.find(key);
    if (found === undefined) return nil(cmd.proto);
    switch (sub) {
      case 'encoding':
        return bulk(encoding(cmd, key)!);
      case 'refcount': {
        const v = found.meta.type === KeyType.String ? found.value! : undefined;
        const shared = v !== undefined && int64Text(v) && BigInt(v.toString('latin1')) >= 0n && BigInt(v.toString('latin1')) < BigInt(SHARED_INTEGERS);
        return integer(shared ? SHARED_REFCOUNT : 1);
      }
      case 'freq':
        throw new ReplyError(
          'ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.',
        );
      default:
        throw new ReplyError('ERR xrpkv does not track when keys were last used: OBJECT IDLETIME has no answer');
    }
  },
);
