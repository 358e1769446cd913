/* xrpkv_format.h: docs/FORMAT.md as the BPF programs see it (bpf/lookup.c,
 * bpf/range.c): page constants, the two scratch layouts, and the checked page
 * accessors both programs search pages with.
 *
 * The one declaration of these layouts: the TypeScript store (src/format/)
 * and the addon's leaf encoder (crates/node/src/format.rs) keep copies by
 * hand, and test/format-layout.test.ts compiles this header with clang and
 * fails when a copy differs from it. Every numeric XRPKV_ macro here is
 * either tied to a copy there or listed in that test as the programs' own.
 *
 * Rules every accessor here keeps, so that a kernel verifier can follow them:
 * - every byte access to data or scratch is `base[XRP_PAGE_MASK(offset)]`
 *   (wider ones: `xrpkv_at`): inside the 4 KiB page whatever the offset, and
 *   the offset is also checked against the file's page size first, so the
 *   mask never changes a correct offset;
 * - multi-byte fields are little-endian and read with one unaligned load,
 *   its offset masked and clamped into the page (xrpkv_at);
 * - every loop has a constant bound;
 * - no global variables and no constant tables (no .data, .bss or .rodata).
 */
#ifndef XRPKV_FORMAT_H
#define XRPKV_FORMAT_H

#include "xrp.h"

typedef unsigned short __u16;

#define XRPKV_INLINE static inline __attribute__((always_inline))

/* ---- Pages (docs/FORMAT.md, "Pages") ---- */

#define XRPKV_MIN_PAGE_SIZE 512
#define XRPKV_MAX_PAGE_SIZE 4096
#define XRPKV_HEADER_SIZE 32

/* Pages 0 and 1 are the meta pages: a child, overflow or log page is never one. */
#define XRPKV_META_PAGES 2

/* The header every page starts with. The programs read its fields by offset
 * (XRPKV_HDR_*); the struct is their layout, checked against them below. */
struct xrpkv_header {
	__u32 checksum;       /* 0:  CRC-32 (zlib's) of bytes 4..P of the page */
	__u8 type;            /* 4:  XRPKV_TYPE_* */
	__u8 flags;           /* 5:  0 */
	__u16 count;          /* 6:  entries (branch, leaf, freelist, log) */
	__u64 page_no;        /* 8:  the page's own number */
	__u64 txid;           /* 16: the transaction that wrote it */
	__u64 next;           /* 24: overflow, freelist, log: the next page of the chain (0: end) */
};

#define XRPKV_HDR_TYPE 4
#define XRPKV_HDR_COUNT 6
#define XRPKV_HDR_PAGE_NO 8

_Static_assert(sizeof(struct xrpkv_header) == XRPKV_HEADER_SIZE, "header size");
_Static_assert(__builtin_offsetof(struct xrpkv_header, type) == XRPKV_HDR_TYPE, "header type");
_Static_assert(__builtin_offsetof(struct xrpkv_header, count) == XRPKV_HDR_COUNT, "header count");
_Static_assert(__builtin_offsetof(struct xrpkv_header, page_no) == XRPKV_HDR_PAGE_NO, "header pageNo");

#define XRPKV_TYPE_META 1
#define XRPKV_TYPE_BRANCH 2
#define XRPKV_TYPE_LEAF 3
#define XRPKV_TYPE_OVERFLOW 4
#define XRPKV_TYPE_FREELIST 5
#define XRPKV_TYPE_LOG 6

/* Entries sit at any offset of a page, so they are read by offset
 * (XRPKV_BRANCH_*, XRPKV_LEAF_*); these structs are their layouts, checked
 * against those offsets below. The key follows the fixed part. */
struct xrpkv_branch_entry {
	__u16 key_len;        /* 0 */
	__u64 child;          /* 2: page number */
} __attribute__((packed));

struct xrpkv_leaf_entry {
	__u16 key_len;        /* 0 */
	__u8 value_kind;      /* 2: XRPKV_KIND_* */
	__u8 reserved;        /* 3: 0 */
	__u32 value_len;      /* 4: the value's length; after the key: the value, or its first overflow page (u64) */
};

#define XRPKV_BRANCH_CHILD 2
#define XRPKV_BRANCH_FIXED 10
#define XRPKV_LEAF_KIND 2
#define XRPKV_LEAF_VALUE_LEN 4
#define XRPKV_LEAF_FIXED 8
#define XRPKV_KIND_INLINE 0
#define XRPKV_KIND_OVERFLOW 1
/* What follows an overflow value's key: its first overflow page, a u64. */
#define XRPKV_OVERFLOW_REF 8
/* A slot: the u16 offset of an entry, in the array after the header. */
#define XRPKV_SLOT_SIZE 2

_Static_assert(sizeof(struct xrpkv_branch_entry) == XRPKV_BRANCH_FIXED, "branch entry size");
_Static_assert(__builtin_offsetof(struct xrpkv_branch_entry, child) == XRPKV_BRANCH_CHILD, "branch child");
_Static_assert(sizeof(struct xrpkv_leaf_entry) == XRPKV_LEAF_FIXED, "leaf entry size");
_Static_assert(__builtin_offsetof(struct xrpkv_leaf_entry, value_kind) == XRPKV_LEAF_KIND, "leaf valueKind");
_Static_assert(__builtin_offsetof(struct xrpkv_leaf_entry, value_len) == XRPKV_LEAF_VALUE_LEN, "leaf valueLen");

/* maxKeyLen for 4 KiB pages; smaller pages allow less (xrpkv_max_key). */
#define XRPKV_MAX_KEY 511
/* Binary search steps: enough for 65,535 entries, far above what a page holds. */
#define XRPKV_SEARCH_STEPS 16
/* Entries a page can hold: (4096 - 32) / (2 + 8) = 406 leaf entries. */
#define XRPKV_MAX_ENTRIES 512
/* Pages on one root-to-leaf path. A real tree this deep needs 2^31 leaves
 * (a split leaves at least 2 children per branch); deeper means a cycle. */
#define XRPKV_MAX_LEVELS 32
/* Child and overflow page numbers above this are corrupt (and keep
 * page * pageSize far from overflowing). */
#define XRPKV_MAX_PAGE_NO (1ULL << 40)

/* ---- Lookup scratch (docs/FORMAT.md, "Lookups in BPF") ---- */

#define XRPKV_LOOKUP_SEARCHING 0
#define XRPKV_LOOKUP_INLINE 1
#define XRPKV_LOOKUP_ABSENT 2
#define XRPKV_LOOKUP_OVERFLOW 3
#define XRPKV_LOOKUP_CORRUPT 4

#define XRPKV_LOOKUP_KEY 32
#define XRPKV_LOOKUP_VALUE 1024
#define XRPKV_LOOKUP_VALUE_MAX 3072

struct xrpkv_lookup {
	__u32 state;          /* 0:  out: XRPKV_LOOKUP_* */
	__u16 key_len;        /* 4:  in: search key length, <= 511 */
	__u16 reserved;       /* 6 */
	__u32 page_size;      /* 8:  in: the file's page size */
	__u32 value_len;      /* 12: out: the value's length (states 1, 3) */
	__u64 overflow_page;  /* 16: out: first overflow page (state 3) */
	__u64 levels;         /* 24: in 0, out: pages searched */
	__u8 key[512];        /* 32: in: the search key */
	__u64 page;           /* 544: in: the first page's number (0: not checked);
	                       *      the program sets it to each child it reads */
	__u32 leaf_level;     /* 552: in: `levels` at the leaf, the tree's height
	                       *      minus the first page's depth (0: not checked) */
	__u32 reserved2;      /* 556 */
	__u8 unused[464];     /* 560 */
	__u8 value[3072];     /* 1024: out: the value (state 1) */
};

_Static_assert(sizeof(struct xrpkv_lookup) == 4096, "lookup scratch is one page");
_Static_assert(__builtin_offsetof(struct xrpkv_lookup, key) == XRPKV_LOOKUP_KEY, "lookup key");
_Static_assert(__builtin_offsetof(struct xrpkv_lookup, value) == XRPKV_LOOKUP_VALUE, "lookup value");

/* ---- Range scratch (docs/FORMAT.md, "Range scans in BPF") ---- */

#define XRPKV_RANGE_RUNNING 0
#define XRPKV_RANGE_MORE 1
#define XRPKV_RANGE_END 2
#define XRPKV_RANGE_CORRUPT 4

/* Phases: the caller writes DESCEND (a new scan) or leaves RESUME (written by
 * the program when it stopped with MORE); the others are the program's own. */
#define XRPKV_PHASE_DESCEND 0   /* this page is on the path to the start key */
#define XRPKV_PHASE_RESUME 1    /* this page is the leaf to resume at `slot` */
#define XRPKV_PHASE_REREAD 2    /* this page is path[depth]: descend into child path_slot[depth] */
#define XRPKV_PHASE_LEFTMOST 3  /* this page is the next subtree: take its first entry */

#define XRPKV_RANGE_KEY 64
#define XRPKV_RANGE_CACHE 16
#define XRPKV_RANGE_OUT 1088
#define XRPKV_RANGE_OUT_SIZE 3008
/* A pair in out[]: its head, the key, then the value, or (value_len
 * XRPKV_PAIR_OVERFLOW) the value's location in overflow pages. Pairs sit at
 * any offset: these structs are layouts, checked against the sizes below. */
struct xrpkv_pair {
	__u16 key_len;        /* 0 */
	__u16 value_len;      /* 2: or XRPKV_PAIR_OVERFLOW */
};

struct xrpkv_pair_location {
	__u64 first_page;     /* 0: the first overflow page */
	__u32 value_len;      /* 8: the value's length */
} __attribute__((packed));

#define XRPKV_PAIR_HEADER 4
#define XRPKV_PAIR_OVERFLOW 0xffff
#define XRPKV_PAIR_LOCATION 12

_Static_assert(sizeof(struct xrpkv_pair) == XRPKV_PAIR_HEADER, "pair head");
_Static_assert(sizeof(struct xrpkv_pair_location) == XRPKV_PAIR_LOCATION, "pair location");

struct xrpkv_range {
	__u32 state;          /* 0:  out: XRPKV_RANGE_* */
	__u16 key_len;        /* 4:  in: start key length, <= 511 */
	__u16 max_pairs;      /* 6:  in: pairs per call at most; 0 = as many as fit */
	__u32 page_size;      /* 8:  in */
	__u32 phase;          /* 12: in: DESCEND for a new scan; RESUME kept from the last call */
	__u64 page;           /* 16: in: the page read first (the root); the page being read;
	                       *     out (state 1): the leaf to resume at */
	__u32 slot;           /* 24: out (state 1): the entry of that leaf to resume at */
	__u32 depth;          /* 28: in 0: branches on the path above `page` */
	__u32 pairs;          /* 32: in 0, out: pairs in out[] */
	__u32 used;           /* 36: in 0, out: bytes of out[] used */
	__u32 levels;         /* 40: in 0, out: pages read by this call */
	__u16 cache_level;    /* 44: the path level cache[] belongs to */
	__u8 cache_pos;       /* 46: next unused entry of cache[] */
	__u8 cache_count;     /* 47: entries of cache[] */
	__u32 height;         /* 48: in: the tree's height (0: levels not checked) */
	__u32 reserved0;      /* 52 */
	__u64 reserved1;      /* 56 */
	__u8 key[512];        /* 64: in: the start key */
	__u64 path_page[XRPKV_MAX_LEVELS];   /* 576: the branches above the leaf, root first */
	__u16 path_slot[XRPKV_MAX_LEVELS];   /* 832: the entry of each taken on the way down */
	__u16 path_count[XRPKV_MAX_LEVELS];  /* 896: the entries of each */
	__u64 cache[XRPKV_RANGE_CACHE];      /* 960: children of path_page[cache_level] right of
	                                      *      the one taken: the next leaves, in order */
	__u8 out[XRPKV_RANGE_OUT_SIZE];      /* 1088: the pairs */
};

_Static_assert(sizeof(struct xrpkv_range) == 4096, "range scratch is one page");
_Static_assert(__builtin_offsetof(struct xrpkv_range, key) == XRPKV_RANGE_KEY, "range key");
_Static_assert(__builtin_offsetof(struct xrpkv_range, out) == XRPKV_RANGE_OUT, "range out");

/* Returned (the chain ends, state stays 0) when the caller's scratch is
 * invalid: a page size or key length outside the format, a bad phase. */
#define XRPKV_BAD_INPUT 22

/* ---- Checked accessors ---- */

XRPKV_INLINE __u32 xrpkv_u8(const __u8 *base, __u32 off)
{
	return base[XRP_PAGE_MASK(off)];
}

/* The offset of a `width`-byte field at `off`, masked into the page and
 * clamped so the whole field is inside it. Callers check their offsets
 * against the file's page size first, so neither changes a correct offset:
 * together they tell a kernel verifier what the checks already proved. */
XRPKV_INLINE __u32 xrpkv_at(__u32 off, __u32 width)
{
	__u32 at = XRP_PAGE_MASK(off);
	return at > XRP_PAGE_SIZE - width ? XRP_PAGE_SIZE - width : at;
}

/* Multi-byte fields are little-endian and, since entries sit at any offset,
 * often unaligned: one unaligned load each, which BPF's load instructions
 * (and the x86 and arm64 JITs) accept, instead of a load per byte. */
XRPKV_INLINE __u32 xrpkv_u16(const __u8 *base, __u32 off)
{
	return *(const __u16 *)(base + xrpkv_at(off, 2));
}

XRPKV_INLINE __u32 xrpkv_u32(const __u8 *base, __u32 off)
{
	return *(const __u32 *)(base + xrpkv_at(off, 4));
}

XRPKV_INLINE __u64 xrpkv_u64(const __u8 *base, __u32 off)
{
	return *(const __u64 *)(base + xrpkv_at(off, 8));
}

/* 8 bytes at `off` as a big-endian number, so that comparing two of them
 * compares the bytes in memcmp order. */
XRPKV_INLINE __u64 xrpkv_be64(const __u8 *base, __u32 off)
{
	return __builtin_bswap64(xrpkv_u64(base, off));
}

XRPKV_INLINE void xrpkv_put8(__u8 *base, __u32 off, __u32 v)
{
	base[XRP_PAGE_MASK(off)] = (__u8)v;
}

XRPKV_INLINE void xrpkv_put16(__u8 *base, __u32 off, __u32 v)
{
	xrpkv_put8(base, off, v);
	xrpkv_put8(base, off + 1, v >> 8);
}

XRPKV_INLINE void xrpkv_put64(__u8 *base, __u32 off, __u64 v)
{
	*(__u64 *)(base + xrpkv_at(off, 8)) = v;
}

/* Copies `len` bytes from `from` in `src` to `to` in `dst`, both ranges
 * checked by the caller and len <= max (a constant bound for the loops):
 * eight bytes per step, then the tail byte by byte. */
XRPKV_INLINE void xrpkv_copy(__u8 *dst, __u32 to, const __u8 *src, __u32 from, __u32 len, const __u32 max)
{
	__u32 i = 0;

	for (__u32 word = 0; word < max / 8; word++) {
		if (i + 8 > len)
			break;
		xrpkv_put64(dst, to + i, xrpkv_u64(src, from + i));
		i += 8;
	}
	for (int tail = 0; tail < 8; tail++) {
		if (i >= len)
			break;
		xrpkv_put8(dst, to + i, xrpkv_u8(src, from + i));
		i++;
	}
}

XRPKV_INLINE int xrpkv_page_size_ok(__u32 ps)
{
	return ps == 512 || ps == 1024 || ps == 2048 || ps == 4096;
}

/* maxKeyLen = min(511, P / 4 - 24). */
XRPKV_INLINE __u32 xrpkv_max_key(__u32 ps)
{
	__u32 m = ps / 4 - 24;
	return m < XRPKV_MAX_KEY ? m : XRPKV_MAX_KEY;
}

/* Values longer than P / 4 - 16 live in overflow pages. */
XRPKV_INLINE __u32 xrpkv_max_inline(__u32 ps)
{
	return ps / 4 - 16;
}

/* A child or overflow page: not a meta page, and a sane number. */
XRPKV_INLINE int xrpkv_page_no_ok(__u64 page)
{
	return page >= XRPKV_META_PAGES && page < XRPKV_MAX_PAGE_NO;
}

/* A branch or leaf page of `ps` bytes, its header checked. */
struct xrpkv_node {
	const __u8 *data;
	__u32 ps;
	__u32 type;
	__u32 count;
	__u32 fixed;    /* the size of an entry before its key */
	__u32 max_key;
};

/* Checks the header: a branch (count >= 1) or a leaf, and the slot array plus
 * `count` smallest entries (2-byte slot + fixed part) fit in the page, which
 * bounds count by 406. Returns 0, or -1 for a corrupt page. */
XRPKV_INLINE int xrpkv_node_open(struct xrpkv_node *n, const __u8 *data, __u32 ps)
{
	__u32 type = xrpkv_u8(data, XRPKV_HDR_TYPE);
	__u32 count = xrpkv_u16(data, XRPKV_HDR_COUNT);
	__u32 fixed;

	if (type == XRPKV_TYPE_BRANCH) {
		if (count == 0)
			return -1;
		fixed = XRPKV_BRANCH_FIXED;
	} else if (type == XRPKV_TYPE_LEAF) {
		fixed = XRPKV_LEAF_FIXED;
	} else {
		return -1;
	}
	if (XRPKV_HEADER_SIZE + count * (XRPKV_SLOT_SIZE + fixed) > ps)
		return -1;
	n->data = data;
	n->ps = ps;
	n->type = type;
	n->count = count;
	n->fixed = fixed;
	n->max_key = xrpkv_max_key(ps);
	return 0;
}

/* Entry i (< count) of a page: its offset and key length. Checked: it starts
 * past the slot array, its fixed part and key end inside the page, and the
 * key is no longer than maxKeyLen. Returns 0, or -1 for a corrupt entry. */
XRPKV_INLINE int xrpkv_entry(const struct xrpkv_node *n, __u32 i, __u32 *off, __u32 *key_len)
{
	if (i >= n->count)
		return -1;
	__u32 o = xrpkv_u16(n->data, XRPKV_HEADER_SIZE + XRPKV_SLOT_SIZE * i);
	if (o < XRPKV_HEADER_SIZE + XRPKV_SLOT_SIZE * n->count || o + n->fixed > n->ps)
		return -1;
	__u32 len = xrpkv_u16(n->data, o);
	if (len > n->max_key || o + n->fixed + len > n->ps)
		return -1;
	*off = o;
	*key_len = len;
	return 0;
}

/* Branch entry i's child page, checked; 0 for a corrupt entry. */
XRPKV_INLINE __u64 xrpkv_child(const struct xrpkv_node *n, __u32 i)
{
	__u32 off = 0, len = 0;
	if (xrpkv_entry(n, i, &off, &len))
		return 0;
	__u64 child = xrpkv_u64(n->data, off + XRPKV_BRANCH_CHILD);
	return xrpkv_page_no_ok(child) ? child : 0;
}

/* Compares the page's key (len bytes at data offset off; inside the page,
 * len <= 511) with the search key (key_len <= 511 bytes at scratch offset
 * key_at, inside the scratch page): memcmp order, then the shorter first.
 * <0, 0, >0 as the page's key is below, equal to or above the search key.
 * Eight bytes per step while both keys have eight left (a 16-byte key takes
 * two steps instead of sixteen), then byte by byte. */
XRPKV_INLINE int xrpkv_key_cmp(const __u8 *data, __u32 off, __u32 len, const __u8 *scratch, __u32 key_at, __u32 key_len)
{
	__u32 n = len < key_len ? len : key_len;
	__u32 i = 0;

	for (int word = 0; word < (XRPKV_MAX_KEY + 1) / 8; word++) {
		if (i + 8 > n)
			break;
		__u64 a = xrpkv_be64(data, off + i);
		__u64 b = xrpkv_be64(scratch, key_at + i);
		if (a != b)
			return a < b ? -1 : 1;
		i += 8;
	}
	for (int tail = 0; tail < 8; tail++) {
		if (i >= n)
			break;
		__u32 a = xrpkv_u8(data, off + i);
		__u32 b = xrpkv_u8(scratch, key_at + i);
		if (a != b)
			return a < b ? -1 : 1;
		i++;
	}
	if (len != key_len)
		return len < key_len ? -1 : 1;
	return 0;
}

/* Binary search of a page for the search key: returns ub, the number of
 * entries whose key is <= the search key (so on a branch the child to follow
 * is ub - 1), and sets *exact when entry ub - 1 equals it. Returns -1 when an
 * entry it looks at is corrupt. At most 16 steps: count <= 406 needs 9. */
XRPKV_INLINE int xrpkv_upper_bound(const struct xrpkv_node *n, const __u8 *scratch, __u32 key_at, __u32 key_len,
				   int *exact)
{
	/* Invariant: entries [0, lo) are <= the key, entries [hi, count) are above it. */
	__u32 lo = 0, hi = n->count;
	__u32 equal = ~0U; /* the last entry found equal to the key */

#pragma clang loop unroll(disable)
	for (int step = 0; step < XRPKV_SEARCH_STEPS; step++) {
		if (lo >= hi)
			break;
		__u32 mid = (lo + hi) >> 1;
		__u32 off = 0, len = 0;
		if (xrpkv_entry(n, mid, &off, &len))
			return -1;
		int c = xrpkv_key_cmp(n->data, off + n->fixed, len, scratch, key_at, key_len);
		if (c <= 0) {
			lo = mid + 1;
			if (c == 0)
				equal = mid;
		} else {
			hi = mid;
		}
	}
	if (lo < hi)
		return -1;
	*exact = lo > 0 && equal == lo - 1;
	return (int)lo;
}

#endif
