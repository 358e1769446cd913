/* Follows a chain of 4 KiB blocks: the program `npm run bench:runtime` runs.
 *
 * Each block starts with a header (little-endian __u64):
 *   0  next   file offset of the next block; ~0 ends the chain
 *   8  size   size of the next read (extended mode; 0 = 4096)
 * Scratch (little-endian __u64): 0 blocks seen.
 *
 * Only fixed offsets into data and scratch are read, so the program needs no
 * masking to pass a kernel verifier, and it has no loop.
 */
#include "xrp.h"

struct follow_block {
	__u64 next;
	__u64 size;
};

SEC("xrp/follow")
int xrp_follow(struct bpf_xrp *ctx)
{
	struct follow_block *b = (struct follow_block *)ctx->data;
	__u64 *blocks = (__u64 *)ctx->scratch;

	*blocks += 1;
	if (b->next == ~0ULL) {
		ctx->done = 1;
		return 0;
	}
	ctx->next_addr[0] = b->next;
	ctx->size[0] = b->size;
	return 0;
}
