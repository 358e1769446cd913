// The GEO commands against Debian's redis-server 7.0 (started here): the
// same seeded random members and searches on both, every reply compared
// byte for byte: positions, distances, geohashes, and which members a
// search finds in which order (unsorted searches follow Redis's geohash
// boxes, so they must match too), COUNT ANY included; then the errors.
import { describe, it } from 'vitest';
import { fractions, seedsFrom } from './store-fixtures.js';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('geo.xrpkv');
const SEEDS = seedsFrom('XRPKV_GEO_SEEDS', '1-3');

/** The same command on both servers: replies (or error messages) equal. */
const same = (...args: (string | number)[]): Promise<unknown> => beside.same(args);


describe('GEO commands', () => {
  for (const seed of SEEDS) {
    it(`answer as redis-server for seed ${seed}: members near and far, searches of every kind`, async () => {
      const rand = fractions(seed);
      const key = `geo:${seed}`;
      // Clusters at a few places, the poles' edge and the antimeridian among them.
      const centers = [
        [13.36, 38.11],
        [-0.12, 51.5],
        [179.9, -16.5],
        [-179.95, 64.1],
        [2.35, 84.9],
        [-73.98, 40.75],
      ];
      const members: [number, number][] = [];
      for (let i = 0; i < 300; i++) {
        const [lon0, lat0] = centers[i % centers.length]!;
        const spread = [0.01, 0.5, 5][i % 3]!;
        let lon = lon0! + (rand() - 0.5) * spread * 2;
        if (lon > 180) lon -= 360;
        if (lon < -180) lon += 360;
        const lat = Math.max(-85, Math.min(85, lat0! + (rand() - 0.5) * spread));
        members.push([Number(lon.toFixed(6)), Number(lat.toFixed(6))]);
      }
      for (let i = 0; i < members.length; i += 50) {
        const args = members.slice(i, i + 50).flatMap(([lon, lat], j) => [lon, lat, `m${i + j}`]);
        await same('GEOADD', key, ...args);
      }
      await same('GEOADD', key, 'CH', 1, 1, 'm0', 2, 2, 'new');
      await same('GEOADD', key, 'NX', 3, 3, 'm1', 4, 4, 'new2');
      await same('GEOADD', key, 'XX', 5, 5, 'm2', 6, 6, 'new3');
      const someMembers = () => Array.from({ length: 4 }, () => `m${Math.floor(rand() * 320)}`);
      for (let q = 0; q < 60; q++) {
        await same('GEOPOS', key, ...someMembers());
        const [a, b] = someMembers();
        await same('GEODIST', key, a!, b!, ...(rand() < 0.5 ? [['m', 'km', 'mi', 'ft'][q % 4]!] : []));
        await same('GEOHASH', key, ...someMembers());
        const [lon, lat] = members[Math.floor(rand() * members.length)]!;
        const from = rand() < 0.5 ? ['FROMLONLAT', lon + (rand() - 0.5) * 0.2, Math.max(-85, Math.min(85, lat + (rand() - 0.5) * 0.2))] : ['FROMMEMBER', someMembers()[0]!];
        const unit = ['m', 'km', 'mi', 'ft'][Math.floor(rand() * 4)]!;
        const size = [500, 20_000, 300_000, 3_000_000][Math.floor(rand() * 4)]! / { m: 1, km: 1000, mi: 1609.34, ft: 0.3048 }[unit]!;
        const by = rand() < 0.5 ? ['BYRADIUS', size, unit] : ['BYBOX', size, size * (0.5 + rand()), unit];
        const order = [[], ['ASC'], ['DESC']][Math.floor(rand() * 3)]!;
        const count = rand() < 0.4 ? ['COUNT', 1 + Math.floor(rand() * 5), ...(rand() < 0.3 ? ['ANY'] : [])] : [];
        const withs = ['WITHCOORD', 'WITHDIST', 'WITHHASH'].filter(() => rand() < 0.4);
        await same('GEOSEARCH', key, ...from, ...by, ...order, ...count, ...withs);
        await same('GEOSEARCHSTORE', `${key}:dst`, key, ...from, ...by, ...order, ...count, ...(rand() < 0.5 ? ['STOREDIST'] : []));
        await same('ZRANGE', `${key}:dst`, 0, -1, 'WITHSCORES');
        await same('GEORADIUS', key, lon, lat, size, unit, ...order, ...count, ...withs);
        await same('GEORADIUSBYMEMBER_RO', key, someMembers()[0]!, size, unit, ...order, ...count);
      }
    });
  }

  it('refuse what Redis refuses, with its errors', async () => {
    const key = 'geo:errors';
    await same('GEOADD', key, 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania');
    await same('SET', 'geo:string', 'x');
    for (const args of [
      ['GEOADD', key, 181, 0, 'x'],
      ['GEOADD', key, 1, 86, 'x'],
      ['GEOADD', key, 'abc', 1, 'x'],
      ['GEOADD', key, 'NX', 'XX', 1, 2, 'a'],
      ['GEOADD', key, 1, 2, 'a', 3],
      ['GEOADD', 'geo:string', 1, 2, 'a'],
      ['GEOPOS', 'geo:string', 'a'],
      ['GEOPOS', 'geo:none', 'a', 'b'],
      ['GEODIST', key, 'Palermo', 'Catania', 'yd'],
      ['GEODIST', key, 'Palermo', 'nobody'],
      ['GEODIST', key, 'Palermo', 'Catania', 'km', 'x'],
      ['GEOHASH', 'geo:none', 'a'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', -1, 'km'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', 'x', 'km'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYBOX', -1, 1, 'km'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYBOX', 'x', 1, 'km'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYBOX', 1, 'x', 'km'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'FROMMEMBER', 'Palermo', 'BYRADIUS', 1, 'km'],
      ['GEOSEARCH', key, 'BYRADIUS', 1, 'km', 'BYBOX', 1, 1, 'km', 'FROMLONLAT', 1, 1],
      ['GEOSEARCH', key, 'BYBOX', 1, 1, 'km', 'COUNT', 1, 'ASC'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'COUNT', 1, 'WITHDIST'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', 1, 'km', 'COUNT', 0],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', 1, 'km', 'ANY'],
      ['GEOSEARCH', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', 1, 'km', 'STORE', 'x'],
      ['GEOSEARCH', key, 'FROMLONLAT', 200, 37, 'BYRADIUS', 1, 'km'],
      ['GEOSEARCH', key, 'FROMMEMBER', 'nobody', 'BYRADIUS', 1, 'km'],
      ['GEOSEARCH', 'geo:none', 'FROMMEMBER', 'nobody', 'BYRADIUS', 1, 'km'],
      ['GEOSEARCH', 'geo:string', 'FROMLONLAT', 1, 1, 'BYRADIUS', 1, 'km'],
      ['GEOSEARCHSTORE', 'geo:dst', key, 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km', 'WITHDIST'],
      ['GEOSEARCHSTORE', 'geo:dst', 'geo:none', 'FROMLONLAT', 15, 37, 'BYRADIUS', 200, 'km'],
      ['GEORADIUS', key, 15, 37, 200, 'km', 'WITHDIST', 'STORE', 'x'],
      ['GEORADIUS', key, 15, 37, 200, 'km', 'STOREDIST', 'geo:d1', 'STORE', 'geo:d2'],
      ['ZRANGE', 'geo:d2', 0, -1, 'WITHSCORES'],
      ['GEORADIUS_RO', key, 15, 37, 200, 'km', 'STORE', 'x'],
      ['GEORADIUSBYMEMBER', 'geo:none', 'nobody', 'x', 'yd'],
      ['GEORADIUSBYMEMBER', key, 'nobody', 1, 'km'],
      ['GEORADIUSBYMEMBER', key, 'Palermo', 0, 'km', 'WITHDIST', 'WITHCOORD', 'WITHHASH'],
      // Scores ZADD wrote, which are no geohash: decoded as Redis casts them.
      ['ZADD', key, 2.5, 'half', '-inf', 'low', 'inf', 'high', -3, 'negative', 1e300, 'huge'],
      ['GEOPOS', key, 'half', 'low', 'high', 'negative', 'huge'],
      ['GEOHASH', key, 'half', 'low', 'high', 'negative', 'huge'],
      ['GEODIST', key, 'half', 'negative'],
      ['GEOSEARCH', key, 'FROMMEMBER', 'low', 'BYRADIUS', 100, 'km', 'WITHCOORD'],
    ] as (string | number)[][])
      await same(...args);
  });
});
