/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fragments of TCP and UDP datagrams to endpoints and from backends.
 * The first fragment carries the ports: it takes the flow's way like a
 * whole datagram (its L4 checksum, which covers the whole datagram, is
 * updated incrementally), and what was done is remembered under the
 * datagram's (source, destination, protocol, id). Later fragments get
 * the same address rewrite and next hop. A later fragment whose first
 * was not seen (reordered ahead of it, or its entry evicted) to an
 * endpoint address or from a backend is dropped and counted
 * (drop_fragment): it can never leave un-NATed.
 */
#ifndef SLOTLB_FRAG_BPF_H
#define SLOTLB_FRAG_BPF_H

#include "forward.bpf.h"

static __always_inline void frag_key(struct slotlb_frag_key *k,
				     const struct packet *pkt)
{
	__builtin_memcpy(k->src, pkt->key.src, 16);
	__builtin_memcpy(k->dst, pkt->key.dst, 16);
	k->id = pkt->frag_id;
	k->proto = pkt->key.proto;
	k->family = pkt->key.family;
	k->pad[0] = 0;
	k->pad[1] = 0;
}

/* Could a fragment of this packet's datagram be a flow's? */
static __always_inline bool frag_maybe_ours(const struct packet *pkt,
					    __u32 role)
{
	if (is_endpoint_addr(pkt->key.dst, pkt->key.family))
		return true;
	return (role & SLOTLB_ROLE_BACKEND) &&
	       is_backend_addr(pkt->key.src, pkt->key.family);
}

/* After the first fragment went its way (out, reason): remember it for
 * the rest. */
__noinline int frag_first(const struct packet *pkt, const struct outcome *out,
			  __u32 role, __u32 reason)
{
	struct slotlb_frag v = {
		.seen = clock_now(),
	};
	struct slotlb_frag_key k;

	if (!pkt || !out)
		return 0;

	switch (reason) {
	case SLOTLB_REASON_FORWARD:
	case SLOTLB_REASON_FORWARD_NONSYN:
	case SLOTLB_REASON_REPLY:
	case SLOTLB_REASON_PASS_NO_NEIGH: /* rewritten, through the kernel */
	case SLOTLB_REASON_PASS_FRAG_NEEDED:
		if (out->side != SLOTLB_FRAG_DST &&
		    out->side != SLOTLB_FRAG_SRC)
			return 0;
		v.action = out->side;
		__builtin_memcpy(v.addr, out->addr, 16);
		v.backend_id = out->ids.backend_id;
		v.deployment_id = out->ids.deployment_id;
		v.endpoint_id = out->ids.endpoint_id;
		break;
	case SLOTLB_REASON_PASS_NOT_ENDPOINT:
		if (!frag_maybe_ours(pkt, role))
			return 0;
		v.action = SLOTLB_FRAG_PASS;
		break;
	default:
		return 0;
	}
	frag_key(&k, pkt);
	if (!bpf_map_update_elem(&fragments, &k, &v, BPF_ANY))
		count_event(SLOTLB_EVENT_FRAGMENT_TRACKED);
	return 0;
}

/* A fragment after the first. */
__noinline int frag_later(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt;
	struct slotlb_frag_key k;
	struct nexthop nh = {};
	struct flow_ids ids;
	struct slotlb_frag *f;
	__u32 now = clock_now(), role;
	int rc;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	role = r->role;
	frag_key(&k, pkt);
	f = bpf_map_lookup_elem(&fragments, &k);
	if (!f ||
	    clock_after(now, f->seen, clock_secs(SLOTLB_FRAGMENT_TIMEOUT_S)))
		return frag_maybe_ours(pkt, role)
			       ? SLOTLB_REASON_DROP_FRAGMENT
			       : SLOTLB_REASON_PASS_NOT_ENDPOINT;
	if (f->action == SLOTLB_FRAG_PASS)
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	/* A reply's fragment only from a backend interface: the public
	 * side is never taken as a backend's, whatever its source. */
	if (f->action == SLOTLB_FRAG_SRC && !(role & SLOTLB_ROLE_BACKEND))
		return frag_maybe_ours(pkt, role)
			       ? SLOTLB_REASON_DROP_FRAGMENT
			       : SLOTLB_REASON_PASS_NOT_ENDPOINT;
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	ids.endpoint_id = f->endpoint_id;
	ids.deployment_id = f->deployment_id;
	ids.backend_id = f->backend_id;
	if (f->action == SLOTLB_FRAG_DST) {
		rc = nexthop_to_backend(ctx, pkt, f->backend_id, f->addr, now,
					&nh);
		return send_flow(ctx, pkt, &r->out, f->addr, 0, NAT_DST, &nh,
				 rc, &ids, false, SLOTLB_REASON_FORWARD,
				 pkt->key.dst);
	}
	rc = fib_nexthop(ctx, pkt, f->addr, pkt->key.dst, &nh);
	return send_flow(ctx, pkt, &r->out, f->addr, 0, NAT_SRC, &nh, rc, &ids,
			 false, SLOTLB_REASON_REPLY, f->addr);
}

#endif /* SLOTLB_FRAG_BPF_H */
