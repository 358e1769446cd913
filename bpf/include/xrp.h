/* xrp.h: what an XRP program sees, in the layout of the XRP kernel xrpkv targets.
 *
 * The context follows the XRP paper's field order (also the order of its Linux
 * 5.12 fork): data, done, next_addr, size, scratch; 280 bytes. A later port
 * reorders the fields; programs that use the names compile against either.
 * xrpkv's runtime builds every context byte for byte in this layout, and a
 * test checks each offset against what clang compiles for -target bpf.
 *
 * Per completed read the kernel (and xrpkv's emulator) zeroes the context, sets
 * data and scratch, and runs the program. A non-zero return or done != 0 ends
 * the chain; otherwise the next read is at next_addr[0].
 */
#ifndef XRPKV_XRP_H
#define XRPKV_XRP_H

typedef unsigned char __u8;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef int __s32;
typedef long long __s64;

#define XRP_MAX_ADDRS 16
#define XRP_PAGE_SIZE 4096
/* The prototype kernel resubmits every read as 512 bytes. */
#define XRP_SECTOR_SIZE 512

struct bpf_xrp {
	char *data;                      /* 0:   the block just read (a 4 KiB page) */
	int done;                        /* 8:   out: non-zero stops the chain */
	__u64 next_addr[XRP_MAX_ADDRS];  /* 16:  out: file offset of the next read */
	__u64 size[XRP_MAX_ADDRS];       /* 144: out: its size (extended mode; 0 = 4096) */
	char *scratch;                   /* 272: in/out: the caller's 4 KiB scratch page */
};                                       /* sizeof: 280 */

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

/* Masks an offset into a 4 KiB page, as a kernel verifier requires. */
#define XRP_PAGE_MASK(off) ((off) & (XRP_PAGE_SIZE - 1))

#endif
