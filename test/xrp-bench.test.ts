// The pure helpers of `xrpkv xrp bench` / `xrp run`.
import { describe, expect, it } from 'vitest';
import { percentile } from '../src/bench/stats.js';
import { hexDump, nonZeroPrefix, parseRandomU64, RandomU64, randomScratch } from '../src/cli/xrp-bench.js';

describe('--random-u64', () => {
  it('parses OFFSET=MIN..MAX and refuses what does not fit', () => {
    expect(parseRandomU64('8=1..100')).toEqual({ offset: 8, min: 1n, max: 100n });
    expect(parseRandomU64(' 0x10 = 0x0 .. 0xffffffffffffffff ')).toEqual({ offset: 16, min: 0n, max: (1n << 64n) - 1n });
    for (const bad of ['', '8=1', '8=..2', '-1=1..2', '4089=1..2', '0=2..1', '0=0..18446744073709551616', '0=a..b']) {
      expect(() => parseRandomU64(bad), bad).toThrow(RangeError);
    }
  });

  it('draws uniformly within the bounds', () => {
    const random = new RandomU64();
    const counts = new Map<bigint, number>();
    for (let i = 0; i < 60_000; i++) {
      const v = random.inRange(5n, 10n);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => (a < b ? -1 : 1))).toEqual([5n, 6n, 7n, 8n, 9n, 10n]);
    for (const n of counts.values()) expect(Math.abs(n - 10_000)).toBeLessThan(600); // ~6 sigma
    expect(random.inRange(7n, 7n)).toBe(7n);
    const top = 1n << 63n;
    for (let i = 0; i < 1000; i++) expect(random.inRange(top, (1n << 64n) - 1n) >= top).toBe(true);
    const all = new Set(Array.from({ length: 100 }, () => random.inRange(0n, (1n << 64n) - 1n)));
    expect(all.size).toBe(100);
  });

  it('fills each field of a scratch prefix', () => {
    const s = randomScratch([{ offset: 0, min: 3n, max: 3n }, { offset: 16, min: 9n, max: 9n }], new RandomU64())!;
    expect(s.length).toBe(24);
    expect([s.readBigUInt64LE(0), s.readBigUInt64LE(8), s.readBigUInt64LE(16)]).toEqual([3n, 0n, 9n]);
    expect(randomScratch([], new RandomU64())).toBeUndefined();
  });
});

describe('percentiles and dumps', () => {
  it('take the nearest rank', () => {
    const sorted = Array.from({ length: 1000 }, (_, i) => i + 1);
    expect([50, 99, 99.9, 100, 0].map((p) => percentile(sorted, p))).toEqual([500, 990, 999, 1000, 1]);
    expect(percentile([7], 99.9)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('dump hex up to the last non-zero row', () => {
    const page = Buffer.alloc(4096);
    expect(nonZeroPrefix(page)).toBe(0);
    page[17] = 0x41;
    expect(nonZeroPrefix(page)).toBe(32);
    page[4095] = 1;
    expect(nonZeroPrefix(page)).toBe(4096);
    expect(hexDump(Buffer.from('hello, xrp world!'))).toBe(
      '0000  68 65 6c 6c 6f 2c 20 78  72 70 20 77 6f 72 6c 64  |hello, xrp world|\n' +
        '0010  21                                                |!|',
    );
  });
});
