// What a transaction callback (ops.ts `runTxn`) read and wrote, by the
// bytes of each key: an open-addressing hash table over parallel arrays.
// A get or a put costs a hash of the key and a probe; before, each made a
// latin1 string of its key and entries in two Maps, about a tenth of a
// server's LPUSH (every server write to a collection is a callback).
//
// Invariants:
// - a key has at most one entry, and entries are never removed: an undo
//   (`restore`) marks an entry unwritten again, so an entry's number is
//   valid for the whole run;
// - an entry that is not written records only what a read of it from the
//   transaction found (`presence`); a written one also what was there
//   before the callback, when a read had told (`existed`);
// - the keys are the callers' buffers, which must not change during the run
//   (the encoders make a new one per call).
import { hashOf, place, sameBytes } from './overlay.js';

const UNKNOWN = -1;
/** `saved`'s answer for an entry that was not written. */
const NOT_WRITTEN = -2;

/** One write, as `applyWrites` applies it. */
export interface TxnWrite {
  key: Buffer;
  /** undefined: removed. */
  value: Buffer | undefined;
  /** Whether the key was there before the callback, if a read told. */
  existed: boolean | undefined;
}

export class TxnWrites {
  private keys: Buffer[] = [];
  private values: (Buffer | undefined)[] = [];
  private hashes = new Int32Array(16);
  /** 1: written by the callback. */
  private written = new Uint8Array(16);
  /** Whether a read found the key in the transaction: 1, 0, or UNKNOWN. */
  private present = new Int8Array(16);
  /** For a written entry: whether the key was there before the callback: 1, 0, or UNKNOWN. */
  private before = new Int8Array(16);
  /** [hash, entry + 1] per slot (overlay.ts `place`), entry + 1 0 when empty; a power of two, at most half full. */
  private slots = new Int32Array(64);
  private count = 0;

  /** The entry of `key`, added (neither read nor written) if it has none. */
  entry(key: Buffer): number {
    const h = hashOf(key);
    const slots = this.slots;
    const mask = (slots.length >> 1) - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = slots[2 * s + 1] - 1;
      if (e < 0) return this.add(key, h);
      const other = this.keys[e];
      if (slots[2 * s] === h && other.length === key.length && sameBytes(other, 0, key, 0, key.length)) return e;
    }
  }

  isWritten(e: number): boolean {
    return this.written[e] === 1;
  }

  /** The value written to entry `e` (undefined: removed). */
  value(e: number): Buffer | undefined {
    return this.values[e];
  }

  /** Records what a read of entry `e`'s key from the transaction found. */
  notePresent(e: number, present: boolean): void {
    this.present[e] = present ? 1 : 0;
  }

  /**
   * Writes `value` (undefined: a removal) to entry `e`. What was there
   * before the callback: an earlier write's answer, else a read's, else
   * unknown.
   */
  write(e: number, value: Buffer | undefined): void {
    if (this.written[e] === 0) this.before[e] = this.present[e];
    this.written[e] = 1;
    this.values[e] = value;
  }

  /** Entry `e`'s state, for `restore` (with its `value`): NOT_WRITTEN, or what it knew of the key before the callback. */
  saved(e: number): number {
    return this.written[e] === 1 ? this.before[e] : NOT_WRITTEN;
  }

  /** Puts entry `e` back as it was when `saved` returned `state` and `value` was its value. */
  restore(e: number, state: number, value: Buffer | undefined): void {
    if (state === NOT_WRITTEN) {
      this.written[e] = 0;
      this.values[e] = undefined;
      return;
    }
    this.written[e] = 1;
    this.before[e] = state;
    this.values[e] = value;
  }

  /** The writes, in the order their keys were first met. */
  list(): TxnWrite[] {
    const out: TxnWrite[] = [];
    for (let e = 0; e < this.count; e++) {
      if (this.written[e] === 0) continue;
      const b = this.before[e];
      out.push({ key: this.keys[e], value: this.values[e], existed: b === UNKNOWN ? undefined : b === 1 });
    }
    return out;
  }

  private add(key: Buffer, h: number): number {
    const e = this.count++;
    if (e === this.hashes.length) this.grow();
    this.keys.push(key);
    this.values.push(undefined);
    this.hashes[e] = h;
    this.present[e] = UNKNOWN;
    this.written[e] = 0;
    if (2 * this.count > this.slots.length >> 1) {
      this.slots = new Int32Array(2 * this.slots.length);
      for (let i = 0; i <= e; i++) place(this.slots, this.hashes[i], i);
    } else {
      place(this.slots, h, e);
    }
    return e;
  }

  private grow(): void {
    const n = 2 * this.hashes.length;
    const wider = <T extends Int32Array | Int8Array | Uint8Array>(a: T, b: T): T => {
      b.set(a);
      return b;
    };
    this.hashes = wider(this.hashes, new Int32Array(n));
    this.written = wider(this.written, new Uint8Array(n));
    this.present = wider(this.present, new Int8Array(n));
    this.before = wider(this.before, new Int8Array(n));
  }
}
