/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The end of a drain, in the data path. When a draining backend's
 * deadline passed with the reset policy, the controller sets its
 * backend_drain element: the client's next packet of each of its pinned
 * TCP flows is answered with a RST from the endpoint (XDP_TX, Ethernet
 * addresses swapped, back to the neighbour that sent it), and the flow
 * is closed, so the client reconnects at once (to a backend that takes
 * new flows) and the drain count falls (the RST: reset.bpf.h). Resets
 * are bounded per backend and second; a packet over the budget is
 * forwarded as usual. UDP flows and the client's own RSTs are left
 * alone.
 */
#ifndef SLOTLB_DRAIN_BPF_H
#define SLOTLB_DRAIN_BPF_H

#include "clock.bpf.h"
#include "parse.bpf.h"
#include "reset.bpf.h"

/* Is a RST due for this client packet of a flow pinned to backend_id?
 * Takes one from the backend's budget of this second if so. */
static __always_inline bool drain_reset_due(const struct packet *pkt,
					    __u32 backend_id, __u32 now)
{
	struct slotlb_backend_drain *dr;

	if (pkt->key.proto != IPPROTO_TCP || pkt->frag != FRAG_NONE ||
	    (pkt->tcp_flags & TCP_FLAG_RST))
		return false;
	dr = bpf_map_lookup_elem(&backend_drain, &backend_id);
	if (!dr || !dr->reset_rate)
		return false;
	if (clock_after(now, dr->window, clock_secs(1))) {
		/* a new second; racing CPUs may each restart it */
		dr->window = now;
		dr->used = 0;
	}
	return __sync_fetch_and_add(&dr->used, 1) < dr->reset_rate;
}

#endif /* SLOTLB_DRAIN_BPF_H */
