/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health checks of live backends. A prober thread probes, every interval
 * of its slot's health policy, each backend of the deployment in the slot
 * and of the slot's rollback target (the draining deployment a rollback
 * would put back), with the warm-up prober (warmup.c) at one attempt.
 *
 * After unhealthy_after failures in a row a backend is down: its
 * deployment's rings are rebuilt whole without it (weight 0; Maglev
 * moves only its share) and published, and only then the data path is
 * told (backend_health map), so its pinned UDP flows choose again from a
 * ring that no longer names it and its pinned TCP flows get the slot's
 * treatment (reset or leave). After healthy_after successes it is up:
 * marked up first, then a ring with it is published.
 *
 * Fail open: a deployment never loses the last backend of a family
 * from its ring. A backend that goes down while every other backend of
 * its family is out stays in (in_ring), and status and history say so;
 * it leaves once another one is back.
 *
 * Each transition is one transaction (backend_health row, history entry
 * "health") committed after the maps changed; if slotlbd dies between
 * the two, the next start re-applies what the database says (the rings
 * of a reconciled deployment are built with every backend, then
 * health_restore() takes the down ones out again). Probe counts live
 * here only: a restart starts them over.
 *
 * One planner thread finds the policies whose interval is up and hands
 * each to a small, fixed pool of probers (HEALTH_PROBERS), so a policy
 * whose probes hang for their whole timeout delays only itself. A
 * policy is probed by one prober at a time: while its round runs it is
 * not handed out again, and it is due again once its interval is up.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "daemon.h"
#include "events.h"
#include "health.h"
#include "warmup.h"

/* How often the thread looks for policies whose interval is up (the
 * shortest interval is 100 ms). */
#define HEALTH_TICK_MS 50

/* Policies probed at once. Each round probes all of a policy's
 * backends concurrently (warmup_run), so the threads are bounded by
 * this, not by backends; a policy more waits for a prober, and takes
 * its turn in the order it fell due. */
#define HEALTH_PROBERS 8

/* One probed backend. */
struct track {
	int64_t deployment; /* serial */
	uint32_t dep_id; /* data-plane id */
	uint32_t backend_id;
	uint32_t weight;
	uint8_t family;
	uint32_t app_id, slot; /* the policy that probes it */
	struct warmup_target target;
	uint32_t fails, oks; /* probe results in a row */
	bool probed; /* has a result */
	bool down; /* committed state */
	bool in_ring; /* down but kept in the ring (fail open) */
	int64_t since_ms; /* wall clock of the last transition (0: none) */
	char error[160]; /* of the last failed probe */
	bool live; /* still probed (sweep mark) */
	bool unrecorded; /* in the maps, its transaction did not commit */
};

/* When a slot's policy probes next. */
struct due {
	uint32_t app_id, slot;
	int64_t next_ms; /* monotonic */
	bool busy; /* queued or being probed: not handed out again */
};

/* A due policy waiting for a prober. */
struct job {
	struct st_slot_health pol;
	struct job *next;
};

/* One prober thread; its own cancel, since a cancel wakes one waiter. */
struct prober {
	struct daemon *d;
	pthread_t thread;
	struct cancel cancel; /* stop: cut its probes in flight */
	bool started;
};

struct health {
	pthread_mutex_t lock; /* tracks */
	struct track *tracks;
	size_t n, cap;
	pthread_mutex_t qlock; /* dues, queue, quit */
	pthread_cond_t qcond; /* a job queued, or quit */
	struct due *dues;
	size_t n_dues;
	struct job *head, *tail; /* due policies, oldest first */
	bool quit;
	struct prober probers[HEALTH_PROBERS];
	pthread_t thread; /* the planner */
	bool started;
};

static struct track *track_find(struct health *h, int64_t deployment,
				uint32_t backend_id)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (h->tracks[i].deployment == deployment &&
		    h->tracks[i].backend_id == backend_id)
			return &h->tracks[i];
	return NULL;
}

static struct track *track_add(struct health *h)
{
	struct track *grown;

	if (h->n == h->cap) {
		grown = realloc(h->tracks, (h->cap * 2 + 16) * sizeof(*grown));
		if (!grown)
			return NULL;
		h->tracks = grown;
		h->cap = h->cap * 2 + 16;
	}
	memset(&h->tracks[h->n], 0, sizeof(h->tracks[0]));
	return &h->tracks[h->n++];
}

bool health_view(struct daemon *d, int64_t deployment, uint32_t backend_id,
		 struct health_view *v)
{
	struct health *h = d->health;
	struct track *t;
	bool found = false;

	memset(v, 0, sizeof(*v));
	if (!h)
		return false;
	pthread_mutex_lock(&h->lock);
	t = track_find(h, deployment, backend_id);
	if (t && (t->probed || t->since_ms)) {
		found = true;
		v->down = t->down;
		v->in_ring = t->in_ring;
		v->since_ms = t->since_ms;
		snprintf(v->error, sizeof(v->error), "%s",
			 t->down || t->fails ? t->error : "");
		v->fails = t->fails;
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

/* --- applying a deployment's health to its rings --- */

/* Which of the deployment's tracks (want_down[i] for backend i) stay
 * in the ring: every up one, and, for a family none of whose backends
 * is up and takes new connections (drained ones weigh 0), the down ones that
 * are in it now (the last ones standing) or, if none is, all of them. */
static void ring_members(const struct track *const *tr, const bool *want_down,
			 size_t n, bool *in)
{
	bool any_up[2] = {false, false}, any_in[2] = {false, false};
	size_t i;
	int f;

	for (i = 0; i < n; i++) {
		f = tr[i]->family == AF_INET6;
		if (!want_down[i])
			any_up[f] |= tr[i]->weight != 0; /* not drained */
		else if (!tr[i]->down || tr[i]->in_ring)
			any_in[f] = true;
	}
	for (i = 0; i < n; i++) {
		f = tr[i]->family == AF_INET6;
		if (!want_down[i] || any_up[f])
			in[i] = !want_down[i];
		else
			in[i] = any_in[f] ? (!tr[i]->down || tr[i]->in_ring)
					  : true;
	}
}

static void history_add(struct daemon *d, const char *app, const char *slot,
			const char *outcome, const char *detail,
			const struct track *t)
{
	struct st_history e = {0};
	int64_t id = 0;
	char deps[64];

	snprintf(e.app, sizeof(e.app), "%s", app);
	snprintf(e.action, sizeof(e.action), "health");
	snprintf(e.slot, sizeof(e.slot), "%s", slot);
	snprintf(e.trigger, sizeof(e.trigger), "slotlbd health check");
	snprintf(e.outcome, sizeof(e.outcome), "%s", outcome);
	snprintf(deps, sizeof(deps), "{\"%s\": %u}", slot, t->dep_id);
	e.deployments = deps;
	e.detail = (char *)detail;
	/* the "health" event goes with it (not sent if rolled back) */
	if (state_history_add(d->st, &e, &id))
		log_msg("Error: %s: history: %s", app, state_errmsg(d->st));
	else
		events_emit(d, id);
}

/* Names of the app and slot of a track, from the snapshot. */
static void names_of(const struct st_snapshot *s, const struct track *t,
		     const char **app, const char **slot)
{
	size_t i;

	*app = "?";
	*slot = "?";
	for (i = 0; i < s->n_apps; i++)
		if (s->apps[i].id == t->app_id)
			*app = s->apps[i].name;
	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].app_id == t->app_id &&
		    s->slots[i].index == t->slot)
			*slot = s->slots[i].name;
}

/*
 * Under d->lock and h->lock: bring deployment dep's rings and marks to
 * want_down for its n tracks; commit rows and history. A failure to
 * publish leaves the committed state as it was (retried next probe).
 */
static int apply_deployment(struct daemon *d, const struct st_snapshot *s,
			    struct track **tr, const bool *want_down, size_t n,
			    uint8_t tcp)
{
	struct slotlb_deployment_info info;
	struct slotlb_backend_health mark;
	uint32_t *ids, *weights;
	bool *in, *changed;
	char detail[512];
	const char *app, *slot;
	int64_t now = wall_ms();
	size_t i;
	int err;

	ids = calloc(n, sizeof(*ids));
	weights = calloc(n, sizeof(*weights));
	in = calloc(n, sizeof(*in));
	changed = calloc(n, sizeof(*changed));
	if (!ids || !weights || !in || !changed) {
		err = -ENOMEM;
		goto out;
	}
	ring_members((const struct track *const *)tr, want_down, n, in);
	for (i = 0; i < n; i++)
		if (tr[i]->down != want_down[i] ||
		    tr[i]->in_ring != (want_down[i] && in[i]) ||
		    tr[i]->unrecorded)
			break;
	if (i == n) {
		err = 0; /* nothing changes */
		goto out;
	}
	for (i = 0; i < n; i++) {
		ids[i] = tr[i]->backend_id;
		weights[i] = in[i] ? tr[i]->weight : 0;
	}
	/* up first, so a ring naming a backend never meets its down mark */
	for (i = 0; i < n; i++) {
		mark = (struct slotlb_backend_health){.tcp = tcp};
		if (in[i] && tr[i]->down && !tr[i]->in_ring)
			slotlb_backend_health_set(d->lb, ids[i], &mark);
	}
	err = slotlb_deployment_info(d->lb, tr[0]->dep_id, &info);
	if (!err)
		err = slotlb_deployment_publish(d->lb, tr[0]->dep_id, &info,
						ids, weights, n);
	if (err) {
		log_msg("Error: deployment %u: health: publishing its ring: %s",
			tr[0]->dep_id, strerror(-err));
		goto out;
	}
	for (i = 0; i < n; i++) {
		mark = (struct slotlb_backend_health){.down = !in[i],
						      .tcp = tcp};
		err = slotlb_backend_health_set(d->lb, ids[i], &mark);
		if (err)
			log_msg("Error: backend %u: health mark: %s", ids[i],
				strerror(-err));
	}
	err = state_begin(d->st);
	for (i = 0; !err && i < n; i++) {
		struct track *t = tr[i];
		struct st_backend_health row = {.deployment = t->deployment,
						.id = t->backend_id};
		bool kept = want_down[i] && in[i];

		if (t->down == want_down[i] && t->in_ring == kept &&
		    !t->unrecorded)
			continue;
		changed[i] = true;
		names_of(s, t, &app, &slot);
		if (t->down == want_down[i] && t->in_ring == kept)
			/* what the maps did while the store was away */
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u %s (%s): %s "
				 "(recorded late: the store could not be "
				 "written then)",
				 t->target.address, t->dep_id,
				 t->down ? "down" : "up",
				 t->down ? t->error : "passed its probes",
				 !t->down ? "in the ring"
				 : kept	  ? "kept in the ring (fail open)"
					  : "out of the ring");
		else if (!want_down[i])
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u up after %u "
				 "passed probes: back in the ring",
				 t->target.address, t->dep_id, t->oks);
		else if (kept)
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u down (%s): kept "
				 "in the ring, the last of its deployment "
				 "(fail open)",
				 t->target.address, t->dep_id, t->error);
		else if (t->down)
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u down (%s): left "
				 "the ring, another backend is up again",
				 t->target.address, t->dep_id, t->error);
		else
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u down after %u "
				 "failed probes (%s): left the ring",
				 t->target.address, t->dep_id, t->fails,
				 t->error);
		log_msg("health %s/%s: %s", app, slot, detail);
		history_add(d, app, slot, want_down[i] ? "down" : "up", detail,
			    t);
		if (t->down != want_down[i])
			t->since_ms = now;
		t->down = want_down[i];
		t->in_ring = kept;
		row.down = t->down;
		row.in_ring = t->in_ring;
		row.since_ms = t->since_ms;
		snprintf(row.error, sizeof(row.error), "%s",
			 t->down ? t->error : "");
		err = state_backend_health_put(d->st, &row);
	}
	if (!err)
		err = state_commit(d->st);
	/* the maps changed either way: a transition not committed (an
	 * unreachable store) is recorded at a later probe */
	for (i = 0; i < n; i++)
		if (changed[i])
			tr[i]->unrecorded = err != 0;
	if (err) {
		state_rollback(d->st);
		log_msg("Error: health: database: %s", strerror(-err));
	}
out:
	free(ids);
	free(weights);
	free(in);
	free(changed);
	return err;
}

/*
 * Under d->lock and h->lock: every backend of dep back in its rings and
 * up, because nothing probes it any more (its slot's policy was removed,
 * or it moved to a slot without one): a backend must not stay out of
 * its ring on a verdict nobody renews. Its tracks go.
 */
static void release_deployment(struct daemon *d, const struct st_snapshot *s,
			       const struct st_deployment *dep)
{
	struct slotlb_backend_health up = {0};
	struct slotlb_deployment_info info;
	uint32_t *ids, *weights;
	char detail[512];
	const char *app, *slot;
	struct track *t;
	size_t k, i;
	int err;

	ids = calloc(dep->backend_count + 1, sizeof(*ids));
	weights = calloc(dep->backend_count + 1, sizeof(*weights));
	if (!ids || !weights)
		goto out;
	for (k = 0; k < dep->backend_count; k++) {
		ids[k] = s->backends[dep->backend_first + k].id;
		weights[k] = st_backend_ring_weight(
			&s->backends[dep->backend_first + k]);
		slotlb_backend_health_set(d->lb, ids[k], &up);
	}
	err = slotlb_deployment_info(d->lb, dep->id, &info);
	if (!err)
		err = slotlb_deployment_publish(d->lb, dep->id, &info, ids,
						weights, dep->backend_count);
	if (err) {
		log_msg("Error: deployment %u: health: publishing its ring: %s",
			dep->id, strerror(-err));
		goto out;
	}
	err = state_begin(d->st);
	for (i = 0; i < d->health->n;) {
		t = &d->health->tracks[i];
		if (t->deployment != dep->serial) {
			i++;
			continue;
		}
		if (!err && t->down) {
			struct st_backend_health row = {.deployment =
								t->deployment,
							.id = t->backend_id,
							.since_ms = wall_ms()};

			names_of(s, t, &app, &slot);
			snprintf(detail, sizeof(detail),
				 "backend %s of deployment %u back in the "
				 "ring: no health policy probes it any more",
				 t->target.address, t->dep_id);
			log_msg("health %s/%s: %s", app, slot, detail);
			history_add(d, app, slot, "up", detail, t);
			err = state_backend_health_put(d->st, &row);
		}
		*t = d->health->tracks[--d->health->n];
	}
	if (!err)
		err = state_commit(d->st);
	if (err) {
		state_rollback(d->st);
		log_msg("Error: health: database: %s", strerror(-err));
	}
out:
	free(ids);
	free(weights);
}

/* --- one round --- */

/* Under h->qlock. */
static struct due *due_of(struct health *h, uint32_t app_id, uint32_t slot)
{
	struct due *grown;
	size_t i;

	for (i = 0; i < h->n_dues; i++)
		if (h->dues[i].app_id == app_id && h->dues[i].slot == slot)
			return &h->dues[i];
	grown = realloc(h->dues, (h->n_dues + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	h->dues = grown;
	h->dues[h->n_dues] =
		(struct due){.app_id = app_id, .slot = slot, .next_ms = 0};
	return &h->dues[h->n_dues++];
}

/* Under h->lock: a track for every backend of dep, probed by policy
 * (app_id, slot). */
static void track_deployment(struct health *h, const struct st_snapshot *s,
			     const struct st_deployment *dep, uint32_t app_id,
			     uint32_t slot)
{
	const struct st_backend *b;
	struct track *t;
	size_t i;

	for (i = 0; i < dep->backend_count; i++) {
		b = &s->backends[dep->backend_first + i];
		t = track_find(h, dep->serial, b->id);
		if (!t) {
			t = track_add(h);
			if (!t)
				return;
			t->deployment = dep->serial;
			t->backend_id = b->id;
		}
		t->dep_id = dep->id;
		t->weight = st_backend_ring_weight(b);
		t->family = b->be.family;
		t->app_id = app_id;
		t->slot = slot;
		t->live = true;
		if (slotlb_format_backend(&b->be, t->target.address,
					  sizeof(t->target.address)))
			snprintf(t->target.address, sizeof(t->target.address),
				 "?");
	}
}

/* Probe the tracks of one policy (outside every lock) and apply what
 * changed. */
static void probe_policy(struct daemon *d, const struct st_slot_health *pol,
			 struct cancel *cancel)
{
	struct health *h = d->health;
	struct warmup_target *targets = NULL;
	struct warmup_result *results = NULL;
	struct warmup_policy probe = pol->p.probe;
	struct st_snapshot s = {0};
	int64_t *serials = NULL;
	uint32_t *ids = NULL;
	size_t n = 0, i, j, k;
	struct track **tr = NULL;
	bool *want = NULL;
	int64_t t0;
	int err;

	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n; i++)
		if (h->tracks[i].live && h->tracks[i].app_id == pol->app_id &&
		    h->tracks[i].slot == pol->slot)
			n++;
	targets = calloc(n + 1, sizeof(*targets));
	results = calloc(n + 1, sizeof(*results));
	serials = calloc(n + 1, sizeof(*serials));
	ids = calloc(n + 1, sizeof(*ids));
	tr = calloc(n + 1, sizeof(*tr));
	want = calloc(n + 1, sizeof(*want));
	if (!targets || !results || !serials || !ids || !tr || !want) {
		pthread_mutex_unlock(&h->lock);
		goto out;
	}
	for (i = 0, j = 0; i < h->n && j < n; i++) {
		struct track *t = &h->tracks[i];

		if (!t->live || t->app_id != pol->app_id ||
		    t->slot != pol->slot)
			continue;
		targets[j] = t->target;
		serials[j] = t->deployment;
		ids[j++] = t->backend_id;
	}
	pthread_mutex_unlock(&h->lock);
	if (!n)
		goto out;

	probe.retries = 0;
	probe.deadline_ms = 0;
	t0 = mono_ms();
	err = warmup_run(&probe, targets, n, results, NULL, NULL, cancel);
	if (err < 0)
		goto out;
	log_debug("health: app %u slot %u: %zu probes in %lld ms, %s",
		  pol->app_id, pol->slot, n, (long long)(mono_ms() - t0),
		  err ? "some failed" : "all passed");

	pthread_mutex_lock(&d->lock);
	pthread_mutex_lock(&h->lock);
	if (state_snapshot(d->st, pol->app_id, &s))
		goto unlock;
	for (i = 0; i < n; i++) {
		struct track *t = track_find(h, serials[i], ids[i]);

		/* gone, or another policy's since this round started (its
		 * deployment moved): that policy judges it */
		if (!t || !t->live || t->app_id != pol->app_id ||
		    t->slot != pol->slot) {
			serials[i] = -1;
			continue;
		}
		t->probed = true;
		if (results[i].ok) {
			t->oks++;
			t->fails = 0;
		} else {
			t->fails++;
			t->oks = 0;
			snprintf(t->error, sizeof(t->error), "%s",
				 results[i].error[0] ? results[i].error
						     : "probe failed");
		}
	}
	/* Per deployment: what its backends should be now. */
	for (i = 0; i < n; i++) {
		const struct st_deployment *dep =
			st_snapshot_deployment(&s, serials[i]);
		size_t m = 0;

		if (!dep || dep->state == DEPLOYMENT_RETIRED)
			continue;
		for (j = 0; j < i && serials[j] != serials[i]; j++)
			;
		if (j < i)
			continue; /* done with its first backend */
		for (k = 0; k < dep->backend_count; k++) {
			struct track *t = track_find(
				h, dep->serial,
				s.backends[dep->backend_first + k].id);

			if (!t)
				break;
			tr[m] = t;
			want[m] = t->down;
			if (!t->down && t->fails >= pol->p.unhealthy_after)
				want[m] = true;
			else if (t->down && t->oks >= pol->p.healthy_after)
				want[m] = false;
			m++;
		}
		/* also when nothing went up or down: a kept (fail open)
		 * backend leaves once another one is back */
		if (m && m == dep->backend_count)
			apply_deployment(d, &s, tr, want, m, pol->p.tcp);
	}
unlock:
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&d->lock);
out:
	state_snapshot_free(&s);
	free(targets);
	free(results);
	free(serials);
	free(ids);
	free(tr);
	free(want);
}

/* Which tracks are probed now, and which policies are due. */
static size_t plan_round(struct daemon *d, struct st_slot_health **due,
			 size_t *n_due)
{
	struct health *h = d->health;
	struct st_slot_health *pols = NULL;
	struct st_snapshot s = {0};
	const struct st_deployment *dep;
	int64_t now = mono_ms();
	size_t n = 0, i, j;
	struct due *du;

	*due = NULL;
	*n_due = 0;
	pthread_mutex_lock(&d->lock);
	if (state_slot_health_list(d->st, &pols, &n)) {
		pthread_mutex_unlock(&d->lock);
		goto out;
	}
	/* nothing to probe and nothing to release: no snapshot (this runs
	 * every tick, under the daemon's lock) */
	pthread_mutex_lock(&h->lock);
	if (!n && !h->n) {
		pthread_mutex_unlock(&h->lock);
		pthread_mutex_unlock(&d->lock);
		goto out;
	}
	pthread_mutex_unlock(&h->lock);
	if (state_snapshot(d->st, -1, &s)) {
		pthread_mutex_unlock(&d->lock);
		goto out;
	}
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < h->n; i++)
		h->tracks[i].live = false;
	for (i = 0; i < n; i++) {
		for (j = 0; j < s.n_slots; j++) {
			const struct st_slot *sl = &s.slots[j];

			if (sl->app_id != pols[i].app_id ||
			    sl->index != pols[i].slot)
				continue;
			dep = st_snapshot_deployment(&s, sl->deployment);
			if (dep)
				track_deployment(h, &s, dep, sl->app_id,
						 sl->index);
			/* the rollback target, while it is still warm */
			dep = st_snapshot_deployment(&s, sl->previous);
			if (dep && dep->state == DEPLOYMENT_DRAINING)
				track_deployment(h, &s, dep, sl->app_id,
						 sl->index);
		}
	}
	/* Tracks no policy probes any more: a down one's deployment comes
	 * back whole (release_deployment), the others are forgotten. */
	for (i = 0; i < h->n;) {
		struct track *t = &h->tracks[i];

		dep = st_snapshot_deployment(&s, t->deployment);
		if (t->live) {
			i++;
		} else if (t->down && dep && dep->state != DEPLOYMENT_RETIRED) {
			release_deployment(d, &s, dep);
			i = 0; /* it removed tracks: look again */
		} else {
			h->tracks[i] = h->tracks[--h->n];
		}
	}
	pthread_mutex_unlock(&h->lock);
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_lock(&h->qlock);
	for (i = 0, j = 0; i < n; i++) {
		du = due_of(h, pols[i].app_id, pols[i].slot);
		if (!du || du->busy || du->next_ms > now)
			continue;
		du->next_ms = now + pols[i].p.interval_ms;
		du->busy = true;
		pols[j++] = pols[i];
	}
	pthread_mutex_unlock(&h->qlock);
	*due = pols;
	*n_due = j;
	pols = NULL;
out:
	free(pols);
	state_snapshot_free(&s);
	return *n_due;
}

/* The due policies to the probers; one that cannot be queued (no
 * memory) is free to be handed out at the next tick. */
static void queue_due(struct health *h, const struct st_slot_health *due,
		      size_t n)
{
	struct job *j;
	struct due *du;
	size_t i;

	pthread_mutex_lock(&h->qlock);
	for (i = 0; i < n; i++) {
		j = calloc(1, sizeof(*j));
		if (!j) {
			du = due_of(h, due[i].app_id, due[i].slot);
			if (du)
				du->busy = false;
			continue;
		}
		j->pol = due[i];
		if (h->tail)
			h->tail->next = j;
		else
			h->head = j;
		h->tail = j;
	}
	pthread_cond_broadcast(&h->qcond);
	pthread_mutex_unlock(&h->qlock);
}

static void *health_main(void *arg)
{
	struct daemon *d = arg;
	struct st_slot_health *due;
	size_t n;

	while (!atomic_load(&d->stopping)) {
		plan_round(d, &due, &n);
		if (n)
			queue_due(d->health, due, n);
		free(due);
		mono_sleep_ms(HEALTH_TICK_MS);
	}
	return NULL;
}

static void *prober_main(void *arg)
{
	struct prober *p = arg;
	struct daemon *d = p->d;
	struct health *h = d->health;
	struct due *du;
	struct job *j;

	pthread_mutex_lock(&h->qlock);
	for (;;) {
		while (!h->quit && !h->head)
			pthread_cond_wait(&h->qcond, &h->qlock);
		if (h->quit)
			break;
		j = h->head;
		h->head = j->next;
		if (!h->head)
			h->tail = NULL;
		pthread_mutex_unlock(&h->qlock);
		if (!atomic_load(&d->stopping))
			probe_policy(d, &j->pol, &p->cancel);
		pthread_mutex_lock(&h->qlock);
		du = due_of(h, j->pol.app_id, j->pol.slot);
		if (du)
			du->busy = false;
		free(j);
	}
	pthread_mutex_unlock(&h->qlock);
	return NULL;
}

/* Under nothing, before the thread: the database's down backends of
 * live deployments out of their rings again (reconcile rebuilt them
 * with every backend). */
static void health_restore(struct daemon *d)
{
	struct health *h = d->health;
	struct st_backend_health *rows = NULL;
	struct st_snapshot s = {0};
	const struct st_deployment *dep;
	struct slotlb_backend_health mark;
	struct slotlb_deployment_info info;
	uint32_t *ids = NULL, *weights = NULL;
	struct health_policy pol;
	size_t n = 0, i, k;
	struct track *t;
	uint8_t tcp;
	bool any;

	pthread_mutex_lock(&d->lock);
	if (state_backend_health_list(d->st, 0, &rows, &n) ||
	    state_snapshot(d->st, -1, &s))
		goto out;
	pthread_mutex_lock(&h->lock);
	for (i = 0; i < n; i++) {
		if (!rows[i].down && !rows[i].since_ms)
			continue;
		dep = st_snapshot_deployment(&s, rows[i].deployment);
		if (!dep)
			continue;
		t = track_add(h);
		if (!t)
			break;
		t->deployment = rows[i].deployment;
		t->backend_id = rows[i].id;
		t->dep_id = dep->id;
		t->down = rows[i].down;
		t->in_ring = rows[i].in_ring;
		t->since_ms = rows[i].since_ms;
		snprintf(t->error, sizeof(t->error), "%s", rows[i].error);
	}
	for (i = 0; i < s.n_deployments; i++) {
		dep = &s.deployments[i];
		free(ids);
		free(weights);
		ids = calloc(dep->backend_count + 1, sizeof(*ids));
		weights = calloc(dep->backend_count + 1, sizeof(*weights));
		if (!ids || !weights)
			break;
		any = false;
		for (k = 0; k < dep->backend_count; k++) {
			const struct st_backend *b =
				&s.backends[dep->backend_first + k];

			t = track_find(h, dep->serial, b->id);
			ids[k] = b->id;
			weights[k] = st_backend_ring_weight(b);
			if (t && t->down && !t->in_ring) {
				weights[k] = 0;
				any = true;
			}
		}
		tcp = SLOTLB_HEALTH_TCP_LEAVE;
		for (k = 0; any && k < s.n_slots; k++)
			if ((s.slots[k].deployment == dep->serial ||
			     s.slots[k].previous == dep->serial) &&
			    !state_slot_health_get(d->st, s.slots[k].app_id,
						   s.slots[k].index, &pol))
				tcp = pol.tcp;
		if (!any || slotlb_deployment_info(d->lb, dep->id, &info) ||
		    slotlb_deployment_publish(d->lb, dep->id, &info, ids,
					      weights, dep->backend_count))
			continue;
		for (k = 0; k < dep->backend_count; k++) {
			if (weights[k])
				continue;
			mark = (struct slotlb_backend_health){.down = 1,
							      .tcp = tcp};
			slotlb_backend_health_set(d->lb, ids[k], &mark);
		}
		log_msg("health: deployment %u: its down backends are out of "
			"its ring again",
			dep->id);
	}
	pthread_mutex_unlock(&h->lock);
out:
	pthread_mutex_unlock(&d->lock);
	free(ids);
	free(weights);
	free(rows);
	state_snapshot_free(&s);
}

int health_start(struct daemon *d)
{
	struct health *h;
	size_t i;
	int err;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_init(&h->qlock, NULL);
	pthread_cond_init(&h->qcond, NULL);
	for (i = 0; i < HEALTH_PROBERS; i++) {
		h->probers[i].d = d;
		cancel_init(&h->probers[i].cancel);
	}
	d->health = h;
	health_restore(d);
	for (i = 0; i < HEALTH_PROBERS; i++) {
		err = pthread_create(&h->probers[i].thread, NULL, prober_main,
				     &h->probers[i]);
		if (err)
			return -err;
		h->probers[i].started = true;
	}
	err = pthread_create(&h->thread, NULL, health_main, d);
	if (err)
		return -err;
	h->started = true;
	return 0;
}

void health_stop(struct daemon *d)
{
	struct health *h = d->health;
	struct job *j;
	size_t i;

	if (!h)
		return;
	for (i = 0; i < HEALTH_PROBERS; i++)
		cancel_request(&h->probers[i].cancel, "slotlbd stopping");
	if (h->started)
		pthread_join(h->thread, NULL);
	pthread_mutex_lock(&h->qlock);
	h->quit = true;
	pthread_cond_broadcast(&h->qcond);
	pthread_mutex_unlock(&h->qlock);
	for (i = 0; i < HEALTH_PROBERS; i++)
		if (h->probers[i].started)
			pthread_join(h->probers[i].thread, NULL);
	d->health = NULL;
	for (i = 0; i < HEALTH_PROBERS; i++)
		cancel_destroy(&h->probers[i].cancel);
	while ((j = h->head)) {
		h->head = j->next;
		free(j);
	}
	pthread_cond_destroy(&h->qcond);
	pthread_mutex_destroy(&h->qlock);
	pthread_mutex_destroy(&h->lock);
	free(h->tracks);
	free(h->dues);
	free(h);
}
