// How the write queue's commits reach the disk (docs/FORMAT.md, "Meta
// pages"): a log commit through the addon's storeLogCommit (pages and meta,
// one sync), a tree commit through storeTreeCommit (pages, sync, meta,
// sync), each with its meta in page txid % 2 and `sync` as the store was
// opened with.
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { open } from '../src/index.js';
import { decodeMeta } from '../src/format/meta.js';
import { native } from '../src/native.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
afterEach(() => vi.restoreAllMocks());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);

/** The metas the calls of `spy` wrote, each checked to be in its own meta page. */
function metasOf(spy: { mock: { calls: Parameters<typeof native.storeTreeCommit>[] } }) {
  return spy.mock.calls.map((args) => {
    const [, , meta, metaPageNo, sync] = args;
    const m = decodeMeta(Buffer.from(meta), metaPageNo);
    if (typeof m === 'string') throw new Error(`meta page ${metaPageNo}: ${m}`);
    return { txid: m.txid, newLogPages: m.newLogPages, logPages: m.logPages, sync };
  });
}

describe('commits reach the disk by their protocol', () => {
  for (const sync of [true, false]) {
    it(`a small commit is a log commit, one past the log's limit a tree commit (sync: ${sync})`, async () => {
      const tree = vi.spyOn(native, 'storeTreeCommit');
      const log = vi.spyOn(native, 'storeLogCommit');
      const db = open<Buffer, Buffer>(newPath(), { keyEncoding: 'binary', valueEncoding: 'binary', pageSize: 512, logLimit: 100, sync });
      await db.batch(Array.from({ length: 10 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.from('a') })));
      await db.batch(Array.from({ length: 150 }, (_, i) => ({ type: 'put' as const, key: key(i), value: Buffer.from('b') })));
      expect(metasOf(log)).toEqual([{ txid: 2, newLogPages: expect.any(Number), logPages: expect.any(Number), sync }]);
      expect(metasOf(log)[0].newLogPages).toBeGreaterThan(0);
      expect(metasOf(tree)).toEqual([{ txid: 3, newLogPages: 0, logPages: 0, sync }]);
      await db.close();
    });
  }
});
