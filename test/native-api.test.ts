// What the addon exports against what src/native.ts says it exports: the
// names its choice arguments take, and its records' fields. Each
// `Record<Union, ...>` literal below names every member of its union and no
// other (tsc -p test checks that); the test then checks that the addon's
// tables name the same, so a name added on either side alone fails.
import { describe, expect, it } from 'vitest';
import {
  native,
  type NativeBatchIo,
  type NativeChainField,
  type NativeDirectIo,
  type NativeMode,
  type NativeResultField,
  type NativeSyncField,
} from '../src/native.js';

const names = (all: Record<string, unknown>) => Object.keys(all).sort();

/** Checks that fields of these byte widths, at the addon's offsets, lie inside a record of `size` bytes and do not overlap. */
function expectLayout(offsets: Readonly<Record<string, number>>, widths: Record<string, number>, size: number): void {
  expect(names(offsets)).toEqual(names(widths));
  const spans = Object.entries(offsets)
    .map(([name, at]) => ({ name, at, end: at + widths[name] }))
    .sort((a, b) => a.at - b.at);
  spans.forEach((span, i) => {
    expect(span.at, span.name).toBeGreaterThanOrEqual(i === 0 ? 0 : spans[i - 1].end);
    expect(span.end, span.name).toBeLessThanOrEqual(size);
  });
}

describe("the addon's exports and src/native.ts's types", () => {
  it('name the same choices, the default first', () => {
    const modes: Record<NativeMode, true> = { extended: true, kernel: true };
    const directIo: Record<NativeDirectIo, true> = { auto: true, require: true, off: true };
    const batchIo: Record<NativeBatchIo, true> = { auto: true, threads: true };
    expect([...native.xrp.modes].sort()).toEqual(names(modes));
    expect([...native.xrp.directIo].sort()).toEqual(names(directIo));
    expect([...native.xrp.batchIo].sort()).toEqual(names(batchIo));
    expect([native.xrp.modes[0], native.xrp.directIo[0], native.xrp.batchIo[0]]).toEqual(['extended', 'auto', 'auto']);
  });

  it('name the same record fields, at offsets where the widths src/xrp.ts reads fit', () => {
    // The widths src/xrp.ts writes a chain record's fields with, and reads a result record's.
    const chain: Record<NativeChainField, number> = { offset: 8, length: 4 };
    const result: Record<NativeResultField, number> = { code: 4, hops: 4, lastOffset: 8, returned: 8, detail: 4, startedNs: 8, finishedNs: 8 };
    expectLayout(native.xrp.chainFields, chain, native.xrp.chainRecord);
    expectLayout(native.xrp.resultFields, result, native.xrp.resultRecord);
    // The sync record src/xrp.ts writes and reads through a Uint32Array and writeDoubleLE: each field at a multiple of its width.
    const sync: Record<NativeSyncField, number> = {
      ...{ offset: 8, length: 4, mode: 4, hopLimit: 4, scratchLength: 4, budget: 8 },
      ...{ code: 4, hops: 4, lastOffset: 8, returned: 8, detail: 4, logged: 4 },
    };
    expectLayout(native.xrp.syncFields, sync, native.xrp.syncRecord);
    for (const [name, at] of Object.entries(native.xrp.syncFields)) expect(at % 4, name).toBe(0);
  });
});
