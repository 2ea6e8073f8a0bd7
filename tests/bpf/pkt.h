/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Packet builder and checker of the BPF tests. Packets are built from a
 * readable spec (Ethernet, IPv4 or IPv6, TCP/UDP/ICMP, payload) with every
 * checksum computed from scratch, so an expected output can be built the
 * same way as the input and compared byte for byte. The checksum code is
 * written independently of bpf/csum.bpf.h (bytes, not words) on purpose.
 */
#ifndef SLOTLB_TEST_PKT_H
#define SLOTLB_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames up to this size; test_run copies out at most this much. */
#define PKT_MAX 2048

/* TCP flag bits, as on the wire. */
#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* Marks a corruption field as set, so that 0 can be written too. */
#define SET(v) (0x100 | (v))
/* An explicit TCP sequence or acknowledgement number (0 = derived). */
#define SEQ(v) (0x100000000ULL | (uint32_t)(v))

/* What to build. Zero fields take a sensible default. */
struct pkt_spec {
	int family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP, _UDP, _ICMP or _ICMPV6 */
	const char *src, *dst; /* addresses as text */
	uint16_t sport, dport; /* host order; ICMP: echo id is seed */
	uint8_t flags; /* TCP flags */
	uint64_t seq, ack; /* SEQ(n): TCP numbers; 0: from seed, ack fixed */
	uint8_t ttl; /* TTL or hop limit; 0 means 64 */
	uint16_t payload; /* payload bytes after the L4 header */
	uint16_t seed; /* IP id, TCP seq and payload bytes derive from it,
			* not from fields a NAT rewrites */
	const uint8_t *smac, *dmac; /* NULL: a fixed local MAC */
	bool udp_no_csum; /* IPv4 UDP sent without checksum */
	uint16_t pad_to; /* Ethernet padding up to this frame length */
	uint8_t tcp_optlen; /* TCP options (MSS, then NOPs), 4-byte units */
	uint8_t ip_optlen; /* IPv4 options (NOPs), 4-byte units */
	uint16_t frag; /* IPv4 frag_off field (host order, MF = 0x2000) */
	uint16_t v6_ext; /* IPv6 ext header before L4: 0 none, else
			  * SET(IPPROTO_FRAGMENT) or SET(IPPROTO_HOPOPTS) */
	uint16_t v6_frag; /* frag_off field of that fragment header */
	/* Corruptions applied after the checksums are computed. */
	uint16_t set_ihl; /* SET(IHL field value), 0 = leave */
	uint16_t set_version; /* SET(IP version field), 0 = leave */
	uint16_t set_doff; /* SET(TCP doff field), 0 = leave */
	uint16_t set_tot_len; /* IPv4 tot_len, 0 = leave */
	uint16_t truncate; /* cut the frame to this many bytes, 0 = no */
};

/* Build the frame into buf (PKT_MAX bytes); returns its length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);
/* An ARP request for target from sender; returns its length. */
size_t pkt_build_arp(uint8_t *buf, const char *sender, const char *target);

/* What a frame says, for asserts on output packets. */
struct pkt_info {
	int family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* L4 protocol */
	uint8_t src[16], dst[16]; /* IPv4 in the first 4 bytes */
	uint16_t sport, dport; /* host order */
	uint8_t ttl; /* TTL or hop limit */
	uint8_t flags; /* TCP flags */
	uint64_t seq, ack; /* SEQ(n): TCP numbers; 0: from seed, ack fixed */
	uint16_t l4_csum; /* L4 checksum field as sent (host order) */
	const uint8_t *smac, *dmac; /* into the frame */
};

/*
 * An ICMP error (IPv4: type/code, IPv6: ICMPv6 type/code) from src to
 * dst quoting the first quote bytes of the IP packet in frame (an
 * Ethernet frame as pkt_build makes them); mtu goes where the type
 * carries one. Checksums computed in full. Returns the frame length.
 */
size_t pkt_build_icmp_error(uint8_t *buf, int family, const char *src,
			    const char *dst, uint8_t type, uint8_t code,
			    uint32_t mtu, const uint8_t *frame, size_t quote,
			    const uint8_t *smac, const uint8_t *dmac);
/* How much of frame's IP packet (frame_len bytes with Ethernet) an ICMP
 * error quotes: all of it, up to 576 - 28 bytes (IPv4) or 1280 - 48
 * (IPv6), the minimum MTU less the error's own headers. */
size_t pkt_icmp_quote(int family, size_t frame_len);

/*
 * Fragment off..off+flen of the IP payload of frame (a whole datagram
 * as pkt_build makes them, off a multiple of 8) into out: IPv4 with the
 * header's id, offset and MF (DF cleared), or IPv6 with a fragment
 * header carrying id. Returns the fragment's frame length.
 */
size_t pkt_fragment(const uint8_t *frame, size_t off, size_t flen, bool more,
		    uint32_t id, uint8_t *out);

/*
 * The GUE encapsulation of direct server return (include/slotlb/abi.h,
 * struct slotlb_gue), built from the format's description: the first
 * ip_len bytes of frame's IPv4 packet behind outer IPv4 (src -> dst, DF,
 * TTL 64, ID 0, the inner TOS), UDP (sport -> 6080, no checksum) and the
 * GUE header carrying second (NULL: none). Returns the frame length.
 */
size_t pkt_build_gue(uint8_t *buf, const uint8_t *frame, size_t ip_len,
		     const char *src, const char *dst, const char *second,
		     uint16_t sport, const uint8_t *smac, const uint8_t *dmac);

/* Set the TTL / hop limit of a frame (IPv4: header checksum too). */
void pkt_set_ttl(uint8_t *buf, size_t len, uint8_t ttl);

/* TCP sequence and acknowledgement numbers of a frame (0 if not TCP). */
uint32_t pkt_tcp_seq(const uint8_t *buf, size_t len);
uint32_t pkt_tcp_ack(const uint8_t *buf, size_t len);

/* Parse Ethernet + IPv4/IPv6 (no options) + TCP/UDP; false if not that. */
bool pkt_parse(const uint8_t *buf, size_t len, struct pkt_info *pi);

/*
 * Verify the IPv4 header checksum and the TCP/UDP checksum by a full
 * recomputation over the frame. IPv4 UDP with checksum 0 passes (none
 * sent). On failure why says which one.
 */
bool pkt_csum_ok(const uint8_t *buf, size_t len, const char **why);

/* Recompute the IPv4 header and TCP/UDP/ICMP checksums of a frame after
 * its fields were changed by hand (IPv4 UDP without checksum stays so). */
void pkt_fix_checksums(uint8_t *buf, size_t len);

/* Addresses: text to bytes (16, IPv4 in the first 4) and equality. */
void pkt_addr(int family, const char *text, uint8_t out[16]);
bool pkt_addr_eq(int family, const uint8_t *a, const char *text);

/* Hex dump of the first difference region, for failure messages. */
void pkt_diff(const uint8_t *got, size_t got_len, const uint8_t *want,
	      size_t want_len);

#endif /* SLOTLB_TEST_PKT_H */
