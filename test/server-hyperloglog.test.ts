// PFADD, PFCOUNT and PFMERGE against Debian's redis-server 7.0 (started
// here): the same elements give the same replies and the same registers,
// sparse and (past 3,000 bytes) dense; a value copied from one server
// counts the same on the other; damaged values are refused alike.
import type { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { readHll } from '../src/server/hyperloglog.js';
import { useServerBesideRedis } from './server-fixtures.js';

const beside = useServerBesideRedis('hll.xrpkv');

/** The same command on both servers: replies (or error messages) must be equal; returns ours. */
async function same(...args: (string | Buffer | number)[]): Promise<unknown> {
  const run = (c: Redis) => c.callBuffer(String(args[0]), ...args.slice(1)).then((v) => (Buffer.isBuffer(v) ? v.toString('latin1') : v), (e: Error) => `error: ${e.message}`);
  const [a, b] = await Promise.all([run(beside.ours), run(beside.theirs)]);
  expect(a, args.join(' ')).toEqual(b);
  return a;
}

/** Deterministic elements of varied lengths (empty and binary among them), `from` to `to` - 1. */
function elements(from: number, to: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = from; i < to; i++) {
    const n = i % 23;
    const b = Buffer.alloc(n);
    for (let j = 0; j < n; j++) b[j] = (i * 31 + j * 7 + (i >> 3)) & 0xff;
    out.push(i % 5 === 0 ? Buffer.from(`el:${i}`) : b);
  }
  return out;
}

describe('PFADD and PFCOUNT', () => {
  it('answer as redis-server and hold the same registers, from sparse to dense', async () => {
    let added = 0;
    let dense = false;
    for (const batch of [1, 1, 2, 5, 10, 50, 100, 400, 1000, 2500, 6000, 20000]) {
      await same('PFADD', 'pf:a', ...elements(added, added + batch));
      // Elements already there change nothing.
      await same('PFADD', 'pf:a', ...elements(added, added + Math.min(batch, 3)));
      added += batch;
      await same('PFCOUNT', 'pf:a');
      const [a, b] = [readHll((await beside.ours.getBuffer('pf:a'))!), readHll((await beside.theirs.getBuffer('pf:a'))!)];
      expect(Buffer.from(a.registers).equals(Buffer.from(b.registers)), `registers after ${added} elements`).toBe(true);
      if (a.dense && b.dense) {
        dense = true;
        // Dense values are Redis's byte for byte but for the cached count in the header.
        expect((await beside.ours.getBuffer('pf:a'))!.subarray(16)).toEqual((await beside.theirs.getBuffer('pf:a'))!.subarray(16));
      }
    }
    expect(dense).toBe(true);
    // The estimate is within HLL's error (0.81% standard) of the distinct elements added.
    const distinct = new Set(elements(0, added).map((b) => b.toString('hex'))).size;
    expect(Math.abs((await beside.ours.pfcount('pf:a')) - distinct) / distinct).toBeLessThan(0.03);
  });

  it('count a union and merge as redis-server, with missing keys and other types refused alike', async () => {
    await same('PFADD', 'pf:b', ...elements(100, 400));
    await same('PFADD', 'pf:c', ...elements(300, 900));
    await same('PFADD', 'pf:e');
    await same('PFCOUNT', 'pf:e');
    await same('PFCOUNT', 'pf:b', 'pf:c', 'pf:none');
    await same('PFMERGE', 'pf:m', 'pf:b', 'pf:c', 'pf:none');
    await same('PFCOUNT', 'pf:m');
    await same('PFMERGE', 'pf:m', 'pf:a');
    await same('PFCOUNT', 'pf:m');
    await same('PFMERGE', 'pf:only');
    await same('TYPE', 'pf:only');
    await same('SET', 'pf:s', 'not an hll');
    await same('RPUSH', 'pf:l', 'x');
    for (const key of ['pf:s', 'pf:l']) {
      await same('PFADD', key, 'x');
      await same('PFCOUNT', key);
      await same('PFCOUNT', 'pf:b', key);
      await same('PFMERGE', 'pf:m', key);
      await same('PFMERGE', key, 'pf:b');
    }
    await same('PFADD');
    await same('PFCOUNT');
  });

  it('read values copied from the other server, keep the deadline of the key, and count damaged values as Redis does but never write them', async () => {
    for (const [from, to] of [
      [beside.theirs, beside.ours],
      [beside.ours, beside.theirs],
    ] as const) {
      for (const key of ['pf:b', 'pf:a']) {
        await to.set('pf:copy', (await from.getBuffer(key))!);
        expect(await to.pfcount('pf:copy')).toBe(await from.pfcount(key));
      }
    }
    await same('PFADD', 'pf:t', 'a');
    await same('PEXPIRE', 'pf:t', 100000000);
    await same('PFADD', 'pf:t', 'b', 'c');
    expect(await beside.ours.pttl('pf:t')).toBeGreaterThan(99000000);
    const sparse = (await beside.theirs.getBuffer('pf:b'))!;
    const damaged = [
      sparse.subarray(0, sparse.length - 1), // registers do not add up to 16384
      Buffer.concat([sparse, Buffer.from([0x7f, 0xff])]), // more than 16384
      Buffer.concat([sparse.subarray(0, 4), Buffer.from([2]), sparse.subarray(5)]), // no such encoding
      (await beside.theirs.getBuffer('pf:a'))!.subarray(0, 1000), // dense, cut short
      Buffer.from('HYL'),
    ];
    for (const value of damaged) {
      await same('SET', 'pf:bad', value);
      await same('PFCOUNT', 'pf:bad');
      // Redis's PFADD may write into a damaged sparse value; xrpkv refuses it, and leaves it as it was.
      await expect(beside.ours.pfadd('pf:bad', 'zz')).rejects.toThrow(/^(INVALIDOBJ Corrupted HLL object detected|WRONGTYPE Key is not a valid HyperLogLog string value\.)$/);
      expect(await beside.ours.getBuffer('pf:bad')).toEqual(value);
    }
  });

  it('PFDEBUG and PFSELFTEST answer as redis-server: encodings, decoded opcodes, registers, conversion to dense', async () => {
    for (const r of [beside.ours, beside.theirs]) {
      await r.del('pd:small', 'pd:big', 'pd:str');
      await r.pfadd('pd:small', 'a', 'b', 'c');
      await r.pfadd('pd:big', ...elements(0, 3000));
      await r.set('pd:str', 'x');
    }
    for (const line of [
      'PFDEBUG ENCODING pd:small',
      'PFDEBUG DECODE pd:small',
      'PFDEBUG TODENSE pd:small',
      'PFDEBUG ENCODING pd:small',
      'PFDEBUG TODENSE pd:small',
      'PFDEBUG DECODE pd:small',
      'PFDEBUG GETREG pd:small',
      'PFDEBUG ENCODING pd:big',
      'PFDEBUG GETREG pd:big',
      'PFCOUNT pd:small pd:big',
      'PFDEBUG FOO pd:small',
      'PFDEBUG GETREG pd:none',
      'PFDEBUG GETREG pd:str',
      'PFSELFTEST',
    ])
      await same(...line.split(' '));
    await same('GET', 'pd:small');
  });
});
