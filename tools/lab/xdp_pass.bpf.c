/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A do-nothing XDP program for the lab's end hosts (the client's c0 and
 * every backend's eth0). A veth only accepts frames that its peer hands it
 * through ndo_xdp_xmit (XDP_REDIRECT or XDP_TX on the load balancer side)
 * while its own NAPI is running, and attaching any XDP program is what
 * turns NAPI on. Without it those frames are dropped silently, so the lab
 * would look like a broken load balancer. See docs/lab.md.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
