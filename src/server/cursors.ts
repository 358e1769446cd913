// SCAN's cursors (and HSCAN's, SSCAN's, ZSCAN's). The store iterates in key
// order, so a scan's position is the last key (or member) a call examined;
// clients parse cursors as unsigned integers (redis-cli --scan, ioredis
// scanStream), so positions are kept in a bounded table under increasing
// numbers. A scan resumes after its position, so every key present for the
// whole scan is returned exactly once (stronger than Redis's guarantee).
import { ReplyError } from './command-spec.js';

/** Cursors kept; the oldest is forgotten past this (a scan with it then errs). */
const MAX_CURSORS = 10_000;

export class ScanCursors {
  private readonly positions = new Map<number, Buffer>();
  private next = 1;

  /** Where `cursor` resumes: after the position it stands for (undefined for 0, the start). */
  resume(cursor: number): Buffer | undefined {
    if (cursor === 0) return undefined;
    const position = this.positions.get(cursor);
    if (position === undefined) throw new ReplyError(`ERR invalid cursor (unknown, or forgotten: xrpkv keeps the last ${MAX_CURSORS} SCAN cursors)`);
    return position;
  }

  /** A cursor for a scan that stopped at `position`. */
  save(position: Buffer): number {
    const cursor = this.next++;
    if (this.next > Number.MAX_SAFE_INTEGER) this.next = 1;
    this.positions.set(cursor, position);
    if (this.positions.size > MAX_CURSORS) this.positions.delete(this.positions.keys().next().value!);
    return cursor;
  }
}
