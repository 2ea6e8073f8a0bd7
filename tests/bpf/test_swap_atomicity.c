/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Swap atomicity: one thread replaces an app's routing element in a tight
 * loop (deployment A, then B, then A...) while this thread runs new-flow
 * SYNs through the program. Every SYN must be forwarded to a backend of A
 * or of B: a torn or momentarily missing routing element would show up as
 * a drop (drop_no_deployment) or a backend of neither. Both deployments
 * must be seen, with many changes between them, to prove the loops
 * really interleaved.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"

/* Bounds of the run: whichever comes first, once MIN_SWAPS swaps were
 * seen; a loaded machine gets up to HARD_SECONDS to make them. */
#define MAX_PACKETS 200000
#define MAX_SECONDS 3.0
#define MIN_SWAPS 12
#define HARD_SECONDS 10.0

static struct lab lab;

struct swapper {
	atomic_bool stop;
	atomic_ulong swaps; /* routing elements replaced */
	int err; /* of the failed replacement */
};

static void *swap_loop(void *arg)
{
	struct swapper *sw = arg;
	struct slotlb_routing r = {0};

	while (!atomic_load(&sw->stop)) {
		unsigned long n = atomic_load(&sw->swaps);

		r.deployment[0] = n % 2 ? DEP_A4 : DEP_B4;
		r.generation = (uint32_t)n;
		sw->err = slotlb_routing_set(lab.lb, APP_WEB4, &r);
		if (sw->err)
			break;
		atomic_fetch_add(&sw->swaps, 1);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_swap_is_atomic_for_new_flows(void **state)
{
	struct slotlb_reason_counter before[SLOTLB_REASON_MAX];
	struct slotlb_reason_counter after[SLOTLB_REASON_MAX];
	unsigned long sent = 0, to_a = 0, to_b = 0, changes = 0;
	struct swapper sw = {.stop = false};
	int last = 0, r;
	struct pkt_spec s = {
		.family = AF_INET,
		.proto = IPPROTO_TCP,
		.dst = VIP4,
		.dport = PORT_HTTP,
		.flags = F_SYN,
		.tcp_optlen = 1,
		.smac = lab_client_mac(AF_INET, CLIENT4),
		.dmac = lab_pub_mac,
	};
	static struct xdp_out out;
	uint8_t in[PKT_MAX];
	char src[INET_ADDRSTRLEN];
	pthread_t thread;
	double start, elapsed;
	const char *bad = NULL;

	(void)state;
	assert_int_equal(slotlb_reasons_read(lab.lb, before), 0);
	assert_int_equal(pthread_create(&thread, NULL, swap_loop, &sw), 0);
	start = now_s();
	for (;;) {
		double t = now_s() - start;
		const struct lab_backend *be;
		struct pkt_info pi;
		const char *why;
		size_t len;
		int dep;

		if (t >= HARD_SECONDS || sent >= 2 * MAX_PACKETS ||
		    ((t >= MAX_SECONDS || sent >= MAX_PACKETS) &&
		     atomic_load(&sw.swaps) >= MIN_SWAPS))
			break;
		/* A distinct 5-tuple per packet: 60000 ports per source. */
		snprintf(src, sizeof(src), "198.18.%lu.%lu",
			 128 + sent / 60000 / 250, 1 + sent / 60000 % 250);
		s.src = src;
		s.sport = (uint16_t)(1024 + sent % 60000);
		s.seed = s.sport;
		len = pkt_build(in, &s);
		if (lab_run_fast(&lab, lab_pub_ifindex, in, len, &out)) {
			bad = "test_run failed";
			break;
		}
		sent++;
		if (out.verdict != XDP_REDIRECT) {
			bad = "not forwarded";
			break;
		}
		if (!pkt_parse(out.data, out.len, &pi)) {
			bad = "output not a TCP frame";
			break;
		}
		be = lab_backend_by_dst(&pi);
		dep = lab_in_deployment(be, DEP_A4)   ? DEP_A4
		      : lab_in_deployment(be, DEP_B4) ? DEP_B4
						      : 0;
		if (!dep) {
			bad = "sent to a backend of neither A nor B";
			break;
		}
		if (!pkt_csum_ok(out.data, out.len, &why)) {
			bad = why;
			break;
		}
		if (dep == DEP_A4)
			to_a++;
		else
			to_b++;
		changes += last && dep != last;
		last = dep;
	}
	elapsed = now_s() - start;
	atomic_store(&sw.stop, true);
	pthread_join(thread, NULL);
	assert_int_equal(slotlb_reasons_read(lab.lb, after), 0);

	printf("swap: %lu SYNs in %.2f s during %lu swaps: %lu to A, %lu to B, %lu changes of deployment, %lu elsewhere\n",
	       sent, elapsed, atomic_load(&sw.swaps), to_a, to_b, changes,
	       sent - to_a - to_b);
	if (sw.err)
		fail_msg("routing_set failed: %s", strerror(-sw.err));
	if (bad)
		fail_msg("SYN %lu: %s (verdict %s)", sent, bad,
			 lab_verdict_name(out.verdict));
	for (r = 0; r < SLOTLB_REASON_MAX; r++) {
		uint64_t d = after[r].packets - before[r].packets;

		if (r != SLOTLB_REASON_FORWARD && d)
			fail_msg("%llu SYNs counted under %s",
				 (unsigned long long)d, slotlb_reason_name(r));
	}
	if (after[SLOTLB_REASON_FORWARD].packets -
		    before[SLOTLB_REASON_FORWARD].packets !=
	    sent)
		fail_msg("forward counter does not match the SYNs sent");
	/* A swap waits for an RCU grace period (the kernel makes sure no
	 * program still sees the old element when the update returns), so
	 * expect tens of swaps, not thousands. */
	if (!to_a || !to_b || changes < 10 ||
	    atomic_load(&sw.swaps) < MIN_SWAPS)
		fail_msg(
			"the loops did not interleave (A %lu, B %lu, %lu changes, %lu swaps)",
			to_a, to_b, changes, atomic_load(&sw.swaps));
}

static int group_setup(void **state)
{
	struct slotlb_opts opts = {.flow_capacity = 4096};

	(void)state;
	return lab_open(&lab, "swap", &opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_swap_is_atomic_for_new_flows),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_swap_atomicity", tests,
					   group_setup, group_teardown);
}
