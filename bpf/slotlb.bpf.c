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
#include "forward.bpf.h"
#include "icmp_error.bpf.h"
#include "frag.bpf.h"
#include "stats.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline __u32 process(struct xdp_md *ctx, struct run *r)
{
	struct packet *pkt = &r->pkt;
	struct slotlb_endpoint_key *ek = &r->ek;
	struct slotlb_endpoint *ep;
	__u32 reason;
	int rc;

	rc = parse_packet(ctx, pkt);
	if (rc < 0)
		return -rc;
	r->role = iface_role(ctx->ingress_ifindex);
	if (pkt->frag == FRAG_LATER)
		return frag_later(ctx, r);
	if (is_icmp(pkt))
		return icmp_in(ctx, r);

	__builtin_memcpy(ek->addr, pkt->key.dst, sizeof(ek->addr));
	ek->port = pkt->key.dport;
	ek->proto = pkt->key.proto;
	ek->family = pkt->key.family;
	ep = bpf_map_lookup_elem(&endpoints, ek);
	if (ep) {
		r->ep = *ep;
		reason = to_endpoint(ctx, r);
	} else {
		reason = not_to_endpoint(ctx, r);
	}
	if (pkt->frag == FRAG_FIRST)
		frag_first(r, reason);
	return reason;
}

SEC("xdp")
int slotlb_xdp(struct xdp_md *ctx)
{
	struct scratch *s;
	struct run *r;
	__u32 zero = 0, depth, reason, ifindex;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return XDP_ABORTED;
	depth = s->depth;
	if (depth >= RUN_DEPTH) {
		count_reason(SLOTLB_REASON_DROP_FLOW_TABLE,
			     ctx->data_end - ctx->data);
		return XDP_DROP;
	}
	s->depth = depth + 1;
	r = &s->runs[depth];
	__builtin_memset(&r->pkt, 0, sizeof(r->pkt));
	r->out.ifindex = 0;
	reason = process(ctx, r);
	ifindex = r->out.ifindex;
	count_reason(reason, r->pkt.len);
	s->depth = depth;

	switch (reason) {
	case SLOTLB_REASON_FORWARD:
	case SLOTLB_REASON_REPLY:
	case SLOTLB_REASON_FORWARD_NONSYN:
	case SLOTLB_REASON_FORWARD_ICMP:
	case SLOTLB_REASON_REPLY_ICMP:
		if (ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(ifindex, 0);
	case SLOTLB_REASON_TX_ECHO:
	case SLOTLB_REASON_TX_FRAG_NEEDED:
		return XDP_TX;
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

/* The program's clock for libslotlb (BPF_PROG_TEST_RUN): flow times are
 * jiffies, which userspace cannot read otherwise. */
struct slotlb_clock_args {
	__u64 jiffies;
	__u32 hz;
	__u32 pad;
};

SEC("syscall")
int slotlb_clock(struct slotlb_clock_args *args)
{
	args->jiffies = bpf_jiffies64();
	args->hz = CONFIG_HZ;
	return 0;
}
