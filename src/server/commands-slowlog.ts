// SLOWLOG and LATENCY, over slow-commands.ts. Replies are Redis 7.0's;
// LATENCY DOCTOR's and GRAPH's text, written for people, are xrpkv's own
// once there are events (with none, Redis's words), and HISTOGRAM's buckets
// are powers of two microseconds (Redis's HDR histogram rounds its upper
// ones: 33, 66, 132...).
import { ReplyError, command, int64, word, subcommandSyntax } from './command-spec.js';
import { OK, array, bulk, helpLines, integer, map, verbatim, type Protocol, type Reply } from './resp-writer.js';
import type { SlowCommands } from './slow-commands.js';

const SLOWLOG_HELP = [
  'SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'GET [<count>]',
  '    Return top <count> entries from the slowlog (default: 10, -1 mean all).',
  '    Entries are made of:',
  '    id, timestamp, time in microseconds, arguments array, client IP and port,',
  '    client name',
  'LEN',
  '    Return the length of the slowlog.',
  'RESET',
  '    Reset the slowlog.',
  'HELP',
  '    Prints this help.',
];

export const SLOWLOG = command(
  'slowlog',
  {
    arity: -2,
    flags: ['admin', 'random', 'loading', 'stale'],
    group: 'server',
    summary: 'GET [count], LEN, RESET: the commands that ran at least slowlog-log-slower-than microseconds, newest first.',
    since: '2.2.12',
    subcommands: { get: -2, len: 2, reset: 2, help: 2 },
  },
  ({ server }, args) => {
    const slow = server.slow;
    switch (word(args[1])) {
      case 'help':
        return helpLines(SLOWLOG_HELP);
      case 'len':
        return integer(slow.length);
      case 'reset':
        slow.reset();
        return OK;
      default: {
        if (args.length > 3) throw subcommandSyntax(args, 'SLOWLOG');
        let count = 10n;
        if (args.length === 3) {
          try {
            count = int64(args[2]!);
          } catch {
            count = -2n;
          }
          if (count < -1n) throw new ReplyError('ERR count should be greater than or equal to -1');
        }
        return array(
          slow.entries(count > 1_000_000_000n ? -1 : Number(count)).map((e) =>
            array([integer(e.id), integer(e.time), integer(e.micros), array(e.args.map((a) => bulk(a))), bulk(e.addr), bulk(e.name)]),
          ),
        );
      }
    }
  },
);

const LATENCY_HELP = [
  'LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'DOCTOR',
  '    Return a human readable latency analysis report.',
  'GRAPH <event>',
  '    Return an ASCII latency graph for the <event> class.',
  'HISTORY <event>',
  '    Return time-latency samples for the <event> class.',
  'LATEST',
  '    Return the latest latency samples for all events.',
  'RESET [<event> ...]',
  '    Reset latency data of one or more <event> classes.',
  '    (default: reset all data for all event classes)',
  'HISTOGRAM [COMMAND ...]',
  '    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.',
  '    If no commands are specified then all histograms are replied.',
  'HELP',
  '    Prints this help.',
];

const DISABLED =
  'I\'m sorry, Dave, I can\'t do that. Latency monitoring is disabled in this Redis instance. You may use "CONFIG SET latency-monitor-threshold <milliseconds>." in order to enable it. If we weren\'t in a deep space mission I\'d suggest to take a look at https://redis.io/topics/latency-monitor.\n';
const NO_SPIKES =
  'Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n';

/** LATENCY DOCTOR: Redis's words where there is nothing to say; else each event's samples, average and worst. */
function doctor(slow: SlowCommands, threshold: number): string {
  if (threshold === 0) return DISABLED;
  if (slow.events.size === 0) return NO_SPIKES;
  const lines = [`Latency events over latency-monitor-threshold (${threshold} ms), since the server started or LATENCY RESET:`, ''];
  let n = 1;
  for (const [name, e] of slow.events) {
    const avg = Math.round(e.samples.reduce((t, [, ms]) => t + ms, 0) / e.samples.length);
    lines.push(`${n++}. ${name}: ${e.samples.length} latency spikes (average ${avg}ms, worst ${e.max}ms); the most recent at ${new Date(e.samples[e.samples.length - 1]![0] * 1000).toISOString()}.`);
  }
  lines.push('', 'Events named command and fast-command are commands that ran that long: SLOWLOG GET names them (if slowlog-log-slower-than is low enough).');
  return `${lines.join('\n')}\n`;
}

/** LATENCY GRAPH: one line per sample, oldest first, a bar as long as its share of the worst. */
function graph(name: string, slow: SlowCommands): string {
  const e = slow.events.get(name)!;
  const rows = e.samples.map(([t, ms]) => `${new Date(t * 1000).toISOString()} ${String(ms).padStart(6)} ms ${'#'.repeat(Math.max(1, Math.round((40 * ms) / e.max)))}`);
  return `${name} - high ${e.max} ms, low ${Math.min(...e.samples.map(([, ms]) => ms))} ms (all time high ${e.max} ms)\n${rows.join('\n')}\n`;
}

function histograms(slow: SlowCommands, names: string[], proto: Protocol): Reply {
  const chosen = names.length === 0 ? [...slow.histograms.keys()] : names.filter((n, i) => slow.histograms.has(n) && names.indexOf(n) === i);
  return map(
    chosen.map((name): [Reply, Reply] => {
      const h = slow.histograms.get(name)!;
      let total = 0;
      const buckets: [Reply, Reply][] = [];
      h.forEach((count, i) => {
        total += count;
        buckets.push([integer(2 ** i), integer(Math.round(total))]);
      });
      return [bulk(name), map([[bulk('calls'), integer(Math.round(total))], [bulk('histogram_usec'), map(buckets, proto)]], proto)];
    }),
    proto,
  );
}

export const LATENCY = command(
  'latency',
  {
    arity: -2,
    flags: ['admin', 'noscript', 'loading', 'stale'],
    group: 'server',
    summary: 'LATEST, HISTORY, RESET, DOCTOR, GRAPH: commands over latency-monitor-threshold; HISTOGRAM: how long each command takes.',
    since: '2.8.13',
    subcommands: { doctor: 2, graph: 3, history: 3, latest: 2, reset: -2, histogram: -2, help: 2 },
  },
  ({ server, client }, args) => {
    const slow = server.slow;
    const event = () => args[2]!.toString();
    switch (word(args[1])) {
      case 'help':
        return helpLines(LATENCY_HELP);
      case 'latest':
        return array([...slow.events].map(([name, e]) => {
          const [time, ms] = e.samples[e.samples.length - 1]!;
          return array([bulk(name), integer(time), integer(ms), integer(e.max)]);
        }));
      case 'history':
        return array((slow.events.get(event())?.samples ?? []).map(([t, ms]) => array([integer(t), integer(ms)])));
      case 'reset': {
        const names = args.length === 2 ? [...slow.events.keys()] : args.slice(2).map((a) => a.toString());
        let n = 0;
        for (const name of names) if (slow.events.delete(name)) n++;
        return integer(n);
      }
      case 'doctor':
        return verbatim(doctor(slow, server.config.latencyMonitorThreshold), client.proto);
      case 'graph':
        if (!slow.events.has(event())) throw new ReplyError(`ERR No samples available for event '${event()}'`);
        return verbatim(graph(event(), slow), client.proto);
      default:
        return histograms(slow, args.slice(2).map((a) => a.toString().toLowerCase()), client.proto);
    }
  },
);

export const SLOW_COMMANDS = [SLOWLOG, LATENCY];
