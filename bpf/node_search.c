/* Lower-bound search in one 4 KiB B+tree node: xrpkv's benchmark program.
 *
 * Input (r1 = address of the node, r2 = its length in bytes, >= 4096):
 *
 *   offset  size  field
 *   0       8     search_key  the key looked up
 *   8       8     count       keys in use, <= 255
 *   16      2040  keys[255]   sorted ascending; keys[count..] are ignored
 *   2056    2040  values[255] values[i] belongs to keys[i]
 *   total   4096
 *
 * All fields are little-endian __u64.
 *
 * Returns values[i] for the first i < count with keys[i] >= search_key, or
 * ~0 (all ones, -1) when there is none, when count > 255, or when the node is
 * shorter than 4096 bytes.
 *
 * The style is what a kernel verifier accepts: the binary search is a loop of
 * at most 8 halvings (enough for 255 keys: the range shrinks from n to at most
 * n / 2 each time), and every index is masked with & 255 so each access is
 * provably inside the node.
 *
 * Build: clang -target bpf -O2 -mcpu=v3 -c node_search.c -o node_search.o
 */

typedef unsigned long long __u64;

#define SEC(name) __attribute__((section(name), used))

#define NODE_KEYS 255
#define NOT_FOUND (~0ULL)

struct node {
	__u64 search_key;
	__u64 count;
	__u64 keys[NODE_KEYS];
	__u64 values[NODE_KEYS];
};

_Static_assert(sizeof(struct node) == 4096, "a node is one 4 KiB block");

SEC("xrp/node_search")
__u64 node_search(struct node *node, __u64 len)
{
	if (len < sizeof(struct node))
		return NOT_FOUND;

	__u64 key = node->search_key;
	__u64 count = node->count;
	if (count > NODE_KEYS)
		return NOT_FOUND;

	/* Invariant: keys[..lo] < key <= keys[hi..count]. */
	__u64 lo = 0, hi = count;
	for (int step = 0; step < 8; step++) {
		if (lo >= hi)
			break;
		__u64 mid = (lo + hi) / 2;
		if (node->keys[mid & 255] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo >= count)
		return NOT_FOUND;
	return node->values[lo & 255];
}
