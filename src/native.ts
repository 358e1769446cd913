// Loads the Rust addon (crates/node) and types what it exports. Only vm.ts
// should use this module: it validates arguments and maps errors.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** An opaque handle to a loaded program; freed when garbage-collected. */
export type ProgramHandle = { readonly __programHandle: never };

export interface NativeProgramInfo {
  name: string;
  section: string;
  insnCount: number;
}

/** `[r0, executed, log]`: an array is much cheaper to build through Node-API than an object. */
export type NativeExit = [r0: bigint, executed: number, log: string];

export interface Native {
  loadElf(object: Uint8Array, name?: string): ProgramHandle;
  loadBytecode(code: Uint8Array): ProgramHandle;
  listPrograms(object: Uint8Array): NativeProgramInfo[];
  programInfo(handle: ProgramHandle): { name: string; length: number };
  run(handle: ProgramHandle, memory?: Uint8Array, budget?: number): NativeExit;
  /** The VM address of the memory passed to `run` (what r1 holds). */
  readonly memoryAddress: bigint;
  readonly defaultBudget: number;
}

// `scripts/build.mjs` puts the addon in dist/native/. The same relative path
// works from src/ (tests run the TypeScript) and from dist/ (compiled).
export const ADDON_PATH = fileURLToPath(new URL('../dist/native/xrpkv.node', import.meta.url));

function load(): Native {
  try {
    return createRequire(import.meta.url)(ADDON_PATH) as Native;
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new Error(`xrpkv: cannot load the native addon ${ADDON_PATH} (build it with \`npm run build\`): ${why}`, {
      cause,
    });
  }
}

export const native: Native = load();
