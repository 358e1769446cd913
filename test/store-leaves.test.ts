// The addon's leaf encoder (leaves.ts, crates/node/src/leaves.rs) against
// page.ts's: random entries (keys of every length, inline values of every
// size, overflow references), cut into pages by the store's rule, must give
// the same bytes at every page size; bad input throws instead.
import { describe, expect, it } from 'vitest';
import { native } from '../src/native.js';
import { encodeLeafRuns } from '../src/store/leaves.js';
import { cutPieces } from '../src/store/node.js';
import { PAGE_SIZES, encodeLeaf, leafEntryRun, leafEntrySize, maxInline, maxKeyLen, type LeafValue } from '../src/format/page.js';
import { random } from './store-fixtures.js';

/** Random sorted-or-not keys and values for pages of `p` bytes; some values overflow references. */
function randomEntries(p: number, n: number, rnd: (n: number) => number): { keys: Buffer[]; values: LeafValue[] } {
  const keys: Buffer[] = [];
  const values: LeafValue[] = [];
  for (let i = 0; i < n; i++) {
    const long = rnd(8) === 0;
    keys.push(Buffer.from(Array.from({ length: long ? rnd(maxKeyLen(p) + 1) : rnd(24) }, () => rnd(256))));
    values.push(
      rnd(10) === 0
        ? { page: 2 + rnd(2 ** 40), length: maxInline(p) + 1 + rnd(1 << 20) }
        : Buffer.from(Array.from({ length: rnd(4) === 0 ? rnd(maxInline(p) + 1) : rnd(32) }, () => rnd(256))),
    );
  }
  return { keys, values };
}

/** The entries in page form, in a random order, with random junk before each; `starts` lists them in the given order. */
function scatter(keys: Buffer[], values: LeafValue[], p: number, rnd: (n: number) => number): { bytes: Buffer; starts: Uint32Array } {
  const order = keys.map((_, i) => i).sort(() => rnd(3) - 1);
  const starts = new Uint32Array(keys.length);
  const parts: Buffer[] = [];
  let at = 0;
  for (const i of order) {
    const junk = Buffer.from(Array.from({ length: rnd(9) }, () => rnd(256)));
    const entry = leafEntryRun([keys[i]], [values[i]], p);
    starts[i] = at + junk.length;
    parts.push(junk, entry);
    at += junk.length + entry.length;
  }
  return { bytes: Buffer.concat(parts), starts };
}

const u32s = (xs: number[]) => {
  const b = Buffer.alloc(4 * xs.length);
  xs.forEach((x, i) => b.writeUInt32LE(x, 4 * i));
  return b;
};
const u64s = (xs: number[]) => {
  const b = Buffer.alloc(8 * xs.length);
  xs.forEach((x, i) => b.writeBigUInt64LE(BigInt(x), 8 * i));
  return b;
};

describe('leaf pages from entries in page form (the addon)', () => {
  for (const p of PAGE_SIZES) {
    it(`writes the bytes page.ts writes (${p}-byte pages)`, () => {
      const rnd = random(p);
      for (let round = 0; round < 40; round++) {
        const { keys, values } = randomEntries(p, rnd(round < 5 ? 3 : 400), rnd);
        const pieces = cutPieces(
          keys.map((k, i) => leafEntrySize(k.length, values[i], p)),
          p,
        );
        const pageNos = pieces.map(() => 2 + rnd(2 ** 45));
        const txid = rnd(2 ** 50);
        // The split between head and entries anywhere, even inside the first page.
        const cut = rnd(keys.length + 1);
        const head = leafEntryRun(keys.slice(0, cut), values.slice(0, cut), p);
        const rest = leafEntryRun(keys.slice(cut), values.slice(cut), p);
        const counts = pieces.map(([from, to]) => to - from);
        const got = encodeLeafRuns(p, txid, head, { bytes: rest }, counts, pageNos);
        // The same entries after the head scattered in one buffer, junk between them, read from where each starts.
        const { bytes, starts } = scatter(keys.slice(cut), values.slice(cut), p, rnd);
        const placed = encodeLeafRuns(p, txid, head, { bytes, starts }, counts, pageNos);
        expect(got.length).toBe(pieces.length * p);
        pieces.forEach(([from, to], k) => {
          const want = encodeLeaf(p, pageNos[k], txid, keys.slice(from, to), values.slice(from, to));
          expect(got.subarray(k * p, (k + 1) * p).equals(want), `round ${round}, page ${k}`).toBe(true);
          expect(placed.subarray(k * p, (k + 1) * p).equals(want), `round ${round}, page ${k}, placed`).toBe(true);
        });
      }
    });
  }

  it('writes an empty leaf for a count of 0, and no pages for none', () => {
    const empty = Buffer.alloc(0);
    expect(encodeLeafRuns(512, 3, empty, { bytes: empty }, [0], [7]).equals(encodeLeaf(512, 7, 3, [], []))).toBe(true);
    expect(encodeLeafRuns(512, 3, empty, { bytes: empty }, [], []).length).toBe(0);
    expect(encodeLeafRuns(512, 3, empty, { bytes: empty, starts: new Uint32Array(0) }, [], []).length).toBe(0);
  });

  it('throws on bad arguments and on entries that are not whole, valid or fitting', () => {
    const p = 512;
    const k = Buffer.from('key');
    const run = leafEntryRun([k, k], [Buffer.from('v1'), Buffer.from('v2')], p);
    const none = Buffer.alloc(0);
    const call = (entries: Buffer, counts: number[], pageSize = p, txid = 1, pageNos = counts.map(() => 5)) =>
      native.storeEncodeLeaves(none, entries, u32s(counts), u64s(pageNos), pageSize, txid);
    expect(call(run, [2]).length).toBe(p);
    expect(() => call(run, [2], 300)).toThrow(RangeError);
    expect(() => call(run, [2], p, -1)).toThrow(/txid must be/);
    expect(() => call(run, [2], p, 1.5)).toThrow(RangeError);
    expect(() => call(run, [2], p, 1, [5, 6])).toThrow(/counts name 1 pages, pageNos 2/);
    expect(() => native.storeEncodeLeaves(none, run, Buffer.alloc(3), u64s([5]), p, 1)).toThrow(/4 bytes per page/);
    expect(() => native.storeEncodeLeaves(none, run, u32s([2]), Buffer.alloc(9), p, 1)).toThrow(/8 bytes per page/);
    expect(() => native.storeEncodeLeaves(none, 'x' as never, u32s([2]), u64s([5]), p, 1)).toThrow(TypeError);
    expect(() => native.storeEncodeLeaves(undefined as never, run, u32s([2]), u64s([5]), p, 1)).toThrow(TypeError);
    // Counts and entries that disagree.
    expect(() => call(run, [3])).toThrow(/more entries than the 2 given/);
    expect(() => call(run, [1])).toThrow(/counts name 1 entries, but more were given/);
    expect(() => call(run.subarray(0, run.length - 1), [2])).toThrow(/entry 1 is cut short/);
    expect(() => call(run.subarray(0, 5), [1])).toThrow(/entry 0 is cut short/);
    // Not leaf entries: an unknown kind, a reserved byte set, an inline value too long.
    const bad = (at: number, byte: number) => Buffer.from(run).fill(byte, at, at + 1);
    expect(() => call(bad(2, 7), [2])).toThrow(/unknown value kind 7/);
    expect(() => call(bad(3, 1), [2])).toThrow(/reserved byte/);
    const long = Buffer.from(run);
    long.writeUInt32LE(maxInline(p) + 1, 4);
    expect(() => call(long, [2])).toThrow(/inline value is too long/);
    // More than a page holds.
    const big = Buffer.alloc(maxInline(p));
    const many = leafEntryRun(Array(5).fill(k), Array(5).fill(big), p);
    expect(() => call(many, [5])).toThrow(/overflow it/);
    expect(() => call(none, [300])).toThrow(/300 entries overflow a page/);
    // Entries read from where they start: a start past the end, an entry cut short there, a count beyond the starts, starts not whole u32s.
    const placed = (starts: number[], counts: number[], entries = run) =>
      native.storeEncodeLeaves(none, entries, u32s(counts), u64s(counts.map(() => 5)), p, 1, Buffer.from(new Uint32Array(starts).buffer));
    const second = run.length / 2;
    expect(placed([second, 0], [2]).equals(call(Buffer.concat([run.subarray(second), run.subarray(0, second)]), [2]))).toBe(true);
    expect(() => placed([0, run.length + 1], [2])).toThrow(/entry 1 starts past the end/);
    expect(() => placed([0, run.length - 3], [2])).toThrow(/entry 1 is cut short/);
    expect(() => placed([0], [2])).toThrow(/more entries than the 1 given/);
    expect(() => placed([0, second], [1])).toThrow(/counts name 1 entries, but more were given/);
    expect(() => native.storeEncodeLeaves(none, run, u32s([2]), u64s([5]), p, 1, Buffer.alloc(6))).toThrow(/starts must hold 4 bytes per entry/);
  });
});

describe('cutting a run of entries into leaves', () => {
  it('gives entries of one size the fewest pages, evenly filled', () => {
    // 126 bytes each (a 16-byte key, a 100-byte value, a slot): 32 fit in a 4096-byte page.
    const pieces = cutPieces(new Int32Array(100_000).fill(126), 4096);
    expect(pieces.length).toBe(Math.ceil(100_000 / 32));
    const lengths = pieces.map(([from, to]) => to - from);
    expect(Math.max(...lengths)).toBe(32);
    expect(Math.min(...lengths)).toBeGreaterThanOrEqual(31);
    expect(pieces.every(([from], k) => from === (k === 0 ? 0 : pieces[k - 1][1]))).toBe(true);
  });
});
