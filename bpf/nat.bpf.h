/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NAT forwarding: rewrite the destination (client -> backend) or the
 * source (backend -> client) with incremental IP and L4 checksum
 * updates, then send it to the next hop bpf_fib_lookup gave (cached per
 * flow for a short while) with the MACs filled in. The host is the backends'
 * gateway, so the kernel's routing and neighbour tables are the truth for both
 * directions.
 */
#ifndef SLOTLB_NAT_BPF_H
#define SLOTLB_NAT_BPF_H

#include "csum.bpf.h"
#include "parse.bpf.h"

/* Which address and port of the packet to rewrite. */
enum nat_side {
	NAT_DST, /* forward: endpoint -> backend */
	NAT_SRC, /* reply: backend -> endpoint */
};

static __always_inline int nat_l4(void *l4, void *data_end, __u8 proto,
				  __u32 addr_delta, __be16 port,
				  enum nat_side side)
{
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__be16 *p;

		if ((void *)(th + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		p = side == NAT_DST ? &th->dest : &th->source;
		csum_apply(&th->check, addr_delta + csum_delta16(*p, port));
		*p = port;
		return 0;
	} else {
		struct udphdr *uh = l4;
		__be16 *p;

		if ((void *)(uh + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		p = side == NAT_DST ? &uh->dest : &uh->source;
		/* IPv4 UDP may carry no checksum (0); keep it that way. */
		if (uh->check) {
			csum_apply(&uh->check,
				   addr_delta + csum_delta16(*p, port));
			if (!uh->check)
				uh->check = (__sum16)0xffff;
		}
		*p = port;
		return 0;
	}
}

/* Rewrite one side's address and port; pkt->key is left as parsed. */
static __always_inline int nat_rewrite(struct xdp_md *ctx,
				       const struct packet *pkt,
				       const __be32 *addr, __be16 port,
				       enum nat_side side)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 delta;

	if (pkt->key.family == AF_INET) {
		struct iphdr *iph = data + L3_OFF;
		__be32 *a;

		if ((void *)(iph + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		a = side == NAT_DST ? &iph->daddr : &iph->saddr;
		delta = csum_delta32(*a, addr[0]);
		csum_apply(&iph->check, delta);
		*a = addr[0];
		return nat_l4(data + L4_OFF_V4, data_end, pkt->key.proto, delta,
			      port, side);
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;
		__be32 *a;

		if ((void *)(ip6h + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		a = side == NAT_DST ? ip6h->daddr.in6_u.u6_addr32
				    : ip6h->saddr.in6_u.u6_addr32;
		delta = csum_delta_addr(a, addr, true);
		__builtin_memcpy(a, addr, 16);
		return nat_l4(data + L4_OFF_V6, data_end, pkt->key.proto, delta,
			      port, side);
	}
}

/* Load-time setting: how long a flow reuses its next hop. */
const volatile __u64 nexthop_ttl_ns =
	SLOTLB_DEFAULT_NEXTHOP_TTL_MS * 1000000ULL;

/*
 * One FIB lookup on the rewritten packet, cached in the flow entry: the
 * lookup is the largest single cost of a forwarded packet (~180 ns
 * here), and a flow's next hop changes only with routes or neighbours.
 */
static __always_inline int nexthop_lookup(struct xdp_md *ctx, __u8 family,
					  struct slotlb_flow *flow, __u64 now)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct ipv6hdr *ip6h;
	struct iphdr *iph;
	int rc;

	fib.ifindex = ctx->ingress_ifindex;
	if (family == AF_INET) {
		iph = data + L3_OFF;
		if ((void *)(iph + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		fib.family = AF_INET;
		fib.tos = iph->tos;
		fib.l4_protocol = iph->protocol;
		fib.tot_len = bpf_ntohs(iph->tot_len);
		fib.ipv4_src = iph->saddr;
		fib.ipv4_dst = iph->daddr;
	} else {
		ip6h = data + L3_OFF;
		if ((void *)(ip6h + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		fib.family = AF_INET6;
		fib.l4_protocol = ip6h->nexthdr;
		fib.tot_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);
		__builtin_memcpy(fib.ipv6_src, &ip6h->saddr, 16);
		__builtin_memcpy(fib.ipv6_dst, &ip6h->daddr, 16);
	}

	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	switch (rc) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		/* The kernel forwards the rewritten packet and resolves the
		 * neighbour; a later packet finds it and caches it. */
		return -SLOTLB_REASON_PASS_NO_NEIGH;
	case BPF_FIB_LKUP_RET_FRAG_NEEDED:
		return -SLOTLB_REASON_PASS_FRAG_NEEDED;
	default:
		return -SLOTLB_REASON_DROP_FIB;
	}
	flow->nh_ifindex = fib.ifindex;
	__builtin_memcpy(flow->nh_dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(flow->nh_smac, fib.smac, ETH_ALEN);
	flow->nh_time_ns = now;
	return 0;
}

/* Send the packet to the flow's next hop: MACs, TTL / hop limit. */
static __always_inline int nexthop_apply(struct xdp_md *ctx, __u8 family,
					 const struct slotlb_flow *flow)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;

	if ((void *)(eth + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(eth->h_dest, flow->nh_dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, flow->nh_smac, ETH_ALEN);
	if (family == AF_INET) {
		iph = data + L3_OFF;
		if ((void *)(iph + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		/* TTL shares a 16-bit checksum word with the protocol. */
		csum_apply(&iph->check, csum_delta16(bpf_htons(0x0100), 0));
		iph->ttl--;
	} else {
		ip6h = data + L3_OFF;
		if ((void *)(ip6h + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		ip6h->hop_limit--;
	}
	return 0;
}

#endif /* SLOTLB_NAT_BPF_H */
