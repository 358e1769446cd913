export { BpfProgram, BpfLoadError, BpfRunError, MEMORY_ADDRESS, DEFAULT_BUDGET } from './vm.js';
export type { ProgramInfo, RunOptions, RunResult } from './vm.js';
