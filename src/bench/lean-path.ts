// The lean path's cost: on a depth-1 tree in the page cache, an xrp lookup
// (one `runSyncIo` chain of bpf/lookup.c: the call into the addon, one
// pread, the program's search, the value read back) against one
// `fs.readSync` of the same page, which is all a walk of that tree reads.
// The difference is what the path from JavaScript to a chain costs beyond
// the read itself (the goal: at most 1.5 µs). Measured in interleaved
// rounds, the order alternating, on a buffered file whose page is cached.
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XrpFile } from '../xrp.js';
import { lookupProgram } from '../programs.js';
import { buildTree, keyOf, planTree, valueOf } from './build-tree.js';
import { syncScratchFor, xrpLookupSync } from './chains.js';
import { BenchCheckError } from './probe.js';
import { median } from './stats.js';

export interface LeanPath {
  /** Medians over rounds of the mean per operation, in µs. */
  readSyncUs: number;
  xrpLookupUs: number;
  /** The median over rounds of (xrp lookup - fs.readSync), in µs. */
  overUs: number;
  /** The fastest round's xrp lookup less the fastest round's fs.readSync, in µs: the least disturbed by other load. */
  bestOverUs: number;
  /**
   * As `overUs`, in the process's CPU time rather than wall time: what the
   * lookup costs the CPU, which time waiting for a core on a loaded machine
   * does not inflate (both loops run on this thread and never block).
   */
  cpuOverUs: number;
  rounds: number;
  /** Operations of each kind per round. */
  perRound: number;
  pageSize: number;
}

const PAGE_SIZE = 4096;
const VALUE_SIZE = 64;

/** Builds a one-page tree in `dir`, measures, removes it. */
export function measureLeanPath(dir: string, rounds = 31, perRound = 1000): LeanPath {
  const path = join(dir, 'lean-path.xrpkv');
  const shape = planTree({ pageSize: PAGE_SIZE, fanout: 31, valueSize: VALUE_SIZE, height: 1, maxKeys: 1000 });
  const tree = buildTree(path, shape, () => {});
  const fd = openSync(path, 'r');
  const xrp = XrpFile.open(path, { direct: 'off' });
  try {
    const target = { tree, xrp };
    const program = lookupProgram();
    const scratch = syncScratchFor(target);
    const page = Buffer.alloc(PAGE_SIZE);
    const keys = Array.from({ length: shape.keys }, (_, i) => keyOf(i));
    // Each round's mean per operation in wall µs; its CPU µs go to `cpu`.
    const timed = (cpu: number[], loop: () => void) => {
      const [t0, c0] = [performance.now(), process.cpuUsage()];
      loop();
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / perRound);
      return ((performance.now() - t0) * 1000) / perRound;
    };
    const readCpu: number[] = [];
    const xrpCpu: number[] = [];
    const reads = () =>
      timed(readCpu, () => {
        for (let i = 0; i < perRound; i++) readSync(fd, page, 0, PAGE_SIZE, tree.root * PAGE_SIZE);
      });
    const lookups = () =>
      timed(xrpCpu, () => {
        let bytes = 0;
        for (let i = 0; i < perRound; i++) bytes += xrpLookupSync(target, program, keys[i % keys.length], scratch)?.length ?? -1;
        if (bytes !== perRound * VALUE_SIZE) throw new BenchCheckError('lean path', keys[0], 'a lookup missed a key of the tree');
      });
    // Untimed: the JIT, the page in the cache, the engine's first chain.
    reads();
    lookups();
    readCpu.length = xrpCpu.length = 0;
    const read: number[] = [];
    const xrpUs: number[] = [];
    for (let r = 0; r < rounds; r++) {
      if (r % 2) read.push(reads()), xrpUs.push(lookups());
      else xrpUs.push(lookups()), read.push(reads());
    }
    const value = valueOf(keys[1], VALUE_SIZE);
    if (!xrpLookupSync(target, program, keys[1], scratch)?.equals(value)) throw new BenchCheckError('lean path', keys[1], 'wrong value');
    const round2 = (n: number) => Number(n.toFixed(2));
    return {
      readSyncUs: round2(median(read)),
      xrpLookupUs: round2(median(xrpUs)),
      overUs: round2(median(xrpUs.map((x, i) => x - read[i]))),
      bestOverUs: round2(Math.min(...xrpUs) - Math.min(...read)),
      cpuOverUs: round2(median(xrpCpu.map((x, i) => x - readCpu[i]))),
      rounds,
      perRound,
      pageSize: PAGE_SIZE,
    };
  } finally {
    xrp.close();
    closeSync(fd);
    rmSync(path, { force: true });
  }
}
