/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP (issue 10, item 6), IPv4 and IPv6, every output compared byte for
 * byte with a frame built independently (checksums computed in full):
 * - a router's "fragmentation needed" / "packet too big" or unreachable
 *   about a reply the balancer sent (endpoint -> client) goes to the
 *   flow's backend, about the backend's own packet (backend -> client);
 * - a backend's unreachable about a client's packet (client -> backend)
 *   goes to the client, about its packet to the endpoint, from the
 *   endpoint's address (no backend address leaks), for established and
 *   half-open flows;
 * - an error about no flow to an endpoint address, or from the wrong
 *   side, is dropped;
 * - a packet of a flow too big for the next hop (DF, or IPv6) is
 *   answered with "fragmentation needed" / "packet too big" from the
 *   endpoint's address, quoting it as it came; without DF it is handed
 *   to the kernel to fragment;
 * - an echo request to an endpoint address is answered, to any other
 *   address passed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
	.nexthop_ttl_ms = 20, /* MTU changes reach cached next hops fast */
};

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

static void expect_frame(const char *desc, const struct xdp_out *out,
			 const uint8_t *want, size_t len)
{
	if (out->len != len || memcmp(out->data, want, len)) {
		pkt_diff(out->data, out->len, want, len);
		fail_msg("%s: output differs from the expected frame", desc);
	}
	assert_checksums(desc, out->data, out->len);
	cases_run++;
}

/* The frame the backend sends for the conversation's next segment, as
 * the balancer forwards it (from the endpoint, TTL 63). */
static size_t reply_as_sent(struct conv *v, uint8_t *buf, uint16_t payload)
{
	size_t len = conv_backend_frame(v, buf, F_ACK | F_PSH, payload);
	struct pkt_spec r = {0};

	r.family = v->c.family;
	r.proto = IPPROTO_TCP;
	r.src = v->c.dst;
	r.sport = v->c.dport;
	r.dst = v->c.src;
	r.dport = v->c.sport;
	r.flags = F_ACK | F_PSH;
	r.payload = payload;
	r.seed = (uint16_t)(v->c.sport + 1);
	r.seq = SEQ(v->bseq);
	r.ack = SEQ(v->cseq);
	r.ttl = 63;
	r.smac = lab_pub_mac;
	r.dmac = lab_client_mac(r.family, r.dst);
	(void)len;
	return pkt_build(buf, &r);
}

/* A router's error (type, code, mtu) about sent (sent_len bytes), a
 * frame of v's flow as the balancer sent it to the client, must reach
 * v's backend quoting inner, the backend's own packet as it left (TTL
 * 63), every byte and checksum as built here. */
static void expect_error_to_backend(const char *desc, const struct conv *v,
				    uint8_t type, uint8_t code, uint32_t mtu,
				    const uint8_t *sent, size_t sent_len,
				    const uint8_t *inner)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	int f = v->c.family;
	const char *router = f == AF_INET ? ROUTER4 : ROUTER6;
	size_t q = pkt_icmp_quote(f, sent_len), len, wlen;
	struct xdp_out out;

	len = pkt_build_icmp_error(in, f, router, v->c.dst, type, code, mtu,
				   sent, q, lab_client_mac(f, v->c.src),
				   lab_pub_mac);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_verdict(desc, &out, XDP_REDIRECT);
	assert_reason(desc, &out, SLOTLB_REASON_FORWARD_ICMP);
	wlen = pkt_build_icmp_error(want, f, router, v->be->addr, type, code,
				    mtu, inner, q, lab_back_mac, v->be->mac);
	pkt_set_ttl(want, wlen, 63);
	expect_frame(desc, &out, want, wlen);
}

/* Item 6, public side: "too big" or unreachable from a router about a
 * reply goes to the backend, quoting the backend's own packet. */
static void test_error_about_reply_goes_to_backend(void **state)
{
	static const struct {
		int family;
		uint8_t type, code;
		uint32_t mtu;
	} rows[] = {
		{AF_INET, 3, 4, 1400}, /* fragmentation needed */
		{AF_INET, 3, 1, 0}, /* host unreachable */
		{AF_INET6, 2, 0, 1400}, /* packet too big */
		{AF_INET6, 1, 3, 0}, /* address unreachable */
	};
	uint8_t sent[PKT_MAX], inner[PKT_MAX];
	struct pkt_spec b = {0};
	size_t i, len;
	char desc[128];

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int f = rows[i].family;
		struct conv v;

		snprintf(desc, sizeof(desc),
			 "v%d type %u code %u about a reply",
			 f == AF_INET ? 4 : 6, rows[i].type, rows[i].code);
		conv_init(&v, &lab, f == AF_INET ? &tcp4 : &tcp6);
		conv_open(&v, f == AF_INET ? DEP_A4 : DEP_A6, desc);
		/* The reply as it left toward the client: 1000 bytes. */
		len = reply_as_sent(&v, sent, 1000);
		/* What the backend sent, as it was quoted (TTL 63). */
		b.family = f;
		b.proto = IPPROTO_TCP;
		b.src = v.be->addr;
		b.sport = v.be->port;
		b.dst = v.c.src;
		b.dport = v.c.sport;
		b.flags = F_ACK | F_PSH;
		b.payload = 1000;
		b.seed = (uint16_t)(v.c.sport + 1);
		b.seq = SEQ(v.bseq);
		b.ack = SEQ(v.cseq);
		b.ttl = 63;
		pkt_build(inner, &b);
		expect_error_to_backend(desc, &v, rows[i].type, rows[i].code,
					rows[i].mtu, sent, len, inner);
	}
}

/* The same about a half-open flow's SYN-ACK, also when the deployment's
 * ring was republished between the SYN and the error (the backend
 * drained or marked down): the error reaches the backend that
 * answered, found through the ring before the change as the
 * handshake's last ACK finds it. Before, that one was dropped (only
 * the current rings were tried). */
static void test_error_about_handshake(void **state)
{
	static const struct {
		int family;
		bool republish;
	} rows[] = {
		{AF_INET, false},
		{AF_INET, true},
		{AF_INET6, false},
		{AF_INET6, true},
	};
	uint8_t sent[PKT_MAX], inner[PKT_MAX];
	struct xdp_out out;
	size_t i;
	char desc[128];

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int f = rows[i].family;
		uint32_t dep = f == AF_INET ? DEP_A4 : DEP_A6;
		struct conv v;

		snprintf(desc, sizeof(desc),
			 "v%d unreachable about a SYN-ACK%s",
			 f == AF_INET ? 4 : 6,
			 rows[i].republish ? " across a republish" : "");
		conv_init(&v, &lab, f == AF_INET ? &tcp4 : &tcp6);
		conv_syn(&v, dep, desc);
		if (rows[i].republish)
			lab_republish(&lab, dep, v.be->id);
		/* The backend sends its SYN-ACK again; as it left toward
		 * the client it is what the router quotes. */
		v.bseq--;
		conv_backend(&v, F_SYN | F_ACK, 0, &out);
		assert_reason(desc, &out, SLOTLB_REASON_REPLY);
		memcpy(sent, out.data, out.len);
		/* The backend's own SYN-ACK, as it left (TTL 63). */
		v.bseq--;
		pkt_set_ttl(inner,
			    conv_backend_frame(&v, inner, F_SYN | F_ACK, 0),
			    63);
		expect_error_to_backend(desc, &v, f == AF_INET ? 3 : 1,
					f == AF_INET ? 1 : 3, 0, sent, out.len,
					inner);
		if (rows[i].republish)
			lab_republish(&lab, dep, 0);
	}
}

/* Item 6, backend side: a backend's unreachable about a client's packet
 * goes to the client from the endpoint, quoting the client's packet. */
static void test_error_about_request_goes_to_client(void **state)
{
	uint8_t fwd[PKT_MAX], in[PKT_MAX], inner[PKT_MAX], want[PKT_MAX];
	const int families[] = {AF_INET, AF_INET6};
	struct pkt_spec c;
	struct xdp_out out;
	size_t i, len, q, wlen;
	char desc[128];

	(void)state;
	for (i = 0; i < 2; i++) {
		int f = families[i];
		uint8_t type = f == AF_INET ? 3 : 1,
			code = f == AF_INET ? 3 : 4;
		struct conv v;

		snprintf(desc, sizeof(desc),
			 "v%d port unreachable about a request",
			 f == AF_INET ? 4 : 6);
		conv_init(&v, &lab, f == AF_INET ? &tcp4 : &tcp6);
		conv_open(&v, f == AF_INET ? DEP_A4 : DEP_A6, desc);
		/* The client's segment as the backend got it. */
		len = conv_client_frame(&v, inner, F_ACK | F_PSH, 300);
		lab_run(&lab, lab_pub_ifindex, inner, len, &out);
		memcpy(fwd, out.data, out.len);
		q = pkt_icmp_quote(f, out.len);
		len = pkt_build_icmp_error(in, f, v.be->addr, v.c.src, type,
					   code, 0, fwd, q, v.be->mac,
					   lab_back_mac);
		lab_run(&lab, lab_back_ifindex, in, len, &out);
		assert_verdict(desc, &out, XDP_REDIRECT);
		assert_reason(desc, &out, SLOTLB_REASON_REPLY_ICMP);
		/* The client's packet as it sent it, TTL 63 as quoted. */
		c = v.c;
		c.flags = F_ACK | F_PSH;
		c.payload = 300;
		c.seq = SEQ(v.cseq);
		c.ack = SEQ(v.bseq);
		c.ttl = 63;
		pkt_build(inner, &c);
		wlen = pkt_build_icmp_error(want, f, v.c.dst, v.c.src, type,
					    code, 0, inner, q, lab_pub_mac,
					    lab_client_mac(f, v.c.src));
		pkt_set_ttl(want, wlen, 63);
		expect_frame(desc, &out, want, wlen);
	}
}

/* The same for a half-open UDP flow: its first datagram met a closed
 * port. */
static void test_error_about_new_udp_flow(void **state)
{
	uint8_t in[PKT_MAX], fwd[PKT_MAX], want[PKT_MAX], orig[PKT_MAX];
	struct pkt_spec u = {.family = AF_INET,
			     .proto = IPPROTO_UDP,
			     .src = CLIENT4,
			     .dst = VIP4,
			     .dport = PORT_DNS,
			     .payload = 40};
	const struct lab_backend *be;
	struct xdp_out out;
	struct pkt_info pi;
	size_t len, q, wlen;

	(void)state;
	u.seed = u.sport = lab_port();
	u.smac = lab_client_mac(AF_INET, CLIENT4);
	u.dmac = lab_pub_mac;
	len = pkt_build(orig, &u);
	lab_run(&lab, lab_pub_ifindex, orig, len, &out);
	if (!pkt_parse(out.data, out.len, &pi) ||
	    !(be = lab_backend_by_dst(&pi)))
		fail_msg("UDP datagram not forwarded");
	memcpy(fwd, out.data, out.len);
	q = pkt_icmp_quote(AF_INET, out.len);
	len = pkt_build_icmp_error(in, AF_INET, be->addr, CLIENT4, 3, 3, 0, fwd,
				   q, be->mac, lab_back_mac);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_verdict("port unreachable, half-open UDP", &out, XDP_REDIRECT);
	assert_reason("port unreachable, half-open UDP", &out,
		      SLOTLB_REASON_REPLY_ICMP);
	/* The client's datagram as it sent it, TTL 63 as quoted. */
	u.ttl = 63;
	pkt_build(orig, &u);
	wlen = pkt_build_icmp_error(want, AF_INET, VIP4, CLIENT4, 3, 3, 0, orig,
				    q, lab_pub_mac,
				    lab_client_mac(AF_INET, CLIENT4));
	pkt_set_ttl(want, wlen, 63);
	expect_frame("port unreachable, half-open UDP", &out, want, wlen);
}

/* Errors about no flow to an endpoint address, and errors about a
 * reply arriving on the backend side: dropped, never forwarded. */
static void test_unmatched_errors_dropped(void **state)
{
	uint8_t sent[PKT_MAX], in[PKT_MAX];
	struct xdp_out out;
	size_t len, q;
	struct conv v;

	(void)state;
	conv_init(&v, &lab, &tcp4);
	/* A reply of a flow that was never opened. */
	v.be = lab_deployment_backend(DEP_A4, 0);
	len = reply_as_sent(&v, sent, 100);
	q = pkt_icmp_quote(AF_INET, len);
	len = pkt_build_icmp_error(in, AF_INET, ROUTER4, VIP4, 3, 4, 1200, sent,
				   q, lab_client_mac(AF_INET, CLIENT4),
				   lab_pub_mac);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_verdict("frag needed about no flow", &out, XDP_DROP);
	assert_reason("frag needed about no flow", &out,
		      SLOTLB_REASON_DROP_ICMP);
	/* A real flow's reply, but the error comes from the backend side. */
	conv_init(&v, &lab, &tcp4);
	conv_open(&v, DEP_A4, "error from the wrong side");
	len = reply_as_sent(&v, sent, 100);
	len = pkt_build_icmp_error(in, AF_INET, ROUTER4, VIP4, 3, 4, 1200, sent,
				   pkt_icmp_quote(AF_INET, len), v.be->mac,
				   lab_back_mac);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_verdict("frag needed about a reply, from the backend side", &out,
		       XDP_DROP);
	assert_reason("frag needed about a reply, from the backend side", &out,
		      SLOTLB_REASON_DROP_ICMP);
	cases_run += 2;
}

static void set_mtu(const char *dev, int mtu)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "ip link set %s mtu %d", dev, mtu);
	if (system(cmd))
		fail_msg("%s failed", cmd);
	/* Next hops are cached for nexthop_ttl_ms. */
	usleep(60000);
}

/* The balancer's own oversized packets: too big for the backend link
 * (forward) or the client link (reply). */
static void test_too_big_answered_from_endpoint(void **state)
{
	uint8_t in[PKT_MAX], want[PKT_MAX];
	const int families[] = {AF_INET, AF_INET6};
	struct xdp_out out;
	size_t i, len, wlen;
	char desc[128];

	(void)state;
	set_mtu("back", 1280);
	set_mtu("pub", 1280);
	for (i = 0; i < 2; i++) {
		int f = families[i];
		uint8_t type = f == AF_INET ? 3 : 2,
			code = f == AF_INET ? 4 : 0;
		struct conv v;

		snprintf(desc, sizeof(desc), "v%d request too big",
			 f == AF_INET ? 4 : 6);
		conv_init(&v, &lab, f == AF_INET ? &tcp4 : &tcp6);
		conv_open(&v, f == AF_INET ? DEP_A4 : DEP_A6, desc);
		len = conv_client_frame(&v, in, F_ACK | F_PSH, 1300);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict(desc, &out, XDP_TX);
		assert_reason(desc, &out, SLOTLB_REASON_TX_FRAG_NEEDED);
		wlen = pkt_build_icmp_error(want, f, v.c.dst, v.c.src, type,
					    code, 1280, in,
					    pkt_icmp_quote(f, len), lab_pub_mac,
					    lab_client_mac(f, v.c.src));
		expect_frame(desc, &out, want, wlen);

		snprintf(desc, sizeof(desc), "v%d reply too big",
			 f == AF_INET ? 4 : 6);
		len = conv_backend_frame(&v, in, F_ACK | F_PSH, 1300);
		lab_run(&lab, lab_back_ifindex, in, len, &out);
		assert_verdict(desc, &out, XDP_TX);
		assert_reason(desc, &out, SLOTLB_REASON_TX_FRAG_NEEDED);
		wlen = pkt_build_icmp_error(
			want, f, v.c.dst, v.be->addr, type, code, 1280, in,
			pkt_icmp_quote(f, len), lab_back_mac, v.be->mac);
		expect_frame(desc, &out, want, wlen);
	}
	/* IPv4 without DF: the kernel fragments the rewritten packet. */
	{
		struct pkt_spec s;
		struct conv v;

		conv_init(&v, &lab, &tcp4);
		conv_open(&v, DEP_A4, "not DF");
		s = v.c;
		s.flags = F_ACK | F_PSH;
		s.payload = 1300;
		s.seq = SEQ(v.cseq);
		s.ack = SEQ(v.bseq);
		s.smac = lab_client_mac(AF_INET, CLIENT4);
		s.dmac = lab_pub_mac;
		len = pkt_build(in, &s);
		in[14 + 6] = 0; /* clear DF (pkt_build sets it) */
		pkt_fix_checksums(in, len);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict("too big, not DF", &out, XDP_PASS);
		assert_reason("too big, not DF", &out,
			      SLOTLB_REASON_PASS_FRAG_NEEDED);
		s.dst = v.be->addr;
		s.dport = v.be->port;
		pkt_build(want, &s);
		want[14 + 6] = 0;
		pkt_fix_checksums(want, len);
		expect_frame("too big, not DF: rewritten for the kernel", &out,
			     want, len);
	}
	set_mtu("back", 1500);
	set_mtu("pub", 1500);
}

/* A route with a smaller MTU than its device's (a tunnel, an overlay,
 * `ip route ... mtu lock 1280`): bpf_fib_lookup answers "fragmentation
 * needed" with the route's MTU when it looks, but a cached next hop
 * keeps the device's MTU. A DF packet too big for the route must get
 * "fragmentation needed" whether or not the next hop was cached a
 * moment before by a small packet. */
static void test_route_mtu_with_cached_next_hop(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	char cmd[160];
	struct conv v;
	size_t len;

	(void)state;
	conv_init(&v, &lab, &tcp4);
	conv_open(&v, DEP_A4, "route MTU");
	snprintf(cmd, sizeof(cmd), "ip route add %s/32 dev back mtu lock 1280",
		 v.be->addr);
	if (system(cmd))
		fail_msg("%s failed", cmd);
	usleep(60000); /* the cached next hop expires */
	/* A small segment looks the next hop up again and caches it. */
	conv_expect_client(&v, F_ACK | F_PSH, 100, "route MTU: small");
	/* At once a segment too big for the route, DF. */
	len = conv_client_frame(&v, in, F_ACK | F_PSH, 1300);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	snprintf(cmd, sizeof(cmd), "ip route del %s/32 dev back", v.be->addr);
	if (system(cmd))
		fail_msg("%s failed", cmd);
	assert_reason("route MTU 1280: 1340-byte DF segment, next hop cached",
		      &out, SLOTLB_REASON_TX_FRAG_NEEDED);
	cases_run += 2;
}

/* Echo: answered at an endpoint address, passed elsewhere. */
static void test_echo(void **state)
{
	static const struct {
		int family;
		const char *src, *dst;
		bool answered;
	} rows[] = {
		{AF_INET, CLIENT4, VIP4, true},
		{AF_INET, CLIENT4, VIP4_DRAIN, true},
		{AF_INET6, CLIENT6, VIP6, true},
		{AF_INET, CLIENT4, NOT_VIP4, false},
		{AF_INET6, CLIENT6, NOT_VIP6, false},
	};
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct pkt_spec s = {
			.family = rows[i].family,
			.proto = rows[i].family == AF_INET ? IPPROTO_ICMP
							   : IPPROTO_ICMPV6,
			.src = rows[i].src,
			.dst = rows[i].dst,
			.payload = 56,
			.seed = (uint16_t)(4242 + i),
			.ttl = 57,
		};

		s.smac = lab_client_mac(s.family, s.src);
		s.dmac = lab_pub_mac;
		len = pkt_build(in, &s);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		if (!rows[i].answered) {
			assert_untouched("echo to another address", &out, in,
					 len, XDP_PASS,
					 SLOTLB_REASON_PASS_NOT_ENDPOINT);
			cases_run++;
			continue;
		}
		assert_verdict("echo to an endpoint address", &out, XDP_TX);
		assert_reason("echo to an endpoint address", &out,
			      SLOTLB_REASON_TX_ECHO);
		/* The same message back: addresses swapped, type echo
		 * reply, TTL 64, checksums from scratch. */
		{
			struct pkt_spec r = s;

			r.src = s.dst;
			r.dst = s.src;
			r.ttl = 64;
			r.smac = lab_pub_mac;
			r.dmac = lab_client_mac(s.family, s.src);
			pkt_build(want, &r);
			want[s.family == AF_INET ? 34 : 54] =
				s.family == AF_INET ? 0 : 129;
			pkt_fix_checksums(want, len);
		}
		expect_frame("echo reply", &out, want, len);
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
	return lab_open(&lab, "icmp", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_icmp: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_error_about_reply_goes_to_backend),
		T(test_error_about_handshake),
		T(test_error_about_request_goes_to_client),
		T(test_error_about_new_udp_flow),
		T(test_unmatched_errors_dropped),
		T(test_too_big_answered_from_endpoint),
		T(test_route_mtu_with_cached_next_hop),
		T(test_echo),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_icmp", tests, group_setup,
					   group_teardown);
}
