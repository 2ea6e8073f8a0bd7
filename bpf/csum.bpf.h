/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Incremental Internet checksum updates (RFC 1624, eqn. 3):
 * HC' = ~(~HC + ~m + m'). One's complement sums do not depend on byte
 * order, so every value stays in network order.
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

#endif /* SLOTLB_CSUM_BPF_H */
