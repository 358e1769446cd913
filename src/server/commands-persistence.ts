// SAVE, BGSAVE, LASTSAVE and SHUTDOWN. xrpkv has no snapshot to take: a
// write is answered once its commit is durable in the store file. So SAVE
// answers once every write issued before it has committed (or says why one
// did not), BGSAVE answers at once, LASTSAVE is when the last commit became
// durable, and SHUTDOWN stops the server as SIGTERM does (in-flight commands
// finish, their writes commit, the store closes), whichever of Redis's save
// options it is given. WAIT: there are no replicas; it answers 0 once the
// connection's earlier writes are durable, after its timeout when it asked
// for replicas.
import { ReplyError, command, errorMessage, int64, word } from './command-spec.js';
import { OK, integer, simple } from './resp-writer.js';

export const SAVE = command(
  'save',
  { arity: 1, flags: ['admin', 'noscript', 'no_async_loading', 'no_multi'], group: 'server', summary: 'Answers once every write issued before it is durable (each already is once answered).', since: '1.0.0' },
  async ({ keyspace }) => {
    await keyspace.settled();
    if (keyspace.lastFailure) throw new ReplyError(errorMessage(keyspace.lastFailure));
    return OK;
  },
);

export const BGSAVE = command(
  'bgsave',
  { arity: -1, flags: ['admin', 'noscript', 'no_async_loading'], group: 'server', summary: "Answers Redis's reply: every answered write is already in the store file, so there is nothing to start.", since: '1.0.0' },
  (_ctx, args) => {
    if (args.length > 2 || (args.length === 2 && word(args[1]) !== 'schedule')) throw new ReplyError('ERR syntax error');
    return simple('Background saving started');
  },
);

export const LASTSAVE = command(
  'lastsave',
  { arity: 1, flags: ['loading', 'stale', 'fast'], group: 'server', summary: 'The Unix time at which the last commit became durable (or the server started).', since: '1.0.0' },
  ({ keyspace }) => integer(Math.floor(keyspace.lastDurableAt / 1000)),
);

const SHUTDOWN_OPTIONS = ['nosave', 'save', 'now', 'force', 'abort'];

export const SHUTDOWN = command(
  'shutdown',
  {
    arity: -1,
    flags: ['admin', 'noscript', 'loading', 'stale', 'no_multi', 'allow_busy'],
    group: 'server',
    summary: 'Stops the server as SIGTERM does: in-flight commands finish and commit, the store closes, `xrpkv serve` exits 0. No reply: the connection closes.',
    since: '1.0.0',
  },
  ({ client, server }, args) => {
    const given = args.slice(1).map(word);
    if (given.some((w, i) => !SHUTDOWN_OPTIONS.includes(w) || given.indexOf(w) !== i) || (given.includes('save') && given.includes('nosave'))) {
      throw new ReplyError('ERR syntax error');
    }
    if (given.includes('abort')) {
      if (given.length > 1) throw new ReplyError('ERR syntax error');
      // A shutdown here is never waiting on anything ABORT could call off.
      throw new ReplyError('ERR No shutdown in progress.');
    }
    client.closing = true;
    server.shutdown(`SHUTDOWN from client ${client.id}`);
    return '';
  },
);

export const WAIT = command(
  'wait',
  {
    arity: 3,
    flags: ['noscript'],
    group: 'generic',
    summary: 'Answers 0 (no replicas) once the connection\'s earlier writes are durable; after the timeout (ms) when numreplicas is above 0, at once for a timeout of 0.',
    since: '3.0.0',
    // Runs once the connection's earlier writes are answered, so durable.
    access: 'read',
  },
  (_ctx, [, replicasArg, timeoutArg]) => {
    const replicas = int64(replicasArg!);
    const timeout = int64(timeoutArg!);
    if (timeout < 0n) throw new ReplyError('ERR timeout is negative');
    // Redis would wait for ever with a timeout of 0: no replica will ever come.
    if (replicas <= 0n || timeout === 0n) return integer(0);
    return new Promise((resolve) => setTimeout(() => resolve(integer(0)), Number(timeout > 2_147_483_647n ? 2_147_483_647n : timeout)).unref());
  },
);

export const PERSISTENCE_COMMANDS = [SAVE, BGSAVE, LASTSAVE, SHUTDOWN, WAIT];
