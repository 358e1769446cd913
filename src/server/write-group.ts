// The data-type writes of one event-loop turn (HSET, LPUSH, SADD, ZADD,
// INCR, SET with options...: every write command but a plain SET or MSET
// and EXEC), from every connection, as one store transaction: one Data, one
// write of the layout's counters, one promise from the store, where a
// transaction per command cost a callback overlay, a counters record and a
// chain of promises each.
//
// What must hold, as for a transaction per command:
// - commands apply in the order they were issued, each on top of the ones
//   before it; the group is one write in the store's queue, so a write
//   issued after the group was opened but before a command joins it must
//   close it (keyspace.ts closes it on every other write it issues);
// - a command that fails (a ReplyError, or a page it reads is damaged)
//   leaves nothing behind and fails only its own reply: each runs nested
//   in the transaction (Data.nested, as EXEC's commands do), whose writes
//   are undone if it throws, and its error is its reply;
// - every reply is given only once the commit holding the group is durable;
//   if the commit fails, every command of the group fails with it.
// The store may run the callback twice (writer.ts: a write before it in the
// same commit failed on a damaged page): every command then runs again, and
// only the last run's replies count.
import { errorMessage, type Context, type DataContext, type TimedCommand } from './command-spec.js';
import type { Data } from './data.js';
import { error, type Protocol, type Reply } from './resp-writer.js';

/** A command on the data as a group runs it: `CommandSpec.data` and its arguments. */
export type GroupCommand = (cmd: DataContext, args: Buffer[]) => Reply;

/**
 * The commands are kept in parallel arrays, by their index in the group,
 * and answered through it (`reply`): a connection answers a run of its
 * commands in one group with one reaction to `done` (session.ts), where an
 * object, a closure and two promises per command were a tenth of HSET's
 * time.
 */
export class WriteGroup {
  private readonly ctxs: Context[] = [];
  /** Each command's client protocol when it was issued: its reply is encoded in it. */
  private readonly protos: Protocol[] = [];
  private readonly commands: GroupCommand[] = [];
  private readonly args: Buffer[][] = [];
  /** Each command's reply, once the group has run (the last run's, if the store ran it twice). */
  private readonly replies: Reply[] = [];
  /** Set once the store runs the group: nothing may join it after. */
  sealed = false;
  /** Settles once the group's commit is durable (rejects when it failed). */
  done: Promise<void> = Promise.resolve();
  /** The keys each command may write, counted in flight by keyspace.ts until the group settles. */
  readonly keys: (readonly Buffer[])[] = [];
  /** keyspace.ts's count of the writes sharing the group's store promise (in flight, then acknowledged unless failed). */
  counted: { count: number; failed: number } | undefined;

  /** Commands in the group: the one just added is at `size - 1`. */
  get size(): number {
    return this.commands.length;
  }

  /** Adds a command; once `done` has resolved, `reply(size - 1)` is its reply. */
  add(ctx: Context, command: GroupCommand, args: Buffer[]): void {
    this.ctxs.push(ctx);
    this.protos.push(ctx.client.proto);
    this.commands.push(command);
    this.args.push(args);
  }

  /** Command `index`'s reply, once `done` has resolved. */
  reply(index: number): Reply {
    return this.replies[index]!;
  }

  /** Runs every command on `data` (the group's transaction), each nested (Data.nested): one that throws leaves nothing and answers its error. */
  run(data: Data): void {
    this.sealed = true;
    let failed = 0;
    const { ctxs, protos, commands, args, replies } = this;
    for (let i = 0; i < commands.length; i++) {
      // A literal, not a spread: it runs for every command, and a spread copies by looking up each key.
      const { client, keyspace, server } = ctxs[i]!;
      const cmd: DataContext = { client, keyspace, server, proto: protos[i]!, data };
      keyspace.modifier = client;
      const command = commands[i]!;
      const commandArgs = args[i]!;
      const { timedAs, fast } = command as TimedCommand;
      const weight = timedAs === undefined ? 0 : server.stats.timingWeight(fast === true);
      const started = weight > 0 ? performance.now() : -1;
      try {
        replies[i] = data.nested(() => command(cmd, commandArgs));
      } catch (e) {
        replies[i] = error(errorMessage(e));
        failed++;
      }
      if (started >= 0) server.slow.ran({ name: timedAs!, args: commandArgs, fast: fast === true, client }, (performance.now() - started) * 1000, weight);
    }
    if (this.counted) this.counted.failed = failed;
  }
}
