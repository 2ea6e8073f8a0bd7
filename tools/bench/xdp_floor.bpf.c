/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The benchmark's floor: an XDP program that does nothing but bounce the
 * frame. Its BPF_PROG_TEST_RUN duration is the harness's own cost (timer
 * reads, program dispatch), which bench_xdp subtracts from slotlb's.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_floor(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_TX;
}
