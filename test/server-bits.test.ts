// GETBIT, SETBIT, BITCOUNT, BITPOS and BITOP on `xrpkv serve`, through
// ioredis, with redis-server 7.0's answers (test/server-differential.test.ts
// compares them at random; these are the cases worth naming).
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import type { RunningServer } from '../src/server/server.js';
import { ioredisClient, useTestServer } from './server-fixtures.js';

let server: RunningServer;
const clients: Redis[] = [];
useTestServer('bits.xrpkv', (s) => (server = s), clients);

const connect = () => ioredisClient(server.port, clients);

describe('bits of strings', () => {
  it('SETBIT grows the string with zero bytes, keeps its deadline and answers the bit before; GETBIT reads past the end as 0', async () => {
    const r = connect();
    expect(await r.setbit('b:s', 9, 1)).toBe(0);
    expect(await r.getBuffer('b:s')).toEqual(Buffer.from([0x00, 0x40]));
    expect(await r.setbit('b:s', 9, 0)).toBe(1);
    expect(await r.getbit('b:s', 1000)).toBe(0);
    await r.expire('b:s', 100);
    await r.setbit('b:s', 0, 1);
    expect(await r.ttl('b:s')).toBe(100);
    await expect(r.setbit('b:s', 0, 2)).rejects.toThrow('ERR bit is not an integer or out of range');
    await expect(r.call('SETBIT', 'b:s', String(2 ** 32), '1')).rejects.toThrow('ERR bit offset is not an integer or out of range');
    await r.rpush('b:list', 'x');
    await expect(r.getbit('b:list', 0)).rejects.toThrow(/^WRONGTYPE/);
  });

  it('BITCOUNT and BITPOS over the whole string, byte ranges and bit ranges', async () => {
    const r = connect();
    await r.set('b:f', 'foobar');
    expect(await r.bitcount('b:f')).toBe(26);
    expect(await r.bitcount('b:f', 1, 1)).toBe(6);
    expect(await r.call('BITCOUNT', 'b:f', '5', '30', 'BIT')).toBe(17);
    expect(await r.bitcount('b:none', 0, 1)).toBe(0);
    await r.set('b:p', Buffer.from([0xff, 0xf0, 0x00]));
    expect(await r.bitpos('b:p', 0)).toBe(12);
    expect(await r.bitpos('b:p', 1, 2)).toBe(-1);
    expect(await r.call('BITPOS', 'b:p', '1', '7', '15', 'BIT')).toBe(7);
    // No clear bit, and no end given: the string goes on as zeros; with an end, none.
    await r.set('b:ones', Buffer.from([0xff]));
    expect(await r.bitpos('b:ones', 0)).toBe(8);
    expect(await r.bitpos('b:ones', 0, 0, 0)).toBe(-1);
    expect(await r.bitpos('b:none', 0)).toBe(0);
    expect(await r.bitpos('b:none', 1)).toBe(-1);
    await expect(r.bitpos('b:p', 2)).rejects.toThrow('ERR The bit argument must be 1 or 0.');
  });

  it('BITOP AND, OR, XOR and NOT, zero-padded to the longest, an empty result removing the key', async () => {
    const r = connect();
    await r.set('b:x', Buffer.from([0b1100, 0xff]));
    await r.set('b:y', Buffer.from([0b1010]));
    expect(await r.bitop('AND', 'b:and', 'b:x', 'b:y')).toBe(2);
    expect(await r.getBuffer('b:and')).toEqual(Buffer.from([0b1000, 0x00]));
    expect(await r.bitop('OR', 'b:or', 'b:x', 'b:y')).toBe(2);
    expect(await r.getBuffer('b:or')).toEqual(Buffer.from([0b1110, 0xff]));
    expect(await r.bitop('XOR', 'b:xor', 'b:x', 'b:y')).toBe(2);
    expect(await r.getBuffer('b:xor')).toEqual(Buffer.from([0b0110, 0xff]));
    expect(await r.bitop('NOT', 'b:not', 'b:y')).toBe(1);
    expect(await r.getBuffer('b:not')).toEqual(Buffer.from([0xf5]));
    expect(await r.bitop('AND', 'b:and', 'b:none', 'b:none2')).toBe(0);
    expect(await r.exists('b:and')).toBe(0);
    await expect(r.call('BITOP', 'NOT', 'b:n', 'b:x', 'b:y')).rejects.toThrow('ERR BITOP NOT must be called with a single source key.');
  });
});
