/* Uses maps: a BTF-defined one in .maps and a legacy one in "maps". The VM
 * has no maps, so loading either program must fail naming the map. */
#include "common.h"

#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

struct {
	__uint(type, 2); /* BPF_MAP_TYPE_ARRAY */
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

/* The pre-BTF map definition, as in the kernel's samples. */
struct bpf_map_def {
	__u32 type, key_size, value_size, max_entries, map_flags;
};

struct bpf_map_def legacy SEC("maps") = {
	.type = 2, .key_size = 4, .value_size = 8, .max_entries = 4,
};

SEC("xrp/map")
int uses_map(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&counts, &key);
	return value ? (int)*value : 0;
}

SEC("xrp/legacy_map")
int uses_legacy_map(void *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&legacy, &key);
	return value ? (int)*value : 0;
}
