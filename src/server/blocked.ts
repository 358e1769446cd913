// Clients blocked on lists and sorted sets (BLPOP, BZPOPMIN, BLMOVE...:
// commands-blocking.ts). A blocked command tries its pop as an ordinary
// write; when there was nothing to pop it waits. A write issued naming one
// of its keys makes it try again right behind that write (`issued`: the
// pop queues before anything issued later, as Redis serves a blocked
// client right after the command that fed its key), and each write that
// changes one of its keys as it runs (Data's `touched` hook, as WATCH hears
// of writes) wakes it too, until a try pops something or its timeout
// passes.
//
// What must hold:
// - no wake-up is lost: a write that touches a key while the command's try
//   is in flight makes it try again rather than wait;
// - clients are served in the order they blocked: the tries a turn's writes
//   set off are issued in that order, so they join the store's queue (and
//   take the elements) in it, and a client whose try found nothing keeps
//   its place;
// - a try in flight is let land: a client whose timeout passes meanwhile
//   is answered with what the try popped, never nil after a pop; one whose
//   connection closed meanwhile loses it, as with any write in flight when
//   a client goes (a client that is waiting when it goes pops nothing).
import { errorMessage } from './command-spec.js';
import { error, type Reply } from './resp-writer.js';

interface Waiter {
  /** The order it blocked in. */
  readonly seq: number;
  readonly keys: readonly string[];
  readonly client: object;
  /** Issues the command's pop as a write: its reply once durable, `none` when there was nothing to pop. */
  readonly attempt: () => Promise<Reply>;
  readonly none: Reply;
  readonly resolve: (reply: Reply) => void;
  state: 'trying' | 'waiting' | 'done';
  /** A write touched one of its keys while it was trying. */
  again: boolean;
  /** Its timeout passed, or its client went, while it was trying: the try's answer is the last. */
  ending: Reply | undefined;
  timer: NodeJS.Timeout | undefined;
}

export class BlockedClients {
  private seq = 0;
  /** The waiters on each key (latin1), in the order they blocked. */
  private readonly byKey = new Map<string, Waiter[]>();
  private readonly byClient = new Map<object, Waiter>();
  /** Waiters whose keys were touched since the last wake. */
  private readonly due = new Set<Waiter>();
  private wakeScheduled = false;

  /** Clients blocked now (INFO's blocked_clients). */
  get size(): number {
    return this.byClient.size;
  }

  /**
   * Tries `attempt` now, and again after each write that touches one of
   * `keys`, until it answers something other than `none` (what it answers
   * then), or `timeoutMs` passes (0: never): then `none`.
   */
  block(client: object, keys: readonly Buffer[], timeoutMs: number, attempt: () => Promise<Reply>, none: Reply): Promise<Reply> {
    if (this.byClient.has(client)) throw new Error('internal error: a client blocked twice');
    return new Promise<Reply>((resolve) => {
      const ids = [...new Set(keys.map((k) => k.toString('latin1')))];
      const w: Waiter = { seq: this.seq++, keys: ids, client, attempt, none, resolve, state: 'trying', again: false, ending: undefined, timer: undefined };
      for (const id of ids) {
        const list = this.byKey.get(id);
        if (list) list.push(w);
        else this.byKey.set(id, [w]);
      }
      this.byClient.set(client, w);
      if (timeoutMs > 0) w.timer = setTimeout(() => this.end(w, w.none), timeoutMs);
      this.tryNow(w);
    });
  }

  /**
   * Writes naming `keys` were just issued: their waiters try now, in the
   * order they blocked, so that their pops queue right behind those writes,
   * before anything issued after them (Redis serves a blocked client right
   * after the command that fed its key). A waiter whose try joins behind a
   * write that gives its key nothing finds nothing and waits again.
   */
  issued(keys: readonly Buffer[]): void {
    if (this.byKey.size === 0) return;
    const due: Waiter[] = [];
    for (const key of keys) {
      for (const w of this.byKey.get(key.toString('latin1')) ?? []) if (w.state === 'waiting' && !due.includes(w)) due.push(w);
    }
    due.sort((a, b) => a.seq - b.seq);
    for (const w of due) if (w.state === 'waiting') this.tryNow(w);
  }

  /** A write changed `key` as its transaction ran: its waiters try again (on the next turn), or, if trying, once more. */
  touched(key: Buffer): void {
    if (this.byKey.size === 0) return;
    const waiters = this.byKey.get(key.toString('latin1'));
    if (waiters === undefined) return;
    for (const w of waiters) {
      if (w.state === 'trying') w.again = true;
      else if (w.state === 'waiting') this.due.add(w);
    }
    if (this.due.size > 0 && !this.wakeScheduled) {
      this.wakeScheduled = true;
      setImmediate(() => this.wake());
    }
  }

  /** CLIENT UNBLOCK: ends `client`'s wait as its timeout would, or with `reply`; whether it was blocked. */
  unblock(client: object, reply?: Reply): boolean {
    const w = this.byClient.get(client);
    if (w === undefined) return false;
    this.end(w, reply ?? w.none);
    return true;
  }

  /** Lets `client`'s blocked command go (its connection closed, or the server stops): answered with no bytes, or with what a try in flight pops. */
  cancel(client: object): void {
    const w = this.byClient.get(client);
    if (w !== undefined) this.end(w, '');
  }

  private wake(): void {
    this.wakeScheduled = false;
    const due = [...this.due].sort((a, b) => a.seq - b.seq);
    this.due.clear();
    for (const w of due) if (w.state === 'waiting') this.tryNow(w);
  }

  private tryNow(w: Waiter): void {
    w.state = 'trying';
    w.again = false;
    let tried: Promise<Reply>;
    try {
      tried = w.attempt();
    } catch (e) {
      tried = Promise.reject(e);
    }
    tried.then(
      (reply) => this.tried(w, reply),
      (e) => this.finish(w, error(errorMessage(e))),
    );
  }

  private tried(w: Waiter, reply: Reply): void {
    if (w.state === 'done') return;
    if (reply !== w.none) this.finish(w, reply);
    else if (w.ending !== undefined) this.finish(w, w.ending);
    else if (w.again) this.tryNow(w);
    else w.state = 'waiting';
  }

  /** Its timeout passed, or its client went: answered `reply` now, or, while a try is in flight, once it lands. */
  private end(w: Waiter, reply: Reply): void {
    if (w.state === 'waiting') this.finish(w, reply);
    else if (w.state === 'trying') w.ending ??= reply;
  }

  private finish(w: Waiter, reply: Reply): void {
    if (w.state === 'done') return;
    w.state = 'done';
    clearTimeout(w.timer);
    this.due.delete(w);
    this.byClient.delete(w.client);
    for (const id of w.keys) {
      const list = this.byKey.get(id)!;
      list.splice(list.indexOf(w), 1);
      if (list.length === 0) this.byKey.delete(id);
    }
    w.resolve(reply);
  }
}
