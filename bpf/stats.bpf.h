/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Per-CPU counters: per reason (every packet, exactly once), per flow
 * event, and per endpoint, deployment and backend for packets that were
 * forwarded (counted only once the next hop is known).
 */
#ifndef SLOTLB_STATS_BPF_H
#define SLOTLB_STATS_BPF_H

#include "maps.bpf.h"

static __always_inline void count_reason(__u32 reason, __u32 len)
{
	struct slotlb_reason_counter *c;

	c = bpf_map_lookup_elem(&reason_stats, &reason);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
}

static __always_inline void count_event(__u32 event)
{
	__u64 *c = bpf_map_lookup_elem(&event_stats, &event);

	if (c)
		(*c)++;
}

static __always_inline void count_one(void *map, __u32 id, __u32 len,
				      bool new_flow)
{
	struct slotlb_counters *c = bpf_map_lookup_elem(map, &id);

	if (c) {
		c->packets++;
		c->bytes += len;
		c->new_flows += new_flow;
	}
}

/* Whom a forwarded packet is counted against. */
struct flow_ids {
	__u32 endpoint_id;
	__u32 deployment_id;
	__u32 backend_id;
};

/* Count a forwarded packet of a flow against everything it touches. */
static __always_inline void count_flow(const struct flow_ids *ids, __u32 len,
				       bool new_flow)
{
	count_one(&endpoint_stats, ids->endpoint_id, len, new_flow);
	count_one(&deployment_stats, ids->deployment_id, len, new_flow);
	count_one(&backend_stats, ids->backend_id, len, new_flow);
}

#endif /* SLOTLB_STATS_BPF_H */
