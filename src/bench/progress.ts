// Progress on stderr while the benchmark runs: a bar on a terminal, plain
// lines otherwise (a log file gets one line per step, not redraws).
import cliProgress from 'cli-progress';

export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private readonly tty = Boolean(process.stderr.isTTY);

  /** Starts a step of `total` units, labelled `label`. */
  start(label: string, total: number): void {
    this.stop();
    if (!this.tty) {
      process.stderr.write(`${label}...\n`);
      return;
    }
    // A low frame rate: redraws run on the event loop the async modes measure.
    this.bar = new cliProgress.SingleBar(
      { format: '{label} [{bar}] {percentage}% | {value}/{total} | {detail}', fps: 4, clearOnComplete: true, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(total, 0, { label, detail: '' });
  }

  update(value: number, detail = ''): void {
    this.bar?.update(value, { detail });
    // Tree builds block the event loop, where the bar's own redraw timer runs.
    this.bar?.render();
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }

  /** A line that stays (above the bar on a terminal). */
  log(line: string): void {
    if (this.bar) {
      this.bar.stop();
      this.bar = undefined;
    }
    process.stderr.write(`${line}\n`);
  }
}
