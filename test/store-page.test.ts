// Pages byte for byte (docs/FORMAT.md): headers, slotted branch and leaf
// pages, overflow, freelist and meta pages, and what a bad checksum, type or
// page number turns into.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../src/index.js';
import { decodeMeta, encodeMeta, pickMeta, type Meta } from '../src/format/meta.js';
import { Node } from '../src/store/node.js';
import { viewSearch } from '../src/store/snapshot.js';
import { native } from '../src/native.js';
import { random } from './store-fixtures.js';
import {
  HEADER,
  PageType,
  decodeBranch,
  decodeFreelist,
  decodeLeaf,
  encodeBranch,
  encodeFreelist,
  encodeLeaf,
  encodeOverflow,
  freelistCapacity,
  maxInline,
  maxKeyLen,
  readHeader,
  seal,
  searchPage,
  verifyPage,
} from '../src/format/page.js';

const key = (s: string) => Buffer.from(s);

describe('page layout', () => {
  it('gives the limits FORMAT.md states', () => {
    expect([512, 1024, 2048, 4096].map(maxKeyLen)).toEqual([104, 232, 488, 511]);
    expect([512, 1024, 2048, 4096].map(maxInline)).toEqual([112, 240, 496, 1008]);
    expect(freelistCapacity(512)).toBe(60);
  });

  it('searches pages and decoded pages as a linear scan does, keys sharing long prefixes included', () => {
    const rnd = random(77);
    for (let round = 0; round < 300; round++) {
      // Keys from a few letters over a shared prefix, some prefixes of others: probes skip the bytes they share.
      const prefix = 'k'.repeat(rnd(40));
      const set = new Set<string>();
      const n = 1 + rnd(60);
      while (set.size < n) set.add(prefix + Array.from({ length: rnd(6) }, () => 'abc'[rnd(3)]).join(''));
      const keys = [...set].map(key).sort(Buffer.compare);
      const leaf = encodeLeaf(4096, 2, 1, keys, keys.map(() => key('v')));
      const branchKeys = [key(''), ...keys.slice(1)];
      const branch = encodeBranch(4096, 3, 1, branchKeys, branchKeys.map((_, i) => 10 + i));
      for (let q = 0; q < 20; q++) {
        const probe = key(prefix.slice(0, rnd(prefix.length + 1)) + Array.from({ length: rnd(7) }, () => 'abcd'[rnd(4)]).join(''));
        const below = keys.filter((k) => Buffer.compare(k, probe) <= 0).length - 1;
        const want = { index: below, exact: below >= 0 && keys[below].equals(probe) };
        expect(searchPage(leaf, probe, true, 2)).toEqual(want);
        expect(viewSearch({ leaf: true, keys, values: [], children: [] }, probe)).toEqual(want);
        // A branch's entry 0 covers everything below entry 1.
        expect(searchPage(branch, probe, false, 3).index).toBe(Math.max(0, below));
        expect(viewSearch({ leaf: false, keys: branchKeys, values: [], children: [] }, probe).index).toBe(Math.max(0, below));
      }
    }
  });

  it('writes a leaf as the format says and reads it back', () => {
    const page = encodeLeaf(512, 7, 3, [key('ab'), key('c')], [key('xyz'), { page: 9, length: 500 }]);
    expect(page.length).toBe(512);
    expect(page.readUInt32LE(0)).toBe(crc32(page.subarray(4)));
    expect(readHeader(page)).toEqual({ type: PageType.Leaf, count: 2, pageNo: 7, txid: 3, next: 0 });
    // Entries are packed downward from the end: entry 0 last in the page.
    const e0 = page.readUInt16LE(HEADER);
    expect(e0).toBe(512 - (8 + 2 + 3));
    expect([...page.subarray(e0, e0 + 8)]).toEqual([2, 0, 0, 0, 3, 0, 0, 0]);
    expect(page.subarray(e0 + 8, e0 + 13).toString()).toBe('abxyz');
    const e1 = page.readUInt16LE(HEADER + 2);
    expect(e1).toBe(e0 - (8 + 1 + 8));
    expect([...page.subarray(e1, e1 + 8)]).toEqual([1, 0, 1, 0, 0xf4, 1, 0, 0]);
    expect(page.readBigUInt64LE(e1 + 9)).toBe(9n);
    const { keys, values } = decodeLeaf(page, 7);
    expect(keys.map(String)).toEqual(['ab', 'c']);
    expect(values).toEqual([key('xyz'), { page: 9, length: 500 }]);
    expect(verifyPage(page, 7, [PageType.Leaf]).count).toBe(2);
  });

  it('writes a branch with an empty first key and searches it', () => {
    const page = encodeBranch(1024, 4, 1, [key('zzz'), key('m'), key('t')], [10, 11, 12]);
    const { keys, children } = decodeBranch(page, 4);
    expect(keys.map(String)).toEqual(['', 'm', 't']);
    expect(children).toEqual([10, 11, 12]);
    const e0 = page.readUInt16LE(HEADER);
    expect(page.readUInt16LE(e0)).toBe(0);
    expect(page.readBigUInt64LE(e0 + 2)).toBe(10n);
    const child = (k: string) => children[searchPage(page, key(k), false, 4).index];
    expect(['a', 'm', 'n', 't', 'zz'].map(child)).toEqual([10, 11, 11, 12, 12]);
  });

  it('searches leaves by memcmp, then length', () => {
    const keys = ['a', 'ab', 'b', 'ba'].map(key);
    const page = encodeLeaf(512, 2, 1, keys, keys);
    expect(searchPage(page, key('ab'), true, 2)).toEqual({ index: 1, exact: true });
    expect(searchPage(page, key('aa'), true, 2)).toEqual({ index: 0, exact: false });
    expect(searchPage(page, key(''), true, 2)).toEqual({ index: -1, exact: false });
    expect(searchPage(page, key('c'), true, 2)).toEqual({ index: 3, exact: false });
  });

  it('round-trips overflow and freelist pages', () => {
    const o = encodeOverflow(512, 5, 2, Buffer.alloc(480, 7), 6);
    expect(readHeader(o)).toEqual({ type: PageType.Overflow, count: 0, pageNo: 5, txid: 2, next: 6 });
    expect(o.subarray(HEADER).equals(Buffer.alloc(480, 7))).toBe(true);
    const ids = Array.from({ length: 60 }, (_, i) => 2 ** 40 + i);
    const f = encodeFreelist(512, 8, 2, ids, 0);
    expect(decodeFreelist(f, 8)).toEqual(ids);
  });

  it('round-trips meta pages and picks the newest valid one', () => {
    const m: Meta = { txid: 5, pageSize: 2048, root: 3, height: 2, pageCount: 9, freelist: 8, entries: 40, log: 7, logPages: 2, newLogPages: 1, newLogSum: 0xfedc_ba98 };
    const page = encodeMeta(m);
    expect(page.subarray(32, 40).toString('latin1')).toBe('XRPKVDB\0');
    expect(readHeader(page).pageNo).toBe(1);
    expect(decodeMeta(page, 1)).toEqual(m);
    expect(decodeMeta(page, 0)).toMatch(/claims to be page 1/);
    const older = encodeMeta({ ...m, txid: 4, root: 2 });
    expect(pickMeta([older, page])).toEqual(m);
    page[100] ^= 1;
    expect(pickMeta([older, page]).txid).toBe(4);
    older[0] ^= 1;
    expect(() => pickMeta([older, page])).toThrow(/no valid meta page/);
  });

  it('reads version 1 meta pages (before the log) as having an empty log, and version 2 ones as checking no log pages', () => {
    const m: Meta = { txid: 3, pageSize: 1024, root: 2, height: 1, pageCount: 4, freelist: 0, entries: 9, log: 0, logPages: 0, newLogPages: 0, newLogSum: 0 };
    const page = encodeMeta({ ...m, log: 3, logPages: 1, newLogPages: 1, newLogSum: 5 });
    page.writeUInt32LE(1, 40); // a version 1 page: bytes 88.. are not read
    seal(page);
    expect(decodeMeta(page, 1)).toEqual(m);
    page.writeUInt32LE(2, 40); // version 2: a log, but no check of the last commit's log pages (bytes 104..)
    expect(decodeMeta(seal(page), 1)).toEqual({ ...m, log: 3, logPages: 1 });
    page.writeUInt32LE(5, 40);
    expect(decodeMeta(seal(page), 1)).toMatch(/unsupported format version 5/);
  });

  it('reports a flipped byte, a wrong type or a misdirected page as corruption naming the page', () => {
    const page = encodeLeaf(512, 7, 3, [key('a')], [key('b')]);
    const flipped = Buffer.from(page);
    flipped[300] ^= 0x40;
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as CorruptionError;
      }
      throw new Error('expected an error');
    };
    const bad = err(() => verifyPage(flipped, 7));
    expect(bad).toBeInstanceOf(CorruptionError);
    expect(bad).toMatchObject({ code: 'CORRUPTION', page: 7, reason: 'checksum mismatch' });
    expect(err(() => verifyPage(page, 8)).message).toMatch(/page 8 is corrupt: it claims to be page 7/);
    expect(err(() => verifyPage(page, 7, [PageType.Branch])).message).toMatch(/expected a branch page, found a leaf page/);
    // A valid checksum over a slot pointing outside the page.
    const slots = Buffer.from(page);
    slots.writeUInt16LE(511, HEADER);
    slots.writeUInt32LE(crc32(slots.subarray(4)), 0);
    expect(err(() => decodeLeaf(slots, 7)).message).toMatch(/slot 0 points at 511/);
  });
});

describe('nodes', () => {
  it('split into pieces that fit, about evenly, and find keys', () => {
    const n = new Node(true, 0);
    for (let i = 0; i < 100; i++) {
      n.keys.push(key(String(i).padStart(3, '0')));
      n.values.push(Buffer.alloc(20));
    }
    const pieces = n.split(512);
    expect(pieces.length).toBe(8);
    for (const p of pieces) expect(p.size(512)).toBeLessThanOrEqual(512);
    expect(pieces.flatMap((p) => p.keys.map(String))).toEqual(n.keys.map(String));
    const sizes = pieces.map((p) => p.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(2);
    expect(n.find(key('050'))).toEqual({ index: 50, exact: true });
    expect(n.find(key('0505'))).toEqual({ index: 51, exact: false });
  });
});

describe('the page checksum', () => {
  it("is zlib's CRC-32, from the addon, for any length and start", () => {
    // Lengths around the carry-less path's blocks (64 bytes, its minimum)
    // and the table path's (16), at unaligned starts, over random bytes.
    const next = random(5);
    const bytes = Buffer.from(Array.from({ length: 9000 }, () => next(256)));
    let checked = 0;
    for (let length = 0; length <= 8200; length += length < 300 ? 1 : 97) {
      for (const start of [0, 1, 7, 16, 63]) {
        const part = bytes.subarray(start, start + length);
        expect(native.crc32(part), `length ${length} at ${start}`).toBe(crc32(part));
        expect(native.crc32(bytes, start)).toBe(crc32(bytes.subarray(start)));
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('refuses a start outside the bytes, and what is not bytes', () => {
    const b = Buffer.alloc(8);
    expect(native.crc32(b, 8)).toBe(crc32(Buffer.alloc(0)));
    for (const from of [9, -1, 1.5, Number.NaN]) expect(() => native.crc32(b, from)).toThrow(RangeError);
    expect(() => native.crc32('abc' as unknown as Uint8Array)).toThrow(TypeError);
  });
});
