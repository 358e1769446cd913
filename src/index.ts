export { BpfProgram, BpfLoadError, BpfRunError, MEMORY_ADDRESS, DEFAULT_BUDGET, vmEngine } from './vm.js';
export type { LoadOptions, ProgramInfo, RunOptions, RunResult, VmEngine, VmEngineInfo } from './vm.js';
export {
  XrpProgram,
  XrpFile,
  XrpSyncIo,
  XrpBatchChains,
  XrpBatchOut,
  XrpError,
  xrpBackend,
  xrpProbe,
  XRP_PAGE_SIZE,
  XRP_DEFAULT_HOP_LIMIT,
  XRP_DEFAULT_DEPTH,
} from './xrp.js';
export type {
  XrpBackendChoice,
  XrpBackendInfo,
  XrpBackendName,
  XrpBatch,
  XrpBatchOptions,
  XrpBatchResult,
  XrpChain,
  XrpChainOptions,
  XrpDirectIo,
  XrpErrorDetails,
  XrpMode,
  XrpOpenOptions,
  XrpOutcomeCode,
  XrpProbe,
  XrpResult,
  XrpRunOptions,
} from './xrp.js';
export { open, Database } from './store/db.js';
export { RangeIterable } from './store/range-iterable.js';
export type { OpenOptions, NamedOptions, RangeOptions, BatchOp, Transaction, Lookup, Stats, StatsOptions } from './store/db.js';
export type { JoinedPuts } from './store/joined-puts.js';
export type { NamedStats } from './store/named-db.js';
export type { Recovery } from './store/snapshot.js';
export { checkFile } from './store/check.js';
export { defaultCacheSize, memoryLimit, type MemoryLimit } from './store/memory.js';
export type { CheckReport, Problem } from './store/check.js';
export type { Key, KeyEncoding, ValueEncoding } from './store/encoding.js';
export {
  StoreError,
  CorruptionError,
  ReadFailedError,
  KeyTooLargeError,
  ReservedKeyError,
  ValueTooLargeError,
  DatabaseClosedError,
  LockError,
  ReadOnlyError,
  WritesPendingError,
  EncodingMismatchError,
  UnsupportedError,
  WriteFailedError,
} from './errors.js';
