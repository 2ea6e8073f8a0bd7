/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * ICMP arriving at the program. Errors (IPv4 destination unreachable,
 * including fragmentation needed, and time exceeded; IPv6 destination
 * unreachable, packet too big, time exceeded) about a tracked flow are
 * translated like the flow's packets: one from the public side quotes a
 * packet the balancer sent a client (endpoint -> client) and goes to the
 * flow's backend, rewritten as if about the backend's own packet; one
 * from the backend side quotes a packet sent to a backend (client ->
 * backend) and goes to the client, rewritten as if about the client's
 * packet to the endpoint, from the endpoint's address, so no backend
 * address leaks. Outer and quoted headers and every checksum are
 * updated. An error to an endpoint address about no known flow is
 * dropped; echo requests to an endpoint address are answered
 * (icmp.bpf.h); other ICMP is the kernel's.
 */
#ifndef SLOTLB_ICMP_ERROR_BPF_H
#define SLOTLB_ICMP_ERROR_BPF_H

#include "forward.bpf.h"

static __always_inline bool icmp_is_error(const struct packet *pkt)
{
	if (pkt->key.family == AF_INET)
		return pkt->icmp_type == ICMP_DEST_UNREACH ||
		       pkt->icmp_type == ICMP_TIME_EXCEEDED;
	return pkt->icmp_type == ICMPV6_DEST_UNREACH ||
	       pkt->icmp_type == ICMPV6_PKT_TOOBIG ||
	       pkt->icmp_type == ICMPV6_TIME_EXCEED;
}

/* Parse the quoted IP header and the first 8 bytes of its TCP/UDP
 * header (all an error must carry). */
static __always_inline int
icmp_quoted(struct xdp_md *ctx, const struct packet *pkt, struct quoted *q)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 ip_off = (pkt->l4_off & 0xff) + sizeof(struct icmphdr);
	struct udphdr *uh;

	q->ip_off = ip_off;
	q->key.family = pkt->key.family;
	if (pkt->key.family == AF_INET) {
		struct iphdr *iph = data + ip_off;

		if ((void *)(iph + 1) > data_end)
			return -1;
		if (iph->version != 4 || iph->ihl != 5)
			return -1;
		q->key.proto = iph->protocol;
		q->key.src[0] = iph->saddr;
		q->key.dst[0] = iph->daddr;
		q->l4_off = ip_off + sizeof(*iph);
	} else {
		struct ipv6hdr *ip6h = data + ip_off;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		if (ip6h->version != 6)
			return -1;
		q->key.proto = ip6h->nexthdr;
		__builtin_memcpy(q->key.src, &ip6h->saddr, 16);
		__builtin_memcpy(q->key.dst, &ip6h->daddr, 16);
		q->l4_off = ip_off + sizeof(*ip6h);
	}
	if (q->key.proto != IPPROTO_TCP && q->key.proto != IPPROTO_UDP)
		return -1;
	uh = data + (q->l4_off & 0xff);
	if ((void *)(uh + 1) > data_end)
		return -1;
	q->key.sport = uh->source;
	q->key.dport = uh->dest;
	return 0;
}

/* Set a 16-bit word of the packet, returning its checksum delta. */
static __always_inline __u32 put16(__u16 *p, __u16 v)
{
	__u32 d = csum_delta16(*p, v);

	*p = v;
	return d;
}

/* Set an address (4 or 16 bytes) of the packet, returning its delta. */
static __always_inline __u32 put_addr(__be32 *p, const __be32 *v, bool ipv6)
{
	__u32 d = csum_delta_addr(p, v, ipv6);

	p[0] = v[0];
	if (ipv6) {
		p[1] = v[1];
		p[2] = v[2];
		p[3] = v[3];
	}
	return d;
}

/*
 * Rewrite an ICMP error: the quoted packet's source (or destination)
 * address and port, its IP and L4 checksums, and one outer address;
 * then the ICMP checksum by the sum of what changed inside it (plus, for
 * ICMPv6, the pseudo header's change).
 */
static __always_inline int icmp_rewrite(struct xdp_md *ctx,
					const struct packet *pkt,
					const struct quoted *q, bool inner_src,
					const __be32 *addr, __be16 port,
					bool outer_src, const __be32 *outer)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	bool v6 = pkt->key.family == AF_INET6;
	__u32 icmp_delta = 0, addr_delta, port_delta;
	__u16 *csum, fixed;
	__be32 *a;
	__be16 *p;

	/* The quoted IP header. */
	if (!v6) {
		struct iphdr *iph = data + (q->ip_off & 0xff);

		if ((void *)(iph + 1) > data_end)
			return -1;
		a = inner_src ? &iph->saddr : &iph->daddr;
		addr_delta = csum_delta_addr(a, addr, false);
		icmp_delta += put_addr(a, addr, false);
		fixed = iph->check;
		csum_apply(&fixed, addr_delta);
		icmp_delta += put16(&iph->check, fixed);
	} else {
		struct ipv6hdr *ip6h = data + (q->ip_off & 0xff);

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		a = inner_src ? ip6h->saddr.in6_u.u6_addr32
			      : ip6h->daddr.in6_u.u6_addr32;
		addr_delta = csum_delta_addr(a, addr, true);
		icmp_delta += put_addr(a, addr, true);
	}
	/* The quoted TCP/UDP header: port, and the checksum when quoted. */
	{
		struct tcphdr *th = data + (q->l4_off & 0xff);
		struct udphdr *uh = (void *)th;

		if ((void *)(uh + 1) > data_end)
			return -1;
		p = inner_src ? &uh->source : &uh->dest;
		port_delta = csum_delta16(*p, port);
		icmp_delta += put16(p, port);
		if (q->key.proto == IPPROTO_UDP) {
			if (uh->check) {
				fixed = uh->check;
				csum_apply(&fixed, addr_delta + port_delta);
				icmp_delta += put16(&uh->check,
						    fixed ? fixed : 0xffff);
			}
		} else if ((void *)(th + 1) <= data_end) {
			fixed = th->check;
			csum_apply(&fixed, addr_delta + port_delta);
			icmp_delta += put16(&th->check, fixed);
		}
	}
	/* The outer header. */
	if (!v6) {
		struct iphdr *iph = data + L3_OFF;

		if ((void *)(iph + 1) > data_end)
			return -1;
		a = outer_src ? &iph->saddr : &iph->daddr;
		csum_apply(&iph->check, put_addr(a, outer, false));
		csum = (__u16 *)(data + L4_OFF_V4 + 2);
	} else {
		struct ipv6hdr *ip6h = data + L3_OFF;

		if ((void *)(ip6h + 1) > data_end)
			return -1;
		a = outer_src ? ip6h->saddr.in6_u.u6_addr32
			      : ip6h->daddr.in6_u.u6_addr32;
		icmp_delta += put_addr(a, outer, true); /* pseudo header */
		csum = (__u16 *)(data + L4_OFF_V6 + 2);
	}
	if ((void *)(csum + 1) > data_end)
		return -1;
	csum_apply(csum, icmp_delta);
	return 0;
}

/* An error from the public side about endpoint -> client: to the flow's
 * backend. */
static __always_inline __u32 icmp_to_backend(struct xdp_md *ctx, struct run *r,
					     const struct quoted *q)
{
	const struct packet *pkt = &r->pkt;
	struct packet *cp = &r->inner;
	struct slotlb_flow_key *t = &r->t;
	struct choice *c = &r->cur;
	struct flow_ref ref;
	struct flow_ids ids;
	struct nexthop nh = {};
	__be32 backend[4] = {};
	__be16 backend_port;
	__u32 now = clock_now(), backend_id;
	int rc;

	/* The client's view of the flow the quoted packet belongs to. */
	__builtin_memset(cp, 0, sizeof(*cp));
	__builtin_memcpy(cp->key.src, q->key.dst, 16);
	__builtin_memcpy(cp->key.dst, q->key.src, 16);
	cp->key.sport = q->key.dport;
	cp->key.dport = q->key.sport;
	cp->key.proto = q->key.proto;
	cp->key.family = q->key.family;
	tuple_from_client(t, cp);
	if (!established_lookup(t, &ref)) {
		backend[0] = ref.backend[0];
		if (t->family == AF_INET6)
			__builtin_memcpy(backend, ref.backend, 16);
		backend_port = ref.st->backend_port;
		backend_id = ref.st->backend_id;
		ids.endpoint_id = ref.st->endpoint_id;
		ids.deployment_id = ref.st->deployment_id;
	} else {
		struct slotlb_endpoint_key ek = {
			.port = cp->key.dport,
			.proto = cp->key.proto,
			.family = cp->key.family,
		};
		struct slotlb_flow_new *h = NULL;
		struct slotlb_endpoint *ep;
		__u32 hash = flow_hash(&cp->key), dep, prev;

		__builtin_memcpy(ek.addr, cp->key.dst, 16);
		ep = bpf_map_lookup_elem(&endpoints, &ek);
		if (!ep)
			return SLOTLB_REASON_DROP_ICMP;
		r->ep = *ep;
		r->now = now;
		dep = client_deployment(ep, &cp->key, &prev);
		if (dep && !choose(dep, cp, hash, c))
			h = new_lookup(cp, c, now);
		if (!h && prev && prev != dep &&
		    !choose(prev, cp, hash, &r->prev)) {
			h = new_lookup(cp, &r->prev, now);
			if (h)
				c = &r->prev;
		}
		/* A handshake that crossed a change of the app's rules or
		 * a republish of its ring (as its last ACK would). */
		if (!h) {
			h = half_open_before(r, hash, dep, prev);
			if (h)
				c = &r->before;
		}
		if (!h)
			return SLOTLB_REASON_DROP_ICMP;
		__builtin_memcpy(backend, c->addr, 16);
		backend_port = c->port;
		backend_id = c->backend_id;
		ids.endpoint_id = h->endpoint_id;
		ids.deployment_id = h->deployment_id;
	}
	ids.backend_id = backend_id;
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	rc = nexthop_to_backend(ctx, pkt, backend_id, backend, now, &nh);
	if (rc == -SLOTLB_REASON_PASS_FRAG_NEEDED)
		rc = -SLOTLB_REASON_DROP_FIB; /* an error never gets one */
	if (icmp_rewrite(ctx, pkt, q, true, backend, backend_port, false,
			 backend))
		return SLOTLB_REASON_DROP_TRUNCATED;
	if (rc < 0)
		return -rc;
	if (nexthop_apply(ctx, pkt->key.family, &nh))
		return SLOTLB_REASON_DROP_TRUNCATED;
	count_flow(&ids, pkt->len, false);
	r->out.ifindex = nh.ifindex;
	return SLOTLB_REASON_FORWARD_ICMP;
}

/* An error from the backend side about client -> backend: to the
 * client, from the endpoint. */
static __always_inline __u32 icmp_to_client(struct xdp_md *ctx, struct run *r,
					    const struct quoted *q)
{
	const struct packet *pkt = &r->pkt;
	struct slotlb_flow_key *rk = &r->inner.key;
	struct slotlb_flow_key *t = &r->t;
	struct slotlb_flow_new *h;
	struct flow_ref ref;
	struct flow_ids ids;
	struct nexthop nh = {};
	int rc;

	/* The backend's view: backend -> client. */
	__builtin_memcpy(rk->src, q->key.dst, 16);
	__builtin_memcpy(rk->dst, q->key.src, 16);
	rk->sport = q->key.dport;
	rk->dport = q->key.sport;
	rk->proto = q->key.proto;
	rk->family = q->key.family;
	rk->pad[0] = 0;
	rk->pad[1] = 0;
	if (!reply_lookup(rk, t, &ref)) {
		ids.endpoint_id = ref.st->endpoint_id;
		ids.deployment_id = ref.st->deployment_id;
		ids.backend_id = ref.st->backend_id;
	} else {
		h = bpf_map_lookup_elem(&flows_new, rk);
		if (!h)
			return SLOTLB_REASON_PASS_NOT_ENDPOINT;
		__builtin_memcpy(t->dst, h->endpoint, 16);
		t->dport = h->endpoint_port;
		ids.endpoint_id = h->endpoint_id;
		ids.deployment_id = h->deployment_id;
		ids.backend_id = h->backend_id;
	}
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	rc = fib_nexthop(ctx, pkt, t->dst, pkt->key.dst, &nh);
	if (rc == -SLOTLB_REASON_PASS_FRAG_NEEDED)
		rc = -SLOTLB_REASON_DROP_FIB;
	if (icmp_rewrite(ctx, pkt, q, false, t->dst, t->dport, true, t->dst))
		return SLOTLB_REASON_DROP_TRUNCATED;
	if (rc < 0)
		return -rc;
	if (nexthop_apply(ctx, pkt->key.family, &nh))
		return SLOTLB_REASON_DROP_TRUNCATED;
	count_flow(&ids, pkt->len, false);
	r->out.ifindex = nh.ifindex;
	return SLOTLB_REASON_REPLY_ICMP;
}

/* Every ICMP packet (not a fragment). */
__noinline int icmp_in(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt;
	bool to_endpoint_addr;
	struct quoted *q;
	__u32 reason, role;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	q = &r->quoted;
	__builtin_memset(q, 0, sizeof(*q));
	role = r->role;
	to_endpoint_addr = is_endpoint_addr(pkt->key.dst, pkt->key.family);

	if (!icmp_is_error(pkt)) {
		if (to_endpoint_addr &&
		    pkt->icmp_type == (pkt->key.family == AF_INET
					       ? ICMP_ECHO
					       : ICMPV6_ECHO_REQUEST))
			return icmp_echo_reply(ctx, pkt);
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	}
	if (icmp_quoted(ctx, pkt, q))
		return to_endpoint_addr ? SLOTLB_REASON_DROP_ICMP
					: SLOTLB_REASON_PASS_NOT_ENDPOINT;
	/* About a packet from an endpoint (to a client)? */
	if ((role & SLOTLB_ROLE_PUBLIC) && to_endpoint_addr &&
	    is_endpoint_addr(q->key.src, q->key.family))
		return icmp_to_backend(ctx, r, q);
	/* About a packet to a backend (from a client)? */
	if ((role & SLOTLB_ROLE_BACKEND) &&
	    is_backend_addr(q->key.dst, q->key.family)) {
		reason = icmp_to_client(ctx, r, q);
		if (reason != SLOTLB_REASON_PASS_NOT_ENDPOINT)
			return reason;
	}
	return to_endpoint_addr ? SLOTLB_REASON_DROP_ICMP
				: SLOTLB_REASON_PASS_NOT_ENDPOINT;
}

#endif /* SLOTLB_ICMP_ERROR_BPF_H */
