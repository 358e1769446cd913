/* bpf-to-bpf calls: a program in a custom section calls static noinline
 * sub-programs that clang places in .text; one sub-program calls another, and
 * one is called from two places (it must be appended only once).
 *
 * Memory: __u64 in[4]. Returns twice(add3(in0, in1, in2)) + square(in3)
 *   with twice(x) = add3(x, x, 0)
 * e.g. in = {1, 2, 3, 4}: add3 = 6, twice = 12, square = 16 -> 28.
 */
#include "common.h"

static NOINLINE __u64 add3(__u64 a, __u64 b, __u64 c)
{
	return a + b + c;
}

static NOINLINE __u64 twice(__u64 x)
{
	return add3(x, x, 0);
}

static NOINLINE __u64 square(__u64 x)
{
	return x * x;
}

SEC("xrp/calls")
int calls(void *ctx)
{
	volatile __u64 *in = ctx;
	return (int)(twice(add3(in[0], in[1], in[2])) + square(in[3]));
}
