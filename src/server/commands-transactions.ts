// MULTI, EXEC, DISCARD, WATCH, UNWATCH (transactions.ts has the state and
// what must hold). EXEC runs the queued commands in order inside one store
// transaction, each on the transaction's data (so each sees the ones before
// it), and answers once that commit is durable. A command that fails at run
// time (WRONGTYPE, a bad number) answers its error and leaves nothing
// behind, and the others still apply, as in Redis.
import { ReplyError, command, commandKeys, errorMessage, type CommandSpec, type DataContext } from './command-spec.js';
import { OK, array, error, nullArray, type Reply } from './resp-writer.js';
import { expiredSince, type QueuedCommand } from './transactions.js';

const control = { controlsTransaction: true as const };

export const MULTI = command(
  'multi',
  { arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Starts a transaction: commands are queued until EXEC.', since: '1.2.0', ...control },
  ({ client }) => {
    if (client.transaction.queue !== undefined) throw new ReplyError('ERR MULTI calls can not be nested');
    client.transaction.queue = [];
    client.transaction.refused = false;
    return OK;
  },
);


export const EXEC = command(
  'exec',
  {
    arity: 1,
    flags: ['noscript', 'loading', 'stale', 'skip_slowlog'],
    group: 'transactions',
    summary: 'Runs the queued commands in one commit; nil when a watched key changed, EXECABORT when a command was refused while queued.',
    since: '1.2.0',
    access: 'write',
    ...control,
  },
  (ctx) => {
    const { client, keyspace } = ctx;
    const state = client.transaction;
    const queue = state.queue;
    if (queue === undefined) throw new ReplyError('ERR EXEC without MULTI');
    state.queue = undefined;
    if (state.refused) {
      state.refused = false;
      keyspace.watches.unwatchAll(state);
      throw new ReplyError('EXECABORT Transaction discarded because of previous errors.');
    }
    const done = keyspace.writingAlone(ctx, (cmd) => {
      // Here, in commit order: every change ordered before this transaction has told WATCH by now.
      const changed = state.dirty || expiredSince(state, cmd.data.now);
      keyspace.watches.unwatchAll(state);
      if (changed) return nullArray(cmd.proto);
      return array(queue.map((queued) => runQueued(cmd, queued)));
    }, queue.flatMap(({ spec, args }) => commandKeys(spec, args)));
    // A script may write keys it did not declare.
    if (queue.some(({ spec }) => spec.group === 'scripting')) keyspace.anyKeyUntil(done);
    return done;
  },
);

/** One queued command inside EXEC's transaction; its writes are undone if it fails. */
function runQueued(cmd: DataContext, { spec, args }: QueuedCommand): Reply {
  if (spec.data === undefined) return runPlain(cmd, spec, args);
  cmd.keyspace.modifier = cmd.client;
  const weight = cmd.server.stats.timingWeight(spec.fast);
  const started = weight > 0 ? performance.now() : -1;
  try {
    return cmd.data.nested(() => spec.data!(cmd, args));
  } catch (e) {
    return error(errorMessage(e));
  } finally {
    if (started >= 0) cmd.server.slow.ran({ name: spec.name, args, fast: spec.fast, client: cmd.client }, (performance.now() - started) * 1000, weight);
  }
}

/** A command that touches no data (PING, INFO, CLIENT ...): it runs as it would alone. */
function runPlain(cmd: DataContext, spec: CommandSpec, args: Buffer[]): Reply {
  try {
    const reply = spec.run(cmd, args);
    if (typeof reply === 'string' || Buffer.isBuffer(reply)) return reply;
    reply.catch(() => undefined);
    return error(`ERR ${spec.name.toUpperCase()} cannot run inside MULTI on xrpkv`);
  } catch (e) {
    return error(errorMessage(e));
  }
}

export const DISCARD = command(
  'discard',
  { arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Drops the queued commands and the watched keys.', since: '2.0.0', ...control },
  ({ client, keyspace }) => {
    const state = client.transaction;
    if (state.queue === undefined) throw new ReplyError('ERR DISCARD without MULTI');
    state.queue = undefined;
    state.refused = false;
    keyspace.watches.unwatchAll(state);
    return OK;
  },
);

export const WATCH = command(
  'watch',
  {
    arity: -2,
    flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'],
    firstKey: 1,
    lastKey: -1,
    step: 1,
    group: 'transactions',
    summary: "Watches keys: the next EXEC fails (nil) if any of them changes first.",
    since: '2.2.0',
    // After the connection's own writes: they come before the watch, and do not fail it.
    access: 'read',
    ...control,
  },
  (ctx, args) => {
    const state = ctx.client.transaction;
    if (state.queue !== undefined) throw new ReplyError('ERR WATCH inside MULTI is not allowed');
    const { data } = ctx.keyspace.reading(ctx);
    // Watched from now: every write that runs from now on tells it. It answers
    // once every write issued before it is published, so that what the client
    // reads next includes every change that ran before the watch began.
    for (const key of args.slice(1)) ctx.keyspace.watches.watch(state, key, data.deadline(key));
    return ctx.keyspace.issuedSoFar().then(() => OK);
  },
);

export const UNWATCH = command(
  'unwatch',
  // Queued inside MULTI, as in Redis (where it then changes nothing: EXEC forgets the keys anyway).
  { arity: 1, flags: ['noscript', 'loading', 'stale', 'fast', 'allow_busy'], group: 'transactions', summary: 'Forgets every watched key.', since: '2.2.0' },
  ({ client, keyspace }) => {
    keyspace.watches.unwatchAll(client.transaction);
    return OK;
  },
);

export const TRANSACTION_COMMANDS = [MULTI, EXEC, DISCARD, WATCH, UNWATCH];
