/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Header parsing: Ethernet, IPv4 or IPv6 (with at most a fragment
 * header), then TCP, UDP or ICMP, into what the rest of the program
 * needs: the 5-tuple as seen on the wire, TCP sequence numbers, the L4
 * offset and whether the packet is a fragment. Returns 0 or a negative
 * slotlb_reason; never a verdict. IPv4 options and other IPv6 extension
 * headers to an endpoint address are dropped by policy (they cannot be
 * NATed without a variable header walk), and so is a broken header to
 * an endpoint address; to any other address a packet passes untouched,
 * broken or not: the kernel decides.
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
#include <linux/icmpv6.h>
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

#define IP_DF 0x4000
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define L3_OFF sizeof(struct ethhdr)
#define L4_OFF_V4 (L3_OFF + sizeof(struct iphdr))
#define L4_OFF_V6 (L3_OFF + sizeof(struct ipv6hdr))
#define FRAG6_LEN 8 /* IPv6 fragment header */

#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

/* ICMPv4 (linux/icmp.h pulls in libc's socket headers). */
#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_FRAG_NEEDED 4
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11

struct icmphdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	union {
		struct {
			__be16 id;
			__be16 sequence;
		} echo;
		__be32 gateway;
		struct {
			__be16 __unused;
			__be16 mtu;
		} frag;
	} un;
};

/* Where in a datagram a packet is. */
enum frag_kind {
	FRAG_NONE = 0, /* a whole datagram */
	FRAG_FIRST, /* offset 0, more to come: carries the L4 header */
	FRAG_LATER, /* offset > 0: no L4 header */
};

/* What the parser learned of one packet. */
struct packet {
	struct slotlb_flow_key key; /* 5-tuple as seen (ports 0: ICMP and
				     * later fragments) */
	__u32 len; /* frame length, for byte counters */
	__u32 seq; /* TCP sequence number, host order */
	__u32 ack; /* TCP acknowledgement, host order */
	__be32 frag_id; /* fragment identification (IPv4: 16 bits) */
	__u16 l4_off; /* offset of the L4 header in the frame */
	__u16 ip_len; /* IP header and payload (IPv6: with its 40 bytes) */
	__u16 payload; /* TCP payload bytes */
	__u8 tcp_flags; /* TCP flags byte, 0 for UDP */
	__u8 ttl; /* TTL or hop limit */
	__u8 frag; /* enum frag_kind */
	__u8 df; /* may not be fragmented (IPv4 DF, or IPv6) */
	__u8 icmp_type; /* ICMP / ICMPv6 type */
	__u8 icmp_code;
};

static __always_inline bool is_icmp(const struct packet *pkt)
{
	return pkt->key.proto == IPPROTO_ICMP ||
	       pkt->key.proto == IPPROTO_ICMPV6;
}

/* Might addr be an endpoint address? false: certainly not (its filter
 * bit is clear); true: perhaps (endpoint_addrs knows). */
static __always_inline bool endpoint_addr_maybe(const __be32 *addr, __u8 family)
{
	__u32 bit = slotlb_filter_bit(addr, family);
	__u32 zero = 0, w = SLOTLB_FILTER_WORD(bit);
	__u64 *valid, *word;

	valid = bpf_map_lookup_elem(&endpoint_filter, &zero);
	word = bpf_map_lookup_elem(&endpoint_filter, &w);
	if (!valid || !word || *valid != SLOTLB_FILTER_VALID)
		return true;
	return *word & SLOTLB_FILTER_MASK(bit);
}

/* Is addr an endpoint address (or one pinned flows still use)? */
static __always_inline bool is_endpoint_addr(const __be32 *addr, __u8 family)
{
	struct slotlb_addr_key key = {
		.family = family,
	};

	if (!endpoint_addr_maybe(addr, family))
		return false;

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

/* L4 header of a whole datagram or a first fragment; l3_hdr is the IP
 * header length, for the TCP payload. */
static __always_inline int parse_l4(void *data, void *data_end,
				    struct packet *pkt, __u16 l3_hdr)
{
	void *l4 = data + pkt->l4_off;

	if (pkt->key.proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;
		__u16 hdr;

		if ((void *)(th + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		if (th->doff < 5)
			return -SLOTLB_REASON_DROP_MALFORMED;
		hdr = l3_hdr + th->doff * 4;
		if (pkt->frag == FRAG_NONE && hdr > pkt->ip_len)
			return -SLOTLB_REASON_DROP_MALFORMED;
		pkt->key.sport = th->source;
		pkt->key.dport = th->dest;
		pkt->tcp_flags = ((__u8 *)th)[13];
		pkt->seq = bpf_ntohl(th->seq);
		pkt->ack = bpf_ntohl(th->ack_seq);
		pkt->payload = pkt->ip_len > hdr ? pkt->ip_len - hdr : 0;
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
	if (is_icmp(pkt) && pkt->frag == FRAG_NONE) {
		struct icmphdr *ih = l4;

		if ((void *)(ih + 1) > data_end)
			return -SLOTLB_REASON_DROP_TRUNCATED;
		pkt->icmp_type = ih->type;
		pkt->icmp_code = ih->code;
		return 0;
	}
	return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
}

/* The outcome for an L4 protocol slotlb does not handle. */
static __always_inline int other_proto(const struct packet *pkt)
{
	/* A fragment of it to an endpoint address cannot be ours. */
	if (pkt->frag != FRAG_NONE)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_FRAGMENT);
	return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
}

static __always_inline int parse_ipv4(void *data, void *data_end,
				      struct packet *pkt)
{
	struct iphdr *iph = data + L3_OFF;
	__u16 frag_off;
	int rc;

	if ((void *)(iph + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	pkt->key.family = AF_INET;
	pkt->key.proto = iph->protocol;
	pkt->key.src[0] = iph->saddr;
	pkt->key.dst[0] = iph->daddr;
	pkt->ttl = iph->ttl;

	pkt->ip_len = bpf_ntohs(iph->tot_len);
	if (iph->version != 4 || iph->ihl < 5 || pkt->ip_len < sizeof(*iph))
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_MALFORMED);
	if (pkt->ip_len > data_end - (void *)iph)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_TRUNCATED);
	if (iph->ihl != 5)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_IP_OPTIONS);
	frag_off = bpf_ntohs(iph->frag_off);
	pkt->df = !!(frag_off & IP_DF);
	pkt->l4_off = L4_OFF_V4;
	if (frag_off & (IP_MF | IP_OFFSET)) {
		pkt->frag = frag_off & IP_OFFSET ? FRAG_LATER : FRAG_FIRST;
		pkt->frag_id = (__be32)iph->id;
	}
	if (pkt->key.proto != IPPROTO_TCP && pkt->key.proto != IPPROTO_UDP &&
	    pkt->key.proto != IPPROTO_ICMP)
		return other_proto(pkt);
	if (pkt->frag == FRAG_LATER)
		return pkt->key.proto == IPPROTO_ICMP ? other_proto(pkt) : 0;
	rc = parse_l4(data, data_end, pkt, sizeof(*iph));
	if (rc < 0 && rc != -SLOTLB_REASON_PASS_NOT_ENDPOINT)
		return if_for_endpoint(pkt, rc);
	if (rc == -SLOTLB_REASON_PASS_NOT_ENDPOINT)
		return other_proto(pkt);
	return 0;
}

/* An IPv6 fragment header right after the fixed header. */
static __always_inline int parse_frag6(void *data, void *data_end,
				       struct packet *pkt)
{
	struct frag_hdr {
		__u8 nexthdr;
		__u8 reserved;
		__be16 frag_off;
		__be32 identification;
	} *fh = data + L4_OFF_V6;
	__u16 off;

	if ((void *)(fh + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	off = bpf_ntohs(fh->frag_off);
	pkt->key.proto = fh->nexthdr;
	pkt->frag_id = fh->identification;
	pkt->l4_off = L4_OFF_V6 + FRAG6_LEN;
	if (off & 0xfff8)
		pkt->frag = FRAG_LATER;
	else if (off & 1)
		pkt->frag = FRAG_FIRST;
	/* An atomic fragment (offset 0, no more) is a whole datagram. */
	return 0;
}

static __always_inline int parse_ipv6(void *data, void *data_end,
				      struct packet *pkt)
{
	struct ipv6hdr *ip6h = data + L3_OFF;
	__u16 l3_hdr = sizeof(*ip6h);
	int rc;

	if ((void *)(ip6h + 1) > data_end)
		return -SLOTLB_REASON_DROP_TRUNCATED;
	pkt->key.family = AF_INET6;
	pkt->key.proto = ip6h->nexthdr;
	__builtin_memcpy(pkt->key.src, &ip6h->saddr, 16);
	__builtin_memcpy(pkt->key.dst, &ip6h->daddr, 16);
	pkt->ttl = ip6h->hop_limit;
	pkt->df = 1;
	pkt->l4_off = L4_OFF_V6;

	if (ip6h->version != 6)
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_MALFORMED);
	if (bpf_ntohs(ip6h->payload_len) > data_end - (void *)(ip6h + 1))
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_TRUNCATED);
	pkt->ip_len = bpf_ntohs(ip6h->payload_len) + sizeof(*ip6h);

	switch (ip6h->nexthdr) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_ICMPV6:
		break;
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
		return if_for_endpoint(pkt, -SLOTLB_REASON_DROP_IP_OPTIONS);
	case IPPROTO_FRAGMENT:
		rc = parse_frag6(data, data_end, pkt);
		if (rc < 0)
			return if_for_endpoint(pkt, rc);
		l3_hdr += FRAG6_LEN;
		if (pkt->key.proto != IPPROTO_TCP &&
		    pkt->key.proto != IPPROTO_UDP)
			return if_for_endpoint(pkt,
					       -SLOTLB_REASON_DROP_FRAGMENT);
		if (pkt->frag == FRAG_LATER)
			return 0;
		break;
	default: /* the rest is the kernel's */
		return -SLOTLB_REASON_PASS_NOT_ENDPOINT;
	}
	rc = parse_l4(data, data_end, pkt, l3_hdr);
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
