/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Direct server return through BPF_PROG_TEST_RUN: a client's packet to
 * an endpoint of an app in DSR mode leaves encapsulated in GUE toward a
 * backend of the slot's deployment, the inner packet byte for byte as it
 * came, the outer headers as abi.h describes them (compared with frames
 * built independently by pkt_build_gue), with the right two candidates:
 * the pin and the current choice, the current and the previous
 * deployment's choice when the flow is not pinned (a node that lost
 * its flow table), none for a SYN. Too big once encapsulated: ICMP
 * "fragmentation needed" from the endpoint with the MTU left. Broken
 * packets and fragments are never encapsulated.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"

static struct lab lab;
static const struct slotlb_opts lab_opts = {.flow_capacity = 4096};
static unsigned int cases_run;

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

/* web4's production slot holds dep (previous: prev), in DSR mode. */
static void route_dsr(uint32_t dep, uint32_t prev)
{
	struct slotlb_routing r;
	int err;

	lab_route_prev(&lab, APP_WEB4, dep, prev);
	err = slotlb_routing_get(lab.lb, APP_WEB4, &r);
	if (!err) {
		r.mode = SLOTLB_MODE_DSR;
		err = slotlb_routing_set(lab.lb, APP_WEB4, &r);
	}
	if (err)
		fail_msg("routing web4: %s", strerror(-err));
}

/* The backend of dep at the IPv4 address a, or NULL. */
static const struct lab_backend *backend_at4(uint32_t dep, const uint8_t *a)
{
	const struct lab_backend *be;
	unsigned int i;

	for (i = 0; (be = lab_deployment_backend(dep, i)); i++)
		if (pkt_addr_eq(AF_INET, a, be->addr))
			return be;
	return NULL;
}

static size_t client_frame(uint8_t *buf, struct pkt_spec *s)
{
	s->smac = lab_client_mac(AF_INET, s->src);
	s->dmac = lab_pub_mac;
	return pkt_build(buf, s);
}

/* The IP length of a frame pkt_build made. */
static size_t ip_len_of(const uint8_t *frame)
{
	return (size_t)frame[16] << 8 | frame[17];
}

/*
 * out is in (its IP packet, ip_len bytes) encapsulated toward a backend
 * of dep, carrying second (a backend of second_dep; 0: no second
 * candidate): byte for byte the frame pkt_build_gue makes, through the
 * back interface to the backend's MAC. Returns the backend.
 */
static const struct lab_backend *
assert_encapsulated(const char *desc, const struct xdp_out *out,
		    const uint8_t *in, uint32_t dep, uint32_t second_dep,
		    const struct lab_backend **second)
{
	uint8_t want[PKT_MAX];
	const struct lab_backend *be, *sbe = NULL;
	size_t ip_len = ip_len_of(in), wlen;
	uint16_t sport;

	assert_verdict(desc, out, XDP_REDIRECT);
	assert_reason(desc, out, SLOTLB_REASON_FORWARD);
	if (out->len < 14 + 52 + 20)
		fail_msg("%s: %u bytes out, too short for GUE", desc, out->len);
	be = backend_at4(dep, out->data + 14 + 16);
	if (!be)
		fail_msg("%s: outer destination is no backend of deployment %u",
			 desc, dep);
	if (second_dep) {
		sbe = backend_at4(second_dep, out->data + 14 + 28 + 8);
		if (!sbe)
			fail_msg(
				"%s: second candidate is no backend of deployment %u",
				desc, second_dep);
	}
	sport = (uint16_t)(out->data[34] << 8 | out->data[35]);
	if (sport < 0xc000)
		fail_msg("%s: UDP source port %u outside 49152-65535", desc,
			 sport);
	wlen = pkt_build_gue(want, in, ip_len, VIP4, be->addr,
			     sbe ? sbe->addr : NULL, sport, lab_back_mac,
			     be->mac);
	/* Ethernet padding of the input rides along behind the packet. */
	if (out->len < wlen || memcmp(out->data, want, wlen)) {
		pkt_diff(out->data, out->len, want, wlen);
		fail_msg("%s: output differs from the expected GUE frame",
			 desc);
	}
	assert_checksums(desc, out->data, wlen);
	if (second)
		*second = sbe;
	cases_run++;
	return be;
}

struct encap_case {
	const char *desc;
	struct pkt_spec in;
};

static const struct encap_case encap_cases[] = {
	{"TCP SYN with MSS option, padded to 60 bytes",
	 TCP4(.flags = F_SYN, .tcp_optlen = 1, .pad_to = 60)},
	{"TCP SYN with 333 payload bytes",
	 TCP4(.flags = F_SYN, .payload = 333)},
	{"TCP SYN with TTL 2", TCP4(.flags = F_SYN, .ttl = 2, .payload = 8)},
	{"UDP with 101 payload bytes", UDP4(.payload = 101)},
	{"UDP without checksum", UDP4(.payload = 57, .udp_no_csum = true)},
	{"UDP, empty, padded to 60 bytes", UDP4(.pad_to = 60)},
	{"UDP of 1448 bytes: fits a 1500 link once encapsulated",
	 UDP4(.payload = 1448 - 28)},
};

/* New flows: toward the slot's deployment, no second candidate, the
 * inner packet untouched; the same flow again goes to the same one. */
static void test_new_flows_encapsulated(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	(void)state;
	route_dsr(DEP_A4, 0);
	for (i = 0; i < sizeof(encap_cases) / sizeof(encap_cases[0]); i++) {
		const struct encap_case *c = &encap_cases[i];
		const struct lab_backend *be, *again;
		struct pkt_spec s = c->in;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		be = assert_encapsulated(c->desc, &out, in, DEP_A4, 0, NULL);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		again = assert_encapsulated(c->desc, &out, in, DEP_A4, 0, NULL);
		if (be != again)
			fail_msg("%s: the same flow went to %s, then %s",
				 c->desc, be->addr, again->addr);
	}
}

/* The NAT app next door is not affected: web4 back in NAT mode
 * rewrites as before. */
static void test_nat_mode_unchanged(void **state)
{
	struct pkt_spec s = TCP4(.flags = F_SYN, .payload = 5);
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	(void)state;
	lab_route_prev(&lab, APP_WEB4, DEP_A4, 0);
	s.seed = s.sport = lab_port();
	len = client_frame(in, &s);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_forwarded("NAT mode after DSR", &out, &s, lab_pub_ifindex,
			 DEP_A4, SLOTLB_REASON_FORWARD);
	cases_run++;
}

/*
 * Second chance. Flow f began on deployment A; B is swapped in:
 *   - a balancer that pinned f sends it to the pin with B's choice
 *     second;
 *   - one whose flow table lost f (cleared here) sends it to B's choice
 *     with A's second, where the backend agent finds no socket and
 *     forwards it to A's backend, which owns it.
 * A SYN never carries a second candidate; a UDP flow neither.
 */
static void test_two_candidates(void **state)
{
	struct pkt_spec syn = TCP4(.flags = F_SYN),
			ack = TCP4(.flags = F_ACK, .payload = 20);
	const struct lab_backend *a, *b, *second, *first;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len, i;
	int err;

	(void)state;
	for (i = 0; i < 16; i++) {
		syn.seed = syn.sport = ack.seed = ack.sport = lab_port();
		route_dsr(DEP_A4, 0);
		len = client_frame(in, &syn);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		a = assert_encapsulated("SYN on A", &out, in, DEP_A4, 0, NULL);

		route_dsr(DEP_B4, DEP_A4);
		len = client_frame(in, &ack);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		first = assert_encapsulated("pinned ACK after the swap", &out,
					    in, DEP_A4, DEP_B4, &second);
		if (first != a)
			fail_msg("pinned ACK went to %s, not its pin %s",
				 first->addr, a->addr);
		b = second;

		err = slotlb_dsr_flows_clear(lab.lb);
		if (err)
			fail_msg("dsr_flows_clear: %s", strerror(-err));
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		first = assert_encapsulated("ACK, flow table lost", &out, in,
					    DEP_B4, DEP_A4, &second);
		if (first != b || second != a)
			fail_msg("lost flow: %s then %s, want %s then %s",
				 first->addr, second->addr, b->addr, a->addr);

		/* The slot emptied: the previous deployment alone. */
		route_dsr(0, DEP_A4);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		first = assert_encapsulated("ACK, slot emptied", &out, in,
					    DEP_A4, 0, NULL);
		if (first != a)
			fail_msg("emptied slot: %s, want %s", first->addr,
				 a->addr);
		len = client_frame(in, &syn);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict("SYN to an emptied slot", &out, XDP_DROP);
		assert_reason("SYN to an emptied slot", &out,
			      SLOTLB_REASON_DROP_NO_DEPLOYMENT);
	}
	/* A SYN and UDP after a swap: the current choice only. */
	route_dsr(DEP_B4, DEP_A4);
	syn.seed = syn.sport = lab_port();
	len = client_frame(in, &syn);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_encapsulated("SYN after a swap", &out, in, DEP_B4, 0, NULL);
	{
		struct pkt_spec u = UDP4(.payload = 9);

		u.seed = u.sport = lab_port();
		len = client_frame(in, &u);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_encapsulated("UDP after a swap", &out, in, DEP_B4, 0,
				    NULL);
	}
	/* The strict non-SYN policy holds in DSR mode too: tested by
	 * test_chance for NAT; here the default (second chance) is on. */
	route_dsr(DEP_A4, 0);
}

/* Too big once encapsulated (1500-byte link): ICMP "fragmentation
 * needed" from the endpoint address with 1500 - 52, DF or not (a tunnel
 * cannot fragment for the client). */
static void test_too_big(void **state)
{
	const uint16_t sizes[] = {1449, 1460, 1500};
	uint8_t in[PKT_MAX], want[PKT_MAX];
	struct xdp_out out;
	size_t i, len, wlen, q;
	int df;

	(void)state;
	route_dsr(DEP_A4, 0);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (df = 1; df >= 0; df--) {
			struct pkt_spec s = TCP4(.flags = F_SYN);
			char desc[96];

			snprintf(desc, sizeof(desc), "TCP SYN of %u bytes, %s",
				 sizes[i], df ? "DF" : "not DF");
			s.payload = (uint16_t)(sizes[i] - 40);
			s.seed = s.sport = lab_port();
			len = client_frame(in, &s);
			if (!df) {
				in[14 + 6] = 0;
				pkt_fix_checksums(in, len);
			}
			lab_run(&lab, lab_pub_ifindex, in, len, &out);
			assert_verdict(desc, &out, XDP_TX);
			assert_reason(desc, &out, SLOTLB_REASON_TX_FRAG_NEEDED);
			q = len - 14 < 576 - 28 ? len - 14 : 576 - 28;
			wlen = pkt_build_icmp_error(
				want, AF_INET, VIP4, CLIENT4, 3, 4, 1500 - 52,
				in, q, lab_pub_mac,
				lab_client_mac(AF_INET, CLIENT4));
			if (out.len != wlen || memcmp(out.data, want, wlen)) {
				pkt_diff(out.data, out.len, want, wlen);
				fail_msg("%s: not the expected ICMP error",
					 desc);
			}
			assert_checksums(desc, out.data, out.len);
			cases_run++;
		}
	}
}

struct refused_case {
	const char *desc;
	struct pkt_spec in;
	int verdict;
	int reason;
};

static const struct refused_case refused_cases[] = {
	{"TCP header cut short", TCP4(.flags = F_SYN, .truncate = 14 + 20 + 10),
	 XDP_DROP, SLOTLB_REASON_DROP_TRUNCATED},
	{"bad TCP data offset", TCP4(.flags = F_ACK, .set_doff = SET(2)),
	 XDP_DROP, SLOTLB_REASON_DROP_MALFORMED},
	{"IPv4 options", TCP4(.flags = F_SYN, .ip_optlen = 1), XDP_DROP,
	 SLOTLB_REASON_DROP_IP_OPTIONS},
	{"first fragment", UDP4(.payload = 200, .frag = 0x2000), XDP_DROP,
	 SLOTLB_REASON_DROP_FRAGMENT},
	{"later fragment", UDP4(.payload = 200, .frag = 0x0010), XDP_DROP,
	 SLOTLB_REASON_DROP_FRAGMENT},
	{"IP total length past the frame",
	 TCP4(.flags = F_SYN, .set_tot_len = 1400), XDP_DROP,
	 SLOTLB_REASON_DROP_TRUNCATED},
};

/* Broken packets and fragments to a DSR endpoint are counted and
 * dropped, never encapsulated. */
static void test_refused(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	(void)state;
	route_dsr(DEP_A4, 0);
	for (i = 0; i < sizeof(refused_cases) / sizeof(refused_cases[0]); i++) {
		const struct refused_case *c = &refused_cases[i];
		struct pkt_spec s = c->in;

		s.seed = s.sport = lab_port();
		len = client_frame(in, &s);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		assert_verdict(c->desc, &out, c->verdict);
		assert_reason(c->desc, &out, c->reason);
		cases_run++;
	}
}

struct pins {
	unsigned int dsr, other;
	uint16_t client_port; /* of the last DSR pin seen */
	uint32_t deployment;
};

static int count_pins(const struct slotlb_flow_info *f, void *ctx)
{
	struct pins *p = ctx;

	if (f->stage != SLOTLB_STAGE_DSR) {
		p->other++;
		return 0;
	}
	if (f->live) {
		p->dsr++;
		p->client_port = ntohs(f->client_port);
		p->deployment = f->deployment_id;
	}
	return 0;
}

/* The flow walk (slotlb flows, drain counts) sees a DSR pin, live,
 * under its deployment; a cleared table has none. */
static void test_pins_walked(void **state)
{
	struct pkt_spec syn = TCP4(.flags = F_SYN);
	struct pins p = {0};
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	uint64_t before[DEP_COUNT], counts[DEP_COUNT];
	size_t len;

	(void)state;
	route_dsr(DEP_A4, 0);
	assert_int_equal(slotlb_dsr_flows_clear(lab.lb), 0);
	assert_int_equal(
		slotlb_flows_count_by_deployment(lab.lb, before, DEP_COUNT), 0);
	syn.seed = syn.sport = lab_port();
	len = client_frame(in, &syn);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_encapsulated("SYN", &out, in, DEP_A4, 0, NULL);
	assert_int_equal(slotlb_flows_foreach(lab.lb, count_pins, &p), 0);
	if (p.dsr != 1 || p.client_port != syn.sport || p.deployment != DEP_A4)
		fail_msg(
			"walk: %u DSR pins (port %u, deployment %u), want 1 (%u, %u)",
			p.dsr, p.client_port, p.deployment, syn.sport, DEP_A4);
	assert_int_equal(
		slotlb_flows_count_by_deployment(lab.lb, counts, DEP_COUNT), 0);
	if (counts[DEP_A4] != before[DEP_A4] + 1)
		fail_msg("drain count of A: %llu, want %llu",
			 (unsigned long long)counts[DEP_A4],
			 (unsigned long long)before[DEP_A4] + 1);
	assert_int_equal(slotlb_dsr_flows_clear(lab.lb), 0);
	memset(&p, 0, sizeof(p));
	assert_int_equal(slotlb_flows_foreach(lab.lb, count_pins, &p), 0);
	assert_int_equal(p.dsr, 0);
}

static int setup(void **state)
{
	(void)state;
	if (lab_open(&lab, "dsr", &lab_opts, true))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_flows_encapsulated),
		cmocka_unit_test(test_nat_mode_unchanged),
		cmocka_unit_test(test_two_candidates),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_pins_walked),
	};
	int rc;

	rc = lab_enter_netns();
	if (rc)
		return rc;
	rc = cmocka_run_group_tests_name("bpf_dsr", tests, setup, teardown);
	printf("bpf_dsr: %u packet cases run\n", cases_run);
	return rc;
}
