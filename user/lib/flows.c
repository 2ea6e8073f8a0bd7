// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Reading the data path: per-CPU counters summed over CPUs, the flow
 * tables walked in batches, drain accounting and flow GC. Established
 * flows leave only here: a closed one after its linger, others after
 * their idle timeout; half-open flows live in an LRU and are only read.
 * Times are the program's clock (jiffies), read through slotlb_clock.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "slotlb.h"
#include "lib_int.h"
#include "slotlb.skel.h"

#define MAP_FD(lb, name) bpf_map__fd((lb)->skel->maps.name)
#define FLOW_BATCH 4096

static const char *const reason_names[SLOTLB_REASON_MAX] = {
	[SLOTLB_REASON_FORWARD] = "forward",
	[SLOTLB_REASON_REPLY] = "reply",
	[SLOTLB_REASON_FORWARD_NONSYN] = "forward_nonsyn_miss",
	[SLOTLB_REASON_FORWARD_ICMP] = "forward_icmp",
	[SLOTLB_REASON_REPLY_ICMP] = "reply_icmp",
	[SLOTLB_REASON_TX_ECHO] = "tx_echo_reply",
	[SLOTLB_REASON_TX_FRAG_NEEDED] = "tx_frag_needed",
	[SLOTLB_REASON_TX_RST_BACKEND_DOWN] = "tx_rst_backend_down",
	[SLOTLB_REASON_TX_DRAIN_RESET] = "tx_drain_reset",
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
	[SLOTLB_REASON_DROP_WINDOW] = "drop_out_of_window",
	[SLOTLB_REASON_DROP_WRONG_SIDE] = "drop_wrong_side",
	[SLOTLB_REASON_DROP_REPLY_COLLISION] = "drop_reply_collision",
	[SLOTLB_REASON_DROP_SECOND_CHANCE] = "drop_second_chance_rst",
	[SLOTLB_REASON_DROP_ICMP] = "drop_icmp",
};

static const char *const event_names[SLOTLB_EVENT_MAX] = {
	[SLOTLB_EVENT_PROMOTED] = "flow_established",
	[SLOTLB_EVENT_TABLE_FULL] = "flow_table_full",
	[SLOTLB_EVENT_INDEX_FULL] = "reply_index_full",
	[SLOTLB_EVENT_SECOND_CHANCE] = "second_chance",
	[SLOTLB_EVENT_RST_IGNORED] = "rst_not_exact",
	[SLOTLB_EVENT_REPLY_RESTORED] = "reply_mapping_restored",
	[SLOTLB_EVENT_SUPERSEDED] = "handshake_on_pinned_tuple",
	[SLOTLB_EVENT_FRAGMENT_TRACKED] = "fragment_tracked",
};

const char *slotlb_reason_name(enum slotlb_reason reason)
{
	if ((unsigned int)reason >= SLOTLB_REASON_MAX)
		return "unknown";
	return reason_names[reason];
}

const char *slotlb_event_name(enum slotlb_event event)
{
	if ((unsigned int)event >= SLOTLB_EVENT_MAX)
		return "unknown";
	return event_names[event];
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

int slotlb_deployment_tcp_read(struct slotlb *lb, uint32_t deployment_id,
			       struct slotlb_deployment_tcp *sum)
{
	struct slotlb_deployment_tcp *percpu;
	int err, i;

	if (deployment_id >= SLOTLB_MAX_DEPLOYMENTS)
		return -ERANGE;
	percpu = calloc(lb->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	memset(sum, 0, sizeof(*sum));
	err = bpf_map_lookup_elem(MAP_FD(lb, deployment_tcp), &deployment_id,
				  percpu);
	for (i = 0; !err && i < lb->ncpus; i++) {
		sum->handshakes += percpu[i].handshakes;
		sum->synacks += percpu[i].synacks;
		sum->backend_resets += percpu[i].backend_resets;
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

int slotlb_events_read(struct slotlb *lb, uint64_t sum[SLOTLB_EVENT_MAX])
{
	uint64_t *percpu;
	int err = 0, i;
	__u32 e;

	percpu = calloc(lb->ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (e = 0; !err && e < SLOTLB_EVENT_MAX; e++) {
		sum[e] = 0;
		err = bpf_map_lookup_elem(MAP_FD(lb, event_stats), &e, percpu);
		for (i = 0; !err && i < lb->ncpus; i++)
			sum[e] += percpu[i];
	}
	free(percpu);
	return err;
}

int slotlb_hash_seed_get(struct slotlb *lb, uint32_t *seed)
{
	struct slotlb_settings s;
	__u32 zero = 0;
	int err;

	err = bpf_map_lookup_elem(MAP_FD(lb, settings), &zero, &s);
	if (!err)
		*seed = s.hash_seed;
	return err;
}

int slotlb_hash_seed_set(struct slotlb *lb, uint32_t seed)
{
	struct slotlb_settings s;
	__u32 zero = 0;
	int err;

	if (!seed)
		return -EINVAL;
	err = bpf_map_lookup_elem(MAP_FD(lb, settings), &zero, &s);
	if (err)
		return err;
	s.hash_seed = seed;
	return bpf_map_update_elem(MAP_FD(lb, settings), &zero, &s, BPF_ANY);
}

/* Must match struct slotlb_clock_args in slotlb.bpf.c. */
struct clock_args {
	__u64 jiffies;
	__u32 hz;
	__u32 pad;
};

int lib_clock(struct slotlb *lb, uint64_t *jiffies, uint32_t *hz)
{
	struct clock_args c = {};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c,
		    .ctx_size_in = sizeof(c));
	int err;

	err = bpf_prog_test_run_opts(
		bpf_program__fd(lb->skel->progs.slotlb_clock), &o);
	if (err)
		return err;
	if (!c.hz)
		return -EINVAL;
	*jiffies = c.jiffies;
	*hz = c.hz;
	return 0;
}

int lib_map_walk(int fd, size_t key_size, size_t value_size, lib_entry_cb cb,
		 void *ctx)
{
	__u64 batch = 0;
	bool first = true, done = false;
	char *keys, *vals;
	int err = 0;

	keys = calloc(FLOW_BATCH, key_size);
	vals = calloc(FLOW_BATCH, value_size);
	if (!keys || !vals) {
		err = -ENOMEM;
		goto out;
	}
	while (!done) {
		__u32 count = FLOW_BATCH, i;

		err = bpf_map_lookup_batch(fd, first ? NULL : &batch, &batch,
					   keys, vals, &count, NULL);
		first = false;
		if (err == -ENOENT) {
			/* Last batch: count holds what it returned. */
			err = 0;
			done = true;
		} else if (err) {
			goto out;
		}
		for (i = 0; i < count; i++) {
			err = cb(keys + i * key_size, vals + i * value_size,
				 ctx);
			if (err) {
				done = true;
				break;
			}
		}
	}
out:
	free(keys);
	free(vals);
	return err > 0 ? 0 : err;
}

/* Clock and timeouts of one walk, in jiffies. */
struct walk_clock {
	uint32_t now;
	uint32_t hz;
	uint32_t udp, tcp, half_closed, closed, handshake;
};

static int walk_clock(struct slotlb *lb, struct walk_clock *c)
{
	uint64_t j;
	int err;

	err = lib_clock(lb, &j, &c->hz);
	if (err)
		return err;
	c->now = (uint32_t)j;
	c->udp = lb->udp_timeout_s * c->hz;
	c->tcp = lb->tcp_timeout_s * c->hz;
	c->half_closed = lb->tcp_half_closed_timeout_s * c->hz;
	c->closed = lb->tcp_closed_timeout_s * c->hz;
	c->handshake = lb->tcp_handshake_timeout_s * c->hz;
	return 0;
}

static bool closed_state(uint32_t s)
{
	const uint32_t both = SLOTLB_FLOW_FIN_BACKEND | SLOTLB_FLOW_FIN_ACKED;

	return (s & SLOTLB_FLOW_RST) || (s & both) == both;
}

/* Idle jiffies of an established flow: since the later side's packet. */
static uint32_t idle_of(const struct slotlb_flow_state *s,
			const struct walk_clock *c)
{
	uint32_t last = (int32_t)(s->seen_backend - s->seen_client) > 0
				? s->seen_backend
				: s->seen_client;

	return lib_since(c->now, last, c->hz);
}

/* The timeout an established flow is past once idle for it. */
static uint32_t timeout_of(const struct walk_clock *c, uint8_t proto,
			   uint32_t state)
{
	if (proto == IPPROTO_UDP)
		return c->udp;
	if (closed_state(state))
		return c->closed;
	if (state & (SLOTLB_FLOW_FIN_BACKEND | SLOTLB_FLOW_FIN_ACKED))
		return c->half_closed;
	return c->tcp;
}

static void info_established(struct slotlb_flow_info *f,
			     const struct slotlb_flow_state *s,
			     const struct walk_clock *c)
{
	uint32_t idle = idle_of(s, c);

	f->stage = SLOTLB_STAGE_ESTABLISHED;
	f->backend_port = s->backend_port;
	f->backend_id = s->backend_id;
	f->deployment_id = s->deployment_id;
	f->endpoint_id = s->endpoint_id;
	f->state = s->state;
	f->age_ms = (uint64_t)lib_since(c->now, s->start, c->hz) * 1000 / c->hz;
	f->idle_ms = (uint64_t)idle * 1000 / c->hz;
	f->live = !closed_state(s->state) &&
		  idle <= timeout_of(c, f->proto, s->state);
}

static void info_flow4(struct slotlb_flow_info *f,
		       const struct slotlb_flow4_key *k,
		       const struct slotlb_flow4 *v, const struct walk_clock *c)
{
	memset(f, 0, sizeof(*f));
	f->family = AF_INET;
	f->proto = k->proto;
	f->client[0] = k->client;
	f->endpoint[0] = k->endpoint;
	f->backend[0] = v->backend_addr;
	f->client_port = k->client_port;
	f->endpoint_port = k->endpoint_port;
	info_established(f, &v->s, c);
}

static void info_flow6(struct slotlb_flow_info *f,
		       const struct slotlb_flow_key *k,
		       const struct slotlb_flow6 *v, const struct walk_clock *c)
{
	memset(f, 0, sizeof(*f));
	f->family = AF_INET6;
	f->proto = k->proto;
	memcpy(f->client, k->src, 16);
	memcpy(f->endpoint, k->dst, 16);
	memcpy(f->backend, v->backend_addr, 16);
	f->client_port = k->sport;
	f->endpoint_port = k->dport;
	info_established(f, &v->s, c);
}

/* A half-open entry (key: backend -> client). */
static void info_new(struct slotlb_flow_info *f,
		     const struct slotlb_flow_key *k,
		     const struct slotlb_flow_new *v,
		     const struct walk_clock *c)
{
	const uint32_t fins = SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND;
	uint32_t idle = lib_since(c->now, v->seen, c->hz), timeout;

	memset(f, 0, sizeof(*f));
	f->stage = SLOTLB_STAGE_HALF_OPEN;
	f->family = k->family;
	f->proto = k->proto;
	memcpy(f->client, k->dst, 16);
	memcpy(f->endpoint, v->endpoint, 16);
	memcpy(f->backend, k->src, 16);
	f->client_port = k->dport;
	f->endpoint_port = v->endpoint_port;
	f->backend_port = k->sport;
	f->backend_id = v->backend_id;
	f->deployment_id = v->deployment_id;
	f->endpoint_id = v->endpoint_id;
	f->state = v->state;
	f->age_ms = (uint64_t)lib_since(c->now, v->start, c->hz) * 1000 / c->hz;
	f->idle_ms = (uint64_t)idle * 1000 / c->hz;
	if (k->proto == IPPROTO_UDP)
		timeout = c->udp;
	else if (v->state & SLOTLB_FLOW_VERIFIED)
		timeout = c->tcp;
	else
		timeout = c->handshake;
	/* A promoted flow counts through its established entry. */
	f->live = idle <= timeout && !(v->state & SLOTLB_FLOW_RST) &&
		  (v->state & fins) != fins &&
		  !(v->state & (SLOTLB_FLOW_PROMOTED | SLOTLB_FLOW_REFUSED));
}

/* A DSR pin (key: client -> endpoint); the backend serves the
 * endpoint's port. Live until idle for its timeout, as the data path
 * follows it (bpf/dsr.bpf.h): no FIN or RST is seen to end it sooner. */
static void info_dsr(struct slotlb_flow_info *f,
		     const struct slotlb_flow_key *k,
		     const struct slotlb_dsr_flow *v,
		     const struct walk_clock *c)
{
	uint32_t idle = lib_since(c->now, v->seen, c->hz);

	memset(f, 0, sizeof(*f));
	f->stage = SLOTLB_STAGE_DSR;
	f->family = k->family;
	f->proto = k->proto;
	memcpy(f->client, k->src, 16);
	memcpy(f->endpoint, k->dst, 16);
	memcpy(f->backend, v->backend_addr, 16);
	f->client_port = k->sport;
	f->endpoint_port = k->dport;
	f->backend_port = k->dport;
	f->backend_id = v->backend_id;
	f->deployment_id = v->deployment_id;
	f->idle_ms = (uint64_t)idle * 1000 / c->hz;
	f->live = idle <= (k->proto == IPPROTO_UDP ? c->udp : c->tcp);
}

struct foreach_ctx {
	struct walk_clock clock;
	slotlb_flow_cb cb;
	void *ctx;
};

static int each4(const void *k, const void *v, void *ctx)
{
	struct foreach_ctx *f = ctx;
	struct slotlb_flow_info info;

	info_flow4(&info, k, v, &f->clock);
	return f->cb(&info, f->ctx);
}

static int each6(const void *k, const void *v, void *ctx)
{
	struct foreach_ctx *f = ctx;
	struct slotlb_flow_info info;

	info_flow6(&info, k, v, &f->clock);
	return f->cb(&info, f->ctx);
}

static int each_new(const void *k, const void *v, void *ctx)
{
	struct foreach_ctx *f = ctx;
	struct slotlb_flow_info info;

	info_new(&info, k, v, &f->clock);
	return f->cb(&info, f->ctx);
}

static int each_dsr(const void *k, const void *v, void *ctx)
{
	struct foreach_ctx *f = ctx;
	struct slotlb_flow_info info;

	info_dsr(&info, k, v, &f->clock);
	return f->cb(&info, f->ctx);
}

int slotlb_flows_foreach(struct slotlb *lb, slotlb_flow_cb cb, void *ctx)
{
	struct foreach_ctx f = {.cb = cb, .ctx = ctx};
	int err;

	err = walk_clock(lb, &f.clock);
	if (!err)
		err = lib_map_walk(MAP_FD(lb, flows4),
				   sizeof(struct slotlb_flow4_key),
				   sizeof(struct slotlb_flow4), each4, &f);
	if (!err)
		err = lib_map_walk(MAP_FD(lb, flows6),
				   sizeof(struct slotlb_flow_key),
				   sizeof(struct slotlb_flow6), each6, &f);
	if (!err)
		err = lib_map_walk(
			MAP_FD(lb, flows_new), sizeof(struct slotlb_flow_key),
			sizeof(struct slotlb_flow_new), each_new, &f);
	if (!err)
		err = lib_map_walk(
			MAP_FD(lb, dsr_flows), sizeof(struct slotlb_flow_key),
			sizeof(struct slotlb_dsr_flow), each_dsr, &f);
	return err;
}

struct count_ctx {
	uint64_t *counts;
	size_t n;
};

static int count_one(const struct slotlb_flow_info *f, void *ctx)
{
	struct count_ctx *c = ctx;

	if (f->live && f->deployment_id < c->n)
		c->counts[f->deployment_id]++;
	return 0;
}

int slotlb_flows_count_by_deployment(struct slotlb *lb, uint64_t *counts,
				     size_t n)
{
	struct count_ctx c = {counts, n};

	memset(counts, 0, n * sizeof(*counts));
	return slotlb_flows_foreach(lb, count_one, &c);
}

void slotlb_format_flow_state(uint32_t state, char *buf, size_t len)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
		{SLOTLB_FLOW_FIN_CLIENT, "fin-client"},
		{SLOTLB_FLOW_FIN_ACKED, "fin-client-acked"},
		{SLOTLB_FLOW_FIN_BACKEND, "fin-backend"},
		{SLOTLB_FLOW_RST, "rst"},
		{SLOTLB_FLOW_CLIENT_BACKSIDE, "client-on-backend-side"},
		{SLOTLB_FLOW_SUPERSEDED, "superseded"},
		{SLOTLB_FLOW_SYN, "syn"},
		{SLOTLB_FLOW_SYNACK, "syn-ack"},
		{SLOTLB_FLOW_TRIAL, "second-chance"},
		{SLOTLB_FLOW_TRIAL_PREVIOUS, "on-previous"},
		{SLOTLB_FLOW_REFUSED, "refused"},
		{SLOTLB_FLOW_VERIFIED, "verified"},
		{SLOTLB_FLOW_PROMOTED, "promoted"},
	};
	size_t i, used = 0;

	if (!len)
		return;
	buf[0] = '\0';
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(state & names[i].bit))
			continue;
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%s%s", used ? "," : "", names[i].name);
	}
	if (closed_state(state) && !(state & SLOTLB_FLOW_SYN))
		used += snprintf(buf + used, used < len ? len - used : 0,
				 "%sclosed", used ? "," : "");
	if (!used)
		snprintf(buf, len, "open");
}

int slotlb_dsr_flows_clear(struct slotlb *lb)
{
	struct slotlb_flow_key key, next;
	int fd = MAP_FD(lb, dsr_flows), err = 0;

	/* Delete from the first key each time: deleting the key a walk
	 * stands on restarts it anyway. */
	while (!bpf_map_get_next_key(fd, NULL, &next)) {
		key = next;
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT) {
			err = -errno;
			break;
		}
	}
	return err;
}
