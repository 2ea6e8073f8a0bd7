/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The end of a drain, in the data path. When a draining backend's
 * deadline passed with the reset policy, the controller sets its
 * backend_drain element: the client's next packet of each of its pinned
 * TCP flows is answered with a RST from the endpoint (XDP_TX, Ethernet
 * addresses swapped, back to the neighbour that sent it), and the flow
 * is closed, so the client reconnects at once (to a backend that takes
 * new flows) and the drain count falls. The RST carries the client's
 * own acknowledgement as its sequence number, exactly what the client
 * expects next (RFC 9293 3.10.7.4: a RST is accepted when its sequence
 * number is the next expected one). Resets are bounded per backend and
 * second; a packet over the budget is forwarded as usual. UDP flows and
 * the client's own RSTs are left alone.
 */
#ifndef SLOTLB_DRAIN_BPF_H
#define SLOTLB_DRAIN_BPF_H

#include "clock.bpf.h"
#include "csum.bpf.h"
#include "parse.bpf.h"

#define DRAIN_RST_TTL 64
#define TCP_HDR_LEN 20

/* Is a RST due for this client packet of a flow pinned to backend_id?
 * Takes one from the backend's budget of this second if so. */
static __always_inline bool drain_reset_due(const struct packet *pkt,
					    __u32 backend_id, __u32 now)
{
	struct slotlb_backend_drain *dr;

	if (pkt->key.proto != IPPROTO_TCP || pkt->frag != FRAG_NONE ||
	    (pkt->tcp_flags & TCP_FLAG_RST))
		return false;
	dr = bpf_map_lookup_elem(&backend_drain, &backend_id);
	if (!dr || !dr->reset_rate)
		return false;
	if (clock_after(now, dr->window, clock_secs(1))) {
		/* a new second; racing CPUs may each restart it */
		dr->window = now;
		dr->used = 0;
	}
	return __sync_fetch_and_add(&dr->used, 1) < dr->reset_rate;
}

/* Turn the client's packet into the endpoint's RST for its flow. A
 * global function, so the verifier checks its header work once. */
__noinline int drain_reset(struct xdp_md *ctx, const struct packet *pkt)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct tcphdr *th;
	__u8 mac[ETH_ALEN];
	__u32 frame, want, l4, sum;
	__be32 seq, ack, a[4];
	__be16 port;
	__u8 flags;
	bool v6;

	if (!ctx || !pkt)
		return SLOTLB_REASON_DROP_MALFORMED;
	v6 = pkt->key.family == AF_INET6;
	l4 = v6 ? L4_OFF_V6 : L4_OFF_V4;
	if (pkt->l4_off != l4)
		return SLOTLB_REASON_DROP_MALFORMED;
	/* RFC 9293 3.10.7.4: to a segment with an ACK, <SEQ=SEG.ACK><RST>;
	 * else <SEQ=0><ACK=SEG.SEQ+SEG.LEN><RST,ACK>. */
	if (pkt->tcp_flags & TCP_FLAG_ACK) {
		seq = bpf_htonl(pkt->ack);
		ack = 0;
		flags = TCP_FLAG_RST;
	} else {
		seq = 0;
		ack = bpf_htonl(pkt->seq + pkt->payload +
				!!(pkt->tcp_flags & TCP_FLAG_FIN));
		flags = TCP_FLAG_RST | TCP_FLAG_ACK;
	}
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	frame = data_end - data;
	want = l4 + TCP_HDR_LEN;
	if (frame < want)
		return SLOTLB_REASON_DROP_TRUNCATED;
	if (frame > want && bpf_xdp_adjust_tail(ctx, -(int)(frame - want)))
		return SLOTLB_REASON_DROP_TRUNCATED;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	if (v6) {
		struct ipv6hdr *ip6h = data + L3_OFF;

		th = (void *)(ip6h + 1);
		if ((void *)(th + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		*(__be32 *)ip6h = bpf_htonl(0x60000000);
		ip6h->payload_len = bpf_htons(TCP_HDR_LEN);
		ip6h->nexthdr = IPPROTO_TCP;
		ip6h->hop_limit = DRAIN_RST_TTL;
		__builtin_memcpy(a, &ip6h->saddr, 16);
		__builtin_memcpy(&ip6h->saddr, &ip6h->daddr, 16);
		__builtin_memcpy(&ip6h->daddr, a, 16);
		sum = csum_addr((const __be32 *)&ip6h->saddr, true) +
		      csum_addr(a, true);
	} else {
		struct iphdr *iph = data + L3_OFF;

		th = (void *)(iph + 1);
		if ((void *)(th + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		iph->tos = 0;
		iph->tot_len = bpf_htons(sizeof(*iph) + TCP_HDR_LEN);
		iph->id = 0;
		iph->frag_off = bpf_htons(IP_DF);
		iph->ttl = DRAIN_RST_TTL;
		iph->check = 0;
		a[0] = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a[0];
		iph->check = ~csum_fold(csum_region(ctx, L3_OFF, sizeof(*iph)));
		sum = csum_addr(&iph->saddr, false) + csum_addr(a, false);
	}
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	th->seq = seq;
	th->ack_seq = ack;
	/* doff 5, then the flags byte; window, urgent pointer zero */
	((__u8 *)th)[12] = 5 << 4;
	((__u8 *)th)[13] = flags;
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;
	sum += bpf_htons(TCP_HDR_LEN) + bpf_htons(IPPROTO_TCP) +
	       csum_region(ctx, l4, TCP_HDR_LEN);
	th->check = ~csum_fold(sum);
	return SLOTLB_REASON_TX_DRAIN_RESET;
}

#endif /* SLOTLB_DRAIN_BPF_H */
