/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: traffic distributions, shares and prefixes
 * (user/lib/traffic_parse.c). Accepted values must format back and
 * parse again to the same value; distributions must keep their bounds.
 */
#include "fuzz.h"
#include "traffic_parse.h"

#define MAX_LIST 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), why[SLOTLB_TRAFFIC_WHY_LEN];
	char buf[SLOTLB_PREFIX_STRLEN];
	struct slotlb_prefix p, again, list[MAX_LIST];
	const char *items[MAX_LIST];
	struct slotlb_distribution d;
	uint16_t share, share2;
	char *copy, *tok, *save;
	size_t n = 0, i;
	uint32_t sum = 0;

	if (!slotlb_parse_distribution(s, &d, why, sizeof(why))) {
		FUZZ_ASSERT(d.n >= 1 && d.n <= SLOTLB_MAX_SPLITS);
		for (i = 0; i < d.n; i++)
			sum += d.target[i].share;
		FUZZ_ASSERT(sum == d.total && d.total <= SLOTLB_SHARE_SCALE);
	}
	if (!slotlb_parse_share(s, &share, why, sizeof(why))) {
		FUZZ_ASSERT(share <= SLOTLB_SHARE_SCALE);
		FUZZ_ASSERT(!slotlb_format_share(share, buf, sizeof(buf)));
		FUZZ_ASSERT(
			!slotlb_parse_share(buf, &share2, why, sizeof(why)));
		FUZZ_ASSERT(share == share2);
	}
	if (!slotlb_parse_prefix(s, &p, why, sizeof(why))) {
		FUZZ_ASSERT(!slotlb_format_prefix(&p, buf, sizeof(buf)));
		FUZZ_ASSERT(
			!slotlb_parse_prefix(buf, &again, why, sizeof(why)));
		FUZZ_ASSERT(!memcmp(&p, &again, sizeof(p)));
	}
	copy = strdup(s);
	for (tok = strtok_r(copy, ",", &save); tok && n < MAX_LIST;
	     tok = strtok_r(NULL, ",", &save))
		items[n++] = tok;
	slotlb_parse_prefixes(items, n, list, why, sizeof(why));
	free(copy);
	free(s);
	return 0;
}
