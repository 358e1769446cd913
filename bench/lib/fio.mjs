// The device's own random-read rate, measured with fio on a benchmark's file:
// 4 KiB reads at random offsets with O_DIRECT (no page cache, so every read
// reaches the device), read-only, at a given queue depth.
import { execFileSync } from 'node:child_process';

/** Why fio cannot be run, or undefined. */
export function fioUnavailable() {
  try {
    execFileSync('fio', ['--version'], { stdio: 'pipe' });
    return undefined;
  } catch {
    return 'fio is not installed (scripts/setup.sh installs it)';
  }
}

/**
 * `{ iops, p50Us, p99Us, engine }` of 4 KiB O_DIRECT random reads of `file`
 * at `depth` reads in flight, for `seconds`; io_uring, else libaio.
 */
export function deviceRate(file, depth, seconds) {
  let last;
  for (const engine of ['io_uring', 'libaio']) {
    try {
      const out = execFileSync(
        'fio',
        [
          '--name=randread',
          `--filename=${file}`,
          '--readonly',
          '--rw=randread',
          '--bs=4k',
          '--direct=1',
          `--ioengine=${engine}`,
          `--iodepth=${depth}`,
          `--runtime=${seconds}`,
          '--time_based',
          '--randrepeat=0',
          '--output-format=json',
        ],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const read = JSON.parse(out.slice(out.indexOf('{'))).jobs[0].read;
      const pct = read.clat_ns.percentile ?? {};
      return { iops: read.iops, p50Us: pct['50.000000'] / 1000, p99Us: pct['99.000000'] / 1000, engine };
    } catch (e) {
      last = e;
    }
  }
  throw new Error(`fio failed on ${file}: ${last.stderr || last.message}`);
}
