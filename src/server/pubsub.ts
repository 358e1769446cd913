// Pub/Sub's registry: which connections listen to which channels and
// patterns, and the delivery of a PUBLISH to them. Messages are not stored:
// a connection subscribed when the message is published gets it, in the
// order messages were published, after the replies it was due before.
import { globMatch } from './glob.js';
import { bulk, push, type Protocol, type Reply } from './resp-writer.js';

/** A connection as Pub/Sub sees it. */
export interface Subscriber {
  readonly proto: Protocol;
  /** Its channels, patterns and shard channels (SSUBSCRIBE) (latin1 of their bytes). */
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  readonly shardChannels: Set<string>;
  /** Sends `message` after the replies it is due. */
  deliver(message: Reply): void;
}

/** What a subscription names: a channel, a glob pattern of channels, or a shard channel (a namespace of its own, for SPUBLISH). */
export type Kind = 'channel' | 'pattern' | 'shard';

export class PubSub {
  /** Subscribers by channel, by pattern and by shard channel (latin1); a name with none is removed. */
  private readonly byChannel = new Map<string, Set<Subscriber>>();
  private readonly byPattern = new Map<string, Set<Subscriber>>();
  private readonly byShard = new Map<string, Set<Subscriber>>();

  private index(kind: Kind): Map<string, Set<Subscriber>> {
    return kind === 'channel' ? this.byChannel : kind === 'pattern' ? this.byPattern : this.byShard;
  }

  /** Subscribes `s` to `name`; whether it was new. */
  add(s: Subscriber, name: Buffer, kind: Kind): boolean {
    const id = name.toString('latin1');
    const own = owned(s, kind);
    if (own.has(id)) return false;
    own.add(id);
    const index = this.index(kind);
    const subs = index.get(id);
    if (subs) subs.add(s);
    else index.set(id, new Set([s]));
    return true;
  }

  /** Unsubscribes `s` from `id` (latin1); whether it was subscribed. */
  remove(s: Subscriber, id: string, kind: Kind): boolean {
    const own = owned(s, kind);
    if (!own.delete(id)) return false;
    const index = this.index(kind);
    const subs = index.get(id)!;
    subs.delete(s);
    if (subs.size === 0) index.delete(id);
    return true;
  }

  /** Unsubscribes `s` from everything (its connection closed). */
  removeAll(s: Subscriber): void {
    for (const kind of ['channel', 'pattern', 'shard'] as const) for (const id of [...owned(s, kind)]) this.remove(s, id, kind);
  }

  /** SPUBLISH: delivers `message` to the subscribers of shard channel `channel`; how many. */
  publishShard(channel: Buffer, message: Buffer): number {
    const subs = this.byShard.get(channel.toString('latin1'));
    if (subs === undefined) return 0;
    const encoded: (Reply | undefined)[] = [];
    for (const s of subs) s.deliver((encoded[s.proto] ??= push([bulk('smessage'), bulk(channel), bulk(message)], s.proto)));
    return subs.size;
  }

  /** Delivers `message` on `channel` to every subscriber of it and of a pattern it matches; how many deliveries. */
  publish(channel: Buffer, message: Buffer): number {
    let n = 0;
    const encoded: (Reply | undefined)[] = [];
    const subs = this.byChannel.get(channel.toString('latin1'));
    if (subs) {
      for (const s of subs) s.deliver((encoded[s.proto] ??= push([bulk('message'), bulk(channel), bulk(message)], s.proto)));
      n += subs.size;
    }
    for (const [id, patternSubs] of this.byPattern) {
      const pattern = Buffer.from(id, 'latin1');
      if (!globMatch(pattern, channel)) continue;
      const forPattern: (Reply | undefined)[] = [];
      for (const s of patternSubs) s.deliver((forPattern[s.proto] ??= push([bulk('pmessage'), bulk(pattern), bulk(channel), bulk(message)], s.proto)));
      n += patternSubs.size;
    }
    return n;
  }

  /** Channels (or shard channels) with a subscriber (PUBSUB CHANNELS, SHARDCHANNELS). */
  channels(kind: 'channel' | 'shard' = 'channel'): Buffer[] {
    return [...this.index(kind).keys()].map((id) => Buffer.from(id, 'latin1'));
  }

  /** Subscribers of `channel` (PUBSUB NUMSUB, SHARDNUMSUB). */
  subscribers(channel: Buffer, kind: 'channel' | 'shard' = 'channel'): number {
    return this.index(kind).get(channel.toString('latin1'))?.size ?? 0;
  }

  /** Patterns with a subscriber (PUBSUB NUMPAT). */
  get patternCount(): number {
    return this.byPattern.size;
  }

  get channelCount(): number {
    return this.byChannel.size;
  }
}

/** The names `s` is subscribed to of `kind`. */
export const owned = (s: Subscriber, kind: Kind): Set<string> => (kind === 'channel' ? s.channels : kind === 'pattern' ? s.patterns : s.shardChannels);

/** Whether `s` listens to anything (a RESP2 connection then runs only the Pub/Sub commands, PING, QUIT and RESET). */
export const subscribed = (s: Subscriber): boolean => s.channels.size + s.patterns.size + s.shardChannels.size > 0;
