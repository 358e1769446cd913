// Writers in several threads and processes on one file: one commits at a
// time (the write lock, taken per commit), each on top of the others'
// commits, and every write acknowledged to any of them is in the file.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { open } from '../src/index.js';
import { peerScript, start } from './concurrency-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
beforeAll(() => requireFreshStore());

/**
 * A writer: its own keys (async puts, putSync), a key all writers
 * overwrite, and a counter every writer increments by read-modify-write in
 * a transaction (async and sync by turns): an increment built on a state
 * older than another writer's commit would lose that one's.
 */
const WRITER = `
const db = store.open(args.path, { sync: false, logLimit: args.logLimit });
for (let i = 0; i < args.rounds; i++) {
  if (i % 2 === 0) await db.put(args.name + '-' + i, i);
  else db.putSync(args.name + '-' + i, i);
  await db.put('shared', args.name + '-' + i);
  const add = (tx) => tx.put('counter', (tx.get('counter') ?? 0) + 1);
  if (i % 3 === 0) db.transactionSync(add);
  else await db.transaction(add);
  post({ acked: i });
}
await db.close();
post({ done: true });
`;

describe('writers in several processes and threads', () => {
  it('three writers (two processes, one worker thread) end with every acknowledged write, and no increment lost', async () => {
    const path = join(tmp.dir, 'writers.db');
    const rounds = 40;
    // logLimit 25: checkpoints come often, so writers take over a file whose tree and freelist another one rewrote.
    const logLimit = 25;
    const script = peerScript(tmp.dir, 'writer', WRITER);
    const peers = [start(script, 'process', { path, name: 'a', rounds, logLimit }), start(script, 'process', { path, name: 'b', rounds, logLimit }), start(script, 'thread', { path, name: 'c', rounds, logLimit })];
    // This process writes too, beside them.
    const db = open(path, { sync: false, logLimit });
    for (let i = 0; i < rounds; i++) {
      await db.put(`main-${i}`, i);
      await db.transaction((tx) => tx.put('counter', ((tx.get('counter') as number | undefined) ?? 0) + 1));
    }
    await Promise.all(peers.map((p) => p.next((m) => m.done || m.error)));
    for (const p of peers) {
      expect(p.messages.filter((m: any) => m.error)).toEqual([]);
      expect(await p.exited).toBe(0);
    }
    for (const name of ['a', 'b', 'c', 'main']) {
      for (let i = 0; i < rounds; i++) expect(db.getSync(`${name}-${i}`)).toBe(i);
    }
    expect(db.getSync('counter')).toBe(4 * rounds);
    expect(['a', 'b', 'c'].map((n) => `${n}-${rounds - 1}`)).toContain(db.getSync('shared'));
    expect(db.check()).toMatchObject({ ok: true, entries: 4 * rounds + 2 });
    await db.close();
  });
});
