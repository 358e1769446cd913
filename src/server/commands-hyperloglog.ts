// PFADD, PFCOUNT and PFMERGE: HyperLogLogs are string values in Redis's own
// format (hyperloglog.ts), so GET, SET, DEL, EXPIRE and the like work on them
// as on any string, and a value copied from Redis counts the same here.
import { ReplyError, command, dataCommand, type DataContext } from './command-spec.js';
import { stringAt } from './commands-strings.js';
import { HllError, addElement, cachedCount, describeSparse, emptyHll, estimate, readHll, writeHll, type Hll } from './hyperloglog.js';
import { OK, array, bulk, integer, simple } from './resp-writer.js';
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

/** PFDEBUG GETREG, DECODE, ENCODING, TODENSE: Redis's window into one HLL value (GETREG and TODENSE leave it dense, as Redis does). */
export const PFDEBUG = dataCommand(
  'pfdebug',
  { arity: 3, flags: ['write', 'denyoom', 'admin'], firstKey: 2, lastKey: 2, step: 1, group: 'hyperloglog', summary: 'GETREG, DECODE, ENCODING, TODENSE: the registers and encoding of a HyperLogLog.', since: '2.8.9', access: 'write' },
  (cmd, [, subArg, key]) => {
    const sub = subArg!.toString('latin1').toLowerCase();
    const found = stringAt(cmd, key!);
    if (found === undefined) throw new ReplyError('ERR The specified key does not exist');
    const value = found.value!;
    const read = hll(() => readHll(value));
    const toDense = (): boolean => {
      if (read.dense) return false;
      cmd.data.setString(key!, writeHll({ ...read, dense: true }, read.cached), found.meta.deadline, found);
      return true;
    };
    switch (sub) {
      case 'getreg':
        toDense();
        return array([...read.registers].map((r) => integer(r)));
      case 'decode': {
        const text = describeSparse(value);
        if (text === undefined) throw new ReplyError('ERR HLL encoding is not sparse');
        return bulk(text);
      }
      case 'encoding':
        return simple(read.dense ? 'dense' : 'sparse');
      case 'todense':
        return integer(toDense() ? 1 : 0);
      default:
        throw new ReplyError(`ERR Unknown PFDEBUG subcommand '${subArg!.toString()}'`);
    }
  },
);

/**
 * PFSELFTEST: checks this server's HyperLogLog code as Redis checks its
 * own: registers survive the dense and sparse encodings, and estimates of
 * growing sets stay within five standard errors (1.04 / sqrt(16384) each).
 */
export const PFSELFTEST = command(
  'pfselftest',
  { arity: 1, flags: ['admin'], group: 'hyperloglog', summary: "Tests the server's HyperLogLog encodings and estimator; OK, or which test failed.", since: '2.8.9' },
  () => {
    const hll = emptyHll();
    let seed = 1;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648);
    for (let i = 0; i < hll.registers.length; i++) hll.registers[i] = next() % 32;
    for (const dense of [true, false]) {
      const back = readHll(writeHll({ ...hll, dense }, undefined)).registers;
      if (!back.every((r, i) => r === hll.registers[i])) throw new ReplyError(`ERR TESTFAILED Register error (${dense ? 'dense' : 'sparse'} encoding)`);
    }
    const counted = emptyHll();
    const relError = 1.04 / Math.sqrt(counted.registers.length);
    for (let n = 1; n <= 100_000; n++) {
      addElement(counted.registers, Buffer.from(`element:${n}`));
      if (n % 1000 !== 0) continue;
      const error = Math.abs(Number(estimate(counted.registers)) - n) / n;
      if (error > 5 * relError) throw new ReplyError(`ERR TESTFAILED Too big error. card:${n} abserr:${error}`);
    }
    return OK;
  },
);

export const HYPERLOGLOG_COMMANDS = [PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST];
