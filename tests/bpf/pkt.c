/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder and checker of the BPF tests (see pkt.h). Checksums here
 * are summed byte pair by byte pair in network order (RFC 1071), not with
 * the data path's word-wise incremental arithmetic, so a shared mistake
 * cannot hide.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "pkt.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define TCP_LEN 20
#define UDP_LEN 8
#define ICMP_LEN 8

static const uint8_t default_mac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0xee};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Add bytes to a running one's complement sum, big-endian pairs. */
static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* Sum of the pseudo header of an L4 segment of len bytes. */
static uint32_t pseudo_sum(int family, const uint8_t *l3, uint8_t proto,
			   size_t len)
{
	uint32_t sum = 0;

	if (family == AF_INET)
		sum = sum_bytes(sum, l3 + 12, 8);
	else
		sum = sum_bytes(sum, l3 + 8, 32);
	sum += proto;
	sum += (uint32_t)(len & 0xffff) + (uint32_t)(len >> 16);
	return sum;
}

void pkt_addr(int family, const char *text, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(family, text, out) != 1) {
		fprintf(stderr, "Error: test: bad address %s\n", text);
		abort();
	}
}

bool pkt_addr_eq(int family, const uint8_t *a, const char *text)
{
	uint8_t b[16];

	pkt_addr(family, text, b);
	return !memcmp(a, b, family == AF_INET ? 4 : 16);
}

/* Payload bytes that differ per flow and per offset. */
static void fill_payload(uint8_t *p, size_t len, uint16_t seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 31 + 7 + seed);
}

static size_t build_l4(uint8_t *l4, const struct pkt_spec *s)
{
	size_t hdr;

	switch (s->proto) {
	case IPPROTO_TCP:
		hdr = TCP_LEN + 4 * s->tcp_optlen;
		memset(l4, 0, hdr);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put32(l4 + 4,
		      s->seq ? (uint32_t)s->seq : 0x11223344u + s->seed);
		if (s->ack)
			put32(l4 + 8, (uint32_t)s->ack);
		else
			put32(l4 + 8, s->flags & F_ACK ? 0x55667788u : 0);
		l4[12] = (uint8_t)((hdr / 4) << 4);
		l4[13] = s->flags;
		put16(l4 + 14, 64240);
		if (s->tcp_optlen) {
			memset(l4 + TCP_LEN, 1, 4 * s->tcp_optlen);
			l4[TCP_LEN] = 2; /* MSS 1460 */
			l4[TCP_LEN + 1] = 4;
			put16(l4 + TCP_LEN + 2, 1460);
		}
		break;
	case IPPROTO_UDP:
		hdr = UDP_LEN;
		memset(l4, 0, hdr);
		put16(l4, s->sport);
		put16(l4 + 2, s->dport);
		put16(l4 + 4, (uint16_t)(UDP_LEN + s->payload));
		break;
	default: /* ICMP or ICMPv6 echo request */
		hdr = ICMP_LEN;
		memset(l4, 0, hdr);
		l4[0] = s->proto == IPPROTO_ICMP ? 8 : 128;
		put16(l4 + 4, s->seed);
		put16(l4 + 6, 1);
		break;
	}
	fill_payload(l4 + hdr, s->payload, s->seed);
	return hdr + s->payload;
}

/* Checksum of the L4 segment, now that the IP header is final. */
static void l4_checksum(int family, uint8_t *l3, uint8_t *l4, uint8_t proto,
			size_t len, bool no_csum)
{
	size_t off;
	uint32_t sum = 0;
	uint16_t c;

	if (proto == IPPROTO_TCP)
		off = 16;
	else if (proto == IPPROTO_UDP)
		off = 6;
	else
		off = 2;
	if (proto == IPPROTO_UDP && no_csum)
		return;
	if (proto != IPPROTO_ICMP)
		sum = pseudo_sum(family, l3, proto, len);
	sum = sum_bytes(sum, l4, len);
	c = (uint16_t)~fold(sum);
	if (proto == IPPROTO_UDP && !c)
		c = 0xffff; /* 0 means "no checksum" */
	put16(l4 + off, c);
}

static size_t build_ipv4(uint8_t *l3, const struct pkt_spec *s)
{
	size_t hlen = IP4_LEN + 4 * s->ip_optlen;
	uint8_t *l4 = l3 + hlen;
	size_t l4len = build_l4(l4, s);
	uint8_t a[16];

	memset(l3, 0, hlen);
	l3[0] = (uint8_t)(0x40 | (hlen / 4));
	put16(l3 + 2, (uint16_t)(hlen + l4len));
	put16(l3 + 4, (uint16_t)(0x1234 + s->seed));
	put16(l3 + 6, s->frag ? s->frag : 0x4000); /* DF */
	l3[8] = s->ttl ? s->ttl : 64;
	l3[9] = s->proto;
	pkt_addr(AF_INET, s->src, a);
	memcpy(l3 + 12, a, 4);
	pkt_addr(AF_INET, s->dst, a);
	memcpy(l3 + 16, a, 4);
	memset(l3 + IP4_LEN, 1, 4 * s->ip_optlen); /* NOP options */
	put16(l3 + 10, (uint16_t)~fold(sum_bytes(0, l3, hlen)));
	l4_checksum(AF_INET, l3, l4, s->proto, l4len, s->udp_no_csum);
	return hlen + l4len;
}

static size_t build_ipv6(uint8_t *l3, const struct pkt_spec *s)
{
	size_t ext = s->v6_ext ? 8 : 0;
	uint8_t *l4 = l3 + IP6_LEN + ext;
	size_t l4len = build_l4(l4, s);
	uint8_t *eh = l3 + IP6_LEN;
	uint8_t a[16];

	memset(l3, 0, IP6_LEN + ext);
	l3[0] = 0x60;
	put16(l3 + 4, (uint16_t)(ext + l4len));
	l3[6] = s->v6_ext ? (uint8_t)s->v6_ext : s->proto;
	l3[7] = s->ttl ? s->ttl : 64;
	pkt_addr(AF_INET6, s->src, a);
	memcpy(l3 + 8, a, 16);
	pkt_addr(AF_INET6, s->dst, a);
	memcpy(l3 + 24, a, 16);
	if (s->v6_ext == SET(IPPROTO_FRAGMENT)) {
		eh[0] = s->proto;
		put16(eh + 2, s->v6_frag);
		put32(eh + 4, 0xcafe0000u + s->seed);
	} else if (s->v6_ext) {
		eh[0] = s->proto; /* hop-by-hop with one PadN option */
		eh[2] = 1;
		eh[3] = 4;
	}
	l4_checksum(AF_INET6, l3, l4, s->proto, l4len, false);
	return IP6_LEN + ext + l4len;
}

size_t pkt_build(uint8_t *buf, const struct pkt_spec *s)
{
	uint8_t *l3 = buf + ETH_LEN;
	size_t len;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, s->dmac ? s->dmac : default_mac, 6);
	memcpy(buf + 6, s->smac ? s->smac : default_mac, 6);
	put16(buf + 12, s->family == AF_INET ? 0x0800 : 0x86dd);
	if (s->family == AF_INET)
		len = ETH_LEN + build_ipv4(l3, s);
	else
		len = ETH_LEN + build_ipv6(l3, s);

	if (s->set_ihl)
		l3[0] = (uint8_t)((l3[0] & 0xf0) | (s->set_ihl & 0xf));
	if (s->set_version)
		l3[0] = (uint8_t)((l3[0] & 0x0f) | (s->set_version & 0xf) << 4);
	if (s->set_tot_len)
		put16(l3 + 2, s->set_tot_len);
	if (s->set_doff && s->proto == IPPROTO_TCP) {
		uint8_t *th = l3 + (s->family == AF_INET
					    ? IP4_LEN + 4 * s->ip_optlen
					    : IP6_LEN + (s->v6_ext ? 8 : 0));
		th[12] = (uint8_t)((s->set_doff & 0xf) << 4);
	}
	if (len < s->pad_to)
		len = s->pad_to; /* zeros from the memset */
	if (s->truncate && s->truncate < len)
		len = s->truncate;
	return len;
}

size_t pkt_icmp_quote(int family, size_t frame_len)
{
	size_t ip = frame_len - 14, max = family == AF_INET ? 548 : 1232;

	return ip < max ? ip : max;
}

size_t pkt_build_icmp_error(uint8_t *buf, int family, const char *src,
			    const char *dst, uint8_t type, uint8_t code,
			    uint32_t mtu, const uint8_t *frame, size_t quote,
			    const uint8_t *smac, const uint8_t *dmac)
{
	size_t hdr = family == AF_INET ? IP4_LEN : IP6_LEN;
	uint8_t *l3 = buf + ETH_LEN, *icmp = l3 + hdr;
	size_t len = ICMP_LEN + quote;
	uint8_t a[16];
	uint32_t sum;

	memset(buf, 0, PKT_MAX);
	memcpy(buf, dmac ? dmac : default_mac, 6);
	memcpy(buf + 6, smac ? smac : default_mac, 6);
	put16(buf + 12, family == AF_INET ? 0x0800 : 0x86dd);
	icmp[0] = type;
	icmp[1] = code;
	if (family == AF_INET)
		put16(icmp + 6, (uint16_t)mtu);
	else
		put32(icmp + 4, mtu);
	memcpy(icmp + ICMP_LEN, frame + ETH_LEN, quote);
	if (family == AF_INET) {
		l3[0] = 0x45;
		put16(l3 + 2, (uint16_t)(IP4_LEN + len));
		l3[8] = 64;
		l3[9] = IPPROTO_ICMP;
		pkt_addr(AF_INET, src, a);
		memcpy(l3 + 12, a, 4);
		pkt_addr(AF_INET, dst, a);
		memcpy(l3 + 16, a, 4);
		put16(l3 + 10, (uint16_t)~fold(sum_bytes(0, l3, IP4_LEN)));
		sum = 0;
	} else {
		l3[0] = 0x60;
		put16(l3 + 4, (uint16_t)len);
		l3[6] = IPPROTO_ICMPV6;
		l3[7] = 64;
		pkt_addr(AF_INET6, src, a);
		memcpy(l3 + 8, a, 16);
		pkt_addr(AF_INET6, dst, a);
		memcpy(l3 + 24, a, 16);
		sum = pseudo_sum(AF_INET6, l3, IPPROTO_ICMPV6, len);
	}
	sum = sum_bytes(sum, icmp, len);
	put16(icmp + 2, (uint16_t)~fold(sum));
	return ETH_LEN + hdr + len;
}

size_t pkt_fragment(const uint8_t *frame, size_t off, size_t flen, bool more,
		    uint32_t id, uint8_t *out)
{
	const uint8_t *l3 = frame + ETH_LEN;
	uint8_t *o3 = out + ETH_LEN;

	memset(out, 0, PKT_MAX);
	memcpy(out, frame, ETH_LEN);
	if (get16(frame + 12) == 0x0800) {
		memcpy(o3, l3, IP4_LEN);
		put16(o3 + 2, (uint16_t)(IP4_LEN + flen));
		put16(o3 + 4, (uint16_t)id);
		put16(o3 + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
		memcpy(o3 + IP4_LEN, l3 + IP4_LEN + off, flen);
		put16(o3 + 10, 0);
		put16(o3 + 10, (uint16_t)~fold(sum_bytes(0, o3, IP4_LEN)));
		return ETH_LEN + IP4_LEN + flen;
	}
	memcpy(o3, l3, IP6_LEN);
	put16(o3 + 4, (uint16_t)(8 + flen));
	o3[6] = IPPROTO_FRAGMENT;
	o3[IP6_LEN] = l3[6];
	put16(o3 + IP6_LEN + 2, (uint16_t)(off | (more ? 1 : 0)));
	put32(o3 + IP6_LEN + 4, id);
	memcpy(o3 + IP6_LEN + 8, l3 + IP6_LEN + off, flen);
	return ETH_LEN + IP6_LEN + 8 + flen;
}

void pkt_set_ttl(uint8_t *buf, size_t len, uint8_t ttl)
{
	uint8_t *l3 = buf + ETH_LEN;

	if (len < ETH_LEN + IP4_LEN)
		return;
	if (get16(buf + 12) == 0x0800) {
		l3[8] = ttl;
		put16(l3 + 10, 0);
		put16(l3 + 10, (uint16_t)~fold(sum_bytes(0, l3, IP4_LEN)));
	} else if (len >= ETH_LEN + IP6_LEN) {
		l3[7] = ttl;
	}
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static const uint8_t *tcp_of(const uint8_t *buf, size_t len)
{
	size_t l4;

	if (len < ETH_LEN + IP4_LEN)
		return NULL;
	if (get16(buf + 12) == 0x0800 && buf[ETH_LEN + 9] == IPPROTO_TCP)
		l4 = ETH_LEN + 4u * (buf[ETH_LEN] & 0x0f);
	else if (get16(buf + 12) == 0x86dd && len >= ETH_LEN + IP6_LEN &&
		 buf[ETH_LEN + 6] == IPPROTO_TCP)
		l4 = ETH_LEN + IP6_LEN;
	else
		return NULL;
	return l4 + TCP_LEN <= len ? buf + l4 : NULL;
}

uint32_t pkt_tcp_seq(const uint8_t *buf, size_t len)
{
	const uint8_t *th = tcp_of(buf, len);

	return th ? get32(th + 4) : 0;
}

uint32_t pkt_tcp_ack(const uint8_t *buf, size_t len)
{
	const uint8_t *th = tcp_of(buf, len);

	return th ? get32(th + 8) : 0;
}

size_t pkt_build_arp(uint8_t *buf, const char *sender, const char *target)
{
	uint8_t a[16];

	memset(buf, 0, PKT_MAX);
	memset(buf, 0xff, 6);
	memcpy(buf + 6, default_mac, 6);
	put16(buf + 12, 0x0806);
	put16(buf + 14, 1); /* Ethernet */
	put16(buf + 16, 0x0800);
	buf[18] = 6;
	buf[19] = 4;
	put16(buf + 20, 1); /* request */
	memcpy(buf + 22, default_mac, 6);
	pkt_addr(AF_INET, sender, a);
	memcpy(buf + 28, a, 4);
	pkt_addr(AF_INET, target, a);
	memcpy(buf + 38, a, 4);
	return 42;
}

/* L3 header and L4 segment of a frame, bounded by the IP length field. */
static bool locate(const uint8_t *buf, size_t len, int *family,
		   const uint8_t **l3, const uint8_t **l4, size_t *l4len,
		   uint8_t *proto)
{
	uint16_t type;
	size_t hlen, total;

	if (len < ETH_LEN)
		return false;
	type = get16(buf + 12);
	*l3 = buf + ETH_LEN;
	if (type == 0x0800) {
		if (len < ETH_LEN + IP4_LEN || ((*l3)[0] >> 4) != 4)
			return false;
		hlen = 4u * ((*l3)[0] & 0x0f);
		total = get16(*l3 + 2);
		if (hlen != IP4_LEN || total < hlen || ETH_LEN + total > len)
			return false;
		*family = AF_INET;
		*proto = (*l3)[9];
		*l4 = *l3 + hlen;
		*l4len = total - hlen;
		return true;
	}
	if (type == 0x86dd) {
		if (len < ETH_LEN + IP6_LEN || ((*l3)[0] >> 4) != 6)
			return false;
		total = get16(*l3 + 4);
		if (ETH_LEN + IP6_LEN + total > len)
			return false;
		*family = AF_INET6;
		*proto = (*l3)[6];
		*l4 = *l3 + IP6_LEN;
		*l4len = total;
		return true;
	}
	return false;
}

bool pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi)
{
	const uint8_t *l3, *l4;
	size_t l4len;

	memset(pi, 0, sizeof(*pi));
	if (!locate(buf, len, &pi->family, &l3, &l4, &l4len, &pi->proto))
		return false;
	if (pi->proto == IPPROTO_TCP) {
		if (l4len < TCP_LEN)
			return false;
		pi->flags = l4[13];
		pi->l4_csum = get16(l4 + 16);
	} else if (pi->proto == IPPROTO_UDP) {
		if (l4len < UDP_LEN)
			return false;
		pi->l4_csum = get16(l4 + 6);
	} else {
		return false;
	}
	pi->sport = get16(l4);
	pi->dport = get16(l4 + 2);
	if (pi->family == AF_INET) {
		memcpy(pi->src, l3 + 12, 4);
		memcpy(pi->dst, l3 + 16, 4);
		pi->ttl = l3[8];
	} else {
		memcpy(pi->src, l3 + 8, 16);
		memcpy(pi->dst, l3 + 24, 16);
		pi->ttl = l3[7];
	}
	pi->dmac = buf;
	pi->smac = buf + 6;
	return true;
}

bool pkt_csum_ok(const uint8_t *buf, size_t len, const char **why)
{
	const uint8_t *l3, *l4;
	size_t l4len;
	int family;
	uint8_t proto;
	uint32_t sum;

	*why = "not a parsable IPv4/IPv6 frame";
	if (!locate(buf, len, &family, &l3, &l4, &l4len, &proto))
		return false;
	if (family == AF_INET && fold(sum_bytes(0, l3, IP4_LEN)) != 0xffff) {
		*why = "IPv4 header checksum";
		return false;
	}
	/* A fragment's L4 checksum covers the whole datagram. */
	if (family == AF_INET && (get16(l3 + 6) & 0x3fff))
		return true;
	if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
		sum = proto == IPPROTO_ICMPV6
			      ? pseudo_sum(family, l3, proto, l4len)
			      : 0;
		if (fold(sum_bytes(sum, l4, l4len)) != 0xffff) {
			*why = "ICMP checksum";
			return false;
		}
		return true;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return true;
	if (l4len < (proto == IPPROTO_TCP ? TCP_LEN : UDP_LEN)) {
		*why = "L4 header truncated";
		return false;
	}
	if (proto == IPPROTO_UDP && !get16(l4 + 6)) {
		*why = "IPv6 UDP without checksum";
		return family == AF_INET;
	}
	sum = pseudo_sum(family, l3, proto, l4len);
	sum = sum_bytes(sum, l4, l4len);
	if (fold(sum) != 0xffff) {
		*why = proto == IPPROTO_TCP ? "TCP checksum" : "UDP checksum";
		return false;
	}
	return true;
}

void pkt_fix_checksums(uint8_t *buf, size_t len)
{
	const uint8_t *l3, *l4;
	size_t l4len;
	uint8_t proto;
	int family;

	if (!locate(buf, len, &family, &l3, &l4, &l4len, &proto))
		return;
	if (family == AF_INET) {
		uint8_t *ip = buf + (l3 - buf);

		put16(ip + 10, 0);
		put16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, IP4_LEN)));
	}
	if ((proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) &&
	    l4len >= ICMP_LEN) {
		uint8_t *seg = buf + (l4 - buf);

		put16(seg + 2, 0);
		l4_checksum(family, buf + (l3 - buf), seg, proto, l4len, false);
		return;
	}
	if ((proto == IPPROTO_TCP && l4len >= TCP_LEN) ||
	    (proto == IPPROTO_UDP && l4len >= UDP_LEN)) {
		uint8_t *seg = buf + (l4 - buf);
		bool none = proto == IPPROTO_UDP && family == AF_INET &&
			    !get16(seg + 6);

		put16(seg + (proto == IPPROTO_TCP ? 16 : 6), 0);
		l4_checksum(family, buf + (l3 - buf), seg, proto, l4len, none);
	}
}

void pkt_diff(const uint8_t *got, size_t got_len, const uint8_t *want,
	      size_t want_len)
{
	size_t i, first = 0, n = got_len < want_len ? got_len : want_len;

	while (first < n && got[first] == want[first])
		first++;
	fprintf(stderr, "  length got %zu want %zu, first difference at %zu\n",
		got_len, want_len, first);
	fprintf(stderr, "  got :");
	for (i = first & ~(size_t)15; i < got_len && i < first + 32; i++)
		fprintf(stderr, " %02x", got[i]);
	fprintf(stderr, "\n  want:");
	for (i = first & ~(size_t)15; i < want_len && i < first + 32; i++)
		fprintf(stderr, " %02x", want[i]);
	fprintf(stderr, "\n");
}

size_t pkt_build_gue(uint8_t *buf, const uint8_t *frame, size_t ip_len,
		     const char *src, const char *dst, const char *second,
		     uint16_t sport, const uint8_t *smac, const uint8_t *dmac)
{
	uint8_t *ip = buf + 14, *udp = ip + 20, *gue = udp + 8;
	uint8_t a[16];

	memset(buf, 0, 14 + 52);
	memcpy(buf, dmac, 6);
	memcpy(buf + 6, smac, 6);
	put16(buf + 12, 0x0800);
	ip[0] = 0x45;
	ip[1] = frame[14 + 1]; /* the inner packet's TOS */
	put16(ip + 2, (uint16_t)(ip_len + 52));
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	pkt_addr(AF_INET, src, a);
	memcpy(ip + 12, a, 4);
	pkt_addr(AF_INET, dst, a);
	memcpy(ip + 16, a, 4);
	put16(udp, sport);
	put16(udp + 2, 6080);
	put16(udp + 4, (uint16_t)(ip_len + 32));
	gue[0] = 5; /* version 0, C 0, five words follow */
	gue[1] = 4; /* IPIP */
	gue[4] = 'S';
	gue[5] = 'L';
	if (second) {
		gue[6] = 1;
		pkt_addr(AF_INET, second, a);
		memcpy(gue + 8, a, 4);
	}
	memcpy(buf + 14 + 52, frame + 14, ip_len);
	pkt_fix_checksums(buf, 14 + 52 + ip_len);
	return 14 + 52 + ip_len;
}
