// What `getRange` and `getKeys` return, as lmdb-js's RangeIterable: an
// iterable that does nothing until it is iterated (the snapshot is taken
// then, and each iteration takes its own), with `map` and `filter` that
// make new lazy iterables over it (so they compose), and `forEach` and
// `asArray` that run it to the end.
//
// Whatever stops an iteration early (a `break`, a callback that throws)
// reaches the source's `return`, which releases its snapshot: `map` and
// `filter` iterate their source with `for...of`, which calls it.

export class RangeIterable<T> implements Iterable<T>, AsyncIterable<T> {
  /** `iterate` starts one iteration; it runs only when one begins. */
  constructor(private readonly iterate: () => Iterator<T>) {}

  /** A lazy iterable of `fn(value, index)` for each value. */
  map<U>(fn: (value: T, index: number) => U): RangeIterable<U> {
    if (typeof fn !== 'function') throw new TypeError('map needs a function');
    return new RangeIterable(() => mapped(this, fn));
  }

  /** A lazy iterable of the values for which `fn(value, index)` is truthy (index counts every value seen). */
  filter(fn: (value: T, index: number) => unknown): RangeIterable<T> {
    if (typeof fn !== 'function') throw new TypeError('filter needs a function');
    return new RangeIterable(() => filtered(this, fn));
  }

  /** Runs `fn(value, index)` for each value, now. */
  forEach(fn: (value: T, index: number) => void): void {
    if (typeof fn !== 'function') throw new TypeError('forEach needs a function');
    let i = 0;
    for (const value of this) fn(value, i++);
  }

  /** Every value, in order, now (a getter, as lmdb-js's). */
  get asArray(): T[] {
    return [...this];
  }

  [Symbol.iterator](): Iterator<T> {
    return this.iterate();
  }

  /** The same values for `for await`; each step is the synchronous one, settled. */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    const it = this.iterate();
    return {
      next: async () => it.next(),
      return: async (value?: unknown) => (it.return ? it.return(value) : { done: true, value: value as T }),
    };
  }
}

function* mapped<T, U>(source: Iterable<T>, fn: (value: T, index: number) => U): Generator<U, undefined> {
  let i = 0;
  for (const value of source) yield fn(value, i++);
  return undefined;
}

function* filtered<T>(source: Iterable<T>, fn: (value: T, index: number) => unknown): Generator<T, undefined> {
  let i = 0;
  for (const value of source) if (fn(value, i++)) yield value;
  return undefined;
}
