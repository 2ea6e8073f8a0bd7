/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Forwarding through BPF_PROG_TEST_RUN: new flows are rewritten toward a
 * backend of the slot's deployment, established flows keep their backend
 * after the slot's routing element is switched, every slot's endpoints lead
 * to that slot's own deployment, replies are rewritten back
 * to the endpoint, and the per endpoint / deployment / backend counters
 * match what was sent. Every output frame is compared byte for byte with
 * one built independently, and its checksums are recomputed in full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"

static struct lab lab;
static unsigned int cases_run;

enum side { PUB, BACK };

static int ifindex_of(enum side side)
{
	return side == PUB ? lab_pub_ifindex : lab_back_ifindex;
}

/* Send s as a client would: client MAC -> MAC of the ingress interface. */
static size_t client_frame(uint8_t *buf, struct pkt_spec *s, enum side side)
{
	s->smac = lab_client_mac(s->family, s->src);
	s->dmac = side == PUB ? lab_pub_mac : lab_back_mac;
	return pkt_build(buf, s);
}

/* Send s as backend be would, to the client. */
static size_t backend_frame(uint8_t *buf, struct pkt_spec *s,
			    const struct lab_backend *be)
{
	s->smac = be->mac;
	s->dmac = lab_back_mac;
	return pkt_build(buf, s);
}

#define TCP4(...)                                                        \
	{                                                                \
		.family = AF_INET, .proto = IPPROTO_TCP, .src = CLIENT4, \
		.dst = VIP4, .dport = PORT_HTTP, __VA_ARGS__             \
	}
#define UDP4(...)                                                        \
	{                                                                \
		.family = AF_INET, .proto = IPPROTO_UDP, .src = CLIENT4, \
		.dst = VIP4, .dport = PORT_DNS, __VA_ARGS__              \
	}
#define TCP6(...)                                                         \
	{                                                                 \
		.family = AF_INET6, .proto = IPPROTO_TCP, .src = CLIENT6, \
		.dst = VIP6, .dport = PORT_HTTP, __VA_ARGS__              \
	}
#define UDP6(...)                                                         \
	{                                                                 \
		.family = AF_INET6, .proto = IPPROTO_UDP, .src = CLIENT6, \
		.dst = VIP6, .dport = PORT_DNS, __VA_ARGS__               \
	}

struct forward_case {
	const char *desc;
	struct pkt_spec in; /* sport is given per run */
	enum side ingress;
	uint32_t dep; /* deployment the backend must belong to */
};

static const struct forward_case forward_cases[] = {
	{"v4 TCP SYN with MSS option, padded to 60 bytes",
	 TCP4(.flags = F_SYN, .tcp_optlen = 1, .pad_to = 60), PUB, DEP_A4},
	{"v4 TCP SYN with 333 payload bytes",
	 TCP4(.flags = F_SYN, .payload = 333), PUB, DEP_A4},
	{"v4 TCP SYN with 1 payload byte", TCP4(.flags = F_SYN, .payload = 1),
	 PUB, DEP_A4},
	{"v4 TCP SYN with TTL 2", TCP4(.flags = F_SYN, .ttl = 2, .payload = 8),
	 PUB, DEP_A4},
	{"v4 UDP with 101 payload bytes", UDP4(.payload = 101), PUB, DEP_A4},
	{"v4 UDP with 1400 payload bytes", UDP4(.payload = 1400), PUB, DEP_A4},
	{"v4 UDP without checksum, 57 bytes",
	 UDP4(.payload = 57, .udp_no_csum = true), PUB, DEP_A4},
	{"v4 UDP, empty, padded to 60 bytes", UDP4(.pad_to = 60), PUB, DEP_A4},
	{"v6 TCP SYN with MSS option", TCP6(.flags = F_SYN, .tcp_optlen = 2),
	 PUB, DEP_A6},
	{"v6 TCP SYN with 777 payload bytes",
	 TCP6(.flags = F_SYN, .payload = 777), PUB, DEP_A6},
	{"v6 UDP with 99 payload bytes", UDP6(.payload = 99), PUB, DEP_A6},
	{"v6 UDP, empty", UDP6(.payload = 0), PUB, DEP_A6},
	{"v4 TCP SYN arriving on back leaves on back (XDP_TX)",
	 TCP4(.flags = F_SYN, .payload = 11), BACK, DEP_A4},
	{"v6 UDP arriving on back leaves on back (XDP_TX)", UDP6(.payload = 13),
	 BACK, DEP_A6},
};

static void test_new_flow_rewritten_to_backend(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(forward_cases) / sizeof(forward_cases[0]); i++) {
		const struct forward_case *c = &forward_cases[i];
		struct pkt_spec s = c->in;
		struct pkt_info pi;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s, c->ingress);
		lab_run(&lab, ifindex_of(c->ingress), in, len, &out);
		assert_forwarded(c->desc, &out, &s, ifindex_of(c->ingress),
				 c->dep, SLOTLB_REASON_FORWARD);
		if (s.udp_no_csum &&
		    (!pkt_parse(out.data, out.len, &pi) || pi.l4_csum != 0))
			fail_msg("%s: UDP checksum 0 became %#x", c->desc,
				 pi.l4_csum);
		cases_run++;
	}
}

/* Many new flows reach every backend of the deployment, none other. */
static void test_new_flows_spread_over_deployment(void **state)
{
	const struct pkt_spec base[] = {TCP4(.flags = F_SYN),
					TCP6(.flags = F_SYN)};
	const uint32_t dep[] = {DEP_A4, DEP_A6};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t f, i, len;

	(void)state;
	for (f = 0; f < 2; f++) {
		bool seen[3] = {false};

		for (i = 0; i < 90; i++) {
			struct pkt_spec s = base[f];
			const struct lab_backend *be;
			unsigned b;

			s.seed = s.sport = lab_port();
			len = client_frame(in, &s, PUB);
			lab_run(&lab, lab_pub_ifindex, in, len, &out);
			be = assert_forwarded("spread", &out, &s,
					      lab_pub_ifindex, dep[f],
					      SLOTLB_REASON_FORWARD);
			for (b = 0; b < 3; b++)
				if (lab_deployment_backend(dep[f], b) == be)
					seen[b] = true;
			cases_run++;
		}
		for (i = 0; i < 3; i++)
			if (!seen[i])
				fail_msg(
					"deployment %u: backend %zu never chosen in 90 flows",
					dep[f], i);
	}
}

/* Weights shape the spread: B's backends weigh 1, 2 and 1, so of 400
 * new flows the middle one takes about half (Maglev keeps shares within
 * ~2% of the weights; the bounds allow 4-5 sigma of sampling noise). */
static void test_weights_shape_the_spread(void **state)
{
	const unsigned int flows = 400, lo[3] = {60, 160, 60},
			   hi[3] = {140, 240, 140};
	unsigned int got[3] = {0}, i, b;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	(void)state;
	lab_route(&lab, APP_WEB4, DEP_B4);
	for (i = 0; i < flows; i++) {
		struct pkt_spec s = TCP4(.flags = F_SYN);
		const struct lab_backend *be;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_forwarded("weighted spread", &out, &s,
				      lab_pub_ifindex, DEP_B4,
				      SLOTLB_REASON_FORWARD);
		for (b = 0; b < 3; b++)
			got[b] += lab_deployment_backend(DEP_B4, b) == be;
		cases_run++;
	}
	printf("bpf_forward: weights 1:2:1 took %u, %u, %u of %u flows\n",
	       got[0], got[1], got[2], flows);
	for (b = 0; b < 3; b++)
		if (got[b] < lo[b] || got[b] > hi[b])
			fail_msg(
				"backend %u of weight %u took %u of %u flows, want %u..%u",
				b, b == 1 ? 2 : 1, got[b], flows, lo[b], hi[b]);
}

struct switch_case {
	const char *desc;
	struct pkt_spec in;
	uint32_t app, dep_a, dep_b;
};

static const struct switch_case switch_cases[] = {
	{"v4 TCP", TCP4(.payload = 40), APP_WEB4, DEP_A4, DEP_B4},
	{"v6 TCP", TCP6(.payload = 41), APP_WEB6, DEP_A6, DEP_B6},
	{"v4 UDP", UDP4(.payload = 42), APP_WEB4, DEP_A4, DEP_B4},
	{"v6 UDP", UDP6(.payload = 43), APP_WEB6, DEP_A6, DEP_B6},
};

/* Pin a flow to A, switch the slot to B: the flow stays on its backend,
 * a new flow goes to B. */
static void test_established_flow_survives_switch(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;
	char desc[128];

	(void)state;
	for (i = 0; i < sizeof(switch_cases) / sizeof(switch_cases[0]); i++) {
		const struct switch_case *c = &switch_cases[i];
		const struct lab_backend *first, *later;
		struct pkt_spec s = c->in;
		bool tcp = s.proto == IPPROTO_TCP;

		lab_route(&lab, c->app, c->dep_a);
		s.seed = s.sport = lab_port();
		s.flags = tcp ? F_SYN : 0;
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		snprintf(desc, sizeof(desc), "%s: first packet", c->desc);
		first = assert_forwarded(desc, &out, &s, lab_pub_ifindex,
					 c->dep_a, SLOTLB_REASON_FORWARD);

		lab_route(&lab, c->app, c->dep_b);
		s.flags = tcp ? F_ACK | F_PSH : 0;
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		snprintf(desc, sizeof(desc), "%s: established after switch",
			 c->desc);
		later = assert_forwarded(desc, &out, &s, lab_pub_ifindex,
					 c->dep_a, SLOTLB_REASON_FORWARD);
		if (later != first)
			fail_msg("%s: moved from %s to %s", desc, first->addr,
				 later->addr);

		s.seed = s.sport = lab_port();
		s.flags = tcp ? F_SYN : 0;
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		snprintf(desc, sizeof(desc), "%s: new flow after switch",
			 c->desc);
		assert_forwarded(desc, &out, &s, lab_pub_ifindex, c->dep_b,
				 SLOTLB_REASON_FORWARD);
		cases_run += 3;
	}
}

/* The endpoints of web4's slots 0, 1, 2 and 19 (the last). */
static const struct {
	uint32_t slot;
	uint16_t port;
} slot_ports[] = {
	{0, PORT_HTTP},
	{1, PORT_STAGING},
	{2, PORT_SLOT2},
	{SLOTLB_MAX_SLOTS - 1, PORT_SLOT19},
};
#define NSLOT_PORTS (sizeof(slot_ports) / sizeof(slot_ports[0]))

struct slots_case {
	const char *desc;
	uint32_t deployment[SLOTLB_MAX_SLOTS]; /* 0 = empty slot */
};

/* previous[] holds other deployments in every case, so reading it
 * instead of deployment[] would show. */
static const struct slots_case slots_cases[] = {
	{"slots 0, 1, 2 hold A, B, C; slot 19 holds B",
	 {[0] = DEP_A4, [1] = DEP_B4, [2] = DEP_E4, [19] = DEP_B4}},
	{"rotated: slots 0, 1, 2 hold C, A, B; slot 19 holds C",
	 {[0] = DEP_E4, [1] = DEP_A4, [2] = DEP_B4, [19] = DEP_E4}},
	{"slot 2 empty while slots 0 and 1 are full",
	 {[0] = DEP_B4, [1] = DEP_E4, [19] = DEP_A4}},
	{"only slot 2 holds a deployment", {[2] = DEP_A4}},
	{"only slot 19 holds a deployment", {[19] = DEP_B4}},
};

/* A SYN to each slot's endpoint goes to that slot's own deployment, or
 * is dropped when that slot is empty, whatever the other slots hold. */
static void test_each_slot_reads_its_own_deployment(void **state)
{
	const uint32_t others[] = {DEP_A4, DEP_B4, DEP_E4};
	uint32_t prev[SLOTLB_MAX_SLOTS];
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, k, s, len;
	char desc[192];

	(void)state;
	for (i = 0; i < sizeof(slots_cases) / sizeof(slots_cases[0]); i++) {
		const struct slots_case *c = &slots_cases[i];

		for (s = 0; s < SLOTLB_MAX_SLOTS; s++) {
			prev[s] = others[(s + i) % 3];
			if (prev[s] == c->deployment[s])
				prev[s] = others[(s + i + 1) % 3];
		}
		lab_route_slots(&lab, APP_WEB4, c->deployment, prev,
				SLOTLB_MAX_SLOTS);
		for (k = 0; k < NSLOT_PORTS; k++) {
			struct pkt_spec p = TCP4(.flags = F_SYN, .payload = 5);
			uint32_t dep = c->deployment[slot_ports[k].slot];

			p.dport = slot_ports[k].port;
			p.seed = p.sport = lab_port();
			len = client_frame(in, &p, PUB);
			lab_run(&lab, lab_pub_ifindex, in, len, &out);
			snprintf(desc, sizeof(desc), "%s: SYN to slot %u",
				 c->desc, slot_ports[k].slot);
			if (dep) {
				assert_forwarded(desc, &out, &p,
						 lab_pub_ifindex, dep,
						 SLOTLB_REASON_FORWARD);
			} else {
				assert_verdict(desc, &out, XDP_DROP);
				assert_reason(desc, &out,
					      SLOTLB_REASON_DROP_NO_DEPLOYMENT);
			}
			cases_run++;
		}
	}
}

/* An endpoint naming a slot past the routing element (which the library
 * refuses to write, so only a corrupt or foreign map holds one) is
 * dropped, not read from the field after deployment[]. */
static void test_slot_out_of_range_drops(void **state)
{
	const uint32_t deps[SLOTLB_MAX_SLOTS] = {[0] = DEP_A4};
	uint32_t prev[SLOTLB_MAX_SLOTS] = {[0] = DEP_B4};
	struct slotlb_endpoint ep = {
		.app_id = APP_WEB4,
		.slot = SLOTLB_MAX_SLOTS,
		.endpoint_id = EP_COUNT,
	};
	struct slotlb_endpoint_key key = {
		.port = htons(PORT_SLOT19 + 1),
		.proto = IPPROTO_TCP,
		.family = AF_INET,
	};
	struct pkt_spec p = TCP4(.flags = F_SYN, .dport = PORT_SLOT19 + 1);
	uint8_t in[PKT_MAX], a[16];
	char path[160];
	struct xdp_out out;
	size_t len;
	int fd;

	(void)state;
	pkt_addr(AF_INET, VIP4, a);
	memcpy(key.addr, a, sizeof(key.addr));
	if (slotlb_endpoint_set(lab.lb, &key, &ep) != -ERANGE)
		fail_msg("endpoint_set accepted slot %u", ep.slot);
	lab_route_slots(&lab, APP_WEB4, deps, prev, SLOTLB_MAX_SLOTS);
	snprintf(path, sizeof(path), "%s/endpoints", lab.pin_root);
	fd = bpf_obj_get(path);
	assert_true(fd >= 0);
	assert_int_equal(bpf_map_update_elem(fd, &key, &ep, BPF_ANY), 0);
	p.seed = p.sport = lab_port();
	len = client_frame(in, &p, PUB);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	bpf_map_delete_elem(fd, &key);
	close(fd);
	assert_verdict("SYN to an endpoint of slot 20", &out, XDP_DROP);
	assert_reason("SYN to an endpoint of slot 20", &out,
		      SLOTLB_REASON_DROP_NO_DEPLOYMENT);
	cases_run++;
}

struct reply_case {
	const char *desc;
	struct pkt_spec in; /* client's first packet */
	const char *vip;
	uint16_t reply_payload;
	uint8_t reply_flags;
	bool reply_no_csum;
};

static const struct reply_case reply_cases[] = {
	{"v4 TCP SYN-ACK", TCP4(.flags = F_SYN), VIP4, 0, F_SYN | F_ACK, false},
	{"v4 TCP data, odd length", TCP4(.flags = F_SYN), VIP4, 1001,
	 F_ACK | F_PSH, false},
	{"v4 UDP answer", UDP4(.payload = 30), VIP4, 513, 0, false},
	{"v4 UDP answer without checksum", UDP4(.payload = 30), VIP4, 77, 0,
	 true},
	{"v6 TCP SYN-ACK", TCP6(.flags = F_SYN), VIP6, 0, F_SYN | F_ACK, false},
	{"v6 TCP data, odd length", TCP6(.flags = F_SYN), VIP6, 333,
	 F_ACK | F_PSH, false},
	{"v6 UDP answer", UDP6(.payload = 31), VIP6, 1201, 0, false},
};

static void test_reply_rewritten_to_endpoint(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct pkt_spec s = c->in, r = {0};
		const struct lab_backend *be;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_forwarded(c->desc, &out, &s, lab_pub_ifindex,
				      s.family == AF_INET ? DEP_A4 : DEP_A6,
				      SLOTLB_REASON_FORWARD);

		r.family = s.family;
		r.proto = s.proto;
		r.src = be->addr;
		r.sport = be->port;
		r.dst = s.src;
		r.dport = s.sport;
		r.seed = (uint16_t)(s.sport * 7);
		r.flags = c->reply_flags;
		r.payload = c->reply_payload;
		r.udp_no_csum = c->reply_no_csum;
		len = backend_frame(in, &r, be);
		lab_run(&lab, lab_back_ifindex, in, len, &out);
		assert_replied(c->desc, &out, &r, c->vip, s.dport);
		cases_run += 2;
	}
}

/* A UDP checksum that the rewrite makes 0 must leave as 0xffff: 0 on
 * the wire means "no checksum" (RFC 768). Pin flows and search payloads
 * (lengths, fill seeds) until one forwards with a checksum summing to
 * exactly 0; the builder's payload bytes all move with the seed, so one
 * flow reaches only some checksums and a few flows may be needed. */
static void test_udp_checksum_zero_becomes_ffff(void **state)
{
	struct pkt_spec s = UDP4(.payload = 8), want;
	const struct lab_backend *be;
	uint8_t in[PKT_MAX], frame[PKT_MAX];
	unsigned int seed, payload, flows;
	struct pkt_info pi;
	struct xdp_out out;
	bool found = false;
	size_t len;

	(void)state;
	for (flows = 0; flows < 64 && !found; flows++) {
		s.sport = lab_port();
		s.seed = 1;
		s.payload = 8;
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_forwarded("UDP flow to pin", &out, &s,
				      lab_pub_ifindex, DEP_A4,
				      SLOTLB_REASON_FORWARD);
		want = s;
		want.dst = be->addr;
		want.dport = be->port;
		want.ttl = 63;
		want.smac = lab_back_mac;
		want.dmac = be->mac;
		for (payload = 1; payload <= 64 && !found; payload++)
			for (seed = 0; seed < 256 && !found; seed++) {
				want.payload = s.payload = (uint16_t)payload;
				want.seed = s.seed = (uint16_t)seed;
				len = pkt_build(frame, &want);
				found = pkt_parse(frame, len, &pi) &&
					pi.l4_csum == 0xffff;
			}
		cases_run++;
	}
	if (!found)
		fail_msg("no payload of 64 flows forwards with UDP checksum 0");
	len = client_frame(in, &s, PUB);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_forwarded("UDP whose rewritten checksum sums to 0", &out, &s,
			 lab_pub_ifindex, DEP_A4, SLOTLB_REASON_FORWARD);
	if (!pkt_parse(out.data, out.len, &pi) || pi.l4_csum != 0xffff)
		fail_msg("UDP checksum that sums to 0 left as %#x, want 0xffff",
			 pi.l4_csum);
	printf("bpf_forward: UDP checksum 0 found on flow %u (payload %u, seed %u)\n",
	       flows, s.payload, s.seed);
	cases_run++;
}

/* Two backends on one address (other ports): clearing one must leave
 * the address known as a backend's, or the other's replies would pass
 * un-NATed. Backend 10 shares backend 1's address. */
static void test_shared_backend_address_survives_clear(void **state)
{
	const struct lab_backend *b1 = lab_deployment_backend(DEP_A4, 0), *be;
	struct slotlb_backend shared = {.port = htons(8081), .family = AF_INET};
	struct pkt_spec s, r = {0};
	uint8_t in[PKT_MAX], a[16];
	struct xdp_out out;
	unsigned int tries;
	size_t len;

	(void)state;
	pkt_addr(AF_INET, b1->addr, a);
	memcpy(shared.addr, a, sizeof(shared.addr));
	assert_int_equal(slotlb_backend_set(lab.lb, 10, &shared), 0);
	assert_int_equal(slotlb_backend_clear(lab.lb, 10), 0);
	for (tries = 0, be = NULL; tries < 64 && be != b1; tries++) {
		s = (struct pkt_spec)TCP4(.flags = F_SYN);
		s.seed = s.sport = lab_port();
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_forwarded("SYN", &out, &s, lab_pub_ifindex, DEP_A4,
				      SLOTLB_REASON_FORWARD);
	}
	if (be != b1)
		fail_msg("no flow of 64 went to %s", b1->addr);
	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.src = be->addr;
	r.sport = be->port;
	r.dst = s.src;
	r.dport = s.sport;
	r.flags = F_SYN | F_ACK;
	len = backend_frame(in, &r, be);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_replied("reply from an address another backend left", &out, &r,
		       VIP4, PORT_HTTP);
	cases_run += tries + 1;
}

/* Next hop without a neighbour entry: the program rewrites the packet and
 * leaves it to the kernel, which resolves the neighbour (PASS_NO_NEIGH). */
static void test_no_neighbour_passes_rewritten(void **state)
{
	struct slotlb_counters before, after;
	const struct pkt_spec base[] = {
		TCP4(.dst = VIP4_NONEIGH, .flags = F_SYN, .payload = 7),
		TCP4(.dst = VIP4_NONEIGH, .flags = F_ACK, .payload = 99),
	};
	struct pkt_spec s, r = {0};
	const struct lab_backend *be;
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xdp_out out;
	size_t i, len, want_len;

	(void)state;
	assert_int_equal(slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT,
					   DEP_NONEIGH, &before),
			 0);
	s = base[0];
	s.seed = s.sport = lab_port();
	for (i = 0; i < 2; i++) {
		s.flags = base[i].flags;
		s.payload = base[i].payload;
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_rewritten_pass(
			i ? "established, backend without neighbour"
			  : "SYN to a backend without neighbour",
			&out, &s, DEP_NONEIGH);
		cases_run++;
	}
	/* the kernel sends them on: they count, the SYN as a new flow (the
	 * first connection to a backend is one of the deployment's flows) */
	assert_int_equal(slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT,
					   DEP_NONEIGH, &after),
			 0);
	if (after.new_flows != before.new_flows + 1 ||
	    after.packets != before.packets + 2)
		fail_msg(
			"passed to the kernel rewritten: deployment %u counted %llu new flows and %llu packets, want 1 and 2",
			DEP_NONEIGH,
			(unsigned long long)(after.new_flows -
					     before.new_flows),
			(unsigned long long)(after.packets - before.packets));

	/* A client without a neighbour entry gets its reply the same way. */
	s = (struct pkt_spec)TCP4(.src = CLIENT4_NONEIGH, .flags = F_SYN);
	s.seed = s.sport = lab_port();
	len = client_frame(in, &s, PUB);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	be = assert_forwarded("SYN from a client without neighbour", &out, &s,
			      lab_pub_ifindex, DEP_A4, SLOTLB_REASON_FORWARD);
	r.family = AF_INET;
	r.proto = IPPROTO_TCP;
	r.src = be->addr;
	r.sport = be->port;
	r.dst = s.src;
	r.dport = s.sport;
	r.flags = F_SYN | F_ACK;
	r.payload = 3;
	len = backend_frame(in, &r, be);
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	r.src = VIP4;
	r.sport = PORT_HTTP;
	want_len = pkt_build(want, &r);
	assert_verdict("reply to a client without neighbour", &out, XDP_PASS);
	assert_reason("reply to a client without neighbour", &out,
		      SLOTLB_REASON_PASS_NO_NEIGH);
	if (out.len != want_len || memcmp(out.data, want, want_len)) {
		pkt_diff(out.data, out.len, want, want_len);
		fail_msg("reply to a client without neighbour: not rewritten");
	}
	assert_checksums("reply to a client without neighbour", out.data,
			 out.len);
	cases_run += 2;
}

/* Expected counter deltas, per endpoint / deployment / backend id. */
struct expect {
	struct slotlb_counters ep[EP_COUNT], dep[DEP_COUNT], be[32];
};

static void add(struct slotlb_counters *c, size_t len, bool new_flow)
{
	c->packets++;
	c->bytes += len;
	c->new_flows += new_flow;
}

/* One flow: a first packet, nfwd more from the client, nrep replies. */
static void send_flow(struct expect *e, const struct pkt_spec *base,
		      uint32_t ep, uint32_t dep, int nfwd, int nrep)
{
	const struct lab_backend *be;
	struct pkt_spec s = *base, r = {0};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;
	int i;

	s.seed = s.sport = lab_port();
	s.flags = s.proto == IPPROTO_TCP ? F_SYN : 0;
	len = client_frame(in, &s, PUB);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	be = assert_forwarded("counted flow", &out, &s, lab_pub_ifindex, dep,
			      SLOTLB_REASON_FORWARD);
	add(&e->ep[ep], len, true);
	add(&e->dep[dep], len, true);
	add(&e->be[be->id], len, true);
	for (i = 0; i < nfwd; i++) {
		s.flags = s.proto == IPPROTO_TCP ? F_ACK : 0;
		s.payload = (uint16_t)(100 + 37 * i);
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict("counted flow", &out, XDP_REDIRECT);
		add(&e->ep[ep], len, false);
		add(&e->dep[dep], len, false);
		add(&e->be[be->id], len, false);
	}
	r.family = s.family;
	r.proto = s.proto;
	r.src = be->addr;
	r.sport = be->port;
	r.dst = s.src;
	r.dport = s.sport;
	r.seed = (uint16_t)(s.sport * 7);
	for (i = 0; i < nrep; i++) {
		r.flags = r.proto == IPPROTO_TCP ? F_ACK : 0;
		r.payload = (uint16_t)(500 + 13 * i);
		len = backend_frame(in, &r, be);
		lab_run(&lab, lab_back_ifindex, in, len, &out);
		assert_verdict("counted reply", &out, XDP_REDIRECT);
		add(&e->ep[ep], len, false);
		add(&e->dep[dep], len, false);
		add(&e->be[be->id], len, false);
	}
	cases_run += 1 + nfwd + nrep;
}

static void check_counters(struct slotlb_counters *before,
			   enum slotlb_stats_kind kind, uint32_t id,
			   const struct slotlb_counters *want)
{
	static const char *const kinds[] = {"endpoint", "deployment",
					    "backend"};
	struct slotlb_counters now;

	assert_int_equal(slotlb_stats_read(lab.lb, kind, id, &now), 0);
	if (now.packets - before->packets != want->packets ||
	    now.bytes - before->bytes != want->bytes ||
	    now.new_flows - before->new_flows != want->new_flows)
		fail_msg(
			"%s %u counters: +%llu packets +%llu bytes +%llu new flows, want +%llu +%llu +%llu",
			kinds[kind], id,
			(unsigned long long)(now.packets - before->packets),
			(unsigned long long)(now.bytes - before->bytes),
			(unsigned long long)(now.new_flows - before->new_flows),
			(unsigned long long)want->packets,
			(unsigned long long)want->bytes,
			(unsigned long long)want->new_flows);
}

static void test_counters_match_traffic(void **state)
{
	const struct pkt_spec tcp4 = TCP4(.payload = 20);
	const struct pkt_spec udp6 = UDP6(.payload = 21);
	struct expect before = {0}, want = {0};
	uint32_t id;

	(void)state;
	for (id = 0; id < EP_COUNT; id++)
		slotlb_stats_read(lab.lb, SLOTLB_STATS_ENDPOINT, id,
				  &before.ep[id]);
	for (id = 0; id < DEP_COUNT; id++)
		slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, id,
				  &before.dep[id]);
	for (id = 0; id < 32; id++)
		slotlb_stats_read(lab.lb, SLOTLB_STATS_BACKEND, id,
				  &before.be[id]);

	send_flow(&want, &tcp4, EP_WEB4_TCP, DEP_A4, 3, 2);
	send_flow(&want, &tcp4, EP_WEB4_TCP, DEP_A4, 1, 1);
	send_flow(&want, &tcp4, EP_WEB4_TCP, DEP_A4, 0, 4);
	send_flow(&want, &udp6, EP_WEB6_UDP, DEP_A6, 2, 3);

	for (id = 0; id < EP_COUNT; id++)
		check_counters(&before.ep[id], SLOTLB_STATS_ENDPOINT, id,
			       &want.ep[id]);
	for (id = 0; id < DEP_COUNT; id++)
		check_counters(&before.dep[id], SLOTLB_STATS_DEPLOYMENT, id,
			       &want.dep[id]);
	for (id = 0; id < 32; id++)
		check_counters(&before.be[id], SLOTLB_STATS_BACKEND, id,
			       &want.be[id]);
	if (want.ep[EP_WEB4_TCP].new_flows != 3 || !want.dep[DEP_A6].packets)
		fail_msg("counter test sent the wrong traffic");
}

/* A SYN sent again (same sequence number, the backend's SYN-ACK lost or
 * late) is one flow: new_flows ("flows pinned", abi.h) counts it once,
 * as deployment_tcp's handshakes does. */
static void test_syn_retransmission_one_new_flow(void **state)
{
	struct pkt_spec s = TCP4(.flags = F_SYN);
	struct expect before = {0}, want = {0};
	const struct lab_backend *be = NULL;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;
	int i;

	(void)state;
	s.seed = s.sport = lab_port();
	slotlb_stats_read(lab.lb, SLOTLB_STATS_ENDPOINT, EP_WEB4_TCP,
			  &before.ep[EP_WEB4_TCP]);
	slotlb_stats_read(lab.lb, SLOTLB_STATS_DEPLOYMENT, DEP_A4,
			  &before.dep[DEP_A4]);
	for (i = 0; i < 3; i++) {
		len = client_frame(in, &s, PUB);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_forwarded("SYN, sent again", &out, &s,
				      lab_pub_ifindex, DEP_A4,
				      SLOTLB_REASON_FORWARD);
		add(&want.ep[EP_WEB4_TCP], len, i == 0);
		add(&want.dep[DEP_A4], len, i == 0);
		cases_run++;
	}
	(void)be;
	check_counters(&before.ep[EP_WEB4_TCP], SLOTLB_STATS_ENDPOINT,
		       EP_WEB4_TCP, &want.ep[EP_WEB4_TCP]);
	check_counters(&before.dep[DEP_A4], SLOTLB_STATS_DEPLOYMENT, DEP_A4,
		       &want.dep[DEP_A4]);
}

static int reset_routing(void **state)
{
	(void)state;
	lab_route_default(&lab);
	return 0;
}

static int group_setup(void **state)
{
	struct slotlb_opts opts = {.flow_capacity = 4096};

	(void)state;
	return lab_open(&lab, "forward", &opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_forward: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_new_flow_rewritten_to_backend,
				       reset_routing),
		cmocka_unit_test_setup(test_new_flows_spread_over_deployment,
				       reset_routing),
		cmocka_unit_test_setup(test_weights_shape_the_spread,
				       reset_routing),
		cmocka_unit_test_setup(test_established_flow_survives_switch,
				       reset_routing),
		cmocka_unit_test_setup(test_each_slot_reads_its_own_deployment,
				       reset_routing),
		cmocka_unit_test_setup(test_slot_out_of_range_drops,
				       reset_routing),
		cmocka_unit_test_setup(test_udp_checksum_zero_becomes_ffff,
				       reset_routing),
		cmocka_unit_test_setup(
			test_shared_backend_address_survives_clear,
			reset_routing),
		cmocka_unit_test_setup(test_reply_rewritten_to_endpoint,
				       reset_routing),
		cmocka_unit_test_setup(test_syn_retransmission_one_new_flow,
				       reset_routing),
		cmocka_unit_test_setup(test_counters_match_traffic,
				       reset_routing),
		cmocka_unit_test_setup(test_no_neighbour_passes_rewritten,
				       reset_routing),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_forward", tests, group_setup,
					   group_teardown);
}
