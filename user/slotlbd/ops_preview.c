/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pending state of a multi-phase swap (Azure's swap with preview),
 * beyond what ops_swap.c prepares and ops_swap_exec.c runs:
 *
 * - its part of the routing element: while a preview is pending, new
 *   flows from the audience's prefixes arriving on the target's
 *   endpoints go to the source slot's deployment, the candidate, which
 *   stays in the source slot until the swap completes. This is its own
 *   small function so that traffic routing's shares and opt-in
 *   audiences can sit beside it in the element;
 * - its timeout: at the deadline the preview is completed or reset, as
 *   asked, like a request with trigger "on-timeout". The deadline runs
 *   on the monotonic clock while the daemon runs; after a restart it is
 *   computed from the stored start (wall clock, whole seconds: the
 *   restored timer fires at most 1 s late, never early), since the
 *   monotonic clock is not stored.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "traffic_parse.h"
#include "ops_int.h"

void routing_add_preview(const struct st_pending *p, struct slotlb_routing *r)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_audience; i++) {
		if (r->audience_count >= SLOTLB_MAX_AUDIENCE)
			break;
		r->audience[r->audience_count] = p->audience[i];
		r->audience[r->audience_count].from_slot = (uint8_t)p->target;
		r->audience[r->audience_count].to_slot = (uint8_t)p->source;
		r->audience_count++;
	}
}

int preview_audience_check(struct daemon *d, const struct swap_plan *plan,
			   struct op_result *res)
{
	const struct st_pending *p = &plan->pending;
	const struct st_opt_in *oi;
	struct slotlb_routing r;
	struct st_snapshot s;
	char pfx[64];
	size_t n_oi = 0, i, k;
	int err;

	err = state_snapshot(d->st, plan->app_id, &s);
	if (err) {
		op_fail(res, 500, "%s: database: %s", plan->app,
			strerror(-err));
		return err;
	}
	/* the element the preview would publish, as commit_plan() builds
	 * it: its audience first, then the opt-ins */
	memset(&r, 0, sizeof(r));
	routing_add_preview(p, &r);
	err = routing_add_traffic(&s, plan->app_id, &r);
	oi = st_snapshot_opt_ins(&s, plan->app_id, &n_oi);
	if (err == -ENOSPC) {
		op_fail(res, 409,
			"%s: audience: the preview's %zu prefixes and the app's %zu opt-ins together exceed the %d prefixes the app's routing holds",
			plan->app, p->n_audience, n_oi, SLOTLB_MAX_AUDIENCE);
	} else if (err == -EEXIST) {
		/* which preview prefix an opt-in leads elsewhere */
		snprintf(pfx, sizeof(pfx), "?");
		for (i = 0; i < p->n_audience; i++)
			for (k = 0; k < n_oi; k++)
				if (oi[k].from_slot == p->target &&
				    oi[k].slot != p->source &&
				    !memcmp(oi[k].prefix.addr,
					    p->audience[i].addr,
					    sizeof(oi[k].prefix.addr)) &&
				    oi[k].prefix.len == p->audience[i].len &&
				    oi[k].prefix.family ==
					    p->audience[i].family)
					slotlb_format_prefix(&p->audience[i],
							     pfx, sizeof(pfx));
		op_fail(res, 409,
			"%s: audience: %s is an opt-in toward another slot: a prefix leads to one slot",
			plan->app, pfx);
	} else if (err) {
		op_fail(res, 500, "%s: audience: %s", plan->app,
			strerror(-err));
	}
	state_snapshot_free(&s);
	return err;
}

/* One pending preview's timer. */
struct preview_timer {
	struct daemon *d;
	uint32_t app_id;
	int64_t started; /* with source_deployment: which preview */
	int64_t source_deployment;
	int64_t deadline_ms; /* monotonic */
	bool swap; /* complete, else reset */
};

/* Under the lock: the app's name if the same preview is still pending. */
static bool still_pending(struct preview_timer *t, char *app, size_t len)
{
	struct st_snapshot s = {0};
	const struct st_pending *p;
	bool same = false;

	if (state_snapshot(t->d->st, t->app_id, &s))
		return false;
	p = st_snapshot_pending(&s, t->app_id);
	if (p && s.n_apps == 1 && p->started == t->started &&
	    p->source_deployment == t->source_deployment) {
		snprintf(app, len, "%s", s.apps[0].name);
		same = true;
	}
	state_snapshot_free(&s);
	return same;
}

static void *preview_timer(void *arg)
{
	struct preview_timer *t = arg;
	struct daemon *d = t->d;
	char app[STATE_NAME_LEN];
	struct swap_request rq = {0};
	struct swap_plan plan;
	struct op_result res;
	int64_t left;
	bool same;

	for (;;) {
		left = t->deadline_ms - mono_ms();
		if (atomic_load(&d->stopping))
			goto out;
		if (left > 0) {
			mono_sleep_ms(left < 500 ? (uint32_t)left : 500);
			continue;
		}
		pthread_mutex_lock(&d->lock);
		same = still_pending(t, app, sizeof(app));
		pthread_mutex_unlock(&d->lock);
		if (!same)
			goto out;
		rq.app = app;
		rq.action = t->swap ? SWAP_ACTION_SWAP : SWAP_ACTION_RESET;
		rq.trigger = "on-timeout";
		memset(&res, 0, sizeof(res));
		if (!ops_swap_prepare(d, &rq, &plan, &res)) {
			ops_swap_execute(d, &plan, NULL, NULL, &res);
			log_msg("preview of %s timed out: %s %s", app,
				t->swap ? "swap" : "reset",
				res.status == 200 ? "done" : res.error);
			/* a failed complete leaves it pending: try again in
			 * a while rather than never */
			if (res.status == 200)
				goto out;
			t->deadline_ms = mono_ms() + 10000;
			continue;
		}
		/* busy (someone is completing or resetting it): look again */
		t->deadline_ms = mono_ms() + 1000;
	}
out:
	free(t);
	return NULL;
}

static void timer_spawn(struct daemon *d, const struct st_pending *p,
			int64_t left_ms)
{
	struct preview_timer *t = calloc(1, sizeof(*t));
	pthread_t tid;

	if (!t) {
		log_msg("Error: preview timer: out of memory");
		return;
	}
	t->d = d;
	t->app_id = p->app_id;
	t->started = p->started;
	t->source_deployment = p->source_deployment;
	t->deadline_ms = mono_ms() + (left_ms > 0 ? left_ms : 0);
	t->swap = p->on_timeout_swap;
	if (pthread_create(&tid, NULL, preview_timer, t)) {
		log_msg("Error: preview timer: cannot start a thread");
		free(t);
		return;
	}
	pthread_detach(tid);
}

void preview_timer_start(struct daemon *d, const struct st_pending *p)
{
	timer_spawn(d, p, (int64_t)p->timeout_s * 1000);
}

void ops_preview_timers_start(struct daemon *d)
{
	struct st_pending *list = NULL;
	int64_t elapsed_ms, left;
	size_t n = 0, i;

	pthread_mutex_lock(&d->lock);
	if (state_pending_list(d->st, &list, &n))
		log_msg("Error: pending swaps: %s", state_errmsg(d->st));
	pthread_mutex_unlock(&d->lock);
	for (i = 0; i < n; i++) {
		if (!list[i].timeout_s)
			continue;
		/* the stored start is all that survives a restart, to the
		 * second: count from the end of that second, so the timer
		 * never fires early (it may fire up to 1 s late); a wall
		 * clock that went back cannot make it wait longer than the
		 * whole timeout */
		elapsed_ms = wall_ms() - (list[i].started + 1) * 1000;
		if (elapsed_ms < 0)
			elapsed_ms = 0;
		left = (int64_t)list[i].timeout_s * 1000 - elapsed_ms;
		log_msg("pending swap of app %u: %s in %lld s", list[i].app_id,
			list[i].on_timeout_swap ? "swap" : "reset",
			(long long)(left > 0 ? left / 1000 : 0));
		timer_spawn(d, &list[i], left);
	}
	free(list);
}
