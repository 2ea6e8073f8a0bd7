/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A flow's life (issue 10, items 3-5): a deleted endpoint's pinned
 * flows keep working until they end, and its address is forgotten only
 * then; a half-closed flow whose client is gone expires after its idle
 * timeout and the drain completes; a flow whose reply mapping was lost
 * gets it back from its established entry; a flow stamped after a
 * walk read its clock is busy, not idle. Runs with 1 s timeouts for
 * half-closed and closed flows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = 4096,
	.tcp_half_closed_timeout_s = 1,
	.tcp_closed_timeout_s = 1,
};

/* Past a 1 s timeout on the program's clock, with room to spare. */
#define TIMEOUT_US 2200000

static const struct pkt_spec drain4 = {.family = AF_INET,
				       .proto = IPPROTO_TCP,
				       .src = CLIENT4,
				       .dst = VIP4_DRAIN,
				       .dport = PORT_HTTP};

static void drain_key(struct slotlb_endpoint_key *k)
{
	uint8_t a[16];

	memset(k, 0, sizeof(*k));
	pkt_addr(AF_INET, VIP4_DRAIN, a);
	memcpy(k->addr, a, 4);
	k->port = htons(PORT_HTTP);
	k->proto = IPPROTO_TCP;
	k->family = AF_INET;
}

/* Is addr still an endpoint address to the program? An echo request to
 * one is answered, to any other address passed. */
static bool endpoint_address(const char *addr)
{
	struct pkt_spec s = {.family = AF_INET,
			     .proto = IPPROTO_ICMP,
			     .src = CLIENT4,
			     .dst = addr,
			     .payload = 8,
			     .seed = 77};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	s.smac = lab_client_mac(AF_INET, CLIENT4);
	s.dmac = lab_pub_mac;
	len = pkt_build(in, &s);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	return out.verdict == XDP_TX;
}

static uint64_t flows_of(uint32_t dep)
{
	uint64_t counts[DEP_COUNT];

	assert_int_equal(
		slotlb_flows_count_by_deployment(lab.lb, counts, DEP_COUNT), 0);
	return counts[dep];
}

/* Item 3: delete the endpoint of a live flow (its address carries no
 * other endpoint): the flow still goes both ways, through GCs, until
 * it closes; then the address is forgotten. */
static void test_deleted_endpoint_keeps_flows(void **state)
{
	struct slotlb_endpoint_key key;
	struct slotlb_endpoint ep = {
		.app_id = APP_DRAIN, .slot = 0, .endpoint_id = EP_DRAIN};
	struct conv v;
	int i;

	(void)state;
	drain_key(&key);
	conv_init(&v, &lab, &drain4);
	conv_open(&v, DEP_C4, "before the delete");
	assert_int_equal(slotlb_endpoint_delete(lab.lb, &key), 0);
	for (i = 0; i < 3; i++) {
		conv_expect_client(&v, F_ACK | F_PSH, 30,
				   "deleted endpoint: client");
		conv_expect_backend(&v, F_ACK | F_PSH, 40,
				    "deleted endpoint: backend");
		assert_true(slotlb_flows_gc(lab.lb) >= 0);
		if (!endpoint_address(VIP4_DRAIN))
			fail_msg("the address left while a flow used it");
	}
	/* The flow ends; after its linger the GC takes it, and the
	 * address with it. */
	conv_expect_client(&v, F_FIN | F_ACK, 0, "deleted endpoint: FIN");
	conv_expect_backend(&v, F_FIN | F_ACK, 0, "deleted endpoint: FIN back");
	conv_expect_client(&v, F_ACK, 0, "deleted endpoint: last ACK");
	usleep(TIMEOUT_US);
	if (slotlb_flows_gc(lab.lb) < 1)
		fail_msg("the closed flow was not collected");
	if (endpoint_address(VIP4_DRAIN))
		fail_msg("the address stayed after its last flow");
	assert_int_equal(slotlb_endpoint_set(lab.lb, &key, &ep), 0);
	if (!endpoint_address(VIP4_DRAIN))
		fail_msg("the endpoint's address did not come back");
	cases_run += 10;
}

/* "New connections to the deleted endpoint are not accepted
 * (pass_not_endpoint)" (docs/datapath.md): also not a SYN that reuses
 * the 5-tuple of one of its flows that closed and lingers. */
static void test_deleted_endpoint_refuses_new_syn(void **state)
{
	struct slotlb_endpoint_key key;
	struct xdp_out out;
	struct conv v;

	(void)state;
	drain_key(&key);
	conv_init(&v, &lab, &drain4);
	conv_open(&v, DEP_C4, "before the delete");
	assert_int_equal(slotlb_endpoint_delete(lab.lb, &key), 0);
	conv_expect_client(&v, F_FIN | F_ACK, 0, "deleted endpoint: FIN");
	conv_expect_backend(&v, F_FIN | F_ACK, 0, "deleted endpoint: FIN back");
	conv_expect_client(&v, F_ACK, 0, "deleted endpoint: last ACK");
	/* The client connects again from the same port. */
	v.cseq += 100000;
	conv_client(&v, F_SYN, 0, &out);
	assert_reason("deleted endpoint: a new SYN on a closed flow's tuple",
		      &out, SLOTLB_REASON_PASS_NOT_ENDPOINT);
	cases_run += 4;
}

/* Whatever the test above did: the closed flow collected, the drain
 * endpoint back. */
static int restore_drain_endpoint(void **state)
{
	struct slotlb_endpoint_key key;
	struct slotlb_endpoint ep = {
		.app_id = APP_DRAIN, .slot = 0, .endpoint_id = EP_DRAIN};

	(void)state;
	drain_key(&key);
	usleep(TIMEOUT_US);
	slotlb_flows_gc(lab.lb);
	return slotlb_endpoint_set(lab.lb, &key, &ep) ? -1 : 0;
}

/* Item 4: only the backend's FIN, the client gone: pinned until the
 * half-closed timeout, then not, and the drain count reaches zero. An
 * idle open flow on the same deployment stays. */
static void test_half_closed_expires(void **state)
{
	struct conv gone, idle;
	uint64_t n;

	(void)state;
	lab_route(&lab, APP_DRAIN, DEP_C4);
	conv_init(&gone, &lab, &drain4);
	conv_open(&gone, DEP_C4, "half-closed");
	conv_expect_backend(&gone, F_ACK | F_PSH, 500, "half-closed: answer");
	conv_expect_backend(&gone, F_FIN | F_ACK, 0, "half-closed: FIN");
	conv_init(&idle, &lab, &drain4);
	conv_open(&idle, DEP_C4, "idle");
	/* Swap: C drains. */
	lab_route(&lab, APP_DRAIN, DEP_D4);
	n = flows_of(DEP_C4);
	if (n != 2)
		fail_msg("%llu flows pinned to C before the timeout, want 2",
			 (unsigned long long)n);
	usleep(TIMEOUT_US);
	n = flows_of(DEP_C4);
	if (n != 1)
		fail_msg("%llu flows pinned to C after the half-closed "
			 "timeout, want 1 (the idle open one)",
			 (unsigned long long)n);
	assert_true(slotlb_flows_gc(lab.lb) >= 1);
	/* The idle one is still served by C. */
	conv_expect_client(&idle, F_ACK | F_PSH, 5, "idle flow after GC");
	conv_expect_backend(&idle, F_ACK, 0, "idle flow: ACK of the data");
	/* It resets: the drain completes. */
	conv_expect_client(&idle, F_RST, 0, "idle flow: RST");
	n = flows_of(DEP_C4);
	if (n != 0)
		fail_msg("%llu flows pinned to C after both ended, want 0",
			 (unsigned long long)n);
	cases_run += 6;
}

static void delete_all(const char *map)
{
	struct slotlb_flow_key key, next;
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", lab.pin_root, map);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		assert_int_equal(bpf_map_delete_elem(fd, &key), 0);
	}
	close(fd);
}

/* Lose every reply mapping: the IPv4 index and the IPv6 reply entries,
 * and the half-open entries (an LRU, which would have lost them to
 * pressure) through which replies of young flows are found too. */
static void lose_reply_mappings(void)
{
	struct slotlb_reply_bucket zero = {0};
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info), i;
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/reply_index", lab.pin_root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	for (i = 0; i < info.max_entries; i++)
		assert_int_equal(bpf_map_update_elem(fd, &i, &zero, BPF_ANY),
				 0);
	close(fd);
	delete_all("replies6");
	delete_all("flows_new");
}

/* Item 5: the reply mapping of a live flow is lost: a reply then is
 * not translated (and is passed to the host, not to the client as the
 * backend); the client keeps sending, nothing comes back translated,
 * and within a few seconds (a client active for two seconds, a backend
 * silent for longer than the next-hop refresh) the client's packet
 * writes it again from the established entry; replies are translated. */
static void test_lost_reply_is_recreated(void **state)
{
	const struct pkt_spec specs[] = {
		{.family = AF_INET,
		 .proto = IPPROTO_TCP,
		 .src = CLIENT4,
		 .dst = VIP4,
		 .dport = PORT_HTTP},
		{.family = AF_INET6,
		 .proto = IPPROTO_TCP,
		 .src = CLIENT6,
		 .dst = VIP6,
		 .dport = PORT_HTTP},
		{.family = AF_INET,
		 .proto = IPPROTO_TCP,
		 .src = CLIENT4B,
		 .dst = VIP4,
		 .dport = PORT_HTTP},
	};
	uint64_t before[SLOTLB_EVENT_MAX], after[SLOTLB_EVENT_MAX];
	struct conv v[3];
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, k, len;

	(void)state;
	for (i = 0; i < 3; i++) {
		conv_init(&v[i], &lab, &specs[i]);
		conv_open(&v[i], specs[i].family == AF_INET ? DEP_A4 : DEP_A6,
			  "reply mapping");
	}
	lose_reply_mappings();
	len = conv_backend_frame(&v[0], in, F_ACK | F_PSH, 10);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	if (out.verdict == XDP_REDIRECT)
		fail_msg("reply translated without a reply mapping: the "
			 "mappings were not lost");
	assert_int_equal(slotlb_events_read(lab.lb, before), 0);
	/* The clients retransmit, as they would with replies lost, every
	 * 0.3 s for at most 10 s, until the three mappings are back. */
	for (k = 0; k < 33; k++) {
		usleep(300000);
		for (i = 0; i < 3; i++)
			conv_expect_client(
				&v[i], F_ACK, 0,
				"client, after the mapping was lost");
		assert_int_equal(slotlb_events_read(lab.lb, after), 0);
		if (after[SLOTLB_EVENT_REPLY_RESTORED] -
			    before[SLOTLB_EVENT_REPLY_RESTORED] >=
		    3)
			break;
	}
	printf("reply mappings restored after %zu ms of client packets\n",
	       (k + 1) * 300);
	for (i = 0; i < 3; i++)
		conv_expect_backend(&v[i], F_ACK | F_PSH, 100,
				    "reply after the client's packets");
	if (after[SLOTLB_EVENT_REPLY_RESTORED] -
		    before[SLOTLB_EVENT_REPLY_RESTORED] !=
	    3)
		fail_msg(
			"%llu reply mappings restored, want 3",
			(unsigned long long)(after[SLOTLB_EVENT_REPLY_RESTORED] -
					     before[SLOTLB_EVENT_REPLY_RESTORED]));
	cases_run += 7;
}

/* A walk (GC, drain count) reads the clock, then the entries: a packet
 * on another CPU in between stamps its flow later than the walk's now.
 * Such a busy flow is neither collected nor left out of the drain's
 * count (both took it for one idle for 49 days: the GC deleted it, and
 * its next packet went to the slot's new deployment). The later stamp
 * is written here directly, 1,000 jiffies ahead (1-4 s). */
static void test_stamp_after_the_walk_clock(void **state)
{
	struct slotlb_flow4 f, saved;
	struct slotlb_flow4_key k;
	struct conv v;
	uint64_t n;
	int fd;

	(void)state;
	lab_route(&lab, APP_DRAIN, DEP_C4);
	conv_init(&v, &lab, &drain4);
	conv_open(&v, DEP_C4, "stamped after the clock");
	n = flows_of(DEP_C4);
	fd = lab_flow4(&lab, &v.c, &k, &saved);
	f = saved;
	f.s.seen_client += 1000;
	f.s.seen_backend += 1000;
	assert_int_equal(bpf_map_update_elem(fd, &k, &f, BPF_EXIST), 0);
	if (flows_of(DEP_C4) != n)
		fail_msg("the drain's count left out a flow stamped after its "
			 "clock: %llu pinned, want %llu",
			 (unsigned long long)flows_of(DEP_C4),
			 (unsigned long long)n);
	assert_true(slotlb_flows_gc(lab.lb) >= 0);
	if (bpf_map_lookup_elem(fd, &k, &f))
		fail_msg("the GC deleted a flow stamped after its clock");
	/* Swap: the flow keeps its backend (it would have gone to D). */
	lab_route(&lab, APP_DRAIN, DEP_D4);
	conv_expect_client(&v, F_ACK | F_PSH, 10, "after the GC and a swap");
	/* Put its stamps back, then end it: later tests' GCs collect it. */
	assert_int_equal(bpf_map_update_elem(fd, &k, &saved, BPF_EXIST), 0);
	conv_expect_client(&v, F_RST, 0, "stamped flow: RST");
	close(fd);
	cases_run += 4;
}

static int reset_routing(void **state)
{
	(void)state;
	lab_route_default(&lab);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	return lab_open(&lab, "life", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_lifecycle: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_deleted_endpoint_keeps_flows),
		cmocka_unit_test_setup_teardown(
			test_deleted_endpoint_refuses_new_syn, reset_routing,
			restore_drain_endpoint),
		T(test_half_closed_expires),
		T(test_lost_reply_is_recreated),
		T(test_stamp_after_the_walk_clock),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_lifecycle", tests, group_setup,
					   group_teardown);
}
