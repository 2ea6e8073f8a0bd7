// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * slotlb XDP entry: NAT load balancing of app endpoints to the backends
 * of the deployment in each slot. The helpers return reasons; only this
 * file turns a reason into a verdict and counts it.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "flow.bpf.h"
#include "select.bpf.h"
#include "nat.bpf.h"
#include "stats.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Send a packet of a pinned flow on: rewrite, route, count. */
static __always_inline __u32 forward_flow(struct xdp_md *ctx,
					  const struct packet *pkt,
					  struct slotlb_flow *flow,
					  enum nat_side side, bool new_flow,
					  __u64 now, __u32 *ifindex)
{
	int rc;

	rc = nat_rewrite(ctx, pkt, flow->addr, flow->port, side);
	if (rc < 0)
		return -rc;
	count_flow(flow, pkt->len, new_flow);
	if (!flow->nh_ifindex || now - flow->nh_time_ns > nexthop_ttl_ns) {
		rc = nexthop_lookup(ctx, pkt->key.family, flow, now);
		if (rc < 0)
			return -rc;
	}
	rc = nexthop_apply(ctx, pkt->key.family, flow);
	if (rc < 0)
		return -rc;
	*ifindex = flow->nh_ifindex;
	return side == NAT_SRC ? SLOTLB_REASON_REPLY : SLOTLB_REASON_FORWARD;
}

/* First packet of a flow to an endpoint: choose and pin a backend. The
 * entries are written after the packet is routed, so the forward entry
 * starts with its next hop cached, but before it leaves, so no reply can
 * beat them. */
static __always_inline __u32 new_flow(struct xdp_md *ctx,
				      const struct packet *pkt,
				      const struct slotlb_endpoint *ep,
				      __u64 now, __u32 *ifindex)
{
	struct slotlb_flow fwd = {
		.direction = SLOTLB_FLOW_FORWARD,
		.endpoint_id = ep->endpoint_id,
		.last_seen_ns = now,
	};
	const struct slotlb_backend *be;
	__u32 reason;
	int rc;

	fwd.backend_id = choose_backend(ep, &pkt->key, &fwd.deployment_id);
	if (!fwd.deployment_id)
		return SLOTLB_REASON_DROP_NO_DEPLOYMENT;
	be = bpf_map_lookup_elem(&backends, &fwd.backend_id);
	if (!fwd.backend_id || !be || be->family != pkt->key.family)
		return SLOTLB_REASON_DROP_NO_BACKEND;
	__builtin_memcpy(fwd.addr, be->addr, sizeof(fwd.addr));
	fwd.port = be->port;

	reason = forward_flow(ctx, pkt, &fwd, NAT_DST, true, now, ifindex);
	rc = flow_create(pkt, &fwd);
	if (rc < 0)
		return -rc;
	if (reason == SLOTLB_REASON_FORWARD && pkt->key.proto == IPPROTO_TCP &&
	    !tcp_is_syn(pkt))
		reason = SLOTLB_REASON_FORWARD_NONSYN;
	return reason;
}

static __always_inline __u32 to_endpoint(struct xdp_md *ctx,
					 const struct packet *pkt,
					 const struct slotlb_endpoint *ep,
					 __u32 *ifindex)
{
	struct slotlb_flow *flow;
	__u64 now;

	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	now = bpf_ktime_get_coarse_ns();

	flow = bpf_map_lookup_elem(&flows, &pkt->key);
	if (flow && flow->direction == SLOTLB_FLOW_FORWARD) {
		if (!flow_restarts(flow, pkt, now)) {
			flow_touch(flow, pkt, now, SLOTLB_FLOW_FIN_CLIENT);
			return forward_flow(ctx, pkt, flow, NAT_DST, false, now,
					    ifindex);
		}
		flow_forget_reply(pkt, flow);
	}
	if (pkt->key.proto == IPPROTO_TCP && !tcp_is_syn(pkt) &&
	    nonsyn_policy == SLOTLB_NONSYN_DROP)
		return SLOTLB_REASON_DROP_NONSYN_MISS;
	return new_flow(ctx, pkt, ep, now, ifindex);
}

/* May this packet belong to a tracked flow although it is not for an
 * endpoint? Replies come from backends; a pinned flow whose endpoint was
 * deleted still goes to an endpoint address. Everything else is the
 * host's own traffic and skips the (large, cache-cold) flow table. */
static __always_inline bool maybe_tracked(const struct packet *pkt)
{
	struct slotlb_addr_key key = {
		.family = pkt->key.family,
	};

	__builtin_memcpy(key.addr, pkt->key.src, sizeof(key.addr));
	if (bpf_map_lookup_elem(&backend_addrs, &key))
		return true;
	return is_endpoint_addr(pkt->key.dst, pkt->key.family);
}

/* Not for an endpoint: a reply of a tracked flow, a pinned flow whose
 * endpoint has since been deleted, or none of our business. */
static __always_inline __u32 not_to_endpoint(struct xdp_md *ctx,
					     const struct packet *pkt,
					     __u32 *ifindex)
{
	struct slotlb_flow *flow;
	__u64 now;

	if (!maybe_tracked(pkt))
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	flow = bpf_map_lookup_elem(&flows, &pkt->key);
	if (!flow)
		return SLOTLB_REASON_PASS_NOT_ENDPOINT;
	if (pkt->ttl <= 1)
		return SLOTLB_REASON_PASS_TTL;
	now = bpf_ktime_get_coarse_ns();

	if (flow->direction == SLOTLB_FLOW_REPLY) {
		flow_touch(flow, pkt, now, SLOTLB_FLOW_FIN_BACKEND);
		flow_mark_from_reply(pkt, flow, now);
		return forward_flow(ctx, pkt, flow, NAT_SRC, false, now,
				    ifindex);
	}
	flow_touch(flow, pkt, now, SLOTLB_FLOW_FIN_CLIENT);
	return forward_flow(ctx, pkt, flow, NAT_DST, false, now, ifindex);
}

static __always_inline __u32 process(struct xdp_md *ctx, struct packet *pkt,
				     __u32 *ifindex)
{
	struct slotlb_endpoint_key ek = {};
	struct slotlb_endpoint *ep;
	int rc;

	rc = parse_packet(ctx, pkt);
	if (rc < 0)
		return -rc;

	__builtin_memcpy(ek.addr, pkt->key.dst, sizeof(ek.addr));
	ek.port = pkt->key.dport;
	ek.proto = pkt->key.proto;
	ek.family = pkt->key.family;
	ep = bpf_map_lookup_elem(&endpoints, &ek);
	if (ep)
		return to_endpoint(ctx, pkt, ep, ifindex);
	return not_to_endpoint(ctx, pkt, ifindex);
}

SEC("xdp")
int slotlb_xdp(struct xdp_md *ctx)
{
	struct packet pkt = {};
	__u32 ifindex = 0;
	__u32 reason;

	reason = process(ctx, &pkt, &ifindex);
	count_reason(reason, pkt.len);

	switch (reason) {
	case SLOTLB_REASON_FORWARD:
	case SLOTLB_REASON_REPLY:
	case SLOTLB_REASON_FORWARD_NONSYN:
		if (ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(ifindex, 0);
	case SLOTLB_REASON_PASS_NOT_IP:
	case SLOTLB_REASON_PASS_NOT_ENDPOINT:
	case SLOTLB_REASON_PASS_NO_NEIGH:
	case SLOTLB_REASON_PASS_TTL:
	case SLOTLB_REASON_PASS_FRAG_NEEDED:
		return XDP_PASS;
	default:
		return XDP_DROP;
	}
}
