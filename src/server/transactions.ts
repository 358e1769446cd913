// MULTI/EXEC's state: each connection's queue (ClientTransaction), and the
// server's registry of watched keys (Watches).
//
// What must hold (Redis's semantics):
// - between MULTI and EXEC, commands are queued, never run (session.ts);
//   one refused while queueing (unknown, wrong arity, or refused by the
//   store) makes EXEC answer EXECABORT and run nothing;
// - EXEC runs the queue in order in one store transaction, so it commits
//   whole, and answers once durable (commands-transactions.ts);
// - EXEC answers nil and runs nothing when a watched key was changed, by
//   any client, after WATCH. A change counts when a write that changes the
//   key runs: transactions tell their changes as they run, in commit order,
//   and plain writes (SET's and MSET's puts) as they are issued, before the
//   store orders them. So EXEC's own transaction, which checks the flag as
//   it runs, sees every change ordered before it.
import type { CommandSpec } from './command-spec.js';

export interface QueuedCommand {
  spec: CommandSpec;
  args: Buffer[];
}

/** One connection's MULTI queue and watched keys. */
export class ClientTransaction {
  /** Commands queued since MULTI; undefined outside MULTI. */
  queue: QueuedCommand[] | undefined;
  /** A command was refused while queueing: EXEC answers EXECABORT. */
  refused = false;
  /** A watched key changed since WATCH: EXEC answers nil. */
  dirty = false;
  /** Watched keys by their bytes (latin1), with the time each was to expire then (0: none; see `expiredSince`). */
  readonly watched = new Map<string, { key: Buffer; deadline: number }>();
}

/** Which connections watch which keys. */
export class Watches {
  private readonly byKey = new Map<string, Set<ClientTransaction>>();

  get size(): number {
    return this.byKey.size;
  }

  watch(client: ClientTransaction, key: Buffer, deadline: number): void {
    const id = key.toString('latin1');
    if (client.watched.has(id)) return;
    client.watched.set(id, { key, deadline });
    let clients = this.byKey.get(id);
    if (clients === undefined) this.byKey.set(id, (clients = new Set()));
    clients.add(client);
  }

  /** Forgets every key `client` watches (EXEC, DISCARD, UNWATCH, a closed connection). */
  unwatchAll(client: ClientTransaction): void {
    for (const id of client.watched.keys()) {
      const clients = this.byKey.get(id);
      clients?.delete(client);
      if (clients?.size === 0) this.byKey.delete(id);
    }
    client.watched.clear();
    client.dirty = false;
  }

  /** `key` changed: every client watching it fails its EXEC. */
  touch(key: Buffer): void {
    if (this.byKey.size === 0) return;
    const clients = this.byKey.get(key.toString('latin1'));
    if (clients !== undefined) for (const c of clients) c.dirty = true;
  }

  /** Every key that `existed` says was there changed (FLUSHDB). */
  touchAll(existed: (key: Buffer) => boolean): void {
    for (const [id, clients] of this.byKey) {
      const { key } = [...clients][0]!.watched.get(id)!;
      if (existed(key)) for (const c of clients) c.dirty = true;
    }
  }
}

/** Whether a watched key with a deadline has reached it since WATCH (Redis fails the EXEC then too). */
export function expiredSince(client: ClientTransaction, now: number): boolean {
  for (const { deadline } of client.watched.values()) if (deadline > 0 && deadline <= now) return true;
  return false;
}
