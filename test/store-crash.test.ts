// Crash safety: a child process (test/fixtures/crash-writer.mjs, running the
// compiled store) commits random batches and is killed with SIGKILL at a
// random moment, over and over on the same file. After every kill: every
// batch the child acknowledged (its `await` resolved) is there, or was
// deleted by a later batch; no batch is partly visible; the only batch
// visible without an acknowledgement is the one in flight at the kill; and
// `check` finds no problem.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkFile, open } from '../src/index.js';
import { DIST_INDEX, requireFreshStore } from './store-fixtures.js';
import { tempDir } from './xrp-fixtures.js';

const CHILD = fileURLToPath(new URL('./fixtures/crash-writer.mjs', import.meta.url));
const RUNS = 25;
const PIPELINED_RUNS = 12;
const tmp = tempDir();
beforeAll(() => requireFreshStore());
afterAll(() => tmp.remove());

interface Run {
  /** `[id, deleted batch or null]` for every acknowledged batch, in order. */
  acks: [number, number | null][];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts the child; once it has acknowledged its first batch, waits `delay`
 * ms and kills it. Counted from the first acknowledgement, not from start,
 * so that every run kills a writer in full flow however loaded the machine
 * is (a child still warming up would be killed before writing anything).
 */
function runChild(path: string, firstId: number, seed: number, delay: number, depth = 1): Promise<Run> {
  const proc = spawn(process.execPath, [CHILD, DIST_INDEX, path, String(firstId), String(seed), String(depth)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const acks: Run['acks'] = [];
  let out = '';
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  proc.stdout.on('data', (d) => {
    out += d;
    const lines = out.split('\n');
    out = lines.pop()!; // an unfinished line is not an acknowledgement
    for (const line of lines) {
      const m = /^ack (\d+) (\d+|-)$/.exec(line);
      if (m) {
        if (acks.length === 0) setTimeout(() => proc.kill('SIGKILL'), delay);
        acks.push([Number(m[1]), m[2] === '-' ? null : Number(m[2])]);
      }
    }
  });
  return new Promise((resolve) => proc.on('exit', (_code, signal) => resolve({ acks, signal, stderr })));
}

describe('crash safety', () => {
  it(`keeps every acknowledged batch and no partial one across ${RUNS} SIGKILLs`, async () => {
    const path = join(tmp.dir, 'crash.xrpkv');
    const base = (Date.now() % 1_000_000) + 1;
    /** Batches known durable (acknowledged, or found after a kill) -> the batch each deleted. */
    const durable = new Map<number, number | null>();
    const deleted = new Set<number>();
    let nextId = 1;
    let inFlightCommitted = 0;
    let total = 0;
    for (let run = 0; run < RUNS; run++) {
      const seed = base * 1000 + run;
      const delay = (seed * 7919) % 51; // 0..50 ms after its first acknowledgement
      const where = `run ${run} (seed ${seed}, kill after ${delay} ms)`;
      const r = await runChild(path, nextId, seed, delay);
      expect(r.signal, `${where}: ${r.stderr}`).toBe('SIGKILL');
      expect(r.stderr, where).toBe('');
      for (const [id, del] of r.acks) {
        durable.set(id, del);
        if (del !== null) deleted.add(del);
      }
      total += r.acks.length;
      // Batches are sequential: the one after the last acknowledged may have committed unacknowledged.
      const inFlight = r.acks.length ? r.acks[r.acks.length - 1][0] + 1 : nextId;
      nextId = inFlight + 1;

      const db = open(path);
      const markers = new Map<number, { n: number; deletes: number | null }>();
      for (const { key, value } of db.getRange({ start: ['m'], end: ['n'] })) markers.set((key as [string, number])[1], value);
      const seen = new Map<number, number>();
      for (const { key, value } of db.getRange({ start: ['b'], end: ['c'] })) {
        const [, id, i] = key as [string, number, number];
        expect(value, `${where}: the value of ${key}`).toMatchObject({ id, i });
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      // No partial batch: every key belongs to a visible batch, and each visible batch has all its keys.
      for (const [id, n] of seen) expect(markers.has(id), `${where}: batch ${id} has ${n} keys but no marker`).toBe(true);
      for (const [id, m] of markers) expect(seen.get(id) ?? 0, `${where}: keys of batch ${id}`).toBe(m.n);
      // The batch in flight at the kill may be visible (committed, not yet acknowledged): then it is durable too.
      const flight = markers.get(inFlight);
      if (flight) {
        inFlightCommitted++;
        durable.set(inFlight, flight.deletes);
        if (flight.deletes !== null) deleted.add(flight.deletes);
      }
      for (const id of markers.keys()) {
        expect(durable.has(id), `${where}: batch ${id} is visible but was never acknowledged nor in flight`).toBe(true);
        expect(deleted.has(id), `${where}: batch ${id} is visible though a durable batch deleted it`).toBe(false);
      }
      for (const id of durable.keys()) {
        if (!deleted.has(id)) expect(markers.has(id), `${where}: acknowledged batch ${id} is missing`).toBe(true);
      }
      expect(db.count(), where).toBe(markers.size + [...seen.values()].reduce((a, b) => a + b, 0));
      const live = db.check();
      expect(live.problems, where).toEqual([]);
      await db.close();
      const offline = checkFile(path);
      expect(offline.problems, where).toEqual([]);
      expect(offline.ok).toBe(true);
    }
    expect(total).toBeGreaterThanOrEqual(RUNS);
    console.log(`crash test: ${RUNS} kills, ${total} acknowledged batches, ${durable.size - deleted.size} live; the batch in flight had committed unacknowledged in ${inFlightCommitted} kills`);
  }, 60_000);

  // Four batches in flight: the store prepares a commit while the one before
  // is written, and writes them in order. After a kill, the batches visible
  // are every acknowledged one and then, in issue order, a run of those in
  // flight: never a later one without the ones issued before it.
  it(`keeps commit order with batches pipelined, across ${PIPELINED_RUNS} SIGKILLs`, async () => {
    const path = join(tmp.dir, 'crash-pipelined.xrpkv');
    const base = (Date.now() % 1_000_000) + 7;
    let nextId = 1;
    let acked = 0;
    let unacknowledged = 0;
    for (let run = 0; run < PIPELINED_RUNS; run++) {
      const seed = base * 1000 + run;
      const delay = 10 + ((seed * 7919) % 41);
      const where = `pipelined run ${run} (seed ${seed}, kill after ${delay} ms)`;
      const firstId = nextId;
      const r = await runChild(path, firstId, seed, delay, 4);
      expect(r.signal, `${where}: ${r.stderr}`).toBe('SIGKILL');
      expect(r.stderr, where).toBe('');
      acked += r.acks.length;
      const db = open(path);
      const markers = new Map<number, { n: number }>();
      for (const { key, value } of db.getRange({ start: ['m'], end: ['n'] })) markers.set((key as [string, number])[1], value);
      const seen = new Map<number, number>();
      for (const { key } of db.getRange({ start: ['b'], end: ['c'] })) {
        const id = (key as [string, number, number])[1];
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      for (const [id, m] of markers) expect(seen.get(id) ?? 0, `${where}: keys of batch ${id}`).toBe(m.n);
      for (const id of seen.keys()) expect(markers.has(id), `${where}: batch ${id} has keys but no marker`).toBe(true);
      // This run's visible batches: firstId .. last, with no gap, and every acknowledged one among them.
      const mine = [...markers.keys()].filter((id) => id >= firstId).sort((a, b) => a - b);
      mine.forEach((id, i) => expect(id, `${where}: batches visible out of order: ${mine.join(',')}`).toBe(firstId + i));
      for (const [id] of r.acks) expect(markers.has(id), `${where}: acknowledged batch ${id} is missing`).toBe(true);
      unacknowledged += mine.length - r.acks.length;
      expect(db.check().problems, where).toEqual([]);
      await db.close();
      nextId = firstId + mine.length + 8; // past every id that was in flight
    }
    expect(acked).toBeGreaterThanOrEqual(PIPELINED_RUNS);
    console.log(`pipelined crash test: ${PIPELINED_RUNS} kills, ${acked} acknowledged batches, ${unacknowledged} visible unacknowledged (in flight at the kill)`);
  }, 60_000);
});
