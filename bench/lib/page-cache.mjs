// Dropping the kernel's page cache, for cold-cache runs: `sync`, then
// `N > /proc/sys/vm/drop_caches` (3 by default; 1 for the page cache alone). Needs root (and a writable /proc/sys).
// Pages a process still maps are not dropped: close mmap-ed stores first.
import { writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

/** Whether this process may try (it is root). */
export const canDropPageCache = () => typeof process.getuid === 'function' && process.getuid() === 0;

/**
 * Drops the page cache (`what` 1), or it and the dentry and inode caches
 * (3, the default); returns `{ dropped: true }` or `{ dropped: false, reason }`.
 */
export function dropPageCache(what = 3) {
  if (!canDropPageCache()) return { dropped: false, reason: 'needs root to drop the page cache' };
  try {
    execFileSync('sync');
    writeFileSync('/proc/sys/vm/drop_caches', `${what}\n`);
    return { dropped: true };
  } catch (e) {
    return { dropped: false, reason: `could not drop the page cache: ${e.message}` };
  }
}
