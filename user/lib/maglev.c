/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Maglev lookup table builder (Eisenbud et al., NSDI 2016, section 3.4).
 *
 * Each backend walks its own permutation of the table, (offset + j * skip)
 * mod size, claiming the first free entry at each of its turns. The paper
 * gives every backend one turn per round; we give backend i its k-th turn
 * at virtual time k / weight_i and always serve the earliest turn, so
 * backends claim entries in proportion to their weights whatever the
 * spread of weights. Equal weights degrade to the paper's round robin.
 * Serving turns from a heap keeps the cost O(size * log n), where rounds
 * of credit over all n backends would cost O(size * n) for skewed weights.
 */
#include <errno.h>
#include <stdlib.h>
#include "maglev.h"

/*
 * Seeds of the offset and skip hashes. They decide every table, and two
 * nodes (or an upgraded node) must build the same one: never change them.
 */
#define MAGLEV_SEED_OFFSET 0x736c6f746c622d6fULL /* "slotlb-o" */
#define MAGLEV_SEED_SKIP 0x736c6f746c622d73ULL /* "slotlb-s" */

#define FNV64_BASIS 0xcbf29ce484222325ULL
#define FNV64_PRIME 0x00000100000001b3ULL

/* Marks a table entry no backend has claimed yet; n <= size keeps every
 * real index below it. */
#define MAGLEV_FREE UINT32_MAX

/* Where one backend stands in its walk of the table. */
struct maglev_walk {
	uint32_t pos; /* next entry of its permutation to try */
	uint32_t skip; /* stride of its permutation, 1..size-1 */
	uint32_t turn; /* number of its next turn, from 1 */
	uint32_t weight; /* copied from the backend */
};

/*
 * FNV-1a over the bytes, so the result depends on the bytes only (not on
 * the host's byte order), then a multiply-xorshift avalanche because
 * FNV-1a alone leaves the last bytes poorly spread into the high bits,
 * and offset and skip are taken modulo a size that uses them all.
 */
static uint64_t maglev_hash(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	uint64_t h = FNV64_BASIS ^ seed;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= p[i];
		h *= FNV64_PRIME;
	}
	h ^= len;
	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ULL;
	h ^= h >> 29;
	h *= 0x9fb21c651e98df25ULL;
	h ^= h >> 32;
	return h;
}

bool maglev_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 4)
		return n >= 2;
	if (n % 2 == 0 || n % 3 == 0)
		return false;
	/* Every prime above 3 is 6k - 1 or 6k + 1. */
	for (d = 5; (uint64_t)d * d <= n; d += 6)
		if (n % d == 0 || n % (d + 2) == 0)
			return false;
	return true;
}

/*
 * Does backend a's next turn come before b's? Turn times are k / w; the
 * cross products compare them exactly (k, w < 2^32, so no overflow), and
 * ties go to the lower index, so the order is total and deterministic.
 */
static bool turn_before(const struct maglev_walk *w, uint32_t a, uint32_t b)
{
	uint64_t ta = (uint64_t)w[a].turn * w[b].weight;
	uint64_t tb = (uint64_t)w[b].turn * w[a].weight;

	return ta < tb || (ta == tb && a < b);
}

static void heap_sift_down(uint32_t *heap, uint32_t len, uint32_t at,
			   const struct maglev_walk *w)
{
	uint32_t top = heap[at];

	for (;;) {
		uint64_t child = 2 * (uint64_t)at + 1;

		if (child >= len)
			break;
		if (child + 1 < len &&
		    turn_before(w, heap[child + 1], heap[child]))
			child++;
		if (!turn_before(w, heap[child], top))
			break;
		heap[at] = heap[child];
		at = child;
	}
	heap[at] = top;
}

/* Claim the first free entry of backend i's permutation for it. */
static void claim_next(struct maglev_walk *walk, uint32_t i, uint32_t *table,
		       uint32_t size)
{
	struct maglev_walk *w = &walk[i];

	/* Terminates: size is prime and skip in 1..size-1, so the walk
	 * visits every entry, and the caller knows one is free. */
	while (table[w->pos] != MAGLEV_FREE)
		w->pos = w->pos >= size - w->skip ? w->pos - (size - w->skip)
						  : w->pos + w->skip;
	table[w->pos] = i;
	w->turn++;
}

int maglev_build(const struct maglev_backend *backends, size_t n,
		 uint32_t *table, uint32_t size)
{
	struct maglev_walk *walk = NULL;
	uint32_t *heap = NULL;
	uint32_t len = 0, filled, i;
	int err = -EINVAL;

	if (!backends || !table || n == 0 || n > size || !maglev_is_prime(size))
		goto out;
	for (i = 0; i < n; i++)
		if (!backends[i].id && backends[i].id_len)
			goto out;

	err = -ENOMEM;
	walk = calloc(n, sizeof(*walk));
	heap = calloc(n, sizeof(*heap));
	if (!walk || !heap)
		goto out;

	for (i = 0; i < n; i++) {
		const struct maglev_backend *b = &backends[i];
		uint64_t h_offset, h_skip;

		h_offset = maglev_hash(b->id, b->id_len, MAGLEV_SEED_OFFSET);
		h_skip = maglev_hash(b->id, b->id_len, MAGLEV_SEED_SKIP);
		walk[i].pos = h_offset % size;
		/* size == 2 leaves skip 1, still a full permutation. */
		walk[i].skip = h_skip % (size - 1) + 1;
		walk[i].turn = 1;
		walk[i].weight = b->weight;
		if (b->weight)
			heap[len++] = i;
	}
	err = -EINVAL;
	if (!len)
		goto out;
	/* All turns start at 1/w: ordered by falling weight, then index;
	 * heapify rather than sort, the heap order is all we need. */
	for (i = len / 2; i-- > 0;)
		heap_sift_down(heap, len, i, walk);

	for (i = 0; i < size; i++)
		table[i] = MAGLEV_FREE;
	for (filled = 0; filled < size; filled++) {
		claim_next(walk, heap[0], table, size);
		heap_sift_down(heap, len, 0, walk);
	}
	err = 0;
out:
	free(heap);
	free(walk);
	return err;
}
