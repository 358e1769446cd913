// The benchmarks' entry for the command line: what `xrpkv bench` runs and the
// errors it reports. Nothing else of src/bench/ is for outside use.
export { runDepthBenchmark, DEPTH_DEFAULTS, type DepthOptions } from './depth.js';
export { BenchCheckError } from './probe.js';
export { BenchInterrupted } from './run-depth.js';
export { BenchSetupError } from './target.js';
export { percentile } from './stats.js';
