// lmdb-js in bench/peers.mjs: binary keys and values, no compression, its
// default options. With those (overlappingSync, the default off Windows) a
// write's promise resolves when its transaction commits, and the flush to
// disk follows: so every write here also awaits `db.flushed`, which makes it
// durable when it resolves, as the other stores' writes are.
import { join } from 'node:path';
import { open } from 'lmdb';

export default {
  name: 'lmdb',
  settings: "lmdb-js, keyEncoding 'binary', encoding 'binary', compression: false, default options (overlappingSync); writes await db.flushed",
  durability: 'default overlappingSync: commit, then await db.flushed (synced to disk)',
  open: (dir) => open({ path: join(dir, 'data.mdb'), keyEncoding: 'binary', encoding: 'binary', compression: false }),
  describe: () => 'get is synchronous (memory-mapped)',
  /** One durable commit: batch() runs the puts in one write transaction; flushed is its sync. */
  async write(db, ops) {
    await db.batch(() => {
      for (const op of ops) db.put(op.key, op.value);
    });
    await db.flushed;
  },
  getSync: (db, key) => db.get(key),
  // lmdb-js has no asynchronous get: this is its get, awaited as callers would.
  getAsync: async (db, key) => db.get(key),
  /** Prefetches the keys' pages on a worker thread, then gets them. */
  getMany: (db, keys) => db.getMany(keys),
  scanSync(db, start, limit) {
    let rows = 0;
    for (const _ of db.getRange({ start, limit })) rows++;
    return rows;
  },
  close: (db) => db.close(),
};
