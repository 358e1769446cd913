// What INFO's stats, commandstats and errorstats count. Counting must not
// slow the commands it counts: calls and errors are counted on every
// command (an increment), but the time a command takes (its synchronous
// part, as Redis times it) is measured on every TIMED_EVERY-th command and
// counted TIMED_EVERY times, so `usec` is an estimate.
// instantaneous_ops_per_sec is Redis's: commands over the last 1.6 s,
// sampled every 100 ms.

/** One command's counts, as commandstats shows them. */
export interface CommandStat {
  calls: number;
  /** Microseconds spent, estimated from the timed calls. */
  usec: number;
  /** Refused before running (arity, MULTI's refusals). */
  rejected: number;
  /** Ran and answered an error. */
  failed: number;
}

/** Time one command in this many. */
export const TIMED_EVERY = 16;
const SAMPLES = 16;
const SAMPLE_MS = 100;

export class ServerStats {
  readonly commands = new Map<string, CommandStat>();
  /** Error replies by their code (the first word: ERR, WRONGTYPE, ...). */
  readonly errors = new Map<string, number>();
  errorReplies = 0;
  private sinceTimed = 0;
  private readonly samples: { at: number; commands: number }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly processed: () => number) {}

  command(name: string): CommandStat {
    let s = this.commands.get(name);
    if (s === undefined) this.commands.set(name, (s = { calls: 0, usec: 0, rejected: 0, failed: 0 }));
    return s;
  }

  /** CONFIG RESETSTAT: counts start again (the ops/sec samples go on). */
  reset(): void {
    this.commands.clear();
    this.errors.clear();
    this.errorReplies = 0;
  }

  /**
   * How many runs this run of a command stands for when timed, 0 for not
   * timed: every command that is not `fast` (1), one fast command in
   * TIMED_EVERY (TIMED_EVERY), since timing costs about a tenth of one.
   */
  timingWeight(fast: boolean): number {
    if (!fast) return 1;
    if (++this.sinceTimed < TIMED_EVERY) return 0;
    this.sinceTimed = 0;
    return TIMED_EVERY;
  }

  /** An error reply was sent. */
  error(message: string): void {
    this.errorReplies++;
    const code = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  /** Starts sampling the command count for instantaneous_ops_per_sec. */
  start(): void {
    this.timer ??= setInterval(() => {
      this.samples.push({ at: Date.now(), commands: this.processed() });
      if (this.samples.length > SAMPLES) this.samples.shift();
    }, SAMPLE_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  opsPerSecond(): number {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at === first.at) return 0;
    return Math.round(((last.commands - first.commands) * 1000) / (last.at - first.at));
  }
}
