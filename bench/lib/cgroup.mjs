// A memory cgroup (v1) for benchmark readers: a child of the `memory`
// hierarchy's root with `memory.limit_in_bytes` set, which a process joins
// before it starts (a shell writes its own pid to cgroup.procs, then execs
// the reader), so every page the reader touches is charged to it from its
// first instruction: its heap and, the point of it, the page cache of the
// files it reads (v1 charges a cache page to the cgroup of the process that
// brought it in). Root only; cgroup v2 is not handled (this machine and
// the CI machine mount v1).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const V1_MEMORY = '/sys/fs/cgroup/memory';

/** Why a limited cgroup cannot be made here, or undefined when it can. */
export function cgroupUnavailable(root = V1_MEMORY) {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root to create a memory cgroup';
  if (!existsSync(join(root, 'memory.limit_in_bytes'))) return `no cgroup v1 memory hierarchy at ${root}`;
  return undefined;
}

/**
 * A new cgroup limited to `limitBytes`, or `{ reason }` when one cannot be
 * made. `wrap(cmd, args)` gives the command that runs `cmd args` inside it;
 * `peakBytes()` / `resetPeak()` read and clear its high-water mark (pages
 * of cache included); `remove()` deletes it once its processes have ended.
 */
export function memoryCgroup(limitBytes, name = `xrpkv-bench-${process.pid}`, root = V1_MEMORY) {
  const reason = cgroupUnavailable(root);
  if (reason) return { reason };
  const dir = join(root, name);
  try {
    mkdirSync(dir);
    writeFileSync(join(dir, 'memory.limit_in_bytes'), `${limitBytes}\n`);
  } catch (e) {
    try {
      rmdirSync(dir);
    } catch {}
    return { reason: `could not create ${dir}: ${e.message}` };
  }
  const file = (f) => join(dir, f);
  return {
    dir,
    limitBytes: Number(readFileSync(file('memory.limit_in_bytes'), 'utf8')),
    // `$0` is cgroup.procs: the shell joins, then becomes the reader (same pid).
    wrap: (cmd, args) => ['/bin/sh', ['-c', 'echo $$ > "$0" && exec "$@"', file('cgroup.procs'), cmd, ...args]],
    peakBytes: () => Number(readFileSync(file('memory.max_usage_in_bytes'), 'utf8')),
    resetPeak: () => writeFileSync(file('memory.max_usage_in_bytes'), '0\n'),
    failures: () => Number(readFileSync(file('memory.failcnt'), 'utf8')),
    remove() {
      try {
        rmdirSync(dir);
      } catch (e) {
        console.error(`could not remove ${dir}: ${e.message}`);
      }
    },
  };
}
