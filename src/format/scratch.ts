// The scratch pages of the store's BPF programs (docs/FORMAT.md, "Lookups in
// BPF" and "Range scans in BPF"): what the caller writes before a chain and
// reads after it. bpf/include/xrpkv_format.h declares the same layouts as C
// structs; test/format-layout.test.ts checks that these copies agree with
// what clang compiles from it (the names here are its fields', camelCased).

/** `struct xrpkv_lookup` (bpf/lookup.c): field offsets in the scratch page. */
export const LOOKUP_SCRATCH = {
  state: 0,
  keyLen: 4,
  pageSize: 8,
  valueLen: 12,
  overflowPage: 16,
  levels: 24,
  key: 32,
  /** The first page's number; the program sets it to each page it reads next (0: not checked). */
  page: 544,
  /** `levels` at the leaf: the tree's height minus the first page's depth (0: not checked). */
  leafLevel: 552,
  value: 1024,
} as const;

/** The lookup scratch's input fields end with leaf_level and the reserved u32 after it. */
export const LOOKUP_INPUT_END = LOOKUP_SCRATCH.leafLevel + 8;

// Its fields as indexes into the page's u32s (writeLookupInput).
const W_STATE = LOOKUP_SCRATCH.state / 4;
const W_KEY_LEN = LOOKUP_SCRATCH.keyLen / 4;
const W_PAGE_SIZE = LOOKUP_SCRATCH.pageSize / 4;
const W_VALUE_LEN = LOOKUP_SCRATCH.valueLen / 4;
const W_OVERFLOW_PAGE = LOOKUP_SCRATCH.overflowPage / 4;
const W_PAGE = LOOKUP_SCRATCH.page / 4;
const W_LEAF_LEVEL = LOOKUP_SCRATCH.leafLevel / 4;

/**
 * Every input field of a lookup's scratch `bytes` (`words`: the same bytes
 * as little-endian u32s, at least LOOKUP_INPUT_END of them; a store each,
 * where Buffer's writers check their arguments), from byte `at` (a multiple
 * of 4: a batch's chains lie back to back): the key, the page size, and
 * what bpf/lookup.c checks each page against, the number of the first page
 * (0: not checked) and the level at which it must find a leaf (0: not
 * checked); state, value_len, overflow_page and levels 0. The key's bytes
 * past its length are left as they are: the program does not read them.
 */
export function writeLookupInput(words: Uint32Array, bytes: Uint8Array, key: Uint8Array, pageSize: number, page: number, leafLevel: number, at = 0): void {
  const w = at / 4;
  words[w + W_STATE] = 0;
  words[w + W_KEY_LEN] = key.length; // and the u16 after it, reserved, 0
  words[w + W_PAGE_SIZE] = pageSize;
  words[w + W_VALUE_LEN] = 0;
  // overflow_page and levels (stores: TypedArray fill is a call into the runtime)
  words[w + W_OVERFLOW_PAGE] = 0;
  words[w + W_OVERFLOW_PAGE + 1] = 0;
  words[w + W_OVERFLOW_PAGE + 2] = 0;
  words[w + W_OVERFLOW_PAGE + 3] = 0;
  bytes.set(key, at + LOOKUP_SCRATCH.key);
  // Below 2^53, written as two halves: no BigInt per chain.
  words[w + W_PAGE] = page % 2 ** 32;
  words[w + W_PAGE + 1] = Math.floor(page / 2 ** 32);
  words[w + W_LEAF_LEVEL] = leafLevel;
  words[w + W_LEAF_LEVEL + 1] = 0;
}

/** bpf/lookup.c's end states (`state`, XRPKV_LOOKUP_*). */
export const LOOKUP_STATES = { searching: 0, inline: 1, absent: 2, overflow: 3, corrupt: 4 } as const;

/** `struct xrpkv_range` (bpf/range.c): field offsets in the scratch page. */
export const RANGE_SCRATCH = {
  state: 0,
  keyLen: 4,
  maxPairs: 6,
  pageSize: 8,
  page: 16,
  pairs: 32,
  used: 36,
  /** The tree's height (0: levels not checked). */
  height: 48,
  key: 64,
  out: 1088,
} as const;

/** bpf/range.c's end states (`state`, XRPKV_RANGE_*). */
export const RANGE_STATES = { running: 0, more: 1, end: 2, corrupt: 4 } as const;

/** A pair in `out`: its head, the key, then the value or (valueLen = `overflow`) its location (XRPKV_PAIR_*). */
export const RANGE_PAIR = { header: 4, overflow: 0xffff, location: 12 } as const;

/** `struct xrpkv_pair`: a pair's head, offsets from the pair's start. */
export const RANGE_PAIR_FIELDS = { keyLen: 0, valueLen: 2 } as const;

/** `struct xrpkv_pair_location`: where an overflow value is, offsets from the end of the pair's key. */
export const RANGE_PAIR_LOCATION_FIELDS = { firstPage: 0, valueLen: 8 } as const;
