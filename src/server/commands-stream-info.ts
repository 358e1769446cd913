// XINFO STREAM (FULL too), GROUPS, CONSUMERS and HELP, as Redis 7.0 answers
// them. Two fields describe Redis's radix tree of entry nodes, which xrpkv
// does not have: radix-tree-keys and radix-tree-nodes are what Redis would
// show for small entries added in order (100 to a node), an estimate
// otherwise.
import { ReplyError, dataCommand, int64, word, subcommandSyntax, type DataContext } from './command-spec.js';
import { edgeEntry, entriesReply, entryReply, range, streamOf, streamShape } from './commands-streams.js';
import { type Meta } from './layout.js';
import { array, bulk, helpLines, integer, map, nil, type Protocol, type Reply } from './resp-writer.js';
import { MAX_ID, MIN_ID, entriesUpTo, idText, tombstonesFrom, type StreamShape } from './stream.js';
import { StreamGroups, type Group } from './stream-groups.js';

const XINFO_ARITY = { consumers: 4, groups: 3, stream: -3, help: 2 };

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Prints this help.',
];

/** Entries Redis keeps in one radix-tree node by default (stream-node-max-entries). */
const NODE_ENTRIES = 100;


/** Entries not yet delivered to the group, where that is known (Redis's streamReplyWithCGLag); nil where not. */
function lag(shape: StreamShape, g: Group, proto: Protocol): Reply {
  const added = shape.state.entriesAdded;
  if (added === 0n) return integer(0);
  if (g.entriesRead !== -1n && !tombstonesFrom(shape, g.lastId)) return integer(added - g.entriesRead);
  const read = entriesUpTo(shape, g.lastId);
  return read === -1n ? nil(proto) : integer(added - read);
}

const entriesRead = (g: Group, proto: Protocol): Reply => (g.entriesRead === -1n ? nil(proto) : integer(g.entriesRead));

function streamInfo(cmd: DataContext, key: Buffer, meta: Meta, args: Buffer[]): Reply {
  const options = args.slice(3);
  const syntax = () => subcommandSyntax(args, 'XINFO');
  let full = false;
  let count = 10;
  if (options.length > 0) {
    if ((options.length !== 1 && options.length !== 3) || word(options[0]) !== 'full') throw syntax();
    full = true;
    if (options.length === 3) {
      if (word(options[1]) !== 'count') throw syntax();
      const n = int64(options[2]!);
      count = n < 0n ? 10 : Number(n);
    }
  }
  const { proto } = cmd;
  const shape = streamShape(cmd, key, meta);
  const { state } = shape;
  const nodes = Math.ceil(meta.size / NODE_ENTRIES);
  const fields: [Reply, Reply][] = [
    [bulk('length'), integer(meta.size)],
    [bulk('radix-tree-keys'), integer(nodes)],
    [bulk('radix-tree-nodes'), integer(nodes <= 1 ? nodes + 1 : 2 * nodes + 2)],
    [bulk('last-generated-id'), bulk(idText(state.last))],
    [bulk('max-deleted-entry-id'), bulk(idText(state.maxDeleted))],
    [bulk('entries-added'), integer(state.entriesAdded)],
    [bulk('recorded-first-entry-id'), bulk(idText(shape.first))],
  ];
  const groups = new StreamGroups(cmd, key, meta);
  if (!full) {
    const first = edgeEntry(cmd, key, meta, false);
    const last = edgeEntry(cmd, key, meta, true);
    fields.push(
      [bulk('groups'), integer(groups.groups().length)],
      [bulk('first-entry'), first ? entryReply(first) : nil(proto)],
      [bulk('last-entry'), last ? entryReply(last) : nil(proto)],
    );
    return map(fields, proto);
  }
  const upTo = <T>(items: Iterable<T>): T[] => {
    const out: T[] = [];
    for (const item of items) {
      if (count > 0 && out.length === count) break;
      out.push(item);
    }
    return out;
  };
  fields.push([bulk('entries'), entriesReply(range(cmd, key, meta, MIN_ID, MAX_ID, false, count))]);
  const groupReplies = groups.groups().map((g) => {
    const pending = upTo(groups.pendingRange(g, MIN_ID, MAX_ID)).map((p) => array([bulk(idText(p.id)), bulk(p.consumer), integer(p.deliveryTime), integer(p.deliveries)]));
    const consumers = groups.consumers(g).map((c) => {
      const owned = upTo(groups.pendingRange(g, MIN_ID, MAX_ID, c)).map((p) => array([bulk(idText(p.id)), integer(p.deliveryTime), integer(p.deliveries)]));
      return map(
        [
          [bulk('name'), bulk(c.name)],
          [bulk('seen-time'), integer(c.seenTime)],
          [bulk('pel-count'), integer(c.pending)],
          [bulk('pending'), array(owned)],
        ],
        proto,
      );
    });
    return map(
      [
        [bulk('name'), bulk(g.name)],
        [bulk('last-delivered-id'), bulk(idText(g.lastId))],
        [bulk('entries-read'), entriesRead(g, proto)],
        [bulk('lag'), lag(shape, g, proto)],
        [bulk('pel-count'), integer(g.pending)],
        [bulk('pending'), array(pending)],
        [bulk('consumers'), array(consumers)],
      ],
      proto,
    );
  });
  fields.push([bulk('groups'), array(groupReplies)]);
  return map(fields, proto);
}

export const XINFO = dataCommand(
  'xinfo',
  {
    arity: -2,
    flags: ['readonly'],
    firstKey: 2,
    lastKey: 2,
    step: 1,
    group: 'stream',
    access: 'read',
    summary: 'STREAM (FULL), GROUPS, CONSUMERS: what a stream, its consumer groups and their consumers hold.',
    since: '5.0.0',
    subcommands: XINFO_ARITY,
  },
  // The subcommand and its arity are checked before (arityError).
  (cmd, args) => {
    const sub = word(args[1]);
    if (sub === 'help') return helpLines(XINFO_HELP);
    const key = args[2]!;
    const meta = streamOf(cmd, key);
    if (meta === undefined) throw new ReplyError('ERR no such key');
    const { proto } = cmd;
    if (sub === 'stream') return streamInfo(cmd, key, meta, args);
    const groups = new StreamGroups(cmd, key, meta);
    if (sub === 'groups') {
      const shape = streamShape(cmd, key, meta);
      return array(
        groups.groups().map((g) =>
          map(
            [
              [bulk('name'), bulk(g.name)],
              [bulk('consumers'), integer(g.consumers)],
              [bulk('pending'), integer(g.pending)],
              [bulk('last-delivered-id'), bulk(idText(g.lastId))],
              [bulk('entries-read'), entriesRead(g, proto)],
              [bulk('lag'), lag(shape, g, proto)],
            ],
            proto,
          ),
        ),
      );
    }
    const group = groups.group(args[3]!);
    if (group === undefined) throw new ReplyError(`NOGROUP No such consumer group '${args[3]!.toString()}' for key name '${key.toString()}'`);
    const now = cmd.data.now;
    return array(
      groups.consumers(group).map((c) =>
        map(
          [
            [bulk('name'), bulk(c.name)],
            [bulk('pending'), integer(c.pending)],
            [bulk('idle'), integer(Math.max(0, now - c.seenTime))],
          ],
          proto,
        ),
      ),
    );
  },
);
