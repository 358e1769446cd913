// classic-level (LevelDB) in bench/peers.mjs: Buffer keys and values, no
// compression (as the others), its default 8 MiB block cache, and
// `{ sync: true }` on every write so each batch is durable when it resolves.
import { ClassicLevel } from 'classic-level';

const WRITE = { sync: true };

export default {
  name: 'classic-level',
  settings: "classic-level (LevelDB), keyEncoding/valueEncoding 'buffer', compression: false, default 8 MiB block cache, writes { sync: true }",
  durability: 'batch(ops, { sync: true }): each write fsyncs the log',
  async open(dir) {
    const db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', compression: false });
    await db.open();
    return db;
  },
  describe: () => 'getSync and get (libuv pool); iterator().all() for scans',
  write: (db, ops) => db.batch(ops, WRITE),
  getSync: (db, key) => db.getSync(key),
  getAsync: (db, key) => db.get(key),
  getMany: (db, keys) => db.getMany(keys),
  async scanAsync(db, start, limit) {
    const rows = await db.iterator({ gte: start, limit }).all();
    return rows.length;
  },
  close: (db) => db.close(),
};
