/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internet checksum arithmetic. Rewrites use incremental updates (RFC
 * 1624, eqn. 3): HC' = ~(~HC + ~m + m'); the ICMP messages the program
 * builds itself are summed in full. One's complement sums do not depend
 * on byte order, so every value stays in network order.
 */
#ifndef SLOTLB_CSUM_BPF_H
#define SLOTLB_CSUM_BPF_H

#include <stdbool.h>
#include <linux/types.h>
#include <bpf/bpf_helpers.h>

static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* ~m + m' for one 32-bit word, unfolded. */
static __always_inline __u32 csum_delta32(__be32 from, __be32 to)
{
	__u32 nfrom = ~(__u32)from;

	return (nfrom & 0xffff) + (nfrom >> 16) + ((__u32)to & 0xffff) +
	       ((__u32)to >> 16);
}

static __always_inline __u32 csum_delta16(__be16 from, __be16 to)
{
	return ((~(__u32)from) & 0xffff) + (__u32)to;
}

/* Apply an unfolded delta to a stored checksum. */
static __always_inline void csum_apply(__sum16 *csum, __u32 delta)
{
	__u32 sum = (~(__u32)*csum & 0xffff) + delta;

	*csum = (__sum16)~csum_fold(sum);
}

/* Delta of replacing a 16-byte address (4 words; IPv4 uses word 0). */
static __always_inline __u32 csum_delta_addr(const __be32 *from,
					     const __be32 *to, bool ipv6)
{
	__u32 delta = csum_delta32(from[0], to[0]);

	if (ipv6) {
		delta += csum_delta32(from[1], to[1]);
		delta += csum_delta32(from[2], to[2]);
		delta += csum_delta32(from[3], to[3]);
	}
	return delta;
}

/* Sum of an address as it sits in a pseudo header. */
static __always_inline __u32 csum_addr(const __be32 *a, bool ipv6)
{
	__u32 sum = ((__u32)a[0] & 0xffff) + ((__u32)a[0] >> 16);

	if (ipv6) {
		sum += ((__u32)a[1] & 0xffff) + ((__u32)a[1] >> 16);
		sum += ((__u32)a[2] & 0xffff) + ((__u32)a[2] >> 16);
		sum += ((__u32)a[3] & 0xffff) + ((__u32)a[3] >> 16);
	}
	return sum;
}

/* Longest region csum_region sums: an IPv6 ICMP error message. */
#define CSUM_REGION_MAX 1240

/* Unfolded sum of the packet bytes [off, off + len), len <= CSUM_REGION_MAX. */
static __always_inline __u32 csum_region(struct xdp_md *ctx, __u32 off,
					 __u32 len)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *p;
	__u32 sum = 0, i;

	if (off > 128 || len > CSUM_REGION_MAX)
		return 0;
	p = data + off;
	for (i = 0; i < CSUM_REGION_MAX / 2; i++) {
		if (2 * i + 1 >= len)
			break;
		if ((void *)(p + 1) > data_end)
			return sum;
		sum += *p;
		p++;
	}
	if (len & 1) {
		__u8 *last = (__u8 *)p;

		if ((void *)(last + 1) <= data_end)
			sum += *last; /* a lone last byte is the high byte of
				       * a word in network order: on a
				       * little-endian load it is the low */
	}
	return sum;
}

#endif /* SLOTLB_CSUM_BPF_H */
