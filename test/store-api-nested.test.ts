// tx.nested(fn) inside a transaction: what `fn` wrote is undone if it
// throws, and the transaction goes on; calls nest, and a failure of an
// enclosing call undoes what the calls inside it kept. On the log and on
// the tree (logLimit 0), since each applies a transaction's writes its own way.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { open, type Database } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
let seq = 0;

describe.each([
  ['the log', {}],
  ['the tree', { logLimit: 0 }],
])('tx.nested on %s', (_where, options) => {
  it('undoes a failed call, keeps a successful one, and the transaction commits the rest', async () => {
    const path = join(tmp.dir, `${seq++}.db`);
    const db: Database<string, string> = open(path, { keyEncoding: 'ordered-binary', valueEncoding: 'string', ...options });
    await db.batch([
      { type: 'put', key: 'kept', value: 'before' },
      { type: 'put', key: 'removed', value: 'before' },
    ]);
    const answer = await db.transaction((tx) => {
      tx.put('a', '1');
      expect(() =>
        tx.nested(() => {
          tx.put('a', 'changed');
          tx.put('b', 'new');
          expect(tx.remove('kept')).toBe(true);
          // Reads inside see the call's own writes.
          expect(tx.get('a')).toBe('changed');
          expect(tx.has('kept')).toBe(false);
          throw new Error('the command failed');
        }),
      ).toThrow('the command failed');
      // Everything as before the call.
      expect(tx.get('a')).toBe('1');
      expect(tx.has('b')).toBe(false);
      expect(tx.get('kept')).toBe('before');
      const removed = tx.nested(() => tx.remove('removed'));
      // Nested: the inner call fails alone; the outer one keeps the rest.
      tx.nested(() => {
        tx.put('c', 'outer');
        expect(() => tx.nested(() => (tx.put('c', 'inner'), tx.put('d', 'inner'), JSON.parse('{')))).toThrow(SyntaxError);
        expect(tx.get('c')).toBe('outer');
        expect(tx.has('d')).toBe(false);
      });
      // An outer call that fails undoes the inner calls that succeeded.
      expect(() =>
        tx.nested(() => {
          tx.nested(() => tx.put('e', 'inner'));
          tx.nested(() => tx.remove('c'));
          expect(tx.get('e')).toBe('inner');
          throw new RangeError('outer failed');
        }),
      ).toThrow(RangeError);
      expect(tx.get('c')).toBe('outer');
      expect(tx.has('e')).toBe(false);
      return removed;
    });
    expect(answer).toBe(true);
    const want = { a: '1', c: 'outer', kept: 'before' };
    const check = (d: Database<string, string>) => {
      expect(Object.fromEntries([...d.getRange()].map((e) => [e.key, e.value]))).toEqual(want);
      expect(d.count()).toBe(3);
    };
    check(db);
    await db.close();
    const reopened: Database<string, string> = open(path, options);
    check(reopened);
    expect(reopened.check().ok).toBe(true);
    await reopened.close();
  });
});
