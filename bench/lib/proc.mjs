// What the kernel counts for a process: /proc/<pid>/io (read calls and bytes
// read from storage, every thread's summed, io_uring workers included) and
// /proc/<pid>/status (peak resident memory). Linux only.
import { readFileSync } from 'node:fs';

/** The `name: value` lines of a /proc file as numbers (status's "kB" suffix dropped). */
function fields(text) {
  const out = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(line);
    if (m) out[m[1]] = Number(m[2]);
  }
  return out;
}

/**
 * `{ syscr, readBytes, majorFaults }` of `pid`: read system calls (pread and
 * read; io_uring reads are not system calls and are not counted), bytes the
 * process caused to be read from storage (page-cache misses, O_DIRECT and
 * readahead alike; page faults on a mapped file too), and major page faults.
 */
export function ioCounters(pid = 'self') {
  const io = fields(readFileSync(`/proc/${pid}/io`, 'utf8'));
  // /proc/<pid>/stat: field 12 is majflt; the command name (field 2) may hold spaces, so split after its ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { syscr: io.syscr, readBytes: io.read_bytes, majorFaults: Number(rest[9]) };
}

/** Counter deltas `b - a`. */
export const ioDelta = (a, b) => Object.fromEntries(Object.keys(a).map((k) => [k, b[k] - a[k]]));

/** Peak resident memory of `pid` in bytes (VmHWM). */
export function peakRss(pid = 'self') {
  return fields(readFileSync(`/proc/${pid}/status`, 'utf8')).VmHWM * 1024;
}
