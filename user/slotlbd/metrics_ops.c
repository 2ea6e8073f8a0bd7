/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The controller's series: the history's entries by action and outcome
 * (every action: create, deploy, swap, health, retire, ...; counted
 * from the history, so they survive restarts), the time of the last of
 * each, the warm-up and switch times of swaps and rollbacks
 * (histograms kept since start), each app's routing generation as the
 * data path holds it, and what this build is.
 */
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "metrics.h"
#include "ops.h"

#ifndef SLOTLB_VERSION
#define SLOTLB_VERSION "0"
#endif

/* Warm-up: from a fast probe to a deadline of minutes. */
static const double warmup_buckets[] = {0.01, 0.05, 0.1, 0.25, 0.5, 1,	 2.5,
					5,    10,   30,	 60,   120, 300, 600};
/* Switch: end of warm-up to routing element updated (the promise is
 * milliseconds). */
static const double switch_buckets[] = {0.0001, 0.00025, 0.0005, 0.001,
					0.0025, 0.005,	 0.01,	 0.025,
					0.05,	0.1,	 0.25,	 1};
#define WARMUP_BUCKETS (sizeof(warmup_buckets) / sizeof(warmup_buckets[0]))
#define SWITCH_BUCKETS (sizeof(switch_buckets) / sizeof(switch_buckets[0]))
#define MAX_BUCKETS 16

struct histogram {
	uint64_t le[MAX_BUCKETS]; /* cumulative */
	uint64_t count;
	double sum;
};

/* The times of one app's swaps or rollbacks with one outcome. */
struct swap_times {
	char app[STATE_NAME_LEN];
	char action[16];
	bool ok;
	struct histogram warmup;
	struct histogram switch_time; /* ok only */
};

static pthread_mutex_t times_lock = PTHREAD_MUTEX_INITIALIZER;
static struct swap_times *times;
static size_t n_times;

static void observe(struct histogram *h, const double *bounds, size_t n,
		    double v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v <= bounds[i])
			h->le[i]++;
	h->count++;
	h->sum += v;
}

void metrics_note_swap(const char *app, const char *action, bool ok,
		       int64_t warm_us, int64_t switch_us)
{
	struct swap_times *t = NULL, *grown;
	size_t i;

	pthread_mutex_lock(&times_lock);
	for (i = 0; i < n_times && !t; i++)
		if (times[i].ok == ok && !strcmp(times[i].app, app) &&
		    !strcmp(times[i].action, action))
			t = &times[i];
	if (!t) {
		grown = realloc(times, (n_times + 1) * sizeof(*times));
		if (!grown)
			goto out;
		times = grown;
		t = &times[n_times++];
		memset(t, 0, sizeof(*t));
		snprintf(t->app, sizeof(t->app), "%s", app);
		snprintf(t->action, sizeof(t->action), "%s", action);
		t->ok = ok;
	}
	observe(&t->warmup, warmup_buckets, WARMUP_BUCKETS,
		(double)warm_us / 1e6);
	if (ok)
		observe(&t->switch_time, switch_buckets, SWITCH_BUCKETS,
			(double)switch_us / 1e6);
out:
	pthread_mutex_unlock(&times_lock);
}

static void histogram_samples(struct buf *b, const char *name,
			      const char *labels, const struct histogram *h,
			      const double *bounds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		put(b, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels,
		    bounds[i], (unsigned long long)h->le[i]);
	put(b, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name, labels,
	    (unsigned long long)h->count);
	put(b, "%s_sum{%s} %.6f\n", name, labels, h->sum);
	put(b, "%s_count{%s} %llu\n", name, labels,
	    (unsigned long long)h->count);
}

static void swap_histograms(struct buf *b)
{
	char labels[256];
	size_t i;

	pthread_mutex_lock(&times_lock);
	family(b, "slotlb_warmup_duration_seconds", "histogram",
	       "Warm-up of a swap or rollback, from the first probe to the "
	       "verdict (since slotlbd started).");
	for (i = 0; i < n_times; i++) {
		snprintf(labels, sizeof(labels),
			 "app=\"%s\",action=\"%s\",outcome=\"%s\"",
			 times[i].app, times[i].action,
			 times[i].ok ? "ok" : "failed");
		histogram_samples(b, "slotlb_warmup_duration_seconds", labels,
				  &times[i].warmup, warmup_buckets,
				  WARMUP_BUCKETS);
	}
	family(b, "slotlb_switch_duration_seconds", "histogram",
	       "From the end of a passed warm-up to the routing element "
	       "update (since slotlbd started).");
	for (i = 0; i < n_times; i++) {
		if (!times[i].ok)
			continue;
		snprintf(labels, sizeof(labels), "app=\"%s\",action=\"%s\"",
			 times[i].app, times[i].action);
		histogram_samples(b, "slotlb_switch_duration_seconds", labels,
				  &times[i].switch_time, switch_buckets,
				  SWITCH_BUCKETS);
	}
	pthread_mutex_unlock(&times_lock);
}

static void operations(struct buf *b, const struct st_history_tally *t,
		       size_t n)
{
	size_t i;

	family(b, "slotlb_operations_total", "counter",
	       "Entries of the history (every action) by outcome.");
	for (i = 0; i < n; i++)
		put(b,
		    "slotlb_operations_total{app=\"%s\",action=\"%s\","
		    "outcome=\"%s\"} %lld\n",
		    t[i].app, t[i].action, t[i].outcome, (long long)t[i].count);
	family(b, "slotlb_last_operation_timestamp_seconds", "gauge",
	       "When the last entry of each action and outcome was recorded "
	       "(unix time).");
	for (i = 0; i < n; i++)
		put(b,
		    "slotlb_last_operation_timestamp_seconds{app=\"%s\","
		    "action=\"%s\",outcome=\"%s\"} %lld\n",
		    t[i].app, t[i].action, t[i].outcome, (long long)t[i].last);
}

/* The generation in the data path's routing element (the database's if
 * the element cannot be read). */
static void generations(struct buf *b, struct daemon *d,
			const struct st_snapshot *s)
{
	struct slotlb_routing r;
	size_t i;

	family(b, "slotlb_routing_generation", "gauge",
	       "Generation of the app's routing element in the data path; "
	       "every deploy, swap and rollback raises it.");
	for (i = 0; i < s->n_apps; i++) {
		uint32_t gen = s->apps[i].generation;

		if (!slotlb_routing_get(d->lb, s->apps[i].id, &r))
			gen = r.generation;
		put(b, "slotlb_routing_generation{app=\"%s\"} %u\n",
		    s->apps[i].name, gen);
	}
}

/* The configured share of production's new clients per slot, for the
 * apps with traffic rules (ops_traffic.c; production: what the others
 * leave). The measured share is the data path's (metrics_dp.c). */
static void traffic_shares(struct buf *b, struct daemon *d,
			   const struct st_snapshot *s)
{
	struct traffic_view v;
	size_t a, i, n_splits, n_opt_ins;

	family(b, "slotlb_traffic_share_ratio", "gauge",
	       "Configured share of the new clients on the production "
	       "slot's endpoints, per slot (production: what the others "
	       "leave).");
	for (a = 0; a < s->n_apps; a++) {
		st_snapshot_splits(s, s->apps[a].id, &n_splits);
		st_snapshot_opt_ins(s, s->apps[a].id, &n_opt_ins);
		if (!n_splits && !n_opt_ins)
			continue;
		traffic_view_of(d, s, a, &v);
		for (i = 0; i < v.n_slots; i++)
			put(b,
			    "slotlb_traffic_share_ratio{app=\"%s\",slot=\"%s\"} %.4f\n",
			    v.app, v.slots[i].name,
			    v.slots[i].share / (double)SLOTLB_SHARE_SCALE);
	}
}

void metrics_operations(struct buf *b, struct daemon *d,
			const struct st_snapshot *s,
			const struct st_history_tally *t, size_t n)
{
	operations(b, t, n);
	swap_histograms(b);
	generations(b, d, s);
	traffic_shares(b, d, s);
	family(b, "slotlb_build_info", "gauge",
	       "1, labelled with this build's version and libbpf's.");
	put(b, "slotlb_build_info{version=\"%s\",libbpf=\"%s\"} 1\n",
	    SLOTLB_VERSION, libbpf_version_string());
}
