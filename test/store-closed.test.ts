// An iterator made before `close` and first stepped after it must refuse
// (DatabaseClosedError), whichever way lookups run, and open nothing: with
// `lookup: 'xrp'` a forward scan's first chain once ran on the closed store,
// reopening its XRP file (the snapshot counted more pages than the file had
// when opened) and leaving that descriptor open for good.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseClosedError, open, type Database } from '../src/index.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
type Bin = Database<Buffer, Buffer>;
const BIN = { keyEncoding: 'binary', valueEncoding: 'binary', sync: false, pageSize: 512 } as const;
const openFds = () => readdirSync('/proc/self/fd').length;

describe('a range iterator first stepped after close', () => {
  for (const lookup of ['walk', 'xrp'] as const) {
    it(`throws DatabaseClosedError and opens nothing (lookup '${lookup}')`, async () => {
      const db: Bin = open(join(tmp.dir, `closed-${lookup}.db`), { ...BIN, lookup });
      // Commits that grow the file past the size the XRP file was opened with.
      await db.batch(Array.from({ length: 300 }, (_, i) => ({ type: 'put' as const, key: Buffer.from(`k${String(i).padStart(6, '0')}`), value: Buffer.alloc(20, i) })));
      const it = db.getRange()[Symbol.iterator]();
      await db.close();
      const before = openFds();
      expect(() => it.next()).toThrow(DatabaseClosedError);
      expect(openFds()).toBe(before);
    });
  }
});
