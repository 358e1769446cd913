// The BPF programs the package ships (bpf/*.c, built to dist/bpf/*.o): where
// they are, and each loaded and checked once per process.
import { fileURLToPath } from 'node:url';
import { XrpProgram } from './xrp.js';

/** The directory of the compiled programs: the same relative path from src/ (tests) and dist/ (the package). */
export const BPF_DIR = fileURLToPath(new URL('../dist/bpf/', import.meta.url));

/** bpf/lookup.c: one lookup, root to value, in one chain (scratch: format/scratch.ts, LOOKUP_SCRATCH). */
export const LOOKUP_OBJECT = `${BPF_DIR}lookup.o`;
/** bpf/range.c: a forward range scan, up to a scratch page of pairs per chain (RANGE_SCRATCH). */
export const RANGE_OBJECT = `${BPF_DIR}range.o`;

let lookup: XrpProgram | undefined;
let range: XrpProgram | undefined;

/** bpf/lookup.c (section xrp/lookup), loaded once per process. */
export function lookupProgram(): XrpProgram {
  lookup ??= XrpProgram.fromFile(LOOKUP_OBJECT, 'xrp/lookup');
  return lookup;
}

/** bpf/range.c (section xrp/range), loaded once per process. */
export function rangeProgram(): XrpProgram {
  range ??= XrpProgram.fromFile(RANGE_OBJECT, 'xrp/range');
  return range;
}
