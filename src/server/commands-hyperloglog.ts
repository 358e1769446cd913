// PFADD, PFCOUNT and PFMERGE: HyperLogLogs are string values in Redis's own
// format (hyperloglog.ts), so GET, SET, DEL, EXPIRE and the like work on them
// as on any string, and a value copied from Redis counts the same here.
import { ReplyError, dataCommand, type DataContext } from './command-spec.js';
import { stringAt } from './commands-strings.js';
import { HllError, addElement, cachedCount, emptyHll, estimate, readHll, writeHll, type Hll } from './hyperloglog.js';
import { OK, integer } from './resp-writer.js';
import type { Found } from './data.js';

/** The HLL at `key` (undefined: no key); WRONGTYPE for another type or a string that is not an HLL, INVALIDOBJ for a damaged one. */
function hllAt(cmd: DataContext, key: Buffer, counted = false): { found: Found; hll: Hll } | undefined {
  const found = stringAt(cmd, key, counted);
  if (found === undefined) return undefined;
  return { found, hll: hll(() => readHll(found.value!)) };
}

/** `read`, its HllError as the reply's error. */
function hll<T>(read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof HllError) throw new ReplyError(e.message);
    throw e;
  }
}

export const PFADD = dataCommand(
  'pfadd',
  { arity: -2, flags: ['write', 'denyoom', 'fast'], firstKey: 1, lastKey: 1, step: 1, group: 'hyperloglog', summary: 'Adds elements to a HyperLogLog (creating it); 1 if its estimate may have changed.', since: '2.8.9', access: 'write' },
  (cmd, [, key, ...elements]) => {
    const at = hllAt(cmd, key!);
    const hll = at?.hll ?? emptyHll();
    let changed = at === undefined;
    for (const element of elements) if (addElement(hll.registers, element)) changed = true;
    if (!changed) return integer(0);
    // A new key with no elements holds a valid cached count of 0, as Redis's does.
    const cached = at === undefined && elements.length === 0 ? 0n : undefined;
    cmd.data.setString(key!, writeHll(hll, cached), at?.found.meta.deadline ?? 0, at?.found);
    return integer(1);
  },
);

export const PFCOUNT = dataCommand(
  'pfcount',
  { arity: -2, flags: ['readonly', 'may_replicate'], firstKey: 1, lastKey: -1, step: 1, group: 'hyperloglog', summary: 'The estimated number of distinct elements added to the HyperLogLogs (their union).', since: '2.8.9', access: 'read' },
  (cmd, [, ...keys]) => {
    if (keys.length === 1) {
      const found = stringAt(cmd, keys[0]!, true);
      if (found === undefined) return integer(0);
      // A valid cached count answers, as in Redis, registers unread.
      const cached = hll(() => cachedCount(found.value!));
      return integer(cached ?? estimate(hll(() => readHll(found.value!)).registers));
    }
    const union = new Uint8Array(emptyHll().registers.length);
    for (const key of keys) {
      const at = hllAt(cmd, key, true);
      if (at !== undefined) maxInto(union, at.hll.registers);
    }
    return integer(estimate(union));
  },
);

export const PFMERGE = dataCommand(
  'pfmerge',
  { arity: -2, flags: ['write', 'denyoom'], firstKey: 1, lastKey: -1, step: 1, group: 'hyperloglog', summary: 'Stores the union of HyperLogLogs (and the destination, if there) at the destination.', since: '2.8.9', access: 'write' },
  (cmd, [, dest, ...sources]) => {
    const at = hllAt(cmd, dest!);
    const merged = at?.hll ?? emptyHll();
    for (const key of sources) {
      const source = hllAt(cmd, key);
      if (source === undefined) continue;
      maxInto(merged.registers, source.hll.registers);
      // Dense if any input is, as Redis 7.0 merges.
      merged.dense ||= source.hll.dense;
    }
    cmd.data.setString(dest!, writeHll(merged, undefined), at?.found.meta.deadline ?? 0, at?.found);
    return OK;
  },
);

function maxInto(into: Uint8Array, registers: Uint8Array): void {
  for (let i = 0; i < into.length; i++) if (registers[i]! > into[i]!) into[i] = registers[i]!;
}

export const HYPERLOGLOG_COMMANDS = [PFADD, PFCOUNT, PFMERGE];
