// GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE and the
// GEORADIUS family, on sorted sets as Redis keeps them: a member's score is
// its 52-bit geohash (geo.ts), so ZRANGE, ZREM and the rest work on them.
// Arguments are checked in Redis's order, for Redis's errors; replies are
// Redis's (distances "%.4f", coordinates as its long doubles print).
import { ReplyError, SYNTAX, dataCommand, int64, keysWithDestinations, word, type DataContext } from './command-spec.js';
import { storeEntries } from './commands-zset-combine.js';
import { ZADD, inScoreRange, parseScore, scoreOfMember, zsetOf, type Entry } from './commands-zsets.js';
import { distance, geohashString, position, scoreOf, searchBoxes, validPosition, withinShape, type Shape } from './geo.js';
import { array, bulk, integer, nil, nullArray, type Protocol, type Reply } from './resp-writer.js';

const UNITS: Record<string, number> = { m: 1, km: 1000, ft: 0.3048, mi: 1609.34 };

function unit(arg: Buffer | undefined): number {
  const u = UNITS[word(arg)];
  if (u === undefined) throw new ReplyError('ERR unsupported unit provided. please use M, KM, FT, MI');
  return u;
}

/** A double argument as Redis's getDoubleFromObject reads it (strtod; NaN refused). */
function double(arg: Buffer | undefined, message = 'ERR value is not a valid float'): number {
  const v = arg === undefined ? undefined : parseScore(arg);
  if (v === undefined) throw new ReplyError(message);
  return v;
}

/** C's "%f". */
const f6 = (x: number) => (Number.isFinite(x) ? x.toFixed(6) : x > 0 ? 'inf' : '-inf');

/** A longitude and latitude pair, refused outside Redis's ranges. */
function lonLat(lonArg: Buffer | undefined, latArg: Buffer | undefined): [number, number] {
  const lon = double(lonArg);
  const lat = double(latArg);
  if (!validPosition(lon, lat)) throw new ReplyError(`ERR invalid longitude,latitude pair ${f6(lon)},${f6(lat)}`);
  return [lon, lat];
}

/** A long double as Redis prints a human one ("%.17Lf", trailing zeros dropped): a RESP2 bulk string, a RESP3 double. */
function humanDouble(x: number, proto: Protocol): Reply {
  let s = x.toFixed(17);
  if (s.includes('.')) s = s.replace(/0+$/, '').replace(/\.$/, '');
  if (s === '-0') s = '0';
  return proto === 3 ? `,${s}\r\n` : bulk(s);
}

const distanceReply = (meters: number) => bulk(meters.toFixed(4));

const key1 = { firstKey: 1, lastKey: 1, step: 1, group: 'geo' };

export const GEOADD = dataCommand(
  'geoadd',
  { arity: -5, flags: ['write', 'denyoom'], ...key1, access: 'write', summary: 'Adds members at longitudes and latitudes to a sorted set (NX XX CH as ZADD).', since: '3.2.0' },
  (cmd, args) => {
    let at = 2;
    let nx = false;
    let xx = false;
    for (; at < args.length; at++) {
      const w = word(args[at]);
      if (w === 'nx') nx = true;
      else if (w === 'xx') xx = true;
      else if (w !== 'ch') break;
    }
    if ((args.length - at) % 3 !== 0 || (xx && nx)) throw SYNTAX();
    // ZADD with each position as its score, as Redis does it.
    const zadd: Buffer[] = [Buffer.from('zadd'), ...args.slice(1, at)];
    for (let i = at; i < args.length; i += 3) {
      const [lon, lat] = lonLat(args[i], args[i + 1]);
      zadd.push(Buffer.from(String(scoreOf(lon, lat))), args[i + 2]!);
    }
    return ZADD.data!(cmd, zadd);
  },
);

/** Each member's score (undefined: no such member; the whole: no such key). */
function scores(cmd: DataContext, key: Buffer, members: Buffer[]): (number | undefined)[] | undefined {
  const meta = zsetOf(cmd, key);
  return meta === undefined ? undefined : members.map((m) => scoreOfMember(cmd, key, meta, m));
}

export const GEOPOS = dataCommand(
  'geopos',
  { arity: -2, flags: ['readonly'], ...key1, access: 'read', summary: 'The longitude and latitude of members (nil for a missing one).', since: '3.2.0' },
  (cmd, [, key, ...members]) => {
    const s = scores(cmd, key!, members);
    return array(members.map((_, i) => {
      const score = s?.[i];
      if (score === undefined) return nullArray(cmd.proto);
      const [lon, lat] = position(score);
      return array([humanDouble(lon, cmd.proto), humanDouble(lat, cmd.proto)]);
    }));
  },
);

export const GEODIST = dataCommand(
  'geodist',
  { arity: -4, flags: ['readonly'], ...key1, access: 'read', summary: 'The distance between two members, in m, km, ft or mi.', since: '3.2.0' },
  (cmd, args) => {
    let to = 1;
    if (args.length === 5) to = unit(args[4]);
    else if (args.length > 5) throw SYNTAX();
    const s = scores(cmd, args[1]!, [args[2]!, args[3]!]);
    if (s?.[0] === undefined || s[1] === undefined) return nil(cmd.proto);
    const [a, b] = [position(s[0]), position(s[1])];
    return distanceReply(distance(a[0], a[1], b[0], b[1]) / to);
  },
);

export const GEOHASH = dataCommand(
  'geohash',
  { arity: -2, flags: ['readonly'], ...key1, access: 'read', summary: 'The standard 11-character geohash of members (nil for a missing one).', since: '3.2.0' },
  (cmd, [, key, ...members]) => {
    const s = scores(cmd, key!, members);
    return array(members.map((_, i) => (s?.[i] === undefined ? nil(cmd.proto) : bulk(geohashString(s[i]!)))));
  },
);

/** Which search a command is: where its options start, and what it may do. */
interface Kind {
  /** GEORADIUS: a position then radius and unit; GEORADIUSBYMEMBER: a member then radius and unit; GEOSEARCH(STORE): FROM and BY options. */
  from: 'coords' | 'member' | 'search';
  store: 'none' | 'options' | 'destination';
}

interface Found {
  member: Buffer;
  score: number;
  meters: number;
  lon: number;
  lat: number;
}

/** georadiusGeneric: the arguments read in Redis's order, then the search, then the reply or the stored set. */
function search(cmd: DataContext, args: Buffer[], kind: Kind): Reply {
  const src = args[kind.store === 'destination' ? 2 : 1]!;
  const zset = zsetOf(cmd, src);
  let at: number;
  let storeKey: Buffer | undefined = kind.store === 'destination' ? args[1] : undefined;
  let storeDist = false;
  const radius = (r: Buffer | undefined, u: Buffer | undefined) => {
    const value = double(r, 'ERR need numeric radius');
    if (value < 0) throw new ReplyError('ERR radius cannot be negative');
    return { radius: value, conversion: unit(u) };
  };
  const memberPosition = (member: Buffer): [number, number] => {
    const score = scoreOfMember(cmd, src, zset!, member);
    if (score === undefined) throw new ReplyError('ERR could not decode requested zset member');
    return position(score);
  };
  let center: [number, number] | undefined;
  let by: { radius?: number; box?: { width: number; height: number }; conversion: number } | undefined;
  if (kind.from === 'coords') {
    center = lonLat(args[2], args[3]);
    by = radius(args[4], args[5]);
    at = 6;
  } else if (kind.from === 'member') {
    if (zset !== undefined) {
      center = memberPosition(args[2]!);
      by = radius(args[3], args[4]);
    }
    at = 5;
  } else {
    at = kind.store === 'destination' ? 3 : 2;
  }
  let withDist = false;
  let withHash = false;
  let withCoord = false;
  let any = false;
  let sort: 'none' | 'asc' | 'desc' = 'none';
  let count = 0;
  let fromGiven = false;
  let byGiven = false;
  for (let i = at; i < args.length; i++) {
    const w = word(args[i]);
    const left = args.length - i - 1;
    if (w === 'withdist') withDist = true;
    else if (w === 'withhash') withHash = true;
    else if (w === 'withcoord') withCoord = true;
    else if (w === 'any') any = true;
    else if (w === 'asc') sort = 'asc';
    else if (w === 'desc') sort = 'desc';
    else if (w === 'count' && left >= 1) {
      const n = int64(args[++i]!);
      if (n < 1n) throw new ReplyError('ERR COUNT must be > 0');
      count = Number(n);
    } else if ((w === 'store' || w === 'storedist') && left >= 1 && kind.store === 'options') {
      storeKey = args[++i];
      storeDist = w === 'storedist';
    } else if (w === 'storedist' && kind.store === 'destination') storeDist = true;
    else if (kind.from === 'search' && w === 'frommember' && left >= 1) {
      if (fromGiven) throw SYNTAX();
      fromGiven = true;
      i++;
      if (zset !== undefined) center = memberPosition(args[i]!);
    } else if (kind.from === 'search' && w === 'fromlonlat' && left >= 2) {
      if (fromGiven) throw SYNTAX();
      fromGiven = true;
      center = lonLat(args[i + 1], args[i + 2]);
      i += 2;
    } else if (kind.from === 'search' && w === 'byradius' && left >= 2) {
      if (byGiven) throw SYNTAX();
      byGiven = true;
      by = radius(args[i + 1], args[i + 2]);
      i += 2;
    } else if (kind.from === 'search' && w === 'bybox' && left >= 3) {
      if (byGiven) throw SYNTAX();
      byGiven = true;
      const width = double(args[i + 1], 'ERR need numeric width');
      const height = double(args[i + 2], 'ERR need numeric height');
      if (width < 0 || height < 0) throw new ReplyError('ERR height or width cannot be negative');
      by = { box: { width, height }, conversion: unit(args[i + 3]) };
      i += 3;
    } else throw SYNTAX();
  }
  if (storeKey !== undefined && (withDist || withHash || withCoord)) {
    throw new ReplyError(`ERR ${kind.store === 'destination' ? 'GEOSEARCHSTORE' : 'STORE option in GEORADIUS'} is not compatible with WITHDIST, WITHHASH and WITHCOORD options`);
  }
  const name = args[0]!.toString('utf8');
  if (kind.from === 'search' && !fromGiven) throw new ReplyError(`ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for ${name}`);
  if (kind.from === 'search' && !byGiven) throw new ReplyError(`ERR exactly one of BYRADIUS and BYBOX can be specified for ${name}`);
  if (any && count === 0) throw new ReplyError('ERR the ANY argument requires COUNT argument');
  if (zset === undefined) {
    if (storeKey === undefined) return array([]);
    cmd.data.remove(storeKey);
    return integer(0);
  }
  if (count !== 0 && sort === 'none' && !any) sort = 'asc';
  const shape: Shape = { lon: center![0], lat: center![1], ...by! };
  const limit = any ? count : 0;
  const found: Found[] = [];
  boxes: for (const [min, max] of searchBoxes(shape)) {
    if (limit > 0 && found.length >= limit) break;
    for (const e of inScoreRange(cmd, src, zset, { min, minOpen: false, max, maxOpen: true }, false)) {
      const [lon, lat] = position(e.score);
      const meters = withinShape(shape, lon, lat);
      if (meters === undefined) continue;
      found.push({ member: e.member, score: e.score, meters, lon, lat });
      if (limit > 0 && found.length >= limit) break boxes;
    }
  }
  if (sort !== 'none') found.sort((a, b) => (sort === 'asc' ? a.meters - b.meters : b.meters - a.meters));
  const returned = count === 0 ? found : found.slice(0, count);
  if (storeKey !== undefined) {
    return storeEntries(cmd, storeKey, returned.map((g): Entry => ({ member: g.member, score: storeDist ? g.meters / shape.conversion : g.score })));
  }
  const options = +withDist + +withHash + +withCoord;
  return array(
    returned.map((g) => {
      if (options === 0) return bulk(g.member);
      const items: Reply[] = [bulk(g.member)];
      if (withDist) items.push(distanceReply(g.meters / shape.conversion));
      if (withHash) items.push(integer(g.score));
      if (withCoord) items.push(array([humanDouble(g.lon, cmd.proto), humanDouble(g.lat, cmd.proto)]));
      return array(items);
    }),
  );
}

function searchCommand(name: string, arity: number, kind: Kind, summary: string, since: string) {
  const writes = kind.store !== 'none';
  return dataCommand(
    name,
    {
      arity,
      flags: writes ? ['write', 'denyoom'] : ['readonly'],
      firstKey: 1,
      lastKey: kind.store === 'destination' ? 2 : 1,
      step: 1,
      group: 'geo',
      access: writes ? 'write' : 'read',
      summary,
      since,
      ...(kind.store === 'options' ? { keysOf: (args: Buffer[]) => keysWithDestinations(args, ['store', 'storedist']) } : {}),
    },
    (cmd, args) => search(cmd, args, kind),
  );
}


export const GEOSEARCH = searchCommand('geosearch', -7, { from: 'search', store: 'none' }, 'Members within a radius or box of a member or position (ASC DESC COUNT ANY WITHCOORD WITHDIST WITHHASH).', '6.2.0');
export const GEOSEARCHSTORE = searchCommand('geosearchstore', -8, { from: 'search', store: 'destination' }, "Stores GEOSEARCH's members (or their distances, STOREDIST) as a sorted set; how many.", '6.2.0');
export const GEORADIUS = searchCommand('georadius', -6, { from: 'coords', store: 'options' }, 'Members within a radius of a position (deprecated: GEOSEARCH).', '3.2.0');
export const GEORADIUS_RO = searchCommand('georadius_ro', -6, { from: 'coords', store: 'none' }, 'GEORADIUS without STORE.', '3.2.10');
export const GEORADIUSBYMEMBER = searchCommand('georadiusbymember', -5, { from: 'member', store: 'options' }, 'Members within a radius of a member (deprecated: GEOSEARCH).', '3.2.0');
export const GEORADIUSBYMEMBER_RO = searchCommand('georadiusbymember_ro', -5, { from: 'member', store: 'none' }, 'GEORADIUSBYMEMBER without STORE.', '3.2.10');

export const GEO_COMMANDS = [GEOADD, GEOPOS, GEODIST, GEOHASH, GEOSEARCH, GEOSEARCHSTORE, GEORADIUS, GEORADIUS_RO, GEORADIUSBYMEMBER, GEORADIUSBYMEMBER_RO];
