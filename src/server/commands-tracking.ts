// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO (tracking.ts keeps
// the state), with Redis 7.0's checks and errors.
import { ReplyError, SYNTAX, word, wrongArgs, type Context } from './command-spec.js';
import { OK, array, bulk, integer, map, set, type Reply } from './resp-writer.js';
import type { TrackingOptions } from './tracking.js';

/** CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX p]... [BCAST] [OPTIN] [OPTOUT] [NOLOOP]. */
function tracking({ client, keyspace }: Context, args: Buffer[]): Reply {
  const o: TrackingOptions = { bcast: false, optin: false, optout: false, noloop: false, redirect: 0, prefixes: [] };
  for (let j = 3; j < args.length; j++) {
    const w = word(args[j]);
    const more = args.length - 1 - j > 0;
    if (w === 'redirect' && more) {
      if (o.redirect !== 0) throw new ReplyError('ERR A client can only redirect to a single other client');
      const id = Number(args[++j]!.toString('latin1'));
      if (!/^-?\d+$/.test(args[j]!.toString('latin1')) || !Number.isSafeInteger(id)) throw new ReplyError('ERR value is not an integer or out of range');
      if (keyspace.clientById(id) === undefined) throw new ReplyError('ERR The client ID you want redirect to does not exist');
      o.redirect = id;
    } else if (w === 'bcast') o.bcast = true;
    else if (w === 'optin') o.optin = true;
    else if (w === 'optout') o.optout = true;
    else if (w === 'noloop') o.noloop = true;
    else if (w === 'prefix' && more) o.prefixes.push(Buffer.from(args[++j]!));
    else throw SYNTAX();
  }
  const on = word(args[2]);
  if (on === 'off') {
    keyspace.tracking.disable(client);
    return OK;
  }
  if (on !== 'on') throw SYNTAX();
  if (!o.bcast && o.prefixes.length > 0) throw new ReplyError('ERR PREFIX option requires BCAST mode to be enabled');
  const was = keyspace.tracking.options(client)?.options;
  if (was !== undefined && was.bcast !== o.bcast) {
    throw new ReplyError('ERR You can\'t switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.');
  }
  if (o.bcast && (o.optin || o.optout)) throw new ReplyError('ERR OPTIN and OPTOUT are not compatible with BCAST');
  if (o.optin && o.optout) throw new ReplyError('ERR You can\'t specify both OPTIN mode and OPTOUT mode');
  if (was !== undefined && ((o.optin && was.optout) || (o.optout && was.optin))) {
    throw new ReplyError('ERR You can\'t switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.');
  }
  if (o.bcast) {
    // No prefix may be a prefix of another (of this call's, or of those the client has): a key would be told twice.
    const all = [...(was?.prefixes ?? []), ...o.prefixes];
    for (let i = 0; i < all.length; i++) {
      for (let k = i + 1; k < all.length; k++) {
        const [a, b] = [all[i]!, all[k]!];
        if (a.equals(b)) continue;
        if (a.subarray(0, b.length).equals(b) || b.subarray(0, a.length).equals(a)) {
          throw new ReplyError(`ERR Prefix '${a.toString()}' overlaps with another provided prefix '${b.toString()}'. Prefixes for a single client must not overlap.`);
        }
      }
    }
    o.prefixes = o.prefixes.filter((p, i) => !(was?.prefixes ?? []).some((q) => q.equals(p)) && o.prefixes.findIndex((q) => q.equals(p)) === i);
  }
  keyspace.tracking.enable(client, o);
  return OK;
}

/** CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO. */
export function trackingSubcommand(ctx: Context, sub: string, args: Buffer[]): Reply {
  const { client, keyspace } = ctx;
  const t = keyspace.tracking.options(client);
  switch (sub) {
    case 'tracking':
      if (args.length < 3) throw wrongArgs('client|tracking');
      return tracking(ctx, args);
    case 'caching': {
      if (args.length !== 3) throw wrongArgs('client|caching');
      if (t === undefined) {
        throw new ReplyError('ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled');
      }
      const yes = word(args[2]);
      if (yes === 'yes') {
        if (!t.options.optin) throw new ReplyError('ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.');
      } else if (yes === 'no') {
        if (!t.options.optout) throw new ReplyError('ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.');
      } else throw SYNTAX();
      keyspace.tracking.caching(client, yes === 'yes');
      return OK;
    }
    case 'getredir':
      if (args.length !== 2) throw wrongArgs('client|getredir');
      return integer(t === undefined ? -1 : t.options.redirect);
    default: {
      if (args.length !== 2) throw wrongArgs('client|trackinginfo');
      const info = keyspace.tracking.info(client);
      return map(
        [
          [bulk('flags'), set(info.flags.map((f) => bulk(f)), client.proto)],
          [bulk('redirect'), integer(info.redirect)],
          [bulk('prefixes'), array(info.prefixes.map((p) => bulk(p)))],
        ],
        client.proto,
      );
    }
  }
}
