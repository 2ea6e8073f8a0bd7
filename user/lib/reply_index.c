// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The IPv4 reply index from userspace (reply_index.h).
 *
 * Design note. A flow's word may sit in either of its two buckets; the
 * program's lookups and removals read both, so where a word goes only
 * decides how full the index may get before a bucket pair runs out.
 * The two-choice rule (abi.h, slotlb_reply_words_used) keeps that point
 * past 95 % of the capacity; first fit began to refuse words at 57 %
 * (docs/PERFORMANCE.md, section 1). Words change by
 * compare-and-swap on a zero (add) or on the word itself (remove), as
 * the program's do, so neither side ever loses the other's word.
 */
#include <errno.h>
#include <stddef.h>
#include <slotlb/abi.h>
#include "reply_index.h"

static uint64_t *bucket_of(uint64_t *index, uint32_t mask, uint64_t hash,
			   int second)
{
	return index + (size_t)slotlb_reply_bucket_index(hash, second, mask) *
			       SLOTLB_REPLY_BUCKET_WORDS;
}

/* Swap want for to in one word of bucket b. */
static bool bucket_swap(uint64_t *b, uint64_t want, uint64_t to)
{
	uint64_t seen;
	int i;

	for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++) {
		seen = want;
		if (__atomic_load_n(&b[i], __ATOMIC_RELAXED) == want &&
		    __atomic_compare_exchange_n(&b[i], &seen, to, false,
						__ATOMIC_SEQ_CST,
						__ATOMIC_SEQ_CST))
			return true;
	}
	return false;
}

int reply_index_add_word(uint64_t *index, uint32_t mask, uint64_t hash,
			 uint64_t word)
{
	uint64_t *b[2] = {bucket_of(index, mask, hash, 0),
			  bucket_of(index, mask, hash, 1)};
	int emptier;

	if (!word)
		return -EINVAL;
	emptier = slotlb_reply_words_used((const __u64 *)b[1]) <
		  slotlb_reply_words_used((const __u64 *)b[0]);
	if (bucket_swap(b[emptier], 0, word) ||
	    bucket_swap(b[!emptier], 0, word))
		return 0;
	return -ENOSPC;
}

bool reply_index_remove_word(uint64_t *index, uint32_t mask, uint64_t hash,
			     uint64_t word)
{
	if (!word)
		return false;
	return bucket_swap(bucket_of(index, mask, hash, 0), word, 0) ||
	       bucket_swap(bucket_of(index, mask, hash, 1), word, 0);
}
