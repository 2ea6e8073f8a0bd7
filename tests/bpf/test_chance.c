/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Second chance (issue 10): a non-SYN packet that misses the flow
 * tables after a swap does not silently land on the new deployment. It
 * goes to the backend the slot's previous deployment chooses (counted
 * as second_chance); that backend's answer pins the flow there, and its
 * RST (it does not know the connection) is kept from the client, whose
 * retransmission then goes to the current deployment. A handshake that
 * crosses a swap, or a republish of its deployment's ring (ring_history),
 * completes on the backend its SYN reached.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {.flow_capacity = 4096};

static const struct pkt_spec tcp4 = {.family = AF_INET,
				     .proto = IPPROTO_TCP,
				     .src = CLIENT4,
				     .dst = VIP4,
				     .dport = PORT_HTTP};
static const struct pkt_spec tcp6 = {.family = AF_INET6,
				     .proto = IPPROTO_TCP,
				     .src = CLIENT6,
				     .dst = VIP6,
				     .dport = PORT_HTTP};

static uint32_t app_of(int f)
{
	return f == AF_INET ? APP_WEB4 : APP_WEB6;
}

static uint32_t dep_a(int f)
{
	return f == AF_INET ? DEP_A4 : DEP_A6;
}

static uint32_t dep_b(int f)
{
	return f == AF_INET ? DEP_B4 : DEP_B6;
}

static void wipe(const char *map, size_t key_size)
{
	uint8_t key[64], next[64];
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", lab.pin_root, map);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	while (!bpf_map_get_next_key(fd, NULL, next)) {
		memcpy(key, next, key_size);
		assert_int_equal(bpf_map_delete_elem(fd, key), 0);
	}
	close(fd);
}

/* Every flow entry gone, as after a restart that could not keep them. */
static void lose_all_flows(void)
{
	wipe("flows4", sizeof(struct slotlb_flow4_key));
	wipe("flows6", sizeof(struct slotlb_flow_key));
	wipe("flows_new", sizeof(struct slotlb_flow_key));
}

static uint64_t event(enum slotlb_event e)
{
	uint64_t ev[SLOTLB_EVENT_MAX];

	assert_int_equal(slotlb_events_read(lab.lb, ev), 0);
	return ev[e];
}

/* The backend of deployment dep that out went to, or NULL. */
static const struct lab_backend *sent_to(const struct xdp_out *out,
					 uint32_t dep)
{
	const struct lab_backend *be;
	struct pkt_info pi;

	if (!pkt_parse(out->data, out->len, &pi) ||
	    !(be = lab_backend_by_dst(&pi)) || !lab_in_deployment(be, dep))
		return NULL;
	return be;
}

/* Open v's handshake: its SYN must reach a backend of dep (v->be). */
static void syn_to(struct conv *v, const struct pkt_spec *spec, uint32_t dep,
		   const char *desc)
{
	struct xdp_out out;

	conv_init(v, &lab, spec);
	conv_client(v, F_SYN, 0, &out);
	if (!(v->be = sent_to(&out, dep)))
		fail_msg("%s: SYN not to deployment %u", desc, dep);
}

/* A handshake that never completed is not pinned: its SYN, sent again
 * after a swap, goes to B. Both backends answer; the client takes A's
 * SYN-ACK, and its ACK completes the flow on A; B's is translated too
 * (the client's own stack discards it). */
static void syn_again_across_swap(void)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	const struct lab_backend *on_b = NULL;
	uint8_t syn[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v, w;

		conv_init(&v, &lab, specs[i]);
		len = conv_client_frame(&v, syn, F_SYN, 0);
		lab_run(&lab, lab_pub_ifindex, syn, len, &out);
		if (!(v.be = sent_to(&out, dep_a(f))))
			fail_msg("SYN again: first SYN not to A");
		lab_route(&lab, app_of(f), dep_b(f));
		lab_run(&lab, lab_pub_ifindex, syn, len, &out);
		if (!(on_b = sent_to(&out, dep_b(f))))
			fail_msg("SYN again: the SYN sent again did not go to "
				 "B");
		v.cseq++;
		w = v;
		w.be = on_b;
		w.bseq += 0x10000;
		conv_expect_backend(&v, F_SYN | F_ACK, 0,
				    "SYN again: A's SYN-ACK");
		conv_expect_backend(&w, F_SYN | F_ACK, 0,
				    "SYN again: B's SYN-ACK");
		conv_expect_client(&v, F_ACK, 0,
				   "SYN again: ACK of A's SYN-ACK on A");
		conv_expect_client(&v, F_ACK | F_PSH, 60,
				   "SYN again: data on A");
		conv_expect_backend(&v, F_ACK, 0, "SYN again: A answers");
		lab_route_default(&lab);
		cases_run += 7;
	}
}

/* A handshake across a swap: SYN to A, swap, SYN-ACK, ACK: on A. */
static void handshake_across_swap(void)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	size_t i;

	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v;

		syn_to(&v, specs[i], dep_a(f), "handshake across a swap");
		lab_route(&lab, app_of(f), dep_b(f));
		conv_expect_backend(&v, F_SYN | F_ACK, 0,
				    "handshake across a swap: SYN-ACK");
		conv_expect_client(&v, F_ACK, 0,
				   "handshake across a swap: ACK on A");
		conv_expect_client(&v, F_ACK | F_PSH, 100,
				   "handshake across a swap: data on A");
		lab_route_default(&lab);
		cases_run += 4;
	}
	syn_again_across_swap();
}

/* No change of the slot: a miss goes to the current deployment, no
 * second chance counted. */
static void miss_without_swap(void)
{
	struct xdp_out out;
	uint64_t chances;
	struct conv v;

	conv_init(&v, &lab, &tcp4);
	conv_open(&v, DEP_A4, "miss without swap");
	lose_all_flows();
	chances = event(SLOTLB_EVENT_SECOND_CHANCE);
	conv_client(&v, F_ACK, 0, &out);
	assert_reason("miss without swap", &out, SLOTLB_REASON_FORWARD_NONSYN);
	if (event(SLOTLB_EVENT_SECOND_CHANCE) != chances)
		fail_msg("a miss without a swap counted as a second chance");
	conv_expect_backend(&v, F_ACK | F_PSH, 3,
			    "miss without swap: answered, pinned");
	cases_run += 2;
}

/* Without a swap a miss goes to the current deployment; after a swap, a
 * flow of the previous deployment that lost its entries has its next
 * segment reach its backend, whose answer pins it again. */
static void test_lost_flow_after_swap_goes_to_previous(void **state)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	struct xdp_out out;
	uint64_t chances;
	size_t i;

	(void)state;
	miss_without_swap();
	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v;

		conv_init(&v, &lab, specs[i]);
		conv_open(&v, dep_a(f), "second chance");
		lose_all_flows();
		lab_route(&lab, app_of(f), dep_b(f));
		chances = event(SLOTLB_EVENT_SECOND_CHANCE);
		conv_client(&v, F_ACK | F_PSH, 40, &out);
		if (sent_to(&out, dep_a(f)) != v.be)
			fail_msg("a lost flow's segment left its backend after "
				 "the swap");
		assert_reason("second chance", &out,
			      SLOTLB_REASON_FORWARD_NONSYN);
		if (event(SLOTLB_EVENT_SECOND_CHANCE) != chances + 1)
			fail_msg("second chance not counted");
		conv_expect_backend(&v, F_ACK, 0,
				    "second chance: the backend answers");
		conv_expect_client(&v, F_ACK | F_PSH, 10,
				   "second chance: pinned again");
		lab_route_default(&lab);
		cases_run += 3;
	}
}

/* A flow of the current deployment lost its entries: the previous
 * deployment's backend does not know it and answers RST, which the
 * client never sees; the client's retransmission goes to the current
 * deployment, where the flow lives, and its answer pins it there. And
 * a handshake across a swap stays on the deployment of its SYN. */
static void test_retransmission_reaches_own_backend(void **state)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	const struct lab_backend *own, *other;
	uint8_t seg[PKT_MAX], rst[PKT_MAX];
	struct xdp_out out;
	struct pkt_info pi;
	size_t i, len, rlen;
	uint32_t cseq, bseq;

	(void)state;
	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v;

		lab_route(&lab, app_of(f), dep_b(f));
		conv_init(&v, &lab, specs[i]);
		conv_open(&v, dep_b(f), "retransmission");
		own = v.be;
		lose_all_flows();
		cseq = v.cseq;
		bseq = v.bseq;
		len = conv_client_frame(&v, seg, F_ACK | F_PSH, 30);
		lab_run(&lab, lab_pub_ifindex, seg, len, &out);
		if (!pkt_parse(out.data, out.len, &pi))
			fail_msg("retransmission: first try not forwarded");
		other = lab_backend_by_dst(&pi);
		if (!lab_in_deployment(other, dep_a(f)))
			fail_msg("retransmission: the miss did not go to A");
		v.be = other;
		v.bseq = cseq; /* RST seq = the segment's ACK */
		rlen = conv_backend_frame(&v, rst, F_RST, 0);
		lab_run(&lab, lab_back_ifindex, rst, rlen, &out);
		assert_reason("retransmission: A's RST", &out,
			      SLOTLB_REASON_DROP_SECOND_CHANCE);
		/* The client, unanswered, sends the segment again. */
		lab_run(&lab, lab_pub_ifindex, seg, len, &out);
		if (!pkt_parse(out.data, out.len, &pi) ||
		    lab_backend_by_dst(&pi) != own)
			fail_msg("retransmission: not on the flow's backend");
		assert_reason("retransmission", &out,
			      SLOTLB_REASON_FORWARD_NONSYN);
		v.be = own;
		v.bseq = bseq;
		v.cseq = cseq + 30;
		conv_expect_backend(&v, F_ACK, 0,
				    "retransmission: its backend answers");
		conv_expect_client(&v, F_ACK | F_PSH, 5,
				   "retransmission: pinned on its backend");
		lab_route_default(&lab);
		cases_run += 4;
	}
	handshake_across_swap();
}

/* A UDP flow its backend has not answered yet is not pinned: its next
 * datagram after a republish that took the backend out chooses again
 * (the ring before the republish is for TCP handshakes only). */
static void udp_across_republish(void)
{
	const int families[] = {AF_INET, AF_INET6};
	const struct lab_backend *first = NULL, *next;
	uint8_t frame[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	for (i = 0; i < 2; i++) {
		int f = families[i];
		struct pkt_spec u = {.family = f,
				     .proto = IPPROTO_UDP,
				     .src = f == AF_INET ? CLIENT4 : CLIENT6,
				     .dst = f == AF_INET ? VIP4 : VIP6,
				     .sport = lab_port(),
				     .dport = PORT_DNS,
				     .payload = 10};

		len = pkt_build(frame, &u);
		lab_run(&lab, lab_pub_ifindex, frame, len, &out);
		if (!(first = sent_to(&out, dep_a(f))))
			fail_msg("UDP across a republish: first datagram not "
				 "to A");
		lab_republish(&lab, dep_a(f), first->id);
		lab_run(&lab, lab_pub_ifindex, frame, len, &out);
		if (!(next = sent_to(&out, dep_a(f))) || next == first)
			fail_msg("UDP across a republish: an unanswered flow "
				 "stayed on the backend taken out");
		lab_republish(&lab, dep_a(f), 0);
		cases_run += 2;
	}
}

/* A handshake that crossed a swap and then a republish of the
 * deployment it started on, now the slot's previous one (its backend
 * drained or marked down between the SYN and the ACK): the ACK finds
 * the SYN's entry through the previous deployment's ring before the
 * republish. Before, only the current deployment's ring was kept in
 * mind: the ACK went to the previous deployment's new choice as a
 * second chance. */
static void handshake_across_swap_and_republish(void)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	struct xdp_out out;
	size_t i;

	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v;

		syn_to(&v, specs[i], dep_a(f),
		       "handshake across a swap and a republish");
		lab_route(&lab, app_of(f), dep_b(f));
		lab_republish(&lab, dep_a(f), v.be->id);
		conv_expect_backend(&v, F_SYN | F_ACK, 0,
				    "handshake across a swap and a republish: "
				    "SYN-ACK");
		conv_client(&v, F_ACK, 0, &out);
		if (sent_to(&out, dep_a(f)) != v.be)
			fail_msg("handshake across a swap and a republish: the "
				 "ACK left the backend that answered the SYN");
		assert_reason("handshake across a swap and a republish: ACK",
			      &out, SLOTLB_REASON_FORWARD);
		conv_expect_client(&v, F_ACK | F_PSH, 50,
				   "handshake across a swap and a republish: "
				   "data on its backend");
		lab_republish(&lab, dep_a(f), 0);
		lab_route_default(&lab);
		cases_run += 3;
	}
}

/* A handshake that crossed a republish of its deployment's ring (its
 * backend drained, or down, between the SYN and the ACK): the ACK finds
 * the SYN's half-open entry through the ring before the change, and the
 * flow completes on the backend that answered. Before, the ACK went to
 * the new ring's backend as a second chance and the connection was
 * reset (a connect error in test_backend_drain under load). */
static void test_handshake_across_republish(void **state)
{
	const struct pkt_spec *specs[] = {&tcp4, &tcp6};
	uint64_t chances;
	struct xdp_out out;
	struct pkt_info pi;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		int f = specs[i]->family;
		struct conv v;

		syn_to(&v, specs[i], dep_a(f), "handshake across a republish");
		lab_republish(&lab, dep_a(f), v.be->id);
		chances = event(SLOTLB_EVENT_SECOND_CHANCE);
		conv_expect_backend(&v, F_SYN | F_ACK, 0,
				    "handshake across a republish: SYN-ACK");
		conv_client(&v, F_ACK, 0, &out);
		if (sent_to(&out, dep_a(f)) != v.be)
			fail_msg("handshake across a republish: the ACK left "
				 "the backend that answered the SYN");
		assert_reason("handshake across a republish: ACK", &out,
			      SLOTLB_REASON_FORWARD);
		if (event(SLOTLB_EVENT_SECOND_CHANCE) != chances)
			fail_msg("handshake across a republish: counted as a "
				 "second chance");
		conv_expect_client(&v, F_ACK | F_PSH, 80,
				   "handshake across a republish: data on its "
				   "backend");
		conv_expect_backend(&v, F_ACK | F_PSH, 200,
				    "handshake across a republish: answer");
		/* A new flow meanwhile takes the new ring: never the
		 * backend that is out. */
		{
			struct conv w;

			conv_init(&w, &lab, specs[i]);
			conv_client(&w, F_SYN, 0, &out);
			if (!pkt_parse(out.data, out.len, &pi) ||
			    lab_backend_by_dst(&pi) == v.be)
				fail_msg("handshake across a republish: a new "
					 "SYN went to the backend taken out");
		}
		lab_republish(&lab, dep_a(f), 0);
		cases_run += 6;
	}
	udp_across_republish();
	handshake_across_swap_and_republish();
}

/* Does slot index of the pinned array of maps name hold a ring? */
static bool ring_slot_used(const char *name, uint32_t index)
{
	uint32_t id = 0;
	char path[160];
	bool used;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", lab.pin_root, name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		fail_msg("%s is not pinned", path);
	used = !bpf_map_lookup_elem(fd, &index, &id);
	close(fd);
	return used;
}

/* ring_history follows what libslotlb publishes: nothing before the
 * first republish, the replaced ring after it, nothing once the
 * deployment is removed, so an id used again starts without one. */
static void test_ring_history_follows_the_deployment(void **state)
{
	const uint32_t dep = 120, ids[3] = {1, 2, 3}, w[3] = {1, 1, 1};
	const uint32_t index = SLOTLB_RING_INDEX(dep, false);
	struct slotlb_deployment_info info = {.version = "history"};

	(void)state;
	assert_int_equal(
		slotlb_deployment_publish(lab.lb, dep, &info, ids, w, 3), 0);
	if (!ring_slot_used("deployment_rings", index) ||
	    ring_slot_used("ring_history", index))
		fail_msg("ring history: a first publish left a history");
	assert_int_equal(
		slotlb_deployment_publish(lab.lb, dep, &info, ids, w, 2), 0);
	if (!ring_slot_used("ring_history", index))
		fail_msg("ring history: a republish kept no ring");
	if (ring_slot_used("ring_history", SLOTLB_RING_INDEX(dep, true)))
		fail_msg("ring history: a family without a ring got one");
	assert_int_equal(slotlb_deployment_remove(lab.lb, dep), 0);
	if (ring_slot_used("deployment_rings", index) ||
	    ring_slot_used("ring_history", index))
		fail_msg("ring history: kept after the deployment's removal");
	assert_int_equal(
		slotlb_deployment_publish(lab.lb, dep, &info, ids, w, 3), 0);
	if (ring_slot_used("ring_history", index))
		fail_msg("ring history: an id used again inherited one");
	assert_int_equal(slotlb_deployment_remove(lab.lb, dep), 0);
	cases_run += 5;
}

/* The current deployment shares the backend the previous one chooses
 * for a lost flow (a deployment that kept some of its predecessor's
 * backends). The trial to that backend is refused with a RST, kept from
 * the client; the retransmission goes to the current deployment's
 * choice, the same backend, whose RST (it really does not know the
 * connection) must now reach the client, as it would for any other
 * backend of the current deployment: else the client is never reset
 * and hangs until its own timeout. */
static void test_refused_trial_on_shared_backend(void **state)
{
	const struct lab_backend *a0 = lab_deployment_backend(DEP_A4, 0), *be;
	struct slotlb_deployment_info info = {0};
	uint32_t dep = 102, id = a0->id, w = 1, cseq;
	uint8_t seg[PKT_MAX], rst[PKT_MAX];
	struct xdp_out out;
	size_t len, rlen;
	int tries;
	struct conv v;

	(void)state;
	assert_int_equal(
		slotlb_deployment_publish(lab.lb, dep, &info, &id, &w, 1), 0);
	lab_route_prev(&lab, APP_WEB4, dep, DEP_A4);
	/* A lost flow whose previous deployment's choice is a0. */
	for (tries = 0; tries < 64; tries++) {
		conv_init(&v, &lab, &tcp4);
		len = conv_client_frame(&v, seg, F_ACK | F_PSH, 30);
		lab_run(&lab, lab_pub_ifindex, seg, len, &out);
		assert_reason("lost flow", &out, SLOTLB_REASON_FORWARD_NONSYN);
		be = sent_to(&out, DEP_A4);
		if (be == a0)
			break;
	}
	if (be != a0)
		fail_msg("no lost flow went to A's first backend");
	cseq = v.cseq;
	v.be = a0;
	v.bseq = cseq; /* RST seq = the segment's ACK */
	rlen = conv_backend_frame(&v, rst, F_RST, 0);
	lab_run(&lab, lab_back_ifindex, rst, rlen, &out);
	assert_reason("shared backend: the trial's RST", &out,
		      SLOTLB_REASON_DROP_SECOND_CHANCE);
	/* The client sends the segment again: to the current deployment,
	 * which chooses the same backend. */
	lab_run(&lab, lab_pub_ifindex, seg, len, &out);
	if (sent_to(&out, DEP_A4) != a0) /* a0 is A's too */
		fail_msg("shared backend: retransmission not to %s", a0->addr);
	/* It does not know the connection either: the client is reset. */
	lab_run(&lab, lab_back_ifindex, rst, rlen, &out);
	assert_verdict("shared backend: the current deployment's RST", &out,
		       XDP_REDIRECT);
	assert_reason("shared backend: the current deployment's RST", &out,
		      SLOTLB_REASON_REPLY);
	cases_run += 4;
}

/* A client reconnects from the same port while its old connection's
 * flow is still pinned (idle) on a deployment that is now neither the
 * slot's nor its previous one (two swaps). Its SYN goes to the pinned
 * backend, which answers with a SYN-ACK (the old connection is dead
 * there): the handshake's last ACK must replace the entry (datapath.md,
 * "only the handshake's ACK then replaces it"). Left on the old entry,
 * the new connection is checked against the old one's sequence numbers
 * and its FIN is dropped as out of window. */
static void test_reconnect_on_old_pinned_tuple(void **state)
{
	struct xdp_out out;
	struct conv v;

	(void)state;
	conv_init(&v, &lab, &tcp4);
	conv_open(&v, DEP_A4, "old connection");
	conv_expect_backend(&v, F_ACK | F_PSH, 10, "old connection: data");
	conv_expect_client(&v, F_ACK, 0, "old connection: ACK");
	/* Two swaps later: E in the slot, B before it. */
	lab_route_prev(&lab, APP_WEB4, DEP_B4, DEP_A4);
	lab_route_prev(&lab, APP_WEB4, DEP_E4, DEP_B4);
	/* The new connection, same port, another ISN (1 GiB before). */
	v.cseq -= 0x40001000u;
	v.bseq += 0x12345u;
	conv_client(&v, F_SYN, 0, &out);
	if (sent_to(&out, DEP_A4) != v.be)
		fail_msg(
			"new SYN on a pinned tuple: not to the pinned backend");
	conv_expect_backend(&v, F_SYN | F_ACK, 0, "new connection: SYN-ACK");
	conv_expect_client(&v, F_ACK, 0, "new connection: last ACK");
	conv_expect_backend(&v, F_ACK | F_PSH, 10, "new connection: data");
	conv_expect_client(&v, F_ACK, 0, "new connection: ACK");
	conv_client(&v, F_FIN | F_ACK, 0, &out);
	assert_reason("new connection: client's FIN", &out,
		      SLOTLB_REASON_FORWARD);
	assert_verdict("new connection: client's FIN", &out, XDP_REDIRECT);
	cases_run += 8;
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
	return lab_open(&lab, "chance", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_chance: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_lost_flow_after_swap_goes_to_previous),
		T(test_retransmission_reaches_own_backend),
		T(test_handshake_across_republish),
		T(test_ring_history_follows_the_deployment),
		T(test_refused_trial_on_shared_backend),
		T(test_reconnect_on_old_pinned_tuple),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_chance", tests, group_setup,
					   group_teardown);
}
