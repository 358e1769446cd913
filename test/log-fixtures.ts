// What the log's tests share (store-log, store-fold): binary keys that sort
// as their numbers do, values tagged by the commit that wrote them, and
// ranges of them put in one batch, on 512-byte pages.
import type { Database } from '../src/index.js';

export type Bin = Database<Buffer, Buffer>;
export const BINARY = { keyEncoding: 'binary', valueEncoding: 'binary', pageSize: 512, sync: false } as const;
export const key = (i: number) => Buffer.from(`key-${String(i).padStart(6, '0')}`);
export const val = (tag: string, i: number) => Buffer.from(`${tag}-${i}`);

/** Keys `from` to `to` - 1, each with `val(tag, i)`, in one batch. */
export async function put(db: Bin, from: number, to: number, tag: string): Promise<void> {
  await db.batch(Array.from({ length: to - from }, (_, j) => ({ type: 'put' as const, key: key(from + j), value: val(tag, from + j) })));
}
