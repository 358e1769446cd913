// The server's record layout (layout.ts) and the pending writes that range
// reads inside a transaction add to the last commit (pending-writes.ts).
import { describe, expect, it } from 'vitest';
import { decodeMeta, encodeMeta, expiryKey, fromExpiryKey, fromRawKey, KeyType, metaKey, prefixEnd, rawKey, readScoreBytes, scoreBytes } from '../src/server/layout.js';
import { MetaRecords } from '../src/server/meta-records.js';
import { PendingWrites } from '../src/server/pending-writes.js';
import type { StoreView } from '../src/server/store-view.js';

const b = (s: string) => Buffer.from(s);

describe('layout', () => {
  it('sorts score records as the numbers sort, and reads them back', () => {
    const scores = [-Infinity, -1e300, -2.5, -1, -Number.MIN_VALUE, 0, Number.MIN_VALUE, 0.1, 1, 2.5, 3, 1e300, Infinity];
    const encoded = scores.map(scoreBytes);
    const sorted = [...encoded].sort(Buffer.compare);
    expect(sorted.map((e) => readScoreBytes(e))).toEqual(scores);
    expect(Buffer.compare(scoreBytes(-0), scoreBytes(0))).toBe(0);
  });

  it('escapes string keys that start with 0xff, and only those', () => {
    expect(rawKey(b('plain'))).toEqual(b('plain'));
    const high = Buffer.from([0xff, 0x01]);
    expect(rawKey(high)).toEqual(Buffer.from([0xff, 0xff, 0x01]));
    expect(fromRawKey(rawKey(high))).toEqual(high);
  });

  it('keeps metadata and expiry index records whole', () => {
    const meta = { type: KeyType.List, deadline: Date.now() + 5000, version: 2 ** 40 + 3, size: 12, head: 2 ** 52 - 7, tail: 2 ** 52 + 5 };
    expect(decodeMeta(encodeMeta(meta))).toEqual(meta);
    expect(fromExpiryKey(expiryKey(meta.deadline, b('k')))).toEqual({ deadline: meta.deadline, key: b('k') });
    expect(prefixEnd(Buffer.from([1, 0xff]))).toEqual(Buffer.from([2]));
    expect(prefixEnd(Buffer.from([0xff, 0xff]))).toBeUndefined();
  });
});

describe('pending writes', () => {
  it('answers ranges both ways, newest write first, and uncovers older writes when one is released', () => {
    const p = new PendingWrites();
    p.set(b('a'), b('1'), 1);
    p.set(b('c'), b('1'), 1);
    p.set(b('c'), b('2'), 2);
    p.set(b('d'), undefined, 2);
    const range = (reverse: boolean, end?: Buffer) => [...p.range(b('a'), end, reverse)].map(([k, v]) => `${k}=${v ?? '-'}`);
    expect(range(false)).toEqual(['a=1', 'c=2', 'd=-']);
    expect(range(true)).toEqual(['d=-', 'c=2', 'a=1']);
    expect(range(true, b('d'))).toEqual(['c=2', 'a=1']);
    expect(range(false, b('c'))).toEqual(['a=1']);
    // Transaction 2 failed: its writes go, transaction 1's show again.
    p.release(2);
    expect(range(false)).toEqual(['a=1', 'c=1']);
    p.release(1);
    expect(p.size).toBe(0);
    expect(range(true)).toEqual([]);
  });

  it('keeps a range read up to date with the writes made after it, and after a failed nested call', () => {
    const p = new PendingWrites();
    const values = () => [...p.range(b(''), undefined, false)].map(([k, v]) => `${String(k)}=${String(v)}`);
    p.set(b('b'), b('1'), 1);
    expect(values()).toEqual(['b=1']);
    p.set(b('a'), b('2'), 2); // a new key after the first range read
    p.set(b('b'), undefined, 2); // and a newer write of one it listed
    expect(values()).toEqual(['a=2', 'b=undefined']);
    expect(() =>
      p.nested(2, () => {
        p.set(b('c'), b('3'), 2);
        expect(values()).toEqual(['a=2', 'b=undefined', 'c=3']);
        throw new Error('failed');
      }),
    ).toThrow('failed');
    expect(values()).toEqual(['a=2', 'b=undefined']);
    expect(p.size).toBe(3);
    p.release(2);
    expect(values()).toEqual(['b=1']);
  });

  it('releases an older owner below a newer one without touching the newer', () => {
    const p = new PendingWrites();
    p.set(b('k'), b('old'), 1);
    p.set(b('k'), b('new'), 2);
    p.release(1);
    expect([...p.range(b(''), undefined, false)].map(([, v]) => String(v))).toEqual(['new']);
    expect(() =>
      p.nested(2, () => {
        p.set(b('k'), b('changed'), 2);
        throw new Error('the command failed');
      }),
    ).toThrow('the command failed');
    expect([...p.range(b(''), undefined, false)].map(([, v]) => String(v))).toEqual(['new']);
    p.release(2);
    expect(p.size).toBe(0);
  });

  it('undoes what a failed nested call set, and what the calls inside a failed one kept', () => {
    const p = new PendingWrites();
    const values = () => [...p.range(b(''), undefined, false)].map(([k, v]) => `${String(k)}=${String(v)}`);
    p.set(b('a'), b('1'), 1);
    p.set(b('k'), b('before'), 2);
    expect(() =>
      p.nested(2, () => {
        p.set(b('k'), b('changed'), 2); // its own entry, changed
        p.set(b('a'), undefined, 2); // a new entry above owner 1's
        p.nested(2, () => p.set(b('z'), b('kept inside'), 2));
        throw new Error('failed');
      }),
    ).toThrow('failed');
    expect(values()).toEqual(['a=1', 'k=before']);
    p.nested(2, () => p.set(b('z'), b('kept'), 2));
    expect(values()).toEqual(['a=1', 'k=before', 'z=kept']);
    p.release(2);
    expect(values()).toEqual(['a=1']);
    p.release(1);
    expect(p.size).toBe(0);
  });
});

describe('metadata records of a transaction', () => {
  /** A view over a Map that counts its puts. */
  function mapView() {
    const records = new Map<string, Buffer>();
    let puts = 0;
    const view = {
      now: 0,
      writable: true,
      get: (k: Buffer) => records.get(k.toString('latin1')),
      put: (k: Buffer, v: Buffer) => (puts++, records.set(k.toString('latin1'), v)),
      remove: (k: Buffer) => records.delete(k.toString('latin1')),
      putKnown: () => {},
      removeKnown: () => {},
      range: () => [],
    } as StoreView;
    return { view, records, puts: () => puts };
  }

  it('writes a record once however often it changed, and a command that throws leaves what earlier ones wrote to be written', () => {
    const { view, records, puts } = mapView();
    const m = new MetaRecords();
    const meta = (k: string) => metaKey(b(k)).toString('latin1');
    m.found(view, 'h', undefined);
    // Three commands change h's record: nothing is written until a flush, then the last one once.
    for (const v of ['1', '2', '3']) {
      m.begin();
      m.wrote('h', b('h'), b(v));
      m.end();
    }
    expect(records.size).toBe(0);
    // A command that flushes (a range read), changes h again, then throws.
    m.begin();
    m.flush(view);
    expect(records.get(meta('h'))).toEqual(b('3'));
    m.wrote('h', b('h'), b('4'));
    m.found(view, 'g', b('g-record'));
    records.delete(meta('h')); // the view undoes the command's writes (TxnView.nested)
    m.rollback();
    expect(m.record('h')).toEqual(b('3'));
    expect(m.has('g')).toBe(false);
    m.flush(view);
    expect(records.get(meta('h'))).toEqual(b('3'));
    expect(puts()).toBe(2);
    // A removal, and a raw record written: the entry says none, then forgets.
    m.removed('h');
    expect(m.has('h')).toBe(true);
    expect(m.record('h')).toBeUndefined();
    m.forget('h');
    expect(m.has('h')).toBe(false);
    m.flush(view);
    expect(puts()).toBe(2);
  });
});
