/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The half-open stage (flows_new): flows not verified yet. A SYN, a
 * first UDP datagram or a non-SYN packet that missed (second chance)
 * makes one entry here, keyed by the reply 5-tuple, and nothing in the
 * established stage. A client's later packets find it by choosing the
 * backend again: the slot's current deployment, then its previous one
 * (a handshake that crossed a swap), then the app's element before its
 * last change and the ring before its last republish
 * (forward.bpf.h, half_open_before). Verification promotes it
 * (flow.bpf.h): the client's ACK of the backend's SYN-ACK sequence
 * number plus one, which only a client that received the SYN-ACK can
 * send; or, for UDP and second chances, the backend's own answer.
 */
#ifndef SLOTLB_FLOW_NEW_BPF_H
#define SLOTLB_FLOW_NEW_BPF_H

#include "flow.bpf.h"
#include "select.bpf.h"

/* A backend chosen for a client's flow. */
struct choice {
	__u32 deployment_id;
	__u32 backend_id;
	__be32 addr[4];
	__be16 port;
};

/* Backend backend_id of deployment dep (0: none) as a choice. */
static __always_inline int choose_id(__u32 dep, __u32 backend_id,
				     const struct packet *pkt, struct choice *c)
{
	const struct slotlb_backend *be;

	c->deployment_id = dep;
	c->backend_id = backend_id;
	if (!c->backend_id)
		return -SLOTLB_REASON_DROP_NO_BACKEND;
	be = bpf_map_lookup_elem(&backends, &c->backend_id);
	if (!be || be->family != pkt->key.family)
		return -SLOTLB_REASON_DROP_NO_BACKEND;
	__builtin_memcpy(c->addr, be->addr, sizeof(c->addr));
	c->port = be->port;
	return 0;
}

/* The backend deployment dep's ring gives this flow. */
static __always_inline int choose(__u32 dep, const struct packet *pkt,
				  __u32 hash, struct choice *c)
{
	return choose_id(dep, ring_backend(dep, pkt->key.family, hash), pkt, c);
}

/* The backend of a client's new flow: the slot's deployment (*dep, 0:
 * none) and its ring, read own slot first (client_deployment_ring). */
static __always_inline int choose_new(const struct slotlb_endpoint *ep,
				      const struct packet *pkt, __u32 hash,
				      __u32 *dep, __u32 *prev, struct choice *c)
{
	__u32 own = 0, own_backend = 0, backend;

	*dep = client_deployment_ring(ep, &pkt->key, prev, hash, &own,
				      &own_backend);
	if (!*dep)
		return -SLOTLB_REASON_DROP_NO_DEPLOYMENT;
	backend = *dep == own ? own_backend
			      : ring_backend(*dep, pkt->key.family, hash);
	return choose_id(*dep, backend, pkt, c);
}

/* Key of the half-open entry of a client's packet toward a choice. */
static __always_inline void new_key(struct slotlb_flow_key *k,
				    const struct packet *pkt,
				    const struct choice *c)
{
	__builtin_memcpy(k->src, c->addr, 16);
	__builtin_memcpy(k->dst, pkt->key.src, 16);
	k->sport = c->port;
	k->dport = pkt->key.sport;
	k->proto = pkt->key.proto;
	k->family = pkt->key.family;
	k->pad[0] = 0;
	k->pad[1] = 0;
}

/* Idle past its stage's timeout? */
static __always_inline bool new_expired(const struct slotlb_flow_new *h,
					__u8 proto, __u32 now)
{
	__u32 timeout;

	if (proto == IPPROTO_UDP)
		timeout = udp_timeout_s;
	else if (h->state & SLOTLB_FLOW_VERIFIED)
		timeout = tcp_timeout_s;
	else
		timeout = tcp_handshake_timeout_s;
	return clock_after(now, h->seen, clock_secs(timeout));
}

/* What started a half-open flow. */
#define NEW_ORIGIN (SLOTLB_FLOW_SYN | SLOTLB_FLOW_TRIAL)

/* Loose close of a half-open flow: a RST, or FINs both ways. */
static __always_inline bool new_closed(__u32 state)
{
	return (state & SLOTLB_FLOW_RST) ||
	       (state & (SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND)) ==
		       (SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND);
}

static __always_inline bool new_is_endpoint(const struct slotlb_flow_new *h,
					    const struct packet *pkt)
{
	return h->endpoint_port == pkt->key.dport &&
	       addr_eq(h->endpoint, pkt->key.dst, AF_INET6);
}

/* The live half-open entry of this client packet toward c, if any. */
static __always_inline struct slotlb_flow_new *
new_lookup(const struct packet *pkt, const struct choice *c, __u32 now)
{
	struct slotlb_flow_key k;
	struct slotlb_flow_new *h;

	new_key(&k, pkt, c);
	h = bpf_map_lookup_elem(&flows_new, &k);
	if (!h || !new_is_endpoint(h, pkt) ||
	    new_expired(h, pkt->key.proto, now))
		return NULL;
	return h;
}

/*
 * Is the flow of half-open entry h, for another endpoint than this
 * packet's, still live on c? A promoted entry stays in flows_new, but
 * its flow's close is recorded in the established entry: ended there
 * (closed or gone, or moved to another backend), its reply 5-tuple is
 * free. Otherwise the same client port toward another endpoint whose
 * deployment shares the backend (after a swap, staging holds the
 * backends production used) was refused for as long as the old entry
 * lived. t: room for the other flow's tuple (the caller's key).
 */
static __always_inline bool other_flow_live(const struct packet *pkt,
					    const struct slotlb_flow_new *h,
					    const struct choice *c,
					    struct slotlb_flow_key *t)
{
	struct flow_ref ref;

	if (!(h->state & SLOTLB_FLOW_PROMOTED))
		return true;
	*t = pkt->key;
	__builtin_memcpy(t->dst, h->endpoint, 16);
	t->dport = h->endpoint_port;
	if (established_lookup(t, &ref))
		return false;
	return !flow_closed(ref.st->state) &&
	       backend_is(&ref, c->addr, c->port, pkt->key.family);
}

/*
 * Write a client's new half-open entry toward c. A live entry of the
 * same reply 5-tuple for another endpoint means the backend would see
 * two flows as one: refused. 1: a new entry was written; 0: the packet
 * retransmits the one that made the live entry.
 */
static __noinline int new_insert(const struct packet *pkt,
				 const struct slotlb_endpoint *ep,
				 const struct choice *c, __u32 state, __u32 now)
{
	struct slotlb_flow_new v = {
		.endpoint_port = pkt->key.dport,
		.backend_id = c->backend_id,
		.deployment_id = c->deployment_id,
		.endpoint_id = ep->endpoint_id,
		.state = state,
		.seen = now,
		.start = now,
		.client_seq = pkt->seq,
		.client_ack = pkt->ack,
	};
	struct slotlb_flow_key k;
	struct slotlb_flow_new *h;

	__builtin_memcpy(v.endpoint, pkt->key.dst, 16);
	new_key(&k, pkt, c);
	if (!bpf_map_update_elem(&flows_new, &k, &v, BPF_NOEXIST))
		return 1;
	h = bpf_map_lookup_elem(&flows_new, &k);
	if (h && !new_expired(h, pkt->key.proto, now) &&
	    !new_closed(h->state)) {
		if (!new_is_endpoint(h, pkt)) {
			if (other_flow_live(pkt, h, c, &k))
				return -SLOTLB_REASON_DROP_REPLY_COLLISION;
			new_key(&k, pkt, c);
		}
		/* A retransmission of the packet that made it: the flow
		 * keeps its start. */
		if (h->client_seq == pkt->seq &&
		    (h->state & NEW_ORIGIN) == (state & NEW_ORIGIN)) {
			h->seen = now;
			return 0;
		}
		/* Another SYN on a handshake the backend has answered: a
		 * blind SYN would otherwise wipe the SYN-ACK's ISN and keep
		 * the client's last ACK from promoting the flow. The SYN
		 * goes on to the backend, which decides; a new SYN-ACK
		 * records its ISN (backend_half_open). */
		if ((state & SLOTLB_FLOW_SYN) && (h->state & SLOTLB_FLOW_SYN) &&
		    (h->state & SLOTLB_FLOW_SYNACK) &&
		    !(h->state & SLOTLB_FLOW_PROMOTED))
			return 0;
	}
	/* A retransmitted SYN, or a 5-tuple used again: start afresh. */
	if (bpf_map_update_elem(&flows_new, &k, &v, BPF_ANY))
		return -SLOTLB_REASON_DROP_FLOW_TABLE;
	return 1;
}

/* The tuple and promotion data of a half-open flow, seen from a
 * backend's packet (backend -> client). */
static __always_inline void new_tuple(struct slotlb_flow_key *t,
				      const struct packet *pkt,
				      const struct slotlb_flow_new *h)
{
	__builtin_memcpy(t->src, pkt->key.dst, 16);
	__builtin_memcpy(t->dst, h->endpoint, 16);
	t->sport = pkt->key.dport;
	t->dport = h->endpoint_port;
	t->proto = pkt->key.proto;
	t->family = pkt->key.family;
	t->pad[0] = 0;
	t->pad[1] = 0;
}

static __always_inline void new_promotion(struct promotion *p,
					  const struct slotlb_flow_new *h,
					  __u32 ack_client, __u32 ack_backend,
					  const struct nexthop *nh)
{
	p->backend_id = h->backend_id;
	p->deployment_id = h->deployment_id;
	p->endpoint_id = h->endpoint_id;
	p->state = h->state;
	p->ack_client = ack_client;
	p->ack_backend = ack_backend;
	p->start = h->start;
	p->has_nh = !!nh;
	if (nh)
		p->nh = *nh;
}

/*
 * Promote a half-open flow once; concurrent packets of the same flow on
 * other CPUs see PROMOTED and leave it. On no room the flow stays here,
 * VERIFIED, and tries again on a later packet. When a live flow of
 * another endpoint holds its reply 5-tuple the packet is dropped
 * (-DROP_REPLY_COLLISION) and the flow stays unverified.
 */
static __always_inline int
new_promote(struct slotlb_flow_new *h, const struct slotlb_flow_key *t,
	    const __be32 *backend, __be16 backend_port,
	    const struct promotion *p, struct promote_buf *b)
{
	int rc;

	if (__sync_fetch_and_or(&h->state, SLOTLB_FLOW_PROMOTED) &
	    SLOTLB_FLOW_PROMOTED)
		return 0;
	rc = flow_promote(t, (const struct addr16 *)backend, backend_port, p,
			  b);
	if (!rc)
		return 0;
	if (rc == PROMOTE_FULL)
		state_set(&h->state, SLOTLB_FLOW_VERIFIED);
	state_clear(&h->state, SLOTLB_FLOW_PROMOTED);
	return rc == PROMOTE_HELD ? -SLOTLB_REASON_DROP_REPLY_COLLISION : 0;
}

#endif /* SLOTLB_FLOW_NEW_BPF_H */
