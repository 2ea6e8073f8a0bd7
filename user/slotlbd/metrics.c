/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * GET /metrics in the Prometheus text format: packets per reason, and
 * packets, bytes and new flows per endpoint and per live deployment, plus
 * the flows still pinned to each deployment (drain progress), and for
 * apps with traffic rules each slot's configured and measured share.
 * Kept small on purpose: per-backend series would be 65536 of them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops.h"

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void put(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL,
			      b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		char *grown = realloc(b->p, b->cap * 2 + (size_t)n + 4096);

		if (!grown) {
			b->failed = true;
			return;
		}
		b->p = grown;
		b->cap = b->cap * 2 + (size_t)n + 4096;
	}
}

static void counters(struct buf *b, const char *name, const char *labels,
		     const struct slotlb_counters *c)
{
	put(b, "slotlb_%s_packets_total{%s} %llu\n", name, labels,
	    (unsigned long long)c->packets);
	put(b, "slotlb_%s_bytes_total{%s} %llu\n", name, labels,
	    (unsigned long long)c->bytes);
	put(b, "slotlb_%s_new_flows_total{%s} %llu\n", name, labels,
	    (unsigned long long)c->new_flows);
}

/* Configured and measured shares of production's new clients per
 * slot, for the apps with traffic rules (traffic_measure.c). */
static void traffic_metrics(struct buf *b, struct daemon *d,
			    const struct st_snapshot *s)
{
	struct traffic_view v;
	size_t a, i, n_splits, n_opt_ins;

	put(b,
	    "# HELP slotlb_traffic_share_ratio Configured share of the new clients on the production slot's endpoints, per slot (production: what the others leave).\n"
	    "# TYPE slotlb_traffic_share_ratio gauge\n"
	    "# HELP slotlb_traffic_measured_ratio Share of the new flows on the production slot's endpoints that each slot's deployment took, since the app's last routing change, at most the last 30-60 s.\n"
	    "# TYPE slotlb_traffic_measured_ratio gauge\n"
	    "# HELP slotlb_traffic_window_new_flows New flows on the production slot's endpoints in that window.\n"
	    "# TYPE slotlb_traffic_window_new_flows gauge\n");
	for (a = 0; a < s->n_apps; a++) {
		st_snapshot_splits(s, s->apps[a].id, &n_splits);
		st_snapshot_opt_ins(s, s->apps[a].id, &n_opt_ins);
		if (!n_splits && !n_opt_ins)
			continue;
		traffic_view_of(d, s, a, &v);
		for (i = 0; i < v.n_slots; i++) {
			put(b,
			    "slotlb_traffic_share_ratio{app=\"%s\",slot=\"%s\"} %.4f\n",
			    v.app, v.slots[i].name,
			    v.slots[i].share / (double)SLOTLB_SHARE_SCALE);
			if (v.measured && v.m.total)
				put(b,
				    "slotlb_traffic_measured_ratio{app=\"%s\",slot=\"%s\"} %.4f\n",
				    v.app, v.slots[i].name,
				    (double)v.slots[i].taken / v.m.total);
		}
		if (v.measured)
			put(b,
			    "slotlb_traffic_window_new_flows{app=\"%s\"} %llu\n",
			    v.app, (unsigned long long)v.m.total);
	}
}

char *metrics_render(struct daemon *d)
{
	struct slotlb_reason_counter reasons[SLOTLB_REASON_MAX];
	struct st_snapshot s = {0};
	struct slotlb_counters c;
	struct buf b = {0};
	char ep[SLOTLB_ENDPOINT_STRLEN], labels[256];
	const char *app;
	const char *slot;
	size_t i, a, sl;
	int r;

	pthread_mutex_lock(&d->lock);
	if (state_snapshot(d->st, -1, &s)) {
		pthread_mutex_unlock(&d->lock);
		return NULL;
	}
	pthread_mutex_unlock(&d->lock);

	put(&b, "# HELP slotlb_packets_total Packets by verdict reason.\n"
		"# TYPE slotlb_packets_total counter\n");
	if (!slotlb_reasons_read(d->lb, reasons))
		for (r = 0; r < SLOTLB_REASON_MAX; r++)
			put(&b, "slotlb_packets_total{reason=\"%s\"} %llu\n",
			    slotlb_reason_name((enum slotlb_reason)r),
			    (unsigned long long)reasons[r].packets);
	put(&b, "# TYPE slotlb_endpoint_packets_total counter\n"
		"# TYPE slotlb_endpoint_bytes_total counter\n"
		"# TYPE slotlb_endpoint_new_flows_total counter\n");
	/* endpoints, apps and slots share one order: merge cursors */
	for (i = 0, a = 0, sl = 0; i < s.n_endpoints; i++) {
		const struct st_endpoint *e = &s.endpoints[i];

		while (a < s.n_apps && s.apps[a].id < e->app_id)
			a++;
		while (sl < s.n_slots && (s.slots[sl].app_id < e->app_id ||
					  (s.slots[sl].app_id == e->app_id &&
					   s.slots[sl].index < e->slot)))
			sl++;
		app = a < s.n_apps && s.apps[a].id == e->app_id ? s.apps[a].name
								: "";
		slot = sl < s.n_slots && s.slots[sl].app_id == e->app_id &&
				       s.slots[sl].index == e->slot
			       ? s.slots[sl].name
			       : "";
		if (slotlb_format_endpoint(&s.endpoints[i].key, ep,
					   sizeof(ep)) ||
		    slotlb_stats_read(d->lb, SLOTLB_STATS_ENDPOINT,
				      s.endpoints[i].id, &c))
			continue;
		snprintf(labels, sizeof(labels),
			 "app=\"%s\",slot=\"%s\",endpoint=\"%s\"", app, slot,
			 ep);
		counters(&b, "endpoint", labels, &c);
	}
	put(&b,
	    "# TYPE slotlb_deployment_packets_total counter\n"
	    "# TYPE slotlb_deployment_bytes_total counter\n"
	    "# TYPE slotlb_deployment_new_flows_total counter\n"
	    "# HELP slotlb_deployment_flows Forward flows pinned (drain progress).\n"
	    "# TYPE slotlb_deployment_flows gauge\n");
	for (i = 0; i < s.n_deployments; i++) {
		const struct st_deployment *dep = &s.deployments[i];

		app = "";
		for (a = 0; a < s.n_apps; a++)
			if ((int64_t)s.apps[a].id == dep->app_id)
				app = s.apps[a].name;
		snprintf(
			labels, sizeof(labels),
			"app=\"%s\",deployment=\"%u\",version=\"%s\",state=\"%s\"",
			app, dep->id, dep->version,
			dep->state == DEPLOYMENT_ACTIVE ? "active"
							: "draining");
		if (!slotlb_stats_read(d->lb, SLOTLB_STATS_DEPLOYMENT, dep->id,
				       &c))
			counters(&b, "deployment", labels, &c);
		put(&b, "slotlb_deployment_flows{%s} %llu\n", labels,
		    (unsigned long long)flows_of_deployment(d, dep->id));
	}
	traffic_metrics(&b, d, &s);
	state_snapshot_free(&s);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}
