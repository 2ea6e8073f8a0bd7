/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP the program sends itself: "fragmentation needed" (IPv4, DF set)
 * or "packet too big" (IPv6) when a packet of a flow does not fit the
 * next hop, back to its sender and from the endpoint's address, quoting
 * the packet as the sender sent it (before any rewrite); and the answer
 * to an echo request to an endpoint address. Both leave by XDP_TX,
 * Ethernet addresses swapped: back to the neighbour that sent them.
 */
#ifndef SLOTLB_ICMP_BPF_H
#define SLOTLB_ICMP_BPF_H

#include "csum.bpf.h"
#include "parse.bpf.h"

/* RFC 1812 4.3.2.3: an ICMP error of at most 576 bytes; RFC 4443 2.4:
 * at most the IPv6 minimum MTU. */
#define ICMP4_MAX 576
#define ICMP6_MAX 1280
#define ICMP4_HDRS (sizeof(struct iphdr) + sizeof(struct icmphdr))
#define ICMP6_HDRS (sizeof(struct ipv6hdr) + sizeof(struct icmp6hdr))
#define ICMP_TTL 64

/* Build the ICMP error in place of the frame: new IP and ICMP headers
 * in front of the original IP packet, cut to the maximum size. from is
 * the endpoint's address; sender is 16 bytes of working memory. */
static __always_inline int icmp_too_big(struct xdp_md *ctx, __u32 family,
					__u32 mtu, const __be32 *from,
					__be32 *sender)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 our_mac[ETH_ALEN], their_mac[ETH_ALEN];
	__u32 ip_len, quote, hdrs, frame, cut;
	__u32 sum;

	if ((void *)(eth + 1) > data_end)
		return SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(their_mac, eth->h_source, ETH_ALEN);
	if (family == AF_INET) {
		struct iphdr *iph = data + L3_OFF;

		if ((void *)(iph + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		sender[0] = iph->saddr;
		ip_len = bpf_ntohs(iph->tot_len);
		hdrs = ICMP4_HDRS;
		quote = ICMP4_MAX - ICMP4_HDRS;
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;

		if ((void *)(ip6h + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		__builtin_memcpy(sender, &ip6h->saddr, 16);
		ip_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);
		hdrs = ICMP6_HDRS;
		quote = ICMP6_MAX - ICMP6_HDRS;
	}
	if (ip_len < quote)
		quote = ip_len;
	frame = data_end - data;
	if (frame < L3_OFF + quote)
		return SLOTLB_REASON_DROP_TRUNCATED;
	if (bpf_xdp_adjust_head(ctx, -(int)hdrs))
		return SLOTLB_REASON_DROP_FIB;
	cut = frame - L3_OFF - quote; /* padding and what is not quoted */
	if (cut && bpf_xdp_adjust_tail(ctx, -(int)cut))
		return SLOTLB_REASON_DROP_FIB;

	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(eth->h_dest, their_mac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, our_mac, ETH_ALEN);
	if (family == AF_INET) {
		struct iphdr *iph = data + L3_OFF;
		struct icmphdr *ih = (void *)(iph + 1);

		if ((void *)(ih + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		eth->h_proto = bpf_htons(ETH_P_IP);
		iph->version = 4;
		iph->ihl = 5;
		iph->tos = 0;
		iph->tot_len = bpf_htons(hdrs + quote);
		iph->id = 0;
		iph->frag_off = 0;
		iph->ttl = ICMP_TTL;
		iph->protocol = IPPROTO_ICMP;
		iph->check = 0;
		iph->saddr = from[0];
		iph->daddr = sender[0];
		iph->check = ~csum_fold(csum_region(ctx, L3_OFF, sizeof(*iph)));
		ih->type = ICMP_DEST_UNREACH;
		ih->code = ICMP_FRAG_NEEDED;
		ih->checksum = 0;
		ih->un.frag.__unused = 0;
		ih->un.frag.mtu = bpf_htons(mtu);
		sum = csum_region(ctx, L4_OFF_V4, sizeof(*ih) + quote);
		ih->checksum = ~csum_fold(sum);
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;
		struct icmp6hdr *ih = (void *)(ip6h + 1);
		__u32 len = sizeof(*ih) + quote;

		if ((void *)(ih + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)ip6h = bpf_htonl(0x60000000);
		ip6h->payload_len = bpf_htons(len);
		ip6h->nexthdr = IPPROTO_ICMPV6;
		ip6h->hop_limit = ICMP_TTL;
		__builtin_memcpy(&ip6h->saddr, from, 16);
		__builtin_memcpy(&ip6h->daddr, sender, 16);
		ih->icmp6_type = ICMPV6_PKT_TOOBIG;
		ih->icmp6_code = 0;
		ih->icmp6_cksum = 0;
		ih->icmp6_mtu = bpf_htonl(mtu);
		sum = csum_addr(from, true) + csum_addr(sender, true) +
		      bpf_htons(len) + bpf_htons(IPPROTO_ICMPV6) +
		      csum_region(ctx, L4_OFF_V6, len);
		ih->icmp6_cksum = ~csum_fold(sum);
	}
	return SLOTLB_REASON_TX_FRAG_NEEDED;
}

/* Answer an echo request to an endpoint address where it came from. */
static __always_inline __u32 icmp_echo_reply(struct xdp_md *ctx,
					     const struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	__be32 a[4];
	__u16 *word, old;

	if ((void *)(eth + 1) > data_end)
		return SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);
	if (pkt->key.family == AF_INET) {
		struct iphdr *iph = data + L3_OFF;
		struct icmphdr *ih = (void *)(iph + 1);

		if ((void *)(ih + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		/* Swapping the addresses keeps the header's sum. */
		a[0] = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = a[0];
		word = (__u16 *)&iph->ttl;
		old = *word;
		iph->ttl = ICMP_TTL;
		csum_apply(&iph->check, csum_delta16(old, *word));
		word = (__u16 *)ih;
		old = *word;
		ih->type = ICMP_ECHOREPLY;
		csum_apply(&ih->checksum, csum_delta16(old, *word));
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;
		struct icmp6hdr *ih = (void *)(ip6h + 1);

		if ((void *)(ih + 1) > data_end)
			return SLOTLB_REASON_DROP_TRUNCATED;
		/* The pseudo header's sum does not change either. */
		__builtin_memcpy(a, &ip6h->saddr, 16);
		__builtin_memcpy(&ip6h->saddr, &ip6h->daddr, 16);
		__builtin_memcpy(&ip6h->daddr, a, 16);
		ip6h->hop_limit = ICMP_TTL;
		word = (__u16 *)ih;
		old = *word;
		ih->icmp6_type = ICMPV6_ECHO_REPLY;
		csum_apply(&ih->icmp6_cksum, csum_delta16(old, *word));
	}
	return SLOTLB_REASON_TX_ECHO;
}

#endif /* SLOTLB_ICMP_BPF_H */
