// The XRP modes of `xrpkv bench depth`: bpf/lookup.c (dist/bpf/lookup.o,
// section xrp/lookup) walks the tree from the root, one page per read, in one
// chain that never returns to JavaScript in between.
//   xrp-sync:  one `runSyncIo` per lookup (the lean path: pread on this thread);
//   xrp-batch: the slice's chains in one batch of depth `concurrency`,
//              on io_uring or threads as the device measured: as many
//              lookups in flight as walk-async and walk-threads have.
import { XRP_PAGE_SIZE, XrpBatchChains, XrpSyncIo, xrpBackend, type XrpChain, type XrpProgram, type XrpResult } from '../xrp.js';
import { LOOKUP_INPUT_END, LOOKUP_SCRATCH as S, LOOKUP_STATES, writeLookupInput } from '../format/scratch.js';
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
  return scratchValue(mode, key, r.scratch);
}

/** The lookup's value in a finished chain's scratch `s`, undefined when absent. */
function scratchValue(mode: string, key: Buffer, s: Buffer): Buffer | undefined {
  const state = s.readUInt32LE(S.state);
  if (state === LOOKUP_STATES.absent) return undefined;
  if (state !== LOOKUP_STATES.inline) throw new BenchCheckError(mode, key, `the lookup ended in state ${state}`);
  return s.subarray(S.value, S.value + s.readUInt32LE(S.valueLen));
}

/** One lookup on this thread by the lean path: the value (a view into `io`'s page), undefined when absent. */
export function xrpLookupSync(t: Pick<Target, 'tree' | 'xrp'>, program: XrpProgram, key: Buffer, io: XrpSyncIo): Buffer | undefined {
  const P = t.tree.pageSize;
  // From the root, the pages' numbers and levels not checked (0), as the batch's chains.
  writeLookupInput(io.scratchWords, io.scratch, key, P, 0, 0);
  const r = program.runSyncIo(t.xrp, io, t.tree.root * P);
  if (typeof r !== 'number') throw new BenchCheckError('xrp-sync', key, `the chain ended in ${r.code}: ${r.message}`);
  return scratchValue('xrp-sync', key, io.scratch);
}

/**
 * The io of one thread's lean-path lookups of `t`, as the store's
 * (xrp-lookup.ts): the scratch written in place, the request (one page's
 * first read) set once, and the whole page counted as written, so nothing
 * is zeroed per chain (bpf/lookup.c reads only the input fields, written
 * every time).
 */
export function syncScratchFor(t: Pick<Target, 'tree'>): XrpSyncIo {
  const io = new XrpSyncIo();
  io.request(t.tree.pageSize, 'extended', XRP_PAGE_SIZE);
  return io;
}

export function runXrpSync(t: Target, probes: Probe[]): SliceRun {
  const program = lookupProgram();
  const scratch = syncScratchFor(t);
  const latenciesNs = new Float64Array(probes.length);
  const start = nowNs();
  for (let i = 0; i < probes.length; i++) {
    const p = probes[i];
    const t0 = nowNs();
    const value = xrpLookupSync(t, program, p.key, scratch);
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
export async function runXrpBatch(t: Target, probes: Probe[], concurrency: number, valueSize: number): Promise<SliceRun> {
  const program = lookupProgram();
  const start = nowNs();
  // Written in place and read in place, as the store's batches (xrp-lookup.ts).
  const P = t.tree.pageSize;
  const chains = new XrpBatchChains(probes.length, LOOKUP_INPUT_END);
  probes.forEach((p, i) => {
    chains.set(i, t.tree.root * P, P);
    writeLookupInput(chains.scratchWords, chains.scratch, p.key, P, 0, 0, i * LOOKUP_INPUT_END);
  });
  // Only the scratch up to the end of the value comes back.
  const keep = S.value + valueSize;
  const out = await program.runBatchPacked(t.xrp, chains, { depth: concurrency, keepScratch: keep });
  const latenciesNs = new Float64Array(probes.length);
  for (let i = 0; i < probes.length; i++) {
    const p = probes[i];
    if (!out.ok(i)) lookupValue('xrp-batch', p.key, out.result(i)); // throws, naming the outcome
    const at = out.scratchAt(i);
    checkResult('xrp-batch', p, scratchValue('xrp-batch', p.key, out.bytes.subarray(at, at + keep)));
    latenciesNs[i] = out.finishedNs(i) - out.startedNs(i);
  }
  return { latenciesNs, elapsedNs: nowNs() - start, io: out.io };
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
