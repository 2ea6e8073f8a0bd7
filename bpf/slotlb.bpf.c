// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * slotlb XDP entry: NAT load balancing of app endpoints to the backends
 * of the deployment in each slot. The helpers return reasons; only this
 * file turns a reason into a verdict and counts it.
 *
 * Two ways through: the fast path (fast_path) takes what most packets
 * are, a client's packet of an established flow and traffic that is no
 * endpoint's, with the packet parsed on the stack; everything else
 * (SYNs, half-open and second-chance flows, replies, ICMP, later
 * fragments) goes on with the packet copied into this CPU's scratch
 * run, where the rarer paths have room to work.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "parse.bpf.h"
#include "forward.bpf.h"
#include "dsr.bpf.h"
#include "icmp_error.bpf.h"
#include "frag.bpf.h"
#include "stats.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Where the fast path left a packet it did not finish. */
enum slow_kind {
	FAST_DONE, /* reason final */
	SLOW_OTHER, /* no endpoint: replies, deleted endpoints; ICMP;
		     * later fragments */
	SLOW_SYN, /* a SYN to io->ep */
	SLOW_MISS, /* to io->ep, no established entry */
	SLOW_CLOSED, /* to io->ep, its TCP entry closed or superseded */
};

/* What the fast path tells the entry (on the entry's stack). */
struct fast_io {
	struct slotlb_endpoint ep; /* the endpoint, if any */
	__u32 role; /* of the ingress interface */
	__u32 now; /* clock_now(), once read */
	__u32 ifindex; /* egress of a forwarded packet */
	__u32 slow; /* enum slow_kind */
};

/*
 * The fast path: a client's packet of an established flow is looked up
 * with the parsed 5-tuple and forwarded; traffic for no endpoint on a
 * public interface passes. A packet other than a SYN asks first whether
 * its destination may be an endpoint address (the filter, one array
 * read) and then for its flow, so the endpoint and the exact address are
 * looked up only when the flow is not live, and traffic for no endpoint
 * costs one array read. A global function, so
 * its locals stay out of the entry's frame (the rarer paths call
 * deeper).
 */
__noinline int fast_path(struct xdp_md *ctx, struct packet *pkt,
			 struct fast_io *io)
{
	struct slotlb_endpoint_key ek = {};
	struct slotlb_endpoint *ep;
	struct outcome out = {};
	struct flow_ref ref;
	__u32 reason, state, kind = SLOW_MISS;
	bool syn, live;

	if (!ctx || !pkt || !io)
		return SLOTLB_REASON_DROP_MALFORMED;
	io->slow = SLOW_OTHER;
	if (pkt->frag == FRAG_LATER || is_icmp(pkt))
		return 0;
	syn = pkt->key.proto == IPPROTO_TCP && tcp_is_syn(pkt);
	if (!syn) {
		if (!endpoint_addr_maybe(pkt->key.dst, pkt->key.family)) {
			/* Replies; a public interface never looks at the
			 * backend side. */
			if (io->role & SLOTLB_ROLE_BACKEND)
				return 0;
			io->slow = FAST_DONE;
			return SLOTLB_REASON_PASS_NOT_ENDPOINT;
		}
		/* The client's 5-tuple is the flow's: look it up as
		 * parsed. A flow's endpoint address stays in endpoint_addrs
		 * while the flow lives, so a hit needs no exact check. */
		if (!established_lookup(&pkt->key, &ref)) {
			io->now = clock_now();
			state = ref.st->state;
			/* A UDP flow whose backend is down chooses again,
			 * as one that expired does (health.bpf.h). */
			if (pkt->key.proto == IPPROTO_UDP)
				live = !udp_expired(ref.st, io->now) &&
				       !(backend_checks_armed() &&
					 backend_health_of(ref.st->backend_id)
						 .down);
			else
				live = !(state & SLOTLB_FLOW_SUPERSEDED) &&
				       !flow_closed(state);
			if (live && pkt->ttl > 1) {
				io->slow = FAST_DONE;
				reason = client_established(ctx, pkt, io->role,
							    io->now, &out,
							    &pkt->key, &ref);
				io->ifindex = out.ifindex;
				if (pkt->frag == FRAG_FIRST)
					frag_first(pkt, &out, io->role, reason);
				return reason;
			}
			if (!live && pkt->key.proto == IPPROTO_TCP)
				kind = SLOW_CLOSED;
		}
	}
	__builtin_memcpy(ek.addr, pkt->key.dst, sizeof(ek.addr));
	ek.port = pkt->key.dport;
	ek.proto = pkt->key.proto;
	ek.family = pkt->key.family;
	ep = bpf_map_lookup_elem(&endpoints, &ek);
	if (!ep) {
		/* A deleted endpoint's flows, replies (slow path); for no
		 * endpoint address on a public interface (a SYN, or a
		 * packet whose filter bit another address set), nothing. */
		if (!(io->role & SLOTLB_ROLE_BACKEND) &&
		    !is_endpoint_addr(pkt->key.dst, pkt->key.family)) {
			io->slow = FAST_DONE;
			return SLOTLB_REASON_PASS_NOT_ENDPOINT;
		}
		return 0;
	}
	io->ep = *ep;
	if (pkt->ttl <= 1) {
		io->slow = FAST_DONE;
		return SLOTLB_REASON_PASS_TTL;
	}
	io->now = clock_now();
	io->slow = syn ? SLOW_SYN : kind;
	return 0;
}

/* The rest, on this CPU's scratch run (nesting-safe: a softirq may run
 * the program inside a BPF_PROG_TEST_RUN on the same CPU). */
static __always_inline __u32 slow_path(struct xdp_md *ctx,
				       const struct packet *pkt,
				       struct fast_io *io)
{
	struct scratch *s;
	struct run *r;
	__u32 zero = 0, depth, reason;

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return SLOTLB_REASON_DROP_FLOW_TABLE;
	depth = s->depth;
	if (depth >= RUN_DEPTH)
		return SLOTLB_REASON_DROP_FLOW_TABLE;
	s->depth = depth + 1;
	r = &s->runs[depth];
	r->pkt = *pkt;
	r->role = io->role;
	r->now = io->now;
	r->ep = io->ep;
	r->out.ifindex = 0;
	r->out.side = 0;

	/* A new or unpinned flow of an endpoint: DSR apps keep no NAT
	 * state, so their packets always come this way. */
	if (io->slow != SLOW_OTHER &&
	    app_mode(io->ep.app_id) == SLOTLB_MODE_DSR) {
		reason = dsr_forward(ctx, r);
		goto out;
	}
	switch (io->slow) {
	case SLOW_SYN:
		reason = client_syn(ctx, r);
		break;
	case SLOW_MISS:
		reason = client_half_open(ctx, r, 0);
		break;
	case SLOW_CLOSED:
		reason = client_half_open(ctx, r, 1);
		break;
	default:
		if (pkt->frag == FRAG_LATER)
			reason = frag_later(ctx, r);
		else if (is_icmp(pkt))
			reason = icmp_in(ctx, r);
		else
			reason = not_to_endpoint(ctx, r);
		break;
	}
	if (pkt->frag == FRAG_FIRST)
		frag_first(&r->pkt, &r->out, r->role, reason);
out:
	io->ifindex = r->out.ifindex;
	s->depth = depth;
	return reason;
}

SEC("xdp")
int slotlb_xdp(struct xdp_md *ctx)
{
	struct fast_io io = {};
	struct packet pkt;
	__u32 reason;
	int rc;

	__builtin_memset(&pkt, 0, sizeof(pkt));
	rc = parse_packet(ctx, &pkt);
	if (rc < 0) {
		reason = -rc;
	} else {
		io.role = iface_role(ctx->ingress_ifindex);
		reason = fast_path(ctx, &pkt, &io);
		if (io.slow != FAST_DONE)
			reason = slow_path(ctx, &pkt, &io);
	}
	count_reason(reason, pkt.len);

	switch (reason) {
	case SLOTLB_REASON_FORWARD:
	case SLOTLB_REASON_REPLY:
	case SLOTLB_REASON_FORWARD_NONSYN:
	case SLOTLB_REASON_FORWARD_ICMP:
	case SLOTLB_REASON_REPLY_ICMP:
		if (io.ifindex == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(io.ifindex, 0);
	case SLOTLB_REASON_TX_ECHO:
	case SLOTLB_REASON_TX_FRAG_NEEDED:
	case SLOTLB_REASON_TX_RST_BACKEND_DOWN:
	case SLOTLB_REASON_TX_DRAIN_RESET:
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
