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
import { errorMessage, type Context, type DataContext } from './command-spec.js';
import type { Data } from './data.js';
import { error, type Reply } from './resp-writer.js';

/** One command of a group: what it runs, and once it has run, its reply. */
interface Member {
  ctx: Context;
  proto: DataContext['proto'];
  fn: (cmd: DataContext) => Reply;
  reply: Reply | undefined;
}

export class WriteGroup {
  private readonly members: Member[] = [];
  /** Set once the store runs the group: nothing may join it after. */
  sealed = false;
  /** Settles once the group's commit is durable (rejects when it failed). */
  done: Promise<void> = Promise.resolve();
  /** The keys each command may write, counted in flight by keyspace.ts until the group settles. */
  readonly keys: (readonly Buffer[])[] = [];
  /** keyspace.ts's count of the writes sharing the group's store promise (in flight, then acknowledged unless failed). */
  counted: { count: number; failed: number } | undefined;

  /** Adds a command; its reply, once the group's commit is durable. */
  add(ctx: Context, fn: (cmd: DataContext) => Reply): Promise<Reply> {
    const member: Member = { ctx, proto: ctx.client.proto, fn, reply: undefined };
    this.members.push(member);
    return this.done.then(() => member.reply!);
  }

  /** Runs every command on `data` (the group's transaction), each nested (Data.nested): one that throws leaves nothing and answers its error. */
  run(data: Data): void {
    this.sealed = true;
    let failed = 0;
    for (const member of this.members) {
      // A literal, not a spread: it runs for every command, and a spread copies by looking up each key.
      const { client, keyspace, server } = member.ctx;
      const cmd: DataContext = { client, keyspace, server, proto: member.proto, data };
      try {
        member.reply = data.nested(() => member.fn(cmd));
      } catch (e) {
        member.reply = error(errorMessage(e));
        failed++;
      }
    }
    if (this.counted) this.counted.failed = failed;
  }
}
