// The network server: opens the store, listens, hands each connection to a
// Session, refuses connections past `maxclients`, and shuts down in order:
// stop accepting, let every connection finish the commands it has started
// (their writes commit), close the store; on close(), SIGTERM or SHUTDOWN.
import { createServer, type Server, type Socket } from 'node:net';
import { open, type Database } from '../store/db.js';
import type { ServerConfig } from './config.js';
import type { ServerState } from './command-spec.js';
import { FlushQueue } from './flush-queue.js';
import { Keyspace } from './keyspace.js';
import { SlowCommands } from './slow-commands.js';
import { FUNCTIONS_DB } from './functions.js';
import { PubSub } from './pubsub.js';
import { Monitors } from './monitor.js';
import { Scripts } from './scripts.js';
import { upgradeLayout } from './layout-upgrade.js';
import { Session } from './session.js';
import { ServerStats } from './stats.js';

/** How long a shutdown waits for connections to finish before closing them. */
const SHUTDOWN_GRACE_MS = 5_000;

export interface RunningServer {
  /** The address and port listened on (the real port when 0 was asked for). */
  host: string;
  port: number;
  /** The store (a new handle after a reopen: keyspace.ts). */
  readonly db: Database<Buffer, Buffer>;
  keyspace: Keyspace;
  state: ServerState;
  /** Stops accepting, finishes in-flight commands, waits for their commits, closes the store. Idempotent. */
  close(): Promise<void>;
  /** Settles as `close()` does, once the server has stopped, whatever stopped it (`close`, SHUTDOWN). */
  readonly stopped: Promise<void>;
}

/** Opens `config.db` and listens on `config.bind`:`config.port`; resolves once listening. */
export async function startServer(config: ServerConfig): Promise<RunningServer> {
  // O_DIRECT where the file system allows it: the store's cache then keeps leaves too (buffered, each GET would read and verify its leaf again).
  const openStore = () => open<Buffer, Buffer>(config.db, { keyEncoding: 'binary', valueEncoding: 'binary', lookup: config.lookup, pageSize: config.pageSize, logLimit: config.logLimit, direct: 'auto' });
  const db = openStore();
  if (db.recovery) console.error(`xrpkv serve: ${config.db}: ${db.recovery.reason}`);
  const keyspace = new Keyspace(db, openStore);
  const moved = await upgradeLayout(keyspace).catch(async (e) => {
    await db.close();
    throw e;
  });
  if (moved > 0) console.error(`xrpkv serve: ${config.db}: moved ${moved} string keys starting with byte 0xff to their escaped records (docs/SERVER.md, "Data layout")`);
  const scripts = await Scripts.create().catch(async (e) => {
    await db.close();
    throw e;
  });
  // FUNCTION LOAD's libraries live in a named database of the file, opened
  // once per store handle (the keyspace may reopen the store), and made
  // only when a library is loaded: a file without functions is not written.
  let functionsOf: [Database, Database<Buffer, Buffer>] | undefined;
  scripts.useFunctions((create) => {
    const db = keyspace.db;
    if (functionsOf?.[0] === db) return functionsOf[1];
    if (!create && !(db.stats().databases ?? []).some((d) => d.name === FUNCTIONS_DB)) return undefined;
    functionsOf = [db, db.openDB<Buffer, Buffer>(FUNCTIONS_DB, { keyEncoding: 'binary', valueEncoding: 'binary' })];
    return functionsOf[1];
  });
  const sessions = new Set<Session>();
  /** Refused connections whose peer has not closed yet: server.close() waits for them too. */
  const refused = new Set<Socket>();
  const state: ServerState = {
    config,
    port: config.port,
    startedAt: Date.now(),
    clients: sessions,
    connectionsReceived: 0,
    commandsProcessed: 0,
    rejectedConnections: 0,
    outputLimitDisconnections: 0,
    stats: new ServerStats(() => state.commandsProcessed),
    pubsub: new PubSub(),
    scripts,
    monitors: new Monitors(),
    slow: new SlowCommands(config),
    shutdown: (reason) => {
      if (closing) return;
      console.log(`xrpkv serve: ${reason}: finishing in-flight commands, then closing ${config.db}`);
      void close();
    },
  };
  keyspace.clientById = (id) => {
    for (const s of sessions) if (s.id === id) return s;
    return undefined;
  };
  const flushes = new FlushQueue();
  const limits = { maxBulkLen: config.maxBulkLen, maxArrayLen: config.maxArrayLen, maxInlineLen: config.maxInlineLen };
  let nextId = 0;
  let stopping = false;

  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    state.connectionsReceived++;
    socket.on('error', () => socket.destroy());
    if (stopping || sessions.size >= config.maxclients) {
      state.rejectedConnections++;
      refused.add(socket);
      socket.on('close', () => refused.delete(socket));
      socket.end(stopping ? '-ERR the server is shutting down\r\n' : '-ERR max number of clients reached\r\n');
      return;
    }
    const session = new Session(++nextId, socket, keyspace, state, limits, flushes);
    sessions.add(session);
    session.closed.then(() => sessions.delete(session));
  });

  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await db.close();
    const err = e as NodeJS.ErrnoException;
    throw Object.assign(new Error(`cannot listen on ${config.bind}:${config.port}: ${err.message}`), { code: err.code ?? 'LISTEN_FAILED' });
  }
  // After listening: a failure to listen is the error startServer throws, not logged twice.
  server.on('error', (e) => console.error(`xrpkv serve: ${e.message}`));
  const address = server.address();
  if (address && typeof address === 'object') state.port = address.port;
  keyspace.sweep.start();
  state.stats.start();

  let closing: Promise<void> | undefined;
  let stop: (closed: Promise<void>) => void;
  const stopped = new Promise<void>((resolve, reject) => (stop = (closed) => closed.then(resolve, reject)));
  const close = () => {
    if (closing) return closing;
    closing = (async () => {
      stopping = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const finished = Promise.all([...sessions].map((s) => s.shutdown()));
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, SHUTDOWN_GRACE_MS)));
      await Promise.race([finished, grace]);
      clearTimeout(timer);
      for (const s of sessions) s.destroy();
      for (const socket of refused) socket.destroy();
      await stopped;
      state.stats.stop();
      await keyspace.stop();
      await keyspace.db.close();
    })();
    stop(closing);
    return closing;
  };

  return {
    host: config.bind,
    port: state.port,
    get db() {
      return keyspace.db;
    },
    keyspace,
    state,
    close,
    stopped,
  };
}
