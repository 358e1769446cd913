/* Range scan over an xrpkv file: up to N (key, value) pairs per call, in key
 * order, from a start key; resumable. docs/FORMAT.md ("Range scans in BPF")
 * is the contract; the scratch layout is struct xrpkv_range in
 * xrpkv_format.h:
 *
 *   0  state u32      out: 0 running, 1 more (resume), 2 end, 4 corrupt page
 *   4  keyLen u16     in: start key length
 *   6  maxPairs u16   in: pairs per call at most (0: as many as fit)
 *   8  pageSize u32   in
 *   12 phase u32      in: 0 new scan; 1 resume (left by the last call)
 *   16 page u64       in: the first page read (root); out: the leaf to resume at
 *   24 slot u32       out: the entry of that leaf to resume at
 *   28 depth u32      branches on the path above `page`
 *   32 pairs u32      out: pairs in out[]
 *   36 used u32       out: bytes of out[] used
 *   40 levels u32     out: pages read by this call
 *   44 cacheLevel u16, 46 cachePos u8, 47 cacheCount u8
 *   48 height u32     in: the tree's height (0: levels not checked)
 *   52 reserved (12 bytes)
 *   64 key[512]       in: the start key
 *   576 pathPage u64[32], 832 pathSlot u16[32], 896 pathCount u16[32]
 *   960 cache u64[16] the next leaves: children of pathPage[cacheLevel]
 *   1088 out[3008]    pairs: keyLen u16, valueLen u16, key, value; an
 *                     overflow value has valueLen 0xffff and, instead of the
 *                     value, its first page u64 and its length u32
 *
 * Leaves are not linked (a copy-on-write tree cannot keep sibling links), so
 * the program keeps its path in scratch: the branches from the root down,
 * with the entry taken in each. When a leaf is done, the next one is the
 * next entry of the lowest branch that has one: the children right of the
 * one taken in the leaf's parent are remembered (cache[], up to 16) so that
 * moving to a sibling leaf costs one read; past them, the branch is read
 * again and its next subtree descended by first entries.
 *
 * Every page read is checked: its header's pageNo must be `page`, the page
 * the program asked for (the root: the caller writes it), and, given the
 * tree's height, it must be a leaf exactly at the bottom level (`depth`
 * branches above it). Checksums are not verified here: xrpkv's emulator
 * checks each page's checksum and number before this program sees it
 * (crates/xrp/src/page_check.rs); an XRP kernel does not. A call stops with
 * state 1 before a pair that would exceed maxPairs or out[], leaving page,
 * slot and the path for the next call, which the caller makes by reading
 * `page` again with the same scratch (it resets pairs, used and levels).
 *
 * Written for a kernel verifier, as lookup.c.
 */
#include "xrpkv_format.h"

XRPKV_INLINE int finish(struct bpf_xrp *ctx, struct xrpkv_range *s, __u32 state)
{
	s->state = state;
	ctx->done = 1;
	return 0;
}

XRPKV_INLINE int read_page(struct bpf_xrp *ctx, struct xrpkv_range *s, __u64 page, __u32 phase)
{
	s->page = page;
	s->phase = phase;
	ctx->next_addr[0] = page * s->page_size;
	ctx->size[0] = s->page_size;
	return 0;
}

/* A branch on the way down: pick the entry, push the page on the path,
 * remember the children right of the pick, read the pick. */
XRPKV_INLINE int branch(struct bpf_xrp *ctx, struct xrpkv_range *s, const struct xrpkv_node *n, __u32 phase,
			__u32 depth)
{
	__u32 slot;

	if (phase == XRPKV_PHASE_DESCEND) {
		int exact = 0;
		int ub = xrpkv_upper_bound(n, (const __u8 *)s, XRPKV_RANGE_KEY, s->key_len, &exact);
		/* Entry 0's key is empty: ub >= 1 on a sound page. */
		if (ub <= 0)
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
		slot = ub - 1;
	} else if (phase == XRPKV_PHASE_REREAD) {
		slot = s->path_slot[depth & (XRPKV_MAX_LEVELS - 1)];
	} else if (phase == XRPKV_PHASE_LEFTMOST) {
		slot = 0;
	} else {
		return finish(ctx, s, XRPKV_RANGE_CORRUPT); /* a resume must read a leaf */
	}
	/* The leaf below needs a level too. */
	if (depth + 1 >= XRPKV_MAX_LEVELS)
		return finish(ctx, s, XRPKV_RANGE_CORRUPT);
	__u64 child = xrpkv_child(n, slot); /* 0 also when slot >= count */
	if (!child)
		return finish(ctx, s, XRPKV_RANGE_CORRUPT);

	__u32 level = depth & (XRPKV_MAX_LEVELS - 1);
	s->path_page[level] = s->page;
	s->path_slot[level] = slot;
	s->path_count[level] = n->count;

	/* Invariant: cache[0..cache_count) are the children of entries
	 * slot + 1 .. slot + cache_count of this page. The last branch on the
	 * way down is the leaf's parent, so they are the next leaves. */
	__u32 cached = 0;
#pragma clang loop unroll(disable)
	for (__u32 j = 0; j < XRPKV_RANGE_CACHE; j++) {
		if (slot + 1 + j >= n->count)
			break;
		__u64 next = xrpkv_child(n, slot + 1 + j);
		if (!next)
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
		s->cache[j] = next;
		cached = j + 1;
	}
	s->cache_level = level;
	s->cache_pos = 0;
	s->cache_count = cached;
	s->depth = depth + 1;
	return read_page(ctx, s, child, phase == XRPKV_PHASE_DESCEND ? XRPKV_PHASE_DESCEND : XRPKV_PHASE_LEFTMOST);
}

/* A leaf: emit its pairs from the start entry, then move to the next leaf. */
XRPKV_INLINE int leaf(struct bpf_xrp *ctx, struct xrpkv_range *s, const struct xrpkv_node *n, __u32 phase,
		      __u32 depth)
{
	__u8 *scratch = (__u8 *)s;
	__u32 i;

	if (phase == XRPKV_PHASE_DESCEND) {
		/* The first entry >= the start key. */
		int exact = 0;
		int ub = xrpkv_upper_bound(n, scratch, XRPKV_RANGE_KEY, s->key_len, &exact);
		if (ub < 0)
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
		i = exact ? ub - 1 : ub;
	} else if (phase == XRPKV_PHASE_RESUME) {
		i = s->slot;
		if (i > n->count)
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
	} else if (phase == XRPKV_PHASE_LEFTMOST) {
		i = 0;
	} else {
		return finish(ctx, s, XRPKV_RANGE_CORRUPT); /* a re-read must find a branch */
	}

	__u32 pairs = s->pairs, used = s->used, max = s->max_pairs;
	__u32 max_inline = xrpkv_max_inline(n->ps);

	/* Invariant: out[0..used) holds `pairs` whole pairs, used <= 3008. */
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < XRPKV_MAX_ENTRIES; k++) {
		if (i >= n->count)
			break;
		if (max && pairs >= max)
			goto more;
		__u32 off = 0, key_len = 0;
		if (xrpkv_entry(n, i, &off, &key_len))
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
		__u32 kind = xrpkv_u8(n->data, off + XRPKV_LEAF_KIND);
		__u32 value_len = xrpkv_u32(n->data, off + XRPKV_LEAF_VALUE_LEN);
		__u32 key_at = off + XRPKV_LEAF_FIXED;
		__u32 value_at = key_at + key_len;
		__u32 value_size; /* in out[] */
		if (kind == XRPKV_KIND_INLINE) {
			if (value_len > max_inline || value_at + value_len > n->ps)
				return finish(ctx, s, XRPKV_RANGE_CORRUPT);
			value_size = value_len;
		} else if (kind == XRPKV_KIND_OVERFLOW) {
			if (value_len <= max_inline || value_at + 8 > n->ps)
				return finish(ctx, s, XRPKV_RANGE_CORRUPT);
			value_size = XRPKV_PAIR_LOCATION;
		} else {
			return finish(ctx, s, XRPKV_RANGE_CORRUPT);
		}
		/* At most 4 + 511 + 1008 bytes: two pairs always fit an empty out[]. */
		__u32 size = XRPKV_PAIR_HEADER + key_len + value_size;
		if (used + size > XRPKV_RANGE_OUT_SIZE)
			goto more;

		xrpkv_put16(scratch, XRPKV_RANGE_OUT + used, key_len);
		xrpkv_copy(scratch, XRPKV_RANGE_OUT + used + XRPKV_PAIR_HEADER, n->data, key_at, key_len, XRPKV_MAX_KEY);
		__u32 at = used + XRPKV_PAIR_HEADER + key_len;
		if (kind == XRPKV_KIND_INLINE) {
			xrpkv_put16(scratch, XRPKV_RANGE_OUT + used + 2, value_len);
			xrpkv_copy(scratch, XRPKV_RANGE_OUT + at, n->data, value_at, value_len, XRPKV_MAX_PAGE_SIZE / 4 - 16);
		} else {
			__u64 first = xrpkv_u64(n->data, value_at);
			if (!xrpkv_page_no_ok(first))
				return finish(ctx, s, XRPKV_RANGE_CORRUPT);
			xrpkv_put16(scratch, XRPKV_RANGE_OUT + used + 2, XRPKV_PAIR_OVERFLOW);
			xrpkv_put64(scratch, XRPKV_RANGE_OUT + at, first);
			xrpkv_put16(scratch, XRPKV_RANGE_OUT + at + 8, value_len);
			xrpkv_put16(scratch, XRPKV_RANGE_OUT + at + 10, value_len >> 16);
		}
		used += size;
		pairs += 1;
		i += 1;
	}
	s->pairs = pairs;
	s->used = used;

	/* The leaf is done. Its parent is path level depth - 1; none: the root
	 * was this leaf, and the scan is over. */
	if (depth == 0)
		return finish(ctx, s, XRPKV_RANGE_END);
	__u32 parent = (depth - 1) & (XRPKV_MAX_LEVELS - 1);
	if (s->cache_level == parent && s->cache_pos < s->cache_count) {
		__u64 next = s->cache[s->cache_pos & (XRPKV_RANGE_CACHE - 1)];
		s->cache_pos += 1;
		s->path_slot[parent] += 1;
		return read_page(ctx, s, next, XRPKV_PHASE_LEFTMOST);
	}
	/* Climb to the lowest branch with an entry right of the one taken,
	 * and read it again to descend into that entry. */
#pragma clang loop unroll(disable)
	for (__u32 k = 0; k < XRPKV_MAX_LEVELS; k++) {
		if (k >= depth)
			break;
		__u32 d = (depth - 1 - k) & (XRPKV_MAX_LEVELS - 1);
		if (s->path_slot[d] + 1 < s->path_count[d]) {
			s->path_slot[d] += 1;
			s->depth = d;
			s->cache_count = 0;
			return read_page(ctx, s, s->path_page[d], XRPKV_PHASE_REREAD);
		}
	}
	return finish(ctx, s, XRPKV_RANGE_END);

more:
	/* Stop before entry i; the next call reads this leaf again. */
	s->pairs = pairs;
	s->used = used;
	s->slot = i;
	s->phase = XRPKV_PHASE_RESUME;
	return finish(ctx, s, XRPKV_RANGE_MORE);
}

SEC("xrp/range")
int xrpkv_range(struct bpf_xrp *ctx)
{
	const __u8 *data = (const __u8 *)ctx->data;
	struct xrpkv_range *s = (struct xrpkv_range *)ctx->scratch;
	__u32 ps = s->page_size;
	__u32 phase = s->phase;
	__u32 depth = s->depth;

	if (!xrpkv_page_size_ok(ps) || s->key_len > XRPKV_MAX_KEY || phase > XRPKV_PHASE_LEFTMOST ||
	    depth >= XRPKV_MAX_LEVELS)
		return XRPKV_BAD_INPUT;
	if (phase == XRPKV_PHASE_RESUME) {
		/* The first read of a resumed call. */
		s->pairs = 0;
		s->used = 0;
		s->levels = 0;
	}
	s->state = XRPKV_RANGE_RUNNING;
	s->levels += 1;

	struct xrpkv_node n = {};
	if (xrpkv_node_open(&n, data, ps) || xrpkv_u64(data, XRPKV_HDR_PAGE_NO) != s->page)
		return finish(ctx, s, XRPKV_RANGE_CORRUPT);
	__u32 height = s->height;
	if (height && (depth >= height || (n.type == XRPKV_TYPE_LEAF) != (depth + 1 == height)))
		return finish(ctx, s, XRPKV_RANGE_CORRUPT);
	if (n.type == XRPKV_TYPE_BRANCH)
		return branch(ctx, s, &n, phase, depth);
	return leaf(ctx, s, &n, phase, depth);
}
