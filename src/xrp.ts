// The XRP runtime as JavaScript sees it: load a program written for the XRP
// kernel, open a file, run chains of reads through it. Chains run in xrpkv's
// resubmission emulator (crates/xrp); see `xrpBackend` for the kernel probe.
//
//   const program = XrpProgram.fromFile('lookup.o');
//   const file = XrpFile.open('index.db');
//   const r = await program.run(file, { offset: 0, scratch: key });
//   if (r.ok) use(r.scratch); else throw r.error;
//   file.close();
import { readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { types } from 'node:util';
import {
  native,
  type NativeBatchIo,
  type NativeDirectIo,
  type NativeMode,
  type NativeRan,
  type FileMapHandle,
  type XrpFileHandle,
  type XrpProgramHandle,
} from './native.js';
import { jitOption, type LoadOptions, type VmEngine } from './vm.js';

/** How a chain ended (`Outcome::code()` of the runtime). */
export type XrpOutcomeCode =
  | 'DONE'
  | 'RETURNED'
  | 'PROGRAM_ERROR'
  | 'READ_ERROR'
  | 'BAD_ADDRESS'
  | 'BLOCK_SIZE'
  | 'OUT_OF_FILE'
  | 'HOP_LIMIT'
  /** A page failed the file's `pageCheck`: its checksum. */
  | 'CHECKSUM'
  /** A page failed the file's `pageCheck`: it records another page's number, or the read was not one whole page. */
  | 'CORRUPT';

/**
 * `extended` (default): each read after the first is `size[0]` bytes (0 = 4096).
 * `kernel`: as the prototype XRP kernel: 512-byte reads, `size[]` ignored,
 * more than one `next_addr` aborts the chain.
 */
export type XrpMode = NativeMode;
export type XrpBackendName = 'kernel' | 'emulator';
export type XrpBackendChoice = 'auto' | XrpBackendName;
/** `auto`: `O_DIRECT` when the file system allows it; `require`: or fail; `off`: buffered. */
export type XrpDirectIo = NativeDirectIo;

export const XRP_PAGE_SIZE: number = native.xrp.pageSize;
/** Bytes of each read in mode `kernel`. */
export const XRP_SECTOR_SIZE: number = native.xrp.sectorSize;
export const XRP_DEFAULT_HOP_LIMIT: number = native.xrp.defaultHopLimit;
export const XRP_DEFAULT_DEPTH: number = native.xrp.defaultDepth;

export interface XrpErrorDetails {
  /** The instruction that faulted (PROGRAM_ERROR) or was refused (CHECK). */
  pc?: number;
  /** The VM's own code for a PROGRAM_ERROR: MEMORY_ACCESS, BUDGET_EXHAUSTED, ... */
  fault?: string;
  /** The OS error number (READ_ERROR, a failed open). */
  errno?: number;
  path?: string;
}

/**
 * A fault of the runtime, with a `code`: a chain's outcome (PROGRAM_ERROR,
 * READ_ERROR, BAD_ADDRESS, BLOCK_SIZE, OUT_OF_FILE, HOP_LIMIT), a load error
 * (ELF, NO_SUCH_PROGRAM, UNSUPPORTED, CHECK), FILE_CLOSED, an open error (the
 * errno's name, e.g. ENOENT, or NO_DIRECT_IO), NO_KERNEL_XRP, NO_KERNEL_PATH.
 * Wrong arguments are TypeError / RangeError instead.
 */
export class XrpError extends Error {
  override name = 'XrpError';
  readonly pc?: number;
  readonly fault?: string;
  readonly errno?: number;
  readonly path?: string;
  constructor(
    message: string,
    readonly code: string,
    details: XrpErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    for (const key of ['pc', 'fault', 'errno', 'path'] as const) {
      if (details[key] !== undefined) Object.assign(this, { [key]: details[key] });
    }
  }
}

const ERRNO_NAMES = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

interface NativeError extends Error {
  code?: unknown;
  pc?: unknown;
  errno?: unknown;
}

// The addon throws TypeError / RangeError for arguments (let through as they
// are) and plain Errors with a `code` for faults (made XrpErrors).
function asXrpError(e: unknown, path?: string): unknown {
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError) return e;
  const { code, pc, errno } = e as NativeError;
  if (typeof code !== 'string') return e;
  const details: XrpErrorDetails = { path };
  if (typeof pc === 'number') details.pc = pc;
  let named = code;
  if (typeof errno === 'number') {
    details.errno = errno;
    if (code === 'OPEN_FAILED') named = ERRNO_NAMES.get(errno) ?? code;
  }
  return new XrpError(e.message, named, details, { cause: e });
}

function check<T>(f: () => T, path?: string): T {
  try {
    return f();
  } catch (e) {
    throw asXrpError(e, path);
  }
}

// ---- the backend ---------------------------------------------------------

export interface XrpProbe {
  /** Whether this kernel runs XRP programs itself. */
  backend: XrpBackendName;
  /** Why, in words. */
  reason: string;
}

export interface XrpBackendInfo {
  /** Where chains run. Always `emulator` for now: xrpkv has no kernel execution path yet. */
  backend: XrpBackendName;
  /** Why, in words. */
  reason: string;
  /** What was asked for. */
  requested: XrpBackendChoice;
  /** What the kernel probe found (probed once per process). */
  probe: XrpProbe;
  /** Set when `backend` is not what the probe alone would suggest. */
  note?: string;
}

let probed: XrpProbe | undefined;

/** The kernel probe's answer, probed on first use and cached for the process. */
export function xrpProbe(): XrpProbe {
  if (!probed) {
    const [backend, reason] = native.xrpProbe();
    probed = { backend, reason };
  }
  return { ...probed };
}

const BACKENDS: readonly XrpBackendChoice[] = ['auto', 'kernel', 'emulator'];

function requireChoice<T extends string>(value: unknown, what: string, choices: readonly T[]): T {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string (${choices.join(', ')})`);
  if (!choices.includes(value as T)) throw new RangeError(`${what} must be one of ${choices.join(', ')}, got '${value}'`);
  return value as T;
}

/** Decides the backend from a probe's answer; `xrpBackend` with the real probe. */
export function resolveBackend(probe: XrpProbe, force: XrpBackendChoice = 'auto'): XrpBackendInfo {
  const requested = requireChoice(force, 'backend', BACKENDS);
  const info = { backend: 'emulator' as const, requested, probe: { ...probe } };
  if (requested === 'emulator') return { ...info, reason: 'the emulator was asked for' };
  if (probe.backend === 'emulator') {
    if (requested === 'kernel') {
      throw new XrpError(`the kernel backend was asked for, but this kernel has no XRP: ${probe.reason}`, 'NO_KERNEL_XRP');
    }
    return { ...info, reason: probe.reason };
  }
  const why = `this kernel has XRP (${probe.reason}), but xrpkv cannot run chains in the kernel yet`;
  if (requested === 'kernel') {
    throw new XrpError(`the kernel backend was asked for: ${why}; use backend 'auto' or 'emulator'`, 'NO_KERNEL_PATH');
  }
  return { ...info, reason: `${why}, so they run in the emulator`, note: `${why}: chains run in the emulator` };
}

/**
 * Where chains run and why. `force: 'kernel'` fails with NO_KERNEL_XRP on a
 * kernel without XRP (and with NO_KERNEL_PATH on one with it, which xrpkv
 * cannot drive yet); `'emulator'` always works.
 */
export function xrpBackend(force: XrpBackendChoice = 'auto'): XrpBackendInfo {
  requireChoice(force, 'backend', BACKENDS);
  return resolveBackend(xrpProbe(), force);
}

// ---- files ---------------------------------------------------------------

export interface XrpOpenOptions {
  direct?: XrpDirectIo;
  backend?: XrpBackendChoice;
  /**
   * Checks every page a chain reads before its program runs: its CRC-32
   * (zlib's), a little-endian u32 at `checksumAt` over the page from
   * `coveredFrom` to its end, and, with `pageNoAt`, the page number it
   * records (a little-endian u64 there) against where it was read. Reads
   * must then be whole pages of `pageSize`. A page that fails ends its chain
   * with CHECKSUM or CORRUPT. Off by default: a foreign file has no such
   * layout. (A real XRP kernel runs only the program's own checks.)
   */
  pageCheck?: XrpPageCheck;
}

export interface XrpPageCheck {
  pageSize: number;
  checksumAt: number;
  coveredFrom: number;
  pageNoAt?: number;
}

/** `pageCheck` as xrpOpen takes it: four u32 (little-endian, as this machine's), 0xffffffff for no page number. */
function pageCheckWords(check: unknown): Uint8Array | undefined {
  if (check === undefined) return undefined;
  const c = requireOptions(check, 'pageCheck') as Partial<Record<keyof XrpPageCheck, unknown>>;
  const word = (v: unknown, what: string) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xfffffffe) throw new RangeError(`pageCheck.${what} must be an integer from 0 to 4294967294, got ${String(v)}`);
    return v as number;
  };
  const words = new Uint32Array([word(c.pageSize, 'pageSize'), word(c.checksumAt, 'checksumAt'), word(c.coveredFrom, 'coveredFrom'), c.pageNoAt === undefined ? 0xffffffff : word(c.pageNoAt, 'pageNoAt')]);
  return new Uint8Array(words.buffer);
}

function requireOptions(options: unknown, what = 'options'): Record<string, unknown> {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${what} must be an object`);
  return options as Record<string, unknown>;
}

function requirePath(path: unknown): string {
  if (typeof path !== 'string') throw new TypeError('path must be a string');
  if (path.includes('\0')) throw new TypeError('path must not contain NUL bytes');
  return path;
}

let fileHandle: (file: XrpFile) => XrpFileHandle;

/** A file chains read from. Close it when done; using it after is FILE_CLOSED. */
export class XrpFile {
  readonly path: string;
  /** In bytes, as of opening. */
  readonly size: number;
  /** The alignment direct reads need (512 when buffered). */
  readonly blockSize: number;
  /** Whether reads use `O_DIRECT`. */
  readonly direct: boolean;
  /** How reads are done, in words, e.g. `direct (O_DIRECT, 512-byte blocks)`. */
  readonly access: string;
  readonly backend: XrpBackendInfo;
  readonly #handle: XrpFileHandle;
  #closed = false;

  static {
    fileHandle = (file) => file.#handle;
  }

  private constructor(path: string, handle: XrpFileHandle, backend: XrpBackendInfo) {
    const [size, blockSize, direct, access] = check(() => native.xrpFileInfo(handle));
    this.path = path;
    this.size = size;
    this.blockSize = blockSize;
    this.direct = direct;
    this.access = access;
    this.backend = backend;
    this.#handle = handle;
  }

  static open(path: string, options: XrpOpenOptions = {}): XrpFile {
    const p = requirePath(path);
    const o = requireOptions(options);
    const direct = requireChoice(o.direct ?? 'auto', 'direct', native.xrp.directIo);
    const backend = xrpBackend(requireChoice(o.backend ?? 'auto', 'backend', BACKENDS));
    const pageCheck = pageCheckWords(o.pageCheck);
    const handle = check(() => native.xrpOpen(p, direct, pageCheck), p);
    return new XrpFile(p, handle, backend);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Closes the file; again is a no-op. Chains already running finish with
   * the file still open to them: the descriptor closes when the last ends.
   */
  close(): void {
    this.#closed = true;
    native.xrpClose(this.#handle);
  }
}

// ---- running chains ------------------------------------------------------

export interface XrpChainOptions {
  /** `extended` (default) or `kernel`. */
  mode?: XrpMode;
  /** Reads per chain, the first included (default 1,000). */
  hopLimit?: number;
  /** VM instructions per program run (default 1,000,000). */
  budget?: number;
}

export interface XrpChain {
  /** Where the first read starts: a multiple of 512. */
  offset: number | bigint;
  /** Bytes of the first read: a multiple of 512 up to 4096 (default: 4096 extended, 512 kernel). */
  length?: number;
  /** Copied to the start of the chain's zeroed scratch page; at most 4096 bytes. */
  scratch?: Uint8Array;
}

export type XrpRunOptions = XrpChain &
  XrpChainOptions & {
    /**
     * runSync only: a buffer of at least 4096 bytes that receives the chain's
     * final scratch page; `result.scratch` is then a view of it. Saves a new
     * Buffer per chain, for callers that run many and keep none.
     */
    into?: Uint8Array;
  };

export interface XrpBatchOptions extends XrpChainOptions {
  /** Reads in flight at once (default 64; the thread count, up to 4, with `io: 'threads'`). */
  depth?: number;
  /** `auto`: io_uring, or threads where it is unavailable; `threads`: threads doing pread. */
  io?: NativeBatchIo;
  /** The first read's length of chains that do not give one. */
  length?: number;
  /**
   * Bytes of each chain's final scratch page that come back (`results[i].scratch`),
   * from its start: 0 to 4096 (default). Fewer save copying when many
   * chains leave a small answer.
   */
  keepScratch?: number;
}

export interface XrpResult {
  code: XrpOutcomeCode;
  /** The program set `done`. */
  ok: boolean;
  /** The outcome in words. */
  message: string;
  /** Reads completed, the first included. */
  hops: number;
  /** Offset of the last read completed. */
  lastOffset: number;
  /** What the program returned, for RETURNED. */
  returned?: bigint;
  /** For outcomes other than DONE and RETURNED. */
  error?: XrpError;
  /** The chain's scratch page (4096 bytes; a batch's: `keepScratch`) as the program left it. */
  scratch: Buffer;
  /** What `bpf_trace_printk` wrote. */
  log: string;
}

export interface XrpBatchResult extends XrpResult {
  /** When the engine took the chain up and when it finished, in ns from the batch's start. */
  startedNs: number;
  finishedNs: number;
}

export interface XrpBatch {
  /** In the order of the chains given. */
  results: XrpBatchResult[];
  /** How reads were issued, e.g. `io_uring, queue depth 64, registered buffers`. */
  io: string;
  /** Time in the native runtime, engine setup included. */
  elapsedNs: number;
}

const TWO_64 = 1n << 64n;

function integer(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function offsetOf(value: unknown, what: string): bigint {
  let offset: bigint;
  if (typeof value === 'bigint') {
    if (value < 0n || value >= TWO_64) throw new RangeError(`${what} must be from 0 to 2^64-1, got ${value}`);
    offset = value;
  } else if (typeof value === 'number') {
    offset = BigInt(integer(value, what, 0, Number.MAX_SAFE_INTEGER));
  } else {
    throw new TypeError(`${what} must be a number or a bigint`);
  }
  if (offset % 512n !== 0n) throw new RangeError(`${what} must be a multiple of 512, got ${offset}`);
  return offset;
}

function lengthOf(value: unknown, what: string): number {
  if (value === undefined) return 0;
  const n = integer(value, what, 512, XRP_PAGE_SIZE);
  if (n % 512 !== 0) throw new RangeError(`${what} must be a multiple of 512 from 512 to 4096, got ${n}`);
  return n;
}

function scratchOf(value: unknown, what: string): Uint8Array | undefined {
  if (value === undefined) return undefined;
  if (!types.isUint8Array(value)) throw new TypeError(`${what} must be a Uint8Array or Buffer`);
  if (value.length > XRP_PAGE_SIZE) throw new RangeError(`${what} must be at most 4096 bytes, got ${value.length}`);
  return value;
}

type NativeOptions = [mode: XrpMode, hopLimit: number | undefined, budget: number | undefined];

function chainOptions(o: Record<string, unknown>): NativeOptions {
  const mode = requireChoice(o.mode ?? 'extended', 'mode', native.xrp.modes);
  const hopLimit = o.hopLimit === undefined ? undefined : integer(o.hopLimit, 'hopLimit', 1, 2 ** 32 - 1);
  const budget = o.budget === undefined ? undefined : integer(o.budget, 'budget', 1, Number.MAX_SAFE_INTEGER);
  return [mode, hopLimit, budget];
}

interface Packed {
  chains: Buffer;
  scratch: Buffer | null;
}

// The addon's record layouts: a chain record per chain in, a result record per chain out.
const CHAIN = native.xrp.chainFields;
const RESULT = native.xrp.resultFields;
const CHAIN_RECORD: number = native.xrp.chainRecord;
const RESULT_RECORD: number = native.xrp.resultRecord;
// XrpBatchChains writes records as u32s.
const CHAIN_OFFSET = CHAIN.offset / 4;
const CHAIN_LENGTH = CHAIN.length / 4;

// The addon copies a call's chain records and scratch before it returns, so
// a one-chain call can pack into this buffer and pass its scratch as given.
const oneChain = Buffer.alloc(native.xrp.chainRecord);

/** Chain records, and each chain's scratch: as many bytes per chain as the longest given (the rest of each page is zero). */
function pack(chains: readonly unknown[], defaultLength: number): Packed {
  const record = native.xrp.chainRecord;
  const packed = chains.length === 1 ? oneChain : Buffer.alloc(chains.length * record);
  const given: (Uint8Array | undefined)[] = new Array(chains.length);
  let stride = 0;
  chains.forEach((chain, i) => {
    // Valid fields take the fast way: no BigInt and no field name made per
    // chain (a batch has thousands); the checks name a field only to refuse it.
    const what = (field: string) => (chains.length === 1 ? field : `chains[${i}].${field}`);
    const c = typeof chain === 'object' && chain !== null ? (chain as Record<string, unknown>) : { offset: chain };
    const at = i * record;
    const offset = c.offset;
    if (typeof offset === 'number' && offset >= 0 && offset <= Number.MAX_SAFE_INTEGER && offset % 512 === 0) {
      packed.writeUInt32LE(offset % 2 ** 32, at + CHAIN.offset);
      packed.writeUInt32LE(Math.floor(offset / 2 ** 32), at + CHAIN.offset + 4);
    } else {
      packed.writeBigUInt64LE(offsetOf(offset, what('offset')), at + CHAIN.offset);
    }
    const length = c.length;
    const plainLength = typeof length === 'number' && length >= 512 && length <= XRP_PAGE_SIZE && length % 512 === 0;
    packed.writeUInt32LE(length === undefined ? defaultLength : plainLength ? length : lengthOf(length, what('length')), at + CHAIN.length);
    const raw = c.scratch;
    const s = raw === undefined || (types.isUint8Array(raw) && raw.length <= XRP_PAGE_SIZE) ? raw : scratchOf(raw, what('scratch'));
    given[i] = s;
    if (s && s.length > stride) stride = s.length;
  });
  if (stride === 0) return { chains: packed, scratch: null };
  if (chains.length === 1) {
    const s = given[0]!;
    return { chains: packed, scratch: Buffer.from(s.buffer, s.byteOffset, s.length) };
  }
  const scratch = Buffer.alloc(chains.length * stride);
  given.forEach((s, i) => s && scratch.set(s, i * stride));
  return { chains: packed, scratch };
}

/** The outcome code of a chain whose program set `done`. */
const DONE = native.xrp.outcomeCodes.indexOf('DONE');

/**
 * A batch's results as the runtime wrote them, read in place: `bytes`
 * holds a result record per chain, then the first `keep` bytes of each
 * final scratch page. `runBatchPacked` callers read a chain's numbers and
 * its scratch (at `scratchAt(i)` in `bytes`) without an object per chain;
 * `result(i)` builds the whole result (for failures, and `runBatch`).
 */
export class XrpBatchOut {
  readonly bytes: Buffer;
  readonly count: number;
  /** How reads were issued, e.g. `io_uring, queue depth 64, registered buffers`. */
  readonly io: string;
  /** Time in the native runtime, engine setup included. */
  readonly elapsedNs: number;
  readonly #ran: NativeRan;

  /** @internal (XrpProgram's) */
  constructor(ran: NativeRan, readonly keep: number) {
    this.#ran = ran;
    [this.bytes, , , , this.io, this.elapsedNs] = ran;
    this.count = this.bytes.length / (RESULT_RECORD + keep);
  }

  /** Whether chain `i`'s program set `done` (the outcome DONE). */
  ok(i: number): boolean {
    return this.bytes.readUInt32LE(i * RESULT_RECORD + RESULT.code) === DONE;
  }

  /** The offset of chain `i`'s last read completed (below 2^53: a file's, read without a BigInt). */
  lastOffset(i: number): number {
    const at = i * RESULT_RECORD + RESULT.lastOffset;
    return this.bytes.readUInt32LE(at) + this.bytes.readUInt32LE(at + 4) * 2 ** 32;
  }

  /** When the engine took chain `i` up, and when it ended, in ns from the batch's start. */
  startedNs(i: number): number {
    return this.bytes.readDoubleLE(i * RESULT_RECORD + RESULT.startedNs);
  }

  finishedNs(i: number): number {
    return this.bytes.readDoubleLE(i * RESULT_RECORD + RESULT.finishedNs);
  }

  /** Where chain `i`'s kept scratch starts in `bytes`. */
  scratchAt(i: number): number {
    return this.count * RESULT_RECORD + i * this.keep;
  }

  /** Chain `i`'s whole result, its scratch a view of `bytes`. */
  result(i: number): XrpBatchResult {
    const [buf, messages, logs, faults] = this.#ran;
    const at = i * RESULT_RECORD;
    const codeIndex = buf.readUInt32LE(at + RESULT.code);
    const hops = buf.readUInt32LE(at + RESULT.hops);
    const lastOffset = this.lastOffset(i);
    const scratch = buf.subarray(this.scratchAt(i), this.scratchAt(i) + this.keep);
    const startedNs = this.startedNs(i);
    const finishedNs = this.finishedNs(i);
    const log = logs?.[i] ?? '';
    // The common case in one object literal of one shape (the keys in the
    // order `outcome` gives the others): a batch of thousands builds no
    // property by property and allocates no error.
    if (codeIndex === DONE) return { code: 'DONE', ok: true, message: 'done', hops, lastOffset, scratch, log, startedNs, finishedNs };
    const code = (native.xrp.outcomeCodes[codeIndex] ?? 'UNKNOWN') as XrpOutcomeCode;
    const returned = code === 'RETURNED' ? buf.readBigUInt64LE(at + RESULT.returned) : undefined;
    return {
      ...outcome(code, messages?.[i] ?? 'done', buf.readUInt32LE(at + RESULT.detail), returned, faults?.[i] ?? undefined),
      hops,
      lastOffset,
      scratch,
      log,
      startedNs,
      finishedNs,
    };
  }
}

/**
 * Chains a caller writes in place for `runBatchPacked`, with no object per
 * chain: `count` chain records (`set`), and each chain's first `stride`
 * scratch bytes back to back in `scratch` (chain i's at i * stride; the
 * rest of its page starts zero). `scratchWords` is `scratch` as u32s.
 */
export class XrpBatchChains {
  readonly records: Buffer;
  readonly scratch: Buffer;
  readonly scratchWords: Uint32Array;
  private readonly recordWords: Uint32Array;

  constructor(
    readonly count: number,
    readonly stride: number,
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
    if (!Number.isSafeInteger(stride) || stride < 0 || stride > XRP_PAGE_SIZE || stride % 4 !== 0) {
      throw new RangeError(`stride must be a multiple of 4 from 0 to ${XRP_PAGE_SIZE}, got ${stride}`);
    }
    const records = new ArrayBuffer(count * CHAIN_RECORD);
    this.records = Buffer.from(records);
    this.recordWords = new Uint32Array(records);
    const scratch = new ArrayBuffer(count * stride);
    this.scratch = Buffer.from(scratch);
    this.scratchWords = new Uint32Array(scratch);
  }

  /** Chain `i`'s first read: `length` bytes (0: the mode's default) at `offset`, a multiple of 512 below 2^53 (checked by the runtime). */
  set(i: number, offset: number, length: number): void {
    const w = this.recordWords;
    const at = (i * CHAIN_RECORD) / 4;
    w[at + CHAIN_OFFSET] = offset % 2 ** 32;
    w[at + CHAIN_OFFSET + 1] = Math.floor(offset / 2 ** 32);
    w[at + CHAIN_LENGTH] = length;
  }
}

/** The fields of a result every run shares: the code, ok, the message, and for failures the error. */
function outcome(code: XrpOutcomeCode, message: string, detail: number, returned: bigint | undefined, fault: string | undefined) {
  const r: Pick<XrpResult, 'code' | 'ok' | 'message' | 'returned' | 'error'> = { code, ok: code === 'DONE', message };
  if (code === 'RETURNED') r.returned = returned;
  else if (code !== 'DONE') {
    const details: XrpErrorDetails = code === 'PROGRAM_ERROR' ? { pc: detail, fault } : code === 'READ_ERROR' ? { errno: detail } : {};
    r.error = new XrpError(message, code, details);
  }
  return r;
}

function single(ran: NativeRan): XrpResult {
  const { startedNs: _s, finishedNs: _f, ...result } = new XrpBatchOut(ran, XRP_PAGE_SIZE).result(0);
  return result;
}

// ---- the lean synchronous path (crates/node/src/xrp_sync.rs) -------------------
//
// An io buffer: the sync record (numbers in and out, at `xrp.syncFields`),
// then the scratch page the program runs on in place. A synchronous chain
// writes the record, calls the addon once and reads numbers back: no
// object, array or string crosses per call unless the chain failed or
// logged.
const SYNC = native.xrp.syncFields;
const SYNC_RECORD: number = native.xrp.syncRecord;
const MODE_INDEX = new Map<string, number>(native.xrp.modes.map((m, i) => [m, i]));
const EXTENDED = MODE_INDEX.get('extended');
/**
 * A mode's index in `xrp.modes`, undefined for none; the default's without
 * a map lookup. Compared with a literal: two literals compare by identity,
 * a string made by the addon would be compared character by character.
 */
const modeIndex = (mode: string) => (mode === 'extended' ? EXTENDED : MODE_INDEX.get(mode));
// Held here rather than loaded per call from the addon's objects, which hold
// too many properties for V8 to keep their loads inline.
const runSyncLean = native.xrpRunSyncLean;
// The record's fields as indexes into its u32 words (the budget: its f64s).
const SYNC_LOGGED = SYNC.logged / 4;
const SYNC_LAST_OFFSET = SYNC.lastOffset / 4;
const IN_OFFSET = SYNC.offset / 4;
const IN_LENGTH = SYNC.length / 4;
const IN_MODE = SYNC.mode / 4;
const IN_HOP_LIMIT = SYNC.hopLimit / 4;
const IN_SCRATCH_LENGTH = SYNC.scratchLength / 4;
const IN_BUDGET = SYNC.budget / 8;

/**
 * The io of lean synchronous chains (`XrpProgram.runSyncIo`): a record of
 * numbers and the scratch page a chain runs on, in place. One caller that
 * runs very many chains of one shape (the store's lookups) keeps its own:
 * it sets the request once (`request`), writes the scratch straight into
 * `scratch` and changes only the offset per chain; what a chain leaves in
 * `scratch` stays there until that caller's next chain.
 */
export class XrpSyncIo {
  private readonly io = Buffer.from(new ArrayBuffer(SYNC_RECORD + XRP_PAGE_SIZE));
  private readonly words = new Uint32Array(this.io.buffer, 0, SYNC_RECORD / 4);
  private readonly doubles = new Float64Array(this.io.buffer, 0, SYNC_RECORD / 8);
  /** The scratch page: the caller's first `scratchLength` bytes in, the program's page out. */
  readonly scratch: Buffer = this.io.subarray(SYNC_RECORD);
  /** `scratch` as little-endian u32s, for callers that write and read its fields by index. */
  readonly scratchWords = new Uint32Array(this.io.buffer, SYNC_RECORD, XRP_PAGE_SIZE / 4);

  /**
   * The `in` fields but the offset: the first read's `length`, the mode,
   * at most `hopLimit` reads and `budget` instructions a run (0: the
   * defaults), and `scratchLength`, the bytes of `scratch` the caller
   * writes (the rest is zeroed before each chain).
   */
  request(length: number, mode: XrpMode, scratchLength: number, hopLimit = 0, budget = 0): void {
    const index = modeIndex(mode);
    if (index === undefined) throw new RangeError(`mode must be one of ${native.xrp.modes.join(', ')}, got '${mode}'`);
    if (!(scratchLength >= 0 && scratchLength <= XRP_PAGE_SIZE)) throw new RangeError(`scratch must be at most ${XRP_PAGE_SIZE} bytes, got ${scratchLength}`);
    const w = this.words;
    w[IN_LENGTH] = length;
    w[IN_MODE] = index;
    w[IN_HOP_LIMIT] = hopLimit;
    w[IN_SCRATCH_LENGTH] = scratchLength;
    this.doubles[IN_BUDGET] = budget;
  }

  /** @internal (XrpProgram's) Sets the first read's offset (below 2^53, or a bigint). */
  offset(offset: number | bigint): void {
    const w = this.words;
    if (typeof offset === 'bigint') {
      w[IN_OFFSET] = Number(offset & 0xffffffffn);
      w[IN_OFFSET + 1] = Number(offset >> 32n);
    } else {
      w[IN_OFFSET] = offset % 2 ** 32;
      w[IN_OFFSET + 1] = Math.floor(offset / 2 ** 32);
    }
  }

  /** @internal (XrpProgram's) Runs one chain on this thread; returns the outcome's code. */
  run(program: XrpProgramHandle, file: XrpFileHandle, map?: FileMapHandle | null): number {
    try {
      return runSyncLean(program, file, this.io, map);
    } catch (e) {
      throw asXrpError(e);
    }
  }

  /** @internal (XrpProgram's) Whether the last chain ended DONE and logged nothing (then `lastOffset` is all it has to say). */
  plainDone(code: number): boolean {
    return code === DONE && this.words[SYNC_LOGGED] === 0;
  }

  /** The offset of the last chain's last read. */
  lastOffset(): number {
    const w = this.words;
    return w[SYNC_LAST_OFFSET] + w[SYNC_LAST_OFFSET + 1] * 2 ** 32;
  }

  /** @internal (XrpProgram's) The result of the last chain (`code`, `run`'s), its scratch page being `scratch`. */
  result(code: number, scratch: Buffer): XrpResult {
    const name = (native.xrp.outcomeCodes[code] ?? 'UNKNOWN') as XrpOutcomeCode;
    let message = 'done';
    let log = '';
    let fault: string | undefined;
    if (code !== DONE || this.words[SYNC_LOGGED] !== 0) {
      const [m, l, f] = native.xrpSyncDetails();
      [message, log, fault] = [m, l, f ?? undefined];
    }
    const returned = name === 'RETURNED' ? this.io.readBigUInt64LE(SYNC.returned) : undefined;
    return {
      ...outcome(name, message, this.words[SYNC.detail / 4], returned, fault),
      hops: this.words[SYNC.hops / 4],
      lastOffset: this.lastOffset(),
      scratch,
      log,
    };
  }
}

/** The thread's io for `runSync` and `runSyncRaw`, whose callers hand their scratch per call. */
const shared = new XrpSyncIo();

function requireFile(file: unknown): XrpFileHandle {
  if (!(file instanceof XrpFile)) throw new TypeError('file must be an XrpFile');
  return fileHandle(file);
}

/** A program written for the XRP kernel, loaded and checked once, run against any file. */
export class XrpProgram {
  /** The function's name. */
  readonly name: string;
  /** Instruction slots after linking. */
  readonly length: number;
  /** The engine its runs use (compiled once, at load, for the JIT), and why. */
  readonly engine: VmEngine;
  readonly engineReason: string;
  readonly #handle: XrpProgramHandle;

  private constructor(handle: XrpProgramHandle) {
    const { name, length, engine, engineReason } = native.xrpProgramInfo(handle);
    this.name = name;
    this.length = length;
    this.engine = engine;
    this.engineReason = engineReason;
    this.#handle = handle;
  }

  /**
   * Loads program `section` (a function or section name) of an ELF object
   * file; without it the file must hold one. `options.jit`: see `LoadOptions`.
   */
  static fromFile(path: string, section?: string, options?: LoadOptions): XrpProgram {
    const p = requirePath(path);
    let object: Buffer;
    try {
      object = readFileSync(p);
    } catch (e) {
      const { code, errno } = e as NodeJS.ErrnoException;
      const details = { path: p, errno: typeof errno === 'number' ? -errno : undefined };
      throw new XrpError(`cannot read ${p}: ${(e as Error).message}`, code ?? 'OPEN_FAILED', details, { cause: e });
    }
    return XrpProgram.fromElf(object, section, options);
  }

  static fromElf(object: Uint8Array, section?: string, options?: LoadOptions): XrpProgram {
    if (!types.isUint8Array(object)) throw new TypeError('object must be a Uint8Array or Buffer');
    if (section !== undefined && typeof section !== 'string') throw new TypeError('section must be a string');
    const jit = jitOption(options);
    return new XrpProgram(check(() => native.xrpLoadElf(object, section, jit)));
  }

  #run(file: unknown, options: unknown): Parameters<typeof native.xrpRun> {
    const handle = requireFile(file);
    const o = requireOptions(options);
    const { chains, scratch } = pack([o], 0);
    return [this.#handle, handle, chains, scratch, ...chainOptions(o)];
  }

  /** Runs one chain on this thread, blocking it until the chain ends. */
  runSync(file: XrpFile, options: XrpRunOptions): XrpResult {
    const handle = requireFile(file);
    const o = requireOptions(options);
    const offset = offsetOf(o.offset, 'offset');
    const length = lengthOf(o.length, 'length');
    const scratch = scratchOf(o.scratch, 'scratch');
    const [mode, hopLimit, budget] = chainOptions(o);
    const into = o.into;
    if (into !== undefined && (!types.isUint8Array(into) || into.length < XRP_PAGE_SIZE)) throw new TypeError('into must be a Uint8Array of at least 4096 bytes');
    shared.request(length, mode, scratch?.length ?? 0, hopLimit ?? 0, budget ?? 0);
    shared.offset(offset);
    if (scratch) shared.scratch.set(scratch);
    const code = shared.run(this.#handle, handle);
    if (into === undefined) return shared.result(code, Buffer.from(shared.scratch));
    (into as Uint8Array).set(shared.scratch);
    return shared.result(code, Buffer.from((into as Uint8Array).buffer, (into as Uint8Array).byteOffset, XRP_PAGE_SIZE));
  }

  /**
   * Runs one chain on this thread, for a caller that runs very many and
   * reads only the final scratch of a chain that ends DONE (the store's
   * `xrp` lookups): a first read of `length` bytes at `offset` (a multiple of
   * 512), `scratch` copied to the start of the zeroed scratch page. It makes
   * no options or result objects: when the chain ends DONE it returns the
   * offset of its last read, and its scratch page is `XrpProgram.syncScratch`
   * until the next synchronous run on this thread; any other outcome (or a
   * program that logged) returns the full XrpResult, as `runSync` would.
   * `map`: the store's map of the same file (its pager's): a buffered
   * file's hops copy their pages out of it where it holds them, with no
   * system call.
   */
  runSyncRaw(file: XrpFile, offset: number, length: number, scratch: Uint8Array, mode: XrpMode, map?: FileMapHandle | null): number | XrpResult {
    shared.request(length, mode, scratch.length);
    shared.scratch.set(scratch);
    return this.runSyncIo(file, shared, offset, map);
  }

  /**
   * `runSyncRaw` with the caller's own io (its request set, its scratch
   * written in `io.scratch`) and the first read at `offset`: the chain runs
   * on `io.scratch` in place, which keeps its final page until the next
   * chain run with `io`.
   */
  runSyncIo(file: XrpFile, io: XrpSyncIo, offset: number, map?: FileMapHandle | null): number | XrpResult {
    if (!(file instanceof XrpFile)) throw new TypeError('file must be an XrpFile');
    io.offset(offset);
    const code = io.run(this.#handle, fileHandle(file), map);
    if (io.plainDone(code)) return io.lastOffset();
    return io.result(code, io.scratch);
  }

  /** The scratch page of the last `runSyncRaw` on this thread (overwritten by the next `runSync` or `runSyncRaw`). */
  static readonly syncScratch: Buffer = shared.scratch;

  /** Runs one chain on the libuv thread pool. Rejects only for arguments or a closed file. */
  async run(file: XrpFile, options: XrpRunOptions): Promise<XrpResult> {
    const args = this.#run(file, options);
    try {
      return single(await native.xrpRun(...args));
    } catch (e) {
      throw asXrpError(e);
    }
  }

  /**
   * Runs all `chains` at once (each an offset or an `XrpChain`), up to `depth`
   * reads in flight, on the libuv pool; resolves with every chain's result.
   */
  async runBatch(file: XrpFile, chains: readonly (XrpChain | number | bigint)[], options: XrpBatchOptions = {}): Promise<XrpBatch> {
    requireFile(file);
    if (!Array.isArray(chains)) throw new TypeError('chains must be an array');
    const o = requireOptions(options);
    const packed = pack(chains, lengthOf(o.length, 'length'));
    const out = await this.#runPacked(file, packed.chains, packed.scratch, o);
    return { results: Array.from({ length: out.count }, (_, i) => out.result(i)), io: out.io, elapsedNs: out.elapsedNs };
  }

  /**
   * `runBatch` of chains the caller wrote in place (`XrpBatchChains`), its
   * results read in place (`XrpBatchOut`): no object per chain either way.
   * `options.length` does not apply (each record gives its own).
   */
  async runBatchPacked(file: XrpFile, chains: XrpBatchChains, options: XrpBatchOptions = {}): Promise<XrpBatchOut> {
    if (!(chains instanceof XrpBatchChains)) throw new TypeError('chains must be an XrpBatchChains');
    return this.#runPacked(file, chains.records, chains.stride === 0 ? null : chains.scratch, requireOptions(options));
  }

  async #runPacked(file: XrpFile, records: Buffer, scratch: Buffer | null, o: Record<string, unknown>): Promise<XrpBatchOut> {
    const handle = requireFile(file);
    const [mode, hopLimit, budget] = chainOptions(o);
    const depth = o.depth === undefined ? undefined : integer(o.depth, 'depth', 1, 4096);
    const io = requireChoice(o.io ?? 'auto', 'io', native.xrp.batchIo);
    const keep = o.keepScratch === undefined ? XRP_PAGE_SIZE : integer(o.keepScratch, 'keepScratch', 0, XRP_PAGE_SIZE);
    try {
      return new XrpBatchOut(await native.xrpRunBatch(this.#handle, handle, records, scratch, mode, hopLimit, budget, depth, io, keep), keep);
    } catch (e) {
      throw asXrpError(e);
    }
  }
}

// ---- plain baselines for benchmarks ------------------------------------------

/** Lookups by native threads: per key, its value (a view) or undefined, and when it started and finished (ns from the call's start). */
export interface XrpWalkThreads {
  values: (Buffer | undefined)[];
  startedNs: Float64Array;
  finishedNs: Float64Array;
  /** The call's time in the addon, threads started and joined. */
  elapsedNs: number;
}

/**
 * The plain baseline of the XRP benchmarks, as BPF-KV's own benchmark runs
 * it (crates/node/src/xrp_walk.rs): `threads` native threads each looking
 * keys up in the xrpkv B+tree of `file` (read as its chains read it), one
 * `pread` and one native binary search per level from `root`, no BPF.
 * `keys`: `keyLen` bytes each, back to back; values up to `valueCap` bytes.
 */
export async function xrpWalkThreads(
  file: XrpFile,
  tree: { root: number; height: number; pageSize: number },
  keys: Buffer,
  keyLen: number,
  valueCap: number,
  threads: number,
): Promise<XrpWalkThreads> {
  if (!(file instanceof XrpFile)) throw new TypeError('file must be an XrpFile');
  const direct = file.direct ? 'require' : 'off';
  let out: Buffer;
  let elapsedNs: number;
  try {
    [out, elapsedNs] = await native.xrpWalkThreads(file.path, direct, tree.root, tree.height, tree.pageSize, keys, keyLen, valueCap, threads);
  } catch (e) {
    throw asXrpError(e, file.path);
  }
  const n = keys.length / keyLen;
  const values: (Buffer | undefined)[] = new Array(n);
  const startedNs = new Float64Array(n);
  const finishedNs = new Float64Array(n);
  for (let i = 0, at = 0, data = n * 24; i < n; i++, at += 24, data += valueCap) {
    values[i] = out.readUInt32LE(at) ? out.subarray(data, data + out.readUInt32LE(at + 4)) : undefined;
    startedNs[i] = out.readDoubleLE(at + 8);
    finishedNs[i] = out.readDoubleLE(at + 16);
  }
  return { values, startedNs, finishedNs, elapsedNs };
}

/** When each read started and finished (ns from the call's start), and the call's time in the addon. */
export interface XrpPlainReads {
  startedNs: Float64Array;
  finishedNs: Float64Array;
  elapsedNs: number;
}

/**
 * One read of each of `pages` (page numbers) with no program: by `inFlight`
 * native threads doing `pread` (`how: 'threads'`), or through one io_uring
 * with `inFlight` reads in flight (`'uring'`). The device's own rate at that
 * many reads in flight, the two ways (crates/node/src/xrp_walk.rs).
 */
export async function xrpPlainReads(file: XrpFile, pageSize: number, pages: ArrayLike<number>, inFlight: number, how: 'threads' | 'uring'): Promise<XrpPlainReads> {
  if (!(file instanceof XrpFile)) throw new TypeError('file must be an XrpFile');
  const numbers = Buffer.alloc(pages.length * 8);
  for (let i = 0; i < pages.length; i++) numbers.writeBigUInt64LE(BigInt(pages[i]), i * 8);
  const read = how === 'uring' ? native.xrpReadUring : native.xrpReadThreads;
  let out: Buffer;
  let elapsedNs: number;
  try {
    [out, elapsedNs] = await read(file.path, file.direct ? 'require' : 'off', pageSize, numbers, inFlight);
  } catch (e) {
    throw asXrpError(e, file.path);
  }
  const startedNs = new Float64Array(pages.length);
  const finishedNs = new Float64Array(pages.length);
  for (let i = 0; i < pages.length; i++) {
    startedNs[i] = out.readDoubleLE(16 * i);
    finishedNs[i] = out.readDoubleLE(16 * i + 8);
  }
  return { startedNs, finishedNs, elapsedNs };
}
