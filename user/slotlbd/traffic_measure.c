/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The measured share of new flows, per slot, for apps with traffic
 * rules: of the new flows that arrived on the production slot's
 * endpoints, how many each slot's deployment took. The data path keeps
 * no per-rule counter, but it counts new flows per endpoint and per
 * deployment, and a slot's deployment takes new flows only from its own
 * endpoints and from production's rules, so
 *
 *   total        = new flows on production's endpoints
 *   taken(prod)  = new flows of production's deployment
 *   taken(slot)  = new flows of slot's deployment - those on its own
 *                  endpoints
 *
 * over a window. The window starts again whenever the app's routing
 * changes (its generation, or a slot's deployment), since counts from
 * before a change describe another distribution, and otherwise covers
 * the last 30 to 60 s: two baselines, the newer replacing the older
 * every 30 s, so the share follows the traffic of the last minute
 * rather than of the app's whole life.
 *
 * The counters are per-CPU and read one by one, so a flow counted on
 * its endpoint may not be counted on its deployment yet: a window can
 * be off by the few flows of one instant, never more.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "daemon.h"

/* How often the newer baseline replaces the older. */
#define WINDOW_ROTATE_MS 30000

/* New flows per slot at one instant. */
struct sample {
	int64_t mono_ms;
	uint64_t endpoints[SLOTLB_MAX_SLOTS]; /* on the slot's endpoints */
	uint64_t deployment[SLOTLB_MAX_SLOTS]; /* of its deployment */
};

/* One app's window: what it counts, and its samples. */
struct window {
	uint32_t generation; /* of the routing element it describes */
	uint32_t deployment[SLOTLB_MAX_SLOTS]; /* ids it counts per slot */
	struct sample base[2]; /* the older, the newer baseline */
	struct sample last; /* the latest tick's */
};

struct traffic_windows {
	pthread_mutex_t lock; /* w[] and every window */
	struct window *w[SLOTLB_MAX_APPS];
};

int traffic_measure_init(struct daemon *d)
{
	d->traffic = calloc(1, sizeof(*d->traffic));
	if (!d->traffic)
		return -ENOMEM;
	pthread_mutex_init(&d->traffic->lock, NULL);
	return 0;
}

void traffic_measure_free(struct daemon *d)
{
	size_t i;

	if (!d->traffic)
		return;
	for (i = 0; i < SLOTLB_MAX_APPS; i++)
		free(d->traffic->w[i]);
	pthread_mutex_destroy(&d->traffic->lock);
	free(d->traffic);
	d->traffic = NULL;
}

static uint64_t new_flows(struct daemon *d, enum slotlb_stats_kind kind,
			  uint32_t id)
{
	struct slotlb_counters c;

	return slotlb_stats_read(d->lb, kind, id, &c) ? 0 : c.new_flows;
}

/* The app at s->apps[a] now: its generation, the deployment of each
 * slot, and a sample of their counters. */
static void take(struct daemon *d, const struct st_snapshot *s, size_t a,
		 struct window *now)
{
	uint32_t app_id = s->apps[a].id;
	const struct st_deployment *dep;
	size_t i;

	memset(now, 0, sizeof(*now));
	now->generation = s->apps[a].generation;
	now->last.mono_ms = mono_ms();
	for (i = 0; i < s->n_slots; i++) {
		const struct st_slot *sl = &s->slots[i];

		if (sl->app_id != app_id || sl->index >= SLOTLB_MAX_SLOTS)
			continue;
		dep = st_snapshot_deployment(s, sl->deployment);
		if (!dep)
			continue;
		now->deployment[sl->index] = dep->id;
		now->last.deployment[sl->index] =
			new_flows(d, SLOTLB_STATS_DEPLOYMENT, dep->id);
	}
	for (i = 0; i < s->n_endpoints; i++) {
		const struct st_endpoint *e = &s->endpoints[i];

		if (e->app_id == app_id && e->slot < SLOTLB_MAX_SLOTS)
			now->last.endpoints[e->slot] +=
				new_flows(d, SLOTLB_STATS_ENDPOINT, e->id);
	}
}

static bool has_rules(const struct st_snapshot *s, uint32_t app_id)
{
	size_t n_splits, n_opt_ins;

	st_snapshot_splits(s, app_id, &n_splits);
	st_snapshot_opt_ins(s, app_id, &n_opt_ins);
	return n_splits || n_opt_ins;
}

/* Under t->lock: fold a new sample of app_id into its window. */
static void update(struct traffic_windows *t, uint32_t app_id,
		   const struct window *now, bool restart)
{
	struct window *w = t->w[app_id];

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return;
		t->w[app_id] = w;
		restart = true;
	}
	if (restart || w->generation != now->generation ||
	    memcmp(w->deployment, now->deployment, sizeof(w->deployment))) {
		*w = *now;
		w->base[0] = w->base[1] = now->last;
		return;
	}
	w->last = now->last;
	if (now->last.mono_ms - w->base[1].mono_ms >= WINDOW_ROTATE_MS) {
		w->base[0] = w->base[1];
		w->base[1] = now->last;
	}
}

void traffic_measure_tick(struct daemon *d, const struct st_snapshot *s)
{
	struct traffic_windows *t = d->traffic;
	struct window now;
	uint8_t *keep;
	size_t a;
	uint32_t id;

	if (!t)
		return;
	keep = calloc(SLOTLB_MAX_APPS, 1);
	if (!keep)
		return;
	for (a = 0; a < s->n_apps; a++) {
		id = s->apps[a].id;
		if (id >= SLOTLB_MAX_APPS || !has_rules(s, id))
			continue;
		keep[id] = 1;
		take(d, s, a, &now);
		pthread_mutex_lock(&t->lock);
		update(t, id, &now, false);
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_lock(&t->lock);
	for (id = 0; id < SLOTLB_MAX_APPS; id++)
		if (!keep[id] && t->w[id]) {
			free(t->w[id]);
			t->w[id] = NULL;
		}
	pthread_mutex_unlock(&t->lock);
	free(keep);
}

void traffic_measure_reset(struct daemon *d, const struct st_snapshot *s,
			   uint32_t app_id)
{
	struct traffic_windows *t = d->traffic;
	struct window now;
	size_t a;
	bool rules;

	if (!t || app_id >= SLOTLB_MAX_APPS)
		return;
	for (a = 0; a < s->n_apps && s->apps[a].id != app_id; a++)
		;
	rules = a < s->n_apps && has_rules(s, app_id);
	if (rules)
		take(d, s, a, &now);
	pthread_mutex_lock(&t->lock);
	if (rules) {
		update(t, app_id, &now, true);
	} else {
		free(t->w[app_id]);
		t->w[app_id] = NULL;
	}
	pthread_mutex_unlock(&t->lock);
}

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

int traffic_measure_get(struct daemon *d, uint32_t app_id,
			struct traffic_measure *m)
{
	struct traffic_windows *t = d->traffic;
	const struct sample *b, *l;
	uint64_t dep, own;
	size_t i;
	int err = 0;

	memset(m, 0, sizeof(*m));
	if (!t || app_id >= SLOTLB_MAX_APPS)
		return -ENOENT;
	pthread_mutex_lock(&t->lock);
	if (!t->w[app_id]) {
		err = -ENOENT;
		goto out;
	}
	b = &t->w[app_id]->base[0];
	l = &t->w[app_id]->last;
	m->window_ms = l->mono_ms - b->mono_ms;
	m->total = delta(l->endpoints[0], b->endpoints[0]);
	m->taken[0] = delta(l->deployment[0], b->deployment[0]);
	for (i = 1; i < SLOTLB_MAX_SLOTS; i++) {
		dep = delta(l->deployment[i], b->deployment[i]);
		own = delta(l->endpoints[i], b->endpoints[i]);
		m->taken[i] = delta(dep, own);
	}
out:
	pthread_mutex_unlock(&t->lock);
	return err;
}
