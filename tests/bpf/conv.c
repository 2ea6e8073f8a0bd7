/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * TCP conversations through the program (see conv.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "conv.h"

#define SYN_FIN_LEN(flags) (((flags) & (F_SYN | F_FIN)) ? 1 : 0)

void conv_init(struct conv *v, struct lab *lab, const struct pkt_spec *spec)
{
	memset(v, 0, sizeof(*v));
	v->lab = lab;
	v->c = *spec;
	v->c.seed = v->c.sport = lab_port();
	v->cseq = 1000000u + 7919u * v->c.sport;
	v->bseq = 3000000000u + 104729u * v->c.sport;
	v->client_if = lab_pub_ifindex;
}

size_t conv_client_frame(struct conv *v, uint8_t *buf, uint8_t flags,
			 uint16_t payload)
{
	struct pkt_spec s = v->c;

	s.flags = flags;
	s.payload = payload;
	s.seq = SEQ(v->cseq);
	s.ack = flags & F_ACK ? SEQ(v->bseq) : 0;
	s.smac = lab_client_mac(s.family, s.src);
	s.dmac = v->client_if == lab_back_ifindex ? lab_back_mac : lab_pub_mac;
	return pkt_build(buf, &s);
}

size_t conv_backend_frame(struct conv *v, uint8_t *buf, uint8_t flags,
			  uint16_t payload)
{
	struct pkt_spec r = {0};

	r.family = v->c.family;
	r.proto = IPPROTO_TCP;
	r.src = v->be->addr;
	r.sport = v->be->port;
	r.dst = v->c.src;
	r.dport = v->c.sport;
	r.flags = flags;
	r.payload = payload;
	r.seed = (uint16_t)(v->c.sport + 1);
	r.seq = SEQ(v->bseq);
	r.ack = flags & F_ACK ? SEQ(v->cseq) : 0;
	r.smac = v->be->mac;
	r.dmac = lab_back_mac;
	return pkt_build(buf, &r);
}

/* Run a frame; the reason is only worked out when asked for (reading
 * every reason counter twice costs more than the run). */
static void run(struct conv *v, int ifindex, const uint8_t *in, size_t len,
		struct xdp_out *out, bool reason)
{
	if (reason) {
		lab_run(v->lab, ifindex, in, len, out);
		return;
	}
	if (lab_run_fast(v->lab, ifindex, in, len, out))
		fail_msg("BPF_PROG_TEST_RUN failed");
	out->reason = -1;
}

static void client_send(struct conv *v, uint8_t flags, uint16_t payload,
			struct xdp_out *out, bool reason)
{
	uint8_t in[PKT_MAX];
	size_t len = conv_client_frame(v, in, flags, payload);

	run(v, v->client_if, in, len, out, reason);
	if (!(flags & F_RST))
		v->cseq += payload + SYN_FIN_LEN(flags);
}

static void backend_send(struct conv *v, uint8_t flags, uint16_t payload,
			 struct xdp_out *out, bool reason)
{
	uint8_t in[PKT_MAX];
	size_t len = conv_backend_frame(v, in, flags, payload);

	run(v, lab_back_ifindex, in, len, out, reason);
	if (!(flags & F_RST))
		v->bseq += payload + SYN_FIN_LEN(flags);
}

void conv_client(struct conv *v, uint8_t flags, uint16_t payload,
		 struct xdp_out *out)
{
	client_send(v, flags, payload, out, true);
}

void conv_backend(struct conv *v, uint8_t flags, uint16_t payload,
		  struct xdp_out *out)
{
	backend_send(v, flags, payload, out, true);
}

/* The client's segment as the backend must receive it. */
static void check_to_backend(struct conv *v, const struct xdp_out *out,
			     uint8_t flags, uint16_t payload, uint32_t seq,
			     uint32_t ack, const char *desc)
{
	struct pkt_spec s = v->c;
	uint8_t want[PKT_MAX];
	size_t len;

	assert_verdict(desc, out,
		       v->client_if == lab_back_ifindex ? XDP_TX
							: XDP_REDIRECT);
	s.flags = flags;
	s.payload = payload;
	s.seq = SEQ(seq);
	s.ack = flags & F_ACK ? SEQ(ack) : 0;
	s.dst = v->be->addr;
	s.dport = v->be->port;
	s.ttl = 63;
	s.smac = lab_back_mac;
	s.dmac = v->be->mac;
	len = pkt_build(want, &s);
	if (out->len != len || memcmp(out->data, want, len)) {
		pkt_diff(out->data, out->len, want, len);
		fail_msg("%s: not the client's segment to %s:%u", desc,
			 v->be->addr, v->be->port);
	}
	assert_checksums(desc, out->data, out->len);
}

void conv_expect_client(struct conv *v, uint8_t flags, uint16_t payload,
			const char *desc)
{
	uint32_t seq = v->cseq, ack = v->bseq;
	struct xdp_out out;

	client_send(v, flags, payload, &out, false);
	check_to_backend(v, &out, flags, payload, seq, ack, desc);
}

void conv_expect_backend(struct conv *v, uint8_t flags, uint16_t payload,
			 const char *desc)
{
	struct pkt_spec r = {0};
	uint8_t want[PKT_MAX];
	struct xdp_out out;
	size_t len;

	r.family = v->c.family;
	r.proto = IPPROTO_TCP;
	r.src = v->c.dst;
	r.sport = v->c.dport;
	r.dst = v->c.src;
	r.dport = v->c.sport;
	r.flags = flags;
	r.payload = payload;
	r.seed = (uint16_t)(v->c.sport + 1);
	r.seq = SEQ(v->bseq);
	r.ack = flags & F_ACK ? SEQ(v->cseq) : 0;
	r.ttl = 63;
	r.smac = v->client_if == lab_back_ifindex ? lab_back_mac : lab_pub_mac;
	r.dmac = lab_client_mac(r.family, r.dst);
	len = pkt_build(want, &r);
	backend_send(v, flags, payload, &out, false);
	assert_verdict(desc, &out, XDP_REDIRECT);
	if (out.len != len || memcmp(out.data, want, len)) {
		pkt_diff(out.data, out.len, want, len);
		fail_msg("%s: not the backend's segment from the endpoint",
			 desc);
	}
	assert_checksums(desc, out.data, out.len);
}

void conv_syn(struct conv *v, uint32_t dep, const char *desc)
{
	struct xdp_out out;
	struct pkt_info pi;
	char d[160];
	uint32_t seq = v->cseq;

	snprintf(d, sizeof(d), "%s: SYN", desc);
	client_send(v, F_SYN, 0, &out, false);
	if (!pkt_parse(out.data, out.len, &pi) ||
	    !(v->be = lab_backend_by_dst(&pi)))
		fail_msg("%s: SYN reached no backend (%s)", d,
			 lab_verdict_name(out.verdict));
	if (!lab_in_deployment(v->be, dep))
		fail_msg("%s: backend %s not in deployment %u", d, v->be->addr,
			 dep);
	check_to_backend(v, &out, F_SYN, 0, seq, 0, d);
	snprintf(d, sizeof(d), "%s: SYN-ACK", desc);
	conv_expect_backend(v, F_SYN | F_ACK, 0, d);
}

void conv_open(struct conv *v, uint32_t dep, const char *desc)
{
	char d[160];

	conv_syn(v, dep, desc);
	snprintf(d, sizeof(d), "%s: ACK", desc);
	conv_expect_client(v, F_ACK, 0, d);
}
