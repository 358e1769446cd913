// The eBPF VM as JavaScript sees it: load a program once, run it many times.
import { readFileSync } from 'node:fs';
import { types } from 'node:util';
import { native, type NativeVmEngine, type ProgramHandle } from './native.js';

/** Which engine runs a program: the x86-64 JIT or the interpreter. */
export type VmEngine = NativeVmEngine;

export interface VmEngineInfo {
  engine: VmEngine;
  /** Why, in words. */
  reason: string;
}

/**
 * The engine programs load for unless they ask otherwise: the JIT on x86-64
 * Linux, unless the environment variable XRPKV_JIT=0 turns it off for the
 * process; the interpreter elsewhere. Read once per process.
 */
export function vmEngine(): VmEngineInfo {
  const [engine, reason] = native.vmEngine();
  return { engine, reason };
}

export interface LoadOptions {
  /** `false`: run on the interpreter; `true`: on the JIT where built; unset: `vmEngine()`'s choice. */
  jit?: boolean;
}

/** The `jit` argument the addon takes for `options`. */
export function jitOption(options: unknown): boolean | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { jit } = options as { jit?: unknown };
  if (jit !== undefined && typeof jit !== 'boolean') throw new TypeError('jit must be a boolean');
  return jit;
}

export interface ProgramInfo {
  /** The function's name (the section's name when it has no symbol). */
  name: string;
  /** The ELF section holding it, e.g. `xrp`. */
  section: string;
  /** Instruction slots of the function itself, before sub-programs are linked. */
  insnCount: number;
}

export interface RunOptions {
  /** Most instructions the run may execute (default: the VM's, 1,000,000). */
  budget?: number;
}

export interface RunResult {
  /** r0 at `exit`, as an unsigned 64-bit integer. */
  r0: bigint;
  /** Instructions executed (an lddw counts once). */
  executed: number;
  /** Lines written by `bpf_trace_printk`, each ending in a newline. */
  log: string;
}

/** The VM address of the memory given to `run`; r1 holds it when the program starts. */
export const MEMORY_ADDRESS: bigint = native.memoryAddress;
export const DEFAULT_BUDGET: number = native.defaultBudget;

/** A program was refused before running: malformed ELF, unknown name, or a failed check. */
export class BpfLoadError extends Error {
  override name = 'BpfLoadError';
  constructor(
    message: string,
    /** `ELF`, `NO_SUCH_PROGRAM`, `UNSUPPORTED` or `CHECK`. */
    readonly code: string,
    /** The refused instruction, for `CHECK`. */
    readonly pc?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A run stopped before `exit`. Memory passed to it may hold partial writes. */
export class BpfRunError extends Error {
  override name = 'BpfRunError';
  constructor(
    message: string,
    /** `MEMORY_ACCESS`, `BUDGET_EXHAUSTED`, `CALL_DEPTH` or `HELPER`. */
    readonly code: string,
    /** The instruction that stopped the run. */
    readonly pc: number,
    /** What the program logged before it stopped. */
    readonly log: string = '',
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const LOAD_CODES = new Set(['ELF', 'NO_SUCH_PROGRAM', 'UNSUPPORTED', 'CHECK']);
const RUN_CODES = new Set(['MEMORY_ACCESS', 'BUDGET_EXHAUSTED', 'CALL_DEPTH', 'HELPER']);

interface NativeError extends Error {
  code?: unknown;
  pc?: unknown;
  log?: unknown;
}

// The addon throws plain Errors carrying `code`; give the VM's own errors
// their classes and let everything else (TypeError, a caught panic) through.
function asBpfError(e: unknown, kind: 'load' | 'run'): unknown {
  if (!(e instanceof Error)) return e;
  const { code, pc, log } = e as NativeError;
  if (typeof code !== 'string') return e;
  const at = typeof pc === 'number' ? pc : undefined;
  if (kind === 'load' && LOAD_CODES.has(code)) return new BpfLoadError(e.message, code, at, { cause: e });
  if (kind === 'run' && RUN_CODES.has(code)) {
    return new BpfRunError(e.message, code, at ?? -1, typeof log === 'string' ? log : '', { cause: e });
  }
  return e;
}

function requireBytes(value: unknown, what: string): Uint8Array {
  // util.types also accepts Uint8Arrays from other realms (vm contexts, workers' transfers).
  if (!types.isUint8Array(value)) throw new TypeError(`${what} must be a Uint8Array or Buffer`);
  return value;
}

function optionalName(name: unknown): string | undefined {
  if (name !== undefined && typeof name !== 'string') throw new TypeError('name must be a string');
  return name;
}

export class BpfProgram {
  /** The program's name: its function name, or `bytecode` for raw code. */
  readonly name: string;
  /** Instruction slots after linking, sub-programs included. */
  readonly length: number;
  /** The engine that runs it (see `LoadOptions`), and why. */
  readonly engine: VmEngine;
  readonly engineReason: string;
  readonly #handle: ProgramHandle;

  private constructor(handle: ProgramHandle) {
    const { name, length, engine, engineReason } = native.programInfo(handle);
    this.#handle = handle;
    this.name = name;
    this.length = length;
    this.engine = engine;
    this.engineReason = engineReason;
  }

  static #load(make: () => ProgramHandle): BpfProgram {
    try {
      return new BpfProgram(make());
    } catch (e) {
      throw asBpfError(e, 'load');
    }
  }

  /** Loads program `name` (function or section) from an ELF file; without a name the file must hold one program. */
  static fromFile(path: string, name?: string, options?: LoadOptions): BpfProgram {
    if (typeof path !== 'string') throw new TypeError('path must be a string');
    return BpfProgram.fromElf(readFileSync(path), name, options);
  }

  static fromElf(object: Uint8Array, name?: string, options?: LoadOptions): BpfProgram {
    const bytes = requireBytes(object, 'object');
    const selector = optionalName(name);
    const jit = jitOption(options);
    return BpfProgram.#load(() => native.loadElf(bytes, selector, jit));
  }

  /** Loads raw bytecode: little-endian 8-byte instruction slots, no relocations. */
  static fromBytecode(code: Uint8Array, options?: LoadOptions): BpfProgram {
    const bytes = requireBytes(code, 'code');
    const jit = jitOption(options);
    return BpfProgram.#load(() => native.loadBytecode(bytes, jit));
  }

  /** Lists the programs in an ELF object, given as a path or its bytes. */
  static list(pathOrBytes: string | Uint8Array): ProgramInfo[] {
    const bytes = typeof pathOrBytes === 'string' ? readFileSync(pathOrBytes) : requireBytes(pathOrBytes, 'object');
    try {
      return native.listPrograms(bytes);
    } catch (e) {
      throw asBpfError(e, 'load');
    }
  }

  /**
   * Runs the program once. `memory`, when given, is the program's writable
   * memory: r1 = its VM address (`MEMORY_ADDRESS`), r2 = its length, and the
   * program's stores land in it. Without it r1 = r2 = 0.
   */
  run(memory?: Uint8Array, options: RunOptions = {}): RunResult {
    const bytes = memory === undefined ? undefined : requireBytes(memory, 'memory');
    if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
    const { budget } = options;
    if (budget !== undefined) {
      if (typeof budget !== 'number') throw new TypeError('budget must be a number');
      if (!Number.isSafeInteger(budget) || budget < 1) {
        throw new RangeError(`budget must be an integer from 1 to 2^53-1, got ${budget}`);
      }
    }
    try {
      const [r0, executed, log] = native.run(this.#handle, bytes, budget);
      return { r0, executed, log };
    } catch (e) {
      throw asBpfError(e, 'run');
    }
  }
}
