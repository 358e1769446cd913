/* Read-only data: a string constant (in .rodata.str1.1) passed to
 * bpf_trace_printk, two const lookup tables (in .rodata, reached through the
 * section symbol plus an offset) and a global const (reached through its own
 * symbol).
 *
 * Memory: __u64 in[1]. Logs "key 5 -> 125" (for in[0] = 5) and returns
 * cubes[i] + squares[i] + bias + the number of bytes the helper wrote,
 * with i = in[0] & 7: for in[0] = 5, 125 + 25 + 1000 + 12 = 1162.
 */
#include "common.h"

static const __u64 cubes[8] = { 0, 1, 8, 27, 64, 125, 216, 343 };
static const __u64 squares[8] = { 0, 1, 4, 9, 16, 25, 36, 49 };
const volatile __u64 bias = 1000;

SEC("xrp/rodata")
int rodata(void *ctx)
{
	volatile __u64 *in = ctx;
	__u64 i = in[0] & 7;
	__u64 cube = cubes[i];
	long written = bpf_trace_printk("key %d -> %d", sizeof("key %d -> %d"), (int)i, (int)cube);
	return (int)(cube + squares[i] + bias + written);
}
