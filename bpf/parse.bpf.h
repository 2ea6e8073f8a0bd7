/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing: Ethernet, IPv4 or IPv6, then TCP or UDP, into a flow
 * key as seen on the wire. Returns 0 or a negative slotlb_reason; never
 * a verdict. Only the IPv4 header without options and IPv6 without
 * extension headers are parsed; what else reaches an endpoint address is
 * dropped by policy (fragments and options cannot be load balanced by
 * ports), and so is a broken header to an endpoint address. What reaches
 * any other address passes untouched, broken or not: the kernel decides.
 */
#ifndef SLOTLB_PARSE_BPF_H
#define SLOTLB_PARSE_BPF_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <slotlb/abi.h>
#include "maps.bpf.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define L3_OFF sizeof(struct ethhdr)
#define L4_OFF_V4 (L3_OFF + sizeof(struct iphdr))
#define L4_OFF_V6 (L3_OFF + sizeof(struct ipv6hdr))

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* What the parser learned of one packet. */
struct packet {
	struct slotlb_flow_key key; /* 5-tuple as seen */
	__u32 len; /* frame length, for byte counters */
	__u8 tcp_flags; /* TCP flags byte, 0 for UDP */
	__u8 ttl; /* TTL or hop limit */
};

/* Is addr the address of some endpoint? Used on the rare paths only. */
static __always_inline bool is_endpoint_addr(const __be32 *addr, __u8 family)
{
	struct slotlb_addr_key key = {
		.family = family,
	};

	__builtin_memcpy(key.addr, addr, sizeof(key.addr));
	return bpf_map_lookup_elem(&endpoint_addrs, &key) != NULL;
}

/* A broken packet is dropped only when it was meant for an endpoint;
 * anything else stays the kernel's business, untouched. */
static __always_inline int if_for_endpoint(const struct packet *pkt, int reason)
{
	if (!is_endpoint_addr(pkt->key.dst, pkt->key.family))
		return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
	return reason;
}

static __always_inline int parse_l4(void *l4, void *data_end,
				    struct packet *pkt)
{
	if (pkt->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		if (th->doff < 5)
			return -SLOTLB_REASON_DROP_MALFORMED;
		pkt->key.sport = th->source;
		pkt->key.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		return 0;
	}
	if (pkt->key.proto == IPPROTO_UDP) {
		struct udphdr *uh = l4;

		if ((void *)(uh + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		pkt->key.sport = uh->source;
		pkt->key.dport = uh->dest;
		return 0;
	}
	return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
}

static __always_inline int parse_ipv4(void *data, void *data_end,
				      struct packet *pkt)
{
	struct iphdr *iph = data + L3_OFF;

	__u16 tot_len;
	int rc;

	if ((void *)(iph + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	pkt->key.family = AF_INET;
	pkt->key.proto = iph->protocol;
	pkt->key.src[0] = iph->saddr;
	pkt->key.dst[0] = iph->daddr;
	pkt->ttl = iph->ttl;

	tot_len = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || iph->ihl < 5 || tot_len < sizeof(*iph))
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_MALFORMED);
	if (tot_len > data_end - (void *)iph)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_TRUNCATED);
	if (iph->ihl != 5)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_IP_OPTIONS);
	if (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_FRAGMENT);
	rc = parse_l4(data + L4_OFF_V4, data_end, pkt);
	if (rc < 0 && rc != -SLOTLB_REASON_PASS_NOT_ENDPOINT)
		return if_for_endpoint(pkt, rc);
	return rc;
}

static __always_inline int parse_ipv6(void *data, void *data_end,
				      struct packet *pkt)
{
	struct ipv6hdr *ip6h = data + L3_OFF;

	int rc;

	if ((void *)(ip6h + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	pkt->key.family = AF_INET6;
	pkt->key.proto = ip6h->nexthdr;
	__builtin_memcpy(pkt->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->daddr, 16);
	pkt->ttl = ip6h->hop_limit;

	if (ip6h->version != 6)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_MALFORMED);
	if (bpf_ntohs(ip6h->payload_len) > data_end - (void *)(ip6h + 1))
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_TRUNCATED);

	switch (ip6h->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
		break;
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_IP_OPTIONS);
	case IPPROTO_FRAGMENT:
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_FRAGMENT);
	default: /* ICMPv6 and the rest are the kernel's */
		return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
	}
	rc = parse_l4(data + L4_OFF_V6, data_end, pkt);
	if (rc < 0 && rc != -SLOTLB_REASON_PASS_NOT_ENDPOINT)
		return if_for_endpoint(pkt, rc);
	return rc;
}

/* Fill pkt from the frame. */
static __always_inline int parse_packet(struct xdp_md *ctx, struct packet *pkt)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	pkt->len = data_end - data;
	if ((void *)(eth + 1) > data_end)
		return -SLOTLB_REASON_PASS_NOT_IP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, pkt);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, pkt);
	return -SLOTLB_REASON_PASS_NOT_IP;
}

#endif /* SLOTLB_PARSE_BPF_H */
