// Conditional writes (lmdb-js's `noOverwrite`, and ours, `ifValue`): a put
// or remove that applies only if its key's current value is as required,
// checked when the write applies in its commit, after every write issued
// before it. A batch with conditions is all or nothing: every condition is
// checked before anything of it changes, against the state before the
// batch, and if one fails nothing of it applies (ops.ts `apply`).
import { typeError } from '../errors.js';
import type { Codec } from './encoding.js';

/** What a write requires of its key's current value: null, that it is absent; bytes, that it is exactly these. */
export type Condition = Buffer | null;

/** A put's or remove's conditions, as callers give them. */
export interface WriteConditions<V> {
  /** Put only if the key is absent (lmdb-js's name). Not for removes. */
  noOverwrite?: boolean;
  /**
   * Only if the key's current value is this one: its encoding is the same
   * bytes (for msgpack or json, an object with the same keys in the same
   * order). A missing key never matches; undefined asks nothing (no value
   * is stored as undefined).
   */
  ifValue?: V;
}

const NAMES = ['noOverwrite', 'ifValue'];

/**
 * `conditions` checked and encoded; undefined when they ask nothing.
 * `remove`: a remove's (noOverwrite means nothing there).
 */
export function conditionOf(conditions: unknown, values: Codec, remove: boolean): Condition | undefined {
  if (typeof conditions !== 'object' || conditions === null) throw typeError('write conditions must be an object');
  const unknown = Object.keys(conditions).filter((k) => !NAMES.includes(k));
  if (unknown.length > 0) throw typeError(`unknown write condition ${unknown.map((k) => `'${k}'`).join(', ')} (known: noOverwrite, ifValue)`);
  const { noOverwrite, ifValue } = conditions as WriteConditions<unknown>;
  if (noOverwrite !== undefined && typeof noOverwrite !== 'boolean') throw typeError('noOverwrite must be a boolean');
  if (noOverwrite && remove) throw typeError('noOverwrite is for puts: a remove of an absent key changes nothing');
  const hasValue = ifValue !== undefined;
  if (noOverwrite && hasValue) throw typeError('noOverwrite and ifValue cannot both hold: give one');
  if (noOverwrite) return null;
  return hasValue ? values.encode(ifValue) : undefined;
}

/** Whether a key whose current value is `current` (undefined: absent) meets `condition`. */
export function holds(current: Buffer | undefined, condition: Condition | undefined): boolean {
  if (condition === undefined) return true;
  if (condition === null) return current === undefined;
  return current !== undefined && current.equals(condition);
}
