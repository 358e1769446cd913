// Readers beside a writer, in other threads and processes (docs/ARCHITECTURE.md,
// "Many readers, one writer"): each read sees one commit whole and the next
// read sees newer ones; the lock file's reader table keeps the pages a
// reader may reach from reuse, and forgets a reader that was killed.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReadOnlyError, open } from '../src/index.js';
import { native } from '../src/native.js';
import { NONE, peerScript, slotsOf, start } from './concurrency-fixtures.js';
import { requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const tmp = tempDir();
afterAll(() => tmp.remove());
beforeAll(() => requireFreshStore());
let seq = 0;
const newPath = () => join(tmp.dir, `${seq++}.db`);
const KEYS = Array.from({ length: 12 }, (_, i) => `k${String(i).padStart(2, '0')}`);


describe('the reader table', () => {
  it("holds each handle's slot, with the txid of the oldest snapshot it reads, in the lock file beside the database", async () => {
    const path = newPath();
    const db = open(path, { sync: false });
    await db.put('a', 1);
    const { txid } = db.stats();
    // A synchronous read pins the txid it reads until the code that read ends (read-pin.ts).
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: BigInt(txid) }]);
    await null;
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: NONE }]);
    const it = db.getRange()[Symbol.iterator]();
    it.next();
    await db.put('b', 2);
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: BigInt(txid) }]);
    it.return!();
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: NONE }]);
    expect(readFileSync(`${path}-lock`).readBigUInt64LE(native.lockFile.header.published)).toBe(BigInt(txid + 1));
    await db.close();
    expect(slotsOf(path)).toEqual([]);
  });

  it("keeps a burst of reads' pin while a snapshot opens and closes within it", async () => {
    const path = newPath();
    const db = open(path, { sync: false });
    await db.put('a', 1);
    const { txid } = db.stats();
    await null;
    expect(db.getSync('a')).toBe(1); // the burst pins txid
    await db.put('b', 2); // a newer commit; then a new burst
    expect(db.getSync('b')).toBe(2);
    const pinned = slotsOf(path)[0]!.txid;
    expect(pinned).toBe(BigInt(txid + 1));
    // A snapshot registered and released within the burst leaves the slot at the burst's pin, not empty.
    const it = db.getRange()[Symbol.iterator]();
    it.next();
    it.return!();
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: pinned }]);
    await null;
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: NONE }]);
    // A burst that begins while a snapshot holds the slot keeps that txid to its end, the snapshot released or not.
    const held = db.getRange()[Symbol.iterator]();
    held.next();
    await db.put('c', 3);
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: pinned }]);
    expect(db.getSync('c')).toBe(3);
    held.return!();
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: pinned }]);
    expect(db.getSync('a')).toBe(1);
    await null;
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: NONE }]);
    await db.close();
  });

  it('a read-only handle refuses every write with ReadOnlyError, and opens and reads while a writer holds the write lock', async () => {
    const path = newPath();
    const db = open(path, { sync: false });
    await db.put('a', 1);
    const held = native.storeTableOpen(path);
    expect(native.storeWriteLock(held, false)).toBe(true);
    const before = readFileSync(path);
    const ro = open(path, { readOnly: true });
    expect(ro.readOnly).toBe(true);
    expect(ro.getSync('a')).toBe(1);
    expect(() => ro.put('b', 2)).toThrow(ReadOnlyError);
    expect(() => ro.putSync('b', 2)).toThrow(ReadOnlyError);
    expect(() => ro.remove('a')).toThrow(ReadOnlyError);
    expect(() => ro.batch([{ type: 'put', key: 'b', value: 2 }])).toThrow(ReadOnlyError);
    expect(() => ro.transaction(() => 1)).toThrow(expect.objectContaining({ code: 'READ_ONLY' }));
    expect(() => ro.transactionSync(() => 1)).toThrow(ReadOnlyError);
    expect(readFileSync(path).equals(before)).toBe(true);
    await ro.close();
    native.storeTableClose(held);
    await db.close();
  });
});

/**
 * A reader's loop: each round reads every key from one snapshot (a range
 * scan) and by getSync; all must hold one commit's value, never less than
 * the last seen. It posts each new value, and stops at `last`.
 */
const READER = `
const db = store.open(args.path, { readOnly: true });
let seen = -1;
for (let round = 0; ; round++) {
  const scanned = db.getRange({ start: 'k', end: 'l' }).map(({ value }) => value).asArray;
  const one = db.getSync(args.keys[round % args.keys.length]);
  const v = scanned[0];
  if (scanned.length !== args.keys.length || scanned.some((x) => x !== v)) { post({ torn: scanned }); break; }
  if (v < seen || one < v) { post({ backwards: [seen, v, one] }); break; }
  if (v > seen) { seen = v; post({ seen: v }); }
  if (v === args.last) break;
  await new Promise((r) => setImmediate(r));
}
await db.close();
post({ done: true });
`;

describe('readers in a worker thread and in a child process', () => {
  it('see every commit in order and never a torn one, while the writer commits and checkpoints', async () => {
    const path = newPath();
    // logLimit 30: a checkpoint every few commits, each freeing the log and tree pages readers may hold.
    const db = open(path, { sync: false, logLimit: 30 });
    await db.batch(KEYS.map((key) => ({ type: 'put' as const, key, value: 0 })));
    const LAST = 40;
    const script = peerScript(tmp.dir, 'reader', READER);
    const readers = [start(script, 'thread', { path, keys: KEYS, last: LAST }), start(script, 'process', { path, keys: KEYS, last: LAST })];
    await Promise.all(readers.map((r) => r.next((m) => m.seen === 0 || m.error)));
    for (let v = 1; v <= LAST; v++) {
      // Every third commit is too big for the log: the tree is rewritten.
      const padding = v % 3 === 0 ? Array.from({ length: 40 }, (_, i) => ({ type: 'put' as const, key: `p${i}`, value: 'x'.repeat(100 + v) })) : [];
      await db.batch([...KEYS.map((key) => ({ type: 'put' as const, key, value: v })), ...padding]);
      // Readers go on reading while the next commit is written; each must see this one first.
      await Promise.all(readers.map((r) => r.next((m) => m.seen >= v || m.torn || m.backwards)));
    }
    await Promise.all(readers.map((r) => r.next((m) => m.done)));
    for (const r of readers) {
      expect(r.messages.filter((m: any) => m.torn || m.backwards || m.error)).toEqual([]);
      expect(r.messages.filter((m: any) => m.seen !== undefined).map((m: any) => m.seen)).toEqual(Array.from({ length: LAST + 1 }, (_, i) => i));
      expect(await r.exited).toBe(0);
    }
    expect(db.check().ok).toBe(true);
    await db.close();
  });

  it('a worker thread terminated while it holds a snapshot leaves no slot behind', async () => {
    const path = newPath();
    const db = open(path, { sync: false });
    await db.put('a', 1);
    const worker = start(
      peerScript(tmp.dir, 'held', `const db = store.open(args.path, { readOnly: true }); const it = db.getRange()[Symbol.iterator](); post({ first: it.next().value.value }); setInterval(() => it, 1000);`),
      'thread',
      { path },
    );
    expect((await worker.next((m) => m.first)).first).toBe(1);
    expect(slotsOf(path).filter((s) => s.txid !== NONE)).toHaveLength(1);
    await worker.kill();
    expect(slotsOf(path)).toEqual([{ pid: process.pid, txid: NONE }]);
    await db.close();
  });

  it("kill -9 of a reader frees its slot, and the writer then reuses the pages its snapshot held", async () => {
    const path = newPath();
    const fill = (tag: string) => db.batch(Array.from({ length: 400 }, (_, i) => ({ type: 'put' as const, key: `key${i}`, value: `${tag}${i}`.padEnd(40) })));
    const db = open(path, { sync: false, logLimit: 0, pageSize: 512 });
    await fill('a');
    const holder = start(
      peerScript(tmp.dir, 'holder', `const db = store.open(args.path, { readOnly: true }); const it = db.getRange()[Symbol.iterator](); post({ first: it.next().value.value }); setInterval(() => it, 1000);`),
      'process',
      { path },
    );
    expect((await holder.next((m) => m.first)).first).toBe('a0'.padEnd(40));
    // While the reader holds its snapshot, no page it reaches is reused: every rewrite grows the file.
    const grown: number[] = [];
    for (let round = 0; round < 3; round++) {
      await fill(`r${round}`);
      grown.push(statSync(path).size);
    }
    expect(grown[1]).toBeGreaterThan(grown[0]);
    expect(grown[2]).toBeGreaterThan(grown[1]);
    expect(slotsOf(path).map((s) => s.pid)).toContain(holder.pid);
    await holder.kill();
    // Its slot is reclaimed by the next scan (the writer's, at its next commit), and the file stops growing.
    await fill('s0');
    expect(slotsOf(path).map((s) => s.pid)).not.toContain(holder.pid);
    const top = statSync(path).size;
    for (let round = 1; round < 5; round++) await fill(`s${round}`);
    expect(statSync(path).size).toBe(top);
    expect(db.check().ok).toBe(true);
    await db.close();
  });
});
