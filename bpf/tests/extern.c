/* Refers to what the object does not define or the VM does not provide: a
 * kernel function (kfunc), a .kconfig value, and a callback passed as a
 * function pointer (BPF_PSEUDO_FUNC in libbpf). Each program must be rejected
 * naming the symbol. */
#include "common.h"

extern int bpf_kfunc_example(int x) __attribute__((section(".ksyms")));
extern unsigned int LINUX_KERNEL_VERSION __attribute__((section(".kconfig")));
static long (*bpf_loop)(__u32 nr, void *fn, void *ctx, __u64 flags) = (void *)181;

static NOINLINE int step(__u32 index, void *ctx)
{
	return index > 3;
}

SEC("xrp/kfunc")
int uses_kfunc(void *ctx)
{
	return bpf_kfunc_example(1);
}

SEC("xrp/kconfig")
int uses_kconfig(void *ctx)
{
	return LINUX_KERNEL_VERSION;
}

SEC("xrp/callback")
int uses_callback(void *ctx)
{
	return bpf_loop(10, step, ctx, 0);
}
