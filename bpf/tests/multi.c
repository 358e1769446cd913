/* Several programs in one object: one section with one program, and one
 * section with two (select those by function name).
 *
 * Memory: __u64 in[1]. first: in[0] + 1; second_a: in[0] * 2; second_b:
 * in[0] * 3 (through the shared .text sub-program scale).
 */
#include "common.h"

static NOINLINE __u64 scale(__u64 x, __u64 by)
{
	return x * by;
}

SEC("xrp/first")
int first(void *ctx)
{
	volatile __u64 *in = ctx;
	return (int)(in[0] + 1);
}

SEC("xrp/second")
int second_a(void *ctx)
{
	volatile __u64 *in = ctx;
	return (int)scale(in[0], 2);
}

SEC("xrp/second")
int second_b(void *ctx)
{
	volatile __u64 *in = ctx;
	return (int)scale(in[0], 3);
}
