/* Follows a chain of blocks through a file: the runtime's test program.
 *
 * Each block starts with a header (little-endian __u64):
 *   0  next    file offset of the next block; ~0 ends the chain
 *   8  size    size of the next read (extended mode; 0 = 4096)
 *   16 value   added to scratch.sum
 *   24 action  0 follow next; 1 load outside every region (a program fault);
 *              2 return 7; 3 also set next_addr[1]; 4 loop forever
 *
 * Scratch (little-endian __u64): 0 sum, 8 blocks seen, 16 value of the last block.
 */
#include "xrp.h"

struct block {
	__u64 next;
	__u64 size;
	__u64 value;
	__u64 action;
};

struct tally {
	__u64 sum;
	__u64 blocks;
	__u64 last;
};

SEC("xrp/chain")
int xrp_chain(struct bpf_xrp *ctx)
{
	struct block *b = (struct block *)ctx->data;
	struct tally *t = (struct tally *)ctx->scratch;

	t->sum += b->value;
	t->blocks += 1;
	t->last = b->value;

	switch (b->action) {
	case 1:
		return *(volatile __u64 *)(ctx->data + 8192);
	case 2:
		return 7;
	case 3:
		ctx->next_addr[1] = 4096;
		break;
	case 4:
		for (volatile int i = 0; i >= 0; i++)
			;
		break;
	}
	if (b->next == ~0ULL) {
		ctx->done = 1;
		return 0;
	}
	ctx->next_addr[0] = b->next;
	ctx->size[0] = b->size;
	return 0;
}
