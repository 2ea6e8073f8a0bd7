/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The end of a drain in the data path (issue 9, drain control): once a
 * backend's backend_drain element asks for resets, the client's next
 * packet of each of its pinned TCP flows is answered with a RST from the
 * endpoint (XDP_TX) that the client accepts (its sequence number is the
 * client's own acknowledgement), the flow closes, and resets stay within
 * the per-second budget; a packet over the budget, the client's own RST,
 * UDP flows and backends without a reset policy are forwarded as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {.flow_capacity = 4096};

static const struct pkt_spec web4 = {.family = AF_INET,
				     .proto = IPPROTO_TCP,
				     .src = CLIENT4,
				     .dst = VIP4,
				     .dport = PORT_HTTP};
static const struct pkt_spec web6 = {.family = AF_INET6,
				     .proto = IPPROTO_TCP,
				     .src = CLIENT6,
				     .dst = VIP6,
				     .dport = PORT_HTTP};

struct flow_find {
	uint16_t client_port; /* network order */
	uint32_t state;
	bool found;
};

static int find_flow(const struct slotlb_flow_info *f, void *ctx)
{
	struct flow_find *ff = ctx;

	if (f->stage != SLOTLB_STAGE_ESTABLISHED ||
	    f->client_port != ff->client_port)
		return 0;
	ff->state = f->state;
	ff->found = true;
	return 1;
}

static uint32_t flow_state(const struct conv *v)
{
	struct flow_find ff = {.client_port = htons(v->c.sport)};

	assert_true(slotlb_flows_foreach(lab.lb, find_flow, &ff) >= 0);
	if (!ff.found)
		fail_msg("flow from port %u not in the table", v->c.sport);
	return ff.state;
}

/* out must be the endpoint's RST to v's client, accepted by it: from
 * the endpoint's address and port, sequence number = what the client
 * acknowledged last (v->bseq), back to the client's MAC, no payload,
 * valid checksums. */
static void assert_reset(const char *desc, const struct xdp_out *out,
			 const struct conv *v)
{
	size_t hdrs = 14 + (v->c.family == AF_INET ? 20 : 40) + 20;
	const char *why = NULL;
	struct pkt_info pi;

	assert_verdict(desc, out, XDP_TX);
	assert_reason(desc, out, SLOTLB_REASON_TX_DRAIN_RESET);
	if (out->len != hdrs)
		fail_msg("%s: RST frame of %u bytes, want %zu", desc, out->len,
			 hdrs);
	if (!pkt_parse(out->data, out->len, &pi))
		fail_msg("%s: output is not a TCP frame", desc);
	if (!pkt_addr_eq(v->c.family, pi.src, v->c.dst) ||
	    !pkt_addr_eq(v->c.family, pi.dst, v->c.src))
		fail_msg("%s: RST not from the endpoint to the client", desc);
	if (pi.sport != v->c.dport || pi.dport != v->c.sport)
		fail_msg("%s: ports %u -> %u, want %u -> %u", desc, pi.sport,
			 pi.dport, v->c.dport, v->c.sport);
	if (pi.flags != F_RST)
		fail_msg("%s: flags 0x%x, want RST alone", desc, pi.flags);
	if (pkt_tcp_seq(out->data, out->len) != v->bseq)
		fail_msg("%s: seq %u, want the client's ack %u", desc,
			 pkt_tcp_seq(out->data, out->len), v->bseq);
	if (memcmp(pi.dmac, lab_client_mac(v->c.family, v->c.src), 6) ||
	    memcmp(pi.smac, lab_pub_mac, 6))
		fail_msg("%s: MACs not swapped back to the client", desc);
	if (!pkt_csum_ok(out->data, out->len, &why))
		fail_msg("%s: checksum: %s", desc, why);
}

static void drain_set(uint32_t backend_id, uint32_t rate)
{
	assert_int_equal(slotlb_backend_drain_set(lab.lb, backend_id, rate), 0);
}

/* A pinned flow's next packet gets the RST; the flow is closed. */
static void reset_one(const struct pkt_spec *spec, uint32_t dep,
		      const char *desc)
{
	struct xdp_out out;
	struct conv v;

	conv_init(&v, &lab, spec);
	conv_open(&v, dep, desc);
	conv_expect_client(&v, F_ACK | F_PSH, 100, desc);
	conv_expect_backend(&v, F_ACK | F_PSH, 300, desc);
	drain_set(v.be->id, 100);
	conv_client(&v, F_ACK | F_PSH, 100, &out);
	assert_reset(desc, &out, &v);
	if (!(flow_state(&v) & SLOTLB_FLOW_RST))
		fail_msg("%s: the reset flow is not closed", desc);
	drain_set(v.be->id, 0);
	cases_run += 3;
}

static void test_reset_ipv4(void **state)
{
	(void)state;
	reset_one(&web4, DEP_A4, "IPv4 flow past its drain");
}

static void test_reset_ipv6(void **state)
{
	(void)state;
	reset_one(&web6, DEP_A6, "IPv6 flow past its drain");
}

/* No reset policy (rate 0): the flow is forwarded. The client's own RST
 * is forwarded even with one (the flow ends anyway). */
static void test_leave_and_client_rst(void **state)
{
	struct conv v;

	(void)state;
	conv_init(&v, &lab, &web4);
	conv_open(&v, DEP_A4, "leave");
	drain_set(v.be->id, 0);
	conv_expect_client(&v, F_ACK | F_PSH, 10, "rate 0: forwarded");
	drain_set(v.be->id, 100);
	conv_expect_client(&v, F_RST | F_ACK, 0, "client's RST: forwarded");
	drain_set(v.be->id, 0);
	cases_run += 2;
}

/* Budget: rate 2, five flows on one backend in the same second: two
 * resets, the rest forwarded; the forwarded ones stay open. */
static void test_budget(void **state)
{
	struct conv v[5];
	struct xdp_out out;
	const struct lab_backend *be = NULL;
	int i, resets = 0, opened = 0;

	(void)state;
	/* five flows on the same backend */
	for (i = 0; opened < 5 && i < 200; i++) {
		conv_init(&v[opened], &lab, &web4);
		conv_open(&v[opened], DEP_A4, "budget: open");
		if (!be)
			be = v[opened].be;
		if (v[opened].be == be)
			opened++;
	}
	assert_int_equal(opened, 5);
	drain_set(be->id, 2);
	for (i = 0; i < 5; i++) {
		conv_client(&v[i], F_ACK | F_PSH, 10, &out);
		if (out.reason == SLOTLB_REASON_TX_DRAIN_RESET) {
			assert_reset("budget: reset", &out, &v[i]);
			resets++;
		} else {
			assert_reason("budget: over it", &out,
				      SLOTLB_REASON_FORWARD);
			if (flow_state(&v[i]) & SLOTLB_FLOW_RST)
				fail_msg("a forwarded flow was closed");
		}
	}
	drain_set(be->id, 0);
	if (resets != 2)
		fail_msg("%d resets at a budget of 2 a second", resets);
	cases_run += 5;
}

/* UDP flows of a draining backend are not reset. */
static void test_udp_left(void **state)
{
	struct pkt_spec s = {.family = AF_INET,
			     .proto = IPPROTO_UDP,
			     .src = CLIENT4,
			     .dst = VIP4,
			     .dport = PORT_DNS,
			     .payload = 20};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	const struct lab_backend *be;
	size_t len;

	(void)state;
	s.sport = lab_port();
	s.smac = lab_client_mac(AF_INET, CLIENT4);
	s.dmac = lab_pub_mac;
	len = pkt_build(in, &s);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	be = assert_forwarded("udp: first", &out, &s, lab_pub_ifindex, DEP_A4,
			      SLOTLB_REASON_FORWARD);
	drain_set(be->id, 100);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_forwarded("udp: draining backend", &out, &s, lab_pub_ifindex,
			 DEP_A4, SLOTLB_REASON_FORWARD);
	drain_set(be->id, 0);
	cases_run += 2;
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
	return lab_open(&lab, "drain", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_drain: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_reset_ipv4),
		T(test_reset_ipv6),
		T(test_leave_and_client_rst),
		T(test_budget),
		T(test_udp_left),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_drain", tests, group_setup,
					   group_teardown);
}
