// Loads the Rust addon (crates/node) and types what it exports. Only vm.ts,
// xrp.ts, store/ and format/page.ts (its checksums) should use this module:
// they validate arguments and map errors.
import { existsSync } from 'node:fs';
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

/** A loaded XRP program (an `Arc<Program>`); freed when garbage-collected and no run uses it. */
export type XrpProgramHandle = { readonly __xrpProgramHandle: never };
/** A handle's slot in the lock file beside its database, and its write lock (crates/node/src/reader_table.rs). */
export type ReaderTableHandle = { readonly __readerTableHandle: never };
export type CommitOrderHandle = { readonly __commitOrderHandle: never };
export type StagedPagesHandle = { readonly __stagedPagesHandle: never };
/** A read-only map of a store's file (crates/node/src/file_map.rs); unmapped by `storeMapClose` or garbage collection. */
export type FileMapHandle = { readonly __fileMapHandle: never };
/** An open file (an `Arc<XrpFile>`); `xrpClose` or garbage collection closes it once no run uses it. */
export type XrpFileHandle = { readonly __xrpFileHandle: never };

/** How a chain's reads are sized (`xrp.modes`; the first is the default). */
export type NativeMode = 'extended' | 'kernel';
/** Whether a file opens with O_DIRECT (`xrp.directIo`; the first is the default). */
export type NativeDirectIo = 'auto' | 'require' | 'off';
/** How a batch issues its reads (`xrp.batchIo`; the first is the default). */
export type NativeBatchIo = 'auto' | 'threads';
/** The fields of a chain record, the `chains` argument's unit (`xrp.chainFields`): u64 offset, u32 length (0: the mode's default). */
export type NativeChainField = 'offset' | 'length';
/**
 * The fields of a result record (`xrp.resultFields`): u32 code (an index
 * into `outcomeCodes`), u32 hops, u64 lastOffset, u64 returned, u32 detail
 * (pc or errno), f64 startedNs, f64 finishedNs.
 */
export type NativeResultField = 'code' | 'hops' | 'lastOffset' | 'returned' | 'detail' | 'startedNs' | 'finishedNs';
/**
 * The fields of the record before the scratch page in `xrpRunSyncLean`'s
 * `io` (`xrp.syncFields`). In: u64 offset, u32 length (0: the mode's
 * default), u32 mode (an index into `modes`), u32 hopLimit (0: default),
 * u32 scratchLength (bytes of the page written; the rest is zeroed), f64
 * budget (0: default). Out: u32 code, u32 hops, u64 lastOffset, u64
 * returned, u32 detail (pc or errno), u32 logged (1: `xrpSyncDetails` has a log).
 */
export type NativeSyncField =
  | 'offset'
  | 'length'
  | 'mode'
  | 'hopLimit'
  | 'scratchLength'
  | 'budget'
  | 'code'
  | 'hops'
  | 'lastOffset'
  | 'returned'
  | 'detail'
  | 'logged';

/**
 * Chains that ran: `out` holds `resultRecord` bytes per chain (fields at
 * `xrp.resultFields`), then the first `keep` bytes of each final scratch page;
 * `messages` (chains not DONE), `logs` (non-empty) and `faults` (the VM's
 * code, PROGRAM_ERROR) are sparse, and null when no chain has one.
 */
export type NativeRan = [
  out: Buffer,
  messages: (string | undefined)[] | null,
  logs: (string | undefined)[] | null,
  faults: (string | undefined)[] | null,
  io: string,
  elapsedNs: number,
];

/**
 * The arguments of every run function: `chains` holds `chainRecord` bytes per
 * chain (fields at `xrp.chainFields`, little-endian, the rest zero); `scratch` is
 * empty or the same number of bytes (at most a page) for each chain, the start of its zeroed page. Both are copied
 * before the call returns.
 */
type RunArgs = [
  program: XrpProgramHandle,
  file: XrpFileHandle,
  chains: Uint8Array,
  scratch?: Uint8Array | null,
  mode?: NativeMode,
  hopLimit?: number,
  budget?: number,
];

/** The arguments of both commit calls (crates/node/src/commit.rs). */
type CommitArgs = [
  fd: number,
  staged: StagedPagesHandle,
  meta: Uint8Array,
  metaPageNo: number,
  sync: boolean,
  order: CommitOrderHandle,
];

export type NativeVmEngine = 'jit' | 'interpreter';

/** A loaded program: its name, instruction slots, and the engine that runs it and why. */
export interface NativeLoadedInfo {
  name: string;
  length: number;
  engine: NativeVmEngine;
  engineReason: string;
}

export interface Native {
  /** jit: false the interpreter, true the JIT, undefined the process default (`vmEngine`). */
  loadElf(object: Uint8Array, name?: string, jit?: boolean): ProgramHandle;
  loadBytecode(code: Uint8Array, jit?: boolean): ProgramHandle;
  listPrograms(object: Uint8Array): NativeProgramInfo[];
  programInfo(handle: ProgramHandle): NativeLoadedInfo;
  /** The engine programs load for unless they ask: the JIT on x86-64 Linux unless XRPKV_JIT=0. */
  vmEngine(): [engine: NativeVmEngine, reason: string];
  run(handle: ProgramHandle, memory?: Uint8Array, budget?: number): NativeExit;
  /** The VM address of the memory passed to `run` (what r1 holds). */
  readonly memoryAddress: bigint;
  readonly defaultBudget: number;

  xrpLoadElf(object: Uint8Array, section?: string, jit?: boolean): XrpProgramHandle;
  xrpProgramInfo(handle: XrpProgramHandle): NativeLoadedInfo;
  /** pageCheck: four little-endian u32 [pageSize, checksumAt, coveredFrom, pageNoAt or 0xffffffff] (src/xrp.ts, XrpPageCheck). */
  xrpOpen(path: string, direct?: NativeDirectIo, pageCheck?: Uint8Array): XrpFileHandle;
  xrpFileInfo(handle: XrpFileHandle): [size: number, blockSize: number, direct: boolean, access: string];
  /** Whether the file was open. */
  xrpClose(handle: XrpFileHandle): boolean;
  /** Probed once per process. */
  xrpProbe(): [backend: 'kernel' | 'emulator', reason: string];
  /**
   * One chain on this thread (crates/node/src/xrp_sync.rs): `io` is a sync
   * record (`xrp.syncFields`, `in` fields set) then the scratch page, which
   * the program runs on in place. Returns the outcome code (an index into
   * `xrp.outcomeCodes`); the record's `out` fields hold the rest.
   */
  xrpRunSyncLean(program: XrpProgramHandle, file: XrpFileHandle, io: Uint8Array, map?: FileMapHandle | null): number;
  /** Of the last `xrpRunSyncLean` on this thread: its outcome in words, its log, the VM's fault code (PROGRAM_ERROR). */
  xrpSyncDetails(): [message: string, log: string, fault: string | null];
  xrpRun(...args: [...RunArgs, keep?: number]): Promise<NativeRan>;
  /**
   * Plain baselines (crates/node/src/xrp_walk.rs), no BPF: `threads` native
   * threads looking `keys` (`keyLen` bytes each) up in the B+tree at `root`,
   * pread and a native search per level. `out`: per key u32 found, u32 value
   * length, f64 startedNs, f64 finishedNs; then `valueCap` bytes per key.
   * Rejects with code WALK_FAILED for a read error or a page that does not parse.
   */
  xrpWalkThreads(
    path: string,
    direct: NativeDirectIo,
    root: number,
    height: number,
    pageSize: number,
    keys: Uint8Array,
    keyLen: number,
    valueCap: number,
    threads: number,
  ): Promise<[out: Buffer, elapsedNs: number]>;
  /** One pread of each page (`pages`: u64 LE page numbers) by `threads` threads; `out`: per read f64 startedNs, f64 finishedNs. */
  xrpReadThreads(path: string, direct: NativeDirectIo, pageSize: number, pages: Uint8Array, threads: number): Promise<[out: Buffer, elapsedNs: number]>;
  /** As `xrpReadThreads`, through one io_uring with `depth` reads in flight. */
  xrpReadUring(path: string, direct: NativeDirectIo, pageSize: number, pages: Uint8Array, depth: number): Promise<[out: Buffer, elapsedNs: number]>;
  /**
   * io: `auto` as the file's device measured (io_uring, or threads doing
   * pread), `threads` threads doing pread. keep: bytes of each final scratch
   * page in `out` (default 4096).
   */
  xrpRunBatch(...args: [...RunArgs, depth?: number, io?: NativeBatchIo, keep?: number]): Promise<NativeRan>;
  /**
   * Opens `<path>-lock` (made when missing) and claims a reader slot.
   * Throws code LOCK_FAILED (with errno), LOCK_FILE_INVALID or READERS_FULL.
   */
  storeTableOpen(path: string): ReaderTableHandle;
  /** Frees the slot and releases the write lock; whether it was open. */
  storeTableClose(handle: ReaderTableHandle): boolean;
  /** Holds the published txid in the slot (re-checked after the store) and returns it. */
  storeTablePin(handle: ReaderTableHandle): number;
  /** Sets the slot's txid; -1: none. */
  storeTableHold(handle: ReaderTableHandle, txid: number): null;
  /** The oldest txid a live slot holds (dead ones reclaimed first); Infinity when none. */
  storeTableOldest(handle: ReaderTableHandle): number;
  /** The last published txid. */
  storeTablePublished(handle: ReaderTableHandle): number;
  /** Raises the published txid (it never falls). */
  storeTablePublish(handle: ReaderTableHandle, txid: number): null;
  /** Takes the write lock (an flock on the database file); with `wait` false, false when another handle holds it. */
  storeWriteLock(handle: ReaderTableHandle, wait: boolean): boolean;
  /** Whether the write lock was held. */
  storeWriteUnlock(handle: ReaderTableHandle): boolean;
  /** Flags the slot as waiting for the write lock (cleared when it takes it). */
  storeWriteWaiting(handle: ReaderTableHandle, waiting: boolean): null;
  /** Whether another live handle waits for the write lock. */
  storeWriteOthersWaiting(handle: ReaderTableHandle): boolean;
  /** `[owner, writerPid, writerOwner, readers]`: each live slot as `[pid, owner, txid | -1]`. */
  storeTableInfo(handle: ReaderTableHandle): [number, number, number, [number, number, number][]];
  /** The lock file's layout (docs/FORMAT.md, "The lock file"). */
  lockFile: {
    fileBytes: number;
    slots: number;
    slotBytes: number;
    headerBytes: number;
    version: number;
    magic: bigint;
    header: { magic: number; version: number; slots: number; published: number; writerPid: number; writerOwner: number };
    slot: { pid: number; owner: number; txid: number; waiting: number };
  };
  /** The order a store's commits go to disk in: each commit given it starts once the ones given it before have finished. */
  storeCommitOrder(): CommitOrderHandle;
  /** Room in the addon for `count` pages of a commit (crates/node/src/staged_pages.rs). */
  storeStagePages(pageSize: number, count: number): StagedPagesHandle;
  /** Appends a copy of `page` as page `pageNo`; RangeError when full, given to a commit already, or `page` is not one page. */
  storeStagePage(staged: StagedPagesHandle, pageNo: number, page: Uint8Array): null;
  /**
   * A tree commit (docs/FORMAT.md, "Meta pages") in one job on the libuv
   * pool, through a duplicate of `fd`: the pages of `staged` (taken out of
   * it; runs of consecutive page numbers in one write each), fdatasync,
   * meta page `metaPageNo` (0 or 1), fdatasync; no syncs when `sync` is
   * false. The job waits for the commits issued before it on `order`, and
   * writes nothing if one failed. Throws or rejects with code WRITE_FAILED
   * (and errno).
   */
  storeTreeCommit(...args: CommitArgs): Promise<null>;
  /** A log commit (docs/FORMAT.md, "Meta pages"): as `storeTreeCommit`, but one fdatasync, after the meta page. */
  storeLogCommit(...args: CommitArgs): Promise<null>;
  /**
   * Leaf pages `pageNos[k]` (u64 LE) of `counts[k]` (u32 LE) entries each,
   * taken in order from `head` then `entries` (leaf entries in their page
   * form, back to back; or, given `starts` (a Uint32Array's bytes), the ones starting
   * there, in that order), checksummed; page k at `k * pageSize`.
   */
  storeEncodeLeaves(head: Uint8Array, entries: Uint8Array, counts: Uint8Array, pageNos: Uint8Array, pageSize: number, txid: number, starts?: Uint8Array): Buffer;
  /** Redis's haversine distance in meters, with the C library's sin, cos and asin (crates/node/src/geo_math.rs). */
  geoDistance(lon1: number, lat1: number, lon2: number, lat2: number): number;
  /** The C library's cos. */
  geoCos(x: number): number;
  /** Drops the clean cached pages of `fd`'s file in `offset..offset + length` (0: to the end) from the kernel's page cache (posix_fadvise DONTNEED); throws code DROP_CACHE_FAILED. */
  storeDropCache(fd: number, offset: number, length: number): null;
  /** Whether this process reads maps guarded against SIGBUS (x86_64): whether xrpkv maps files here at all. */
  storeMapGuarded(): boolean;
  /** A map of `fd`'s file whose reads survive SIGBUS; null where the addon cannot guard them (not x86_64) or the map was refused. */
  storeMapOpen(fd: number): FileMapHandle | null;
  /**
   * Copies `dst.length` bytes of the file at `offset` into `dst`: 0 read;
   * 1 not read (past the end of the file, a failed read, a closed map:
   * `pread` says which); 2 read, but the stored checksum is not the CRC-32
   * of `dst` from `checksumFrom` on (-1: not checked).
   */
  storeMapRead(map: FileMapHandle, offset: number, dst: Uint8Array, checksumFrom: number): 0 | 1 | 2;
  /** Maps the file's bytes `offset..offset + length` (whole memory pages of it) into the page tables on a thread of its own (MADV_POPULATE_READ) and returns at once; advice. */
  storeMapPopulate(map: FileMapHandle, offset: number, length: number): null;
  /** Unmaps now; reads after it answer 1. */
  storeMapClose(map: FileMapHandle): null;
  /** A byte per 4 KiB page of `offset..offset + length` (multiples of 4096, inside the file): 1 where the kernel's page cache holds it. Throws code EVICT_FAILED. */
  storeResident(fd: number, offset: number, length: number): Buffer;
  /** Deallocates `offset..offset + length` (multiples of 4096): its pages leave the page cache, mapped or not, and read as zeros. Throws code EVICT_FAILED (errno EOPNOTSUPP where the file system cannot). */
  storePunchHole(fd: number, offset: number, length: number): null;
  /** zlib's CRC-32 of `bytes` from `from` (default 0) on. */
  crc32(bytes: Uint8Array, from?: number): number;
  /** Starts reading `path`'s first `length` bytes into the kernel's page cache on a thread of its own (posix_fadvise WILLNEED) and returns at once; throws code PREFETCH_FAILED. */
  storePrefetch(path: string, length: number): null;
  /** Tests: appends every write and sync of every commit to `path` (crates/node/src/io_trace.rs); null stops. */
  storeIoTrace(path: string | null): null;
  /** Bytes from the start of `bytes` to its first `align`-aligned address (align: a power of two). */
  alignmentOffset(bytes: Uint8Array, align: number): number;
  /**
   * The page format as `storeEncodeLeaves` writes it (crates/node/src/format.rs),
   * named as src/format/page.ts names it; test/format-layout.test.ts checks
   * it against bpf/include/xrpkv_format.h.
   */
  readonly format: {
    readonly headerSize: number;
    readonly metaPages: number;
    readonly slotSize: number;
    readonly leafEntrySize: number;
    readonly overflowRef: number;
    readonly header: Readonly<Record<'checksum' | 'type' | 'count' | 'pageNo' | 'txid', number>>;
    readonly leafEntry: Readonly<Record<'keyLen' | 'valueKind' | 'reserved' | 'valueLen', number>>;
    readonly pageTypes: Readonly<Record<'leaf', number>>;
    readonly valueKinds: Readonly<Record<'inline' | 'overflow', number>>;
    readonly pageSizes: readonly number[];
    /** The longest inline value for each of `pageSizes`, in that order. */
    readonly maxInline: readonly number[];
  };
  readonly xrp: {
    readonly outcomeCodes: readonly string[];
    readonly chainRecord: number;
    readonly chainFields: Readonly<Record<NativeChainField, number>>;
    readonly resultRecord: number;
    readonly resultFields: Readonly<Record<NativeResultField, number>>;
    readonly syncRecord: number;
    readonly syncFields: Readonly<Record<NativeSyncField, number>>;
    /** What the choice arguments take, by name (test/native-api.test.ts checks them against the types above). */
    readonly modes: readonly NativeMode[];
    readonly directIo: readonly NativeDirectIo[];
    readonly batchIo: readonly NativeBatchIo[];
    readonly pageSize: number;
    /** What kernel-compatible mode reads per hop, as the prototype XRP kernel. */
    readonly sectorSize: number;
    readonly defaultHopLimit: number;
    readonly defaultBudget: number;
    readonly defaultDepth: number;
  };
}

/**
 * This machine's platform as the platform packages name it (napi-rs's
 * convention): `linux-x64-gnu`, `linux-arm64-musl`, `darwin-arm64`, ...
 */
export function platformName(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return base;
  // glibcVersionRuntime is present exactly when node runs on glibc.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `${base}-${header?.glibcVersionRuntime ? 'gnu' : 'musl'}`;
}

/** The platform package holding the prebuilt addon for `platform` (npm/<platform>/ in the repository). */
export const platformPackage = (platform: string) => `@xrpkv/${platform}`;

/** A local build's addon: `scripts/build.mjs` puts it in dist/native/, the same relative path from src/ (tests) and dist/. */
export const LOCAL_ADDON = fileURLToPath(new URL('../dist/native/xrpkv.node', import.meta.url));

function load(): { addon: Native; origin: string } {
  const require = createRequire(import.meta.url);
  const platform = platformName();
  const pkg = platformPackage(platform);
  try {
    return { addon: require(pkg) as Native, origin: pkg };
  } catch (e) {
    // Absent is expected (a development checkout); present but unloadable is not.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'MODULE_NOT_FOUND' || !(e as Error).message.includes(pkg)) throw loadError(`cannot load ${pkg}`, e);
  }
  if (!existsSync(LOCAL_ADDON)) {
    throw new Error(
      `xrpkv: no native addon for ${platform}: ${pkg} is not installed and there is no local build (${LOCAL_ADDON}); ` +
        "to build from source, run `bash scripts/setup.sh` in a clone of xrpkv's repository (needs Rust and clang)",
    );
  }
  try {
    return { addon: require(LOCAL_ADDON) as Native, origin: LOCAL_ADDON };
  } catch (e) {
    throw loadError(`cannot load the local build ${LOCAL_ADDON} (rebuild it with \`npm run build\`)`, e);
  }
}

function loadError(what: string, cause: unknown): Error {
  return new Error(`xrpkv: ${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

const loaded = load();
export const native: Native = loaded.addon;
/** Where the addon came from: the platform package's name, or the local build's path. */
export const nativeOrigin: string = loaded.origin;
