/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The data path's series: packets and bytes per verdict reason; packets,
 * bytes and new flows per endpoint, per deployment and (with
 * --metrics-backends) per backend; live flows per deployment and backend
 * (drain progress) from the drain thread's last walk; the flow table's
 * size and capacity.
 *
 * Counters carry labels that never change for their series: app, slot
 * and endpoint for an endpoint (endpoints stick to their slot); app,
 * deployment and version for a deployment (which moves between slots:
 * slotlb_deployment_info says where it is now, for joins).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "metrics.h"
#include "ops.h"

#define LABELS_LEN 512

/* One labelled thing and what the data path counted for it. */
struct row {
	char labels[LABELS_LEN];
	struct slotlb_counters c;
	bool counted; /* c was read */
	uint64_t live; /* live flows pinned to it */
};

static int cmp_app(const void *key, const void *elem)
{
	uint32_t id = *(const uint32_t *)key;
	const struct st_app *a = elem;

	return id < a->id ? -1 : id > a->id;
}

static const char *app_name(const struct st_snapshot *s, int64_t id)
{
	uint32_t key = (uint32_t)id;
	const struct st_app *a;

	if (id < 0)
		return "";
	a = bsearch(&key, s->apps, s->n_apps, sizeof(*a), cmp_app);
	return a ? a->name : "";
}

static const char *slot_name(const struct st_snapshot *s, uint32_t app_id,
			     uint32_t index)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].app_id == app_id && s->slots[i].index == index)
			return s->slots[i].name;
	return "";
}

static uint64_t packets(const struct row *r)
{
	return r->c.packets;
}

static uint64_t bytes(const struct row *r)
{
	return r->c.bytes;
}

static uint64_t new_flows(const struct row *r)
{
	return r->c.new_flows;
}

static uint64_t live(const struct row *r)
{
	return r->live;
}

/* One family over rows; counters only where they could be read. */
static void rows_family(struct buf *b, const char *name, const char *type,
			const char *help, const struct row *rows, size_t n,
			uint64_t (*value)(const struct row *), bool counter)
{
	size_t i;

	family(b, name, type, help);
	for (i = 0; i < n; i++)
		if (!counter || rows[i].counted)
			put(b, "%s{%s} %llu\n", name, rows[i].labels,
			    (unsigned long long)value(&rows[i]));
}

static void traffic_families(struct buf *b, const char *object,
			     const struct row *rows, size_t n)
{
	char name[96], help[160];

	snprintf(name, sizeof(name), "slotlb_%s_packets_total", object);
	snprintf(help, sizeof(help), "Packets per %s, both directions.",
		 object);
	rows_family(b, name, "counter", help, rows, n, packets, true);
	snprintf(name, sizeof(name), "slotlb_%s_bytes_total", object);
	snprintf(help, sizeof(help), "Bytes per %s, both directions.", object);
	rows_family(b, name, "counter", help, rows, n, bytes, true);
	snprintf(name, sizeof(name), "slotlb_%s_new_flows_total", object);
	snprintf(help, sizeof(help), "Flows pinned to a backend per %s.",
		 object);
	rows_family(b, name, "counter", help, rows, n, new_flows, true);
}

static void reasons(struct buf *b, struct daemon *d)
{
	struct slotlb_reason_counter sum[SLOTLB_REASON_MAX];
	int r;

	if (slotlb_reasons_read(d->lb, sum))
		return;
	family(b, "slotlb_packets_total", "counter",
	       "Packets by the data path's verdict reason (forward, reply, "
	       "pass_*, drop_*).");
	for (r = 0; r < SLOTLB_REASON_MAX; r++)
		put(b, "slotlb_packets_total{reason=\"%s\"} %llu\n",
		    slotlb_reason_name((enum slotlb_reason)r),
		    (unsigned long long)sum[r].packets);
	family(b, "slotlb_bytes_total", "counter",
	       "Bytes by the data path's verdict reason.");
	for (r = 0; r < SLOTLB_REASON_MAX; r++)
		put(b, "slotlb_bytes_total{reason=\"%s\"} %llu\n",
		    slotlb_reason_name((enum slotlb_reason)r),
		    (unsigned long long)sum[r].bytes);
}

static void endpoints(struct buf *b, struct daemon *d,
		      const struct st_snapshot *s)
{
	struct row *rows = calloc(s->n_endpoints + 1, sizeof(*rows));
	char ep[SLOTLB_ENDPOINT_STRLEN];
	size_t i;

	if (!rows) {
		b->failed = true;
		return;
	}
	for (i = 0; i < s->n_endpoints; i++) {
		const struct st_endpoint *e = &s->endpoints[i];

		if (slotlb_format_endpoint(&e->key, ep, sizeof(ep)))
			continue;
		snprintf(rows[i].labels, LABELS_LEN,
			 "app=\"%s\",slot=\"%s\",endpoint=\"%s\"",
			 app_name(s, e->app_id),
			 slot_name(s, e->app_id, e->slot), ep);
		rows[i].counted = !slotlb_stats_read(
			d->lb, SLOTLB_STATS_ENDPOINT, e->id, &rows[i].c);
	}
	traffic_families(b, "endpoint", rows, s->n_endpoints);
	free(rows);
}

/* The slot holding each deployment (by serial), "" if none. */
static const char *slot_of(const struct st_snapshot *s,
			   const struct st_deployment *dep)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].deployment == dep->serial)
			return s->slots[i].name;
	return "";
}

static const char *state_name(enum deployment_state st)
{
	return st == DEPLOYMENT_ACTIVE	   ? "active"
	       : st == DEPLOYMENT_DRAINING ? "draining"
					   : "retired";
}

/* Handshakes, SYN-ACKs and backend resets per deployment (abi.h, struct
 * slotlb_deployment_tcp): what a swap's verification reads as ratios. */
static void deployment_tcp(struct buf *b, struct daemon *d,
			   const struct st_snapshot *s, const struct row *rows)
{
	static const struct {
		const char *name, *help;
	} fams[] = {
		{"slotlb_deployment_tcp_handshakes_total",
		 "Client SYNs that opened a handshake with a backend of the "
		 "deployment (retransmissions not counted)."},
		{"slotlb_deployment_tcp_synacks_total",
		 "Handshakes a backend of the deployment answered with a "
		 "SYN-ACK."},
		{"slotlb_deployment_tcp_backend_resets_total",
		 "RSTs the deployment's backends sent on tracked flows."},
	};
	struct slotlb_deployment_tcp *c;
	size_t i, f;

	c = calloc(s->n_deployments + 1, sizeof(*c));
	if (!c) {
		b->failed = true;
		return;
	}
	for (i = 0; i < s->n_deployments; i++)
		slotlb_deployment_tcp_read(d->lb, s->deployments[i].id, &c[i]);
	for (f = 0; f < 3; f++) {
		family(b, fams[f].name, "counter", fams[f].help);
		for (i = 0; i < s->n_deployments; i++)
			put(b, "%s{%s} %llu\n", fams[f].name, rows[i].labels,
			    (unsigned long long)(f == 0 ? c[i].handshakes
						 : f == 1
							 ? c[i].synacks
							 : c[i].backend_resets));
	}
	free(c);
}

static void deployments(struct buf *b, struct daemon *d,
			const struct st_snapshot *s)
{
	struct row *rows = calloc(s->n_deployments + 1, sizeof(*rows));
	char version[2 * SLOTLB_VERSION_LEN];
	size_t i;

	if (!rows) {
		b->failed = true;
		return;
	}
	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];

		snprintf(rows[i].labels, LABELS_LEN,
			 "app=\"%s\",deployment=\"%u\",version=\"%s\"",
			 app_name(s, dep->app_id), dep->id,
			 label_value(dep->version, version, sizeof(version)));
		rows[i].counted = !slotlb_stats_read(
			d->lb, SLOTLB_STATS_DEPLOYMENT, dep->id, &rows[i].c);
		rows[i].live = flows_of_deployment(d, dep->id);
	}
	traffic_families(b, "deployment", rows, s->n_deployments);
	rows_family(b, "slotlb_deployment_live_flows", "gauge",
		    "Flows still pinned to the deployment (drain progress), "
		    "at the last flow walk.",
		    rows, s->n_deployments, live, false);
	deployment_tcp(b, d, s, rows);
	family(b, "slotlb_deployment_info", "gauge",
	       "1 per live deployment: its state and the slot it is in (\"\" "
	       "while draining).");
	for (i = 0; i < s->n_deployments; i++)
		put(b,
		    "slotlb_deployment_info{%s,state=\"%s\",slot=\"%s\"} 1\n",
		    rows[i].labels, state_name(s->deployments[i].state),
		    slot_of(s, &s->deployments[i]));
	free(rows);
}

/* Per backend, only with --metrics-backends: a few series per backend
 * of every live deployment, which adds up. */
static void backends(struct buf *b, struct daemon *d,
		     const struct st_snapshot *s)
{
	struct row *rows = calloc(s->n_backends + 1, sizeof(*rows));
	char be[SLOTLB_ENDPOINT_STRLEN], version[2 * SLOTLB_VERSION_LEN];
	size_t i, k, n = 0;

	if (!rows) {
		b->failed = true;
		return;
	}
	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];

		for (k = 0; k < dep->backend_count; k++) {
			const struct st_backend *bk =
				&s->backends[dep->backend_first + k];

			if (slotlb_format_backend(&bk->be, be, sizeof(be)))
				continue;
			snprintf(rows[n].labels, LABELS_LEN,
				 "app=\"%s\",deployment=\"%u\",version=\"%s\","
				 "backend=\"%s\"",
				 app_name(s, dep->app_id), dep->id,
				 label_value(dep->version, version,
					     sizeof(version)),
				 be);
			rows[n].counted =
				!slotlb_stats_read(d->lb, SLOTLB_STATS_BACKEND,
						   bk->id, &rows[n].c);
			rows[n].live = flows_of_backend(d, bk->id);
			n++;
		}
	}
	traffic_families(b, "backend", rows, n);
	rows_family(b, "slotlb_backend_live_flows", "gauge",
		    "Flows still pinned to the backend, at the last flow walk.",
		    rows, n, live, false);
	free(rows);
}

static void flow_table(struct buf *b, struct daemon *d)
{
	uint64_t flows = 0;
	bool valid;

	pthread_mutex_lock(&d->flows_lock);
	valid = d->flows_valid;
	flows = d->table_flows;
	pthread_mutex_unlock(&d->flows_lock);
	family(b, "slotlb_flow_table_capacity_flows", "gauge",
	       "Concurrent flows the flow table holds.");
	put(b, "slotlb_flow_table_capacity_flows %u\n",
	    slotlb_flow_capacity(d->lb));
	if (!valid)
		return;
	family(b, "slotlb_flow_table_flows", "gauge",
	       "Flows in the flow table at the last flow walk, closed ones "
	       "not yet collected included.");
	put(b, "slotlb_flow_table_flows %llu\n", (unsigned long long)flows);
}

/* The measured share of the new flows on the production slot's
 * endpoints that each slot's deployment took, for the apps with traffic
 * rules (traffic_measure.c samples the counters), beside its window. */
static void traffic_measured(struct buf *b, struct daemon *d,
			     const struct st_snapshot *s)
{
	struct traffic_view v[1];
	size_t a, i, n_splits, n_opt_ins, pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			family(b, "slotlb_traffic_measured_ratio", "gauge",
			       "Share of the new flows on the production "
			       "slot's endpoints that each slot's deployment "
			       "took, since the app's last routing change, at "
			       "most the last 30-60 s.");
		else
			family(b, "slotlb_traffic_window_new_flows", "gauge",
			       "New flows on the production slot's endpoints "
			       "in that window.");
		for (a = 0; a < s->n_apps; a++) {
			st_snapshot_splits(s, s->apps[a].id, &n_splits);
			st_snapshot_opt_ins(s, s->apps[a].id, &n_opt_ins);
			if (!n_splits && !n_opt_ins)
				continue;
			traffic_view_of(d, s, a, v);
			if (!v->measured)
				continue;
			if (pass == 1) {
				put(b,
				    "slotlb_traffic_window_new_flows{app=\"%s\"} %llu\n",
				    v->app, (unsigned long long)v->m.total);
				continue;
			}
			for (i = 0; i < v->n_slots && v->m.total; i++)
				put(b,
				    "slotlb_traffic_measured_ratio{app=\"%s\",slot=\"%s\"} %.4f\n",
				    v->app, v->slots[i].name,
				    (double)v->slots[i].taken / v->m.total);
		}
	}
}

void metrics_datapath(struct buf *b, struct daemon *d,
		      const struct st_snapshot *s)
{
	reasons(b, d);
	endpoints(b, d, s);
	deployments(b, d, s);
	if (d->metrics_backends)
		backends(b, d, s);
	flow_table(b, d);
	traffic_measured(b, d, s);
}
