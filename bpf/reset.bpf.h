/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The endpoint's RST to a client, built from the client's own TCP
 * segment and sent back where it came from (XDP_TX). Two things end a
 * pinned TCP flow this way so the client reconnects at once instead of
 * timing out: its backend failed its health checks (health.bpf.h) and
 * its backend's drain ran out with the reset policy (drain.bpf.h).
 */
#ifndef SLOTLB_RESET_BPF_H
#define SLOTLB_RESET_BPF_H

#include "csum.bpf.h"
#include "parse.bpf.h"

/* TTL / hop limit of the RSTs the program sends. */
#define RST_TTL 64
#define TCP_HDR_LEN 20

/*
 * Turn the client's TCP segment (not a fragment, no IPv4 options: the
 * parser drops those to an endpoint) into the RST the endpoint answers
 * with: addresses, ports and MACs swapped, headers only. With the ACK
 * bit the RST carries the client's acknowledgement as its sequence
 * number, exactly what the client expects next (RFC 5961 accepts it at
 * once); without, it acknowledges the segment (RFC 9293, 3.10.7.1).
 * Returns tx_reason (the caller's TX reason: why the RST was sent) or a
 * drop reason. A global function, so the verifier checks it once for
 * both of its callers.
 */
__noinline int tcp_reset_client(struct xdp_md *ctx, const struct packet *pkt,
				__u32 tx_reason)
{
	void *data, *data_end;
	__u32 len, keep, seq, ack, sum;
	struct ethhdr *eth;
	struct tcphdr *th;
	__u8 mac[ETH_ALEN], flags;
	bool v6, with_ack;
	__be32 a[4];
	__be16 port;

	if (!ctx || !pkt)
		return SLOTLB_REASON_DROP_MALFORMED;
	v6 = pkt->key.family == AF_INET6;
	if (pkt->frag != FRAG_NONE || pkt->key.proto != IPPROTO_TCP ||
	    pkt->l4_off != (v6 ? L4_OFF_V6 : L4_OFF_V4))
		return SLOTLB_REASON_DROP_MALFORMED;
	flags = pkt->tcp_flags;
	if (flags & TCP_FLAG_RST)
		return SLOTLB_REASON_DROP_WINDOW; /* never answer a RST */
	keep = pkt->l4_off + TCP_HDR_LEN;
	len = ctx->data_end - ctx->data;
	if (len < keep)
		return SLOTLB_REASON_DROP_TRUNCATED;
	if (len > keep && bpf_xdp_adjust_tail(ctx, -(int)(len - keep)))
		return SLOTLB_REASON_DROP_TRUNCATED;
	with_ack = !(flags & TCP_FLAG_ACK);
	seq = with_ack ? 0 : pkt->ack;
	ack = with_ack ? pkt->seq + pkt->payload + !!(flags & TCP_FLAG_SYN) +
				 !!(flags & TCP_FLAG_FIN)
		       : 0;

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
		*(__be32 *)ip6h = bpf_htonl(0x60000000); /* no class, label */
		__builtin_memcpy(a, &ip6h->saddr, 16);
		__builtin_memcpy(&ip6h->saddr, &ip6h->daddr, 16);
		__builtin_memcpy(&ip6h->daddr, a, 16);
		ip6h->payload_len = bpf_htons(TCP_HDR_LEN);
		ip6h->hop_limit = RST_TTL;
		sum = csum_addr((__be32 *)&ip6h->saddr, true) +
		      csum_addr((__be32 *)&ip6h->daddr, true);
	} else {
		struct iphdr *iph = data + L3_OFF;

		th = (void *)(iph + 1);
		if ((void *)(th + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		a[0] = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a[0];
		iph->tos = 0;
		iph->tot_len = bpf_htons(sizeof(*iph) + TCP_HDR_LEN);
		iph->ttl = RST_TTL;
		iph->id = 0;
		iph->frag_off = bpf_htons(IP_DF);
		iph->check = 0;
		iph->check = ~csum_fold(csum_region(ctx, L3_OFF, sizeof(*iph)));
		sum = csum_addr(&iph->saddr, false) +
		      csum_addr(&iph->daddr, false);
	}
	port = th->source;
	th->source = th->dest;
	th->dest = port;
	th->seq = bpf_htonl(seq);
	th->ack_seq = bpf_htonl(ack);
	/* doff 5 and the flags: RST, with ACK when acknowledging */
	((__u8 *)th)[12] = 5 << 4;
	((__u8 *)th)[13] = TCP_FLAG_RST | (with_ack ? TCP_FLAG_ACK : 0);
	th->window = 0;
	th->urg_ptr = 0;
	th->check = 0;
	sum += bpf_htons(TCP_HDR_LEN) + bpf_htons(IPPROTO_TCP) +
	       csum_region(ctx, v6 ? L4_OFF_V6 : L4_OFF_V4, TCP_HDR_LEN);
	th->check = ~csum_fold(sum);
	return tx_reason;
}

#endif /* SLOTLB_RESET_BPF_H */
