/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Issue 10, item 7. Fragments of UDP datagrams to an endpoint and from
 * a backend, IPv4 and IPv6: the first fragment takes the flow's way
 * (ports, L4 checksum), the later ones get the same address rewrite,
 * each compared byte for byte with the NATed datagram fragmented the
 * same way; a fragment whose first one was not seen is dropped and
 * counted, never passed un-NATed. And the reply-key collision: the same
 * client address:port to two endpoints whose deployments share a
 * backend would be one connection to that backend; the second is
 * refused and counted, and the first's replies keep their endpoint.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <unistd.h>
#include "lab.h"
#include "conv.h"

static struct lab lab;
static unsigned int cases_run;
static const struct slotlb_opts lab_opts = {
	.flow_capacity = 4096,
	.nexthop_ttl_ms = 20, /* MTU changes reach cached next hops fast */
};

#define PAYLOAD 1000
#define FIRST 512 /* IP payload bytes in the first fragment */

struct udp_flow {
	struct pkt_spec c; /* client -> endpoint */
	const struct lab_backend *be;
	uint32_t dep;
};

static struct pkt_spec udp_spec(int family)
{
	struct pkt_spec s = {
		.family = family,
		.proto = IPPROTO_UDP,
		.src = family == AF_INET ? CLIENT4 : CLIENT6,
		.dst = family == AF_INET ? VIP4 : VIP6,
		.dport = PORT_DNS,
		.payload = PAYLOAD,
	};

	s.seed = s.sport = lab_port();
	s.smac = lab_client_mac(family, s.src);
	s.dmac = lab_pub_mac;
	return s;
}

/* Send the datagram s as two fragments on ifindex; the outputs must be
 * want (a whole frame) fragmented the same way. */
static void send_fragments(const struct pkt_spec *s, int ifindex,
			   const struct pkt_spec *want, int verdict, int reason,
			   uint32_t id, const char *desc)
{
	uint8_t whole[PKT_MAX], frag[PKT_MAX], wframe[PKT_MAX], wfrag[PKT_MAX];
	size_t ip_payload, len, wlen;
	struct xdp_out out;
	char d[160];
	int k;

	len = pkt_build(whole, s);
	pkt_build(wframe, want);
	ip_payload = len - 14 - (s->family == AF_INET ? 20 : 40);
	for (k = 0; k < 2; k++) {
		size_t off = k ? FIRST : 0;
		size_t flen = k ? ip_payload - FIRST : FIRST;

		len = pkt_fragment(whole, off, flen, !k, id, frag);
		wlen = pkt_fragment(wframe, off, flen, !k, id, wfrag);
		lab_run(&lab, ifindex, frag, len, &out);
		snprintf(d, sizeof(d), "%s: %s fragment", desc,
			 k ? "second" : "first");
		assert_verdict(d, &out, verdict);
		assert_reason(d, &out, reason);
		if (out.len != wlen || memcmp(out.data, wfrag, wlen)) {
			pkt_diff(out.data, out.len, wfrag, wlen);
			fail_msg("%s: not the NATed datagram's fragment", d);
		}
		cases_run++;
	}
}

/* A UDP flow made by a small first datagram; its backend is learnt. */
static void udp_open(struct udp_flow *f, int family)
{
	struct pkt_spec s = udp_spec(family);
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	struct pkt_info pi;
	size_t len;

	f->dep = family == AF_INET ? DEP_A4 : DEP_A6;
	f->c = s;
	s.payload = 20;
	len = pkt_build(in, &s);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	if (!pkt_parse(out.data, out.len, &pi) ||
	    !(f->be = lab_backend_by_dst(&pi)))
		fail_msg("UDP first datagram not forwarded");
	if (!lab_in_deployment(f->be, f->dep))
		fail_msg("UDP flow on the wrong deployment");
}

/* The backend's answer to f, size payload. */
static struct pkt_spec answer_of(const struct udp_flow *f, uint16_t payload)
{
	struct pkt_spec r = {
		.family = f->c.family,
		.proto = IPPROTO_UDP,
		.src = f->be->addr,
		.sport = f->be->port,
		.dst = f->c.src,
		.dport = f->c.sport,
		.payload = payload,
		.seed = (uint16_t)(f->c.sport * 3),
		.smac = f->be->mac,
		.dmac = lab_back_mac,
	};

	return r;
}

/* A fragmented datagram to an endpoint: both fragments to the flow's
 * backend. */
static void test_fragments_to_endpoint(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct udp_flow f;
		struct pkt_spec want;

		udp_open(&f, families[i]);
		want = f.c;
		want.dst = f.be->addr;
		want.dport = f.be->port;
		want.ttl = 63;
		want.smac = lab_back_mac;
		want.dmac = f.be->mac;
		send_fragments(&f.c, lab_pub_ifindex, &want, XDP_REDIRECT,
			       SLOTLB_REASON_FORWARD, 0x1234 + (uint32_t)i,
			       families[i] == AF_INET ? "v4 to endpoint"
						      : "v6 to endpoint");
	}
}

/* A first datagram that is fragmented makes its flow too. */
static void test_fragmented_first_datagram(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	uint8_t whole[PKT_MAX], frag[PKT_MAX];
	struct xdp_out out;
	struct pkt_info pi;
	size_t i, len;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct pkt_spec s = udp_spec(families[i]), want;
		const struct lab_backend *be = NULL;

		/* The first fragment alone tells the backend. */
		len = pkt_build(whole, &s);
		len = pkt_fragment(whole, 0, FIRST, true, 0x777, frag);
		lab_run(&lab, lab_pub_ifindex, frag, len, &out);
		assert_verdict("fragmented first datagram", &out, XDP_REDIRECT);
		/* Destination and port of the first fragment's headers. */
		memset(&pi, 0, sizeof(pi));
		pi.family = families[i];
		if (families[i] == AF_INET) {
			memcpy(pi.dst, out.data + 14 + 16, 4);
			pi.dport = (uint16_t)(out.data[36] << 8 | out.data[37]);
		} else {
			memcpy(pi.dst, out.data + 14 + 24, 16);
			pi.dport = (uint16_t)(out.data[64] << 8 | out.data[65]);
		}
		be = lab_backend_by_dst(&pi);
		if (!be)
			fail_msg("fragmented first datagram: no backend");
		want = s;
		want.dst = be->addr;
		want.dport = be->port;
		want.ttl = 63;
		want.smac = lab_back_mac;
		want.dmac = be->mac;
		/* Both fragments again, as a retransmission would. */
		send_fragments(&s, lab_pub_ifindex, &want, XDP_REDIRECT,
			       SLOTLB_REASON_FORWARD, 0x777,
			       "fragmented first datagram, again");
	}
}

/* A fragmented answer from the backend: both fragments from the
 * endpoint (the second used to leave with the backend's address). */
static void test_fragments_from_backend(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct udp_flow f;
		struct pkt_spec r, want;

		udp_open(&f, families[i]);
		r = answer_of(&f, PAYLOAD);
		want = r;
		want.src = f.c.dst;
		want.sport = f.c.dport;
		want.ttl = 63;
		want.smac = lab_pub_mac;
		want.dmac = lab_client_mac(f.c.family, f.c.src);
		send_fragments(&r, lab_back_ifindex, &want, XDP_REDIRECT,
			       SLOTLB_REASON_REPLY, 0x4321 + (uint32_t)i,
			       families[i] == AF_INET ? "v4 from backend"
						      : "v6 from backend");
	}
}

static void set_mtu(const char *dev, int mtu)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "ip link set %s mtu %d", dev, mtu);
	if (system(cmd))
		fail_msg("%s failed", cmd);
	usleep(60000); /* cached next hops expire */
}

/* An IPv4 datagram fragmented without DF whose first fragment does not
 * fit the backend link: it is rewritten and handed to the kernel to
 * fragment again (pass_frag_needed); the later one, which fits, must get
 * the same rewrite and go to the same backend, not be dropped as an
 * orphan. (MTU 1280: below it the kernel takes IPv6 off the link.) */
static void test_fragments_too_big_not_df(void **state)
{
	uint8_t whole[PKT_MAX], frag[PKT_MAX], wframe[PKT_MAX], wfrag[PKT_MAX];
	const char *d = "v4 to endpoint, first fragment too big";
	struct udp_flow f;
	struct pkt_spec s, want;
	struct xdp_out out;
	size_t len, wlen, ip;
	const size_t first = 1400;

	(void)state;
	udp_open(&f, AF_INET);
	set_mtu("back", 1280);
	s = f.c;
	s.payload = 1800;
	want = s;
	want.dst = f.be->addr;
	want.dport = f.be->port;
	len = pkt_build(whole, &s);
	pkt_build(wframe, &want);
	ip = len - 14 - 20;
	/* The first: rewritten, to the kernel, TTL and MACs as they came. */
	len = pkt_fragment(whole, 0, first, true, 0x5151, frag);
	wlen = pkt_fragment(wframe, 0, first, true, 0x5151, wfrag);
	lab_run(&lab, lab_pub_ifindex, frag, len, &out);
	assert_verdict(d, &out, XDP_PASS);
	assert_reason(d, &out, SLOTLB_REASON_PASS_FRAG_NEEDED);
	if (out.len != wlen || memcmp(out.data, wfrag, wlen)) {
		pkt_diff(out.data, out.len, wfrag, wlen);
		fail_msg("%s: not the NATed datagram's fragment", d);
	}
	/* The second fits: forwarded to the same backend. */
	d = "v4 to endpoint, second fragment after a too big first";
	want.ttl = 63;
	want.smac = lab_back_mac;
	want.dmac = f.be->mac;
	pkt_build(wframe, &want);
	len = pkt_fragment(whole, first, ip - first, false, 0x5151, frag);
	wlen = pkt_fragment(wframe, first, ip - first, false, 0x5151, wfrag);
	lab_run(&lab, lab_pub_ifindex, frag, len, &out);
	assert_verdict(d, &out, XDP_REDIRECT);
	assert_reason(d, &out, SLOTLB_REASON_FORWARD);
	if (out.len != wlen || memcmp(out.data, wfrag, wlen)) {
		pkt_diff(out.data, out.len, wfrag, wlen);
		fail_msg("%s: not the NATed datagram's fragment", d);
	}
	cases_run += 2;
}

static int restore_mtu(void **state)
{
	(void)state;
	set_mtu("back", 1500);
	return 0;
}

/* A later fragment of a backend's datagram arriving on the public side
 * (an outsider who spoofs the backend's address and guesses the IP id):
 * "a flow's reply, spoofed from the public side: never taken as a
 * reply" (docs/datapath.md, threat model). It must not be rewritten to
 * come from the endpoint and sent to the client. */
static void test_later_fragment_from_public_side(void **state)
{
	uint8_t whole[PKT_MAX], frag[PKT_MAX];
	const int families[] = {AF_INET, AF_INET6};
	struct xdp_out out;
	size_t i, len, ip;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct udp_flow f;
		struct pkt_spec r;
		char d[128];

		snprintf(d, sizeof(d),
			 "v%d backend's later fragment on the public side",
			 families[i] == AF_INET ? 4 : 6);
		udp_open(&f, families[i]);
		r = answer_of(&f, PAYLOAD);
		len = pkt_build(whole, &r);
		ip = len - 14 - (families[i] == AF_INET ? 20 : 40);
		/* The backend's first fragment, on its side: tracked. */
		len = pkt_fragment(whole, 0, FIRST, true, 0x6161, frag);
		lab_run(&lab, lab_back_ifindex, frag, len, &out);
		assert_verdict(d, &out, XDP_REDIRECT);
		/* A later one claiming the same datagram, from outside. */
		len = pkt_fragment(whole, FIRST, ip - FIRST, false, 0x6161,
				   frag);
		frag[6] ^= 0x02; /* another sender's MAC */
		lab_run(&lab, lab_pub_ifindex, frag, len, &out);
		if (out.verdict == XDP_REDIRECT || out.verdict == XDP_TX)
			fail_msg("%s: forwarded to the client as the "
				 "endpoint's (%s, %s)",
				 d, lab_verdict_name(out.verdict),
				 out.reason < 0
					 ? "?"
					 : slotlb_reason_name(out.reason));
		cases_run += 2;
	}
}

/* A later fragment whose first one was not seen: dropped, counted,
 * both ways; never passed with a backend's address on it. */
static void test_orphan_fragments_dropped(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	uint8_t whole[PKT_MAX], frag[PKT_MAX];
	struct xdp_out out;
	size_t i, len, ip;

	(void)state;
	for (i = 0; i < 2; i++) {
		struct udp_flow f;
		struct pkt_spec r;

		udp_open(&f, families[i]);
		len = pkt_build(whole, &f.c);
		ip = len - 14 - (families[i] == AF_INET ? 20 : 40);
		len = pkt_fragment(whole, FIRST, ip - FIRST, false, 0x999,
				   frag);
		lab_run(&lab, lab_pub_ifindex, frag, len, &out);
		assert_verdict("second fragment first, to endpoint", &out,
			       XDP_DROP);
		assert_reason("second fragment first, to endpoint", &out,
			      SLOTLB_REASON_DROP_FRAGMENT);
		r = answer_of(&f, PAYLOAD);
		len = pkt_build(whole, &r);
		len = pkt_fragment(whole, FIRST, ip - FIRST, false, 0x998,
				   frag);
		lab_run(&lab, lab_back_ifindex, frag, len, &out);
		assert_verdict("second fragment first, from backend", &out,
			       XDP_DROP);
		assert_reason("second fragment first, from backend", &out,
			      SLOTLB_REASON_DROP_FRAGMENT);
		cases_run += 2;
	}
}

/* Deployment 100 + f: one backend, the first of A4 (or A6). */
static uint32_t shared_deployment(int family)
{
	const struct lab_backend *be =
		lab_deployment_backend(family == AF_INET ? DEP_A4 : DEP_A6, 0);
	struct slotlb_deployment_info info = {0};
	uint32_t dep = family == AF_INET ? 100 : 101, id = be->id, w = 1;

	assert_int_equal(
		slotlb_deployment_publish(lab.lb, dep, &info, &id, &w, 1), 0);
	return dep;
}

/* Route slot 0 of app and slot 1 (the staging endpoint) to dep. */
static void route_both(uint32_t app, uint32_t dep)
{
	struct slotlb_routing r = {0};

	r.deployment[0] = dep;
	r.deployment[1] = dep;
	r.generation = 7000 + dep;
	assert_int_equal(slotlb_routing_set(lab.lb, app, &r), 0);
}

static void wipe_half_open(void)
{
	struct slotlb_flow_key key, next;
	char path[160];
	int fd;

	snprintf(path, sizeof(path), "%s/flows_new", lab.pin_root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		assert_int_equal(bpf_map_delete_elem(fd, &key), 0);
	}
	close(fd);
}

/* The first flow's half-open entry is gone (evicted): the second SYN
 * passes, but the backend, whose connection is the first's, answers it
 * with a challenge ACK for the first, which reaches the first client
 * from its endpoint; the second's blind ACK promotes nothing. Only the
 * backend's SYN-ACK (it has let the first connection go) hands the
 * reply 5-tuple to the second flow. */
static void collision_after_eviction(struct conv *first,
				     const struct pkt_spec *stag)
{
	struct conv second;
	struct xdp_out out;

	wipe_half_open();
	conv_init(&second, &lab, stag);
	second.c.sport = first->c.sport;
	conv_client(&second, F_SYN, 0, &out);
	assert_verdict("collision, evicted: second SYN", &out, XDP_REDIRECT);
	conv_expect_backend(first, F_ACK, 0,
			    "collision, evicted: challenge ACK to the first");
	conv_client(&second, F_ACK, 0, &out);
	assert_verdict("collision, evicted: second's blind ACK", &out,
		       XDP_REDIRECT);
	conv_expect_backend(first, F_ACK | F_PSH, 30,
			    "collision, evicted: the first flow's replies");
	conv_expect_client(first, F_ACK, 0,
			   "collision, evicted: the first flow's client");
	/* The backend lets the first go and accepts the second. */
	second.be = first->be;
	conv_expect_backend(&second, F_SYN | F_ACK, 0,
			    "collision, evicted: SYN-ACK for the second");
	conv_expect_client(&second, F_ACK, 0,
			   "collision, evicted: second completes");
	conv_expect_backend(&second, F_ACK | F_PSH, 20,
			    "collision, evicted: replies now the second's");
	cases_run += 8;
}

/* The first flow ended (FINs both ways, acknowledged): its promoted
 * half-open entry is still there, but the same client port to the other
 * endpoint is a new flow, not a collision (a swap puts production's old
 * backends in staging, and clients reuse ports). */
static void collision_after_close(const struct pkt_spec *prod,
				  const struct pkt_spec *stag, uint32_t dep)
{
	struct conv done, again;

	conv_init(&done, &lab, prod);
	conv_open(&done, dep, "collision, closed: first flow");
	conv_expect_client(&done, F_ACK | F_FIN, 0,
			   "collision, closed: client's FIN");
	conv_expect_backend(&done, F_ACK | F_FIN, 0,
			    "collision, closed: backend's FIN");
	conv_expect_client(&done, F_ACK, 0, "collision, closed: last ACK");
	conv_init(&again, &lab, stag);
	again.c.sport = done.c.sport;
	conv_syn(&again, dep, "collision, closed: the port again, staging");
	if (again.be != done.be)
		fail_msg("collision, closed: the port again went to %s, not %s",
			 again.be->addr, done.be->addr);
	conv_expect_client(&again, F_ACK, 0,
			   "collision, closed: the port again completes");
	cases_run += 7;
}

/* Item 7: client address:port to two endpoints, one backend. */
static void test_reply_key_collision(void **state)
{
	const int families[] = {AF_INET, AF_INET6};
	struct slotlb_endpoint_key key = {0};
	struct slotlb_endpoint ep = {
		.app_id = APP_WEB6, .slot = 1, .endpoint_id = 20};
	uint8_t a[16];
	size_t i;

	(void)state;
	/* web6 gets a staging endpoint, like web4's :8443. */
	pkt_addr(AF_INET6, VIP6, a);
	memcpy(key.addr, a, 16);
	key.port = htons(PORT_STAGING);
	key.proto = IPPROTO_TCP;
	key.family = AF_INET6;
	assert_int_equal(slotlb_endpoint_set(lab.lb, &key, &ep), 0);
	for (i = 0; i < 2; i++) {
		int f = families[i];
		uint32_t dep = shared_deployment(f);
		struct pkt_spec prod = {.family = f,
					.proto = IPPROTO_TCP,
					.src = f == AF_INET ? CLIENT4 : CLIENT6,
					.dst = f == AF_INET ? VIP4 : VIP6,
					.dport = PORT_HTTP};
		struct pkt_spec stag = prod;
		struct conv first, second, half, half2;
		struct xdp_out out;

		stag.dport = PORT_STAGING;
		route_both(f == AF_INET ? APP_WEB4 : APP_WEB6, dep);
		/* Established on the shared backend... */
		conv_init(&first, &lab, &prod);
		/* (the shared backend is also A's first) */
		conv_open(&first, f == AF_INET ? DEP_A4 : DEP_A6,
			  "collision: first flow");
		if (first.be !=
		    lab_deployment_backend(f == AF_INET ? DEP_A4 : DEP_A6, 0))
			fail_msg("collision: not on the shared backend "
				 "(deployment %u)",
				 dep);
		/* ...the same client port to the other endpoint. */
		conv_init(&second, &lab, &stag);
		second.c.sport = first.c.sport;
		conv_client(&second, F_SYN, 0, &out);
		assert_verdict("collision: second flow's SYN", &out, XDP_DROP);
		assert_reason("collision: second flow's SYN", &out,
			      SLOTLB_REASON_DROP_REPLY_COLLISION);
		/* The first flow's replies keep its endpoint. */
		conv_expect_backend(&first, F_ACK | F_PSH, 77,
				    "collision: first flow's reply");
		conv_expect_client(&first, F_ACK, 0,
				   "collision: first flow's client");
		/* Two half-open flows collide the same way. */
		conv_init(&half, &lab, &prod);
		conv_client(&half, F_SYN, 0, &out);
		assert_verdict("collision: half-open first", &out,
			       XDP_REDIRECT);
		conv_init(&half2, &lab, &stag);
		half2.c.sport = half.c.sport;
		conv_client(&half2, F_SYN, 0, &out);
		assert_verdict("collision: half-open second", &out, XDP_DROP);
		assert_reason("collision: half-open second", &out,
			      SLOTLB_REASON_DROP_REPLY_COLLISION);
		half.be = first.be;
		conv_expect_backend(&half, F_SYN | F_ACK, 0,
				    "collision: half-open first's SYN-ACK");
		collision_after_eviction(&first, &stag);
		collision_after_close(&prod, &stag,
				      f == AF_INET ? DEP_A4 : DEP_A6);
		cases_run += 4;
	}
	assert_int_equal(slotlb_endpoint_delete(lab.lb, &key), 0);
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
	return lab_open(&lab, "frag", &lab_opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_frag: %u packet cases run\n", cases_run);
	return 0;
}

#define T(fn) cmocka_unit_test_setup(fn, reset_routing)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fragments_to_endpoint),
		T(test_fragmented_first_datagram),
		T(test_fragments_from_backend),
		T(test_orphan_fragments_dropped),
		T(test_later_fragment_from_public_side),
		cmocka_unit_test_setup_teardown(test_fragments_too_big_not_df,
						reset_routing, restore_mtu),
		T(test_reply_key_collision),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_frag", tests, group_setup,
					   group_teardown);
}
