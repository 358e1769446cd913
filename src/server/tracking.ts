// Client-side caching (CLIENT TRACKING), as Redis 6 and 7 serve it: a
// tracking client is told, by an `invalidate` push (RESP3) or a message on
// `__redis__:invalidate` to the client it redirects to (RESP2), when a key
// it may have cached changes. Default mode remembers the keys each client
// read (all, or with OPTIN only those after CLIENT CACHING yes, with OPTOUT
// all but those after CLIENT CACHING no) and tells it once; BCAST tells it
// of every change under its prefixes.
//
// What must hold:
// - a client is told only once the change is durable (keyspace.ts calls
//   `changed` when the commit that made it has settled): told earlier, it
//   could read the old value again, cache it, and never hear of the change;
// - NOLOOP: a client is not told of its own changes;
// - the table of remembered keys holds at most TABLE_MAX keys: past it the
//   oldest key is dropped, its clients told of it as if it had changed.
import type { Client } from './command-spec.js';
import { subscribed } from './pubsub.js';
import { array, bulk, integer, nil, push, type Reply } from './resp-writer.js';

/** Keys the default mode remembers at most (Redis's tracking-table-max-keys default). */
export const TABLE_MAX = 1_000_000;
/** The channel a RESP2 client subscribes to for its redirected invalidations. */
export const INVALIDATE_CHANNEL = '__redis__:invalidate';

export interface TrackingOptions {
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** The client told instead (its id; 0: this one). */
  redirect: number;
  prefixes: Buffer[];
}

interface Tracked {
  options: TrackingOptions;
  /** CLIENT CACHING yes (OPTIN) or no (OPTOUT) for its next command. */
  caching: boolean | undefined;
  brokenRedirect: boolean;
}

export class Tracking {
  private readonly clients = new Map<Client, Tracked>();
  /** Default mode: each remembered key (latin1) and the clients that read it. */
  private readonly table = new Map<string, Set<Client>>();
  /** Clients the table may name. */
  private readonly readers = new WeakSet<Client>();
  /** Writes issued while a client tracks, in the order they were issued (and so commit): each told once it and those before it have settled. */
  private readonly tickets: { changes: (readonly [Buffer, Client | undefined])[] | undefined }[] = [];

  constructor(private readonly byId: (id: number) => Client | undefined) {}

  /** Whether any client tracks (else nothing needs telling). */
  get active(): boolean {
    return this.clients.size > 0;
  }

  options(client: Client): Tracked | undefined {
    return this.clients.get(client);
  }

  enable(client: Client, options: TrackingOptions): void {
    const was = this.clients.get(client);
    if (was !== undefined && was.options.bcast) options = { ...options, prefixes: [...was.options.prefixes, ...options.prefixes] };
    this.clients.set(client, { options, caching: undefined, brokenRedirect: false });
  }

  disable(client: Client): void {
    this.clients.delete(client);
  }

  /** CLIENT CACHING yes|no, for the client's next command. */
  caching(client: Client, yes: boolean): void {
    this.clients.get(client)!.caching = yes;
  }

  /** A command other than CLIENT CACHING ran: a CACHING given before it is spent. */
  commandDone(client: Client): void {
    const t = this.clients.get(client);
    if (t !== undefined) t.caching = undefined;
  }

  /** A read command of `client` read `keys`: remembered for it in default mode, as OPTIN and OPTOUT say. */
  read(client: Client, keys: readonly Buffer[]): void {
    const t = this.clients.get(client);
    if (t === undefined || t.options.bcast) return;
    if (t.options.optin && t.caching !== true) return;
    if (t.options.optout && t.caching === false) return;
    for (const key of keys) {
      const k = key.toString('latin1');
      let readers = this.table.get(k);
      if (readers === undefined) {
        if (this.table.size >= TABLE_MAX) this.evictOldest();
        this.table.set(k, (readers = new Set()));
      }
      readers.add(client);
    }
    if (keys.length > 0) this.readers.add(client);
  }

  private evictOldest(): void {
    const [k, readers] = this.table.entries().next().value!;
    this.table.delete(k);
    for (const c of readers) this.tell(c, [Buffer.from(k, 'latin1')]);
  }

  /** A write issued now: `settle` it with what it changed once durable; clients hear of writes in the order they were issued. */
  ticket(): { changes: (readonly [Buffer, Client | undefined])[] | undefined } {
    const t = { changes: undefined };
    this.tickets.push(t);
    return t;
  }

  /** The write of `ticket` (undefined: issued while no client tracked) settled, having changed `changes`. */
  settle(ticket: ReturnType<Tracking['ticket']> | undefined, changes: (readonly [Buffer, Client | undefined])[]): void {
    if (ticket === undefined) return this.changed(changes);
    ticket.changes = changes;
    while (this.tickets.length > 0 && this.tickets[0]!.changes !== undefined) this.changed(this.tickets.shift()!.changes!);
  }

  /** `keys` changed, each by the client named beside it (undefined: the server, as for an expired key), and are durable. */
  private changed(changes: readonly (readonly [Buffer, Client | undefined])[]): void {
    const told = new Map<Client, Buffer[]>(); // BCAST clients' keys
    const add = (c: Client, key: Buffer) => {
      const keys = told.get(c);
      if (keys === undefined) told.set(c, [key]);
      else if (!keys.some((k) => k.equals(key))) keys.push(key);
    };
    for (const [key, by] of changes) {
      const k = key.toString('latin1');
      const readers = this.table.get(k);
      if (readers !== undefined) {
        this.table.delete(k);
        // Default mode tells of each key in a message of its own, as Redis does; BCAST of a commit's keys in one.
        for (const c of readers) {
          const t = this.clients.get(c);
          if (t !== undefined && !t.options.bcast && !(t.options.noloop && c === by)) this.tell(c, [key]);
        }
      }
      for (const [c, t] of this.clients) {
        if (!t.options.bcast || (t.options.noloop && c === by)) continue;
        if (t.options.prefixes.length === 0 || t.options.prefixes.some((p) => key.subarray(0, p.length).equals(p))) add(c, key);
      }
    }
    for (const [c, keys] of told) this.tell(c, keys);
  }

  /** Every key went (FLUSHALL, FLUSHDB): every tracking client is told so, with nil for the keys. */
  flushed(): void {
    this.table.clear();
    for (const c of this.clients.keys()) this.tell(c, undefined);
  }

  /** A client went: it tracks no more, and the table forgets it (a scan of the table: only for a client that ever remembered keys). */
  gone(client: Client): void {
    this.clients.delete(client);
    if (!this.readers.has(client)) return;
    for (const [k, readers] of this.table) {
      readers.delete(client);
      if (readers.size === 0) this.table.delete(k);
    }
  }

  /** Sends `client`'s invalidation (`keys` undefined: all), to it or where it redirects. */
  private tell(client: Client, keys: Buffer[] | undefined): void {
    const t = this.clients.get(client);
    if (t === undefined) return;
    const payload: Reply = keys === undefined ? '' : array(keys.map((k) => bulk(k)));
    let target = client;
    if (t.options.redirect !== 0) {
      const to = this.byId(t.options.redirect);
      if (to === undefined) {
        // Redis tells a RESP3 client once that its redirect is broken.
        if (client.proto === 3 && !t.brokenRedirect) client.deliver(push([bulk('tracking-redir-broken'), integer(t.options.redirect)], 3));
        t.brokenRedirect = true;
        return;
      }
      target = to;
    }
    if (target.proto === 3) target.deliver(push([bulk('invalidate'), payload === '' ? nil(3) : payload], 3));
    // A RESP2 client hears of it as a message on INVALIDATE_CHANNEL, if it is subscribed (to anything, as Redis checks).
    else if (subscribed(target)) target.deliver(array([bulk('message'), bulk(INVALIDATE_CHANNEL), payload === '' ? nil(2) : payload]));
  }

  /** CLIENT TRACKINGINFO's fields for `client`. */
  info(client: Client): { flags: string[]; redirect: number; prefixes: Buffer[] } {
    const t = this.clients.get(client);
    if (t === undefined) return { flags: ['off'], redirect: -1, prefixes: [] };
    const o = t.options;
    const flags = ['on'];
    if (o.bcast) flags.push('bcast');
    if (o.optin) flags.push('optin');
    if (o.optout) flags.push('optout');
    if (t.caching === true) flags.push('caching-yes');
    if (t.caching === false) flags.push('caching-no');
    if (o.noloop) flags.push('noloop');
    if (t.brokenRedirect) flags.push('broken_redirect');
    return { flags, redirect: o.redirect, prefixes: o.prefixes };
  }
}
