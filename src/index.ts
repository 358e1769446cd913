export { BpfProgram, BpfLoadError, BpfRunError, MEMORY_ADDRESS, DEFAULT_BUDGET } from './vm.js';
export type { ProgramInfo, RunOptions, RunResult } from './vm.js';
export {
  XrpProgram,
  XrpFile,
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
