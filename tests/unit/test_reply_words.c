// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of the IPv4 reply index's userspace side (user/lib/
 * reply_index.c), which the layout 1 converter and the GC use: where a
 * word goes (the emptier of its two buckets), that an index filled to
 * 95 % of its capacity refuses no word, that removal takes exactly one
 * copy of a word from either bucket, and what a full pair or a word of
 * 0 get. The program's own rule is tested with real handshakes by
 * tests/bpf/test_reply_index.c.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <slotlb/abi.h>
#include "reply_index.h"

#define WORDS SLOTLB_REPLY_BUCKET_WORDS

/* A small index for the placement cases: 16 buckets. */
#define SMALL_MASK 15
/* Its hash with first bucket 1 and second bucket 2. */
#define SMALL_HASH (1ULL | 2ULL << 20)
#define FILLER 0x0a000001ULL
#define NEW_WORD 0xc0a80001ULL

static uint64_t small[(SMALL_MASK + 1) * WORDS];

static unsigned int used(const uint64_t *index, uint32_t bucket)
{
	return slotlb_reply_words_used((const __u64 *)index + bucket * WORDS);
}

static void fill_bucket(uint32_t bucket, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		small[bucket * WORDS + i] = FILLER + bucket * WORDS + i;
}

/* A bucket's words as it held them before a case, to see it unchanged. */
static bool holds(uint32_t bucket, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < WORDS; i++)
		if (small[bucket * WORDS + i] !=
		    (i < n ? FILLER + bucket * WORDS + i : 0))
			return false;
	return true;
}

static void test_placement(void **state)
{
	static const struct {
		unsigned int first, second; /* words in use before */
		int rc; /* reply_index_add_word */
		uint32_t bucket; /* where the word went (rc 0) */
	} cases[] = {
		{0, 0, 0, 1}, /* a tie: the first bucket */
		{2, 2, 0, 1},
		{1, 3, 0, 1}, /* the first is emptier */
		{3, 1, 0, 2}, /* the second is emptier */
		{WORDS - 1, 0, 0, 2},
		{WORDS, 0, 0, 2}, /* the first is full */
		{0, WORDS, 0, 1},
		{WORDS, WORDS - 1, 0, 2}, /* the last free word of the pair */
		{WORDS, WORDS, -ENOSPC, 0}, /* refused, nothing written */
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		unsigned int a = cases[c].first, b = cases[c].second;

		memset(small, 0, sizeof(small));
		fill_bucket(1, a);
		fill_bucket(2, b);
		assert_int_equal(reply_index_add_word(small, SMALL_MASK,
						      SMALL_HASH, NEW_WORD),
				 cases[c].rc);
		if (cases[c].rc) {
			assert_true(holds(1, a) && holds(2, b));
			continue;
		}
		/* One more word, in the bucket the case names, and the
		 * other bucket untouched. */
		assert_int_equal(used(small, 1) + used(small, 2), a + b + 1);
		assert_int_equal(used(small, cases[c].bucket),
				 (cases[c].bucket == 1 ? a : b) + 1);
		assert_true(cases[c].bucket == 1 ? holds(2, b) : holds(1, a));
	}
}

static void test_remove(void **state)
{
	(void)state;
	/* From the second bucket. */
	memset(small, 0, sizeof(small));
	fill_bucket(1, WORDS);
	assert_int_equal(
		reply_index_add_word(small, SMALL_MASK, SMALL_HASH, NEW_WORD),
		0);
	assert_int_equal(used(small, 2), 1);
	assert_true(reply_index_remove_word(small, SMALL_MASK, SMALL_HASH,
					    NEW_WORD));
	assert_true(holds(1, WORDS) && holds(2, 0));
	/* Not there: nothing changes. */
	assert_false(reply_index_remove_word(small, SMALL_MASK, SMALL_HASH,
					     NEW_WORD));
	assert_true(holds(1, WORDS) && holds(2, 0));
	/* Two copies (two flows whose words are equal): one goes, the
	 * first bucket's. */
	memset(small, 0, sizeof(small));
	small[1 * WORDS + 3] = NEW_WORD;
	small[2 * WORDS + 5] = NEW_WORD;
	assert_true(reply_index_remove_word(small, SMALL_MASK, SMALL_HASH,
					    NEW_WORD));
	assert_int_equal(small[1 * WORDS + 3], 0);
	assert_int_equal(small[2 * WORDS + 5], NEW_WORD);
}

static void test_zero_word(void **state)
{
	(void)state;
	memset(small, 0, sizeof(small));
	fill_bucket(1, 2);
	assert_int_equal(reply_index_add_word(small, SMALL_MASK, SMALL_HASH, 0),
			 -EINVAL);
	assert_false(reply_index_remove_word(small, SMALL_MASK, SMALL_HASH, 0));
	assert_true(holds(1, 2) && holds(2, 0));
}

/* splitmix64: the hashes of one seed's flows. */
static uint64_t next_hash(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * An index of 16,384 buckets (a flow capacity of 65,536, the GC's and
 * converter's load factor 0.5) filled to 95 % with flows of random
 * reply hashes, five seeds: no word refused, and every word removed
 * again leaves the index empty. First fit (the first bucket until it is
 * full) refuses 3-16 words per seed here.
 */
static void test_fill_to_95_percent(void **state)
{
	const uint32_t buckets = 16384;
	const uint32_t flows = buckets * SLOTLB_REPLY_FLOWS_PER_BUCKET;
	const uint32_t n = (uint32_t)(flows * 0.95);
	uint64_t *index, seed, s, h;
	uint32_t i, refused, b;

	(void)state;
	index = calloc((size_t)buckets * WORDS, sizeof(*index));
	assert_non_null(index);
	for (seed = 1; seed <= 5; seed++) {
		memset(index, 0, (size_t)buckets * WORDS * sizeof(*index));
		refused = 0;
		s = seed;
		for (i = 0; i < n; i++) {
			h = next_hash(&s);
			if (reply_index_add_word(
				    index, buckets - 1, h,
				    slotlb_reply_word(0x0a000001 + i, 80, h)))
				refused++;
		}
		if (refused)
			fail_msg("seed %lu: %u of %u words refused at 95 %%",
				 (unsigned long)seed, refused, n);
		s = seed;
		for (i = 0; i < n; i++) {
			h = next_hash(&s);
			assert_true(reply_index_remove_word(
				index, buckets - 1, h,
				slotlb_reply_word(0x0a000001 + i, 80, h)));
		}
		for (b = 0; b < buckets; b++)
			assert_int_equal(used(index, b), 0);
	}
	free(index);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placement),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_zero_word),
		cmocka_unit_test(test_fill_to_95_percent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
