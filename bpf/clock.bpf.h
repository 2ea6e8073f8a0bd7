/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The program's clock: jiffies. bpf_jiffies64() is a single load (the
 * verifier inlines it), where bpf_ktime_get_coarse_ns() is a helper call
 * every forwarded packet paid; flow times are the low 32 bits, compared
 * with wrapping arithmetic (a flow idle for 2^32 jiffies, 198 days at
 * HZ 250, would look fresh; the GC removes flows long before).
 * libslotlb reads the same clock through slotlb_clock (slotlb.bpf.c).
 */
#ifndef SLOTLB_CLOCK_BPF_H
#define SLOTLB_CLOCK_BPF_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern const unsigned int CONFIG_HZ __kconfig;

static __always_inline __u32 clock_now(void)
{
	return (__u32)bpf_jiffies64();
}

static __always_inline __u32 clock_secs(__u32 seconds)
{
	return seconds * CONFIG_HZ;
}

/* Has more than span passed from then to now? A stamp up to a minute
 * after now was written by another CPU since this one read the clock
 * (seen times advance once a second): nothing has passed. Unsigned,
 * now - then took such a busy flow for one idle for 198 days.
 * user/lib's walks use the same rule (lib_since). */
static __always_inline bool clock_after(__u32 now, __u32 then, __u32 span)
{
	if (then - now <= clock_secs(60))
		return false;
	return now - then > span;
}

#endif /* SLOTLB_CLOCK_BPF_H */
