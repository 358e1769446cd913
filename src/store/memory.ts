// The memory this process may use, and the store's default `cacheSize`
// from it.
//
// The limit is the memory cgroup's where there is one (a container's, a
// systemd unit's), since the kernel counts the page cache of the files a
// cgroup reads against that limit too, and reclaims or kills inside it:
//   v1: memory.limit_in_bytes of the process's cgroup in the `memory`
//       hierarchy, and of each cgroup above it (a parent's limit binds its
//       children), read under the hierarchy's mount;
//   v2: memory.max of the process's cgroup and of each one above it.
// The path comes from /proc/self/cgroup. A cgroup namespace shows the
// process at "/": its limit is then the one at the mount's root. Without a
// limit (or one above the machine's memory), the machine's memory.
//
// The default cacheSize is a quarter of that, and at most half of what is
// left beside RUNTIME_RESERVE. The rest is for what the store's cache must
// leave room for: the process's own heap and code, and in buffered mode
// the kernel's page cache, which holds the leaves the store does not keep
// (pager.ts) and is charged to the same cgroup. A quarter of a small
// container (64 MiB of 256) still holds the branch levels of a tree of
// about 8 GiB at 4 KiB pages, and on a large machine it is only a bound:
// the cache grows to it only as pages are read. In a smaller one the
// runtime is most of the limit: in bench:memory's 123 MiB cgroup a quarter
// (30.7 MiB) left Node too little, and getMany on the 512-byte tree went
// from 36,000 lookups a second to 224 once the cache filled (the kernel
// reclaiming Node's own code pages, charged as page cache, over and over);
// at 13.5 MiB it ran at 30,000.
import { readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { posix } from 'node:path';

/** A share of the memory limit: see above. */
export const CACHE_SHARE = 1 / 4;
/**
 * What the runtime keeps resident beside the store's cache: Node with
 * xrpkv loaded is about 56 MiB (some 30 of it its mapped code, which a
 * cgroup charges as page cache), and its heap grows by tens of MiB under
 * load (getMany of 64: 30 MiB).
 */
export const RUNTIME_RESERVE = 96 * 2 ** 20;

export interface MemoryLimit {
  bytes: number;
  /** Where it comes from: a cgroup file, or `the machine's memory`. */
  source: string;
}

/** Reads a file's text, or undefined when it cannot be read. */
export type ReadText = (path: string) => string | undefined;

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** A limit file's value in bytes; undefined for `max`, unreadable or absurd (v1's "no limit" is 2^63 less a page). */
function limitValue(text: string | undefined): number | undefined {
  const t = text?.trim();
  if (t === undefined || t === '' || t === 'max') return undefined;
  const n = Number(t);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** `path` and each cgroup above it, deepest first: /a/b, /a, /. */
function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = posix.normalize(path); ; p = posix.dirname(p)) {
    out.push(p);
    if (p === '/' || p === '.') return out;
  }
}

/**
 * The tightest limit among `file` in the cgroup at `path` (under `mount`) and
 * every cgroup above it; when the process's own cgroup is not there (a
 * cgroup namespace), the one at the mount's root.
 */
function cgroupLimit(read: ReadText, mount: string, path: string, file: string): MemoryLimit | undefined {
  let best: MemoryLimit | undefined;
  const own = posix.join(mount, path, file);
  const paths = read(own) === undefined ? ['/'] : ancestors(path);
  for (const p of paths) {
    const at = posix.join(mount, p, file);
    const bytes = limitValue(read(at));
    if (bytes !== undefined && (best === undefined || bytes < best.bytes)) best = { bytes, source: at };
  }
  return best;
}

/**
 * The memory this process may use: its cgroup's limit (v1 or v2), else the
 * machine's memory, whichever is smaller. `read` and `machine` are for tests.
 */
export function memoryLimit(read: ReadText = readText, machine: number = totalmem(), root = '/sys/fs/cgroup'): MemoryLimit {
  let limit: MemoryLimit | undefined;
  for (const line of (read('/proc/self/cgroup') ?? '').split('\n')) {
    // hierarchy-ID:controllers:path; v2's line is 0::path.
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, controllers, path] = m;
    let found: MemoryLimit | undefined;
    if (controllers.split(',').includes('memory')) found = cgroupLimit(read, posix.join(root, 'memory'), path, 'memory.limit_in_bytes');
    else if (id === '0' && controllers === '') found = cgroupLimit(read, root, path, 'memory.max');
    if (found && (limit === undefined || found.bytes < limit.bytes)) limit = found;
  }
  if (limit === undefined || limit.bytes >= machine) return { bytes: machine, source: "the machine's memory" };
  return limit;
}

export const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * Whether a file of `fileBytes` fits in the memory the kernel's page cache
 * can give it: half of what the process may use beyond the store's own
 * cache (`cacheSize`). Both `direct`'s default and buffered read-ahead
 * (prefetch.ts) follow it; `text` says it, for their reasons.
 */
export function fileFits(fileBytes: number, cacheSize: number, limit: MemoryLimit): { fits: boolean; text: string } {
  const room = Math.max(0, limit.bytes - cacheSize) / 2;
  const fits = fileBytes <= room;
  return { fits, text: `the file (${mib(fileBytes)}) ${fits ? 'fits in' : 'is larger than'} half the memory left beside the store's cache (${mib(room)}, from ${limit.source})` };
}

/**
 * `direct`'s default for the file at `path` as it is now (a missing one is
 * new, and small): O_DIRECT where the file system allows it (`auto`) for a
 * file larger than the memory the page cache can give it (`fileFits`),
 * else buffered. `directWhy` says which, for `stats().access`. Buffered
 * reads of such a file churn the page cache, where the store's own cache
 * keeps what lookups reuse (the branch pages) and chains reach the device:
 * bench:memory, 8,000,000 keys in a memory cgroup of an eighth of the file,
 * getMany of 64 with `lookup: 'auto'`: 42,789 lookups/s buffered, 67,453
 * direct (docs/RESULTS.md). A file that fits stays buffered: the kernel's
 * cache outlives the process.
 */
export function defaultDirect(path: string, cacheSize: number, limit: MemoryLimit): { direct: 'auto' | false; directWhy: string } {
  let fileBytes = 0;
  try {
    fileBytes = statSync(path).size;
  } catch {
    // Missing (a new file), or not readable: opening it says why.
  }
  const { fits, text } = fileFits(fileBytes, cacheSize, limit);
  return fits ? { direct: false, directWhy: `direct I/O by default only for a larger file: ${text}` } : { direct: 'auto', directWhy: `direct I/O by default: ${text}` };
}

/**
 * The default `cacheSize`, in whole KiB: a quarter of `memoryLimit()`, or
 * half of what it leaves beside RUNTIME_RESERVE when that is less (never
 * below a sixteenth of the limit: a process in less than the reserve has
 * little to share either way).
 */
export function defaultCacheSize(limit: MemoryLimit = memoryLimit()): number {
  const beside = Math.max((limit.bytes - RUNTIME_RESERVE) / 2, limit.bytes / 16);
  return Math.floor(Math.min(limit.bytes * CACHE_SHARE, beside) / 1024) * 1024;
}
