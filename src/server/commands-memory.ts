// MEMORY USAGE: what a key takes in the store file, which `redis-cli
// --memkeys` asks of every key. A key's records (data layout: layout.ts) are
// counted as leaf entries take them (format/page.ts `leafEntrySize`, values
// past a leaf's inline limit in overflow pages): its string or metadata
// record, its expiry index record, and its members, of which a collection
// counts SAMPLES (5 unless given; 0: all) and scales them to its size, as
// Redis samples.
import { SYNTAX, count, dataCommand, word, subcommandSyntax, type DataContext } from './command-spec.js';
import { KeyType, encodeMeta, encodeStringMeta, expiryKey, memberPrefixLength, metaKey, rawKey, scoreBytes } from './layout.js';
import { helpLines, integer, nil, type Reply } from './resp-writer.js';
import { OVERFLOW_REF, leafEntrySize, maxInline } from '../format/page.js';

const DEFAULT_SAMPLES = 5;
const EMPTY = Buffer.alloc(0);

/** Bytes `key`'s records take in pages of `p` bytes; undefined when it is missing. */
function usage({ data }: DataContext, key: Buffer, samples: number, p: number): number | undefined {
  const found = data.find(key);
  if (found === undefined) return undefined;
  // A value past the inline limit: a reference in the leaf, its bytes in overflow pages.
  const record = (keyLength: number, valueLength: number) =>
    leafEntrySize(keyLength, EMPTY, p) + (valueLength <= maxInline(p) ? valueLength : OVERFLOW_REF + valueLength);
  const { meta } = found;
  // The records as layout.ts lays them out: a string without a deadline is one raw record; anything else has a metadata record.
  if (meta.type === KeyType.String && meta.deadline === 0) return record(rawKey(key).length, found.value!.length);
  const metaValue = meta.type === KeyType.String ? encodeStringMeta(found.value!, meta.deadline) : encodeMeta(meta);
  let bytes = record(metaKey(key).length, metaValue.length);
  if (meta.deadline !== 0) bytes += record(expiryKey(meta.deadline, key).length, 0);
  if (meta.type === KeyType.String) return bytes;
  const prefix = memberPrefixLength(key);
  // A sorted set's member has a score record too: its score's bytes before its name.
  const scoreLength = meta.type === KeyType.ZSet ? scoreBytes(0).length : 0;
  let seen = 0;
  let sum = 0;
  for (const [member, value] of data.members(key, meta)) {
    sum += record(prefix + member.length, value.length);
    if (scoreLength > 0) sum += record(prefix + scoreLength + member.length, 0);
    if (++seen === samples) break;
  }
  return bytes + (seen === 0 ? 0 : Math.round((sum / seen) * meta.size));
}

const HELP = [
  'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'USAGE <key> [SAMPLES <count>]',
  "    Return the bytes <key>'s records take in the store file. For a collection,",
  '    <count> of its members are sampled (default 5; 0: all of them).',
  'HELP',
  '    Print this help.',
];

export const MEMORY = dataCommand(
  'memory',
  {
    arity: -2,
    flags: ['readonly'],
    firstKey: 2,
    lastKey: 2,
    step: 1,
    group: 'server',
    summary: "MEMORY USAGE key [SAMPLES count]: the bytes a key's records take in the store file (members sampled). MEMORY HELP.",
    since: '4.0.0',
    access: 'read',
  },
  (cmd, args): Reply => {
    const sub = word(args[1]);
    if (sub === 'help' && args.length === 2) return helpLines(HELP);
    if (sub !== 'usage') throw subcommandSyntax(args, 'MEMORY');
    if (args.length !== 3 && args.length !== 5) throw SYNTAX();
    let samples = DEFAULT_SAMPLES;
    if (args.length === 5) {
      if (word(args[3]) !== 'samples') throw SYNTAX();
      samples = count(args[4], 'value is out of range, must be positive');
    }
    const bytes = usage(cmd, args[2]!, samples, cmd.keyspace.db.pageSize);
    return bytes === undefined ? nil(cmd.proto) : integer(bytes);
  },
);
