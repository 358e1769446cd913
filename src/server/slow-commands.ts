// SLOWLOG's entries, LATENCY's events and LATENCY HISTOGRAM's counts, from
// the time commands take to run (their work on the data, not the wait for
// it to be durable), as Redis keeps them. What is timed: every command not
// flagged `fast` (KEYS, SORT, LRANGE, EVAL, MSET, DEL...), where its work
// runs (session.ts for reads, write-group.ts for writes, EXEC's
// transaction); a `fast` one only one time in TIMED_EVERY (stats.ts), as
// timing costs about a tenth of a fast command. So a slow run of a fast
// command is logged when it is one of those sampled, and the histograms of
// fast commands are estimates (each sample counted TIMED_EVERY times).
import type { ServerConfig } from './config.js';
import { redacted } from './monitor.js';

/** Arguments a slow-log entry keeps, and bytes of each (Redis's SLOWLOG_ENTRY_MAX_ARGC and _STRING). */
const MAX_ARGS = 32;
const MAX_ARG_BYTES = 128;
/** Samples an event keeps, one per second at most (Redis's LATENCY_TS_LEN). */
const EVENT_SAMPLES = 160;

export interface SlowEntry {
  id: number;
  /** Unix time (s) it ran at. */
  time: number;
  micros: number;
  args: Buffer[];
  addr: string;
  name: string;
}

export interface LatencyEvent {
  /** [unix time (s), ms] each, the largest of each second, oldest first. */
  samples: [number, number][];
  max: number;
}

/** What runs: a command's name, arguments, and who sent it. */
export interface Run {
  name: string;
  args: readonly Buffer[];
  fast: boolean;
  client: { readonly addr: string; readonly name: string };
}

export class SlowCommands {
  /** Newest first. */
  private log: SlowEntry[] = [];
  private nextId = 0;
  readonly events = new Map<string, LatencyEvent>();
  /** Per command, runs by power-of-two bucket of microseconds (bucket i: up to 2^i µs). */
  readonly histograms = new Map<string, number[]>();

  constructor(private readonly config: ServerConfig) {}

  /** `run` took `micros`; it stands for `weight` runs in the histograms (a sampled fast command's). */
  ran(run: Run, micros: number, weight: number): void {
    const bucket = Math.max(0, Math.ceil(Math.log2(Math.max(micros, 1))));
    let h = this.histograms.get(run.name);
    if (h === undefined) this.histograms.set(run.name, (h = []));
    while (h.length <= bucket) h.push(0);
    h[bucket]! += weight;
    const { slowlogLogSlowerThan: slower, slowlogMaxLen: maxLen, latencyMonitorThreshold: threshold } = this.config;
    if (slower >= 0 && micros >= slower) this.logRun(run, micros, maxLen);
    if (threshold > 0 && micros >= threshold * 1000) this.event(run.fast ? 'fast-command' : 'command', Math.round(micros / 1000));
  }

  private logRun(run: Run, micros: number, maxLen: number): void {
    const argc = Math.min(run.args.length, MAX_ARGS);
    const args: Buffer[] = [];
    for (let i = 0; i < argc; i++) {
      if (argc !== run.args.length && i === argc - 1) {
        args.push(Buffer.from(`... (${run.args.length - argc + 1} more arguments)`));
        break;
      }
      const a = run.args[i]!;
      if (redacted(run.name, run.args, i)) args.push(Buffer.from('(redacted)'));
      else if (a.length > MAX_ARG_BYTES) args.push(Buffer.concat([a.subarray(0, MAX_ARG_BYTES), Buffer.from(`... (${a.length - MAX_ARG_BYTES} more bytes)`)]));
      else args.push(Buffer.from(a));
    }
    this.log.unshift({ id: this.nextId++, time: Math.floor(Date.now() / 1000), micros: Math.round(micros), args, addr: run.client.addr, name: run.client.name });
    if (this.log.length > maxLen) this.log.length = maxLen;
  }

  private event(name: string, ms: number): void {
    const now = Math.floor(Date.now() / 1000);
    let e = this.events.get(name);
    if (e === undefined) this.events.set(name, (e = { samples: [], max: 0 }));
    const last = e.samples[e.samples.length - 1];
    if (last !== undefined && last[0] === now) last[1] = Math.max(last[1], ms);
    else e.samples.push([now, ms]);
    if (e.samples.length > EVENT_SAMPLES) e.samples.shift();
    e.max = Math.max(e.max, ms);
  }

  /** The newest `count` entries (all for -1), newest first. */
  entries(count: number): SlowEntry[] {
    return count < 0 ? [...this.log] : this.log.slice(0, count);
  }

  get length(): number {
    return this.log.length;
  }

  reset(): void {
    this.log = [];
  }
}
