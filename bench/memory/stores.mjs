// The stores bench/memory.mjs compares, each holding the same data
// (bench/lib/workload.mjs: key i -> makeValue(i, 0)): how each is built (in
// the parent, outside any memory limit) and how a reader opens and reads it
// (in a child inside the limit). Every store is read with raw bytes
// (binary/buffer encodings, no compression), so none pays for decoding
// differently.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../lib/results.mjs';
import { makeValue } from '../lib/workload.mjs';

const LOAD_BATCH = 100_000;

const xrpkvDb = async () => (await import(join(ROOT, 'dist/store/db.js'))).open;

/**
 * The options of an xrpkv mode: its `lookup` option, the others left at
 * their defaults (cacheSize from the cgroup's limit; `direct` by the file's
 * size: O_DIRECT where the file system allows it for a file larger than
 * the memory left for the page cache, as here; the row's settings say
 * which), except `auto-buffered`: `lookup: 'auto'` with `direct: false`,
 * what the default was before, to show what reading around the page cache
 * gains inside a memory limit.
 */
const xrpkvOptions = (mode) => (mode.endsWith('-buffered') ? { lookup: mode.slice(0, -'-buffered'.length), direct: false } : { lookup: mode });

/** xrpkv with `pageSize`. */
function xrpkvStore(id, pageSize) {
  return {
    id,
    engine: 'xrpkv',
    label: `xrpkv, ${pageSize}-byte pages`,
    modes: ['auto', 'auto-buffered', 'walk', 'xrp'],
    patterns: ['sync', 'many64', 'conc64'],
    file: (dir) => join(dir, id, 'data.xrpkv'),
    async build(dir, n, key) {
      const open = await xrpkvDb();
      // Not durable per commit: only the finished file matters here.
      const db = open(this.file(dir), { pageSize, sync: false, keyEncoding: 'binary', valueEncoding: 'binary' });
      for (let i = 0; i < n; i += LOAD_BATCH) {
        let last;
        for (let j = i; j < Math.min(n, i + LOAD_BATCH); j++) last = db.put(key(j), makeValue(j, 0));
        await last;
      }
      const { height, pages } = db.stats();
      await db.close();
      return { height, pages };
    },
    async open(dir, mode) {
      const open = await xrpkvDb();
      const db = open(this.file(dir), { keyEncoding: 'binary', valueEncoding: 'binary', ...xrpkvOptions(mode) });
      // stats() reads the branch pages (which lookups read first anyway), not the leaves.
      const { access, cacheSize, direct } = db.stats();
      return {
        readUnit: direct ? db.pageSize : 4096,
        settings: `${JSON.stringify(xrpkvOptions(mode))} (ran as '${db.lookup}': ${db.lookupReason}); cacheSize ${(cacheSize / 2 ** 20).toFixed(1)} MiB (the default, from the cgroup's limit); access: ${access}`,
        getSync: (k) => db.getSync(k),
        getMany: (ks) => db.getMany(ks),
        get: (k) => db.get(k),
        close: () => db.close(),
      };
    },
  };
}

const lmdbStore = {
  id: 'lmdb',
  engine: 'lmdb',
  label: 'lmdb-js',
  modes: ['default', 'noReadAhead'],
  // lmdb-js's get is synchronous (a memory-mapped read): its 64-in-flight
  // form is getMany, which prefetches the keys' pages on a worker thread
  // (touching them, so the faults happen there) and then gets them.
  patterns: ['sync', 'many64'],
  file: (dir) => join(dir, 'lmdb', 'data.mdb'),
  async build(dir, n, key) {
    const { open } = await import('lmdb');
    const db = open({ path: this.file(dir), keyEncoding: 'binary', encoding: 'binary', compression: false });
    for (let i = 0; i < n; i += LOAD_BATCH) {
      await db.batch(() => {
        for (let j = i; j < Math.min(n, i + LOAD_BATCH); j++) db.put(key(j), makeValue(j, 0));
      });
    }
    await db.flushed;
    await db.close();
    return {};
  },
  async open(dir, mode) {
    const { open } = await import('lmdb');
    const noReadAhead = mode === 'noReadAhead';
    const db = open({ path: this.file(dir), keyEncoding: 'binary', encoding: 'binary', compression: false, readOnly: true, noReadAhead });
    return {
      settings: `readOnly, noReadAhead: ${noReadAhead}; many64 = getMany (prefetch on a thread, then sync gets)`,
      getSync: (k) => db.get(k),
      getMany: (ks) => db.getMany(ks),
      close: () => db.close(),
    };
  },
};

const classicLevelStore = {
  id: 'classic-level',
  engine: 'classic-level',
  label: 'classic-level',
  modes: ['default'],
  patterns: ['sync', 'many64', 'conc64'],
  file: (dir) => join(dir, 'classic-level'),
  async build(dir, n, key) {
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel(this.file(dir), { keyEncoding: 'buffer', valueEncoding: 'buffer', compression: false });
    await db.open();
    for (let i = 0; i < n; i += LOAD_BATCH) {
      const ops = [];
      for (let j = i; j < Math.min(n, i + LOAD_BATCH); j++) ops.push({ type: 'put', key: key(j), value: makeValue(j, 0) });
      await db.batch(ops);
    }
    await db.close();
    return {};
  },
  async open(dir) {
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel(this.file(dir), { keyEncoding: 'buffer', valueEncoding: 'buffer', createIfMissing: false });
    await db.open();
    return {
      settings: 'default 8 MiB block cache; get and getMany run on the libuv pool (4 threads)',
      getSync: (k) => db.getSync(k),
      getMany: (ks) => db.getMany(ks),
      get: (k) => db.get(k),
      close: () => db.close(),
    };
  },
};

export const STORES = [xrpkvStore('xrpkv-4k', 4096), xrpkvStore('xrpkv-512', 512), lmdbStore, classicLevelStore];

/**
 * Builds `store` under `dir` unless a previous run left it whole for the
 * same key count (a marker file written last says so); returns what the
 * build recorded (xrpkv: the tree's height and pages).
 */
export async function ensureBuilt(store, dir, n, key) {
  const marker = join(dir, `${store.id}.built.json`);
  if (existsSync(marker)) {
    const built = JSON.parse(readFileSync(marker, 'utf8'));
    if (built.keys === n) return { ...built, reused: true };
  }
  // A build cut short leaves no marker: start over.
  rmSync(join(dir, store.id), { recursive: true, force: true });
  mkdirSync(join(dir, store.id), { recursive: true });
  const built = { keys: n, ...(await store.build(dir, n, key)) };
  writeFileSync(marker, JSON.stringify(built) + '\n');
  return built;
}
