// The XRP modes of `xrpkv bench depth`: bpf/lookup.c (dist/bpf/lookup.o,
// section xrp/lookup) walks the tree from the root, one page per read, in one
// chain that never returns to JavaScript in between.
//   xrp-sync:  one `runSync` per lookup (pread on this thread);
//   xrp-batch: the slice's chains in one `runBatch` at depth `concurrency`
//              (io_uring): as many lookups in flight as walk-async has.
// Also the engine's device rows: chains of one read each (a random leaf page,
// searched for the empty key, which no leaf holds, so the chain ends there).
import { xrpBackend, type XrpChain, type XrpResult } from '../xrp.js';
import { LOOKUP_SCRATCH as S, LOOKUP_STATES } from '../format/scratch.js';
import { lookupProgram } from '../programs.js';
import { BenchCheckError, checkResult, nowNs, type Probe, type SliceRun } from './probe.js';
import type { Target } from './target.js';

/** The chain of one lookup from the root: the scratch the program expects, the root's offset. */
export function lookupChain(t: Target, key: Buffer): XrpChain {
  const P = t.tree.pageSize;
  const scratch = Buffer.alloc(S.key + key.length);
  scratch.writeUInt16LE(key.length, S.keyLen);
  scratch.writeUInt32LE(P, S.pageSize);
  key.copy(scratch, S.key);
  return { offset: t.tree.root * P, length: P, scratch };
}

/** The value a finished lookup chain reports (a view into its scratch), undefined when absent. */
export function lookupValue(mode: string, key: Buffer, r: XrpResult): Buffer | undefined {
  if (!r.ok) throw new BenchCheckError(mode, key, `the chain ended in ${r.code}: ${r.message}`);
  const s = r.scratch;
  const state = s.readUInt32LE(S.state);
  if (state === LOOKUP_STATES.absent) return undefined;
  if (state !== LOOKUP_STATES.inline) throw new BenchCheckError(mode, key, `the lookup ended in state ${state}`);
  return s.subarray(S.value, S.value + s.readUInt32LE(S.valueLen));
}

/** xrp-sync's chains leave their scratch here (each result is checked before the next chain). */
const syncScratch = Buffer.alloc(4096);

export function runXrpSync(t: Target, probes: Probe[]): SliceRun {
  const program = lookupProgram();
  const latenciesNs = new Float64Array(probes.length);
  const start = nowNs();
  for (let i = 0; i < probes.length; i++) {
    const p = probes[i];
    const t0 = nowNs();
    const r = program.runSync(t.xrp, { ...lookupChain(t, p.key), into: syncScratch });
    const value = lookupValue('xrp-sync', p.key, r);
    latenciesNs[i] = nowNs() - t0;
    checkResult('xrp-sync', p, value);
  }
  return { latenciesNs, elapsedNs: nowNs() - start };
}

/**
 * One batch: throughput counts the wall time from building the first chain to
 * checking the last result; latency is each chain's own, from when the engine
 * took it up (a free slot of `depth`) to its end, as walk-async's is from a
 * worker taking the lookup up to its value.
 */
export async function runXrpBatch(t: Target, probes: Probe[], concurrency: number): Promise<SliceRun> {
  const program = lookupProgram();
  const start = nowNs();
  const chains = probes.map((p) => lookupChain(t, p.key));
  const batch = await program.runBatch(t.xrp, chains, { depth: concurrency });
  const latenciesNs = new Float64Array(probes.length);
  batch.results.forEach((r, i) => {
    checkResult('xrp-batch', probes[i], lookupValue('xrp-batch', probes[i].key, r));
    latenciesNs[i] = r.finishedNs - r.startedNs;
  });
  return { latenciesNs, elapsedNs: nowNs() - start, io: batch.io };
}

/**
 * The device through the engine: one read of one page per chain, `depth` in
 * flight (1: queue depth 1). Throughput uses the engine's own elapsed time,
 * so no JavaScript is counted: the closest this process gets to the device.
 */
export async function runEngineReads(t: Target, pages: Uint32Array, depth: number): Promise<SliceRun> {
  const P = t.tree.pageSize;
  const scratch = Buffer.alloc(S.key);
  scratch.writeUInt32LE(P, S.pageSize);
  const chains: XrpChain[] = Array.from(pages, (page) => ({ offset: page * P, length: P, scratch }));
  const batch = await lookupProgram().runBatch(t.xrp, chains, { depth, hopLimit: 1 });
  const latenciesNs = new Float64Array(pages.length);
  batch.results.forEach((r, i) => {
    if (!r.ok || r.hops !== 1) throw new BenchCheckError(`device read`, Buffer.alloc(0), `page ${pages[i]}: ${r.code} after ${r.hops} reads`);
    latenciesNs[i] = r.finishedNs - r.startedNs;
  });
  return { latenciesNs, elapsedNs: batch.elapsedNs, io: batch.io };
}

/**
 * Why the xrp-kernel row has no figures, in one line. It never runs: xrpkv
 * does not route chains to a kernel (the read_xrp runner is not built by
 * default: no kernel with XRP was available to test it, crates/xrp/README.md).
 * The row stays so that the table says so, and whether this kernel has XRP.
 */
export function kernelUnavailable(): string {
  const probe = xrpBackend().probe;
  const kernel = probe.backend === 'kernel' ? 'this kernel has XRP' : 'this kernel has no XRP';
  return `xrpkv does not run chains in the kernel yet (untested without an XRP kernel); ${kernel}`;
}
