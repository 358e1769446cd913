// bpf/include/xrpkv_format.h is the one declaration of the file's page and
// scratch layouts. TypeScript (src/format/) and the addon's leaf encoder
// (crates/node/src/format.rs, exported as `native.format`) keep copies by
// hand. This test asks clang what the header says for every constant a copy
// holds, through a host program compiled from the header, and fails naming
// each copy that differs. Every numeric XRPKV_ macro of the header must be
// tied to a copy here or listed in BPF_ONLY, so a new one cannot go unseen.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { native } from '../src/native.js';
import { XRP_PAGE_SIZE } from '../src/xrp.js';
import {
  BRANCH_ENTRY,
  BRANCH_ENTRY_FIELDS,
  HEADER,
  HEADER_FIELDS,
  LEAF_ENTRY,
  LEAF_ENTRY_FIELDS,
  MAX_KEY_LEN,
  META_PAGES,
  OVERFLOW_REF,
  PAGE_SIZES,
  PageType,
  SLOT_SIZE,
  ValueKind,
  maxInline,
  maxKeyLen,
} from '../src/format/page.js';
import {
  LOOKUP_SCRATCH,
  LOOKUP_STATES,
  RANGE_PAIR,
  RANGE_PAIR_FIELDS,
  RANGE_PAIR_LOCATION_FIELDS,
  RANGE_SCRATCH,
  RANGE_STATES,
  LOOKUP_INPUT_END,
  writeLookupInput,
} from '../src/format/scratch.js';

const INCLUDE = fileURLToPath(new URL('../bpf/include', import.meta.url));
const HEADER_FILE = join(INCLUDE, 'xrpkv_format.h');

/** The header's own constants, which no copy needs: the programs' bounds and phases. */
const BPF_ONLY = [
  'XRPKV_SEARCH_STEPS',
  'XRPKV_MAX_ENTRIES',
  'XRPKV_MAX_LEVELS',
  'XRPKV_MAX_PAGE_NO',
  'XRPKV_LOOKUP_VALUE_MAX',
  'XRPKV_PHASE_RESUME',
  'XRPKV_PHASE_REREAD',
  'XRPKV_PHASE_LEFTMOST',
  'XRPKV_RANGE_CACHE',
  'XRPKV_RANGE_OUT_SIZE',
  'XRPKV_BAD_INPUT',
];

/** Page sizes to ask `xrpkv_page_size_ok` about: the valid ones and their neighbours. */
const CANDIDATE_PAGE_SIZES = [0, 256, 500, 512, 768, 1024, 2048, 3072, 4096, 8192];

/** A claim: a C expression over the header, and the value a copy holds for it. */
type Claims = Record<string, number>;

const upperSnake = (name: string) => name.replace(/(?<=[a-z0-9])([A-Z])/g, '_$1').toUpperCase();
const snake = (name: string) => upperSnake(name).toLowerCase();

/** `values` (a name -> number object, or a TypeScript enum) as the header's macros `XRPKV_<group>_<NAME>`. */
function macros(group: string, values: object): Claims {
  const claims: Claims = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'number') claims[`XRPKV_${group}_${upperSnake(name)}`] = value;
  }
  return claims;
}

/** `fields` (camelCase names, offsets) as the offsets of `struct <struct>`'s snake_case fields. */
function fieldsOf(struct: string, fields: Record<string, number>): Claims {
  const claims: Claims = {};
  for (const [name, offset] of Object.entries(fields)) claims[`offsetof(struct ${struct}, ${snake(name)})`] = offset;
  return claims;
}

/** `f(p)` as `<fn>(p)` for each page size. */
function perPageSize(fn: string, sizes: readonly number[], f: (p: number) => number): Claims {
  return Object.fromEntries(sizes.map((p) => [`${fn}(${p})`, f(p)]));
}

const typeScript: Claims = {
  XRPKV_HEADER_SIZE: HEADER,
  'sizeof(struct xrpkv_header)': HEADER,
  ...fieldsOf('xrpkv_header', HEADER_FIELDS),
  XRPKV_HDR_TYPE: HEADER_FIELDS.type,
  XRPKV_HDR_COUNT: HEADER_FIELDS.count,
  XRPKV_HDR_PAGE_NO: HEADER_FIELDS.pageNo,
  XRPKV_META_PAGES: META_PAGES,
  XRPKV_MIN_PAGE_SIZE: PAGE_SIZES[0],
  XRPKV_MAX_PAGE_SIZE: PAGE_SIZES[PAGE_SIZES.length - 1],
  ...perPageSize('xrpkv_page_size_ok', CANDIDATE_PAGE_SIZES, (p) => Number((PAGE_SIZES as readonly number[]).includes(p))),
  ...macros('TYPE', PageType),
  XRPKV_SLOT_SIZE: SLOT_SIZE,
  XRPKV_BRANCH_FIXED: BRANCH_ENTRY,
  'sizeof(struct xrpkv_branch_entry)': BRANCH_ENTRY,
  ...fieldsOf('xrpkv_branch_entry', BRANCH_ENTRY_FIELDS),
  XRPKV_BRANCH_CHILD: BRANCH_ENTRY_FIELDS.child,
  XRPKV_LEAF_FIXED: LEAF_ENTRY,
  'sizeof(struct xrpkv_leaf_entry)': LEAF_ENTRY,
  ...fieldsOf('xrpkv_leaf_entry', LEAF_ENTRY_FIELDS),
  XRPKV_LEAF_KIND: LEAF_ENTRY_FIELDS.valueKind,
  XRPKV_LEAF_VALUE_LEN: LEAF_ENTRY_FIELDS.valueLen,
  ...macros('KIND', ValueKind),
  XRPKV_OVERFLOW_REF: OVERFLOW_REF,
  XRPKV_MAX_KEY: MAX_KEY_LEN,
  ...perPageSize('xrpkv_max_key', PAGE_SIZES, maxKeyLen),
  ...perPageSize('xrpkv_max_inline', PAGE_SIZES, maxInline),

  'sizeof(struct xrpkv_lookup)': XRP_PAGE_SIZE,
  ...fieldsOf('xrpkv_lookup', LOOKUP_SCRATCH),
  XRPKV_LOOKUP_KEY: LOOKUP_SCRATCH.key,
  XRPKV_LOOKUP_VALUE: LOOKUP_SCRATCH.value,
  ...macros('LOOKUP', LOOKUP_STATES),

  'sizeof(struct xrpkv_range)': XRP_PAGE_SIZE,
  ...fieldsOf('xrpkv_range', RANGE_SCRATCH),
  XRPKV_RANGE_KEY: RANGE_SCRATCH.key,
  XRPKV_RANGE_OUT: RANGE_SCRATCH.out,
  ...macros('RANGE', RANGE_STATES),
  // xrp-range.ts starts a scan from a zeroed scratch: phase 0 must be a new scan.
  XRPKV_PHASE_DESCEND: 0,
  ...macros('PAIR', RANGE_PAIR),
  'sizeof(struct xrpkv_pair)': RANGE_PAIR.header,
  ...fieldsOf('xrpkv_pair', RANGE_PAIR_FIELDS),
  'sizeof(struct xrpkv_pair_location)': RANGE_PAIR.location,
  ...fieldsOf('xrpkv_pair_location', RANGE_PAIR_LOCATION_FIELDS),
};

const f = native.format;
const addon: Claims = {
  XRPKV_HEADER_SIZE: f.headerSize,
  ...fieldsOf('xrpkv_header', f.header),
  XRPKV_META_PAGES: f.metaPages,
  ...perPageSize('xrpkv_page_size_ok', CANDIDATE_PAGE_SIZES, (p) => Number(f.pageSizes.includes(p))),
  ...macros('TYPE', f.pageTypes),
  XRPKV_SLOT_SIZE: f.slotSize,
  XRPKV_LEAF_FIXED: f.leafEntrySize,
  'sizeof(struct xrpkv_leaf_entry)': f.leafEntrySize,
  ...fieldsOf('xrpkv_leaf_entry', f.leafEntry),
  ...macros('KIND', f.valueKinds),
  XRPKV_OVERFLOW_REF: f.overflowRef,
  ...perPageSize('xrpkv_max_inline', f.pageSizes, (p) => f.maxInline[f.pageSizes.indexOf(p)]),
  // The XRP runtime's page and kernel-mode read, as bpf/include/xrp.h (which the header includes) has them.
  XRP_PAGE_SIZE: native.xrp.pageSize,
  XRP_SECTOR_SIZE: native.xrp.sectorSize,
};

/** What clang makes of each expression, compiled against the header for this machine and run. */
function probe(expressions: string[]): Claims {
  const dir = mkdtempSync(join(tmpdir(), 'xrpkv-format-'));
  try {
    const source = join(dir, 'probe.c');
    const program = join(dir, 'probe');
    writeFileSync(
      source,
      [
        '#include <stddef.h>',
        '#include <stdio.h>',
        '#include "xrpkv_format.h"',
        'int main(void)',
        '{',
        ...expressions.map((e) => `\tprintf("%lld\\n", (long long)(${e}));`),
        '\treturn 0;',
        '}',
        '',
      ].join('\n'),
    );
    const clang = process.env.CLANG ?? 'clang';
    try {
      execFileSync(clang, ['-std=gnu11', '-Wall', '-Werror', '-I', INCLUDE, source, '-o', program], { stdio: 'pipe' });
    } catch (e) {
      const { code, stderr } = e as { code?: string; stderr?: Buffer };
      if (code === 'ENOENT') throw new Error(`clang is required (${clang}): run \`bash scripts/setup.sh\` or \`apt-get install clang\``);
      throw new Error(`the probe does not compile against ${HEADER_FILE}:\n${stderr}`);
    }
    const values = execFileSync(program, { encoding: 'utf8' }).trim().split('\n').map(Number);
    return Object.fromEntries(expressions.map((e, i) => [e, values[i]]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The header's object-like XRPKV_ macros with a value (the include guard and XRPKV_INLINE aside). */
function headerMacros(): string[] {
  const names = [...readFileSync(HEADER_FILE, 'utf8').matchAll(/^#define (XRPKV_[A-Z0-9_]+)[ \t]+\S/gm)].map((m) => m[1]);
  return names.filter((name) => name !== 'XRPKV_INLINE');
}

let header: Claims;

beforeAll(() => {
  header = probe([...new Set([...Object.keys(typeScript), ...Object.keys(addon), ...headerMacros()])]);
});

const asHeaderSays = (claims: Claims) => Object.fromEntries(Object.keys(claims).map((e) => [e, header[e]]));

describe('bpf/include/xrpkv_format.h and its copies', () => {
  it("TypeScript's copies (src/format/page.ts, scratch.ts) are the header's", () => {
    expect(typeScript).toEqual(asHeaderSays(typeScript));
  });

  it("the addon's copies (crates/node/src/format.rs, the runtime's page and sector sizes) are the header's", () => {
    expect(addon).toEqual(asHeaderSays(addon));
  });

  it("every constant of the header is tied to a copy or listed as the programs' own", () => {
    const tied = new Set([...Object.keys(typeScript), ...Object.keys(addon)]);
    const defined = headerMacros();
    expect(defined.filter((name) => !tied.has(name) && !BPF_ONLY.includes(name))).toEqual([]);
    expect(BPF_ONLY.filter((name) => !defined.includes(name) || tied.has(name))).toEqual([]);
  });
});

describe('writeLookupInput', () => {
  it('writes every input field of struct xrpkv_lookup at its offset, whatever the page held', () => {
    const page = Buffer.alloc(XRP_PAGE_SIZE, 0xab);
    const words = new Uint32Array(page.buffer, page.byteOffset, XRP_PAGE_SIZE / 4);
    const key = Buffer.from('a key');
    const pageNo = 2 ** 40 + 7;
    writeLookupInput(words, page, key, 512, pageNo, 3);
    const S = LOOKUP_SCRATCH;
    expect(page.readUInt32LE(S.state)).toBe(0);
    expect(page.readUInt16LE(S.keyLen)).toBe(key.length);
    expect(page.readUInt16LE(S.keyLen + 2)).toBe(0); // reserved
    expect(page.readUInt32LE(S.pageSize)).toBe(512);
    expect(page.readUInt32LE(S.valueLen)).toBe(0);
    expect(page.readBigUInt64LE(S.overflowPage)).toBe(0n);
    expect(page.readBigUInt64LE(S.levels)).toBe(0n);
    expect(page.subarray(S.key, S.key + key.length)).toEqual(key);
    expect(page.readBigUInt64LE(S.page)).toBe(BigInt(pageNo));
    expect(page.readUInt32LE(S.leafLevel)).toBe(3);
    expect(page.readUInt32LE(S.leafLevel + 4)).toBe(0); // reserved2
    // Nothing past the input fields, nor past the key within them, is touched.
    expect(page.subarray(S.key + key.length, S.page).every((b) => b === 0xab)).toBe(true);
    expect(page.subarray(LOOKUP_INPUT_END).every((b) => b === 0xab)).toBe(true);
  });
});
