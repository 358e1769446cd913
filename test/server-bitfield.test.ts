// BITFIELD and BITFIELD_RO on `xrpkv serve` against Debian's redis-server
// 7.0 (started here): the cases worth naming at the edges of every field
// width and overflow rule (test/server-differential.test.ts runs them at
// random too).
import { describe, expect, it } from 'vitest';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('bitfield.xrpkv');
type Client = typeof beside.ours;

const same = (...args: string[]): Promise<unknown> => beside.same(args);

describe('BITFIELD', () => {
  it('answers as redis-server at the edges of widths, offsets and overflow rules', async () => {
    for (const line of [
      'BITFIELD bf SET u8 0 255 GET u8 0 GET i8 0 GET u4 4 GET i4 4',
      'BITFIELD bf INCRBY u8 0 1 INCRBY u8 0 -1 INCRBY u8 0 300',
      'BITFIELD bf OVERFLOW SAT INCRBY u8 0 1000 INCRBY u8 0 -1000 INCRBY i8 8 200 INCRBY i8 8 -400',
      'BITFIELD bf OVERFLOW FAIL INCRBY u8 0 1000 INCRBY i8 8 1 SET u2 20 7 SET i3 30 -5',
      'BITFIELD bf OVERFLOW SAT SET u8 40 -1 SET i8 48 -1000 SET u8 56 -1 OVERFLOW WRAP SET u8 64 -1',
      'BITFIELD bf SET i64 72 -9223372036854775808 INCRBY i64 72 -1 OVERFLOW SAT INCRBY i64 72 -1 INCRBY i64 72 9223372036854775807',
      'BITFIELD bf SET u63 136 9223372036854775807 INCRBY u63 136 1 GET u63 136',
      // Redis decides in wrapping 64-bit arithmetic: INT64_MIN into i5 saturates to the top.
      'BITFIELD bf OVERFLOW SAT SET i5 200 -9223372036854775808 GET i5 200 SET i5 200 -17 GET i5 200 SET i8 200 -9223372036854775807 GET i8 200',
      'BITFIELD bf OVERFLOW FAIL SET i5 200 -9223372036854775808 OVERFLOW WRAP SET i5 200 -9223372036854775808 GET i5 200',
      'BITFIELD bf SET u4 #3 9 GET u4 12 GET u4 #3 SET i5 #100 -16',
      'GET bf',
      'BITFIELD bf GET u64 0',
      'BITFIELD bf GET i65 0',
      'BITFIELD bf GET u0 0',
      'BITFIELD bf GET x8 0',
      'BITFIELD bf GET u8 -1',
      'BITFIELD bf GET u8 #-1',
      'BITFIELD bf GET u8 4294967296',
      'BITFIELD bf SET u8 0 x',
      'BITFIELD bf OVERFLOW MAYBE',
      'BITFIELD bf GET u8',
      'BITFIELD bf BOGUS u8 0',
      'BITFIELD bf',
      'BITFIELD_RO bf GET u8 0 GET i16 3',
      'BITFIELD_RO bf GET u8 0 SET u8 0 1',
      'BITFIELD_RO missing GET u8 0',
      'BITFIELD missing GET u8 0',
      'EXISTS missing',
      'BITFIELD grown OVERFLOW FAIL INCRBY u8 100 1000',
      'STRLEN grown',
      'SET big 1 EX 1000',
      'BITFIELD big SET u8 0 50',
      'TTL big',
      'GETBIT bf 01',
      'SETBIT bf 007 1',
      'BITFIELD bf GET u8 01',
      'RPUSH list x',
      'BITFIELD list GET u8 0',
      'BITFIELD_RO list GET u8 0',
    ])
      await same(...line.split(' '));
  });

  it('changes no key when nothing changes, so a WATCH of it holds, as in Redis', async () => {
    const outcome = async (c: Client, other: Client) => {
      await c.set('w', 'abc');
      await c.watch('w');
      await other.call('BITFIELD', 'w', 'SET', 'u8', '0', '97', 'INCRBY', 'u8', '8', '0');
      const unchanged = await c.multi().get('w').exec();
      await c.watch('w');
      await other.call('BITFIELD', 'w', 'SET', 'u8', '0', '98');
      const changed = await c.multi().get('w').exec();
      return [unchanged, changed];
    };
    const [otherOurs, otherTheirs] = [beside.ours.duplicate(), beside.theirs.duplicate()];
    beside.clients.push(otherOurs, otherTheirs);
    const [ours, theirs] = await Promise.all([outcome(beside.ours, otherOurs), outcome(beside.theirs, otherTheirs)]);
    expect(ours).toEqual(theirs);
    expect(ours).toEqual([[[null, 'abc']], null]);
  });
});
