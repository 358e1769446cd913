// xrpkv in bench/peers.mjs: binary keys and values, sync: true (every commit
// fdatasyncs before it resolves), lookups as `lookup: 'auto'` resolves them
// (or as --lookup says).
import { join } from 'node:path';
import { ROOT } from '../lib/results.mjs';

const { open } = await import(join(ROOT, 'dist/store/db.js')).catch(() => {
  console.error('bench:peers: dist/store/db.js is missing: run `node scripts/build.mjs ts` first');
  process.exit(1);
});

export default {
  name: 'xrpkv',
  /** The `lookup` option (bench/peers.mjs --lookup). */
  lookup: 'auto',
  /** The `direct` option: undefined (the store's default, buffered), or bench/peers.mjs --direct ('auto') or --buffered (false). */
  direct: undefined,
  /** The `mapReads` option (false: bench/peers.mjs --pread). */
  mapReads: true,
  /** The `logLimit` option (bench/space.mjs --log-limit); undefined: the store's default. */
  logLimit: undefined,
  get settings() {
    return `keyEncoding/valueEncoding 'binary', sync: true (each commit fdatasyncs), 4 KiB pages, cacheLevels 2, lookup '${this.lookup}', direct ${this.direct ?? 'default (false)'}, mapReads ${this.mapReads}`;
  },
  durability: 'sync: true: each commit fdatasyncs',
  open(dir) {
    return open(join(dir, 'data.xrpkv'), { keyEncoding: 'binary', valueEncoding: 'binary', sync: true, lookup: this.lookup, direct: this.direct, mapReads: this.mapReads, ...(this.logLimit === undefined ? {} : { logLimit: this.logLimit }) });
  },
  /** How reads run, for the output. */
  describe: (db) => `lookup ${db.lookup}, ${db.stats().access}`,
  /** One durable commit of `ops` ({ type: 'put', key, value }). */
  write: (db, ops) => db.batch(ops),
  getSync: (db, key) => db.getSync(key),
  getAsync: (db, key) => db.get(key),
  /** One snapshot; with lookup 'xrp', one batch of chains (io_uring). */
  getMany: (db, keys) => db.getMany(keys),
  scanSync(db, start, limit) {
    let rows = 0;
    for (const _ of db.getRange({ start, limit })) rows++;
    return rows;
  },
  close: (db) => db.close(),
};
