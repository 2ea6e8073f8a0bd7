/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing through BPF_PROG_TEST_RUN, the shares: with a 10/5
 * split 100,000 distinct clients per family land on production, staging
 * and qa within half a percentage point of the shares (counted from the
 * output frames and from the per-deployment counters), each exactly
 * where the controller's C model predicts; the data path's client bucket
 * is the C one, bucket for bucket; a client keeps its slot over 100
 * source ports and both protocols; ramping 10 -> 20% moves clients only
 * into staging and 20 -> 10% only out of it, qa's untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"
#include "traffic_lab.h"

#define CLIENTS 100000
#define SCALE SLOTLB_SHARE_SCALE

/* Test numbers: each draws clients from its own range. */
enum { T_SHARES = 1, T_BUCKET, T_STICKY, T_RAMP };

static struct lab lab;

static const char *const slot_name[NSLOTS] = {"production", "staging", "qa"};

static uint64_t deployment_new_flows(uint32_t dep)
{
	struct slotlb_counters c;

	if (slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, dep, &c))
		fail_msg("stats of deployment %u", dep);
	return c.new_flows;
}

/*
 * 100,000 distinct clients per family, one SYN each, under staging=10,
 * qa=5: each slot's share within 0.5 percentage point (5 binomial sd
 * for 10%), from the frames and from the deployment counters alike, and
 * every client where the C model says.
 */
static void test_shares_10_5(void **state)
{
	const uint16_t want[NSLOTS] = {8500, 1000, 500};
	char src[INET6_ADDRSTRLEN];
	__be32 addr[4];
	size_t f;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];
		uint64_t before[NSLOTS], counted;
		uint32_t got[NSLOTS] = {0}, i, mispredicted = 0;
		int s;

		traffic_reset(a);
		traffic_distribution(1000, 500);
		traffic_apply(&lab, a);
		for (s = 0; s < NSLOTS; s++)
			before[s] = deployment_new_flows(a->dep[s]);
		for (i = 0; i < CLIENTS; i++) {
			traffic_client(a->family, T_SHARES, i, src, addr);
			s = traffic_send(&lab, a, src, 40000, PORT_HTTP,
					 IPPROTO_TCP, NULL);
			got[s]++;
			mispredicted += s != traffic_predict(a, PROD, src);
		}
		printf("%s, 10/5 split, %u clients:", f ? "IPv6" : "IPv4",
		       CLIENTS);
		for (s = 0; s < NSLOTS; s++) {
			double share = 100.0 * got[s] / CLIENTS;

			printf(" %s %.2f%%", slot_name[s], share);
			if (share < want[s] / 100.0 - 0.5 ||
			    share > want[s] / 100.0 + 0.5)
				fail_msg(
					"%s: %.2f%% of new flows, want %.2f +/- 0.5",
					slot_name[s], share, want[s] / 100.0);
			counted = deployment_new_flows(a->dep[s]) - before[s];
			if (counted != got[s])
				fail_msg(
					"%s: deployment counted %lu new flows, %u were sent there",
					slot_name[s], (unsigned long)counted,
					got[s]);
		}
		printf("; C model disagrees on %u\n", mispredicted);
		assert_int_equal(mispredicted, 0);
	}
}

/*
 * The data path's bucket of a client is the C one exactly: with a split
 * of just that bucket to staging the client goes to staging, with every
 * bucket but that one to qa it stays in production. 1,000 clients per
 * family, random unicast addresses (a bucket off by one, a byte order
 * or a seed differing in one bit fails this).
 */
static void test_bucket_matches_c(void **state)
{
	char src[INET6_ADDRSTRLEN];
	struct slotlb_split only[1], others[2];
	__be32 addr[4];
	size_t f;
	uint32_t i;

	(void)state;
	srand(5107);
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];

		for (i = 0; i < 1000; i++) {
			uint16_t b;
			int w, s;

			traffic_client(a->family, T_BUCKET, i, src, addr);
			for (w = 0; w < (f ? 4 : 1); w++)
				addr[w] = (__be32)rand() ^ (__be32)rand() << 16;
			/* Unicast sources only: 1-223 (not 127) / 2000::/3. */
			if (f)
				addr[0] = (addr[0] & htonl(0x1fffffff)) |
					  htonl(0x20000000);
			else
				addr[0] = (addr[0] & htonl(0x00ffffff)) |
					  htonl((1 + i % 126) << 24);
			inet_ntop(a->family, addr, src, sizeof(src));
			b = (uint16_t)slotlb_client_bucket(addr,
							   (uint8_t)a->family);
			memset(only, 0, sizeof(only));
			memset(others, 0, sizeof(others));
			only[0] = (struct slotlb_split){.from = b,
							.to = b + 1,
							.from_slot = PROD,
							.to_slot = STAGING};
			others[0] = (struct slotlb_split){.from = 0,
							  .to = b,
							  .from_slot = PROD,
							  .to_slot = QA};
			others[1] = (struct slotlb_split){.from = b + 1,
							  .to = SCALE,
							  .from_slot = PROD,
							  .to_slot = QA};
			traffic_reset(a);
			assert_int_equal(slotlb_routing_set_splits(
						 &traffic_elem, PROD, only, 1),
					 0);
			traffic_apply(&lab, a);
			s = traffic_send(&lab, a, src, 40001, PORT_HTTP,
					 IPPROTO_TCP, NULL);
			if (s != STAGING)
				fail_msg(
					"%s (bucket %u): split [%u, %u) -> staging, landed on %s",
					src, b, b, b + 1, slot_name[s]);
			traffic_reset(a);
			assert_int_equal(slotlb_routing_set_splits(
						 &traffic_elem, PROD,
						 others + !b,
						 b == SCALE - 1 || !b ? 1 : 2),
					 0);
			traffic_apply(&lab, a);
			s = traffic_send(&lab, a, src, 40002, PORT_HTTP,
					 IPPROTO_TCP, NULL);
			if (s != PROD)
				fail_msg(
					"%s (bucket %u): all but bucket %u -> qa, landed on %s",
					src, b, b, slot_name[s]);
		}
	}
}

/*
 * Sticky per client: 100 clients per family, each sending 100 new flows
 * from 100 source ports (and, for IPv4, one UDP flow to production's
 * UDP endpoint) under a 30/20 split, land on one slot every time.
 */
static void test_sticky_per_client(void **state)
{
	char src[INET6_ADDRSTRLEN];
	uint32_t flows = 0, slots_seen[NSLOTS] = {0};
	__be32 addr[4];
	size_t f;
	uint32_t i, p;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];

		traffic_reset(a);
		traffic_distribution(3000, 2000);
		traffic_apply(&lab, a);
		for (i = 0; i < 100; i++) {
			int first, s;

			traffic_client(a->family, T_STICKY, i * 7919, src,
				       addr);
			first = traffic_send(&lab, a, src, 30000, PORT_HTTP,
					     IPPROTO_TCP, NULL);
			for (p = 1; p < 100; p++) {
				s = traffic_send(&lab, a, src,
						 (uint16_t)(30000 + p * 257),
						 PORT_HTTP, IPPROTO_TCP, NULL);
				if (s != first)
					fail_msg(
						"%s: port 30000 -> %s, port %u -> %s",
						src, slot_name[first],
						30000 + p * 257, slot_name[s]);
			}
			flows += 100;
			if (a->family == AF_INET) {
				s = traffic_send(&lab, a, src, 30000, PORT_DNS,
						 IPPROTO_UDP, NULL);
				if (s != first)
					fail_msg("%s: TCP -> %s, UDP -> %s",
						 src, slot_name[first],
						 slot_name[s]);
				flows++;
			}
			slots_seen[first]++;
		}
	}
	printf("sticky: 200 clients, %u new flows, none changed slot (clients per slot: %u/%u/%u)\n",
	       flows, slots_seen[PROD], slots_seen[STAGING], slots_seen[QA]);
	/* With 30/20 every slot must have been someone's, or the test
	 * would not see a port-dependent choice. */
	for (i = 0; i < NSLOTS; i++)
		assert_true(slots_seen[i] > 0);
}

/* Where each client goes now, one new flow each (ports by phase). */
static void survey(const struct traffic_app *a, uint16_t port, uint8_t *slot,
		   uint32_t n)
{
	char src[INET6_ADDRSTRLEN];
	__be32 addr[4];
	uint32_t i;

	for (i = 0; i < n; i++) {
		traffic_client(a->family, T_RAMP, i, src, addr);
		slot[i] = (uint8_t)traffic_send(&lab, a, src, port, PORT_HTTP,
						IPPROTO_TCP, NULL);
	}
}

/*
 * Ramp staging 10 -> 20 -> 10% with qa at 5%, 50,000 clients: going up
 * only production's clients move, into staging (none leaves staging or
 * qa); going down only staging's leave, back to production, and they
 * are the ones that came. One routing-element update per step.
 */
static void test_ramp_moves_only_into_share(void **state)
{
	static uint8_t at10[50000], at20[50000], back[50000];
	const uint32_t n = 50000;
	uint32_t i, up = 0, down = 0, staging20 = 0;
	size_t f;

	(void)state;
	for (f = 0; f < 2; f++) {
		const struct traffic_app *a = &traffic_apps[f];

		traffic_reset(a);
		traffic_distribution(1000, 500);
		traffic_apply(&lab, a);
		survey(a, 50000, at10, n);
		traffic_distribution(2000, 500);
		traffic_apply(&lab, a);
		survey(a, 50001, at20, n);
		traffic_distribution(1000, 500);
		traffic_apply(&lab, a);
		survey(a, 50002, back, n);
		for (i = 0; i < n; i++) {
			if (at10[i] != at20[i] &&
			    (at10[i] != PROD || at20[i] != STAGING))
				fail_msg("ramp up: client %u moved %s -> %s", i,
					 slot_name[at10[i]],
					 slot_name[at20[i]]);
			if (at20[i] != back[i] &&
			    (at20[i] != STAGING || back[i] != PROD))
				fail_msg("ramp down: client %u moved %s -> %s",
					 i, slot_name[at20[i]],
					 slot_name[back[i]]);
			if (back[i] != at10[i])
				fail_msg(
					"client %u: %s at 10%%, %s back at 10%%",
					i, slot_name[at10[i]],
					slot_name[back[i]]);
			up += at10[i] != at20[i];
			down += at20[i] != back[i];
			staging20 += at20[i] == STAGING;
		}
	}
	printf("ramp 10 -> 20 -> 10%%, 2 x %u clients: %u moved in (%.2f%%), %u moved out, staging at 20%%: %.2f%%\n",
	       n, up, 50.0 * up / n, down, 50.0 * staging20 / n);
	if (staging20 < 2 * n * 0.195 || staging20 > 2 * n * 0.205)
		fail_msg("staging at 20%%: %u of %u clients", staging20, 2 * n);
	assert_int_equal(up, down);
}

static int group_setup(void **state)
{
	/* Room for every flow the tests start (~0.75M), so none of
	 * them evicts another. */
	struct slotlb_opts opts = {.flow_capacity = 1 << 20};

	(void)state;
	return lab_open(&lab, "traffic", &opts, true) ? -1 : 0;
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
		cmocka_unit_test(test_shares_10_5),
		cmocka_unit_test(test_bucket_matches_c),
		cmocka_unit_test(test_sticky_per_client),
		cmocka_unit_test(test_ramp_moves_only_into_share),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_traffic", tests, group_setup,
					   group_teardown);
}
