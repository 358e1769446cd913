/* Reports where clang puts each field of struct bpf_xrp, for the ABI test:
 * r1 points at a u64 field number; returns that field's offset (or sizeof). */
#include <stddef.h>
#include "xrp.h"

SEC("xrp/layout")
__u64 xrp_layout(__u64 *which)
{
	switch (*which) {
	case 0: return offsetof(struct bpf_xrp, data);
	case 1: return offsetof(struct bpf_xrp, done);
	case 2: return offsetof(struct bpf_xrp, next_addr);
	case 3: return offsetof(struct bpf_xrp, size);
	case 4: return offsetof(struct bpf_xrp, scratch);
	case 5: return sizeof(struct bpf_xrp);
	case 6: return sizeof(((struct bpf_xrp *)0)->done);
	default: return ~0ULL;
	}
}
