/* Point lookup in an xrpkv file: one B+tree page per read, root to leaf.
 *
 * docs/FORMAT.md ("Lookups in BPF") is the contract. The caller writes the
 * search key, its length and the page size into scratch (state and levels 0)
 * and reads the root page (P bytes; 512 in kernel-compatible mode, where P
 * must be 512). Per completed read this program searches the page in `data`:
 *
 * - branch: follows the last entry whose key is <= the search key:
 *   next_addr[0] = child * P, size[0] = P;
 * - leaf, key present: inline value -> copied to scratch at 1024, state 1 and
 *   valueLen; overflow value -> state 3, overflowPage and valueLen;
 * - leaf, key absent: state 2;
 * - anything inconsistent (type, count, a slot or entry outside the page, a
 *   key longer than maxKeyLen, a bad value kind or length, a child that is
 *   not a page number, a path longer than 32 pages): state 4;
 * - a page that is not the one asked for (its header's pageNo is not `page`),
 *   or not of its level (a branch above `leaf_level`, a leaf at it): state 4,
 *   `page` naming it. Both checks are skipped when the caller leaves them 0.
 *
 * A finished lookup sets done. levels counts the pages searched. Checksums
 * are not verified here (a CRC-32 per page is too much for a BPF program):
 * xrpkv's emulator checks each page's checksum and number before this
 * program sees it (crates/xrp/src/page_check.rs); an XRP kernel does not, so
 * there only these checks run.
 *
 * The caller's own mistakes (a page size or key length outside the format)
 * return XRPKV_BAD_INPUT with state still 0.
 *
 * Written for a kernel verifier: bounded loops, masked offsets (see
 * xrpkv_format.h), no globals and no .rodata.
 */
#include "xrpkv_format.h"

/* Ends the lookup with `state`. */
XRPKV_INLINE int finish(struct bpf_xrp *ctx, struct xrpkv_lookup *s, __u32 state)
{
	s->state = state;
	ctx->done = 1;
	return 0;
}

/* The leaf entry `i` equals the search key: report its value. */
XRPKV_INLINE int found(struct bpf_xrp *ctx, struct xrpkv_lookup *s, const struct xrpkv_node *n, __u32 i)
{
	__u32 off = 0, key_len = 0;
	if (xrpkv_entry(n, i, &off, &key_len))
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
	__u32 kind = xrpkv_u8(n->data, off + XRPKV_LEAF_KIND);
	__u32 value_len = xrpkv_u32(n->data, off + XRPKV_LEAF_VALUE_LEN);
	__u32 value_at = off + XRPKV_LEAF_FIXED + key_len; /* <= P: checked by xrpkv_entry */

	if (kind == XRPKV_KIND_INLINE) {
		/* Inline values are at most P / 4 - 16 <= 1008 bytes and end in the page. */
		if (value_len > xrpkv_max_inline(n->ps) || value_at + value_len > n->ps)
			return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
		xrpkv_copy((__u8 *)s, XRPKV_LOOKUP_VALUE, n->data, value_at, value_len, XRPKV_LOOKUP_VALUE_MAX);
		s->value_len = value_len;
		return finish(ctx, s, XRPKV_LOOKUP_INLINE);
	}
	if (kind == XRPKV_KIND_OVERFLOW) {
		/* Overflow values are longer than the inline limit; the entry ends
		 * with the first page of the chain. */
		if (value_len <= xrpkv_max_inline(n->ps) || value_at + 8 > n->ps)
			return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
		__u64 first = xrpkv_u64(n->data, value_at);
		if (!xrpkv_page_no_ok(first))
			return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
		s->overflow_page = first;
		s->value_len = value_len;
		return finish(ctx, s, XRPKV_LOOKUP_OVERFLOW);
	}
	return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
}

SEC("xrp/lookup")
int xrpkv_lookup(struct bpf_xrp *ctx)
{
	const __u8 *data = (const __u8 *)ctx->data;
	struct xrpkv_lookup *s = (struct xrpkv_lookup *)ctx->scratch;
	__u32 ps = s->page_size;
	__u32 key_len = s->key_len;

	if (!xrpkv_page_size_ok(ps) || key_len > XRPKV_MAX_KEY)
		return XRPKV_BAD_INPUT;
	s->levels += 1;

	struct xrpkv_node n = {};
	if (xrpkv_node_open(&n, data, ps))
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
	if (s->page && xrpkv_u64(data, XRPKV_HDR_PAGE_NO) != s->page)
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
	__u64 leaf_level = s->leaf_level;
	if (leaf_level && (s->levels > leaf_level || (n.type == XRPKV_TYPE_LEAF) != (s->levels == leaf_level)))
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);

	int exact = 0;
	int ub = xrpkv_upper_bound(&n, (const __u8 *)s, XRPKV_LOOKUP_KEY, key_len, &exact);
	if (ub < 0)
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);

	if (n.type == XRPKV_TYPE_LEAF) {
		if (!exact)
			return finish(ctx, s, XRPKV_LOOKUP_ABSENT);
		return found(ctx, s, &n, ub - 1);
	}

	/* A branch: entry 0's key is empty, so some entry is <= any key (ub >= 1)
	 * unless the page is corrupt. A 33rd page on the path means a cycle. */
	if (ub == 0 || s->levels >= XRPKV_MAX_LEVELS)
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
	__u64 child = xrpkv_child(&n, ub - 1);
	if (!child)
		return finish(ctx, s, XRPKV_LOOKUP_CORRUPT);
	if (s->page)
		s->page = child;
	ctx->next_addr[0] = child * ps;
	ctx->size[0] = ps;
	return 0;
}
