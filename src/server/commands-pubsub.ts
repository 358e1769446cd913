// Pub/Sub: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH and
// PUBSUB (CHANNELS, NUMSUB, NUMPAT), with Redis's replies: one per channel
// or pattern named, as a push in RESP3. A RESP2 connection with a
// subscription runs only these, PING and QUIT (session.ts). Messages go
// through pubsub.ts, never through the store.
import { ReplyError, command, word, type Client, type Context } from './command-spec.js';
import { globMatch } from './glob.js';
import { asBuffer, bulk, bulks, integer, map, nil, push, type Reply } from './resp-writer.js';

const subscriptions = (c: Client) => c.channels.size + c.patterns.size;

/** Several replies sent as one. */
function joined(parts: Reply[]): Reply {
  return parts.every((p) => typeof p === 'string') ? parts.join('') : Buffer.concat(parts.map(asBuffer));
}

function subscribe({ client, server }: Context, args: Buffer[], pattern: boolean): Reply {
  const kind = bulk(pattern ? 'psubscribe' : 'subscribe');
  return joined(
    args.slice(1).map((name) => {
      server.pubsub.add(client, name, pattern);
      return push([kind, bulk(name), integer(subscriptions(client))], client.proto);
    }),
  );
}

function unsubscribe({ client, server }: Context, args: Buffer[], pattern: boolean): Reply {
  const kind = bulk(pattern ? 'punsubscribe' : 'unsubscribe');
  const names = args.length > 1 ? args.slice(1).map((a) => a.toString('latin1')) : [...(pattern ? client.patterns : client.channels)];
  if (names.length === 0) return push([kind, nil(client.proto), integer(subscriptions(client))], client.proto);
  return joined(
    names.map((id) => {
      server.pubsub.remove(client, id, pattern);
      return push([kind, bulk(Buffer.from(id, 'latin1')), integer(subscriptions(client))], client.proto);
    }),
  );
}

/** (P)(UN)SUBSCRIBE: channels or (`pattern`) glob patterns, added or (`leave`) left; UNSUBSCRIBEs without arguments leave all. */
const subscription = (name: string, pattern: boolean, leave: boolean, summary: string) =>
  command(name, { arity: leave ? -1 : -2, flags: ['pubsub', 'noscript', 'loading', 'stale', 'no_multi'], group: 'pubsub', summary, since: '2.0.0' }, (ctx, args) =>
    leave ? unsubscribe(ctx, args, pattern) : subscribe(ctx, args, pattern),
  );

export const SUBSCRIBE = subscription('subscribe', false, false, 'Listens for messages published to the channels.');
export const UNSUBSCRIBE = subscription('unsubscribe', false, true, 'Stops listening to the channels (all, without arguments).');
export const PSUBSCRIBE = subscription('psubscribe', true, false, 'Listens for messages published to channels matching the glob patterns.');
export const PUNSUBSCRIBE = subscription('punsubscribe', true, true, 'Stops listening to the patterns (all, without arguments).');

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
    throw new ReplyError(`ERR unknown subcommand or wrong number of arguments for '${args[1]!.toString('utf8')}'. Try PUBSUB HELP.`);
  },
);

export const PUBSUB_COMMANDS = [SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, PUBLISH, PUBSUB];
