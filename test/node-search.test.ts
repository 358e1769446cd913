// bpf/node_search.c, compiled by the build into dist/bpf/node_search.o, run
// through the binding and compared with the TypeScript reference.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { BpfLoadError, BpfProgram } from '../src/index.js';
import { encodeSearchNode, NODE_FANOUT, NODE_SIZE, NOT_FOUND, searchReference, type SearchNode } from './node-search-layout.js';

const OBJECT = fileURLToPath(new URL('../dist/bpf/node_search.o', import.meta.url));

const randomU64 = () => randomBytes(8).readBigUInt64LE();

function randomNode(): Omit<SearchNode, 'searchKey'> {
  const count = Math.floor(Math.random() * (NODE_FANOUT + 1));
  // Small keys some of the time, so neighbours and exact hits are common.
  const small = Math.random() < 0.5;
  const keys = new Set<bigint>();
  while (keys.size < count) keys.add(small ? BigInt(Math.floor(Math.random() * 1000)) : randomU64());
  const sorted = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { keys: sorted, values: sorted.map(() => randomU64()) };
}

function searchKeysFor(keys: readonly bigint[]): bigint[] {
  const out = [0n, NOT_FOUND, randomU64()];
  for (let i = 0; i < 8 && keys.length > 0; i++) {
    const k = keys[Math.floor(Math.random() * keys.length)]!;
    out.push(k, k > 0n ? k - 1n : k, k < NOT_FOUND ? k + 1n : k);
  }
  return out;
}

describe('node_search.o', () => {
  it('lists its program', () => {
    const fromPath = BpfProgram.list(OBJECT);
    expect(fromPath).toEqual(BpfProgram.list(readFileSync(OBJECT)));
    const info = fromPath.find((p) => p.name === 'node_search');
    expect(info).toBeDefined();
    expect(info!.section.startsWith('xrp')).toBe(true);
    expect(info!.insnCount).toBeGreaterThan(0);
  });

  it('loads by name, and refuses an unknown name', () => {
    const p = BpfProgram.fromFile(OBJECT, 'node_search');
    expect(p.name).toBe('node_search');
    expect(p.length).toBeGreaterThan(0);
    expect(() => BpfProgram.fromFile(OBJECT, 'no_such')).toThrow(BpfLoadError);
    try {
      BpfProgram.fromFile(OBJECT, 'no_such');
    } catch (e) {
      expect(e).toMatchObject({ code: 'NO_SUCH_PROGRAM' });
    }
  });

  it('matches the reference on random nodes', () => {
    const p = BpfProgram.fromFile(OBJECT, 'node_search');
    let runs = 0;
    for (let n = 0; n < 300; n++) {
      const { keys, values } = randomNode();
      for (const searchKey of searchKeysFor(keys)) {
        const node = { searchKey, keys, values };
        const { r0 } = p.run(encodeSearchNode(node));
        expect(r0, `search ${searchKey} in ${keys.length} keys`).toBe(searchReference(node));
        runs++;
      }
    }
    expect(runs).toBeGreaterThan(1000);
  });

  it('returns NOT_FOUND for a short node or a count over 255', () => {
    const p = BpfProgram.fromFile(OBJECT, 'node_search');
    const node = encodeSearchNode({ searchKey: 1n, keys: [5n], values: [50n] });
    expect(p.run(node).r0).toBe(50n);
    expect(p.run(node.subarray(0, NODE_SIZE - 1)).r0).toBe(NOT_FOUND);
    node.writeBigUInt64LE(256n, 8);
    expect(p.run(node).r0).toBe(NOT_FOUND);
  });
});
