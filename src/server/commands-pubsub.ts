// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, the
// shard channels' SSUBSCRIBE, SUNSUBSCRIBE and SPUBLISH, and PUBSUB
// (CHANNELS, NUMSUB, NUMPAT, SHARDCHANNELS, SHARDNUMSUB), with Redis's replies: one per channel
// or pattern named, as a push in RESP3. A RESP2 connection with a
// subscription runs only these, PING and QUIT (session.ts). Messages go
// through pubsub.ts, never through the store.
import { command, word, subcommandSyntax, type Client, type Context } from './command-spec.js';
import { globMatch } from './glob.js';
import { owned, type Kind } from './pubsub.js';
import { asBuffer, bulk, bulks, helpLines, integer, map, nil, push, type Reply } from './resp-writer.js';

/** The count a (un)subscribe reply carries: channels and patterns, or shard channels (a count of their own, as Redis 7.0's). */
const subscriptions = (c: Client, kind: Kind) => (kind === 'shard' ? c.shardChannels.size : c.channels.size + c.patterns.size);

const REPLY_NAMES: Record<Kind, [string, string]> = { channel: ['subscribe', 'unsubscribe'], pattern: ['psubscribe', 'punsubscribe'], shard: ['ssubscribe', 'sunsubscribe'] };

/** Several replies sent as one. */
function joined(parts: Reply[]): Reply {
  return parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map(asBuffer));
}

function subscribe({ client, server }: Context, args: Buffer[], kind: Kind): Reply {
  const name = bulk(REPLY_NAMES[kind][0]);
  return joined(
    args.slice(1).map((channel) => {
      server.pubsub.add(client, channel, kind);
      return push([name, bulk(channel), integer(subscriptions(client, kind))], client.proto);
    }),
  );
}

function unsubscribe({ client, server }: Context, args: Buffer[], kind: Kind): Reply {
  const name = bulk(REPLY_NAMES[kind][1]);
  const own = owned(client, kind);
  const names = args.length > 1 ? args.slice(1).map((a) => a.toString('latin1')) : [...own];
  if (names.length === 0) return push([name, nil(client.proto), integer(subscriptions(client, kind))], client.proto);
  return joined(
    names.map((id) => {
      server.pubsub.remove(client, id, kind);
      return push([name, bulk(Buffer.from(id, 'latin1')), integer(subscriptions(client, kind))], client.proto);
    }),
  );
}

/** (P|S)(UN)SUBSCRIBE: channels, glob patterns or shard channels, added or (`leave`) left; the UNSUBSCRIBEs without arguments leave all of their kind. */
const subscription = (name: string, kind: Kind, leave: boolean, summary: string, since = '2.0.0') =>
  command(name, { arity: leave ? -1 : -2, flags: ['pubsub', 'noscript', 'loading', 'stale', 'no_multi'], group: 'pubsub', summary, since }, (ctx, args) =>
    leave ? unsubscribe(ctx, args, kind) : subscribe(ctx, args, kind),
  );

export const SUBSCRIBE = subscription('subscribe', 'channel', false, 'Listens for messages published to the channels.');
export const UNSUBSCRIBE = subscription('unsubscribe', 'channel', true, 'Stops listening to the channels (all, without arguments).');
export const PSUBSCRIBE = subscription('psubscribe', 'pattern', false, 'Listens for messages published to channels matching the glob patterns.');
export const PUNSUBSCRIBE = subscription('punsubscribe', 'pattern', true, 'Stops listening to the patterns (all, without arguments).');
export const SSUBSCRIBE = subscription('ssubscribe', 'shard', false, 'Listens for messages SPUBLISHed to the shard channels (a namespace apart from PUBLISH\'s).', '7.0.0');
export const SUNSUBSCRIBE = subscription('sunsubscribe', 'shard', true, 'Stops listening to the shard channels (all, without arguments).', '7.0.0');

export const SPUBLISH = command(
  'spublish',
  { arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'pubsub', summary: 'Posts a message to a shard channel (SSUBSCRIBE); returns how many received it.', since: '7.0.0' },
  ({ server }, [, channel, message]) => integer(server.pubsub.publishShard(channel!, message!)),
);

export const PUBLISH = command(
  'publish',
  { arity: 3, flags: ['pubsub', 'loading', 'stale', 'fast'], group: 'pubsub', summary: 'Posts a message to a channel; returns how many subscriptions received it. Not stored.', since: '2.0.0' },
  ({ server }, [, channel, message]) => integer(server.pubsub.publish(channel!, message!)),
);

export const PUBSUB = command(
  'pubsub',
  { arity: -2, flags: ['pubsub', 'loading', 'stale'], group: 'pubsub', summary: 'PUBSUB CHANNELS [pattern], NUMSUB [channel...], NUMPAT.', since: '2.8.0' },
  ({ client, server }, args) => {
    const sub = word(args[1]);
    if (sub === 'channels' && args.length <= 3) {
      const all = server.pubsub.channels();
      return bulks(args.length === 3 ? all.filter((c) => globMatch(args[2]!, c)) : all);
    }
    if (sub === 'numsub') {
      return map(
        args.slice(2).map((c): [Reply, Reply] => [bulk(c), integer(server.pubsub.subscribers(c))]),
        client.proto,
      );
    }
    if (sub === 'numpat' && args.length === 2) return integer(server.pubsub.patternCount);
    if (sub === 'shardchannels' && args.length <= 3) {
      const all = server.pubsub.channels('shard');
      return bulks(args.length === 3 ? all.filter((c) => globMatch(args[2]!, c)) : all);
    }
    if (sub === 'shardnumsub') {
      return map(
        args.slice(2).map((c): [Reply, Reply] => [bulk(c), integer(server.pubsub.subscribers(c, 'shard'))]),
        client.proto,
      );
    }
    if (sub === 'help' && args.length === 2) return helpLines(PUBSUB_HELP);
    throw subcommandSyntax(args, 'PUBSUB');
  },
);

const PUBSUB_HELP = [
  'PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CHANNELS [<pattern>]',
  "    Return the currently active channels matching a <pattern> (default: '*').",
  'NUMPAT',
  '    Return number of subscriptions to patterns.',
  'NUMSUB [<channel> ...]',
  '    Return the number of subscribers for the specified channels, excluding',
  '    pattern subscriptions(default: no channels).',
  'SHARDCHANNELS [<pattern>]',
  "    Return the currently active shard level channels matching a <pattern> (default: '*').",
  'SHARDNUMSUB [<shardchannel> ...]',
  '    Return the number of subscribers for the specified shard level channel(s)',
  'HELP',
  '    Prints this help.',
];

export const PUBSUB_COMMANDS = [SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB];
