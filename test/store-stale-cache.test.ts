// stale-cache.ts's `reread`: pages as the disk holds them, and a cached copy
// that differs overwritten with the disk's bytes. A real difference needs a
// failed write-back (test/store-thin-device.test.ts, root only, where the
// kernel can also drop the pages); here the disk reader is a stand-in that
// answers other bytes for one page, as O_DIRECT would after a failed
// write-back that another process's map kept in the cache.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Pager } from '../src/store/pager.js';
import { reread } from '../src/store/stale-cache.js';
import { tempDir } from './xrp-fixtures.js';

const P = 4096;
const tmp = tempDir();
afterAll(() => tmp.remove());

/** A file of four pages, page n filled with n + 1, and a pager on it. */
function fourPages(name: string): { path: string; pager: Pager } {
  const path = join(tmp.dir, name);
  writeFileSync(path, Buffer.concat([0, 1, 2, 3].map((n) => Buffer.alloc(P, n + 1))));
  const pager = new Pager(path, {});
  pager.pageSize = P;
  return { path, pager };
}

describe('reread', () => {
  it('returns the disk reader\'s pages, names the ones the cache held otherwise, and writes the disk\'s bytes over them', () => {
    const { path, pager } = fourPages('differs');
    // The "disk" holds 0xee in page 2, where the cache says 3.
    const disk = {
      readAt(offset: number, length: number): Buffer {
        const b = readFileSync(path).subarray(offset, offset + length);
        const at = 2 * P - offset;
        if (at >= 0 && at < length) b.fill(0xee, at, Math.min(length, at + P));
        return Buffer.from(b);
      },
    };
    const changed: number[] = [];
    const fresh = reread(pager, 1, 2, changed, disk);
    expect(changed).toEqual([2]);
    expect(fresh.subarray(0, P).equals(Buffer.alloc(P, 2))).toBe(true);
    expect(fresh.subarray(P).equals(Buffer.alloc(P, 0xee))).toBe(true);
    // Every read after agrees with the disk: the file now holds its bytes; the other pages are untouched.
    const file = readFileSync(path);
    expect(file.subarray(2 * P, 3 * P).equals(Buffer.alloc(P, 0xee))).toBe(true);
    for (const n of [0, 1, 3]) expect(file.subarray(n * P, (n + 1) * P).equals(Buffer.alloc(P, n + 1))).toBe(true);
    pager.close();
  });

  it('without a disk reader, reads again after the drop and writes nothing', () => {
    const { path, pager } = fourPages('same');
    const changed: number[] = [];
    const fresh = reread(pager, 0, 4, changed, undefined);
    expect(changed).toEqual([]);
    expect(fresh.equals(readFileSync(path))).toBe(true);
    pager.close();
  });
});
