// `load`'s progress on stderr: a cli-progress bar over the input's bytes when
// stderr is a terminal, else a plain line every few seconds (a log file or CI
// gets lines it can read, not cursor movements).
import { SingleBar } from 'cli-progress';

export interface Progress {
  /** `bytes` of the input read so far, `rows` loaded so far. */
  update(bytes: number, rows: number): void;
  stop(): void;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}

export interface ProgressOptions {
  /** The input's size in bytes, when known (a file, not a pipe). */
  total?: number;
  stream?: NodeJS.WriteStream;
  /** Between plain lines (default 2000 ms). */
  intervalMs?: number;
  now?: () => number;
}

const nothing: Progress = { update() {}, stop() {} };

/** The line a plain report prints: `load: 45% (1.2 MiB of 2.6 MiB), 12000 rows`. */
export function progressLine(bytes: number, rows: number, total?: number): string {
  const read = total === undefined ? `${formatBytes(bytes)} read` : `${total === 0 ? 100 : Math.floor((100 * bytes) / total)}% (${formatBytes(bytes)} of ${formatBytes(total)})`;
  return `xrpkv load: ${read}, ${rows} rows`;
}

function plain(stream: NodeJS.WriteStream, total: number | undefined, intervalMs: number, now: () => number): Progress {
  let last = now();
  return {
    update(bytes, rows) {
      const t = now();
      if (t - last < intervalMs) return;
      last = t;
      stream.write(progressLine(bytes, rows, total) + '\n');
    },
    stop() {},
  };
}

function bar(stream: NodeJS.WriteStream, total: number | undefined): Progress {
  const format =
    total === undefined
      ? 'load: {done} read | {rows} rows | {duration_formatted}'
      : 'load |{bar}| {percentage}% | {done} of {size} | {rows} rows | ETA {eta_formatted}';
  const b = new SingleBar({ stream, format, hideCursor: true, barsize: 30 });
  b.start(total ?? 1, 0, { done: formatBytes(0), size: formatBytes(total ?? 0), rows: 0 });
  return {
    update(bytes, rows) {
      b.update(total === undefined ? 0 : bytes, { done: formatBytes(bytes), rows });
    },
    stop() {
      b.stop();
    },
  };
}

export function loadProgress(enabled: boolean, o: ProgressOptions = {}): Progress {
  if (!enabled) return nothing;
  const stream = o.stream ?? process.stderr;
  return stream.isTTY ? bar(stream, o.total) : plain(stream, o.total, o.intervalMs ?? 2000, o.now ?? (() => performance.now()));
}
