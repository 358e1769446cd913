// What every mode of `xrpkv bench depth` is given and gives back: lookups of
// keys whose value is known, and per-lookup latencies plus the wall time of
// the whole slice.
export interface Probe {
  key: Buffer;
  /** The value the tree holds for `key`; undefined when the key is absent. */
  expected: Buffer | undefined;
}

export interface SliceRun {
  /** One per lookup (or device read), in nanoseconds. */
  latenciesNs: Float64Array;
  /** Wall time of the slice, in nanoseconds: throughput is length / elapsed. */
  elapsedNs: number;
  /** How reads were issued, when the mode can tell (e.g. the io_uring engine's description). */
  io?: string;
}

/** A lookup returned something other than the value stored under its key. */
export class BenchCheckError extends Error {
  override name = 'BenchCheckError';
  constructor(
    readonly mode: string,
    key: Buffer,
    detail: string,
  ) {
    super(`${mode}: wrong result for key ${key.toString('hex')}: ${detail}`);
  }
}

/** Throws BenchCheckError unless `got` is `p.expected` (both absent, or equal bytes). */
export function checkResult(mode: string, p: Probe, got: Buffer | undefined): void {
  if (got === undefined && p.expected === undefined) return;
  if (got === undefined) throw new BenchCheckError(mode, p.key, 'reported absent, but it is in the tree');
  if (p.expected === undefined) throw new BenchCheckError(mode, p.key, 'found a value, but the key is absent');
  if (!got.equals(p.expected)) throw new BenchCheckError(mode, p.key, `value ${got.toString('hex', 0, 16)}... differs`);
}

/** Nanoseconds from an origin: performance.now() is a double with sub-microsecond resolution. */
export const nowNs = (): number => performance.now() * 1e6;
