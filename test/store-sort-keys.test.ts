// sortKeys (src/store/sort-keys.ts): the overlay's keys in the tree's order
// (bytes compared unsigned, a prefix before the keys it starts), checked
// against Buffer.compare on keys made to stress each path: long shared
// prefixes, prefixes of one another, every byte value, empty keys, ranges
// small enough for insertion and large enough for radix passes.
import { describe, expect, it } from 'vitest';
import { sortKeys } from '../src/store/sort-keys.js';
import { random } from './store-fixtures.js';

function sortedBoth(keys: Buffer[]): { got: string[]; want: string[] } {
  const flat = Buffer.concat(keys);
  const starts = new Int32Array(keys.length);
  const lengths = new Int32Array(keys.length);
  for (let i = 0, at = 0; i < keys.length; at += keys[i].length, i++) {
    starts[i] = at;
    lengths[i] = keys[i].length;
  }
  const got = Array.from(sortKeys(keys.length, flat, starts, lengths), (i) => keys[i].toString('hex'));
  const want = [...keys].sort(Buffer.compare).map((k) => k.toString('hex'));
  return { got, want };
}

/** `n` distinct keys from `make`. */
function distinct(n: number, make: () => Buffer): Buffer[] {
  const seen = new Map<string, Buffer>();
  while (seen.size < n) {
    const k = make();
    seen.set(k.toString('hex'), k);
  }
  return [...seen.values()];
}

describe('sortKeys', () => {
  it('orders keys as the tree does, at every size and shape', () => {
    const rnd = random(5);
    // [what, a key, how many distinct keys there are at most]
    const shapes: [string, () => Buffer, number][] = [
      ['random bytes of random lengths', () => Buffer.from(Array.from({ length: rnd(12) }, () => rnd(256))), Infinity],
      ['a long shared prefix, then digits', () => Buffer.from(`user:000000${rnd(1_000_000)}`), 1_000_000],
      ['prefixes of one another', () => Buffer.alloc(1 + rnd(40), rnd(3)), 120],
      ['bytes at both ends of the range', () => Buffer.from(Array.from({ length: 1 + rnd(8) }, () => (rnd(2) ? 0 : 255))), 510],
    ];
    for (const [what, make, most] of shapes) {
      for (const n of [0, 1, 2, 23, 24, 25, 300, 20_000]) {
        // Half of what there can be at most: found by drawing at random.
        const keys = distinct(Math.min(n, most / 2), make);
        const { got, want } = sortedBoth(keys);
        expect(got, `${what}, ${keys.length} keys`).toEqual(want);
      }
    }
  });

  it('puts the empty key first, and a key before those it is a prefix of', () => {
    const keys = ['ab', '', 'a', 'abc', 'b', 'a\x00', '\xff'].map((s) => Buffer.from(s, 'latin1'));
    const { got, want } = sortedBoth([...keys, ...distinct(100, () => Buffer.from(`a${Math.random()}`))]);
    expect(got).toEqual(want);
    expect(got[0]).toBe('');
  });
});
