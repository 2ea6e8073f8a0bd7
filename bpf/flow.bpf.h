/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flow table: a forward entry (client -> endpoint, pins the backend) and
 * a reply entry (backend -> client, restores the endpoint as source) per
 * flow. An entry is followed whatever swaps happened since it was made.
 * A UDP flow idle past its timeout, or a SYN on a TCP flow that closed
 * (FIN both ways or RST), starts a new flow; userspace GC deletes closed
 * and idle flows early so they do not wait for LRU eviction.
 */
#ifndef SLOTLB_FLOW_BPF_H
#define SLOTLB_FLOW_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

#define NS_PER_SEC 1000000000ULL

/* Load-time settings (rodata, set by the loader before load). */
const volatile __u64 udp_timeout_ns = SLOTLB_DEFAULT_UDP_TIMEOUT_S * NS_PER_SEC;
const volatile __u32 nonsyn_policy = SLOTLB_NONSYN_HASH;

#define FLOW_CLOSED_BOTH (SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND)

static __always_inline bool tcp_is_syn(const struct packet *pkt)
{
	return (pkt->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN;
}

static __always_inline bool flow_closed(const struct slotlb_flow *flow)
{
	return (flow->state & SLOTLB_FLOW_RST) ||
	       (flow->state & FLOW_CLOSED_BOTH) == FLOW_CLOSED_BOTH;
}

/* Does this packet end the entry's life and start a new flow? */
static __always_inline bool flow_restarts(const struct slotlb_flow *flow,
					  const struct packet *pkt, __u64 now)
{
	if (pkt->key.proto == IPPROTO_UDP)
		return now - flow->last_seen_ns > udp_timeout_ns;
	return tcp_is_syn(pkt) && flow_closed(flow);
}

/*
 * Note activity on an entry: UDP refreshes last_seen (at most once a
 * second, to keep the cache line clean), TCP FIN/RST set state bits on
 * the forward entry, which the GC and flow_restarts() read.
 */
static __always_inline void flow_touch(struct slotlb_flow *flow,
				       const struct packet *pkt, __u64 now,
				       __u8 fin_bit)
{
	__u8 bits = 0;

	if (pkt->key.proto == IPPROTO_UDP) {
		if (now - flow->last_seen_ns > NS_PER_SEC)
			flow->last_seen_ns = now;
		return;
	}
	if (pkt->tcp_flags & TCP_FLAG_FIN)
		bits |= fin_bit;
	if (pkt->tcp_flags & TCP_FLAG_RST)
		bits |= SLOTLB_FLOW_RST;
	if (bits && (flow->state & bits) != bits) {
		flow->state |= bits;
		flow->last_seen_ns = now;
	}
}

/* The reply entry's 5-tuple: backend -> client. */
static __always_inline void reply_key(struct slotlb_flow_key *rk,
				      const struct slotlb_flow_key *fk,
				      const struct slotlb_flow *fwd)
{
	__builtin_memcpy(rk->src, fwd->addr, sizeof(rk->src));
	__builtin_memcpy(rk->dst, fk->src, sizeof(rk->dst));
	rk->sport = fwd->port;
	rk->dport = fk->sport;
	rk->proto = fk->proto;
	rk->family = fk->family;
	rk->pad[0] = 0;
	rk->pad[1] = 0;
}

/* The forward entry's 5-tuple, seen from a reply and its entry. */
static __always_inline void forward_key(struct slotlb_flow_key *fk,
					const struct slotlb_flow_key *rk,
					const struct slotlb_flow *reply)
{
	__builtin_memcpy(fk->src, rk->dst, sizeof(fk->src));
	__builtin_memcpy(fk->dst, reply->addr, sizeof(fk->dst));
	fk->sport = rk->dport;
	fk->dport = reply->port;
	fk->proto = rk->proto;
	fk->family = rk->family;
	fk->pad[0] = 0;
	fk->pad[1] = 0;
}

/* Pin a new flow: reply entry first, so no reply can beat its entry.
 * The reply entry learns its own next hop from the first reply. */
static __always_inline int flow_create(const struct packet *pkt,
				       const struct slotlb_flow *fwd)
{
	struct slotlb_flow_key rk;
	struct slotlb_flow reply = {
		.port = pkt->key.dport,
		.direction = SLOTLB_FLOW_REPLY,
		.state = fwd->state,
		.backend_id = fwd->backend_id,
		.deployment_id = fwd->deployment_id,
		.endpoint_id = fwd->endpoint_id,
		.last_seen_ns = fwd->last_seen_ns,
	};

	__builtin_memcpy(reply.addr, pkt->key.dst, sizeof(reply.addr));
	reply_key(&rk, &pkt->key, fwd);
	if (bpf_map_update_elem(&flows, &rk, &reply, BPF_ANY))
		return -SLOTLB_REASON_DROP_FLOW_TABLE;
	if (bpf_map_update_elem(&flows, &pkt->key, fwd, BPF_ANY))
		return -SLOTLB_REASON_DROP_FLOW_TABLE;
	return 0;
}

/* A flow restarting (new SYN after close, UDP after idle) may choose
 * another backend: the old backend's reply entry must not outlive it. */
static __always_inline void flow_forget_reply(const struct packet *pkt,
					      const struct slotlb_flow *fwd)
{
	struct slotlb_flow_key rk;

	reply_key(&rk, &pkt->key, fwd);
	bpf_map_delete_elem(&flows, &rk);
}

/* A reply carrying FIN or RST closes the flow: mark the forward entry. */
static __always_inline void
flow_mark_from_reply(const struct packet *pkt, const struct slotlb_flow *reply,
		     __u64 now)
{
	struct slotlb_flow_key fk;
	struct slotlb_flow *fwd;

	if (!(pkt->tcp_flags & (TCP_FLAG_FIN | TCP_FLAG_RST)))
		return;
	forward_key(&fk, &pkt->key, reply);
	fwd = bpf_map_lookup_elem(&flows, &fk);
	if (fwd)
		flow_touch(fwd, pkt, now, SLOTLB_FLOW_FIN_BACKEND);
}

#endif /* SLOTLB_FLOW_BPF_H */
