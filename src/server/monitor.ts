// MONITOR: connections that receive every command the server runs, as a
// line each, in the order they run: `+<seconds>.<microseconds> [0 <client
// address, or lua>] "name" "arg"...`, bytes quoted as Redis quotes them.
//
// What must hold, as in Redis:
// - a command is shown once it passed its checks and runs (never an unknown
//   command or one with the wrong arguments); commands queued by MULTI
//   when EXEC runs them, just before EXEC; a script's commands as `lua`;
// - passwords never appear: AUTH's arguments and HELLO's after AUTH read
//   "(redacted)";
// - a monitor that stops reading is dropped at its output buffer limit, as
//   any client (session.ts).
import type { Subscriber } from './pubsub.js';
import type { Reply } from './resp-writer.js';

/** What a monitor needs of a connection. */
export type Monitor = Pick<Subscriber, 'deliver'>;

export class Monitors {
  private readonly clients = new Set<Monitor>();

  get size(): number {
    return this.clients.size;
  }

  has(c: Monitor): boolean {
    return this.clients.has(c);
  }

  add(c: Monitor): void {
    this.clients.add(c);
  }

  remove(c: Monitor): void {
    this.clients.delete(c);
  }

  /** Shows command `args` run by `source` (a client's address, or `lua`) to every monitor. */
  feed(source: string, args: readonly Buffer[]): void {
    if (this.clients.size === 0) return;
    const line: Reply = monitorLine(Date.now(), performance.now(), source, args);
    for (const c of this.clients) c.deliver(line);
  }
}

/** The line for `args`, at wall time `ms` (sub-millisecond digits from the monotonic `precise`). */
export function monitorLine(ms: number, precise: number, source: string, args: readonly Buffer[]): string {
  const micros = Math.floor(ms * 1000 + ((precise * 1000) % 1000));
  const seconds = Math.floor(micros / 1e6);
  let line = `+${seconds}.${String(micros % 1e6).padStart(6, '0')} [0 ${source}]`;
  const name = args[0]!.toString('latin1').toLowerCase();
  for (let i = 0; i < args.length; i++) line += ` "${redacted(name, args, i) ? '(redacted)' : quoted(args[i]!)}"`;
  return `${line}\r\n`;
}

/** Whether argument `i` of command `name` is a secret. */
export function redacted(name: string, args: readonly Buffer[], i: number): boolean {
  if (i === 0) return false;
  if (name === 'auth') return true;
  if (name !== 'hello') return false;
  const auth = args.findIndex((a, j) => j > 1 && a.toString('latin1').toLowerCase() === 'auth');
  return auth > 0 && (i === auth + 1 || i === auth + 2);
}

/** Bytes as Redis's sdscatrepr writes them inside quotes. */
function quoted(b: Buffer): string {
  let s = '';
  for (const c of b) {
    if (c === 0x5c) s += '\\\\';
    else if (c === 0x22) s += '\\"';
    else if (c === 0x0a) s += '\\n';
    else if (c === 0x0d) s += '\\r';
    else if (c === 0x09) s += '\\t';
    else if (c === 0x07) s += '\\a';
    else if (c === 0x08) s += '\\b';
    else if (c >= 0x20 && c <= 0x7e) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, '0')}`;
  }
  return s;
}
