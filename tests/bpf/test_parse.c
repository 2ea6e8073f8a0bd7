/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Parsing through BPF_PROG_TEST_RUN: what is not for an endpoint passes
 * byte-identical, truncated and malformed headers are never forwarded and
 * are counted under their reason, and a few thousand random mutations of
 * valid packets never abort and never send anything anywhere but to a
 * backend (or, for a reply, back from an endpoint).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include "lab.h"

static struct lab lab;
static unsigned int cases_run;

#define TCP4(...)                                                        \
	{                                                                \
		.family = AF_INET, .proto = IPPROTO_TCP, .src = CLIENT4, \
		.dst = VIP4, .dport = PORT_HTTP, .flags = F_SYN,         \
		.payload = 12, __VA_ARGS__                               \
	}
#define UDP4(...)                                                          \
	{                                                                  \
		.family = AF_INET, .proto = IPPROTO_UDP, .src = CLIENT4,   \
		.dst = VIP4, .dport = PORT_DNS, .payload = 12, __VA_ARGS__ \
	}
#define TCP6(...)                                                         \
	{                                                                 \
		.family = AF_INET6, .proto = IPPROTO_TCP, .src = CLIENT6, \
		.dst = VIP6, .dport = PORT_HTTP, .flags = F_SYN,          \
		.payload = 12, __VA_ARGS__                                \
	}
#define UDP6(...)                                                          \
	{                                                                  \
		.family = AF_INET6, .proto = IPPROTO_UDP, .src = CLIENT6,  \
		.dst = VIP6, .dport = PORT_DNS, .payload = 12, __VA_ARGS__ \
	}
#define ICMP4(...)                                                        \
	{                                                                 \
		.family = AF_INET, .proto = IPPROTO_ICMP, .src = CLIENT4, \
		.dst = VIP4, .payload = 56, __VA_ARGS__                   \
	}
#define ICMP6(...)                                                           \
	{                                                                    \
		.family = AF_INET6, .proto = IPPROTO_ICMPV6, .src = CLIENT6, \
		.dst = VIP6, .payload = 56, __VA_ARGS__                      \
	}

#define ETH 14

/* One row: a packet, the verdict and reason it must get; PASS rows must
 * come out byte-identical. */
struct parse_case {
	const char *desc;
	struct pkt_spec in;
	int verdict;
	enum slotlb_reason reason;
	uint16_t ethertype; /* overwrite after building, 0 = leave */
};

#define PASS_NOT_ENDPOINT XDP_PASS, SLOTLB_REASON_PASS_NOT_ENDPOINT
#define PASS_NOT_IP XDP_PASS, SLOTLB_REASON_PASS_NOT_IP

static const struct parse_case pass_cases[] = {
	/* Echo to an endpoint address is answered (test_icmp.c). */
	{"ICMP echo to another address", ICMP4(.dst = NOT_VIP4),
	 PASS_NOT_ENDPOINT, 0},
	{"ICMPv6 echo to another address", ICMP6(.dst = NOT_VIP6),
	 PASS_NOT_ENDPOINT, 0},
	{"TCP SYN to an endpoint address, other port", TCP4(.dport = 81),
	 PASS_NOT_ENDPOINT, 0},
	{"TCP SYN to another address, endpoint port", TCP4(.dst = NOT_VIP4),
	 PASS_NOT_ENDPOINT, 0},
	{"UDP to an endpoint address, other port", UDP4(.dport = 54),
	 PASS_NOT_ENDPOINT, 0},
	{"UDP to the TCP endpoint's port", UDP4(.dport = PORT_HTTP),
	 PASS_NOT_ENDPOINT, 0},
	{"TCP to the UDP endpoint's port", TCP4(.dport = PORT_DNS),
	 PASS_NOT_ENDPOINT, 0},
	{"v6 TCP SYN to an endpoint address, other port", TCP6(.dport = 443),
	 PASS_NOT_ENDPOINT, 0},
	{"v6 UDP to another address", UDP6(.dst = NOT_VIP6), PASS_NOT_ENDPOINT,
	 0},
	{"reply-like TCP from a backend with no flow",
	 TCP4(.src = "198.19.1.11", .sport = 8080, .dst = CLIENT4,
	      .dport = 33333, .flags = F_SYN | F_ACK),
	 PASS_NOT_ENDPOINT, 0},
	{"TCP SYN from the host to a backend",
	 TCP4(.src = "198.19.1.1", .dst = "198.19.1.12", .dport = 8080),
	 PASS_NOT_ENDPOINT, 0},
	/* Broken headers not meant for an endpoint are the kernel's. */
	{"TCP header truncated, to another address",
	 TCP4(.dst = NOT_VIP4, .truncate = ETH + 20 + 10), PASS_NOT_ENDPOINT,
	 0},
	{"TCP doff 4, to another address",
	 TCP4(.dst = NOT_VIP4, .set_doff = SET(4)), PASS_NOT_ENDPOINT, 0},
	{"IPv4 IHL 4, to another address",
	 TCP4(.dst = NOT_VIP4, .set_ihl = SET(4)), PASS_NOT_ENDPOINT, 0},
	{"v6 UDP header truncated, to another address",
	 UDP6(.dst = NOT_VIP6, .truncate = ETH + 40 + 7), PASS_NOT_ENDPOINT, 0},
	{"VLAN-tagged frame", TCP4(), PASS_NOT_IP, 0x8100},
	{"IPX frame", TCP4(), PASS_NOT_IP, 0x8137},
	{"LLDP frame", TCP4(), PASS_NOT_IP, 0x88cc},
};

#define DROP(r) XDP_DROP, SLOTLB_REASON_DROP_##r

static const struct parse_case malformed_cases[] = {
	{"Ethernet header only, IPv4 type", TCP4(.truncate = ETH),
	 DROP(TRUNCATED), 0},
	{"IPv4 header truncated at 12 bytes", TCP4(.truncate = ETH + 12),
	 DROP(TRUNCATED), 0},
	{"IPv4 header truncated at 19 bytes", UDP4(.truncate = ETH + 19),
	 DROP(TRUNCATED), 0},
	{"IPv6 header truncated at 39 bytes", TCP6(.truncate = ETH + 39),
	 DROP(TRUNCATED), 0},
	{"IPv6 header truncated at 8 bytes", UDP6(.truncate = ETH + 8),
	 DROP(TRUNCATED), 0},
	{"TCP header truncated at 10 bytes", TCP4(.truncate = ETH + 20 + 10),
	 DROP(TRUNCATED), 0},
	{"TCP header truncated at 19 bytes (v6)",
	 TCP6(.truncate = ETH + 40 + 19), DROP(TRUNCATED), 0},
	{"UDP header truncated at 6 bytes", UDP4(.truncate = ETH + 20 + 6),
	 DROP(TRUNCATED), 0},
	{"UDP header truncated at 7 bytes (v6)", UDP6(.truncate = ETH + 40 + 7),
	 DROP(TRUNCATED), 0},
	{"IPv4 IHL 4", TCP4(.set_ihl = SET(4)), DROP(MALFORMED), 0},
	{"IPv4 IHL 0", UDP4(.set_ihl = SET(0)), DROP(MALFORMED), 0},
	{"IPv4 version 6 in an IPv4 frame", TCP4(.set_version = SET(6)),
	 DROP(MALFORMED), 0},
	{"IPv4 version 0", UDP4(.set_version = SET(0)), DROP(MALFORMED), 0},
	{"IPv4 version 15", UDP4(.set_version = SET(15)), DROP(MALFORMED), 0},
	{"IPv6 version 4 in an IPv6 frame", TCP6(.set_version = SET(4)),
	 DROP(MALFORMED), 0},
	{"IPv4 total length 19", TCP4(.set_tot_len = 19), DROP(MALFORMED), 0},
	{"IPv4 total length beyond the frame", TCP4(.set_tot_len = 1500),
	 DROP(TRUNCATED), 0},
	{"IPv6 payload length beyond the frame",
	 UDP6(.truncate = ETH + 40 + 8 + 2), DROP(TRUNCATED), 0},
	{"TCP doff 4", TCP4(.set_doff = SET(4)), DROP(MALFORMED), 0},
	{"TCP doff 0 (v6)", TCP6(.set_doff = SET(0)), DROP(MALFORMED), 0},
	{"IPv4 options to an endpoint", TCP4(.ip_optlen = 1), DROP(IP_OPTIONS),
	 0},
	{"IPv4 options to an endpoint (UDP, 12 bytes)", UDP4(.ip_optlen = 3),
	 DROP(IP_OPTIONS), 0},
	{"IPv4 options to another address",
	 TCP4(.ip_optlen = 1, .dst = NOT_VIP4), PASS_NOT_ENDPOINT, 0},
	/* A first fragment takes its flow's way (test_frag.c); one that
	 * comes before its first cannot be matched. */
	{"IPv4 middle fragment to an endpoint, first unseen",
	 UDP4(.frag = 0x2000 | 25), DROP(FRAGMENT), 0},
	{"IPv4 last fragment to an endpoint, first unseen", TCP4(.frag = 50),
	 DROP(FRAGMENT), 0},
	{"IPv4 first fragment to an endpoint address, other port",
	 UDP4(.frag = 0x2000, .dport = 9), PASS_NOT_ENDPOINT, 0},
	{"IPv4 ICMP fragment to an endpoint address", ICMP4(.frag = 0x2000),
	 DROP(FRAGMENT), 0},
	{"IPv4 fragment to another address",
	 UDP4(.frag = 0x2000, .dst = NOT_VIP4), PASS_NOT_ENDPOINT, 0},
	{"IPv6 non-first fragment to an endpoint, first unseen",
	 TCP6(.v6_ext = SET(IPPROTO_FRAGMENT), .v6_frag = 0x100),
	 DROP(FRAGMENT), 0},
	{"IPv6 fragment header to another address",
	 UDP6(.v6_ext = SET(IPPROTO_FRAGMENT), .v6_frag = 1, .dst = NOT_VIP6),
	 PASS_NOT_ENDPOINT, 0},
	{"IPv6 hop-by-hop header to an endpoint",
	 TCP6(.v6_ext = SET(IPPROTO_HOPOPTS)), DROP(IP_OPTIONS), 0},
	{"IPv6 hop-by-hop header to another address",
	 TCP6(.v6_ext = SET(IPPROTO_HOPOPTS), .dst = NOT_VIP6),
	 PASS_NOT_ENDPOINT, 0},
};

static size_t build_case(uint8_t *buf, const struct parse_case *c)
{
	struct pkt_spec s = c->in;
	size_t len;

	if (!s.sport)
		s.seed = s.sport = lab_port();
	s.smac = lab_client_mac(s.family, s.src);
	s.dmac = lab_pub_mac;
	len = pkt_build(buf, &s);
	if (c->ethertype) {
		buf[12] = c->ethertype >> 8;
		buf[13] = c->ethertype & 0xff;
	}
	return len;
}

static void run_table(const struct parse_case *cases, size_t n)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;

	for (i = 0; i < n; i++) {
		const struct parse_case *c = &cases[i];

		len = build_case(in, c);
		lab_run(&lab, lab_pub_ifindex, in, len, &out);
		if (out.verdict == XDP_TX || out.verdict == XDP_REDIRECT)
			fail_msg("%s: forwarded (%s)", c->desc,
				 lab_verdict_name(out.verdict));
		if (c->verdict == XDP_PASS)
			assert_untouched(c->desc, &out, in, len, c->verdict,
					 c->reason);
		assert_verdict(c->desc, &out, c->verdict);
		assert_reason(c->desc, &out, c->reason);
		cases_run++;
	}
}

static void test_not_for_endpoint_passes_untouched(void **state)
{
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	size_t len;

	(void)state;
	run_table(pass_cases, sizeof(pass_cases) / sizeof(pass_cases[0]));
	len = pkt_build_arp(in, CLIENT4, VIP4);
	lab_run(&lab, lab_pub_ifindex, in, len, &out);
	assert_untouched("ARP request for an endpoint address", &out, in, len,
			 XDP_PASS, SLOTLB_REASON_PASS_NOT_IP);
	len = pkt_build_arp(in, "198.19.1.11", "198.19.1.1");
	lab_run(&lab, lab_back_ifindex, in, len, &out);
	assert_untouched("ARP request from a backend", &out, in, len, XDP_PASS,
			 SLOTLB_REASON_PASS_NOT_IP);
	cases_run += 2;
}

/* An address whose endpoint-filter bit an endpoint address also has
 * (abi.h): family's text of base with its last 16 bits searched. */
static void filter_twin(int family, const char *of, const char *base, char *out,
			size_t out_len)
{
	__be32 want[4] = {0}, a[4] = {0};
	uint32_t bit, i, w = family == AF_INET ? 0 : 3;

	assert_int_equal(inet_pton(family, of, want), 1);
	assert_int_equal(inet_pton(family, base, a), 1);
	bit = slotlb_filter_bit(want, (uint8_t)family);
	for (i = 1; i < 0x1000000; i++) {
		a[w] = (a[w] & htonl(0xff000000)) | htonl(i);
		if (slotlb_filter_bit(a, (uint8_t)family) == bit &&
		    memcmp(a, want, sizeof(a)))
			break;
	}
	assert_true(i < 0x1000000);
	assert_non_null(inet_ntop(family, a, out, (socklen_t)out_len));
}

/* Traffic to an address that shares an endpoint address's filter bit is
 * still no endpoint's: the filter only says "perhaps", endpoint_addrs
 * decides. Each kind of packet, as a client's on the public side. */
static void test_filter_twin_passes_untouched(void **state)
{
	char twin4[INET6_ADDRSTRLEN], twin6[INET6_ADDRSTRLEN];
	struct parse_case rows[] = {
		{"UDP to an endpoint address's filter twin", UDP4(),
		 PASS_NOT_ENDPOINT, 0},
		{"TCP ACK to the twin, endpoint port", TCP4(.flags = F_ACK),
		 PASS_NOT_ENDPOINT, 0},
		{"TCP SYN to the twin, endpoint port", TCP4(),
		 PASS_NOT_ENDPOINT, 0},
		{"v6 UDP to the twin", UDP6(), PASS_NOT_ENDPOINT, 0},
		{"v6 TCP ACK to the twin", TCP6(.flags = F_ACK),
		 PASS_NOT_ENDPOINT, 0},
		/* a broken header is dropped only toward an endpoint */
		{"TCP doff 4, to the twin", TCP4(.set_doff = SET(4)),
		 PASS_NOT_ENDPOINT, 0},
		{"v6 UDP header truncated, to the twin",
		 UDP6(.truncate = ETH + 40 + 7), PASS_NOT_ENDPOINT, 0},
	};
	size_t i;

	(void)state;
	filter_twin(AF_INET, VIP4, "10.0.0.0", twin4, sizeof(twin4));
	filter_twin(AF_INET6, VIP6, "fd00:7a1e::", twin6, sizeof(twin6));
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		rows[i].in.dst = rows[i].in.family == AF_INET ? twin4 : twin6;
	run_table(rows, sizeof(rows) / sizeof(rows[0]));
}

static void test_malformed_never_forwarded(void **state)
{
	(void)state;
	run_table(malformed_cases,
		  sizeof(malformed_cases) / sizeof(malformed_cases[0]));
}

/*
 * Frames at and below the Ethernet header's size. test_run refuses a
 * frame under 14 bytes even behind XDP metadata on current kernels (as
 * drivers never hand one over); such rows are run where the kernel
 * accepts them and reported as not runnable otherwise.
 */
static void test_short_frames_pass(void **state)
{
	static const struct {
		uint32_t frame, meta;
		uint16_t type;
		int verdict;
		enum slotlb_reason reason;
	} rows[] = {
		{0, 16, 0, PASS_NOT_IP},
		{1, 16, 0, PASS_NOT_IP},
		{6, 8, 0, PASS_NOT_IP},
		{13, 4, 0, PASS_NOT_IP},
		{14, 0, 0x88b5, PASS_NOT_IP},
		{14, 4, 0x0806, PASS_NOT_IP},
		{14, 0, 0x0800, DROP(TRUNCATED)},
		{15, 0, 0x86dd, DROP(TRUNCATED)},
	};
	unsigned int refused = 0;
	uint8_t in[PKT_MAX];
	struct xdp_out out;
	char desc[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		size_t len = rows[i].meta + rows[i].frame;
		uint8_t *frame = in + rows[i].meta;

		memset(in, 0xa5, sizeof(in));
		memcpy(frame, lab_pub_mac,
		       rows[i].frame < 6 ? rows[i].frame : 6);
		if (rows[i].frame >= 14) {
			frame[12] = rows[i].type >> 8;
			frame[13] = rows[i].type & 0xff;
		}
		snprintf(desc, sizeof(desc), "%u-byte frame, type %#06x",
			 rows[i].frame, rows[i].type);
		if (lab_run_meta(&lab, lab_pub_ifindex, in, len, rows[i].meta,
				 &out)) {
			if (rows[i].frame >= 14)
				fail_msg("%s: test_run refused it", desc);
			refused++;
			continue;
		}
		if (rows[i].verdict == XDP_PASS)
			assert_untouched(desc, &out, in, len, rows[i].verdict,
					 rows[i].reason);
		assert_verdict(desc, &out, rows[i].verdict);
		assert_reason(desc, &out, rows[i].reason);
		cases_run++;
	}
	if (refused)
		printf("short frames: the kernel's test_run refused %u frames under 14 bytes\n",
		       refused);
}

#define FUZZ_ROUNDS 5000

/* Valid packets the mutations start from: new flows, established flows
 * and their replies (backend -> client), and host traffic. */
static size_t fuzz_templates(uint8_t tpl[][PKT_MAX], size_t *lens, int *ingress)
{
	const struct pkt_spec specs[] = {
		TCP4(),
		TCP4(.flags = F_ACK, .payload = 300),
		UDP4(.payload = 77),
		TCP6(),
		UDP6(.payload = 33),
		TCP4(.dst = VIP4_NONEIGH, .flags = F_SYN),
		ICMP4(),
		ICMP6(),
		TCP4(.ip_optlen = 2),
		UDP6(.v6_ext = SET(IPPROTO_FRAGMENT)),
	};
	const size_t nspecs = sizeof(specs) / sizeof(specs[0]);
	size_t n = nspecs, i;
	struct xdp_out out;

	for (i = 0; i < nspecs; i++) {
		struct pkt_spec s = specs[i];
		const struct lab_backend *be;
		struct pkt_info pi;

		s.seed = s.sport = lab_port();
		s.smac = lab_client_mac(s.family, s.src);
		s.dmac = lab_pub_mac;
		lens[i] = pkt_build(tpl[i], &s);
		ingress[i] = lab_pub_ifindex;
		if (s.proto != IPPROTO_TCP && s.proto != IPPROTO_UDP)
			continue;
		if (!strcmp(s.dst, VIP4_NONEIGH) || s.ip_optlen || s.v6_ext)
			continue;
		/* Open the flow, then add its reply as a template too. */
		lab_run(&lab, lab_pub_ifindex, tpl[i], lens[i], &out);
		be = pkt_parse(out.data, out.len, &pi) ? lab_backend_by_dst(&pi)
						       : NULL;
		if (!be)
			fail_msg("fuzz template %zu not forwarded", i);
		s.src = be->addr;
		s.sport = be->port;
		s.dst = s.family == AF_INET ? CLIENT4 : CLIENT6;
		s.dport = pi.sport;
		s.smac = be->mac;
		s.dmac = lab_back_mac;
		lens[n] = pkt_build(tpl[n], &s);
		ingress[n++] = lab_back_ifindex;
	}
	return n;
}

static void mutate(uint8_t *p, size_t *len)
{
	int kind = rand() % 4;
	size_t off;

	switch (kind) {
	case 0: /* a random byte anywhere in the headers */
		off = (size_t)rand() % (*len < 80 ? *len : 80);
		p[off] = (uint8_t)rand();
		break;
	case 1: /* a random bit in the L3/L4 header fields */
		off = ETH + (size_t)rand() % 60;
		if (off < *len)
			p[off] ^= (uint8_t)(1u << (rand() % 8));
		break;
	case 2: /* cut anywhere, keeping test_run's 14 bytes */
		*len = ETH + (size_t)rand() % (*len - ETH + 1);
		break;
	default: /* a plausible special value in a version/IHL/doff byte */
		off = rand() % 2 ? ETH : ETH + 20 + 12;
		if (off < *len)
			p[off] = (uint8_t)((rand() % 16) << 4 | rand() % 16);
		break;
	}
}

static bool is_endpoint_address(int family, const uint8_t *a)
{
	static const char *const v4[] = {VIP4, VIP4_NONEIGH, VIP4_DRAIN,
					 VIP4_TRAFFIC};
	static const char *const v6[] = {VIP6, VIP6_TRAFFIC};
	const char *const *vips = family == AF_INET6 ? v6 : v4;
	size_t i, n = family == AF_INET6 ? 2 : 4;

	for (i = 0; i < n; i++)
		if (pkt_addr_eq(family, a, vips[i]))
			return true;
	return false;
}

static bool is_backend_address(int family, const uint8_t *a)
{
	const struct lab_backend *be;
	uint32_t dep;
	unsigned int i;

	for (dep = 1; dep < DEP_COUNT; dep++)
		for (i = 0; (be = lab_deployment_backend(dep, i)); i++)
			if (be->family == family &&
			    pkt_addr_eq(family, a, be->addr))
				return true;
	return false;
}

/* Destination of a forwarded frame, read the way the program wrote it
 * (no options, at most an IPv6 fragment header); it may not pass the
 * strict parser. */
static bool fuzz_output_ok(const struct xdp_out *out, bool from_backend)
{
	const uint8_t *p = out->data;
	struct pkt_info pi = {0};
	size_t l3 = ETH, l4;

	if (out->len < ETH + 20)
		return false;
	pi.family = p[12] == 0x08 && p[13] == 0x00 ? AF_INET : AF_INET6;
	l4 = l3 + (pi.family == AF_INET ? 20 : 40);
	if (pi.family == AF_INET6 && out->len > l3 + 6 &&
	    p[l3 + 6] == IPPROTO_FRAGMENT)
		l4 += 8;
	if (out->len < l4 + 4)
		return false;
	memcpy(pi.dst, p + l3 + (pi.family == AF_INET ? 16 : 24),
	       pi.family == AF_INET ? 4 : 16);
	memcpy(pi.src, p + l3 + (pi.family == AF_INET ? 12 : 8),
	       pi.family == AF_INET ? 4 : 16);
	pi.sport = (uint16_t)(p[l4] << 8 | p[l4 + 1]);
	pi.dport = (uint16_t)(p[l4 + 2] << 8 | p[l4 + 3]);
	if (lab_backend_by_dst(&pi))
		return true;
	/* A later fragment has no ports: its address must be a backend's. */
	if ((pi.family == AF_INET && ((p[l3 + 6] << 8 | p[l3 + 7]) & 0x1fff)) ||
	    (pi.family == AF_INET6 && p[l3 + 6] == IPPROTO_FRAGMENT &&
	     ((p[l3 + 42] << 8 | p[l3 + 43]) & 0xfff8)))
		return is_backend_address(pi.family, pi.dst) ||
		       is_endpoint_address(pi.family, pi.src);
	/* A reply, only if a backend sent it; or the endpoint's own
	 * answer (echo, too big) to whoever asked. */
	(void)from_backend;
	return is_endpoint_address(pi.family, pi.src);
}

/* On a fuzz failure, show what went in and what came out. */
static void dump(const char *what, const uint8_t *p, size_t len)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes):", what, len);
	for (i = 0; i < len && i < 96; i++)
		fprintf(stderr, "%s%02x", i % 16 ? " " : "\n    ", p[i]);
	fprintf(stderr, "\n");
}

#define fuzz_fail(fmt, ...)                                                    \
	do {                                                                   \
		dump("template", tpl[t], lens[t]);                             \
		dump("input", in, len);                                        \
		dump("output", out.data, out.len);                             \
		fail_msg("fuzz %zu (seed %u, template %zu): " fmt, i, seed, t, \
			 ##__VA_ARGS__);                                       \
	} while (0)

static void test_fuzz_never_forwards_elsewhere(void **state)
{
	static uint8_t tpl[24][PKT_MAX];
	struct slotlb_reason_counter before[SLOTLB_REASON_MAX];
	struct slotlb_reason_counter after[SLOTLB_REASON_MAX];
	unsigned int verdicts[5] = {0}, valid_fwd = 0, r;
	const char *seed_env = getenv("SLOTLB_FUZZ_SEED");
	unsigned int seed =
		seed_env ? (unsigned)atoi(seed_env) : (unsigned)time(NULL);
	uint64_t counted = 0;
	size_t lens[24], n, i;
	int ingress[24];

	(void)state;
	n = fuzz_templates(tpl, lens, ingress);
	srand(seed);
	assert_int_equal(slotlb_reasons_read(lab.lb, before), 0);
	for (i = 0; i < FUZZ_ROUNDS; i++) {
		size_t t = (size_t)rand() % n, len = lens[t];
		uint8_t in[PKT_MAX];
		struct xdp_out out;
		const char *why;
		int m, rounds = 1 + rand() % 3;
		bool csum_ok, from_backend = ingress[t] == lab_back_ifindex;

		memcpy(in, tpl[t], len);
		for (m = 0; m < rounds; m++)
			mutate(in, &len);
		/* Half the time, a valid packet with odd fields. */
		if (rand() % 2)
			pkt_fix_checksums(in, len);
		csum_ok = pkt_csum_ok(in, len, &why);
		if (lab_run_fast(&lab, ingress[t], in, len, &out))
			fuzz_fail("test_run failed");
		if (out.verdict < XDP_DROP || out.verdict > XDP_REDIRECT)
			fuzz_fail("verdict %d", out.verdict);
		verdicts[out.verdict]++;
		if (out.verdict != XDP_TX && out.verdict != XDP_REDIRECT)
			continue;
		if (!fuzz_output_ok(&out, from_backend))
			fuzz_fail(
				"forwarded to neither a backend nor a client");
		/* Rewriting must keep a valid checksum valid. */
		if (csum_ok && !pkt_csum_ok(out.data, out.len, &why))
			fuzz_fail("%s broken by the rewrite", why);
		valid_fwd += csum_ok;
	}
	assert_int_equal(slotlb_reasons_read(lab.lb, after), 0);
	for (r = 0; r < SLOTLB_REASON_MAX; r++)
		counted += after[r].packets - before[r].packets;
	if (counted != FUZZ_ROUNDS)
		fail_msg("fuzz: %llu packets counted under a reason, want %d",
			 (unsigned long long)counted, FUZZ_ROUNDS);
	printf("fuzz: seed %u, %d packets: %u drop, %u pass, %u tx, %u redirect (%u with valid checksums, rechecked)\n",
	       seed, FUZZ_ROUNDS, verdicts[XDP_DROP], verdicts[XDP_PASS],
	       verdicts[XDP_TX], verdicts[XDP_REDIRECT], valid_fwd);
	cases_run += FUZZ_ROUNDS;
}

static int group_setup(void **state)
{
	struct slotlb_opts opts = {.flow_capacity = 4096};

	(void)state;
	return lab_open(&lab, "parse", &opts, true) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	lab_close(&lab);
	printf("bpf_parse: %u packet cases run\n", cases_run);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_for_endpoint_passes_untouched),
		cmocka_unit_test(test_filter_twin_passes_untouched),
		cmocka_unit_test(test_malformed_never_forwarded),
		cmocka_unit_test(test_short_frames_pass),
		cmocka_unit_test(test_fuzz_never_forwards_elsewhere),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_parse", tests, group_setup,
					   group_teardown);
}
