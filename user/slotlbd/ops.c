/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The operations layer: every change of the desired state and the maps,
 * under the daemon lock, with its rules (busy apps, limits, ordering).
 * The API layer (api_*.c) parses a request and calls one ops_*()
 * function; the operations call the state (state_*.c) and libslotlb,
 * never the other way round. One file per object:
 *
 *   ops.c         what they share: results, lookups, the routing element
 *   ops_app.c     apps and slots (create, delete) and their endpoints
 *   ops_deploy.c  deploy into a slot
 *   ops_swap.c    swap and rollback (warm-up outside the lock)
 *   ops_iface.c   attach and detach interfaces
 *   ops_traffic.c traffic routing: shares and opt-ins
 *   ops_read.c    the reads: snapshots, history, interfaces
 *
 * Ordering rule, so a crash at any point leaves the maps reconcilable to
 * a database that is wholly before or wholly after the operation:
 * - objects that only become reachable through the routing element
 *   (backends, rings) are written to the maps first: until the commit
 *   nothing references them, and reconcile removes ids the database does
 *   not know;
 * - the routing element is replaced inside the transaction, just before
 *   the commit: a crash before the commit is undone by reconcile, a
 *   failed commit by writing the old element back;
 * - endpoints are added after the commit (reconcile adds them if we die
 *   first) and removed before it (reconcile puts them back).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "events.h"
#include "ops_int.h"
#include "validate.h"

void op_fail(struct op_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	/* a hook's stderr (or a character cut in two) is not always
	 * UTF-8, and jansson would drop the whole {"error": ...} */
	validate_text_clean(res->error, sizeof(res->error) - 1);
}

int routing_from_snapshot(const struct st_snapshot *s, uint32_t app_id,
			  struct slotlb_routing *r)
{
	const struct st_deployment *dep;
	size_t i, lo = 0, hi = s->n_apps, mid;

	memset(r, 0, sizeof(*r));
	/* apps are ordered by id, slots by app: binary searches, since
	 * reconcile does this for thousands of apps */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->apps[mid].id < app_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < s->n_apps && s->apps[lo].id == app_id) {
		r->generation = s->apps[lo].generation;
		r->mode = (__u8)s->apps[lo].mode;
	}
	lo = 0;
	hi = s->n_slots;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->slots[mid].app_id < app_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < s->n_slots && s->slots[i].app_id == app_id; i++) {
		if (s->slots[i].index >= SLOTLB_MAX_SLOTS)
			continue;
		dep = st_snapshot_deployment(s, s->slots[i].deployment);
		if (dep)
			r->deployment[s->slots[i].index] = dep->id;
		/* second chance for flows that lost their entry */
		dep = st_snapshot_deployment(s, s->slots[i].previous);
		if (dep && dep->state != DEPLOYMENT_RETIRED)
			r->previous[s->slots[i].index] = dep->id;
	}
	/* the audiences share audience[]: a pending preview's, then the
	 * opt-ins (merged with it for the same pair of slots; the same
	 * prefix led to two slots is -EEXIST), and the shares */
	routing_add_preview(st_snapshot_pending(s, app_id), r);
	return routing_add_traffic(s, app_id, r);
}

int routing_from_state(struct state *st, uint32_t app_id,
		       struct slotlb_routing *r)
{
	struct st_snapshot s;
	int err;

	err = state_snapshot(st, app_id, &s);
	if (err)
		return err;
	memset(r, 0, sizeof(*r));
	if (s.n_apps == 1)
		err = routing_from_snapshot(&s, app_id, r);
	else
		err = -ENOENT;
	state_snapshot_free(&s);
	return err;
}

/* Under d->lock: find the app, optionally a slot, and refuse if busy. */
int ops_lookup(struct daemon *d, const char *app, const char *slot,
	       struct st_app *a, struct st_slot *s, bool need_idle,
	       struct op_result *res)
{
	int err;

	err = state_app_find(d->st, app, a);
	if (err) {
		op_fail(res, err == -ENOENT ? 404 : 500, "%s: %s", app,
			err == -ENOENT ? "no such app" : strerror(-err));
		return err;
	}
	if (slot) {
		err = state_slot_find(d->st, a->id, slot, s);
		if (err) {
			op_fail(res, err == -ENOENT ? 404 : 500, "%s/%s: %s",
				app, slot,
				err == -ENOENT ? "no such slot"
					       : strerror(-err));
			return err;
		}
	}
	if (need_idle && d->busy[a->id]) {
		op_fail(res, 409, "%s: busy: %s", app, d->busy[a->id]);
		return -EBUSY;
	}
	if (need_idle && ops_pending_of(d, a->id, NULL) == 0) {
		op_fail(res, 409,
			"%s: busy: swap pending (complete it with --action swap or cancel it with --action reset)",
			app);
		return -EBUSY;
	}
	return 0;
}

int ops_pending_of(struct daemon *d, uint32_t app_id, struct st_pending *p)
{
	struct st_pending scratch;

	return state_pending_get(d->st, app_id, p ? p : &scratch);
}

void op_busy_take(struct daemon *d, uint32_t app_id, const char *what,
		  struct cancel *c)
{
	d->busy[app_id] = what;
	d->running[app_id] = c;
	atomic_fetch_add(&d->busy_count, 1);
}

void op_busy_release(struct daemon *d, uint32_t app_id)
{
	d->busy[app_id] = NULL;
	d->running[app_id] = NULL;
	atomic_fetch_sub(&d->busy_count, 1);
	pthread_cond_broadcast(&d->idle);
}

void op_history(struct daemon *d, const char *app, const char *action,
		const char *slot, const char *target_slot, const char *trigger,
		const char *outcome, const char *detail,
		const char *deployments, int64_t *id)
{
	struct st_history h = {0};
	int64_t hid = 0;

	snprintf(h.app, sizeof(h.app), "%s", app);
	snprintf(h.action, sizeof(h.action), "%s", action);
	snprintf(h.slot, sizeof(h.slot), "%s", slot ? slot : "");
	snprintf(h.target_slot, sizeof(h.target_slot), "%s",
		 target_slot ? target_slot : "");
	snprintf(h.trigger, sizeof(h.trigger), "%s", trigger);
	snprintf(h.outcome, sizeof(h.outcome), "%s", outcome);
	h.detail = (char *)detail;
	h.deployments = (char *)deployments;
	if (state_history_add(d->st, &h, &hid))
		log_msg("Error: %s: history: %s", app, state_errmsg(d->st));
	else
		events_emit(d, hid);
	if (id)
		*id = hid;
}

/* Write the new routing element of app_id (bumping its generation)
 * inside the open transaction; *old receives what the map held. */
int publish_routing(struct daemon *d, uint32_t app_id,
		    struct slotlb_routing *old, bool *had_old)
{
	struct slotlb_routing r;
	uint32_t gen;
	int err;

	err = slotlb_routing_get(d->lb, app_id, old);
	*had_old = err == 0;
	err = state_app_bump(d->st, app_id, &gen);
	if (err)
		return err;
	err = routing_from_state(d->st, app_id, &r);
	if (err)
		return err;
	return slotlb_routing_set(d->lb, app_id, &r);
}

void restore_routing(struct daemon *d, uint32_t app_id,
		     const struct slotlb_routing *old, bool had_old)
{
	int err = had_old ? slotlb_routing_set(d->lb, app_id, old)
			  : slotlb_routing_delete(d->lb, app_id);

	if (err && err != -ENOENT)
		log_msg("Error: app %u: restoring routing element: %s", app_id,
			strerror(-err));
}

int ops_config_commit(struct daemon *d, const char *app, const char *slot,
		      const char *what, const char *detail, const char *trigger,
		      int err, struct op_result *res)
{
	if (!err) {
		op_history(d, app, "config", slot, NULL, trigger, "ok", detail,
			   NULL, &res->history_id);
		err = state_commit(d->st);
	}
	if (err) {
		state_rollback(d->st);
		op_fail(res, 500, "%s/%s: %s: %s", app, slot, what,
			strerror(-err));
		return err;
	}
	res->status = 200;
	log_msg("config %s/%s: %s", app, slot, detail);
	return 0;
}

int ops_config_lookup(struct daemon *d, const char *app, const char *slot,
		      struct st_app *a, struct st_slot *s,
		      struct st_slot_config *c, struct op_result *res)
{
	int err = ops_lookup(d, app, slot, a, s, true, res);

	if (!err)
		err = state_slot_config_get(d->st, a->id, s->index, c);
	if (err && !res->status)
		op_fail(res, 500, "%s/%s: configuration: %s", app, slot,
			strerror(-err));
	return err;
}
