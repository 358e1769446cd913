// The node bpf/node_search.c searches, and a plain TypeScript search to check
// the program against. C layout (little-endian, 4096 bytes):
//   struct { u64 search_key; u64 count; u64 keys[255]; u64 values[255]; }
export const NODE_SIZE = 4096;
export const NODE_FANOUT = 255;
/** What the search returns when no key is >= the search key (~0). */
export const NOT_FOUND = 0xffff_ffff_ffff_ffffn;

const KEYS_OFFSET = 16;
const VALUES_OFFSET = KEYS_OFFSET + 8 * NODE_FANOUT;

export interface SearchNode {
  searchKey: bigint;
  /** Ascending unsigned 64-bit keys; `values[i]` belongs to `keys[i]`. */
  keys: readonly bigint[];
  values: readonly bigint[];
}

export function encodeSearchNode({ searchKey, keys, values }: SearchNode): Buffer {
  if (keys.length !== values.length || keys.length > NODE_FANOUT) {
    throw new RangeError(`a node holds up to ${NODE_FANOUT} keys, each with one value`);
  }
  const node = Buffer.alloc(NODE_SIZE);
  node.writeBigUInt64LE(searchKey, 0);
  node.writeBigUInt64LE(BigInt(keys.length), 8);
  keys.forEach((k, i) => node.writeBigUInt64LE(k, KEYS_OFFSET + 8 * i));
  values.forEach((v, i) => node.writeBigUInt64LE(v, VALUES_OFFSET + 8 * i));
  return node;
}

/** The value of the first key >= `searchKey`, or `NOT_FOUND`. */
export function searchReference({ searchKey, keys, values }: SearchNode): bigint {
  const i = keys.findIndex((k) => k >= searchKey);
  return i < 0 ? NOT_FOUND : values[i]!;
}
