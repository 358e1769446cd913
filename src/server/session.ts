// One client connection: parses its commands, runs them in order, and sends
// the replies in the order the commands came, though writes answer later
// (once durable) than reads (at once).
//
// Order of effects, the same as one Redis connection's:
// - writes go to the store as they come: its queue keeps their order, and
//   each sees the ones before it;
// - a read waits until the connection's earlier writes are durable (and so
//   visible), then runs: every command after it waits with it. Reads after
//   reads, and writes after writes, never wait on each other.
// Replies wait in `slots` behind the oldest unanswered one. Ready replies
// are sent at the end of the event-loop turn (flush-queue.ts), all at once;
// those that waited for a commit, as soon as it settles (`sendSettled`).
//
// What one client may cost (client-output-buffer-limit, config.ts): replies
// count from when they are produced until the socket takes them. While a
// client holds more than the soft limit unsent (8 MiB when there is none),
// none of its commands run and nothing more is read from it, until its
// socket takes the replies: a client that stops reading costs that much, and
// the input the kernel holds for it. Over the hard limit, or over the soft
// one for longer than its seconds, the client is disconnected and what it
// held is dropped.
//
// Bad input (a ProtocolError) gets its error reply, then the connection
// closes: the stream cannot be trusted after it. Any other error is one
// command's error reply; nothing a client sends stops the server.
import type { Socket } from 'node:net';
import { subscribed } from './pubsub.js';
import { lookupCommand } from './command-table.js';
import { arityError, commandKeys, errorMessage, word, type Client, type CommandSpec, type Context, type ServerState } from './command-spec.js';
import type { JoinedPuts } from '../store/joined-puts.js';
import type { Keyspace } from './keyspace.js';
import { ProtocolError, RespParser, type ParserLimits } from './resp-parser.js';
import type { FlushQueue } from './flush-queue.js';
import { ReplyBuffer } from './reply-buffer.js';
import { OK, error, nil, type Protocol, type Reply } from './resp-writer.js';
import type { CommandStat } from './stats.js';
import { ClientTransaction } from './transactions.js';
import type { WriteGroup } from './write-group.js';

/** Before AUTH, a client may send only small commands (as Redis limits them). */
const UNAUTHENTICATED_LIMITS = { maxBulkLen: 16 * 1024, maxArrayLen: 10 };
const QUEUED = '+QUEUED\r\n';
/** Whether a reply is an error ('-' first). */
const isError = (reply: Reply) => (typeof reply === 'string' ? reply.charCodeAt(0) : reply[0]) === 45;
/** An error reply's code and the start of its message, for errorstats. */
const errorText = (reply: Reply) => (typeof reply === 'string' ? reply.slice(1, 32) : reply.toString('latin1', 1, 32));
/** Stop reading from a client with this many replies outstanding. */
const MAX_SLOTS = 16 * 1024;
/** Stop running a client's commands with this many bytes unsent, when the output buffer limit has no soft limit. */
const PAUSE_WITHOUT_SOFT_LIMIT = 8 * 1024 * 1024;

interface Slot {
  reply: Reply | undefined;
  /** What the reply waits for: later commands waiting on the same promise join this slot. */
  pending: Promise<Reply> | undefined;
  /** Replies the slot stands for: consecutive SETs of one store batch share one slot. */
  count: number;
  /** The command's counts (its failure is counted when the reply comes). */
  stat: CommandStat | undefined;
  /** Whether it waits for a commit (not a read). */
  commits: boolean;
  /**
   * What its commands joined, and the first one's index in it (the others
   * follow it there): plain SETs, the store batch of their puts; writes on
   * the data, the turn's write group (write-group.ts).
   */
  batch: JoinedPuts | WriteGroup | undefined;
  first: number;
  /** When its commands' answers differ (a group's, or SETs some of whose puts failed alone): each one's, in order. */
  replies: Reply[] | undefined;
}

export class Session implements Client {
  proto: Protocol = 2;
  name = '';
  libName = '';
  libVer = '';
  authenticated: boolean;
  closing = false;
  readonly transaction = new ClientTransaction();
  readonly addr: string;
  readonly laddr: string;
  readonly createdAt = Date.now();
  /** When input last arrived (as Redis's `lastinteraction`: per read, not per command; CLIENT LIST's idle). */
  lastActive = Date.now();
  lastCommand = 'NULL';
  private readonly parser: RespParser;
  private readonly ctx: Context;
  /** Replies ready to send. */
  private readonly replies = new ReplyBuffer();
  private slots: Slot[] = [];
  /** Bytes of the replies in `slots` that are ready, waiting behind an unanswered one. */
  private slotBytes = 0;
  private unanswered = 0;
  /** Not reading: waiting for its socket to take replies, for its writes, or for FLUSHDB. */
  private paused = false;
  /** A command of this connection is running now (CLIENT KILL of itself closes after the reply). */
  private running = false;
  /** Runs once the client has been over the soft limit for its seconds; cleared when it is back under. */
  private softDeadline: NodeJS.Timeout | undefined;
  /** A command waiting for the connection's writes (`slots`) or for FLUSHDB (`gate`). */
  private held: { spec: CommandSpec; args: Buffer[] } | undefined;
  /** A blocking command (BLPOP...) is unanswered: nothing after it runs until it is. */
  blocked = false;
  readonly channels = new Set<string>();
  readonly patterns = new Set<string>();
  readonly shardChannels = new Set<string>();
  private inputEnded = false;
  /** A send of settled replies is scheduled. */
  private settling = false;
  /** Resolves when the socket has closed. */
  readonly closed: Promise<void>;
  /** Resolves when the last reply has been handed to the OS (or the socket closed). */
  readonly finished: Promise<void>;

  constructor(
    readonly id: number,
    private readonly socket: Socket,
    private readonly keyspace: Keyspace,
    private readonly server: ServerState,
    private readonly limits: ParserLimits,
    private readonly flushes: FlushQueue,
  ) {
    this.authenticated = server.config.requirepass === undefined;
    this.addr = `${socket.remoteAddress}:${socket.remotePort}`;
    this.laddr = `${socket.localAddress}:${socket.localPort}`;
    this.parser = new RespParser(this.authenticated ? limits : { ...limits, ...UNAUTHENTICATED_LIMITS });
    this.ctx = { client: this, keyspace, server };
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      // Nothing after QUIT, a protocol error or shutdown runs: drop it rather than buffer it.
      if (this.closing) return;
      this.lastActive = Date.now();
      this.parser.feed(chunk);
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('end', () => {
      this.inputEnded = true;
      // A client that stopped sending while blocked has gone, as Redis takes it: nothing is popped for it.
      if (this.blocked) keyspace.blocked.cancel(this);
      this.pump();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      clearTimeout(this.softDeadline);
      keyspace.watches.unwatchAll(this.transaction);
      keyspace.blocked.cancel(this);
      server.pubsub.removeAll(this);
      server.monitors.remove(this);
      keyspace.tracking.gone(this);
    });
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    this.finished = new Promise((resolve) => {
      socket.on('finish', resolve);
      socket.on('close', resolve);
    });
  }

  get monitoring(): boolean {
    return this.server.monitors.has(this);
  }

  /** Stops taking commands; those already running finish and are answered, then the connection closes. */
  shutdown(): Promise<void> {
    this.closing = true;
    this.held = undefined;
    this.keyspace.blocked.cancel(this);
    this.pump();
    return this.finished;
  }

  /** Closes the connection at once (a shutdown that waited too long). */
  destroy(): void {
    this.socket.destroy();
  }

  kill(): void {
    // Running its own CLIENT KILL: closed once the replies so far are sent.
    if (this.running) this.closing = true;
    else this.socket.destroy();
  }

  get outputBytes(): number {
    return this.replies.size + this.slotBytes + this.socket.writableLength;
  }

  get inputBytes(): number {
    return this.parser.buffered;
  }

  /**
   * Runs every complete command received, as far as the order rules allow,
   * and sends what is ready. A bug here costs this connection, never the server.
   */
  private pump(): void {
    this.guard(() => this.step());
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      console.error(`xrpkv serve: dropping client ${this.id} after an internal error:`, e);
      this.socket.destroy();
    }
  }

  private step(): void {
    const { hard, soft } = this.server.config.clientOutputBufferLimit;
    const pauseAt = soft > 0 ? soft : PAUSE_WITHOUT_SOFT_LIMIT;
    const checkAt = hard > 0 && hard < pauseAt ? hard : pauseAt;
    // The socket takes bytes only between event-loop phases, never during this loop.
    const queued = this.socket.writableLength;
    // Checked before every command: one read of pipelined commands produces at most one reply past the limit.
    while (!this.held && !this.blocked && !this.closing && !this.socket.destroyed && this.replies.size + this.slotBytes + queued <= checkAt) {
      let args: Buffer[] | undefined;
      try {
        args = this.parser.next();
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.answer(error(`ERR ${e.message}`));
        this.closing = true;
        break;
      }
      if (args === undefined) break;
      this.dispatch(args);
    }
    if (this.socket.destroyed) return;
    if ((this.closing || (this.inputEnded && !this.held)) && this.slots.length === 0) {
      this.writeReplies();
      this.socket.end();
      return;
    }
    if (!this.replies.empty) this.flushes.add(this);
    const unsent = this.outputBytes;
    if (!this.withinLimits(unsent)) return;
    this.paused = this.held !== undefined || this.blocked || this.slots.length > MAX_SLOTS || unsent > pauseAt;
    if (this.paused) this.socket.pause();
    else this.socket.resume();
  }

  /** Applies client-output-buffer-limit to `unsent` bytes; false when it disconnected the client. */
  private withinLimits(unsent: number): boolean {
    const { hard, soft, softSeconds } = this.server.config.clientOutputBufferLimit;
    if (hard > 0 && unsent > hard) {
      this.dropOverLimit(`${unsent} bytes of replies unsent, over the hard limit (${hard})`);
      return false;
    }
    if (soft > 0 && unsent > soft) {
      this.softDeadline ??= setTimeout(this.softDeadlinePassed, softSeconds * 1000).unref();
    } else if (this.softDeadline !== undefined) {
      clearTimeout(this.softDeadline);
      this.softDeadline = undefined;
    }
    return true;
  }

  private readonly softDeadlinePassed = (): void =>
    this.guard(() => {
      this.softDeadline = undefined;
      if (this.socket.destroyed) return;
      const { soft, softSeconds } = this.server.config.clientOutputBufferLimit;
      const unsent = this.outputBytes;
      if (soft > 0 && unsent > soft) this.dropOverLimit(`${unsent} bytes of replies unsent, over the soft limit (${soft}) for ${softSeconds} s`);
    });

  /** Disconnects a client over its output buffer limit, dropping its replies, its input and the commands it has waiting. */
  private dropOverLimit(why: string): void {
    this.server.outputLimitDisconnections++;
    console.error(`xrpkv serve: closing client ${this.id} (${this.socket.remoteAddress}:${this.socket.remotePort}): ${why}; see client-output-buffer-limit`);
    this.closing = true;
    this.held = undefined;
    this.slots = [];
    this.slotBytes = 0;
    this.replies.clear();
    this.parser.discard();
    this.socket.destroy();
  }

  private dispatch(args: Buffer[]): void {
    this.server.commandsProcessed++;
    const spec = lookupCommand(args[0]!);
    if (!this.authenticated && !spec?.flags.includes('no_auth')) return this.answer(error('NOAUTH Authentication required.'));
    if (!spec) return this.refuse(unknownCommand(args));
    const arity = arityError(spec, args);
    if (arity !== undefined) {
      this.server.stats.command(spec.name).rejected++;
      return this.refuse(arity);
    }
    if (this.proto === 2 && subscribed(this) && !SUBSCRIBED_RESP2.includes(spec.name)) {
      return this.refuse(`ERR Can't execute '${spec.name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`);
    }
    const monitors = this.server.monitors;
    // A monitor is, to Redis, a replica: it may not touch the data.
    if (monitors.size > 0 && spec.access !== 'other' && monitors.has(this)) return this.refuse("ERR Replica can't interact with the keyspace");
    const queue = this.transaction.queue;
    if (queue !== undefined && !spec.controlsTransaction) {
      if (spec.flags.includes('no_multi')) return this.refuse('ERR Command not allowed inside a transaction');
      // Between MULTI and EXEC nothing runs: EXEC runs the queue in one transaction.
      if (spec.access === 'write' && this.keyspace.unwritable) return this.refuse(errorMessage(this.keyspace.unwritable));
      queue.push({ spec, args });
      this.lastCommand = spec.name;
      return this.answer(QUEUED);
    }
    // Told before it runs, EXEC's queue with it (EXEC empties it).
    const fed = monitors.size > 0 ? this.monitorLines(spec, args) : undefined;
    this.execute(spec, args);
    if (fed !== undefined) for (const a of fed) monitors.feed(this.addr, a);
  }

  /** What MONITOR's connections are shown of a command that runs, after it has run (as Redis shows it): EXEC after the commands it runs. */
  private monitorLines(spec: CommandSpec, args: Buffer[]): Buffer[][] {
    if (spec.name === 'monitor') return [];
    const { queue, refused } = this.transaction;
    return spec.name === 'exec' && queue !== undefined && !refused ? [...queue.map((q) => q.args), args] : [args];
  }

  /** A command refused before it ran; inside MULTI, EXEC then fails whole (EXECABORT). */
  private refuse(message: string): void {
    if (this.transaction.queue !== undefined) this.transaction.refused = true;
    this.answer(error(message));
  }

  private execute(spec: CommandSpec, args: Buffer[]): void {
    if (spec.access === 'read' && this.unanswered > 0) {
      this.held = { spec, args };
      return;
    }
    const gate = spec.access === 'write' ? this.keyspace.gate : undefined;
    if (gate) return this.holdFor(gate, spec, args);
    const stats = this.server.stats;
    const stat = stats.command(spec.name);
    stat.calls++;
    this.lastCommand = spec.name;
    if (this.keyspace.tracking.active) this.trackRead(spec, args);
    const weight = stats.timingWeight(spec.fast);
    const started = weight > 0 ? performance.now() : -1;
    // Work handed to a write group is timed there (write-group.ts), not here.
    const timedJoins = this.keyspace.timedJoins;
    let reply: Reply | Promise<Reply>;
    this.running = true;
    try {
      // A read runs with no reply waiting before it, so its value can be encoded straight into the send.
      if (spec.value !== undefined && this.slots.length === 0) {
        this.sendValue(spec.value(this.ctx, args));
        return;
      }
      if (spec.joinedPut !== undefined) {
        const joined = spec.joinedPut(this.ctx, args);
        if (joined !== undefined) {
          this.answerJoined(joined, stat);
          return;
        }
      } else if (spec.grouped !== undefined) {
        const group = spec.grouped(this.ctx, args);
        if (group !== undefined) {
          this.answerGrouped(group, stat);
          // Clients blocked on its keys try right behind it, as Redis serves them right after it (blocked.ts).
          if (this.keyspace.blocked.size > 0) this.keyspace.blocked.issued(commandKeys(spec, args));
          return;
        }
      }
      reply = spec.run(this.ctx, args);
    } catch (e) {
      reply = error(errorMessage(e));
    } finally {
      this.running = false;
      if (started >= 0) this.timed(spec, stat, args, (performance.now() - started) * 1000, weight, this.keyspace.timedJoins === timedJoins);
    }
    if (typeof reply === 'string' || Buffer.isBuffer(reply)) {
      if (isError(reply)) stat.failed++;
      this.answer(reply);
    } else {
      this.answerLater(reply, stat, spec.access !== 'read');
      if (spec.blocks) this.blockUntil(reply);
    }
    // AUTH (or HELLO ... AUTH) lifts the limits for unauthenticated clients.
    // RESET where a password is set takes them back.
    if (this.authenticated !== (this.parser.limits === this.limits)) this.parser.limits = this.authenticated ? this.limits : { ...this.limits, ...UNAUTHENTICATED_LIMITS };
  }

  /** CLIENT TRACKING: a read's keys are remembered for this client; a CLIENT CACHING before this command is spent. */
  private trackRead(spec: CommandSpec, args: Buffer[]): void {
    const tracking = this.keyspace.tracking;
    if (spec.flags.includes('readonly')) tracking.read(this, commandKeys(spec, args));
    if (!(spec.name === 'client' && word(args[1]) === 'caching')) tracking.commandDone(this);
  }

  /**
   * A command's synchronous run took `micros`, standing for `weight` runs:
   * counted in commandstats and, where this was its work (`ranHere`: not
   * handed to a write group, which times it) and it is not EXEC (whose
   * commands are timed each), in the slow log.
   */
  private timed(spec: CommandSpec, stat: CommandStat, args: Buffer[], micros: number, weight: number, ranHere: boolean): void {
    stat.usec += micros * weight;
    if (ranHere && !spec.flags.includes('skip_slowlog')) this.server.slow.ran({ name: spec.name, args, fast: spec.fast, client: this }, micros, weight);
  }

  // Callbacks are made apart from `execute` and `answerLater`, which run for
  // every command: a function that makes closures allocates their context
  // on every call, even when it returns before making them.

  /** Runs nothing more of this connection until a blocking command's `reply` settles (it is answered first: `answerLater`). */
  private blockUntil(reply: Promise<Reply>): void {
    this.blocked = true;
    reply.then(this.unblock, this.unblock);
  }

  private readonly unblock = () => {
    this.blocked = false;
    this.pump();
  };

  /** Holds a write until FLUSHDB's `gate` opens. */
  private holdFor(gate: Promise<void>, spec: CommandSpec, args: Buffer[]): void {
    this.held = { spec, args };
    gate.then(() => this.release());
  }

  /** Runs the held command, now that what it waited for is done, then what came after it. */
  private release(): void {
    const held = this.held;
    if (!held) return;
    this.held = undefined;
    this.guard(() => this.execute(held.spec, held.args));
    this.pump();
  }

  private answer(reply: Reply): void {
    if (isError(reply)) this.server.stats.error(errorText(reply));
    if (this.slots.length > 0) {
      this.slots.push({ reply, pending: undefined, count: 1, stat: undefined, commits: false, batch: undefined, first: 0, replies: undefined });
      this.slotBytes += reply.length;
    } else {
      this.send(reply);
    }
  }

  private answerLater(promise: Promise<Reply>, stat: CommandStat, commits: boolean): void {
    const last = this.slots[this.slots.length - 1];
    if (last !== undefined && last.pending === promise) {
      last.count++;
      return;
    }
    const slot: Slot = { reply: undefined, pending: promise, count: 1, stat, commits, batch: undefined, first: 0, replies: undefined };
    this.slots.push(slot);
    this.unanswered++;
    this.settleWhenDone(slot, promise);
  }

  /**
   * A write answered once `batch`, which it joined at `index`, is durable:
   * consecutive commands of this connection that follow one another in one
   * batch (of one command: the slot counts one command's failures) share a
   * slot, so a pipeline of them costs no promise each. Returns the new
   * slot, to settle when the batch does, or undefined when it joined one.
   */
  private joinSlot(batch: JoinedPuts | WriteGroup, index: number, stat: CommandStat): Slot | undefined {
    const last = this.slots[this.slots.length - 1];
    if (last !== undefined && last.batch === batch && last.stat === stat && last.first + last.count === index) {
      last.count++;
      return undefined;
    }
    const slot: Slot = { reply: undefined, pending: undefined, count: 1, stat, commits: true, batch, first: index, replies: undefined };
    this.slots.push(slot);
    this.unanswered++;
    return slot;
  }

  /** A plain SET: answered OK, or its put's failure, once the store batch it joined is durable. */
  private answerJoined(joined: JoinedPuts, stat: CommandStat): void {
    const slot = this.joinSlot(joined, joined.count - 1, stat);
    if (slot) this.settleJoinedWhenDone(slot, joined);
  }

  /** A write on the data: answered with its reply, read from its group by index, once the group is durable. */
  private answerGrouped(group: WriteGroup, stat: CommandStat): void {
    const slot = this.joinSlot(group, group.size - 1, stat);
    if (slot) this.settleGroupWhenDone(slot, group);
  }

  private settleGroupWhenDone(slot: Slot, group: WriteGroup): void {
    group.done.then(
      () => this.guard(() => (slot.count === 1 ? this.settle(slot, group.reply(slot.first)) : this.settleEach(slot, (i) => group.reply(i)))),
      (e) => this.guard(() => this.settle(slot, error(errorMessage(e)))),
    );
  }

  private settleJoinedWhenDone(slot: Slot, joined: JoinedPuts): void {
    const answer = (i: number) => {
      const why = joined.failure(i);
      return why === undefined ? OK : error(errorMessage(why));
    };
    joined.done.then(
      () => this.guard(() => (joined.failed === 0 ? this.settle(slot, OK) : this.settleEach(slot, answer))),
      (e) => this.guard(() => this.settle(slot, error(errorMessage(e)))),
    );
  }

  private settleWhenDone(slot: Slot, promise: Promise<Reply>): void {
    promise.then(
      (reply) => this.guard(() => this.settle(slot, reply)),
      (e) => this.guard(() => this.settle(slot, error(errorMessage(e)))),
    );
  }

  /**
   * A write's reply is ready. Replies of one commit all settle in one run of
   * the microtask queue: they are sent together, after it, in one write.
   */
  private settle(slot: Slot, reply: Reply): void {
    if (this.socket.destroyed) return;
    this.count(slot, reply, slot.count);
    slot.reply = reply;
    this.settled(slot);
  }

  /** Commands of a slot whose answers differ (a group's; SETs some of whose puts failed alone): each gets its own, `replyAt` its index in the batch. */
  private settleEach(slot: Slot, replyAt: (index: number) => Reply): void {
    if (this.socket.destroyed) return;
    const replies: Reply[] = [];
    for (let i = slot.first; i < slot.first + slot.count; i++) {
      const reply = replyAt(i);
      this.count(slot, reply, 1);
      replies.push(reply);
    }
    slot.replies = replies;
    slot.reply = replies[0];
    this.settled(slot);
  }

  /** `reply` sent `n` times from `slot`: its bytes wait in the slot, and an error is counted in the stats. */
  private count(slot: Slot, reply: Reply, n: number): void {
    if (isError(reply)) {
      this.server.stats.error(errorText(reply));
      if (slot.stat) slot.stat.failed += n;
    }
    this.slotBytes += reply.length * n;
  }

  private settled(slot: Slot): void {
    slot.pending = undefined;
    this.unanswered--;
    if (this.settling) return;
    this.settling = true;
    process.nextTick(() => this.guard(() => this.sendSettled()));
  }

  private sendSettled(): void {
    this.settling = false;
    let n = 0;
    let commits = false;
    for (; n < this.slots.length && this.slots[n]!.reply !== undefined; n++) {
      const { reply, count, commits: waited, replies } = this.slots[n]!;
      if (waited) commits = true;
      if (replies !== undefined) {
        for (const r of replies) {
          this.send(r);
          this.slotBytes -= r.length;
        }
        continue;
      }
      for (let i = 0; i < count; i++) this.send(reply!);
      this.slotBytes -= reply!.length * count;
    }
    this.slots.splice(0, n);
    // A commit's replies are sent now, not at the end of the turn: they
    // settle in the poll phase, which then goes on reading and running the
    // next commands of every connection, and the clients waited 0.3 to
    // 1.5 ms for replies that were ready. Reads' replies (gets gathered
    // into one batch) stay with the turn's (flush-queue.ts): sent at once,
    // GET fell from about 430k to 300k req/s in one A/B.
    if (commits) this.writeReplies();
    if (this.unanswered === 0 && this.held?.spec.access === 'read') this.release();
    else this.pump();
  }

  private send(reply: Reply): void {
    this.replies.append(reply);
  }

  private sendValue(value: Buffer | undefined): void {
    if (value === undefined) this.replies.append(nil(this.proto));
    else this.replies.appendBulk(value);
  }

  /** A Pub/Sub message: sent after the replies due before it, at the end of the turn. */
  deliver(message: Reply): void {
    if (this.closing || this.socket.destroyed) return;
    this.answer(message);
    if (this.withinLimits(this.outputBytes)) this.flushes.add(this);
  }

  /** Writes the replies ready so far: FlushQueue calls it once per turn. */
  flush(): void {
    this.guard(() => this.writeReplies());
  }

  private writeReplies(): void {
    if (this.replies.empty) return;
    if (this.socket.destroyed || this.socket.writableEnded) {
      this.replies.clear();
      return;
    }
    this.socket.write(this.replies.take()!, this.written);
  }

  /** A write reached the kernel: a client paused for its unsent replies may go on (a small write gets no 'drain'). */
  private readonly written = (): void => {
    if (this.paused) this.pump();
  };
}

/** What a RESP2 connection with a subscription may run (Redis's list). */
const SUBSCRIBED_RESP2 = ['subscribe', 'unsubscribe', 'psubscribe', 'punsubscribe', 'ssubscribe', 'sunsubscribe', 'ping', 'quit', 'reset'];

function unknownCommand(args: Buffer[]): string {
  const shown = (b: Buffer) => `'${b.toString('utf8').slice(0, 128)}'`;
  return `ERR unknown command ${shown(args[0]!)}, with args beginning with: ${args.slice(1, 21).map(shown).join(' ')}`;
}
