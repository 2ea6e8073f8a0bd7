/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Direct server return (apps in SLOTLB_MODE_DSR): a client's packet to
 * one of the app's endpoints is encapsulated, untouched, in GUE over UDP
 * toward a backend (abi.h, struct slotlb_gue) and never rewritten; the
 * backend answers the client directly, so the balancer sees one
 * direction only and keeps no TCP state. Each packet carries two
 * candidates: the backend it is sent to and a second one, where the
 * backend agent (bpf/backend_agent.bpf.c) sends a non-SYN packet that no
 * local socket owns. The candidates:
 *   SYN                 the slot's deployment's choice; no second
 *   pinned here         the pin; second: the current choice if it
 *                       differs, else the previous deployment's
 *   not pinned here     the current choice; second: the previous
 *                       deployment's (a flow that began before the
 *                       slot's last change, or on another node)
 * A SYN and a UDP flow's first datagram pin the flow in dsr_flows.
 * IPv4 only; a fragment is dropped (its later fragments carry no ports
 * to choose a backend with).
 */
#ifndef SLOTLB_DSR_BPF_H
#define SLOTLB_DSR_BPF_H

#include "forward.bpf.h"

/* Flows of DSR apps and their backend (abi.h, SLOTLB_DSR_FLOWS). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct slotlb_flow_key);
	__type(value, struct slotlb_dsr_flow);
	__uint(max_entries, SLOTLB_DSR_FLOWS);
} dsr_flows SEC(".maps");

#define DSR_UDP_OFF (L3_OFF + sizeof(struct iphdr))
#define DSR_GUE_OFF (DSR_UDP_OFF + sizeof(struct udphdr))
#define DSR_INNER_OFF (L3_OFF + SLOTLB_DSR_OVERHEAD)
#define IPPROTO_IPIP_ 4

/* The app's forwarding mode (enum slotlb_mode). */
static __always_inline __u32 app_mode(__u32 app_id)
{
	const struct slotlb_routing *r = routing_element(app_id);

	return r ? r->mode : SLOTLB_MODE_NAT;
}

/* Full checksum of a 20-byte IPv4 header. */
static __always_inline __u16 dsr_ip_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return (__u16)~csum_fold(sum);
}

/*
 * Put outer IPv4, UDP and GUE headers before the packet: from the
 * endpoint address (the packet's destination) to first, with second as
 * the second candidate (NULL: none). The Ethernet header moves to the
 * front as it came (the kernel accepts it so if it must route the
 * outer packet); the caller writes the next hop's MACs.
 */
static __always_inline int dsr_encap(struct xdp_md *ctx,
				     const struct packet *pkt,
				     const __be32 *first, const __be32 *second,
				     __u32 hash)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth, *neth;
	struct iphdr *inner = data + L3_OFF, *outer;
	struct udphdr *udp;
	struct slotlb_gue *gue;
	__u8 tos;

	if ((void *)(inner + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(&eth, data, sizeof(eth));
	tos = inner->tos;
	if (bpf_xdp_adjust_head(ctx, -(int)SLOTLB_DSR_OVERHEAD))
		return -SLOTLB_REASON_DROP_FIB;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + DSR_INNER_OFF > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	neth = data;
	__builtin_memcpy(neth, &eth, sizeof(eth));
	outer = data + L3_OFF;
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = tos;
	outer->tot_len = bpf_htons(pkt->ip_len + SLOTLB_DSR_OVERHEAD);
	outer->id = 0;
	outer->frag_off = bpf_htons(IP_DF);
	outer->ttl = 64;
	outer->protocol = IPPROTO_UDP;
	outer->check = 0;
	outer->saddr = pkt->key.dst[0];
	outer->daddr = first[0];
	outer->check = dsr_ip_csum(outer);
	udp = data + DSR_UDP_OFF;
	/* Entropy for ECMP/RSS on the way: the flow's hash. */
	udp->source = bpf_htons(0xc000 | (hash & 0x3fff));
	udp->dest = bpf_htons(SLOTLB_GUE_PORT);
	udp->len = bpf_htons(pkt->ip_len + SLOTLB_DSR_OVERHEAD -
			     sizeof(struct iphdr));
	udp->check = 0;
	gue = data + DSR_GUE_OFF;
	gue->hlen = (sizeof(*gue) - 4) / 4;
	gue->proto = IPPROTO_IPIP_;
	gue->flags = 0;
	gue->magic = bpf_htons(SLOTLB_GUE_MAGIC);
	gue->hops = second ? 1 : 0;
	gue->pad = 0;
	gue->second[0] = second ? second[0] : 0;
	gue->second[1] = 0;
	gue->second[2] = 0;
	gue->second[3] = 0;
	return 0;
}

/* Send the packet toward c, encapsulated; second: the second candidate
 * or NULL. Too big once encapsulated: ICMP "fragmentation needed" from
 * the endpoint with the MTU left for the inner packet. */
static __always_inline __u32 dsr_send(struct xdp_md *ctx, struct run *r,
				      const struct choice *c,
				      const __be32 *second, __u32 hash,
				      bool new_flow)
{
	struct flow_ids ids = {r->ep.endpoint_id, c->deployment_id,
			       c->backend_id};
	const struct packet *pkt = &r->pkt;
	struct nexthop nh = {};
	void *data, *data_end;
	struct ethhdr *eth;
	int rc, erc;

	rc = nexthop_to_backend(ctx, pkt, c->backend_id, c->addr, r->now, &nh);
	if (rc == -SLOTLB_REASON_DROP_FIB)
		return SLOTLB_REASON_DROP_FIB;
	if (rc == -SLOTLB_REASON_PASS_FRAG_NEEDED ||
	    (!rc && pkt->ip_len + SLOTLB_DSR_OVERHEAD > nh.mtu)) {
		/* A tunnel cannot fragment for the client (the backend
		 * would have to reassemble the outer datagram before its
		 * agent sees it): ask for smaller packets, DF or not. */
		__u32 mtu = nh.mtu > SLOTLB_DSR_OVERHEAD + 68
				    ? nh.mtu - SLOTLB_DSR_OVERHEAD
				    : 68;

		return icmp_too_big_from(ctx, AF_INET, mtu,
					 (const struct addr16 *)pkt->key.dst);
	}
	erc = dsr_encap(ctx, pkt, c->addr, second, hash);
	if (erc < 0)
		return -erc;
	count_flow(&ids, pkt->len, new_flow);
	if (rc < 0) /* no neighbour yet: the kernel routes the outer one */
		return -rc;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return SLOTLB_REASON_DROP_TRUNCATED;
	__builtin_memcpy(eth->h_dest, nh.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, nh.smac, ETH_ALEN);
	r->out.ifindex = nh.ifindex;
	return SLOTLB_REASON_FORWARD;
}

/* Pin a flow to c (a SYN, a UDP flow's first datagram). */
static __always_inline void dsr_pin(const struct run *r, const struct choice *c)
{
	struct slotlb_dsr_flow v = {
		.backend_id = c->backend_id,
		.deployment_id = c->deployment_id,
		.seen = r->now,
	};

	v.backend_addr[0] = c->addr[0];
	bpf_map_update_elem(&dsr_flows, &r->pkt.key, &v, BPF_ANY);
}

/* A client's packet to an endpoint of a DSR app, with no NAT state. */
__noinline int dsr_forward(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt;
	struct slotlb_dsr_flow *pin;
	struct choice *c, *pc;
	__u32 hash, cur, prev;
	bool have_cur, have_prev, syn, tcp;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	c = &r->cur;
	pc = &r->prev;
	/* slotlbd refuses IPv6 endpoints for DSR apps; no tunnel for one
	 * that got here anyway. */
	if (pkt->key.family != AF_INET)
		return SLOTLB_REASON_DROP_NO_BACKEND;
	if (pkt->frag != FRAG_NONE)
		return SLOTLB_REASON_DROP_FRAGMENT;
	tcp = pkt->key.proto == IPPROTO_TCP;
	syn = tcp && tcp_is_syn(pkt);
	hash = flow_hash(&pkt->key);
	have_cur = !choose_new(&r->ep, pkt, hash, &cur, &prev, c);
	have_prev = prev && prev != cur && !choose(prev, pkt, hash, pc);
	pin = syn ? NULL : bpf_map_lookup_elem(&dsr_flows, &pkt->key);
	/* A flow idle for its timeout chooses again, as in NAT (and as
	 * slotlbd's drain counts it: libslotlb flows.c, info_dsr()). */
	if (pin && clock_after(r->now, pin->seen,
			       clock_secs(tcp ? tcp_timeout_s : udp_timeout_s)))
		pin = NULL;
	if (pin && !backend_health_of(pin->backend_id).down) {
		/* The pin first; a flow that moved (a new SYN on another
		 * node) is with the current choice, else the previous. */
		__be32 first[4] = {pin->backend_addr[0]};
		struct choice p = {
			.deployment_id = pin->deployment_id,
			.backend_id = pin->backend_id,
		};

		if (pin->seen != r->now)
			pin->seen = r->now;
		p.addr[0] = first[0];
		if (have_cur && c->addr[0] != first[0])
			return dsr_send(ctx, r, &p, tcp ? c->addr : NULL, hash,
					false);
		return dsr_send(ctx, r, &p,
				tcp && have_prev && pc->addr[0] != first[0]
					? pc->addr
					: NULL,
				hash, false);
	}
	if (!have_cur) {
		if (!have_prev || syn)
			return cur ? SLOTLB_REASON_DROP_NO_BACKEND
				   : SLOTLB_REASON_DROP_NO_DEPLOYMENT;
		/* The slot is empty now: its previous deployment may still
		 * own the flow. */
		return dsr_send(ctx, r, pc, NULL, hash, false);
	}
	if (syn || !tcp) {
		dsr_pin(r, c);
		return dsr_send(ctx, r, c, NULL, hash, true);
	}
	if (nonsyn_policy == SLOTLB_NONSYN_DROP)
		return SLOTLB_REASON_DROP_NONSYN_MISS;
	if (have_prev && pc->addr[0] != c->addr[0]) {
		count_event(SLOTLB_EVENT_SECOND_CHANCE);
		return dsr_send(ctx, r, c, pc->addr, hash, false);
	}
	return dsr_send(ctx, r, c, NULL, hash, false);
}

#endif /* SLOTLB_DSR_BPF_H */
