// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The backend agent's decapsulation program (slotlb backend-agent
 * attach), XDP on a backend's interface toward the balancers: a packet
 * of a DSR app arrives in GUE over UDP (abi.h, struct slotlb_gue), for
 * hosts whose kernel has no fou/ipip modules. It delivers the inner
 * packet to the local stack (which owns the endpoint address on its
 * loopback and answers the client directly), except a TCP packet other
 * than a SYN that no local socket owns while the header names a second
 * candidate: that one goes on, still encapsulated, to the second
 * candidate (second chance, as GLB Director's glb-redirect does), with
 * no further candidate. Anything else passes untouched.
 */
#include <stdbool.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <slotlb/abi.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define AF_INET 2
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define L3_OFF sizeof(struct ethhdr)
#define UDP_OFF (L3_OFF + sizeof(struct iphdr))
#define GUE_OFF (UDP_OFF + sizeof(struct udphdr))
#define INNER_OFF (L3_OFF + SLOTLB_DSR_OVERHEAD)
#define IPPROTO_IPIP_ 4
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* UDP port the balancers send GUE to (SLOTLB_GUE_PORT by default). */
const volatile __u16 gue_port = SLOTLB_GUE_PORT;
/* Endpoints the agent was given; 0: any inner destination. */
const volatile __u32 endpoint_count = 0;

/* The endpoint addresses this backend serves (IPv4, network order). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __be32);
	__type(value, __u8);
	__uint(max_entries, 256);
} agent_endpoints SEC(".maps");

/* Per-CPU count of every verdict by enum slotlb_agent_reason. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_reason_counter);
	__uint(max_entries, SLOTLB_AGENT_REASON_MAX);
} agent_stats SEC(".maps");

static __always_inline void count(__u32 reason, __u32 len)
{
	struct slotlb_reason_counter *c;

	c = bpf_map_lookup_elem(&agent_stats, &reason);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline __u16 ip_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < 10; i++)
		sum += w[i];
	return csum_fold(sum);
}

/* Does a local socket own this non-SYN segment? A listener does only
 * for the ACK that completes a handshake it answered with a syncookie
 * (under a SYN flood no request socket exists; as glb-redirect checks
 * it); otherwise it would answer a RST. Nor
 * does a connection in TIME_WAIT: its 4-tuple ended here, so a segment
 * for it is far more likely of a newer connection that reused the
 * client's port and lives on the other candidate (a busy client cycles
 * through its ports within the 60 s of TIME_WAIT); a late segment of
 * the closed one only earns a RST there. */
static __always_inline bool
socket_owns(struct xdp_md *ctx, const struct iphdr *in, const struct tcphdr *th)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	bool owns;

	t.ipv4.saddr = in->saddr;
	t.ipv4.daddr = in->daddr;
	t.ipv4.sport = th->source;
	t.ipv4.dport = th->dest;
	sk = bpf_skc_lookup_tcp(ctx, &t, sizeof(t.ipv4), BPF_F_CURRENT_NETNS,
				0);
	if (!sk)
		return false;
	owns = sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_TIME_WAIT;
	if (sk->state == BPF_TCP_LISTEN &&
	    (((__u8 *)th)[13] & (TCP_FLAG_ACK | TCP_FLAG_SYN | TCP_FLAG_RST |
				 TCP_FLAG_FIN)) == TCP_FLAG_ACK)
		owns = !bpf_tcp_check_syncookie(sk, (void *)in, sizeof(*in),
						(struct tcphdr *)th,
						sizeof(*th));
	bpf_sk_release(sk);
	return owns;
}

/* Strip the outer headers: the Ethernet header moves up to the inner
 * packet, which the stack then takes as if it had come so. */
static __always_inline __u32 deliver(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr eth;

	if (data + INNER_OFF > data_end)
		return SLOTLB_AGENT_DROP_MALFORMED;
	__builtin_memcpy(&eth, data, sizeof(eth));
	if (bpf_xdp_adjust_head(ctx, SLOTLB_DSR_OVERHEAD))
		return SLOTLB_AGENT_DROP_MALFORMED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (data + sizeof(eth) > data_end)
		return SLOTLB_AGENT_DROP_MALFORMED;
	__builtin_memcpy(data, &eth, sizeof(eth));
	return SLOTLB_AGENT_DELIVER;
}

/* Send the packet on to the second candidate, which gets no other. */
static __always_inline __u32 forward(struct xdp_md *ctx, __u32 *egress)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct bpf_fib_lookup fib = {};
	struct iphdr *outer = data + L3_OFF;
	struct slotlb_gue *gue = data + GUE_OFF;
	struct ethhdr *eth = data;

	if ((void *)(gue + 1) > data_end)
		return SLOTLB_AGENT_DROP_MALFORMED;
	if (outer->ttl <= 1)
		return SLOTLB_AGENT_DROP_FIB;
	outer->daddr = gue->second[0];
	outer->ttl--;
	outer->check = 0;
	outer->check = ip_csum(outer);
	gue->hops = 0;
	gue->second[0] = 0;
	fib.family = AF_INET;
	fib.ifindex = ctx->ingress_ifindex;
	fib.l4_protocol = IPPROTO_UDP;
	fib.tot_len = bpf_ntohs(outer->tot_len);
	fib.ipv4_src = outer->saddr;
	fib.ipv4_dst = outer->daddr;
	switch (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0)) {
	case BPF_FIB_LKUP_RET_SUCCESS:
		break;
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return SLOTLB_AGENT_PASS_NO_NEIGH;
	default:
		return SLOTLB_AGENT_DROP_FIB;
	}
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	*egress = fib.ifindex;
	return SLOTLB_AGENT_FORWARD;
}

/* What to do with the frame; *egress: where a forwarded one leaves. */
static __always_inline __u32 decap(struct xdp_md *ctx, __u32 *egress)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *outer = data + L3_OFF, *in;
	struct udphdr *udp = data + UDP_OFF;
	struct slotlb_gue *gue = data + GUE_OFF;
	struct tcphdr *th;
	__u32 ihl;

	if ((void *)(outer + 1) > data_end ||
	    eth->h_proto != bpf_htons(ETH_P_IP) || outer->version != 4 ||
	    outer->ihl != 5 || outer->protocol != IPPROTO_UDP ||
	    (outer->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return SLOTLB_AGENT_PASS;
	if ((void *)(udp + 1) > data_end || udp->dest != bpf_htons(gue_port))
		return SLOTLB_AGENT_PASS;
	/* Ours from here: what is not a whole slotlb GUE packet is
	 * dropped, never handed to the stack half-parsed. */
	in = data + INNER_OFF;
	if ((void *)(in + 1) > data_end)
		return SLOTLB_AGENT_DROP_MALFORMED;
	if (gue->hlen != (sizeof(*gue) - 4) / 4 ||
	    gue->proto != IPPROTO_IPIP_ || gue->flags ||
	    gue->magic != bpf_htons(SLOTLB_GUE_MAGIC) || gue->hops > 1)
		return SLOTLB_AGENT_DROP_MALFORMED;
	/* The lengths agree with each other and fit the frame (which may
	 * carry padding after them). */
	if (bpf_ntohs(outer->tot_len) > ctx->data_end - ctx->data - L3_OFF ||
	    bpf_ntohs(udp->len) + sizeof(*outer) != bpf_ntohs(outer->tot_len) ||
	    bpf_ntohs(in->tot_len) + SLOTLB_DSR_OVERHEAD !=
		    bpf_ntohs(outer->tot_len) ||
	    in->version != 4 || in->ihl < 5)
		return SLOTLB_AGENT_DROP_MALFORMED;
	if (endpoint_count &&
	    !bpf_map_lookup_elem(&agent_endpoints, &in->daddr))
		return SLOTLB_AGENT_DROP_NOT_ENDPOINT;
	if (!gue->hops || !gue->second[0] || in->protocol != IPPROTO_TCP ||
	    (in->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
		return deliver(ctx);
	ihl = in->ihl * 4;
	if (ihl > 60)
		return SLOTLB_AGENT_DROP_MALFORMED;
	th = (void *)in + ihl;
	if ((void *)(th + 1) > data_end)
		return SLOTLB_AGENT_DROP_MALFORMED;
	if ((((__u8 *)th)[13] & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
		return deliver(ctx);
	if (socket_owns(ctx, in, th))
		return deliver(ctx) == SLOTLB_AGENT_DELIVER
			       ? SLOTLB_AGENT_DELIVER_OWNED
			       : SLOTLB_AGENT_DROP_MALFORMED;
	return forward(ctx, egress);
}

SEC("xdp")
int slotlb_decap(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 egress = 0, reason;

	reason = decap(ctx, &egress);
	count(reason, len);
	switch (reason) {
	case SLOTLB_AGENT_PASS:
	case SLOTLB_AGENT_DELIVER:
	case SLOTLB_AGENT_DELIVER_OWNED:
	case SLOTLB_AGENT_PASS_NO_NEIGH:
		return XDP_PASS;
	case SLOTLB_AGENT_FORWARD:
		if (egress == ctx->ingress_ifindex)
			return XDP_TX;
		return bpf_redirect(egress, 0);
	default:
		return XDP_DROP;
	}
}
