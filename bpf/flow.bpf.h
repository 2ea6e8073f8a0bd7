/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The established stage: one entry per verified flow, client ->
 * endpoint (flows4 / flows6), found from a reply through its reply
 * mapping (the reply index for IPv4, replies6 for IPv6). Entries are
 * written only by a promotion from the half-open stage (flow_new.bpf.h)
 * and leave only through the GC (closed past its linger, or idle past
 * its timeout), so no unverified packet can push one out.
 *
 * TCP state follows RFC 5961's rules as far as a middlebox can: a RST
 * closes a flow only when its sequence number is exactly the other
 * side's last acknowledgement (client side) or within the window
 * (backend side, which the public cannot reach); a FIN is recorded only
 * in window, and the client's FIN counts once the backend acknowledged
 * exactly it. Each side's fields are moved only by packets from that
 * side's interface role.
 *
 * ACK_UNSEEN: an acknowledgement of 0 is "not seen yet" (a flow an
 * upgrade converted from a layout that kept none, user/lib/upgrade_v1.c):
 * the side's next ACK sets it, and until then the other side's RST and
 * FIN are taken as in window (a client's RST forwarded without closing).
 */
#ifndef SLOTLB_FLOW_BPF_H
#define SLOTLB_FLOW_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"
#include "clock.bpf.h"
#include "nat.bpf.h"
#include "stats.bpf.h"

/* Load-time settings (rodata, set by the loader before load). */
const volatile __u32 udp_timeout_s = SLOTLB_DEFAULT_UDP_TIMEOUT_S;
const volatile __u32 tcp_timeout_s = SLOTLB_DEFAULT_TCP_TIMEOUT_S;
const volatile __u32 tcp_handshake_timeout_s =
	SLOTLB_DEFAULT_TCP_HANDSHAKE_TIMEOUT_S;
const volatile __u32 nonsyn_policy = SLOTLB_NONSYN_HASH;
/* Buckets of reply_index - 1 (a power of two). */
const volatile __u32 reply_index_mask =
	SLOTLB_DEFAULT_FLOW_CAPACITY / SLOTLB_REPLY_FLOWS_PER_BUCKET - 1;

#define FLOW_CLOSED_BOTH (SLOTLB_FLOW_FIN_BACKEND | SLOTLB_FLOW_FIN_ACKED)

/* An established flow: its state and backend address inside the entry. */
struct flow_ref {
	struct slotlb_flow_state *st;
	__be32 *backend; /* 1 word (IPv4) or 4 */
};

static __always_inline bool seq_after(__u32 a, __u32 b)
{
	return (__s32)(a - b) > 0;
}

static __always_inline void state_set(__u32 *state, __u32 bits)
{
	if ((*state & bits) != bits)
		__sync_fetch_and_or(state, bits);
}

static __always_inline void state_clear(__u32 *state, __u32 bits)
{
	if (*state & bits)
		__sync_fetch_and_and(state, ~bits);
}

static __always_inline bool addr_eq(const __be32 *a, const __be32 *b,
				    __u8 family)
{
	if (a[0] != b[0])
		return false;
	return family == AF_INET ||
	       (a[1] == b[1] && a[2] == b[2] && a[3] == b[3]);
}

static __always_inline bool tcp_is_syn(const struct packet *pkt)
{
	return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline bool tcp_is_synack(const struct packet *pkt)
{
	return (pkt->tcp_flags &
		(TCP_FLAG_SYN | TCP_FLAG_ACK | TCP_FLAG_RST)) ==
	       (TCP_FLAG_SYN | TCP_FLAG_ACK);
}

static __always_inline bool flow_closed(__u32 state)
{
	return (state & SLOTLB_FLOW_RST) ||
	       (state & FLOW_CLOSED_BOTH) == FLOW_CLOSED_BOTH;
}

/*
 * A flow's tuple is its client -> endpoint 5-tuple (src client, dst
 * endpoint), as a client's packet carries it and as flows6 is keyed,
 * whichever packet it was derived from.
 */
static __always_inline void tuple_from_client(struct slotlb_flow_key *t,
					      const struct packet *pkt)
{
	*t = pkt->key;
}

static __always_inline int established_lookup(const struct slotlb_flow_key *t,
					      struct flow_ref *ref)
{
	if (t->family == AF_INET) {
		struct slotlb_flow4_key k = {
			.client = t->src[0],
			.endpoint = t->dst[0],
			.client_port = t->sport,
			.endpoint_port = t->dport,
			.proto = t->proto,
		};
		struct slotlb_flow4 *v = bpf_map_lookup_elem(&flows4, &k);

		if (!v)
			return -1;
		barrier_var(v);
		ref->st = &v->s;
		ref->backend = &v->backend_addr;
		return 0;
	} else {
		struct slotlb_flow6 *v = bpf_map_lookup_elem(&flows6, t);

		if (!v)
			return -1;
		barrier_var(v);
		ref->st = &v->s;
		ref->backend = v->backend_addr;
		return 0;
	}
}

static __always_inline bool backend_is(const struct flow_ref *ref,
				       const __be32 *addr, __be16 port,
				       __u8 family)
{
	return ref->st->backend_port == port &&
	       addr_eq(ref->backend, addr, family);
}

static __always_inline __u32 index_seed(void)
{
	__u32 zero = 0;
	struct slotlb_settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s ? s->index_seed : 0;
}

/* Tag-matching words a reply looks at: more than 3 false matches among
 * 16 words of 16-bit tags happen about once in 10^13 lookups. */
#define REPLY_CANDIDATES 4

/* Reply index of an IPv4 flow: its hash (buckets, tag) and word. */
struct reply_slot {
	__u64 hash;
	__u64 word;
};

static __always_inline void reply_slot_of(struct reply_slot *r,
					  const struct slotlb_flow_key *t,
					  __be32 backend, __be16 backend_port)
{
	r->hash = slotlb_reply_hash(backend, t->src[0], backend_port, t->sport,
				    t->proto, index_seed());
	r->word = slotlb_reply_word(t->dst[0], t->dport, r->hash);
}

static __always_inline struct slotlb_reply_bucket *reply_bucket(__u64 hash,
								int second)
{
	__u32 b = slotlb_reply_bucket_index(hash, second, reply_index_mask);

	return bpf_map_lookup_elem(&reply_index, &b);
}

/* Is the word in one of its buckets? */
static __always_inline bool reply_index_has(const struct reply_slot *r)
{
	struct slotlb_reply_bucket *b;
	int s, i;

	for (s = 0; s < 2; s++) {
		b = reply_bucket(r->hash, s);
		if (!b)
			continue;
		for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++)
			if (b->word[i] == r->word)
				return true;
	}
	return false;
}

/* Put a word into the emptier of its two buckets (the two-choice rule,
 * abi.h). A global function: the verifier checks it once, not on every
 * path of each caller. libslotlb's converter and GC add and remove
 * words by the same rules (user/lib/reply_index.c). */
__noinline int reply_index_put(__u64 hash, __u64 word)
{
	struct slotlb_reply_bucket *first, *second, *b;
	int s, i;

	first = reply_bucket(hash, 0);
	second = reply_bucket(hash, 1);
	if (!first || !second)
		return -1;
	if (slotlb_reply_words_used(second->word) <
	    slotlb_reply_words_used(first->word)) {
		b = first;
		first = second;
		second = b;
	}
	for (s = 0; s < 2; s++) {
		b = s ? second : first;
		for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++)
			if (!b->word[i] &&
			    !__sync_val_compare_and_swap(&b->word[i], 0, word))
				return 0;
	}
	return -1;
}

static __always_inline void reply_index_remove(const struct reply_slot *r)
{
	struct slotlb_reply_bucket *b;
	int s, i;

	for (s = 0; s < 2; s++) {
		b = reply_bucket(r->hash, s);
		if (!b)
			continue;
		for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++)
			if (b->word[i] == r->word &&
			    __sync_val_compare_and_swap(&b->word[i], r->word,
							0) == r->word)
				return;
	}
}

/* The reply 5-tuple (backend -> client) of a flow. */
static __always_inline void reply_key_of(struct slotlb_flow_key *rk,
					 const struct slotlb_flow_key *t,
					 const __be32 *backend,
					 __be16 backend_port)
{
	__builtin_memcpy(rk->src, backend, 16);
	__builtin_memcpy(rk->dst, t->src, 16);
	rk->sport = backend_port;
	rk->dport = t->sport;
	rk->proto = t->proto;
	rk->family = t->family;
	rk->pad[0] = 0;
	rk->pad[1] = 0;
}

/*
 * Reply mappings. In the IPv4 index every established flow owns one
 * word; flows whose words come out equal (same endpoint, tag and
 * buckets) each own a copy, and the GC removes one copy per flow it
 * deletes. replies6 is keyed by the exact reply 5-tuple.
 */
static __always_inline int reply_map_add(const struct slotlb_flow_key *t,
					 const __be32 *backend,
					 __be16 backend_port)
{
	if (t->family == AF_INET) {
		struct reply_slot r;

		reply_slot_of(&r, t, backend[0], backend_port);
		return reply_index_put(r.hash, r.word);
	} else {
		struct slotlb_flow_key rk;
		struct slotlb_reply6 v = {
			.endpoint_port = t->dport,
		};

		reply_key_of(&rk, t, backend, backend_port);
		__builtin_memcpy(v.endpoint, t->dst, 16);
		return bpf_map_update_elem(&replies6, &rk, &v, BPF_ANY) ? -1
									: 0;
	}
}

/* Make sure the flow's reply mapping exists (a flow without one would
 * send its replies out un-NATed); *wrote says it had to be written. */
static __always_inline int reply_map_ensure(const struct slotlb_flow_key *t,
					    const __be32 *backend,
					    __be16 backend_port, bool *wrote)
{
	*wrote = false;
	if (t->family == AF_INET) {
		struct reply_slot r;

		reply_slot_of(&r, t, backend[0], backend_port);
		if (reply_index_has(&r))
			return 0;
	} else {
		struct slotlb_flow_key rk;

		reply_key_of(&rk, t, backend, backend_port);
		if (bpf_map_lookup_elem(&replies6, &rk))
			return 0;
	}
	*wrote = true;
	return reply_map_add(t, backend, backend_port);
}

/* Drop a flow's reply mapping (it moved to another backend). */
static __always_inline void reply_map_forget(const struct slotlb_flow_key *t,
					     const __be32 *backend,
					     __be16 backend_port)
{
	if (t->family == AF_INET) {
		struct reply_slot r;

		reply_slot_of(&r, t, backend[0], backend_port);
		reply_index_remove(&r);
	} else {
		struct slotlb_flow_key rk;
		struct slotlb_reply6 *old;

		reply_key_of(&rk, t, backend, backend_port);
		old = bpf_map_lookup_elem(&replies6, &rk);
		if (old && old->endpoint_port == t->dport &&
		    addr_eq(old->endpoint, t->dst, AF_INET6))
			bpf_map_delete_elem(&replies6, &rk);
	}
}

/*
 * A backend's packet (its 5-tuple rk, backend -> client): its
 * established flow, whose tuple goes to *t. IPv4 through the reply
 * index: each word whose tag matches names an endpoint; the flow of
 * (client, endpoint) is looked up and must have this backend.
 */
static __always_inline int reply_lookup(const struct slotlb_flow_key *rk,
					struct slotlb_flow_key *t,
					struct flow_ref *ref)
{
	__builtin_memcpy(t->src, rk->dst, 16);
	t->sport = rk->dport;
	t->proto = rk->proto;
	t->family = rk->family;
	t->pad[0] = 0;
	t->pad[1] = 0;
	if (rk->family == AF_INET) {
		struct slotlb_reply_bucket *b;
		__u64 hash, w, cand[REPLY_CANDIDATES] = {};
		__u16 tag;
		int s, i, n = 0;

		hash = slotlb_reply_hash(rk->src[0], rk->dst[0], rk->sport,
					 rk->dport, rk->proto, index_seed());
		tag = hash >> 48;
		/* First the words whose tag matches, then their flows: a
		 * tag of 16 bits leaves one false match per 65536 words. */
		for (s = 0; s < 2; s++) {
			b = reply_bucket(hash, s);
			if (!b)
				continue;
			for (i = 0; i < SLOTLB_REPLY_BUCKET_WORDS; i++) {
				w = b->word[i];
				if (w && (__u16)w == tag &&
				    n < REPLY_CANDIDATES)
					cand[n++ & (REPLY_CANDIDATES - 1)] = w;
			}
		}
		t->dst[1] = 0;
		t->dst[2] = 0;
		t->dst[3] = 0;
		for (i = 0; i < REPLY_CANDIDATES; i++) {
			if (!cand[i])
				break;
			t->dst[0] = (__be32)(cand[i] >> 32);
			t->dport = (__be16)(cand[i] >> 16);
			if (!established_lookup(t, ref) &&
			    backend_is(ref, rk->src, rk->sport, AF_INET))
				return 0;
		}
		return -1;
	} else {
		struct slotlb_reply6 *r;

		r = bpf_map_lookup_elem(&replies6, rk);
		if (!r)
			return -1;
		__builtin_memcpy(t->dst, r->endpoint, 16);
		t->dport = r->endpoint_port;
		if (established_lookup(t, ref) ||
		    !backend_is(ref, rk->src, rk->sport, AF_INET6))
			return -1;
		return 0;
	}
}

/* What a promotion writes besides the tuple and the backend. */
struct promotion {
	__u32 backend_id;
	__u32 deployment_id;
	__u32 endpoint_id;
	__u32 state; /* SLOTLB_FLOW_CLIENT_BACKSIDE is kept */
	__u32 ack_client;
	__u32 ack_backend;
	__u32 start; /* jiffies of the flow's first packet */
	__u32 has_nh; /* nh is the next hop toward the client */
	struct nexthop nh;
};

/* Working memory of flow_promote (the program's scratch, not stack). */
struct promote_buf {
	struct slotlb_flow_key rk; /* the flow's reply 5-tuple */
	struct slotlb_flow_key holder; /* whose reply mapping rk is */
	struct slotlb_flow_key k6;
	struct slotlb_flow4_key k4;
	struct slotlb_flow6 v6; /* also holds the IPv4 value's state */
	struct slotlb_flow4 v4;
	__be32 old_backend[4];
};

static __always_inline void state_init(struct slotlb_flow_state *s,
				       const struct promotion *p,
				       __be16 backend_port, __u32 now)
{
	s->backend_id = p->backend_id;
	s->deployment_id = p->deployment_id;
	s->endpoint_id = p->endpoint_id;
	s->backend_port = backend_port;
	s->state = p->state & SLOTLB_FLOW_CLIENT_BACKSIDE;
	s->seen_client = now;
	s->seen_backend = now;
	s->start = p->start;
	s->ack_client = p->ack_client;
	s->ack_backend = p->ack_backend;
	if (p->has_nh) {
		s->nh_ifindex = p->nh.ifindex;
		s->nh_mtu = p->nh.mtu;
		__builtin_memcpy(s->nh_dmac, p->nh.dmac, ETH_ALEN);
		__builtin_memcpy(s->nh_smac, p->nh.smac, ETH_ALEN);
	}
}

/* Does an established flow of another endpoint (or port) hold the
 * reply 5-tuple of t toward this backend? A closed or superseded one
 * gives it up (its mapping goes); a live one keeps it: the backend
 * sees one connection where the clients have two. */
static __always_inline bool reply_held(const struct slotlb_flow_key *t,
				       const __be32 *backend,
				       __be16 backend_port,
				       struct promote_buf *b)
{
	struct flow_ref ref;
	__u32 state;

	reply_key_of(&b->rk, t, backend, backend_port);
	if (reply_lookup(&b->rk, &b->holder, &ref))
		return false;
	if (b->holder.dport == t->dport &&
	    addr_eq(b->holder.dst, t->dst, t->family))
		return false;
	state = ref.st->state;
	if (!(state & SLOTLB_FLOW_SUPERSEDED) && !flow_closed(state))
		return true;
	reply_map_forget(&b->holder, backend, backend_port);
	return false;
}

/*
 * Write a verified flow into the established stage: its reply mapping
 * first, so no reply can outrun it, then the entry (replacing a closed
 * or superseded one of the same 5-tuple, whose reply mapping goes if it
 * named another backend). 0; PROMOTE_FULL when there is no room
 * (counted; the flow stays half-open); PROMOTE_HELD when a live flow of
 * another endpoint holds the reply 5-tuple (the flow is refused, never
 * overwrites it). A global function: verified once.
 */
#define PROMOTE_FULL 1
#define PROMOTE_HELD 2

__noinline int flow_promote(const struct slotlb_flow_key *t,
			    const struct addr16 *backend_addr,
			    __u32 backend_port16, const struct promotion *p,
			    struct promote_buf *b)
{
	__be16 backend_port = (__be16)backend_port16;
	bool had_old = false, same = false, wrote = true;
	const __be32 *backend;
	struct flow_ref old;
	__be16 old_port = 0;
	__u32 now = clock_now();
	int rc;

	if (!t || !backend_addr || !p || !b)
		return PROMOTE_FULL;
	backend = backend_addr->a;
	if (reply_held(t, backend, backend_port, b))
		return PROMOTE_HELD;
	if (!established_lookup(t, &old)) {
		if (backend_is(&old, backend, backend_port, t->family)) {
			same = true;
		} else {
			had_old = true;
			old_port = old.st->backend_port;
			b->old_backend[0] = old.backend[0];
			if (t->family == AF_INET6)
				__builtin_memcpy(b->old_backend, old.backend,
						 16);
		}
	}
	/* The entry replaced owns its word already if the backend is the
	 * same; a new entry brings its own. */
	rc = same ? reply_map_ensure(t, backend, backend_port, &wrote)
		  : reply_map_add(t, backend, backend_port);
	if (rc) {
		count_event(SLOTLB_EVENT_INDEX_FULL);
		return PROMOTE_FULL;
	}
	if (t->family == AF_INET) {
		b->k4.client = t->src[0];
		b->k4.endpoint = t->dst[0];
		b->k4.client_port = t->sport;
		b->k4.endpoint_port = t->dport;
		b->k4.proto = t->proto;
		b->k4.pad[0] = 0;
		b->k4.pad[1] = 0;
		b->k4.pad[2] = 0;
		__builtin_memset(&b->v4, 0, sizeof(b->v4));
		b->v4.backend_addr = backend[0];
		state_init(&b->v4.s, p, backend_port, now);
		rc = bpf_map_update_elem(&flows4, &b->k4, &b->v4, BPF_ANY);
	} else {
		__builtin_memset(&b->k6, 0, sizeof(b->k6));
		__builtin_memcpy(b->k6.src, t->src, 16);
		__builtin_memcpy(b->k6.dst, t->dst, 16);
		b->k6.sport = t->sport;
		b->k6.dport = t->dport;
		b->k6.proto = t->proto;
		b->k6.family = AF_INET6;
		__builtin_memset(&b->v6, 0, sizeof(b->v6));
		__builtin_memcpy(b->v6.backend_addr, backend, 16);
		state_init(&b->v6.s, p, backend_port, now);
		rc = bpf_map_update_elem(&flows6, &b->k6, &b->v6, BPF_ANY);
	}
	if (rc) {
		if (wrote)
			reply_map_forget(t, backend, backend_port);
		count_event(SLOTLB_EVENT_TABLE_FULL);
		return PROMOTE_FULL;
	}
	if (had_old)
		reply_map_forget(t, b->old_backend, old_port);
	count_event(SLOTLB_EVENT_PROMOTED);
	return 0;
}

/*
 * A client's TCP segment on an established flow: RST and FIN are
 * checked against the backend's last acknowledgement, the client's
 * acknowledgement is recorded. 0 to forward, or a negative reason.
 */
static __always_inline int tcp_from_client(struct slotlb_flow_state *st,
					   const struct packet *pkt)
{
	__u8 f = pkt->tcp_flags;
	__u32 end;

	if (f & TCP_FLAG_RST) {
		if (pkt->seq == st->ack_backend && st->ack_backend) {
			state_set(&st->state, SLOTLB_FLOW_RST);
			return 0;
		}
		/* RFC 5961: in window but not exact is answered by the
		 * backend with a challenge ACK; the flow stays. So is one
		 * before the backend's first ACK was seen (ACK_UNSEEN). */
		if (pkt->seq - st->ack_backend < SLOTLB_TCP_MAX_WINDOW ||
		    !st->ack_backend) {
			count_event(SLOTLB_EVENT_RST_IGNORED);
			return 0;
		}
		return -SLOTLB_REASON_DROP_WINDOW;
	}
	if (f & TCP_FLAG_FIN) {
		/* A retransmitted FIN ends at the backend's ACK; a new one
		 * after it, within a window. */
		end = pkt->seq + pkt->payload + 1;
		if (end - st->ack_backend > SLOTLB_TCP_MAX_WINDOW &&
		    st->ack_backend)
			return -SLOTLB_REASON_DROP_WINDOW;
		if (st->fin_client != end)
			st->fin_client = end;
		state_set(&st->state, SLOTLB_FLOW_FIN_CLIENT);
	}
	if ((f & TCP_FLAG_ACK) &&
	    (seq_after(pkt->ack, st->ack_client) || !st->ack_client))
		st->ack_client = pkt->ack;
	return 0;
}

/* A backend's TCP segment on an established flow. The backend side is
 * reachable only from backend interfaces; its RST or FIN counts within
 * the window after the client's last acknowledgement. */
static __always_inline void tcp_from_backend(struct slotlb_flow_state *st,
					     const struct packet *pkt)
{
	__u8 f = pkt->tcp_flags;
	__u32 end;

	if (f & TCP_FLAG_RST) {
		if (pkt->seq - st->ack_client < SLOTLB_TCP_MAX_WINDOW ||
		    !st->ack_client)
			state_set(&st->state, SLOTLB_FLOW_RST);
		else
			count_event(SLOTLB_EVENT_RST_IGNORED);
		return;
	}
	if (f & TCP_FLAG_FIN) {
		end = pkt->seq + pkt->payload + 1;
		if (end - st->ack_client <= SLOTLB_TCP_MAX_WINDOW ||
		    !st->ack_client)
			state_set(&st->state, SLOTLB_FLOW_FIN_BACKEND);
	}
	if (!(f & TCP_FLAG_ACK))
		return;
	if (seq_after(pkt->ack, st->ack_backend) || !st->ack_backend)
		st->ack_backend = pkt->ack;
	if ((st->state & SLOTLB_FLOW_FIN_CLIENT) && pkt->ack == st->fin_client)
		state_set(&st->state, SLOTLB_FLOW_FIN_ACKED);
	/* The backend answers normally: no new handshake replaces it. */
	if (!(f & TCP_FLAG_SYN))
		state_clear(&st->state, SLOTLB_FLOW_SUPERSEDED);
}

/* Idle past the UDP timeout: the next datagram starts a new flow. */
static __always_inline bool udp_expired(const struct slotlb_flow_state *st,
					__u32 now)
{
	__u32 last = seq_after(st->seen_backend, st->seen_client)
			     ? st->seen_backend
			     : st->seen_client;

	return clock_after(now, last, clock_secs(udp_timeout_s));
}

#endif /* SLOTLB_FLOW_BPF_H */
