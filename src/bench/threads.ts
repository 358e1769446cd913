// The plain native modes of `xrpkv bench depth`, as BPF-KV's own benchmark
// runs its baselines: threads of native code (crates/node/src/xrp_walk.rs),
// no BPF, reading through a file opened as the chains' is.
//   walk-threads: `concurrency` threads, each looking keys up from the root,
//                 one pread and a native binary search per level;
//   device rows:  random leaf pages, one read each, no program: by 1 or
//                 `concurrency` threads doing pread, or `concurrency` in
//                 flight on one io_uring: the device's own read rate at
//                 that many in flight, whichever way gets more from it.
import { xrpPlainReads, xrpWalkThreads } from '../xrp.js';
import { KEY_BYTES } from './build-tree.js';
import { checkResult, nowNs, type Probe, type SliceRun } from './probe.js';
import type { Target } from './target.js';

/** Throughput counts the wall time from packing the keys to checking the last value; latency is each lookup's own, on its thread. */
export async function runWalkThreads(t: Target, probes: Probe[], concurrency: number, valueSize: number): Promise<SliceRun> {
  const start = nowNs();
  const keys = Buffer.alloc(probes.length * KEY_BYTES);
  probes.forEach((p, i) => p.key.copy(keys, i * KEY_BYTES));
  const { tree } = t;
  const r = await xrpWalkThreads(t.xrp, { root: tree.root, height: tree.height, pageSize: tree.pageSize }, keys, KEY_BYTES, Math.max(1, valueSize), concurrency);
  const latenciesNs = new Float64Array(probes.length);
  probes.forEach((p, i) => {
    checkResult('walk-threads', p, r.values[i]);
    latenciesNs[i] = r.finishedNs[i] - r.startedNs[i];
  });
  return { latenciesNs, elapsedNs: nowNs() - start, io: `${concurrency} native threads doing pread` };
}

/** One read of each page, `inFlight` at once; throughput from the addon's own clock, so no JavaScript is counted. */
export async function runPlainReads(t: Target, pages: Uint32Array, inFlight: number, how: 'threads' | 'uring'): Promise<SliceRun> {
  const r = await xrpPlainReads(t.xrp, t.tree.pageSize, pages, inFlight, how);
  const latenciesNs = r.finishedNs.map((f, i) => f - r.startedNs[i]);
  const io = how === 'uring' ? `io_uring, ${inFlight} in flight` : `${inFlight} native thread${inFlight === 1 ? '' : 's'} doing pread`;
  return { latenciesNs, elapsedNs: r.elapsedNs, io };
}
