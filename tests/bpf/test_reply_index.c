/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The IPv4 reply index holds a word for every flow up to the table's
 * capacity. A table of 65,536 flows (16,384 buckets of eight words) is
 * filled to 95 % with real handshakes: every one is promoted, none is
 * refused for want of a word (reply_index_full), and sampled flows'
 * replies, whichever of their two buckets holds the word, reach their
 * client from the endpoint.
 *
 * Filling a flow's first bucket before looking at its second left 3-16
 * flows without a word at this fill (a model of 20 seeds; the program
 * before the two-choice rule failed here), the emptier-bucket rule none.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"

#define CAPACITY 65536
#define FILL (CAPACITY / 20 * 19)
/* Every SAMPLE-th flow's backend answers through the index. */
#define SAMPLE 997

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = CAPACITY,
};

/* Flow i: a client of its own (10.78.0.0/16 and on, routed through the
 * lab's router), port by i. */
static void fill_flow(struct conv *v, unsigned int i, char *src, size_t len)
{
	const struct pkt_spec spec = {
		.family = AF_INET,
		.proto = IPPROTO_TCP,
		.dst = VIP4,
		.dport = PORT_HTTP,
	};

	snprintf(src, len, "10.%u.%u.%u", 78 + i / 60000, i / 250 % 240,
		 1 + i % 250);
	conv_init(v, &lab, &spec);
	v->c.src = src;
	v->c.sport = (uint16_t)(1024 + i % 60000);
	v->c.seed = v->c.sport;
	v->cseq = 1000000u + 7919u * i;
	v->bseq = 3000000000u + 104729u * i;
}

static void test_fill_to_95_percent(void **state)
{
	uint64_t before[SLOTLB_EVENT_MAX], after[SLOTLB_EVENT_MAX];
	unsigned int i, answered = 0;
	struct conv v;
	char src[32], d[96];

	(void)state;
	assert_int_equal(slotlb_events_read(lab.lb, before), 0);
	for (i = 0; i < FILL; i++) {
		fill_flow(&v, i, src, sizeof(src));
		snprintf(d, sizeof(d), "flow %u of %u", i, FILL);
		conv_open(&v, DEP_A4, d);
		if (i % SAMPLE)
			continue;
		snprintf(d, sizeof(d), "flow %u: the backend's answer", i);
		conv_expect_backend(&v, F_ACK | F_PSH, 100, d);
		answered++;
	}
	assert_int_equal(slotlb_events_read(lab.lb, after), 0);
	printf("%u flows in a table of %u: %llu promoted, %llu without a "
	       "reply word, %llu on a full table; %u answers through the "
	       "index\n",
	       FILL, CAPACITY,
	       (unsigned long long)(after[SLOTLB_EVENT_PROMOTED] -
				    before[SLOTLB_EVENT_PROMOTED]),
	       (unsigned long long)(after[SLOTLB_EVENT_INDEX_FULL] -
				    before[SLOTLB_EVENT_INDEX_FULL]),
	       (unsigned long long)(after[SLOTLB_EVENT_TABLE_FULL] -
				    before[SLOTLB_EVENT_TABLE_FULL]),
	       answered);
	if (after[SLOTLB_EVENT_INDEX_FULL] != before[SLOTLB_EVENT_INDEX_FULL])
		fail_msg("%llu of %u flows found both reply-index buckets "
			 "full at %.1f %% of the capacity",
			 (unsigned long long)(after[SLOTLB_EVENT_INDEX_FULL] -
					      before[SLOTLB_EVENT_INDEX_FULL]),
			 FILL, 100.0 * FILL / CAPACITY);
	assert_int_equal(after[SLOTLB_EVENT_TABLE_FULL],
			 before[SLOTLB_EVENT_TABLE_FULL]);
	assert_int_equal(after[SLOTLB_EVENT_PROMOTED] -
				 before[SLOTLB_EVENT_PROMOTED],
			 FILL);
	cases_run += 3 * FILL + 2 * answered;
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "reply_index", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_reply_index: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fill_to_95_percent),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_reply_index", tests,
					   group_setup, group_teardown);
}
