/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The backend agent's decapsulation program (bpf/backend_agent.bpf.c)
 * through BPF_PROG_TEST_RUN, in the BPF lab's namespace (its "back"
 * link and neighbours stand for the backend's link to the balancers).
 * GUE frames are built by pkt_build_gue from the format's description:
 * a SYN, UDP and a segment a local socket owns are delivered (the
 * outer headers gone, the inner packet byte for byte); a segment no
 * socket owns (none, or only a listener) goes on to the second
 * candidate, re-addressed, TTL - 1, with no further candidate; without
 * a second candidate it is delivered. Broken GUE is dropped, traffic
 * that is not ours passes untouched, and with endpoints given only
 * they are served. Real sockets: a TCP connection on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "lab.h"
#include "backend_agent.skel.h"

static struct backend_agent_bpf *agent, *agent_filtered;
static unsigned int cases_run;

#define THIS_BACKEND "198.19.1.11"
#define SECOND "198.19.1.21" /* a lab backend with a neighbour on back */
static const uint8_t second_mac[6] = {0x02, 0xbe, 0x00, 0x00, 0x04, 0x21};
static const uint8_t balancer_mac[6] = {0x02, 0xba, 0x1a, 0x00, 0x00, 0x01};

/* The loopback connection: an established pair and a listener; and a
 * closed one, in TIME_WAIT on the side that closed first. */
static int listen_fd = -1, client_fd = -1, server_fd = -1;
static uint16_t listen_port, client_port, tw_port;

/* Run a frame through prog, arriving on back; the reason it was counted
 * under (-1: none or several). */
static int run(struct backend_agent_bpf *skel, const uint8_t *in, size_t len,
	       struct xdp_out *out)
{
	struct slotlb_reason_counter before[SLOTLB_AGENT_REASON_MAX] = {0},
				     after[SLOTLB_AGENT_REASON_MAX] = {0};
	int fd = bpf_map__fd(skel->maps.agent_stats), ncpu, err, reason = -1;
	struct xdp_md ctx = {
		.data_end = (__u32)len,
		.ingress_ifindex = (__u32)lab_back_ifindex,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in,
		    .data_size_in = (__u32)len, .data_out = out->data,
		    .data_size_out = sizeof(out->data), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	struct slotlb_reason_counter per_cpu[256];
	__u32 r, c;

	ncpu = libbpf_num_possible_cpus();
	assert_true(ncpu > 0 && ncpu <= 256);
	for (r = 0; r < SLOTLB_AGENT_REASON_MAX; r++) {
		assert_int_equal(bpf_map_lookup_elem(fd, &r, per_cpu), 0);
		for (c = 0; c < (__u32)ncpu; c++)
			before[r].packets += per_cpu[c].packets;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.slotlb_decap),
				     &o);
	if (err)
		fail_msg("BPF_PROG_TEST_RUN: %s", strerror(errno));
	out->verdict = (int)o.retval;
	out->len = o.data_size_out;
	for (r = 0; r < SLOTLB_AGENT_REASON_MAX; r++) {
		assert_int_equal(bpf_map_lookup_elem(fd, &r, per_cpu), 0);
		for (c = 0; c < (__u32)ncpu; c++)
			after[r].packets += per_cpu[c].packets;
		if (after[r].packets == before[r].packets)
			continue;
		reason = reason == -1 && after[r].packets ==
						 before[r].packets + 1
				 ? (int)r
				 : -2;
	}
	return reason;
}

/* inner (a pkt_build frame) in GUE from the balancer, carrying second
 * (NULL: none). */
static size_t gue_frame(uint8_t *buf, const uint8_t *inner, const char *second)
{
	size_t ip_len = (size_t)inner[16] << 8 | inner[17];

	return pkt_build_gue(buf, inner, ip_len, VIP4, THIS_BACKEND, second,
			     0xc123, balancer_mac, lab_back_mac);
}

static void expect(const char *desc, int got_reason, const struct xdp_out *out,
		   int verdict, int reason)
{
	assert_verdict(desc, out, verdict);
	if (got_reason != reason)
		fail_msg("%s: counted under %d, want %d", desc, got_reason,
			 reason);
	cases_run++;
}

/* out is inner delivered: the outer Ethernet header, then the inner IP
 * packet exactly. */
static void expect_delivered(const char *desc, int got,
			     const struct xdp_out *out, const uint8_t *gue,
			     const uint8_t *inner, size_t inner_len, int reason)
{
	expect(desc, got, out, XDP_PASS, reason);
	if (out->len != inner_len || memcmp(out->data, gue, 14) ||
	    memcmp(out->data + 14, inner + 14, inner_len - 14)) {
		uint8_t want[PKT_MAX];

		memcpy(want, gue, 14);
		memcpy(want + 14, inner + 14, inner_len - 14);
		pkt_diff(out->data, out->len, want, inner_len);
		fail_msg("%s: not the inner packet", desc);
	}
}

/* out is gue sent on to SECOND: re-addressed, TTL 63, no candidate
 * left, MACs of back and the second candidate's neighbour. */
static void expect_forwarded(const char *desc, int got,
			     const struct xdp_out *out, const uint8_t *inner)
{
	size_t ip_len = (size_t)inner[16] << 8 | inner[17], wlen;
	uint8_t want[PKT_MAX];

	expect(desc, got, out, XDP_TX, SLOTLB_AGENT_FORWARD);
	wlen = pkt_build_gue(want, inner, ip_len, VIP4, SECOND, NULL, 0xc123,
			     lab_back_mac, second_mac);
	want[14 + 8] = 63;
	pkt_fix_checksums(want, wlen);
	if (out->len != wlen || memcmp(out->data, want, wlen)) {
		pkt_diff(out->data, out->len, want, wlen);
		fail_msg("%s: not sent on to the second candidate", desc);
	}
	assert_checksums(desc, out->data, out->len);
}

static struct pkt_spec loop_tcp(uint16_t sport, uint16_t dport, uint8_t flags)
{
	struct pkt_spec s = {
		.family = AF_INET,
		.proto = IPPROTO_TCP,
		.src = "127.0.0.1",
		.dst = "127.0.0.1",
		.sport = sport,
		.dport = dport,
		.flags = flags,
		.payload = 30,
		.seed = sport,
	};
	return s;
}

/* Who gets a TCP segment, by whether a local socket owns it. */
static void test_second_chance(void **state)
{
	struct {
		const char *desc;
		struct pkt_spec in;
		bool second;
		int verdict, reason;
	} rows[] = {
		{"ACK of an established local connection",
		 loop_tcp(client_port, listen_port, F_ACK | F_PSH), true,
		 XDP_PASS, SLOTLB_AGENT_DELIVER_OWNED},
		{"FIN of an established local connection",
		 loop_tcp(client_port, listen_port, F_ACK | F_FIN), true,
		 XDP_PASS, SLOTLB_AGENT_DELIVER_OWNED},
		{"ACK only a listener matches",
		 loop_tcp((uint16_t)(client_port ^ 0x5a5a), listen_port, F_ACK),
		 true, XDP_TX, SLOTLB_AGENT_FORWARD},
		{"ACK of a 4-tuple in TIME_WAIT (a reused port)",
		 loop_tcp(listen_port, tw_port, F_ACK | F_PSH), true, XDP_TX,
		 SLOTLB_AGENT_FORWARD},
		{"ACK no socket matches", loop_tcp(40001, 9, F_ACK), true,
		 XDP_TX, SLOTLB_AGENT_FORWARD},
		{"RST no socket matches", loop_tcp(40002, 9, F_RST), true,
		 XDP_TX, SLOTLB_AGENT_FORWARD},
		{"SYN, with a second candidate",
		 loop_tcp(40003, listen_port, F_SYN), true, XDP_PASS,
		 SLOTLB_AGENT_DELIVER},
		{"ACK no socket matches, no second candidate",
		 loop_tcp(40004, 9, F_ACK), false, XDP_PASS,
		 SLOTLB_AGENT_DELIVER},
		{"UDP, with a second candidate",
		 {.family = AF_INET,
		  .proto = IPPROTO_UDP,
		  .src = CLIENT4,
		  .dst = VIP4,
		  .sport = 5353,
		  .dport = 53,
		  .payload = 40},
		 true,
		 XDP_PASS,
		 SLOTLB_AGENT_DELIVER},
		{"SYN of a real client to the endpoint",
		 {.family = AF_INET,
		  .proto = IPPROTO_TCP,
		  .src = CLIENT4,
		  .dst = VIP4,
		  .sport = 40100,
		  .dport = 80,
		  .flags = F_SYN,
		  .tcp_optlen = 1},
		 true,
		 XDP_PASS,
		 SLOTLB_AGENT_DELIVER},
	};
	uint8_t inner[PKT_MAX], in[PKT_MAX];
	struct xdp_out out;
	size_t i, ilen, len;
	int got;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		ilen = pkt_build(inner, &rows[i].in);
		len = gue_frame(in, inner, rows[i].second ? SECOND : NULL);
		got = run(agent, in, len, &out);
		if (rows[i].verdict == XDP_TX)
			expect_forwarded(rows[i].desc, got, &out, inner);
		else
			expect_delivered(rows[i].desc, got, &out, in, inner,
					 ilen, rows[i].reason);
	}
}

/* A forwarded packet leaves with no candidate: at the second backend it
 * is delivered whatever happens, never sent on again. */
static void test_forwarded_once(void **state)
{
	struct pkt_spec s = loop_tcp(40010, 9, F_ACK);
	uint8_t inner[PKT_MAX], in[PKT_MAX], again[PKT_MAX];
	struct xdp_out out, out2;
	size_t ilen, len;
	int got;

	(void)state;
	ilen = pkt_build(inner, &s);
	len = gue_frame(in, inner, SECOND);
	got = run(agent, in, len, &out);
	expect_forwarded("first hop", got, &out, inner);
	memcpy(again, out.data, out.len);
	got = run(agent, again, out.len, &out2);
	expect_delivered("second hop", got, &out2, again, inner, ilen,
			 SLOTLB_AGENT_DELIVER);
}

/* Not ours: untouched. Ours but broken: dropped. */
static void test_malformed(void **state)
{
	struct pkt_spec s = loop_tcp(40020, 9, F_ACK);
	struct {
		const char *desc;
		size_t off; /* byte to set, 0: none */
		uint8_t value;
		size_t cut; /* cut the frame to this, 0: no */
		int verdict, reason;
	} rows[] = {
		{"GUE length 6 words", 42, 6, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"GUE version 1", 42, 0x45, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"GUE control bit", 42, 0x25, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"GUE inner protocol IPv6", 43, 41, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"GUE flags", 44, 0x80, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"not slotlb's private data", 46, 0, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"two hops left", 48, 2, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"UDP length one more", 14 + 20 + 5, 0, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"inner total length one less", 14 + 52 + 3, 0, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"inner version 6", 14 + 52, 0x65, 0, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"cut inside the inner packet", 0, 0, 14 + 52 + 30, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"cut inside the GUE header", 0, 0, 14 + 28 + 10, XDP_DROP,
		 SLOTLB_AGENT_DROP_MALFORMED},
		{"UDP to another port", 14 + 20 + 3, 0xc1, 0, XDP_PASS,
		 SLOTLB_AGENT_PASS},
		{"outer TCP", 14 + 9, IPPROTO_TCP, 0, XDP_PASS,
		 SLOTLB_AGENT_PASS},
		{"outer fragment", 14 + 6, 0x20, 0, XDP_PASS,
		 SLOTLB_AGENT_PASS},
		{"outer IPv4 options", 14, 0x46, 0, XDP_PASS,
		 SLOTLB_AGENT_PASS},
		{"not IPv4", 12, 0x86, 0, XDP_PASS, SLOTLB_AGENT_PASS},
		{"cut in the outer header", 0, 0, 14 + 10, XDP_PASS,
		 SLOTLB_AGENT_PASS},
	};
	uint8_t inner[PKT_MAX], in[PKT_MAX];
	struct xdp_out out;
	size_t i, len;
	int got;

	(void)state;
	pkt_build(inner, &s);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		len = gue_frame(in, inner, SECOND);
		if (rows[i].off == 14 + 20 + 5)
			in[rows[i].off]++;
		else if (rows[i].off == 14 + 52 + 3)
			in[rows[i].off]--;
		else if (rows[i].off)
			in[rows[i].off] = rows[i].value;
		if (rows[i].cut)
			len = rows[i].cut;
		got = run(agent, in, len, &out);
		expect(rows[i].desc, got, &out, rows[i].verdict,
		       rows[i].reason);
		if (rows[i].verdict == XDP_PASS &&
		    (out.len != len || memcmp(out.data, in, len)))
			fail_msg("%s: passed, but changed", rows[i].desc);
	}
}

/* Internet checksum of a TCP segment over IPv4 127.0.0.1 -> 127.0.0.1. */
static uint16_t loop_tcp_csum(const uint8_t *seg, size_t len)
{
	uint32_t sum =
		0x7f00 + 0x0001 + 0x7f00 + 0x0001 + IPPROTO_TCP + (uint32_t)len;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(seg[i] << 8 | seg[i + 1]);
	if (len & 1)
		sum += (uint32_t)(seg[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Send a bare SYN from 127.0.0.1:sport (no socket there) to the
 * listener and return the ISN of its SYN-ACK: a syncookie, as the
 * namespace sends them always. */
static int syncookie_of(uint16_t sport, uint32_t *cookie)
{
	struct sockaddr_in to = {.sin_family = AF_INET};
	uint8_t seg[20] = {0}, buf[256];
	int fd, i, rc = -1;
	uint16_t c;

	fd = socket(AF_INET, SOCK_RAW, IPPROTO_TCP);
	if (fd < 0)
		return -1;
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	seg[0] = (uint8_t)(sport >> 8);
	seg[1] = (uint8_t)sport;
	seg[2] = (uint8_t)(listen_port >> 8);
	seg[3] = (uint8_t)listen_port;
	seg[7] = 0xe8; /* seq 1000 */
	seg[6] = 0x03;
	seg[12] = 5 << 4;
	seg[13] = F_SYN;
	seg[14] = 0xff;
	seg[15] = 0xff;
	c = loop_tcp_csum(seg, sizeof(seg));
	seg[16] = (uint8_t)(c >> 8);
	seg[17] = (uint8_t)c;
	if (sendto(fd, seg, sizeof(seg), 0, (struct sockaddr *)&to,
		   sizeof(to)) != (ssize_t)sizeof(seg))
		goto out;
	/* up to 5 s: on a loaded machine the loopback's softirq may run
	 * late (0.5 s was too short once in CI, load 6 on 2 CPUs) */
	for (i = 0; i < 500 && rc; i++) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		const uint8_t *th = buf + 20;

		if (n < 40) {
			usleep(10000);
			continue;
		}
		if ((th[0] << 8 | th[1]) == listen_port &&
		    (th[2] << 8 | th[3]) == sport &&
		    (th[13] & (F_SYN | F_ACK)) == (F_SYN | F_ACK)) {
			*cookie = (uint32_t)th[4] << 24 | th[5] << 16 |
				  th[6] << 8 | th[7];
			rc = 0;
		}
	}
out:
	close(fd);
	return rc;
}

/* A listener owns the ACK that completes a handshake it answered with
 * a syncookie (no request socket exists then), and only that one. */
static void test_syncookie(void **state)
{
	struct pkt_spec s = loop_tcp(40300, listen_port, F_ACK);
	uint8_t inner[PKT_MAX], in[PKT_MAX];
	struct xdp_out out;
	uint32_t cookie = 0;
	size_t ilen, len;
	int got;

	(void)state;
	if (syncookie_of(40300, &cookie))
		fail_msg("no SYN-ACK from the listener");
	s.seq = SEQ(1001);
	s.ack = SEQ(cookie + 1);
	ilen = pkt_build(inner, &s);
	len = gue_frame(in, inner, SECOND);
	got = run(agent, in, len, &out);
	expect_delivered("the syncookie's ACK", got, &out, in, inner, ilen,
			 SLOTLB_AGENT_DELIVER_OWNED);
	/* another minute's counter in the top bits: not a cookie it sent
	 * (the low bits only pick another MSS) */
	s.ack = SEQ(cookie + 1 + 0x40000000);
	pkt_build(inner, &s);
	len = gue_frame(in, inner, SECOND);
	got = run(agent, in, len, &out);
	expect_forwarded("an ACK of another cookie", got, &out, inner);
}

/* Given endpoints, the agent serves those only. */
static void test_endpoints_only(void **state)
{
	struct pkt_spec ok = {.family = AF_INET,
			      .proto = IPPROTO_TCP,
			      .src = CLIENT4,
			      .dst = VIP4,
			      .sport = 40200,
			      .dport = 80,
			      .flags = F_SYN},
			other = ok;
	uint8_t inner[PKT_MAX], in[PKT_MAX];
	struct xdp_out out;
	size_t ilen, len;
	int got;

	(void)state;
	other.dst = NOT_VIP4;
	ilen = pkt_build(inner, &ok);
	len = gue_frame(in, inner, NULL);
	got = run(agent_filtered, in, len, &out);
	expect_delivered("to a given endpoint", got, &out, in, inner, ilen,
			 SLOTLB_AGENT_DELIVER);
	pkt_build(inner, &other);
	len = gue_frame(in, inner, NULL);
	got = run(agent_filtered, in, len, &out);
	expect("to another address", got, &out, XDP_DROP,
	       SLOTLB_AGENT_DROP_NOT_ENDPOINT);
}

static uint16_t port_of(int fd, bool peer)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);

	if (peer ? getpeername(fd, (struct sockaddr *)&a, &l)
		 : getsockname(fd, (struct sockaddr *)&a, &l))
		return 0;
	return ntohs(a.sin_port);
}

/* A connection closed by its client first: the client's end stays in
 * TIME_WAIT (local tw_port, remote the listener). */
static int time_wait(const struct sockaddr_in *to)
{
	int c = socket(AF_INET, SOCK_STREAM, 0), s;
	char b;

	if (c < 0 || connect(c, (const struct sockaddr *)to, sizeof(*to)))
		return -1;
	s = accept(listen_fd, NULL, NULL);
	if (s < 0)
		return -1;
	tw_port = port_of(c, false);
	close(c);
	/* the server reads the FIN, then closes: the client's end goes
	 * from FIN_WAIT_2 to TIME_WAIT */
	if (read(s, &b, 1) != 0)
		return -1;
	close(s);
	usleep(100000);
	return 0;
}

static int setup(void **state)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	__be32 vip;
	__u8 one = 1;

	(void)state;
	agent = backend_agent_bpf__open_and_load();
	agent_filtered = backend_agent_bpf__open();
	if (!agent || !agent_filtered)
		return -1;
	agent_filtered->rodata->endpoint_count = 1;
	if (backend_agent_bpf__load(agent_filtered))
		return -1;
	inet_pton(AF_INET, VIP4, &vip);
	if (bpf_map_update_elem(
		    bpf_map__fd(agent_filtered->maps.agent_endpoints), &vip,
		    &one, BPF_ANY))
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	client_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (listen_fd < 0 || client_fd < 0 ||
	    bind(listen_fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(listen_fd, 4))
		return -1;
	listen_port = port_of(listen_fd, false);
	a.sin_port = htons(listen_port);
	if (connect(client_fd, (struct sockaddr *)&a, sizeof(a)))
		return -1;
	server_fd = accept(listen_fd, NULL, NULL);
	if (server_fd < 0)
		return -1;
	client_port = port_of(client_fd, false);
	return time_wait(&a);
}

static int teardown(void **state)
{
	(void)state;
	backend_agent_bpf__destroy(agent);
	backend_agent_bpf__destroy(agent_filtered);
	close(server_fd);
	close(client_fd);
	close(listen_fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_second_chance),
		cmocka_unit_test(test_forwarded_once),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_endpoints_only),
		cmocka_unit_test(test_syncookie),
	};
	int rc;

	rc = lab_enter_netns();
	if (rc)
		return rc;
	/* syncookies always: the listener answers every SYN with one */
	if (system("sysctl -qw net.ipv4.tcp_syncookies=2"))
		return 1;
	rc = cmocka_run_group_tests_name("bpf_agent", tests, setup, teardown);
	printf("bpf_agent: %u packet cases run\n", cases_run);
	return rc;
}
