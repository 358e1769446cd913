// Pub/Sub's registry: which connections listen to which channels and
// patterns, and the delivery of a PUBLISH to them. Messages are not stored:
// a connection subscribed when the message is published gets it, in the
// order messages were published, after the replies it was due before.
import { globMatch } from './glob.js';
import { bulk, push, type Protocol, type Reply } from './resp-writer.js';

/** A connection as Pub/Sub sees it. */
export interface Subscriber {
  readonly proto: Protocol;
  /** Its channels and patterns (latin1 of their bytes). */
  readonly channels: Set<string>;
  readonly patterns: Set<string>;
  /** Sends `message` after the replies it is due. */
  deliver(message: Reply): void;
}

export class PubSub {
  /** Subscribers by channel, and by pattern (latin1); a name with none is removed. */
  private readonly byChannel = new Map<string, Set<Subscriber>>();
  private readonly byPattern = new Map<string, Set<Subscriber>>();

  /** Subscribes `s` to `name` (a channel, or with `pattern` a glob); whether it was new. */
  add(s: Subscriber, name: Buffer, pattern: boolean): boolean {
    const id = name.toString('latin1');
    const own = pattern ? s.patterns : s.channels;
    if (own.has(id)) return false;
    own.add(id);
    const index = pattern ? this.byPattern : this.byChannel;
    const subs = index.get(id);
    if (subs) subs.add(s);
    else index.set(id, new Set([s]));
    return true;
  }

  /** Unsubscribes `s` from `id` (latin1); whether it was subscribed. */
  remove(s: Subscriber, id: string, pattern: boolean): boolean {
    const own = pattern ? s.patterns : s.channels;
    if (!own.delete(id)) return false;
    const index = pattern ? this.byPattern : this.byChannel;
    const subs = index.get(id)!;
    subs.delete(s);
    if (subs.size === 0) index.delete(id);
    return true;
  }

  /** Unsubscribes `s` from everything (its connection closed). */
  removeAll(s: Subscriber): void {
    for (const id of [...s.channels]) this.remove(s, id, false);
    for (const id of [...s.patterns]) this.remove(s, id, true);
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

  /** Channels with a subscriber (PUBSUB CHANNELS). */
  channels(): Buffer[] {
    return [...this.byChannel.keys()].map((id) => Buffer.from(id, 'latin1'));
  }

  /** Subscribers of `channel` (PUBSUB NUMSUB). */
  subscribers(channel: Buffer): number {
    return this.byChannel.get(channel.toString('latin1'))?.size ?? 0;
  }

  /** Patterns with a subscriber (PUBSUB NUMPAT). */
  get patternCount(): number {
    return this.byPattern.size;
  }

  get channelCount(): number {
    return this.byChannel.size;
  }
}
