// `direct: true`: the store reads and writes with O_DIRECT. The same random
// batches go to a direct store and to a Map; the file must then read back the
// same through direct and buffered opens, `xrp` lookups included, and pass
// `check`. The descriptor's flags prove O_DIRECT is really in use.
import { constants, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFile, open, type OpenOptions } from '../src/index.js';
import { random, randomOps } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

/** The open flags of this process's descriptors on `path` (from /proc/self/fdinfo). */
function openFlags(path: string): number[] {
  const flags: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (readdir's own descriptor)
    }
    if (target !== path) continue;
    const info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    flags.push(parseInt(/^flags:\s*([0-7]+)/m.exec(info)![1], 8));
  }
  return flags;
}

type Bin = { keyEncoding: 'binary'; valueEncoding: 'binary' };
const BIN: Bin = { keyEncoding: 'binary', valueEncoding: 'binary' };

function expectContents(db: ReturnType<typeof open<Buffer, Buffer>>, oracle: Map<string, Buffer>, keys: Buffer[]): void {
  for (const k of keys) expect(db.getSync(k)?.toString('hex')).toBe(oracle.get(k.toString('hex'))?.toString('hex'));
  expect(db.count()).toBe(oracle.size);
}

describe('direct: true', () => {
  for (const pageSize of [512, 4096]) {
    it(`keeps every batch through direct and buffered opens (${pageSize}-byte pages)`, async () => {
      const path = join(tmp.dir, `direct-${pageSize}.db`);
      const rnd = random(pageSize);
      const keys = Array.from({ length: 600 }, (_, i) => Buffer.from(`key-${i * 7919}`));
      // Values up to twice the page: inline and overflow alike.
      const value = () => Buffer.alloc(1 + rnd(2 * pageSize), rnd(256));
      const oracle = new Map<string, Buffer>();
      const options: OpenOptions = { ...BIN, pageSize, direct: true };

      const db = open<Buffer, Buffer>(path, options);
      // Some descriptor on the file has O_DIRECT (the lock's own one does not).
      expect(openFlags(path).some((f) => (f & constants.O_DIRECT) !== 0)).toBe(true);
      expect(db.stats().direct).toBe(true);
      for (let round = 0; round < 12; round++) {
        await db.batch(randomOps(rnd, 150, keys, value, oracle, 4));
        expectContents(db, oracle, keys);
      }
      await db.close();

      for (const reopen of [{ ...options }, { ...BIN, direct: false }, { ...options, lookup: 'xrp' as const, cacheLevels: 0 }]) {
        const again = open<Buffer, Buffer>(path, reopen);
        expect(again.stats().direct).toBe(reopen.direct);
        if (reopen.lookup === 'xrp') expect(again.lookupReason).toMatch(/direct \(O_DIRECT/);
        expectContents(again, oracle, keys);
        const scanned = [...again.getRange()].map(({ key }) => key.toString('hex'));
        expect(scanned).toEqual([...oracle.keys()].sort());
        await again.close();
      }
      expect(checkFile(path).problems).toEqual([]);
    });
  }

  it('a buffered store opened direct sees every commit, and the other way round', async () => {
    const path = join(tmp.dir, 'mixed.db');
    const buffered = open(path, { direct: false });
    await buffered.put('a', 1);
    await buffered.close();
    const direct = open(path, { direct: true });
    expect(direct.getSync('a')).toBe(1);
    await direct.put('b', 2);
    await direct.close();
    const last = open(path);
    expect([last.getSync('a'), last.getSync('b')]).toEqual([1, 2]);
    await last.close();
  });
});
