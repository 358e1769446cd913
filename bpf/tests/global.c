/* Uses global variables: they live in .data and .bss, which the kernel backs
 * with maps; the VM has none, so loading must fail naming the variable. */
#include "common.h"

__u64 hits;          /* .bss */
__u64 limit = 10;    /* .data */

SEC("xrp/bss")
int uses_bss(void *ctx)
{
	hits += 1;
	return (int)hits;
}

SEC("xrp/data")
int uses_data(void *ctx)
{
	volatile __u64 *in = ctx;
	return in[0] < limit;
}
