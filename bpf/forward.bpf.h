/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A packet's way through the two stages. From a client (to an
 * endpoint): a SYN makes a half-open entry, anything else follows its
 * established entry, else its half-open one (where the handshake's last
 * ACK promotes it), else the non-SYN policy (second chance). From a
 * backend (only on a backend interface): its established flow through
 * the reply mapping, else its half-open entry (SYN-ACKs, UDP answers and
 * second-chance answers, which promote). Every packet that leaves is
 * checked against its next hop's MTU first, so an ICMP error quotes it
 * as it came.
 *
 * The established client path is inlined into the entry; the rarer
 * paths are global functions, which the verifier checks once each
 * instead of once per caller.
 */
#ifndef SLOTLB_FORWARD_BPF_H
#define SLOTLB_FORWARD_BPF_H

#include "flow_new.bpf.h"
#include "icmp.bpf.h"
#include "drain.bpf.h"
#include "health.bpf.h"
#include "upgrade.bpf.h"

/* Where a forwarded packet went, for the verdict and for later
 * fragments of its datagram. */
struct outcome {
	__u32 ifindex; /* egress */
	__u32 side; /* SLOTLB_FRAG_DST or SLOTLB_FRAG_SRC */
	__be32 addr[4]; /* the address written */
	struct flow_ids ids;
};

/* The packet an ICMP error quotes (icmp_error.bpf.h). */
struct quoted {
	struct slotlb_flow_key key; /* its 5-tuple as it was sent */
	__u16 ip_off; /* offset of its IP header in the frame */
	__u16 l4_off; /* offset of its TCP/UDP header */
};

/* One run of the program over a packet, in the per-CPU scratch map
 * rather than on the 512-byte stack: the packet, and the working memory
 * of the paths that need more. */
struct run {
	struct packet pkt;
	struct outcome out;
	struct slotlb_endpoint_key ek; /* its destination as an endpoint */
	struct slotlb_endpoint ep; /* the endpoint it is for, if any */
	__u32 role; /* SLOTLB_ROLE_* of the ingress interface */
	__u32 now; /* clock_now() once read */
	struct slotlb_flow_key t; /* the flow, client -> endpoint */
	struct choice cur; /* backend of the slot's deployment */
	struct choice prev; /* of its previous deployment */
	struct choice before; /* under the app's element before its last
			       * change */
	struct promotion promo;
	struct promote_buf buf;
	struct packet inner; /* an ICMP error's flow as its client sends */
	struct quoted quoted; /* what an ICMP error quotes */
	struct legacy_note legacy; /* a new flow's reply entry for the old
				    * program, while an upgrade runs */
};

/* Runs on one CPU nest when a BPF_PROG_TEST_RUN is interrupted by a
 * softirq running the program on an attached interface. */
#define RUN_DEPTH 4

struct scratch {
	__u32 depth;
	__u32 pad;
	struct run runs[RUN_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct scratch);
	__uint(max_entries, 1);
} scratch SEC(".maps");

static __always_inline __u32 iface_role(__u32 ifindex)
{
	__u32 slot = ifindex % SLOTLB_MAX_IFACES;
	struct slotlb_iface *i = bpf_map_lookup_elem(&ifaces, &slot);

	if (i && i->ifindex == ifindex)
		return i->role;
	return SLOTLB_ROLE_PUBLIC;
}

/* A client side packet must come in where its flow's client does. */
static __always_inline bool client_side_ok(__u32 state, __u32 role)
{
	if (state & SLOTLB_FLOW_CLIENT_BACKSIDE)
		return role & SLOTLB_ROLE_BACKEND;
	return role & SLOTLB_ROLE_PUBLIC;
}

static __always_inline __u32 backside(__u32 role)
{
	return role & SLOTLB_ROLE_PUBLIC ? 0 : SLOTLB_FLOW_CLIENT_BACKSIDE;
}

static __always_inline bool is_backend_addr(const __be32 *addr, __u8 family)
{
	struct slotlb_addr_key key = {
		.family = family,
	};

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&backend_addrs, &key) != NULL;
}

/* Build "too big" from the endpoint's address (icmp.bpf.h); a global
 * function, so its checksum loop is verified once. */
__noinline int icmp_too_big_from(struct xdp_md *ctx, __u32 family, __u32 mtu,
				 const struct addr16 *src)
{
	struct addr16 sender;

	if (!ctx || !src)
		return SLOTLB_REASON_DROP_TRUNCATED;
	return icmp_too_big(ctx, family, mtu, src->a, sender.a);
}

/*
 * Send a packet of a flow: too big for the next hop and not to be
 * fragmented -> ICMP back (from endpoint); else rewrite, route, count.
 * nh_rc is what the next hop lookup returned.
 */
static __always_inline __u32
send_flow(struct xdp_md *ctx, const struct packet *pkt, struct outcome *out,
	  const __be32 *addr, __be16 port, enum nat_side side,
	  struct nexthop *nh, int nh_rc, const struct flow_ids *ids,
	  bool new_flow, __u32 reason, const __be32 *endpoint)
{
	int rc;

	if (nh_rc == -SLOTLB_REASON_DROP_FIB)
		return SLOTLB_REASON_DROP_FIB;
	if (nh_rc == -SLOTLB_REASON_PASS_FRAG_NEEDED ||
	    (!nh_rc && pkt->ip_len > nh->mtu)) {
		if (pkt->df)
			return icmp_too_big_from(
				ctx, pkt->key.family, nh->mtu,
				(const struct addr16 *)endpoint);
		nh_rc = -SLOTLB_REASON_PASS_FRAG_NEEDED;
	}
	rc = nat_rewrite(ctx, pkt, addr, port, side);
	if (rc < 0)
		return -rc;
	if (!nh_rc) {
		rc = nexthop_apply(ctx, pkt->key.family, nh);
		if (rc < 0)
			return -rc;
	}
	/* it leaves: from here, or rewritten through the kernel (which
	 * resolves the neighbour or fragments it); a new flow counts too */
	count_flow(ids, pkt->len, new_flow);
	if (pkt->frag == FRAG_FIRST) {
		/* What the datagram's later fragments must get (frag_first),
		 * also when this one leaves through the kernel. */
		out->side = side == NAT_DST ? SLOTLB_FRAG_DST : SLOTLB_FRAG_SRC;
		out->addr[0] = addr[0];
		if (pkt->key.family == AF_INET6)
			__builtin_memcpy(out->addr, addr, 16);
		out->ids = *ids;
	}
	if (nh_rc < 0)
		return -nh_rc;
	out->ifindex = nh->ifindex;
	return reason;
}

/* Send a client's packet to a chosen backend. */
static __always_inline __u32 send_to_choice(struct xdp_md *ctx, struct run *r,
					    const struct choice *c,
					    __u32 endpoint_id, bool new_flow,
					    __u32 reason)
{
	struct flow_ids ids = {endpoint_id, c->deployment_id, c->backend_id};
	const struct packet *pkt = &r->pkt;
	struct nexthop nh = {};
	int rc;

	if (new_flow)
		legacy_note_reply(&r->legacy, pkt, c->addr, c->port,
				  endpoint_id, c->deployment_id, c->backend_id);
	rc = nexthop_to_backend(ctx, pkt, c->backend_id, c->addr, r->now, &nh);
	return send_flow(ctx, pkt, &r->out, c->addr, c->port, NAT_DST, &nh, rc,
			 &ids, new_flow, reason, pkt->key.dst);
}

/* Put back a lost reply mapping (once a second per flow, so out of
 * line). */
__noinline int reply_map_check(const struct slotlb_flow_key *t,
			       const struct addr16 *backend, __u32 port)
{
	bool wrote;

	if (!t || !backend)
		return 0;
	if (!reply_map_ensure(t, backend->a, (__be16)port, &wrote) && wrote)
		count_event(SLOTLB_EVENT_REPLY_RESTORED);
	return 0;
}

/* A client's packet of an established flow (t: its tuple; now: the
 * clock; out: where it went). */
static __always_inline __u32 client_established(struct xdp_md *ctx,
						const struct packet *pkt,
						__u32 role, __u32 now,
						struct outcome *out,
						const struct slotlb_flow_key *t,
						const struct flow_ref *ref)
{
	struct slotlb_flow_state *st = ref->st;
	struct flow_ids ids = {st->endpoint_id, st->deployment_id,
			       st->backend_id};
	bool checks = backend_checks_armed();
	struct nexthop nh = {};
	int rc;

	if (!client_side_ok(st->state, role))
		return SLOTLB_REASON_DROP_WRONG_SIDE;
	/* The backend's drain ran out: end the flow (drain.bpf.h). */
	if (checks && drain_reset_due(pkt, st->backend_id, now)) {
		rc = tcp_reset_client(ctx, pkt, SLOTLB_REASON_TX_DRAIN_RESET);
		if (rc == SLOTLB_REASON_TX_DRAIN_RESET)
			state_set(&st->state, SLOTLB_FLOW_RST);
		return rc;
	}
	if (pkt->key.proto == IPPROTO_TCP) {
		/* Its backend failed its health checks: reset the client
		 * (and close the entry) if the slot says so. */
		struct slotlb_backend_health h = {};

		if (checks)
			h = backend_health_of(st->backend_id);
		if (h.down && h.tcp == SLOTLB_HEALTH_TCP_RESET &&
		    !(pkt->tcp_flags & TCP_FLAG_RST) &&
		    pkt->frag == FRAG_NONE) {
			state_set(&st->state, SLOTLB_FLOW_RST);
			return tcp_reset_client(
				ctx, pkt, SLOTLB_REASON_TX_RST_BACKEND_DOWN);
		}
		rc = tcp_from_client(st, pkt);
		if (rc < 0)
			return -rc;
	}
	/* Once a second: note the client is alive. A client that kept
	 * sending while nothing came back from its backend for longer than
	 * a next-hop refresh may have lost its reply mapping (its replies
	 * would pass untranslated): put it back. Sparse flows, idle since
	 * their last packet, skip the check (its cost is two random reads
	 * of the index). */
	if (clock_after(now, st->seen_client, clock_secs(1))) {
		bool active = !clock_after(now, st->seen_client, clock_secs(2));

		st->seen_client = now;
		if (active && clock_after(now, st->seen_backend,
					  clock_secs(2) + nexthop_ttl()))
			reply_map_check(t, (const struct addr16 *)ref->backend,
					st->backend_port);
	}
	rc = nexthop_to_backend(ctx, pkt, st->backend_id, ref->backend, now,
				&nh);
	return send_flow(ctx, pkt, out, ref->backend, st->backend_port, NAT_DST,
			 &nh, rc, &ids, false, SLOTLB_REASON_FORWARD,
			 pkt->key.dst);
}

/* The backend of an established flow as a choice. */
static __always_inline void
choice_of_flow(struct choice *c, const struct flow_ref *ref, __u8 family)
{
	c->deployment_id = ref->st->deployment_id;
	c->backend_id = ref->st->backend_id;
	c->port = ref->st->backend_port;
	c->addr[0] = ref->backend[0];
	c->addr[1] = 0;
	c->addr[2] = 0;
	c->addr[3] = 0;
	if (family == AF_INET6)
		__builtin_memcpy(c->addr, ref->backend, 16);
}

/*
 * A client's SYN: a new half-open entry (a retransmitted SYN keeps its
 * entry). On the 5-tuple of a live established flow it goes to that
 * flow's backend, which decides: it answers a challenge ACK if the
 * connection is alive there, or a SYN-ACK whose handshake then replaces
 * the entry; sending it to a new deployment's backend instead would let
 * a spoofed SYN after a swap open a second connection for a pinned
 * 5-tuple. Otherwise (or if that backend is down) the slot's deployment
 * chooses. One lookup (a miss,
 * usually) and one insert; the reply 5-tuple is checked at promotion,
 * where its mapping is written.
 */
__noinline int client_syn(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt;
	struct flow_ref ref;
	struct choice *c;
	__u32 cur, prev, state;
	int rc;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	c = &r->cur;
	tuple_from_client(&r->t, pkt);
	if (!established_lookup(&r->t, &ref) &&
	    !((state = ref.st->state) & SLOTLB_FLOW_SUPERSEDED) &&
	    !flow_closed(state) &&
	    !backend_health_of(ref.st->backend_id).down) {
		choice_of_flow(c, &ref, pkt->key.family);
		if (!client_side_ok(state, r->role))
			return SLOTLB_REASON_DROP_WRONG_SIDE;
	} else {
		rc = choose_new(&r->ep, pkt, flow_hash(&pkt->key), &cur, &prev,
				c);
		if (rc < 0)
			return -rc;
	}
	rc = new_insert(pkt, &r->ep, c, SLOTLB_FLOW_SYN | backside(r->role),
			r->now);
	if (rc < 0)
		return -rc;
	if (rc)
		count_tcp(c->deployment_id, COUNT_HANDSHAKE);
	/* A retransmitted SYN (rc 0) is no new flow; its reply entry for
	 * an upgrade's old program is noted all the same. */
	if (!rc)
		legacy_note_reply(&r->legacy, pkt, c->addr, c->port,
				  r->ep.endpoint_id, c->deployment_id,
				  c->backend_id);
	return send_to_choice(ctx, r, c, r->ep.endpoint_id, rc != 0,
			      SLOTLB_REASON_FORWARD);
}

/* The handshake's last ACK: it acknowledges the backend's ISN + 1. */
static __always_inline bool handshake_done(const struct packet *pkt,
					   const struct slotlb_flow_new *h)
{
	return (pkt->tcp_flags &
		(TCP_FLAG_ACK | TCP_FLAG_SYN | TCP_FLAG_RST)) == TCP_FLAG_ACK &&
	       (h->state & SLOTLB_FLOW_SYNACK) &&
	       pkt->ack == h->backend_isn + 1;
}

/* A client's packet on a half-open flow toward c: the handshake's last
 * ACK promotes it; a refused second chance moves to the current
 * deployment (cur). */
static __always_inline __u32 client_on_new(struct xdp_md *ctx, struct run *r,
					   struct slotlb_flow_new *h,
					   const struct choice *c,
					   const struct choice *cur)
{
	const struct packet *pkt = &r->pkt;
	struct promotion *p = &r->promo;
	__u8 f = pkt->tcp_flags;
	int rc;

	if (pkt->key.proto == IPPROTO_TCP) {
		if ((h->state & SLOTLB_FLOW_REFUSED) && cur) {
			rc = new_insert(pkt, &r->ep, cur,
					SLOTLB_FLOW_TRIAL | backside(r->role),
					r->now);
			if (rc < 0)
				return -rc;
			return send_to_choice(ctx, r, cur, r->ep.endpoint_id,
					      true,
					      SLOTLB_REASON_FORWARD_NONSYN);
		}
		/* Refused, and the current deployment chooses that very
		 * backend: it is the current one's trial now, whose RST
		 * reaches the client. */
		if ((h->state & SLOTLB_FLOW_REFUSED) && c == &r->cur)
			state_clear(&h->state,
				    SLOTLB_FLOW_REFUSED |
					    SLOTLB_FLOW_TRIAL_PREVIOUS);
		if (f & TCP_FLAG_RST)
			state_set(&h->state, SLOTLB_FLOW_RST);
		if (f & TCP_FLAG_FIN)
			state_set(&h->state, SLOTLB_FLOW_FIN_CLIENT);
		if (f & TCP_FLAG_ACK)
			h->client_ack = pkt->ack;
		rc = 0;
		if (handshake_done(pkt, h)) {
			new_promotion(p, h, pkt->ack, h->backend_ack, NULL);
			rc = new_promote(h, &r->t, c->addr, c->port, p,
					 &r->buf);
		} else if ((h->state & SLOTLB_FLOW_VERIFIED) &&
			   r->now / clock_secs(1) != h->seen / clock_secs(1)) {
			/* Once a second: the first packet of each second
			 * (seen moves with every packet, so a busy flow
			 * was never idle for a second to retry). */
			new_promotion(p, h, h->client_ack, h->backend_ack,
				      NULL);
			rc = new_promote(h, &r->t, c->addr, c->port, p,
					 &r->buf);
		}
		if (rc < 0)
			return -rc;
	}
	if (h->seen != r->now)
		h->seen = r->now;
	return send_to_choice(ctx, r, c, h->endpoint_id, false,
			      SLOTLB_REASON_FORWARD);
}

/* The half-open entry of p's handshake under the backend that
 * deployment dep's ring before its last republish gives it (seen: the
 * backend its current ring gives, looked up already), its backend in
 * r->before. Only for a TCP handshake its backend answered: a client's
 * last ACK of it, or an ICMP error (error) about its SYN-ACK. */
static __always_inline struct slotlb_flow_new *
half_open_in_history(struct run *r, const struct packet *p, bool error,
		     __u32 hash, __u32 dep, const struct choice *seen)
{
	struct slotlb_flow_new *h;
	__u32 id;

	if (p->key.proto != IPPROTO_TCP ||
	    (!error && (p->tcp_flags & (TCP_FLAG_ACK | TCP_FLAG_SYN |
					TCP_FLAG_RST)) != TCP_FLAG_ACK))
		return NULL;
	id = ring_lookup(&ring_history, dep, p->key.family, hash);
	if (!id || id == seen->backend_id || choose_id(dep, id, p, &r->before))
		return NULL;
	h = new_lookup(p, &r->before, r->now);
	if (!h || (h->state & SLOTLB_FLOW_PROMOTED))
		return NULL;
	if (error ? !(h->state & SLOTLB_FLOW_SYNACK) : !handshake_done(p, h))
		return NULL;
	return h;
}

/*
 * A handshake (or a UDP flow not answered yet) that crossed a change
 * after its first packet, which went
 *   - where the app's element before its last change sent this client
 *     (a change of the app's rules), or else
 *   - where the ring of the slot's deployment cur, or else of its
 *     previous one prev, sent it before its last republish
 *     (ring_history: a backend drained or reweighted between the SYN
 *     and the ACK); only for a TCP handshake its backend answered: the
 *     client's last ACK of it, or an ICMP error about its SYN-ACK.
 * The client's packet is r->pkt; for an ICMP error (icmp_to_backend)
 * r->inner, the client's view of the flow it quotes. That half-open
 * entry, its backend in r->before; NULL if neither holds one other than
 * those of cur's current ring (r->cur) and of prev, looked up already.
 * Only a miss of those comes here, never an established packet. Out of
 * line: its frame would push the caller's past the stack bound.
 */
static __noinline struct slotlb_flow_new *
half_open_before(struct run *r, __u32 hash, __u32 cur, __u32 prev)
{
	bool error = is_icmp(&r->pkt);
	const struct packet *p = error ? &r->inner : &r->pkt;
	__u32 before = client_deployment_before(&r->ep, &p->key);
	struct slotlb_flow_new *h;

	if (before && before != cur && before != prev &&
	    !choose(before, p, hash, &r->before)) {
		h = new_lookup(p, &r->before, r->now);
		if (h)
			return h;
	}
	/* The ring before a republish: only for a TCP handshake its
	 * backend answered (a UDP flow or a trial chooses again). A
	 * backend marked down since is then treated as its pinned flows
	 * are (the slot's policy). The current deployment's ring first,
	 * then the previous one's (a swap, then a republish of the
	 * deployment the SYN went to). */
	if (!cur)
		return NULL;
	h = half_open_in_history(r, p, error, hash, cur, &r->cur);
	if (!h && prev && prev != cur)
		h = half_open_in_history(r, p, error, hash, prev, &r->prev);
	return h;
}

/*
 * A client's packet with no live established entry. has_est: a closed
 * or superseded one exists, followed if nothing newer is under way.
 */
__noinline int client_half_open(struct xdp_md *ctx, struct run *r,
				__u32 has_est)
{
	const struct packet *pkt;
	__u32 hash, cur, prev, state;
	struct slotlb_flow_new *h, *hp = NULL;
	struct choice *c, *pc, *hc;
	struct flow_ref ref;
	bool have_cur, have_prev;
	int rc;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	c = &r->cur;
	pc = &r->prev;
	hash = flow_hash(&pkt->key);
	tuple_from_client(&r->t, pkt);
	have_cur = !choose_new(&r->ep, pkt, hash, &cur, &prev, c);
	h = have_cur ? new_lookup(pkt, c, r->now) : NULL;
	have_prev = prev && prev != cur && !choose(prev, pkt, hash, pc);
	hc = NULL;
	/* A handshake's last ACK for another ISN: its SYN-ACK came from
	 * the previous deployment (the SYN was sent again across a swap
	 * and both answered; the client took the previous one's). */
	if (h &&
	    !(pkt->key.proto == IPPROTO_TCP &&
	      (h->state & SLOTLB_FLOW_SYNACK) &&
	      (pkt->tcp_flags & TCP_FLAG_ACK) && !handshake_done(pkt, h))) {
		hc = c;
	} else {
		if (have_prev) {
			hp = new_lookup(pkt, pc, r->now);
			if (hp && (!h || handshake_done(pkt, hp)))
				hc = pc;
		}
		if (!hc) {
			hp = half_open_before(r, hash, cur, prev);
			if (hp && (!h || handshake_done(pkt, hp)))
				hc = &r->before;
		}
		if (hc)
			h = hp;
		else if (h)
			hc = c;
	}
	if (hc)
		return client_on_new(ctx, r, h, hc,
				     hc != c && have_cur ? c : NULL);
	if (has_est && !established_lookup(&r->t, &ref)) {
		/* A SYN on a live pinned flow went to the flow's backend
		 * (client_syn), whichever deployment chooses it now: the
		 * handshake's last ACK completes there. */
		choice_of_flow(&r->before, &ref, pkt->key.family);
		hp = new_lookup(pkt, &r->before, r->now);
		if (hp && handshake_done(pkt, hp))
			return client_on_new(ctx, r, hp, &r->before, NULL);
		return client_established(ctx, pkt, r->role, r->now, &r->out,
					  &r->t, &ref);
	}
	if (!have_cur)
		return cur ? SLOTLB_REASON_DROP_NO_BACKEND
			   : SLOTLB_REASON_DROP_NO_DEPLOYMENT;
	if (pkt->key.proto == IPPROTO_UDP) {
		rc = new_insert(pkt, &r->ep, c, backside(r->role), r->now);
		if (rc < 0)
			return -rc;
		return send_to_choice(ctx, r, c, r->ep.endpoint_id, true,
				      SLOTLB_REASON_FORWARD);
	}
	if (nonsyn_policy == SLOTLB_NONSYN_DROP)
		return SLOTLB_REASON_DROP_NONSYN_MISS;
	/* Second chance: the flow most likely began before the slot's last
	 * change, on the backend its previous deployment chose. */
	state = SLOTLB_FLOW_TRIAL | backside(r->role);
	if (have_prev) {
		state |= SLOTLB_FLOW_TRIAL_PREVIOUS;
		c = pc;
		count_event(SLOTLB_EVENT_SECOND_CHANCE);
	}
	rc = new_insert(pkt, &r->ep, c, state, r->now);
	if (rc < 0)
		return -rc;
	return send_to_choice(ctx, r, c, r->ep.endpoint_id, true,
			      SLOTLB_REASON_FORWARD_NONSYN);
}

/* A packet to an endpoint address but no endpoint: a flow pinned to an
 * endpoint that has since been deleted, or none of ours. */
__noinline int to_endpoint_addr(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt;
	struct flow_ref ref;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	tuple_from_client(&r->t, pkt);
	if (established_lookup(&r->t, &ref))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	/* A SYN on an ended flow's tuple is a new connection: the deleted
	 * endpoint takes none. */
	if (pkt->key.proto == IPPROTO_TCP && tcp_is_syn(pkt) &&
	    (flow_closed(ref.st->state) ||
	     (ref.st->state & SLOTLB_FLOW_SUPERSEDED)))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	r->now = clock_now();
	return client_established(ctx, pkt, r->role, r->now, &r->out, &r->t,
				  &ref);
}

/* A backend's packet of an established flow. */
static __always_inline __u32
backend_established(struct xdp_md *ctx, struct run *r,
		    const struct slotlb_flow_key *t, const struct flow_ref *ref)
{
	const struct packet *pkt = &r->pkt;
	struct slotlb_flow_state *st = ref->st;
	struct flow_ids ids = {st->endpoint_id, st->deployment_id,
			       st->backend_id};
	struct nexthop nh = {};
	int rc = 0;

	if (pkt->key.proto == IPPROTO_TCP) {
		tcp_from_backend(st, pkt);
		if (pkt->tcp_flags & TCP_FLAG_RST)
			count_tcp(st->deployment_id, COUNT_BACKEND_RESET);
	}
	/* The next hop toward the client is the entry's, refreshed (and
	 * the backend noted alive) once per nexthop_ttl. */
	if (st->nh_ifindex &&
	    !clock_after(r->now, st->seen_backend, nexthop_ttl())) {
		nh.ifindex = st->nh_ifindex;
		nh.mtu = st->nh_mtu;
		__builtin_memcpy(nh.dmac, st->nh_dmac, ETH_ALEN);
		__builtin_memcpy(nh.smac, st->nh_smac, ETH_ALEN);
	} else {
		rc = fib_nexthop(ctx, pkt, t->dst, pkt->key.dst, &nh);
		st->nh_ifindex = rc ? 0 : nh.ifindex;
		if (!rc) {
			st->nh_mtu = nh.mtu;
			__builtin_memcpy(st->nh_dmac, nh.dmac, ETH_ALEN);
			__builtin_memcpy(st->nh_smac, nh.smac, ETH_ALEN);
		}
		st->seen_backend = r->now;
	}
	return send_flow(ctx, pkt, &r->out, t->dst, t->dport, NAT_SRC, &nh, rc,
			 &ids, false, SLOTLB_REASON_REPLY, t->dst);
}

/* A backend's packet on a half-open flow: records the SYN-ACK, and
 * promotes on a UDP answer or a second chance's answer; the RST of a
 * refused second chance is kept from the client. */
static __always_inline __u32 backend_half_open(struct xdp_md *ctx,
					       struct run *r,
					       struct slotlb_flow_new *h)
{
	const struct packet *pkt = &r->pkt;
	struct flow_ids ids = {h->endpoint_id, h->deployment_id, h->backend_id};
	struct nexthop nh = {};
	struct slotlb_flow_key *t = &r->t;
	bool verified = false;
	__u8 f = pkt->tcp_flags;
	int rc, prc;

	new_tuple(t, pkt, h);
	if (pkt->key.proto == IPPROTO_TCP) {
		if (f & TCP_FLAG_RST) {
			if ((h->state & SLOTLB_FLOW_TRIAL_PREVIOUS) &&
			    !(h->state & SLOTLB_FLOW_PROMOTED)) {
				state_set(&h->state, SLOTLB_FLOW_REFUSED);
				return SLOTLB_REASON_DROP_SECOND_CHANCE;
			}
			state_set(&h->state, SLOTLB_FLOW_RST);
			count_tcp(h->deployment_id, COUNT_BACKEND_RESET);
		} else if (tcp_is_synack(pkt)) {
			if ((h->state & SLOTLB_FLOW_SYN) &&
			    !(h->state & SLOTLB_FLOW_SYNACK))
				count_tcp(h->deployment_id, COUNT_SYNACK);
			if (h->state & SLOTLB_FLOW_SYN) {
				struct flow_ref ref;

				h->backend_isn = pkt->seq;
				h->backend_ack = pkt->ack;
				state_set(&h->state, SLOTLB_FLOW_SYNACK);
				/* The SYN chose afresh on the 5-tuple of a
				 * pinned flow of another backend (that one is
				 * down): its last ACK may replace the entry
				 * (the same backend's case: from_backend). */
				if (!(h->state & SLOTLB_FLOW_PROMOTED) &&
				    !established_lookup(t, &ref) &&
				    !backend_is(&ref, pkt->key.src,
						pkt->key.sport,
						pkt->key.family) &&
				    !flow_closed(ref.st->state) &&
				    !(ref.st->state & SLOTLB_FLOW_SUPERSEDED)) {
					state_set(&ref.st->state,
						  SLOTLB_FLOW_SUPERSEDED);
					count_event(SLOTLB_EVENT_SUPERSEDED);
				}
			}
		} else {
			if (f & TCP_FLAG_FIN)
				state_set(&h->state, SLOTLB_FLOW_FIN_BACKEND);
			if (f & TCP_FLAG_ACK)
				h->backend_ack = pkt->ack;
			verified = (h->state & SLOTLB_FLOW_TRIAL) &&
				   !(h->state & SLOTLB_FLOW_REFUSED);
		}
	} else {
		verified = true; /* a UDP answer */
	}
	if (h->seen != r->now)
		h->seen = r->now;
	rc = fib_nexthop(ctx, pkt, t->dst, pkt->key.dst, &nh);
	if (verified && !(h->state & SLOTLB_FLOW_PROMOTED)) {
		new_promotion(&r->promo, h, h->client_ack,
			      pkt->key.proto == IPPROTO_TCP ? pkt->ack : 0,
			      rc ? NULL : &nh);
		prc = new_promote(h, t, pkt->key.src, pkt->key.sport, &r->promo,
				  &r->buf);
		if (prc < 0)
			return -prc;
	}
	return send_flow(ctx, pkt, &r->out, t->dst, t->dport, NAT_SRC, &nh, rc,
			 &ids, false, SLOTLB_REASON_REPLY, t->dst);
}

/* A backend's packet of a flow the previous layout's program pinned and
 * an upgrade under way has not converted yet (upgrade.bpf.h): back to
 * the client from the endpoint, as layout 1's reply entry or layout 2's
 * half-open entry says. */
static __always_inline __u32 backend_unconverted(struct xdp_md *ctx,
						 struct run *r)
{
	const struct packet *pkt = &r->pkt;
	struct legacy_route to;
	struct nexthop nh = {};
	struct flow_ids ids;
	int rc;

	if (!legacy_route_of(&pkt->key, &to))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	ids.endpoint_id = to.endpoint_id;
	ids.deployment_id = to.deployment_id;
	ids.backend_id = to.backend_id;
	rc = fib_nexthop(ctx, pkt, to.endpoint, pkt->key.dst, &nh);
	return send_flow(ctx, pkt, &r->out, to.endpoint, to.port, NAT_SRC, &nh,
			 rc, &ids, false, SLOTLB_REASON_REPLY, to.endpoint);
}

/* A packet on a backend interface: a reply of a tracked flow (found
 * first, by its 5-tuple), a backend's packet of a half-open flow, one
 * of a flow an upgrade has not converted yet, or the host's business
 * (PASS_NOT_ENDPOINT). */
__noinline int from_backend(struct xdp_md *ctx, struct run *r)
{
	struct slotlb_flow_new *h = NULL;
	const struct packet *pkt;
	struct flow_ref ref;
	bool found;

	if (!ctx || !r)
		return SLOTLB_REASON_DROP_MALFORMED;
	pkt = &r->pkt;
	found = !reply_lookup(&pkt->key, &r->t, &ref);
	/* Half-open flows only have backends on the other end. */
	if (!found && !is_backend_addr(pkt->key.src, pkt->key.family))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	r->now = clock_now();
	if (!found || (pkt->key.proto == IPPROTO_TCP && tcp_is_synack(pkt)))
		h = bpf_map_lookup_elem(&flows_new, &pkt->key);
	if (found && h) {
		/* A SYN-ACK on a pinned 5-tuple: if a new handshake is under
		 * way there, its last ACK may replace the entry. */
		if (!(h->state & SLOTLB_FLOW_SYN) ||
		    (h->state & SLOTLB_FLOW_PROMOTED))
			h = NULL;
		else if (!flow_closed(ref.st->state)) {
			state_set(&ref.st->state, SLOTLB_FLOW_SUPERSEDED);
			count_event(SLOTLB_EVENT_SUPERSEDED);
		}
	}
	if (h)
		return backend_half_open(ctx, r, h);
	if (found)
		return backend_established(ctx, r, &r->t, &ref);
	return backend_unconverted(ctx, r);
}

/* Not for an endpoint: on a backend interface a reply of a tracked flow;
 * to an endpoint address, a pinned flow whose endpoint was deleted;
 * anything else is the host's own traffic and passes untouched. A
 * public interface never looks at the backend side. */
static __always_inline __u32 not_to_endpoint(struct xdp_md *ctx, struct run *r)
{
	const struct packet *pkt = &r->pkt;
	__u32 reason;

	if (r->role & SLOTLB_ROLE_BACKEND) {
		reason = from_backend(ctx, r);
		if (reason != SLOTLB_REASON_PASS_NOT_ENDPOINT)
			return reason;
	}
	if (!is_endpoint_addr(pkt->key.dst, pkt->key.family))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	return to_endpoint_addr(ctx, r);
}

#endif /* SLOTLB_FORWARD_BPF_H */
