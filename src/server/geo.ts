// Redis's geohash arithmetic (its geohash.c and geohash_helper.c, written
// again here): a position is a sorted-set score of 52 bits, latitude and
// longitude interleaved at 26 steps over Redis's ranges (latitudes within
// +-85.05112878, Web Mercator's), and a search covers its shape with the
// geohash box of the center at the step its size calls for and that box's
// eight neighbors, as Redis covers it, so that GEOSEARCH finds the same
// members in the same order.
//
// What must hold: every step is Redis's, in the same floating-point order
// (distances are haversine on a sphere of 6,372,797.560856 m), so scores,
// positions and distances are the same doubles as Redis's: sin, cos and
// asin are the C library's, through the addon (V8's differ in the last
// bits: seen as STOREDIST scores a few ulps off Redis's); integers past 32
// bits are BigInt.
import { native } from '../native.js';

export const LON_MIN = -180;
export const LON_MAX = 180;
export const LAT_MIN = -85.05112878;
export const LAT_MAX = 85.05112878;
const STEP_MAX = 26;
const EARTH_RADIUS = 6372797.560856;
const MERCATOR_MAX = 20037726.37;
const D_R = Math.PI / 180;
const MASK64 = (1n << 64n) - 1n;

interface Range {
  min: number;
  max: number;
}
export interface Area {
  lon: Range;
  lat: Range;
}
/** A geohash box: its bits at `step` (0 bits and step: none). */
export interface Hash {
  bits: bigint;
  step: number;
}

const WGS84: { lon: Range; lat: Range } = { lon: { min: LON_MIN, max: LON_MAX }, lat: { min: LAT_MIN, max: LAT_MAX } };

/** Spreads the low 32 bits of `v` over the even bits of 64. */
function spread(v: bigint): bigint {
  let x = v & 0xffffffffn;
  x = (x | (x << 16n)) & 0x0000ffff0000ffffn;
  x = (x | (x << 8n)) & 0x00ff00ff00ff00ffn;
  x = (x | (x << 4n)) & 0x0f0f0f0f0f0f0f0fn;
  x = (x | (x << 2n)) & 0x3333333333333333n;
  x = (x | (x << 1n)) & 0x5555555555555555n;
  return x;
}

/** The even bits of `v`, packed. */
function squash(v: bigint): bigint {
  let x = v & 0x5555555555555555n;
  x = (x | (x >> 1n)) & 0x3333333333333333n;
  x = (x | (x >> 2n)) & 0x0f0f0f0f0f0f0f0fn;
  x = (x | (x >> 4n)) & 0x00ff00ff00ff00ffn;
  x = (x | (x >> 8n)) & 0x0000ffff0000ffffn;
  x = (x | (x >> 16n)) & 0x00000000ffffffffn;
  return x;
}

/** Whether Redis takes (lon, lat) as a position. */
export function validPosition(lon: number, lat: number): boolean {
  return !(lon < LON_MIN || lon > LON_MAX || lat < LAT_MIN || lat > LAT_MAX);
}

/** geohashEncode: the box of `step` holding (lon, lat) over `ranges`; undefined where Redis refuses the position. */
export function encode(lon: number, lat: number, step: number, ranges = WGS84): Hash | undefined {
  if (!validPosition(lon, lat)) return undefined;
  if (lat < ranges.lat.min || lat > ranges.lat.max || lon < ranges.lon.min || lon > ranges.lon.max) return undefined;
  let latOffset = (lat - ranges.lat.min) / (ranges.lat.max - ranges.lat.min);
  let lonOffset = (lon - ranges.lon.min) / (ranges.lon.max - ranges.lon.min);
  latOffset *= 2 ** step;
  lonOffset *= 2 ** step;
  // C's (uint32_t) casts: truncation.
  return { bits: spread(BigInt(Math.trunc(latOffset))) | (spread(BigInt(Math.trunc(lonOffset))) << 1n), step };
}

/** geohashDecode: the box's extent over `ranges`. */
export function decode(hash: Hash, ranges = WGS84): Area {
  const lat = Number(squash(hash.bits));
  const lon = Number(squash(hash.bits >> 1n));
  const cells = 2 ** hash.step;
  const latScale = ranges.lat.max - ranges.lat.min;
  const lonScale = ranges.lon.max - ranges.lon.min;
  return {
    lat: { min: ranges.lat.min + (lat / cells) * latScale, max: ranges.lat.min + ((lat + 1) / cells) * latScale },
    lon: { min: ranges.lon.min + (lon / cells) * lonScale, max: ranges.lon.min + ((lon + 1) / cells) * lonScale },
  };
}

/**
 * C's (uint64_t) of a double as gcc compiles it for x86-64 (a score ZADD
 * wrote need not be a geohash): below 2^63 a signed truncation (two's
 * complement; 2^63 where it does not fit, -inf included), from 2^63 the
 * truncation of x - 2^63 with the top bit flipped (0 from 2^64 and +inf).
 */
function uint64(x: number): bigint {
  const top = 1n << 63n;
  if (x < 2 ** 63) return x > -(2 ** 63) ? BigInt(Math.trunc(x)) & MASK64 : top;
  return x - 2 ** 63 < 2 ** 63 ? (BigInt(Math.trunc(x - 2 ** 63)) ^ top) & MASK64 : 0n;
}

/** A score's position: the center of its 52-bit box, within Redis's ranges (geohashDecodeToLongLatWGS84). */
export function position(score: number): [number, number] {
  const area = decode({ bits: uint64(score), step: STEP_MAX });
  const lon = Math.min(LON_MAX, Math.max(LON_MIN, (area.lon.min + area.lon.max) / 2));
  const lat = Math.min(LAT_MAX, Math.max(LAT_MIN, (area.lat.min + area.lat.max) / 2));
  return [lon, lat];
}

/** The score of (lon, lat): its 26-step box's bits (geohashAlign52Bits). */
export function scoreOf(lon: number, lat: number): number {
  return Number(encode(lon, lat, STEP_MAX)!.bits);
}

const ALPHABET = '0123456789bcdefghjkmnpqrstuvwxyz';

/** GEOHASH's 11 characters: the position re-encoded over the standard ranges (latitudes +-90); the last is '0', as Redis has only 52 bits. */
export function geohashString(score: number): string {
  const [lon, lat] = position(score);
  const hash = encode(lon, lat, STEP_MAX, { lon: { min: -180, max: 180 }, lat: { min: -90, max: 90 } });
  const bits = hash?.bits ?? 0n;
  let s = '';
  for (let i = 0; i < 11; i++) s += ALPHABET[i === 10 ? 0 : Number((bits >> BigInt(52 - (i + 1) * 5)) & 0x1fn)];
  return s;
}

/** geohashGetLatDistance. */
function latDistance(lat1: number, lat2: number): number {
  return EARTH_RADIUS * Math.abs(lat2 * D_R - lat1 * D_R);
}

/** geohashGetDistance: haversine, in meters (crates/node/src/geo_math.rs). */
export const distance = (lon1: number, lat1: number, lon2: number, lat2: number): number => native.geoDistance(lon1, lat1, lon2, lat2);

/** What GEOSEARCH looks in: around (lon, lat), a radius or a box, in meters once times `conversion`. */
export interface Shape {
  lon: number;
  lat: number;
  conversion: number;
  radius?: number;
  box?: { width: number; height: number };
}

/** The distance in meters of (lon, lat) from the shape's center when it lies in the shape, else undefined (geoWithinShape). */
export function withinShape(shape: Shape, lon: number, lat: number): number | undefined {
  if (shape.radius !== undefined) {
    const d = distance(shape.lon, shape.lat, lon, lat);
    return d > shape.radius * shape.conversion ? undefined : d;
  }
  const { width, height } = shape.box!;
  if (latDistance(lat, shape.lat) > (height * shape.conversion) / 2) return undefined;
  if (distance(lon, lat, shape.lon, lat) > (width * shape.conversion) / 2) return undefined;
  return distance(shape.lon, shape.lat, lon, lat);
}

function estimateSteps(rangeMeters: number, lat: number): number {
  if (rangeMeters === 0) return STEP_MAX;
  let step = 1;
  while (rangeMeters < MERCATOR_MAX) {
    rangeMeters *= 2;
    step++;
  }
  step -= 2;
  if (lat > 66 || lat < -66) {
    step--;
    if (lat > 80 || lat < -80) step--;
  }
  return Math.min(STEP_MAX, Math.max(1, step));
}

/** [min lon, min lat, max lon, max lat] of the shape (geohashBoundingBox). */
function boundingBox(shape: Shape): [number, number, number, number] {
  const height = shape.conversion * (shape.radius ?? shape.box!.height / 2);
  const width = shape.conversion * (shape.radius ?? shape.box!.width / 2);
  const latDelta = height / EARTH_RADIUS / D_R;
  const lonDeltaTop = width / EARTH_RADIUS / native.geoCos((shape.lat + latDelta) * D_R) / D_R;
  const lonDeltaBottom = width / EARTH_RADIUS / native.geoCos((shape.lat - latDelta) * D_R) / D_R;
  const south = shape.lat < 0;
  return [south ? shape.lon - lonDeltaBottom : shape.lon - lonDeltaTop, shape.lat - latDelta, south ? shape.lon + lonDeltaBottom : shape.lon + lonDeltaTop, shape.lat + latDelta];
}

const EVEN = 0x5555555555555555n;
const ODD = 0xaaaaaaaaaaaaaaaan;

/** geohash_move_x (longitude, the odd bits) and geohash_move_y (latitude, the even bits), wrapping around. */
function move(hash: Hash, dx: number, dy: number): Hash {
  let bits = hash.bits;
  for (const [d, mine, other] of [
    [dx, ODD, EVEN],
    [dy, EVEN, ODD],
  ] as const) {
    if (d === 0) continue;
    let m = bits & mine;
    const o = bits & other;
    const zz = (other >> BigInt(64 - hash.step * 2)) & MASK64;
    if (d > 0) m = (m + (zz + 1n)) & MASK64;
    else m = ((m | zz) - (zz + 1n)) & MASK64;
    m &= mine >> BigInt(64 - hash.step * 2);
    bits = m | o;
  }
  return { bits, step: hash.step };
}

/**
 * The boxes a search of `shape` reads, in Redis's order (the center's box,
 * then north, south, east, west, north-east, north-west, south-east,
 * south-west), those outside the shape left out and repeats skipped; each
 * as its score range [min, max).
 */
export function searchBoxes(shape: Shape): [number, number][] {
  const [minLon, minLat, maxLon, maxLat] = boundingBox(shape);
  const radius = (shape.radius ?? Math.sqrt((shape.box!.width / 2) * (shape.box!.width / 2) + (shape.box!.height / 2) * (shape.box!.height / 2))) * shape.conversion;
  let steps = estimateSteps(radius, shape.lat);
  const around = (step: number) => {
    const hash = encode(shape.lon, shape.lat, step)!;
    const n = (dx: number, dy: number) => move(hash, dx, dy);
    return { hash, area: decode(hash), north: n(0, 1), south: n(0, -1), east: n(1, 0), west: n(-1, 0), northEast: n(1, 1), northWest: n(-1, 1), southEast: n(1, -1), southWest: n(-1, -1) };
  };
  let c = around(steps);
  const tooSmall = decode(c.north).lat.max < maxLat || decode(c.south).lat.min > minLat || decode(c.east).lon.max < maxLon || decode(c.west).lon.min > minLon;
  if (steps > 1 && tooSmall) c = around(--steps);
  const none: Hash = { bits: 0n, step: 0 };
  if (steps >= 2) {
    if (c.area.lat.min < minLat) c.south = c.southWest = c.southEast = none;
    if (c.area.lat.max > maxLat) c.north = c.northEast = c.northWest = none;
    if (c.area.lon.min < minLon) c.west = c.southWest = c.northWest = none;
    if (c.area.lon.max > maxLon) c.east = c.southEast = c.northEast = none;
  }
  const boxes = [c.hash, c.north, c.south, c.east, c.west, c.northEast, c.northWest, c.southEast, c.southWest];
  const out: [number, number][] = [];
  let last = -1;
  boxes.forEach((box, i) => {
    if (box.bits === 0n && box.step === 0) return;
    if (last > 0 && box.bits === boxes[last]!.bits && box.step === boxes[last]!.step) return;
    const shift = BigInt(52 - box.step * 2);
    out.push([Number(box.bits << shift), Number((box.bits + 1n) << shift)]);
    last = i;
  });
  return out;
}
