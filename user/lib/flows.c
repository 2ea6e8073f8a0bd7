// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading the data path: per-CPU counters summed over CPUs, the flow
 * table walked in batches, drain accounting and flow GC (closed TCP and
 * idle UDP flows leave before LRU pressure would push them out).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "slotlb.skel.h"

#define MAP_FD(lb, name) bpf_map__fd((lb)->skel->maps.name)
#define FLOW_BATCH 4096
#define NS_PER_SEC 1000000000ULL

static const char *const reason_names[SLOTLB_REASON_MAX] = {
	[SLOTLB_REASON_FORWARD] = "forward",
	[SLOTLB_REASON_REPLY] = "reply",
	[SLOTLB_REASON_FORWARD_NONSYN] = "forward_nonsyn_miss",
	[SLOTLB_REASON_PASS_NOT_IP] = "pass_not_ip",
	[SLOTLB_REASON_PASS_NOT_ENDPOINT] = "pass_not_endpoint",
	[SLOTLB_REASON_PASS_NO_NEIGH] = "pass_no_neighbour",
	[SLOTLB_REASON_PASS_TTL] = "pass_ttl_expired",
	[SLOTLB_REASON_PASS_FRAG_NEEDED] = "pass_frag_needed",
	[SLOTLB_REASON_DROP_TRUNCATED] = "drop_truncated",
	[SLOTLB_REASON_DROP_MALFORMED] = "drop_malformed",
	[SLOTLB_REASON_DROP_IP_OPTIONS] = "drop_ip_options",
	[SLOTLB_REASON_DROP_FRAGMENT] = "drop_fragment",
	[SLOTLB_REASON_DROP_NO_DEPLOYMENT] = "drop_no_deployment",
	[SLOTLB_REASON_DROP_NO_BACKEND] = "drop_no_backend",
	[SLOTLB_REASON_DROP_NONSYN_MISS] = "drop_nonsyn_miss",
	[SLOTLB_REASON_DROP_FLOW_TABLE] = "drop_flow_table",
	[SLOTLB_REASON_DROP_FIB] = "drop_fib",
};

const char *slotlb_reason_name(enum slotlb_reason reason)
{
	if ((unsigned int)reason >= SLOTLB_REASON_MAX)
		return "unknown";
	return reason_names[reason];
}

int slotlb_stats_read(struct slotlb *lb, enum slotlb_stats_kind kind,
		      uint32_t id, struct slotlb_counters *sum)
{
	struct slotlb_counters *percpu;
	int fd, err, i;

	switch (kind) {
	case SLOTLB_STATS_ENDPOINT:
		fd = MAP_FD(lb, endpoint_stats);
		break;
	case SLOTLB_STATS_DEPLOYMENT:
		fd = MAP_FD(lb, deployment_stats);
		break;
	case SLOTLB_STATS_BACKEND:
		fd = MAP_FD(lb, backend_stats);
		break;
	default:
		return -EINVAL;
	}
	percpu = calloc(lb->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	err = bpf_map_lookup_elem(fd, &id, percpu);
	for (i = 0; !err && i < lb->ncpus; i++) {
		sum->packets += percpu[i].packets;
		sum->bytes += percpu[i].bytes;
		sum->new_flows += percpu[i].new_flows;
	}
	free(percpu);
	return err;
}

int slotlb_reasons_read(struct slotlb *lb,
			struct slotlb_reason_counter sum[SLOTLB_REASON_MAX])
{
	struct slotlb_reason_counter *percpu;
	int err = 0, i;
	__u32 r;

	percpu = calloc(lb->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (r = 0; !err && r < SLOTLB_REASON_MAX; r++) {
		memset(&sum[r], 0, sizeof(sum[r]));
		err = bpf_map_lookup_elem(MAP_FD(lb, reason_stats), &r, percpu);
		for (i = 0; !err && i < lb->ncpus; i++) {
			sum[r].packets += percpu[i].packets;
			sum[r].bytes += percpu[i].bytes;
		}
	}
	free(percpu);
	return err;
}

int slotlb_flows_foreach(struct slotlb *lb, slotlb_flow_cb cb, void *ctx)
{
	struct slotlb_flow_key *keys;
	struct slotlb_flow *vals;
	__u64 batch = 0;
	bool first = true, done = false;
	int err = 0;

	keys = calloc(FLOW_BATCH, sizeof(*keys));
	vals = calloc(FLOW_BATCH, sizeof(*vals));
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = FLOW_BATCH, i;

		err = bpf_map_lookup_batch(MAP_FD(lb, flows),
					   first ? NULL : &batch, &batch, keys,
					   vals, &count, NULL);
		first = false;
		if (err == -ENOENT) {
			/* Last batch: count holds what it returned. */
			err = 0;
			done = true;
		} else if (err) {
			goto out;
		}
		for (i = 0; i < count; i++) {
			if (cb(&keys[i], &vals[i], ctx)) {
				done = true;
				break;
			}
		}
	}
out:
	free(keys);
	free(vals);
	return err;
}

uint64_t slotlb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static bool flow_is_closed(const struct slotlb_flow *f)
{
	const __u8 both = SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND;

	return (f->state & SLOTLB_FLOW_RST) || (f->state & both) == both;
}

struct count_ctx {
	struct slotlb *lb;
	uint64_t *counts;
	size_t n;
	uint64_t now;
};

bool slotlb_flow_live(const struct slotlb *lb, const struct slotlb_flow_key *k,
		      const struct slotlb_flow *f, uint64_t now)
{
	if (f->direction != SLOTLB_FLOW_FORWARD)
		return false;
	if (k->proto == IPPROTO_UDP)
		return now - f->last_seen_ns <=
		       (uint64_t)lb->udp_timeout_s * NS_PER_SEC;
	return !flow_is_closed(f);
}

static int count_one(const struct slotlb_flow_key *k,
		     const struct slotlb_flow *f, void *ctx)
{
	struct count_ctx *c = ctx;

	if (f->deployment_id < c->n && slotlb_flow_live(c->lb, k, f, c->now))
		c->counts[f->deployment_id]++;
	return 0;
}

int slotlb_flows_count_by_deployment(struct slotlb *lb, uint64_t *counts,
				     size_t n)
{
	struct count_ctx c = {lb, counts, n, slotlb_now_ns()};

	memset(counts, 0, n * sizeof(*counts));
	return slotlb_flows_foreach(lb, count_one, &c);
}

struct gc_ctx {
	struct slotlb *lb;
	uint64_t now;
	struct slotlb_flow_key *doomed; /* forward and reply keys */
	size_t n, cap;
	int err;
};

static int gc_add(struct gc_ctx *g, const struct slotlb_flow_key *k)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 1024;
		void *p = realloc(g->doomed, cap * sizeof(*g->doomed));

		if (!p)
			return -ENOMEM;
		g->doomed = p;
		g->cap = cap;
	}
	g->doomed[g->n++] = *k;
	return 0;
}

static int gc_one(const struct slotlb_flow_key *k, const struct slotlb_flow *f,
		  void *ctx)
{
	struct gc_ctx *g = ctx;
	struct slotlb_flow_key rk = {};
	struct slotlb_flow reply;
	uint64_t linger;

	if (f->direction != SLOTLB_FLOW_FORWARD)
		return 0;
	memcpy(rk.src, f->addr, sizeof(rk.src));
	memcpy(rk.dst, k->src, sizeof(rk.dst));
	rk.sport = f->port;
	rk.dport = k->sport;
	rk.proto = k->proto;
	rk.family = k->family;

	if (k->proto == IPPROTO_UDP) {
		linger = (uint64_t)g->lb->udp_timeout_s * NS_PER_SEC;
		if (g->now - f->last_seen_ns <= linger)
			return 0;
		/* A flow is idle only when both directions are. */
		if (!bpf_map_lookup_elem(MAP_FD(g->lb, flows), &rk, &reply) &&
		    g->now - reply.last_seen_ns <= linger)
			return 0;
	} else {
		linger = (uint64_t)g->lb->tcp_closed_timeout_s * NS_PER_SEC;
		if (!flow_is_closed(f) || g->now - f->last_seen_ns <= linger)
			return 0;
	}
	g->err = gc_add(g, k);
	if (!g->err)
		g->err = gc_add(g, &rk);
	return g->err;
}

int slotlb_flows_gc(struct slotlb *lb)
{
	struct gc_ctx g = {.lb = lb, .now = slotlb_now_ns()};
	int removed = 0, err;
	size_t i;

	err = slotlb_flows_foreach(lb, gc_one, &g);
	if (!err)
		err = g.err;
	for (i = 0; !err && i < g.n; i++)
		if (!bpf_map_delete_elem(MAP_FD(lb, flows), &g.doomed[i]))
			removed++;
	free(g.doomed);
	return err ? err : removed;
}
