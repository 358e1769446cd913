// TxnWrites (src/store/txn-writes.ts), the table a transaction callback's
// reads and writes go through, against a Map model: random reads, writes,
// removals and undone nested runs over a few thousand keys (so the table
// grows and rehashes many times), then the list of writes compared.
import { describe, expect, it } from 'vitest';
import { TxnWrites } from '../src/store/txn-writes.js';
import { random } from './store-fixtures.js';

interface ModelEntry {
  written: boolean;
  value: Buffer | undefined;
  present: boolean | undefined;
  before: boolean | undefined;
}

describe('TxnWrites', () => {
  it('agrees with a Map model through writes, reads and undos, as it grows', () => {
    const below = random(7);
    /** True with probability `p` (a multiple of 0.01). */
    const chance = (p: number) => below(100) < p * 100;
    // Keys of several lengths, some prefixes of others, one empty.
    const keyCount = 3000;
    const keyOf = (i: number) => Buffer.from(i === 0 ? '' : `k${i}`.repeat(1 + (i % 3)), 'latin1');
    const table = new TxnWrites();
    const model = new Map<string, ModelEntry>();
    const entryOf = (i: number) => {
      const key = keyOf(i);
      const id = key.toString('latin1');
      if (!model.has(id)) model.set(id, { written: false, value: undefined, present: undefined, before: undefined });
      // A new buffer with the same bytes finds the same entry.
      return { e: table.entry(Buffer.from(key)), m: model.get(id)!, key };
    };
    const order: string[] = [];
    const seen = new Set<string>();
    const undo: { e: number; state: number; value: Buffer | undefined; m: ModelEntry; copy: ModelEntry }[][] = [];
    for (let step = 0; step < 40_000; step++) {
      const i = below(keyCount);
      const { e, m, key } = entryOf(i);
      const id = key.toString('latin1');
      if (!seen.has(id)) {
        seen.add(id);
        order.push(id);
      }
      const r = below(100);
      if (r < 30) {
        // A read: the written value, else what the transaction held (noted).
        expect(table.isWritten(e)).toBe(m.written);
        if (m.written) expect(table.value(e)).toBe(m.value);
        else {
          const present = chance(0.5);
          table.notePresent(e, present);
          m.present = present;
        }
      } else if (r < 80) {
        const value = chance(0.2) ? undefined : Buffer.from(`v${step}`);
        undo.at(-1)?.push({ e, state: table.saved(e), value: table.value(e), m, copy: { ...m } });
        table.write(e, value);
        if (!m.written) m.before = m.present;
        m.written = true;
        m.value = value;
      } else if (r < 90) {
        undo.push([]);
      } else if (undo.length > 0) {
        const journal = undo.pop()!;
        if (chance(0.5)) {
          for (let j = journal.length - 1; j >= 0; j--) {
            const { e: je, state, value, m: jm, copy } = journal[j];
            table.restore(je, state, value);
            Object.assign(jm, { written: copy.written, value: copy.value, before: copy.before });
          }
        } else {
          undo.at(-1)?.push(...journal);
        }
      }
    }
    const want = order
      .filter((id) => model.get(id)!.written)
      .map((id) => {
        const m = model.get(id)!;
        return { key: id, value: m.value?.toString(), existed: m.before };
      });
    const got = table.list().map((w) => ({ key: w.key.toString('latin1'), value: w.value?.toString(), existed: w.existed }));
    expect(want.length).toBeGreaterThan(1000);
    expect(got).toEqual(want);
  });
});
