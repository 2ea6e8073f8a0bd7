/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The end of drains, each tick of the drain thread (drain.c), under the
 * daemon lock:
 *
 * - a deployment that started draining gets its deadline from the
 *   drain policy of the slot it left (the slot whose previous
 *   deployment it is), stored once (deployment_drain), so a policy
 *   changed later does not move a drain under way and a restart keeps
 *   it;
 * - past the deadline with the reset policy, every backend of the
 *   deployment gets a share of the reset rate in the data path
 *   (backend_drain: the client's next packet of each pinned TCP flow is
 *   answered with a RST), and the history says so once; a single
 *   backend drained with a timeout gets the slot's rate past its own;
 * - a drained backend whose last flow ended is recorded (and its
 *   "drained" event sent) once per drain; a deployment's is recorded
 *   when it retires (drain.c).
 *
 * The data-path rates are written only when they change from what this
 * thread last wrote (all of them at the first tick, which also puts
 * them back after a restart).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "daemon.h"
#include "events.h"

/* A tick's view of one backend's drain. */
struct backend_seen {
	int64_t since_ms; /* the drain (drained_since_ms), 0 = none */
	int64_t mono_ms; /* first tick that saw it */
	bool notified; /* its "drained" entry was written */
};

struct drain_control {
	uint32_t *rate; /* [SLOTLB_MAX_BACKENDS] written; UINT32_MAX: unknown */
	struct backend_seen *backend; /* [SLOTLB_MAX_BACKENDS] */
	int64_t *resetting; /* [SLOTLB_MAX_DEPLOYMENTS]: serial noted */
};

struct drain_control *drain_control_new(void)
{
	struct drain_control *c = calloc(1, sizeof(*c));
	size_t i;

	if (!c)
		return NULL;
	c->rate = malloc(SLOTLB_MAX_BACKENDS * sizeof(*c->rate));
	c->backend = calloc(SLOTLB_MAX_BACKENDS, sizeof(*c->backend));
	c->resetting = calloc(SLOTLB_MAX_DEPLOYMENTS, sizeof(*c->resetting));
	if (!c->rate || !c->backend || !c->resetting) {
		drain_control_free(c);
		return NULL;
	}
	for (i = 0; i < SLOTLB_MAX_BACKENDS; i++)
		c->rate[i] = UINT32_MAX;
	return c;
}

void drain_control_free(struct drain_control *c)
{
	if (!c)
		return;
	free(c->rate);
	free(c->backend);
	free(c->resetting);
	free(c);
}

const char *snapshot_app_name(const struct st_snapshot *s, int64_t app_id)
{
	size_t i;

	for (i = 0; app_id >= 0 && i < s->n_apps; i++)
		if (s->apps[i].id == (uint32_t)app_id)
			return s->apps[i].name;
	return NULL;
}

/* The slot dep is in (active) or left last (draining), or NULL. */
static const struct st_slot *slot_of(const struct st_snapshot *s,
				     const struct st_deployment *dep)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].deployment == dep->serial ||
		    s->slots[i].previous == dep->serial)
			return &s->slots[i];
	return NULL;
}

void drain_note(struct daemon *d, const char *app, const char *slot,
		const char *action, const char *detail)
{
	struct st_history h = {0};
	int64_t id = 0;

	snprintf(h.app, sizeof(h.app), "%s", app);
	snprintf(h.action, sizeof(h.action), "%s", action);
	snprintf(h.slot, sizeof(h.slot), "%s", slot ? slot : "");
	snprintf(h.trigger, sizeof(h.trigger), "slotlbd");
	snprintf(h.outcome, sizeof(h.outcome), "ok");
	h.detail = (char *)detail;
	if (state_history_add(d->st, &h, &id))
		log_msg("Error: %s: history: %s", app, state_errmsg(d->st));
	else
		events_emit(d, id);
}

/* The deadline of a draining deployment, fixed the first time. */
static int deadline_of(struct daemon *d, const struct st_snapshot *s,
		       const struct st_deployment *dep,
		       struct st_deployment_drain *dd)
{
	const struct st_slot *sl;
	struct st_drain_policy p = {0};
	int err;

	err = state_deployment_drain_get(d->st, dep->serial, dd);
	if (!err && dd->since_ms == dep->draining_since_ms)
		return 0;
	if (err && err != -ENOENT)
		return err;
	/* Not fixed by the operation that made it drain (its app or slot
	 * was deleted): the policy of a slot that still names it, else
	 * none. */
	sl = slot_of(s, dep);
	err = sl ? state_slot_drain_get(d->st, sl->app_id, sl->index, &p) : 0;
	if (err)
		return err;
	state_drain_deadline_of(&p, dep->draining_since_ms, dd);
	return state_deployment_drain_put(d->st, dep->serial, dd);
}

static void rate_set(struct daemon *d, struct drain_control *c, uint32_t id,
		     uint32_t rate)
{
	int err;

	if (id >= SLOTLB_MAX_BACKENDS || c->rate[id] == rate)
		return;
	err = slotlb_backend_drain_set(d->lb, id, rate);
	if (err)
		log_msg("Error: backend %u: drain state: %s", id,
			strerror(-err));
	else
		c->rate[id] = rate;
}

/* A drained backend of a deployment in a slot: its flows' end. */
static void backend_tick(struct daemon *d, struct drain_control *c,
			 const struct st_snapshot *s,
			 const struct st_deployment *dep,
			 const struct st_backend *b, int64_t now_ms,
			 int64_t started, uint32_t *rate)
{
	struct backend_seen *seen = &c->backend[b->id];
	const struct st_slot *sl = slot_of(s, dep);
	struct st_drain_policy p = {0};
	char addr[64], detail[160];
	const char *app;

	if (!b->drained) {
		seen->since_ms = 0;
		return;
	}
	if (seen->since_ms != b->drained_since_ms) {
		seen->since_ms = b->drained_since_ms;
		seen->mono_ms = mono_ms();
		seen->notified = false;
		return;
	}
	if (b->drain_timeout_ms &&
	    now_ms >= b->drained_since_ms + b->drain_timeout_ms && sl &&
	    !state_slot_drain_get(d->st, sl->app_id, sl->index, &p) &&
	    p.reset_rate > *rate)
		*rate = p.reset_rate;
	if (seen->notified || seen->mono_ms + DRAIN_MARGIN_MS > started ||
	    flows_of_backend(d, b->id))
		return;
	seen->notified = true;
	app = snapshot_app_name(s, dep->app_id);
	if (!app)
		return;
	slotlb_format_backend(&b->be, addr, sizeof(addr));
	snprintf(detail, sizeof(detail),
		 "backend %s of deployment %u (%s): no flows left", addr,
		 dep->id, dep->version);
	drain_note(d, app, sl ? sl->name : NULL, "drained", detail);
	log_msg("%s: %s", app, detail);
}

void drain_control_tick(struct daemon *d, struct drain_control *c,
			const struct st_snapshot *s, int64_t started)
{
	struct st_deployment_drain dd;
	int64_t now_ms = wall_ms();
	uint32_t share, rate;
	char detail[200];
	const char *app;
	size_t i, j;
	bool due;
	int err;

	for (i = 0; i < s->n_deployments; i++) {
		const struct st_deployment *dep = &s->deployments[i];

		due = false;
		share = 0;
		if (dep->state == DEPLOYMENT_DRAINING) {
			err = state_begin(d->st);
			if (!err)
				err = deadline_of(d, s, dep, &dd);
			if (!err)
				err = state_commit(d->st);
			if (err) {
				state_rollback(d->st);
				log_msg("Error: deployment %u: drain deadline: %s",
					dep->id, strerror(-err));
				continue;
			}
			due = dd.reset_rate && dd.deadline_ms &&
			      now_ms >= dd.deadline_ms;
			/* the deployment's rate, shared by its backends */
			if (due && dep->backend_count)
				share = (dd.reset_rate +
					 (uint32_t)dep->backend_count - 1) /
					(uint32_t)dep->backend_count;
		}
		if (due && c->resetting[dep->id] != dep->serial) {
			c->resetting[dep->id] = dep->serial;
			app = snapshot_app_name(s, dep->app_id);
			snprintf(
				detail, sizeof(detail),
				"deployment %u (%s): drain timeout passed with %llu flows left: resetting them at %u/s",
				dep->id, dep->version,
				(unsigned long long)flows_of_deployment(
					d, dep->id),
				dd.reset_rate);
			if (app)
				drain_note(d, app, NULL, "drain-timeout",
					   detail);
			log_msg("%s", detail);
		}
		for (j = 0; j < dep->backend_count; j++) {
			const struct st_backend *b =
				&s->backends[dep->backend_first + j];

			rate = share;
			if (dep->state == DEPLOYMENT_ACTIVE)
				backend_tick(d, c, s, dep, b, now_ms, started,
					     &rate);
			rate_set(d, c, b->id, rate);
		}
	}
}
