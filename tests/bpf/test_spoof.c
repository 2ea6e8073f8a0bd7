/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Spoofed RST and FIN (issue 10, item 1): a pinned flow stays pinned
 * whatever an outsider sends. A RST from the client side closes a flow
 * only with exactly the backend's last acknowledgement as its sequence
 * number (RFC 5961); in window but not exact it is forwarded (the
 * backend answers with a challenge ACK) and the flow stays; out of
 * window it is dropped. A FIN is recorded only in window, and the
 * client's counts only once the backend acknowledged exactly it.
 * Packets claiming to come from the backend are only looked at on a
 * backend interface, and a public client's packets only on a public
 * one. After each attempt the GC runs past the closed-flow linger and
 * the slot is swapped: the flow must still reach its backend.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = 4096,
	.tcp_closed_timeout_s = 1,
	.tcp_half_closed_timeout_s = 1,
};

/* Past the 1 s linger on a clock of 4 ms ticks, with room to spare. */
#define LINGER_US 1300000

#define TCP4(...)                                                        \
	{                                                                \
		.family = AF_INET, .proto = IPPROTO_TCP, .src = CLIENT4, \
		.dst = VIP4, .dport = PORT_HTTP, __VA_ARGS__             \
	}
#define TCP6(...)                                                         \
	{                                                                 \
		.family = AF_INET6, .proto = IPPROTO_TCP, .src = CLIENT6, \
		.dst = VIP6, .dport = PORT_HTTP, __VA_ARGS__              \
	}

static uint32_t dep_a(int family)
{
	return family == AF_INET ? DEP_A4 : DEP_A6;
}

static uint32_t dep_b(int family)
{
	return family == AF_INET ? DEP_B4 : DEP_B6;
}

/* A spoofed segment of the flow from the client side: flags, with the
 * sequence number seq. */
static void spoof_client(struct conv *v, int ifindex, uint8_t flags,
			 uint32_t seq, struct xdp_out *out)
{
	uint8_t in[PKT_MAX];
	uint32_t keep = v->cseq;
	size_t len;

	v->cseq = seq;
	len = conv_client_frame(v, in, flags, 0);
	v->cseq = keep;
	lab_run(&lab, ifindex, in, len, out);
	cases_run++;
}

/* A spoofed segment claiming to be the backend's, arriving on ifindex. */
static void spoof_backend(struct conv *v, int ifindex, uint8_t flags,
			  uint32_t seq, struct xdp_out *out)
{
	uint8_t in[PKT_MAX];
	uint32_t keep = v->bseq;
	size_t len;

	v->bseq = seq;
	len = conv_backend_frame(v, in, flags, 0);
	v->bseq = keep;
	lab_run(&lab, ifindex, in, len, out);
	cases_run++;
}

struct find_ctx {
	const struct pkt_spec *s;
	bool found, live;
	uint32_t state;
};

static int find_cb(const struct slotlb_flow_info *fl, void *ctx)
{
	struct find_ctx *c = ctx;
	uint8_t a[16];

	if (fl->stage != SLOTLB_STAGE_ESTABLISHED ||
	    fl->family != c->s->family || fl->proto != c->s->proto ||
	    ntohs(fl->client_port) != c->s->sport ||
	    ntohs(fl->endpoint_port) != c->s->dport)
		return 0;
	pkt_addr(c->s->family, c->s->src, a);
	if (memcmp(fl->client, a, c->s->family == AF_INET ? 4 : 16))
		return 0;
	c->found = true;
	c->live = fl->live;
	c->state = fl->state;
	return 1;
}

/* The flow's established entry is there, open: a spoofed packet closed
 * nothing. (Reaching the backend after the swap alone would not show
 * it: the flow's half-open entry and second chance would carry a closed
 * flow to the same backend.) */
static void expect_entry_open(const struct conv *v, const char *desc)
{
	struct find_ctx c = {.s = &v->c};
	char state[128];

	assert_true(slotlb_flows_foreach(lab.lb, find_cb, &c) >= 0);
	if (!c.found)
		fail_msg("%s: its established entry is gone", desc);
	if (!c.live || (c.state & SLOTLB_FLOW_RST)) {
		slotlb_format_flow_state(c.state, state, sizeof(state));
		fail_msg("%s: its established entry is %s (%s), want open and "
			 "live",
			 desc, c.live ? "live" : "not live", state);
	}
}

/* After the linger and a GC, and a swap to B: every flow must still be
 * open in the established stage and go to its backend both ways. */
static void expect_still_pinned(struct conv *flows, size_t n, const char *desc)
{
	char d[160];
	size_t i;
	int removed;

	usleep(LINGER_US);
	removed = slotlb_flows_gc(lab.lb);
	assert_true(removed >= 0);
	for (i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "%s, flow %zu after GC", desc, i);
		expect_entry_open(&flows[i], d);
		cases_run++;
	}
	lab_route(&lab, APP_WEB4, DEP_B4);
	lab_route(&lab, APP_WEB6, DEP_B6);
	for (i = 0; i < n; i++) {
		snprintf(d, sizeof(d), "%s, flow %zu: client after GC and swap",
			 desc, i);
		conv_expect_client(&flows[i], F_ACK | F_PSH, 10, d);
		snprintf(d, sizeof(d),
			 "%s, flow %zu: backend after GC and swap", desc, i);
		conv_expect_backend(&flows[i], F_ACK | F_PSH, 20, d);
		cases_run += 2;
	}
	lab_route_default(&lab);
}

struct rst_case {
	const char *desc;
	uint8_t flags;
	int32_t offset; /* from the backend's last acknowledgement */
	int verdict;
	enum slotlb_reason reason;
};

static const struct rst_case rst_cases[] = {
	{"RST one past the backend's ACK (in window, not exact)", F_RST, 1,
	 XDP_REDIRECT, SLOTLB_REASON_FORWARD},
	{"RST 60000 past the backend's ACK", F_RST | F_ACK, 60000, XDP_REDIRECT,
	 SLOTLB_REASON_FORWARD},
	{"RST one before the backend's ACK (old)", F_RST, -1, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW},
	{"RST 2^31 away", F_RST, (int32_t)0x80000000, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW},
	{"FIN ending before the backend's ACK", F_FIN | F_ACK, -5, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW},
	{"FIN 2^31 away", F_FIN | F_ACK, (int32_t)0x80000000, XDP_DROP,
	 SLOTLB_REASON_DROP_WINDOW},
	{"FIN in window, never acknowledged by the backend", F_FIN | F_ACK,
	 7777, XDP_REDIRECT, SLOTLB_REASON_FORWARD},
};

#define ROWS (sizeof(rst_cases) / sizeof(rst_cases[0]))

/* Client-side RST and FIN that are not exact or not in window: the
 * flow stays pinned. */
static void test_client_side_out_of_window(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static struct conv flows[2 * ROWS];
	struct xdp_out out;
	char desc[160];
	size_t i, k;

	(void)state;
	for (i = 0; i < 2; i++) {
		for (k = 0; k < ROWS; k++) {
			const struct rst_case *c = &rst_cases[k];
			struct conv *v = &flows[i * ROWS + k];

			conv_init(v, &lab, &specs[i]);
			snprintf(desc, sizeof(desc), "v%d %s",
				 specs[i].family == AF_INET ? 4 : 6, c->desc);
			conv_open(v, dep_a(specs[i].family), desc);
			conv_expect_backend(v, F_ACK | F_PSH, 100, desc);
			conv_expect_client(v, F_ACK, 0, desc);
			/* The backend's last ACK is v->cseq. */
			spoof_client(v, lab_pub_ifindex, c->flags,
				     v->cseq + (uint32_t)c->offset, &out);
			assert_verdict(desc, &out, c->verdict);
			assert_reason(desc, &out, c->reason);
		}
	}
	expect_still_pinned(flows, 2 * ROWS, "client-side RST and FIN");
}

/* Segments claiming to be the backend's, arriving on the public side,
 * exact or not: the public side is never looked up as a reply. */
static void test_backend_claims_from_public_side(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static const uint8_t flags[] = {F_RST, F_RST | F_ACK, F_FIN | F_ACK};
	static struct conv flows[2 * sizeof(flags)];
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	char desc[160];
	size_t i, k, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		for (k = 0; k < sizeof(flags); k++) {
			struct conv *v = &flows[i * sizeof(flags) + k];

			conv_init(v, &lab, &specs[i]);
			snprintf(desc, sizeof(desc),
				 "v%d backend's %s from the public side",
				 specs[i].family == AF_INET ? 4 : 6,
				 flags[k] & F_FIN ? "FIN" : "RST");
			conv_open(v, dep_a(specs[i].family), desc);
			/* Exactly what the backend would send next. */
			len = conv_backend_frame(v, in, flags[k], 0);
			lab_run(&lab, lab_pub_ifindex, in, len, &out);
			assert_untouched(desc, &out, in, len, XDP_PASS,
					 SLOTLB_REASON_PASS_NOT_ENDPOINT);
			cases_run++;
		}
	}
	expect_still_pinned(flows, 2 * sizeof(flags),
			    "backend's RST or FIN from the public side");
}

/* What must still close: an exact RST from the client, a RST of the
 * backend in window, FINs both ways acknowledged. After the linger the
 * GC removes the flows and a new SYN on the same 5-tuple goes to B. */
static void real_closes_close(void)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static struct conv flows[6];
	struct xdp_out out;
	struct pkt_info pi;
	char desc[128];
	size_t i, k;
	int removed;

	for (i = 0; i < 2; i++) {
		for (k = 0; k < 3; k++) {
			struct conv *v = &flows[3 * i + k];

			conv_init(v, &lab, &specs[i]);
			snprintf(desc, sizeof(desc), "v%d %s",
				 specs[i].family == AF_INET ? 4 : 6,
				 k == 0	  ? "client's exact RST"
				 : k == 1 ? "backend's RST"
					  : "FIN both ways");
			conv_open(v, dep_a(specs[i].family), desc);
			if (k == 0) {
				spoof_client(v, lab_pub_ifindex, F_RST, v->cseq,
					     &out);
				assert_verdict(desc, &out, XDP_REDIRECT);
			} else if (k == 1) {
				conv_expect_backend(v, F_RST | F_ACK, 0, desc);
			} else {
				conv_expect_client(v, F_FIN | F_ACK, 0, desc);
				conv_expect_backend(v, F_FIN | F_ACK, 0, desc);
				conv_expect_client(v, F_ACK, 0, desc);
			}
		}
	}
	usleep(LINGER_US);
	removed = slotlb_flows_gc(lab.lb);
	if (removed < 6)
		fail_msg("GC removed %d closed flows, want 6", removed);
	lab_route(&lab, APP_WEB4, DEP_B4);
	lab_route(&lab, APP_WEB6, DEP_B6);
	for (i = 0; i < 6; i++) {
		struct conv *v = &flows[i];

		v->cseq += 100000;
		conv_client(v, F_SYN, 0, &out);
		assert_verdict("new SYN after the close", &out, XDP_REDIRECT);
		if (!pkt_parse(out.data, out.len, &pi) ||
		    !lab_in_deployment(lab_backend_by_dst(&pi),
				       dep_b(v->c.family)))
			fail_msg("flow %zu: new SYN after the close did not "
				 "go to B",
				 i);
		cases_run++;
	}
}

/* A RST from the backend side far outside the window (a stale or
 * forged one inside the backend network): forwarded, the flow stays;
 * and the client's own exact RST arriving on the backend side is
 * refused. Then the real closes, which must still close. */
static void test_other_side(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static struct conv flows[4];
	struct xdp_out out;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct conv *v = &flows[2 * i], *w = &flows[2 * i + 1];

		conv_init(v, &lab, &specs[i]);
		conv_open(v, dep_a(specs[i].family), "backend RST, far");
		conv_expect_client(v, F_ACK | F_PSH, 50, "backend RST, far");
		spoof_backend(v, lab_back_ifindex, F_RST | F_ACK,
			      v->bseq + 0x80000000u, &out);
		assert_verdict("backend's RST 2^31 away", &out, XDP_REDIRECT);
		assert_reason("backend's RST 2^31 away", &out,
			      SLOTLB_REASON_REPLY);
		conv_init(w, &lab, &specs[i]);
		conv_open(w, dep_a(specs[i].family), "client RST, back side");
		spoof_client(w, lab_back_ifindex, F_RST, w->cseq, &out);
		assert_verdict("client's RST from the backend side", &out,
			       XDP_DROP);
		assert_reason("client's RST from the backend side", &out,
			      SLOTLB_REASON_DROP_WRONG_SIDE);
	}
	expect_still_pinned(flows, 4, "RST from the other side");
	real_closes_close();
}

/* A SYN spoofed with the 5-tuple of a handshake under way (another ISN),
 * between the backend's SYN-ACK and the client's ACK: forwarded (the
 * backend decides), but the client's real ACK of the SYN-ACK must still
 * verify the flow and pin it in the established stage; left half-open
 * it could be evicted by a flood and lives on a 30 s idle timeout. */
static void test_spoofed_syn_in_handshake(void **state)
{
	const struct pkt_spec specs[] = {TCP4(), TCP6()};
	static struct conv flows[2];
	struct xdp_out out;
	char desc[128];
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct conv *v = &flows[i];

		conv_init(v, &lab, &specs[i]);
		snprintf(desc, sizeof(desc), "v%d spoofed SYN in a handshake",
			 specs[i].family == AF_INET ? 4 : 6);
		conv_syn(v, dep_a(specs[i].family), desc);
		spoof_client(v, lab_pub_ifindex, F_SYN, v->cseq + 0x1234567u,
			     &out);
		assert_verdict(desc, &out, XDP_REDIRECT);
		conv_expect_client(v, F_ACK, 0, desc);
		expect_entry_open(v, desc);
	}
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
	return lab_open(&lab, "spoof", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_spoof: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_client_side_out_of_window),
		T(test_backend_claims_from_public_side),
		T(test_other_side),
		T(test_spoofed_syn_in_handshake),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_spoof", tests, group_setup,
					   group_teardown);
}
