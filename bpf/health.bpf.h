/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows pinned to a backend that failed its health checks (abi.h,
 * struct slotlb_backend_health). By the time a backend is marked down it
 * has left its deployment's ring, so only pinned flows still name it:
 * a pinned UDP flow chooses again (the entry path treats it as expired,
 * as Katran's UDP flow migration does), a pinned TCP flow is left alone
 * or answered with a RST (reset.bpf.h).
 */
#ifndef SLOTLB_HEALTH_BPF_H
#define SLOTLB_HEALTH_BPF_H

#include "parse.bpf.h"
#include "reset.bpf.h"

/* backend id -> health; all zero (up) until slotlbd's probes say
 * otherwise. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_backend_health);
	__uint(max_entries, SLOTLB_MAX_BACKENDS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} backend_health SEC(".maps");

/* Per-CPU TCP handshake and reset counts per deployment (abi.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_deployment_tcp);
	__uint(max_entries, SLOTLB_MAX_DEPLOYMENTS);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} deployment_tcp SEC(".maps");

enum tcp_count {
	COUNT_HANDSHAKE,
	COUNT_SYNACK,
	COUNT_BACKEND_RESET,
};

static __always_inline void count_tcp(__u32 deployment_id, enum tcp_count what)
{
	struct slotlb_deployment_tcp *c;

	c = bpf_map_lookup_elem(&deployment_tcp, &deployment_id);
	if (!c)
		return;
	if (what == COUNT_HANDSHAKE)
		c->handshakes++;
	else if (what == COUNT_SYNACK)
		c->synacks++;
	else
		c->backend_resets++;
}

/* May any backend be down or drained with resets (abi.h,
 * SLOTLB_FILTER_CHECKS)? While not, a pinned flow's packet needs neither
 * its backend's health nor its drain: one read on the filter's first
 * cache line, which endpoint_addr_maybe() read already, instead of two
 * more pages. */
static __always_inline bool backend_checks_armed(void)
{
	__u32 w = SLOTLB_FILTER_CHECKS;
	__u64 *checks = bpf_map_lookup_elem(&endpoint_filter, &w);

	return !checks || !(*(volatile __u64 *)checks & SLOTLB_CHECKS_CLEAR);
}

/* The backend's health, read with one load (NULL-safe: up). */
static __always_inline struct slotlb_backend_health
backend_health_of(__u32 backend_id)
{
	struct slotlb_backend_health h = {};
	__u32 *v = bpf_map_lookup_elem(&backend_health, &backend_id);

	if (v)
		*(__u32 *)&h = *(volatile __u32 *)v;
	return h;
}

#endif /* SLOTLB_HEALTH_BPF_H */
