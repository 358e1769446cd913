/* Shared definitions for the VM's BPF test programs.
 *
 * No kernel headers: the few types and helpers used are defined here, with the
 * kernel's names and helper ids, so the same sources build anywhere clang can
 * target bpf. Build: clang -target bpf -O2 -mcpu=v1|v2|v3 [-g] -c prog.c
 *
 * In the VM a program gets r1 = address of the first memory region given to
 * the run and r2 = its length in bytes.
 */
#ifndef XRPKV_BPF_COMMON_H
#define XRPKV_BPF_COMMON_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;

/* Places a program or a map in a named ELF section, as libbpf's SEC(). */
#define SEC(name) __attribute__((section(name), used))
/* Keeps a sub-program a real bpf-to-bpf call instead of inlining it. */
#define NOINLINE __attribute__((noinline))

/* Helper 6: appends one formatted line to the run's trace log. */
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;
/* Helper 1: the VM does not provide it (it needs maps); only used by the
 * programs that must be rejected. */
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

#endif
