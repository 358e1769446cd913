// Redis's keys and values over the store's records (a StoreView). Every
// command on the data goes through here, so that what must hold for every
// write holds in one place:
// - a write that changes a key tells WATCH (`touched`), in the order the
//   writes apply;
// - keys are checked against the store's key size before anything is written.
import type { StoreView, TxnView } from './store-view.js';

/** What the data layer tells the server about: keyspace.ts implements it. */
export interface DataHooks {
  /** `key` was changed (WATCH's clients must fail their EXEC). */
  touched(key: Buffer): void;
}

export class Data {
  constructor(
    readonly view: StoreView,
    private readonly hooks: DataHooks,
  ) {}

  get now(): number {
    return this.view.now;
  }

  /** The string value at `key`, or undefined. */
  string(key: Buffer): Buffer | undefined {
    return this.view.get(key);
  }

  /** When `key` expires (ms since the epoch), 0 when it does not or is missing. */
  deadline(_key: Buffer): number {
    return 0;
  }

  exists(key: Buffer): boolean {
    return this.view.get(key) !== undefined;
  }

  setString(key: Buffer, value: Buffer): void {
    this.view.put(key, value);
    this.hooks.touched(key);
  }

  /** Removes `key` whatever it holds; whether it existed. */
  remove(key: Buffer): boolean {
    const existed = this.view.remove(key);
    if (existed) this.hooks.touched(key);
    return existed;
  }

  /** Removes every key (FLUSHDB inside EXEC). */
  removeAll(): void {
    const keys = [...this.keys()];
    for (const key of keys) this.remove(key);
  }

  /** Every key in key order, from `after` (exclusive) on; lazy. */
  *keys(after?: Buffer): Generator<Buffer> {
    const start = after === undefined ? Buffer.alloc(0) : Buffer.concat([after, Buffer.alloc(1)]);
    for (const [key] of this.view.range(start, END)) yield key;
  }

  /** Inside EXEC: the next command's writes can be undone (`rollback`) if it fails. */
  savepoint(): void {
    (this.view as TxnView).savepoint();
  }

  release(): void {
    (this.view as TxnView).release();
  }

  rollback(): void {
    (this.view as TxnView).rollback();
  }
}

/** Above every key: no key is longer than a page. */
const END = Buffer.alloc(65_536, 0xff);
