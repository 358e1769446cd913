// The power-failure test's disk model: the writes and syncs a workload made
// (crates/node/src/io_trace.rs records them), and the states a disk could
// hold if the power failed at any point. A sync is a barrier: what was
// written before it is on the disk once it returns. What was written after
// the last completed sync may be on the disk, missing, torn at 512-byte
// sectors, or in any order, since the disk and the kernel reorder writes
// between barriers (as ALICE, bbolt's and SQLite's crash tests model it).
import { readFileSync } from 'node:fs';

export const SECTOR = 512;

export type Op = { kind: 'write'; offset: number; data: Buffer; at: number } | { kind: 'sync'; at: number };

/** The records of a trace file; `at` is each record's byte offset in it. */
export function parseTrace(path: string): Op[] {
  const t = readFileSync(path);
  const ops: Op[] = [];
  for (let at = 0; at < t.length; ) {
    const kind = t[at]!;
    const offset = Number(t.readBigUInt64LE(at + 1));
    const length = t.readUInt32LE(at + 9);
    if (kind === 1) ops.push({ kind: 'write', offset, data: t.subarray(at + 13, at + 13 + length), at });
    else if (kind === 2) ops.push({ kind: 'sync', at });
    else throw new Error(`trace: unknown record kind ${kind} at byte ${at}`);
    at += 13 + length;
  }
  return ops;
}

/** How many ops had been recorded when the trace file was `bytes` long. */
export function opsBefore(ops: Op[], bytes: number): number {
  let n = 0;
  while (n < ops.length && ops[n]!.at < bytes) n++;
  return n;
}

/** What to do with each write in flight at the crash: its sectors that reach the disk. */
export type InFlight = (write: Extract<Op, { kind: 'write' }>, index: number) => 'all' | 'none' | number[];

/**
 * The file after a crash once `crash` ops had been issued: the base image,
 * every write before the last sync among them, and of the writes after it
 * what `inFlight` lets through (applied in their order, sector by sector).
 */
export function imageAt(base: Buffer, ops: Op[], crash: number, inFlight: InFlight): Buffer {
  let lastSync = -1;
  for (let i = 0; i < crash; i++) if (ops[i]!.kind === 'sync') lastSync = i;
  let size = base.length;
  for (let i = 0; i < crash; i++) {
    const op = ops[i]!;
    if (op.kind === 'write') size = Math.max(size, op.offset + op.data.length);
  }
  const file = Buffer.alloc(size);
  base.copy(file);
  for (let i = 0; i < crash; i++) {
    const op = ops[i]!;
    if (op.kind !== 'write') continue;
    const reach = i < lastSync ? 'all' : inFlight(op, i);
    if (reach === 'all') op.data.copy(file, op.offset);
    else if (reach !== 'none') {
      for (const s of reach) op.data.copy(file, op.offset + s * SECTOR, s * SECTOR, (s + 1) * SECTOR);
    }
  }
  return file;
}

/** The trace with some syncs removed, as if the code had not made them (to show the test catches it). */
export function withoutSyncs(ops: Op[], drop: (i: number) => boolean): Op[] {
  return ops.filter((op, i) => op.kind !== 'sync' || !drop(i));
}
