/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Issue 10, item 8: flow state bits set from two CPUs at once are all
 * kept (atomic updates); a packet dropped at the next-hop step counts
 * as no endpoint's, deployment's or backend's traffic; and the Maglev
 * hash seed is the install's own: random for a new install, kept
 * across reloads, settable so every node of a fleet shares one, and it
 * decides the choice of backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {.flow_capacity = 8192};

#define RACE_FLOWS 3000

static const struct pkt_spec tcp4 = {.family = AF_INET,
				     .proto = IPPROTO_TCP,
				     .src = CLIENT4,
				     .dst = VIP4,
				     .dport = PORT_HTTP};

/* Two threads, one per CPU, each sends one side's FIN of flow i at the
 * same moment (a spin barrier per flow). */
struct racer {
	struct conv *flows;
	atomic_uint *arrived;
	int cpu;
	bool backend;
	int err;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	cpu_set_t set;
	size_t len;
	unsigned int i;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (i = 0; i < RACE_FLOWS; i++) {
		struct conv *v = &r->flows[i];

		len = r->backend ? conv_backend_frame(v, in, F_FIN | F_ACK, 0)
				 : conv_client_frame(v, in, F_FIN | F_ACK, 0);
		atomic_fetch_add(r->arrived, 1);
		while (atomic_load(r->arrived) < 2 * (i + 1))
			;
		r->err = lab_run_fast(
			&lab, r->backend ? lab_back_ifindex : lab_pub_ifindex,
			in, len, &out);
		if (r->err || out.verdict != XDP_REDIRECT) {
			r->err = r->err ? r->err : -1;
			/* keep the other thread from waiting forever */
			atomic_fetch_add(r->arrived, 1U << 30);
			break;
		}
	}
	return NULL;
}

struct fins {
	unsigned int both, client_only, backend_only;
};

static int count_fins(const struct slotlb_flow_info *f, void *ctx)
{
	const uint32_t both = SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND;
	struct fins *c = ctx;

	if (f->stage != SLOTLB_STAGE_ESTABLISHED || f->proto != IPPROTO_TCP ||
	    !(f->state & both))
		return 0;
	if ((f->state & both) == both)
		c->both++;
	else if (f->state & SLOTLB_FLOW_FIN_CLIENT)
		c->client_only++;
	else
		c->backend_only++;
	return 0;
}

static void test_state_bits_survive_two_cpus(void **state)
{
	static struct conv flows[RACE_FLOWS];
	struct racer a = {0}, b = {0};
	atomic_uint arrived = 0;
	pthread_t ta, tb;
	struct fins c = {0};
	unsigned int i;

	(void)state;
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		printf("race: one CPU, nothing to race\n");
		return;
	}
	for (i = 0; i < RACE_FLOWS; i++) {
		conv_init(&flows[i], &lab, &tcp4);
		flows[i].c.src = i % 2 ? CLIENT4 : CLIENT4B;
		conv_open(&flows[i], DEP_A4, "race flow");
	}
	a.flows = b.flows = flows;
	a.arrived = b.arrived = &arrived;
	a.cpu = 0;
	b.cpu = 1;
	b.backend = true;
	assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.err || b.err)
		fail_msg("race: a FIN was not forwarded");
	assert_int_equal(slotlb_flows_foreach(lab.lb, count_fins, &c), 0);
	printf("race: %u flows, FINs both ways at once: %u kept both bits, "
	       "%u lost the backend's, %u lost the client's\n",
	       RACE_FLOWS, c.both, c.client_only, c.backend_only);
	if (c.both != RACE_FLOWS)
		fail_msg("%u of %u flows lost a FIN bit set from the other "
			 "CPU",
			 RACE_FLOWS - c.both, RACE_FLOWS);
	cases_run += 2 * RACE_FLOWS;
}

/* An app whose only backend has no route: its SYN is dropped at the
 * next-hop step, and no counter of it moves. */
static void test_dropped_packets_not_counted(void **state)
{
	struct slotlb_backend be = {.family = AF_INET, .port = htons(80)};
	struct slotlb_endpoint ep = {.app_id = 5, .slot = 0, .endpoint_id = 30};
	struct slotlb_endpoint_key key = {
		.port = htons(80), .proto = IPPROTO_TCP, .family = AF_INET};
	struct slotlb_deployment_info info = {0};
	struct slotlb_routing r = {.deployment = {120}};
	struct slotlb_counters sum;
	struct pkt_spec s = tcp4;
	uint8_t in[PKT_MAX], a[16];
	uint32_t id = 40, w = 1;
	struct xdp_out out;
	size_t len;
	int k;

	(void)state;
	pkt_addr(AF_INET, "203.0.113.5", a); /* no route in the lab */
	memcpy(be.addr, a, 4);
	assert_int_equal(slotlb_backend_set(lab.lb, id, &be), 0);
	assert_int_equal(
		slotlb_deployment_publish(lab.lb, 120, &info, &id, &w, 1), 0);
	assert_int_equal(slotlb_routing_set(lab.lb, 5, &r), 0);
	pkt_addr(AF_INET, "198.18.0.60", a);
	memcpy(key.addr, a, 4);
	assert_int_equal(slotlb_endpoint_set(lab.lb, &key, &ep), 0);
	s.dst = "198.18.0.60";
	s.smac = lab_client_mac(AF_INET, CLIENT4);
	s.dmac = lab_pub_mac;
	for (k = 0; k < 3; k++) {
		s.seed = s.sport = lab_port();
		s.flags = k == 2 ? F_ACK : F_SYN;
		len = pkt_build(in, &s);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict("SYN to a backend without a route", &out,
			       XDP_DROP);
		assert_reason("SYN to a backend without a route", &out,
			      SLOTLB_REASON_DROP_FIB);
	}
	assert_int_equal(
		slotlb_stats_read(lab.lb, SLOTLB_STATS_ENDPOINT, 30, &sum), 0);
	assert_int_equal(sum.packets + sum.bytes + sum.new_flows, 0);
	assert_int_equal(
		slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, 120, &sum),
		0);
	assert_int_equal(sum.packets + sum.bytes + sum.new_flows, 0);
	assert_int_equal(
		slotlb_stats_read(lab.lb, SLOTLB_STATS_BACKEND, 40, &sum), 0);
	assert_int_equal(sum.packets + sum.bytes + sum.new_flows, 0);
	assert_int_equal(slotlb_endpoint_delete(lab.lb, &key), 0);
	cases_run += 3;
}

/* Backends 64 new flows choose in an install (web4's A, 3 backends). */
static void choices(struct lab *l, uint32_t *be)
{
	struct pkt_spec s = tcp4;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct pkt_info pi;
	size_t len;
	int i;

	s.smac = lab_client_mac(AF_INET, CLIENT4);
	s.dmac = lab_pub_mac;
	s.flags = F_SYN;
	for (i = 0; i < 64; i++) {
		s.seed = s.sport = (uint16_t)(40000 + i);
		len = pkt_build(in, &s);
		lab_run(l, lab_pub_ifindex, in, len, &out);
		if (!pkt_parse(out.data, out.len, &pi) ||
		    !lab_backend_by_dst(&pi))
			fail_msg("seed: SYN not forwarded");
		be[i] = lab_backend_by_dst(&pi)->id;
	}
}

static void test_hash_seed(void **state)
{
	struct slotlb_opts o = lab_opts;
	struct lab one = {0}, two = {0};
	uint32_t s1, s2, s3, c1[64], c2[64];
	int i, differ = 0;

	(void)state;
	/* Two new installs draw their own seeds. */
	if (lab_open(&one, "seed1", &lab_opts, true) ||
	    lab_open(&two, "seed2", &lab_opts, true))
		fail_msg("seed: installs did not open");
	assert_int_equal(slotlb_hash_seed_get(one.lb, &s1), 0);
	assert_int_equal(slotlb_hash_seed_get(two.lb, &s2), 0);
	if (!s1 || !s2 || s1 == s2)
		fail_msg("seed: new installs got %#x and %#x", s1, s2);
	/* Different seeds, different choices. */
	choices(&one, c1);
	choices(&two, c2);
	for (i = 0; i < 64; i++)
		differ += c1[i] != c2[i];
	if (!differ)
		fail_msg("seed: 64 flows chose alike under two seeds");
	/* A fleet shares one seed: the same choices. */
	assert_int_equal(slotlb_hash_seed_set(two.lb, s1), 0);
	lab_close(&one);
	lab_close(&two);
	o.hash_seed = 0x5eed1234;
	if (lab_open(&one, "seed3", &o, true) ||
	    lab_open(&two, "seed4", &o, true))
		fail_msg("seed: installs did not open");
	choices(&one, c1);
	choices(&two, c2);
	if (memcmp(c1, c2, sizeof(c1)))
		fail_msg("seed: one seed, different choices");
	/* Kept across a reload; 0 is not a seed. */
	lab_close_keep(&one);
	if (lab_open(&one, "seed3", &lab_opts, false))
		fail_msg("seed: reopen failed");
	assert_int_equal(slotlb_hash_seed_get(one.lb, &s3), 0);
	assert_int_equal(s3, 0x5eed1234);
	assert_int_equal(slotlb_hash_seed_set(one.lb, 0), -EINVAL);
	printf("seed: installs drew %#x and %#x; %d of 64 choices differ\n", s1,
	       s2, differ);
	lab_close(&one);
	lab_close(&two);
	cases_run += 256;
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "counters", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_counters: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_bits_survive_two_cpus),
		cmocka_unit_test(test_dropped_packets_not_counted),
		cmocka_unit_test(test_hash_seed),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_counters", tests, group_setup,
					   group_teardown);
}
