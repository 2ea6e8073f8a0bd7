/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NAT forwarding: rewrite the destination (client -> backend) or the
 * source (backend -> client) with incremental IP and L4 checksum
 * updates, and find the next hop with bpf_fib_lookup. Next hops are
 * cached: toward a backend in a per-CPU table by backend id, toward a
 * client in the flow's entry, each for nexthop_ttl. The host is the
 * backends' gateway, so the kernel's routing and neighbour tables are
 * the truth for both directions.
 */
#ifndef SLOTLB_NAT_BPF_H
#define SLOTLB_NAT_BPF_H

#include "csum.bpf.h"
#include "parse.bpf.h"
#include "clock.bpf.h"

/* Which address and port of the packet to rewrite. */
enum nat_side {
	NAT_DST, /* forward: endpoint -> backend */
	NAT_SRC, /* reply: backend -> endpoint */
};

/* A next hop: where a packet leaves and with which MACs. */
struct nexthop {
	__u32 ifindex;
	__u16 mtu;
	__u8 dmac[6];
	__u8 smac[6];
};

/* The L4 checksum and port of the packet to rewrite. A later fragment
 * has neither (port NULL). */
static __always_inline int nat_l4(struct xdp_md *ctx, const struct packet *pkt,
				  __u32 addr_delta, __be16 port,
				  enum nat_side side)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	void *l4 = data + (pkt->l4_off & 0xff);
	__be16 *p;

	if (pkt->frag == FRAG_LATER)
		return 0;
	if (pkt->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		p = side == NAT_DST ? &th->dest : &th->source;
		csum_apply(&th->check, addr_delta + csum_delta16(*p, port));
		*p = port;
		return 0;
	} else {
		struct udphdr *uh = l4;

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
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;
		__be32 *a;

		if ((void *)(ip6h + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		a = side == NAT_DST ? ip6h->daddr.in6_u.u6_addr32
				    : ip6h->saddr.in6_u.u6_addr32;
		delta = csum_delta_addr(a, addr, true);
		__builtin_memcpy(a, addr, 16);
	}
	return nat_l4(ctx, pkt, delta, port, side);
}

/* Load-time setting: how long a next hop is reused. */
const volatile __u32 nexthop_ttl_ms = SLOTLB_DEFAULT_NEXTHOP_TTL_MS;

static __always_inline __u32 nexthop_ttl(void)
{
	return nexthop_ttl_ms * CONFIG_HZ / 1000;
}

/* An address as a global function takes it (4 or 16 bytes used). */
struct addr16 {
	__be32 a[4];
};

/*
 * bpf_fib_lookup for a packet from src to dst of ip_len bytes (after
 * the rewrite), without touching the packet. FRAG_NEEDED leaves the
 * route's MTU in nh->mtu; on success nh->mtu is the egress device's.
 * A global function: its 64-byte parameter block lives in its own
 * frame, verified once.
 */
__noinline int fib_lookup_nexthop(struct xdp_md *ctx, const struct packet *pkt,
				  const struct addr16 *src,
				  const struct addr16 *dst, struct nexthop *nh)
{
	struct bpf_fib_lookup fib = {};
	__u32 mtu = 0;
	int rc;

	if (!ctx || !pkt || !src || !dst || !nh)
		return -SLOTLB_REASON_DROP_FIB;
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = pkt->key.proto;
	fib.tot_len = pkt->ip_len;
	if (pkt->key.family == AF_INET) {
		fib.family = AF_INET;
		fib.ipv4_src = src->a[0];
		fib.ipv4_dst = dst->a[0];
	} else {
		fib.family = AF_INET6;
		__builtin_memcpy(fib.ipv6_src, src->a, 16);
		__builtin_memcpy(fib.ipv6_dst, dst->a, 16);
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
		nh->mtu = fib.mtu_result;
		return -SLOTLB_REASON_PASS_FRAG_NEEDED;
	default:
		return -SLOTLB_REASON_DROP_FIB;
	}
	nh->ifindex = fib.ifindex;
	__builtin_memcpy(nh->dmac, fib.dmac, ETH_ALEN);
	__builtin_memcpy(nh->smac, fib.smac, ETH_ALEN);
	bpf_check_mtu(ctx, fib.ifindex, &mtu, 0, 0);
	if (!mtu)
		mtu = 0xffff;
	/* On success mtu_result holds the route's MTU (5.12, as
	 * bpf_check_mtu): a route may be smaller than its device, and a
	 * cached next hop must not forget it. */
	if (fib.mtu_result && fib.mtu_result < mtu)
		mtu = fib.mtu_result;
	nh->mtu = mtu;
	return 0;
}

static __always_inline int fib_nexthop(struct xdp_md *ctx,
				       const struct packet *pkt,
				       const __be32 *src, const __be32 *dst,
				       struct nexthop *nh)
{
	return fib_lookup_nexthop(ctx, pkt, (const struct addr16 *)src,
				  (const struct addr16 *)dst, nh);
}

/* Next hop toward a backend: this CPU's cached one, or a fresh lookup
 * that is then cached. */
static __always_inline int nexthop_to_backend(struct xdp_md *ctx,
					      const struct packet *pkt,
					      __u32 backend_id,
					      const __be32 *backend_addr,
					      __u32 now, struct nexthop *nh)
{
	__u32 slot = backend_id % SLOTLB_NEXTHOP_SLOTS;
	struct slotlb_nexthop *c;
	int rc;

	c = bpf_map_lookup_elem(&nexthops, &slot);
	if (c && c->backend_id == backend_id &&
	    !clock_after(now, c->updated, nexthop_ttl())) {
		nh->ifindex = c->ifindex;
		nh->mtu = c->mtu;
		__builtin_memcpy(nh->dmac, c->dmac, ETH_ALEN);
		__builtin_memcpy(nh->smac, c->smac, ETH_ALEN);
		return 0;
	}
	rc = fib_nexthop(ctx, pkt, pkt->key.src, backend_addr, nh);
	if (rc < 0 || !c)
		return rc;
	c->backend_id = backend_id;
	c->updated = now;
	c->ifindex = nh->ifindex;
	c->mtu = nh->mtu;
	__builtin_memcpy(c->dmac, nh->dmac, ETH_ALEN);
	__builtin_memcpy(c->smac, nh->smac, ETH_ALEN);
	return 0;
}

/* Send the packet to a next hop: MACs, TTL / hop limit. */
static __always_inline int nexthop_apply(struct xdp_md *ctx, __u8 family,
					 const struct nexthop *nh)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6h;
	struct iphdr *iph;

	if ((void *)(eth + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);
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
