/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drain tracking. Every interval: collect expired flows, walk the flow
 * table once to count forward flows per deployment and per backend (the
 * counts status and metrics show), and retire draining deployments with
 * no flow left: their ring and backends leave the maps and their ids
 * become free.
 *
 * A count only proves a deployment idle if the walk started after the
 * deployment stopped taking new flows, plus a margin for a packet that
 * read the old routing element just before the swap. The margin runs on
 * the monotonic clock from the tick that first saw the deployment
 * draining, not from the database's draining_since (wall clock): a wall
 * clock jumping forward would otherwise make a deployment that left its
 * slot a moment ago look long drained.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "daemon.h"
#include "store.h"

/* One drain of a deployment as this thread first saw it. A deployment
 * may drain, come back (rollback) and drain again: the database's
 * draining_since moves each time, so (serial, draining_since) names one
 * drain; it is an identity here, never compared as a time. */
struct drain_seen {
	int64_t serial; /* deployment serial, 0 = none */
	int64_t since; /* its draining_since_ms when first seen */
	int64_t mono_ms; /* first tick that saw this drain */
	bool notified; /* its "drained" entry was written */
};

struct walk {
	uint64_t *deployments;
	uint64_t *backends;
	uint64_t table; /* flows in the table, live or not (metrics) */
	struct drain_seen
		*seen; /* [SLOTLB_MAX_DEPLOYMENTS], by data-plane id */
	struct drain_control *control; /* drain_control.c */
	/* [SLOTLB_MAX_DEPLOYMENTS] a tick's proven drains (store.h), and
	 * each one's index in the tick's snapshot */
	struct store_drain *drains;
	size_t *at;
	/* with a store: orphans (active, in no slot) as first seen, by
	 * data-plane id; a tick's orphans past the grace, and the
	 * deployments this node's deploys made (store.h) */
	struct drain_seen *orphan_seen;
	struct store_fleet fleet;
};

/* Count the flows that still pin their backend; closed ones linger in
 * the table for a while but hold nothing back, and an idle one counts
 * only until its timeout. */
static int count_flow(const struct slotlb_flow_info *flow, void *ctx)
{
	struct walk *w = ctx;

	w->table++;
	if (!flow->live)
		return 0;
	if (flow->deployment_id < SLOTLB_MAX_DEPLOYMENTS)
		w->deployments[flow->deployment_id]++;
	if (flow->backend_id < SLOTLB_MAX_BACKENDS)
		w->backends[flow->backend_id]++;
	return 0;
}

uint64_t flows_of_deployment(struct daemon *d, uint32_t id)
{
	uint64_t n = 0;

	pthread_mutex_lock(&d->flows_lock);
	if (d->flows_valid && id < SLOTLB_MAX_DEPLOYMENTS)
		n = d->deployment_flows[id];
	pthread_mutex_unlock(&d->flows_lock);
	return n;
}

uint64_t flows_of_backend(struct daemon *d, uint32_t id)
{
	uint64_t n = 0;

	pthread_mutex_lock(&d->flows_lock);
	if (d->flows_valid && id < SLOTLB_MAX_BACKENDS)
		n = d->backend_flows[id];
	pthread_mutex_unlock(&d->flows_lock);
	return n;
}

/* Under d->lock: retire one draining deployment. The database commits
 * first: if we die before the maps are cleaned, reconcile removes the
 * ring and backends it no longer knows. */
static void retire(struct daemon *d, const struct st_snapshot *s,
		   const struct st_deployment *dep)
{
	const char *app = snapshot_app_name(s, dep->app_id);
	struct st_deployment now;
	char detail[160];
	size_t i;
	int err;

	snprintf(detail, sizeof(detail), "deployment %u (%s) retired", dep->id,
		 dep->version);
	err = state_begin(d->st);
	/* still draining? (with a store the lock was let go since the
	 * snapshot, and the copy caught up with the fleet) */
	if (!err)
		err = state_deployment_get(d->st, dep->serial, &now, NULL,
					   NULL);
	if (!err && now.state != DEPLOYMENT_DRAINING) {
		state_rollback(d->st);
		return;
	}
	if (!err)
		err = state_deployment_set_state(d->st, dep->serial,
						 DEPLOYMENT_RETIRED, 0);
	if (!err && app)
		drain_note(d, app, NULL, "retire", detail);
	if (!err)
		err = state_commit(d->st);
	if (err) {
		state_rollback(d->st);
		log_msg("Error: deployment %u: retiring: %s", dep->id,
			strerror(-err));
		return;
	}
	err = slotlb_deployment_remove(d->lb, dep->id);
	if (err && err != -ENOENT)
		log_msg("Error: deployment %u: removing ring: %s", dep->id,
			strerror(-err));
	for (i = 0; i < dep->backend_count; i++)
		slotlb_backend_clear(d->lb,
				     s->backends[dep->backend_first + i].id);
	log_msg("deployment %u (%s) drained and retired", dep->id,
		dep->version);
}

/* Under d->lock: dep has no flow left (once per drain). */
static void drained(struct daemon *d, const struct st_snapshot *s,
		    const struct st_deployment *dep)
{
	const char *app = snapshot_app_name(s, dep->app_id);
	char detail[160];

	snprintf(detail, sizeof(detail), "deployment %u (%s): no flows left",
		 dep->id, dep->version);
	if (app)
		drain_note(d, app, NULL, "drained", detail);
}

/* Is dep what some slot held before its last change? Then a rollback
 * may put it back: it keeps its ring and ids (it takes no new flows, as
 * no slot references it) instead of being retired. */
static bool rollback_target(const struct st_snapshot *s,
			    const struct st_deployment *dep)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].previous == dep->serial)
			return true;
	return false;
}

/* Under d->lock: the draining deployments whose count this walk proves
 * (the margin passed since this thread first saw the drain), into
 * w->drains; w->at[i] is drains[i]'s index in s. */
static size_t proven_drains(struct walk *w, const struct st_snapshot *s,
			    int64_t started, int64_t seen_ms, uint64_t *flows)
{
	size_t i, n = 0;

	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];
		struct drain_seen *seen = &w->seen[dep->id];

		if (dep->state != DEPLOYMENT_DRAINING)
			continue;
		if (seen->serial != dep->serial ||
		    seen->since != dep->draining_since_ms) {
			seen->serial = dep->serial;
			seen->since = dep->draining_since_ms;
			seen->mono_ms = seen_ms;
			seen->notified = false;
			continue;
		}
		if (seen->mono_ms + DRAIN_MARGIN_MS > started)
			continue;
		w->at[n] = i;
		w->drains[n++] = (struct store_drain){dep->serial,
						      dep->draining_since_ms,
						      flows[dep->id], false};
	}
	return n;
}

static bool in_a_slot(const struct st_snapshot *s, int64_t serial)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].deployment == serial)
			return true;
	return false;
}

/* Under d->lock, with a store: the orphans (a deploy that died between
 * its two transactions, on any node, left them active in no slot) seen
 * for ORPHAN_GRACE_MS, and this node's deploys under way, into
 * w->fleet. The grace covers the time a deploying node takes to say
 * so (its next drain tick). */
static void fleet_orphans(struct daemon *d, struct walk *w,
			  const struct st_snapshot *s, int64_t now)
{
	size_t i;

	w->fleet.n_orphans = 0;
	w->fleet.n_deploying = 0;
	for (i = 0; i < SLOTLB_MAX_APPS; i++)
		if (d->deploying[i])
			w->fleet.deploying[w->fleet.n_deploying++] =
				d->deploying[i];
	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];
		struct drain_seen *seen = &w->orphan_seen[dep->id];

		if (dep->state != DEPLOYMENT_ACTIVE ||
		    in_a_slot(s, dep->serial)) {
			if (seen->serial == dep->serial)
				seen->serial = 0;
			continue;
		}
		if (seen->serial != dep->serial) {
			seen->serial = dep->serial;
			seen->mono_ms = now;
			continue;
		}
		if (now - seen->mono_ms < ORPHAN_GRACE_MS ||
		    (dep->app_id >= 0 && d->busy[dep->app_id]))
			continue;
		w->fleet.orphans[w->fleet.n_orphans++] = (struct store_drain){
			dep->serial, dep->created, 0, false};
	}
}

/* Under d->lock: retire an orphan no live node is deploying. */
static void retire_orphan(struct daemon *d, const struct st_snapshot *s,
			  const struct store_drain *o)
{
	const char *app;
	struct st_deployment dep;
	struct st_backend *bes = NULL;
	char detail[160];
	size_t i, n = 0;
	int err;

	err = state_begin(d->st);
	if (!err)
		err = state_deployment_get(d->st, o->serial, &dep, &bes, &n);
	if (!err)
		err = state_deployment_retire_orphan(d->st, o->serial);
	if (!err) {
		snprintf(detail, sizeof(detail),
			 "deployment %u (%s) of an unfinished deploy retired",
			 dep.id, dep.version);
		app = snapshot_app_name(s, dep.app_id);
		if (app)
			drain_note(d, app, NULL, "retire", detail);
		err = state_commit(d->st);
	}
	if (err) {
		state_rollback(d->st);
		if (err != -ENOENT)
			log_msg("Error: deployment serial %lld: retiring an orphan: %s",
				(long long)o->serial, strerror(-err));
		free(bes);
		return;
	}
	slotlb_deployment_remove(d->lb, dep.id);
	for (i = 0; i < n; i++)
		slotlb_backend_clear(d->lb, bes[i].id);
	free(bes);
	log_msg("%s", detail);
}

static void drain_tick(struct daemon *d, struct walk *w)
{
	struct st_snapshot s = {0};
	uint64_t *swap;
	int64_t started, seen_ms;
	bool decides = true;
	size_t i, n;
	int err;

	err = slotlb_flows_gc(d->lb);
	if (err < 0)
		log_debug("flow gc: %s", strerror(-err));
	started = mono_ms();
	memset(w->deployments, 0,
	       SLOTLB_MAX_DEPLOYMENTS * sizeof(*w->deployments));
	memset(w->backends, 0, SLOTLB_MAX_BACKENDS * sizeof(*w->backends));
	w->table = 0;
	err = slotlb_flows_foreach(d->lb, count_flow, w);
	if (err < 0) {
		log_msg("Error: flow walk: %s", strerror(-err));
		return;
	}
	pthread_mutex_lock(&d->flows_lock);
	swap = d->deployment_flows;
	d->deployment_flows = w->deployments;
	w->deployments = swap;
	swap = d->backend_flows;
	d->backend_flows = w->backends;
	w->backends = swap;
	d->table_flows = w->table;
	d->flows_valid = true;
	pthread_mutex_unlock(&d->flows_lock);

	pthread_mutex_lock(&d->lock);
	err = state_snapshot(d->st, -1, &s);
	if (err) {
		log_msg("Error: drain: database: %s", strerror(-err));
		goto out;
	}
	traffic_measure_tick(d, &s);
	/* no earlier than the drain: the routing element was replaced
	 * before the commit this snapshot reads */
	seen_ms = mono_ms();
	drain_control_tick(d, w->control, &s, started);
	n = proven_drains(w, &s, started, seen_ms, d->deployment_flows);
	if (d->store) {
		store_seed_check(d);
		fleet_orphans(d, w, &s, mono_ms());
		/* every live node's count, over the network: not under
		 * the lock (retire() reads the deployment again) */
		pthread_mutex_unlock(&d->lock);
		err = store_drain_exchange(d, w->drains, n, &w->fleet,
					   &decides);
		if (err)
			log_debug("drain: fleet counts: %s", strerror(-err));
		pthread_mutex_lock(&d->lock);
		if (err)
			goto out;
		for (i = 0; decides && i < w->fleet.n_orphans; i++)
			if (w->fleet.orphans[i].fleet_idle)
				retire_orphan(d, &s, &w->fleet.orphans[i]);
	}
	for (i = 0; i < n; i++) {
		const struct st_deployment *dep = &s.deployments[w->at[i]];
		struct drain_seen *seen = &w->seen[dep->id];

		/* without a store this node's count is the whole count */
		if (w->drains[i].flows != 0 ||
		    (d->store && (!decides || !w->drains[i].fleet_idle)))
			continue;
		/* the "drained" event: its servers may be stopped now */
		if (!seen->notified)
			drained(d, &s, dep);
		seen->notified = true;
		/* a rollback may be warming it up to put it back */
		if (dep->app_id >= 0 && d->busy[dep->app_id])
			continue;
		if (rollback_target(&s, dep))
			continue;
		retire(d, &s, dep);
	}
out:
	pthread_mutex_unlock(&d->lock);
	state_snapshot_free(&s);
}

static void *drain_main(void *arg)
{
	struct daemon *d = arg;
	struct walk w;
	uint32_t slept;

	w.deployments = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(uint64_t));
	w.backends = calloc(SLOTLB_MAX_BACKENDS, sizeof(uint64_t));
	w.seen = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.seen));
	w.control = drain_control_new();
	w.drains = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.drains));
	w.at = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.at));
	w.orphan_seen = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.orphan_seen));
	w.fleet.orphans =
		calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.fleet.orphans));
	w.fleet.deploying =
		calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*w.fleet.deploying));
	if (!w.deployments || !w.backends || !w.seen || !w.control ||
	    !w.drains || !w.at || !w.orphan_seen || !w.fleet.orphans ||
	    !w.fleet.deploying) {
		log_msg("Error: drain: out of memory");
		goto out;
	}
	while (!atomic_load(&d->stopping)) {
		drain_tick(d, &w);
		/* short naps so a stop is noticed quickly */
		for (slept = 0;
		     slept < d->drain_interval_ms && !atomic_load(&d->stopping);
		     slept += 50)
			mono_sleep_ms(50);
	}
out:
	free(w.deployments);
	free(w.backends);
	free(w.seen);
	drain_control_free(w.control);
	free(w.drains);
	free(w.at);
	free(w.orphan_seen);
	free(w.fleet.orphans);
	free(w.fleet.deploying);
	return NULL;
}

int drain_start(struct daemon *d)
{
	int err;

	d->deployment_flows = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(uint64_t));
	d->backend_flows = calloc(SLOTLB_MAX_BACKENDS, sizeof(uint64_t));
	d->deploying = calloc(SLOTLB_MAX_APPS, sizeof(*d->deploying));
	if (!d->deployment_flows || !d->backend_flows || !d->deploying)
		return -ENOMEM;
	err = pthread_create(&d->drain_thread, NULL, drain_main, d);
	if (err)
		return -err;
	d->drain_started = true;
	return 0;
}

void drain_stop(struct daemon *d)
{
	if (d->drain_started)
		pthread_join(d->drain_thread, NULL);
	d->drain_started = false;
	free(d->deployment_flows);
	free(d->backend_flows);
	free(d->deploying);
	d->deployment_flows = d->backend_flows = NULL;
	d->deploying = NULL;
}
