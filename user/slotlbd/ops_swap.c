/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Swap and rollback, prepared: validate under the lock, take the app's
 * busy flag, and gather what execute (ops_swap_exec.c) will run outside
 * the lock: the incoming deployment's backends for warm-up, the target
 * slot's warm-up policy (sticky to the target; a request may override
 * fields), and the apply-settings hooks around it, as Azure's swap does
 * (source = the slot whose deployment goes live, target = production):
 *
 *   1. the target's settings onto the incoming deployment (target's hook)
 *   2. warm-up; on any failure or cancel, the incoming deployment gets
 *      its own settings back (source's hook) and nothing else changed
 *   3. one transaction, one routing element update
 *   4. the old target deployment, now in the source slot, gets the
 *      source's settings (source's hook)
 *
 * A multi-phase swap splits this: preview = 1, 2 and a transaction that
 * stores the pending state (and its audience); complete (--action swap)
 * = a second warm-up, 3 and 4; reset = the incoming deployment's own
 * settings back, then a transaction that drops the pending state.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

void plan_release(struct daemon *d, struct swap_plan *plan)
{
	if (plan->jobs) {
		op_busy_release(d, plan->app_id);
		apply_job_free(&plan->jobs->apply);
		apply_job_free(&plan->jobs->undo);
		apply_job_free(&plan->jobs->after);
		cancel_destroy(&plan->jobs->cancel);
		free(plan->jobs);
		plan->jobs = NULL;
	}
	free(plan->targets);
	plan->targets = NULL;
}

/* A slot of the app by index, from a snapshot. */
static int slot_by_index(struct daemon *d, uint32_t app_id, uint32_t index,
			 struct st_slot *out)
{
	struct st_snapshot s;
	size_t i;
	int err;

	err = state_snapshot(d->st, app_id, &s);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < s.n_slots; i++)
		if (s.slots[i].index == index) {
			*out = s.slots[i];
			err = 0;
		}
	state_snapshot_free(&s);
	return err;
}

/* Under lock: backends of the incoming deployment, the target's policy
 * with the request's fields over it, the hooks, the busy flag. */
static int plan_finish(struct daemon *d, struct swap_plan *plan,
		       const struct warmup_override *o, struct op_result *res)
{
	struct st_backend *bes = NULL;
	struct st_deployment dep;
	struct st_slot_config c;
	struct swap_jobs *j = NULL;
	const char *why = NULL, *busy;
	size_t i, n = 0;
	int err;

	err = state_deployment_get(d->st, plan->incoming, &dep, &bes, &n);
	if (!err)
		err = state_slot_config_get(d->st, plan->app_id,
					    plan->target.index, &c);
	if (err) {
		op_fail(res, 500, "%s: database: %s", plan->app,
			strerror(-err));
		goto out;
	}
	plan->policy = c.warmup;
	if (o)
		warmup_policy_apply(&plan->policy, o);
	if (validate_warmup_policy(&plan->policy, &why)) {
		op_fail(res, 400, "warmup: %s", why);
		err = -EINVAL;
		goto out;
	}
	plan->incoming_id = dep.id;
	plan->targets = calloc(n ? n : 1, sizeof(*plan->targets));
	plan->jobs = j = calloc(1, sizeof(*plan->jobs));
	if (!plan->targets || !j) {
		err = -ENOMEM;
		op_fail(res, 500, "%s: out of memory", plan->app);
		goto out;
	}
	for (i = 0; i < n; i++)
		slotlb_format_backend(&bes[i].be, plan->targets[i].address,
				      sizeof(plan->targets[i].address));
	plan->n_targets = n;
	cancel_init(&j->cancel);
	j->apply.none = j->undo.none = j->after.none = true;
	/* who gets which slot's settings, see the top of this file */
	switch (plan->mode) {
	case SWAP_ACTION_RESET:
		j->apply_reason = "reset";
		err = apply_job_prepare(d, plan->app, plan->app_id,
					&plan->source, plan->incoming, NULL,
					&j->apply);
		j->undo_reason = "revert";
		if (!err)
			err = apply_job_prepare(d, plan->app, plan->app_id,
						&plan->target, plan->incoming,
						NULL, &j->undo);
		break;
	case SWAP_ACTION_SWAP:
		break; /* settings were applied by the preview */
	default:
		j->apply_reason = plan->mode == SWAP_ACTION_PREVIEW
					  ? "preview"
					  : plan->action;
		err = apply_job_prepare(d, plan->app, plan->app_id,
					&plan->target, plan->incoming, NULL,
					&j->apply);
		j->undo_reason = "revert";
		if (!err && plan->kind == SWAP_SLOTS)
			err = apply_job_prepare(d, plan->app, plan->app_id,
						&plan->source, plan->incoming,
						NULL, &j->undo);
		break;
	}
	/* the deployment leaving the target goes to the source slot */
	j->after_reason = plan->action;
	if (!err && plan->kind == SWAP_SLOTS && plan->target.deployment &&
	    (plan->mode == SWAP_ACTION_FULL || plan->mode == SWAP_ACTION_SWAP))
		err = apply_job_prepare(d, plan->app, plan->app_id,
					&plan->source, plan->target.deployment,
					NULL, &j->after);
	if (err) {
		op_fail(res, 500, "%s: settings: %s", plan->app,
			strerror(-err));
		goto out;
	}
	busy = plan->mode == SWAP_ACTION_PREVIEW   ? "preview in progress"
	       : plan->mode == SWAP_ACTION_RESET   ? "reset in progress"
	       : !strcmp(plan->action, "rollback") ? "rollback in progress"
						   : "swap in progress";
	op_busy_take(d, plan->app_id, busy, &j->cancel);
out:
	if (err && j) {
		apply_job_free(&j->apply);
		apply_job_free(&j->undo);
		apply_job_free(&j->after);
		cancel_destroy(&j->cancel);
		free(plan->jobs);
		plan->jobs = NULL;
	}
	if (err) {
		free(plan->targets);
		plan->targets = NULL;
	}
	free(bes);
	return err;
}

/* Complete or reset: the app must have a pending swap, and the slots
 * named (if any) must be its. */
static int pending_plan(struct daemon *d, const struct swap_request *rq,
			const struct st_app *a, struct swap_plan *plan,
			struct op_result *res)
{
	struct st_pending p;
	int err;

	if (d->busy[a->id]) {
		op_fail(res, 409, "%s: busy: %s", rq->app, d->busy[a->id]);
		return -EBUSY;
	}
	err = ops_pending_of(d, a->id, &p);
	if (err == -ENOENT) {
		op_fail(res, 409,
			"%s: no swap pending (start one with --action preview)",
			rq->app);
		return err;
	}
	if (!err)
		err = slot_by_index(d, a->id, p.source, &plan->source);
	if (!err)
		err = slot_by_index(d, a->id, p.target, &plan->target);
	if (err) {
		op_fail(res, 500, "%s: database: %s", rq->app, strerror(-err));
		return err;
	}
	if ((rq->slot && strcmp(rq->slot, plan->source.name)) ||
	    (rq->target_slot && strcmp(rq->target_slot, plan->target.name))) {
		op_fail(res, 409, "%s: the pending swap is %s -> %s", rq->app,
			plan->source.name, plan->target.name);
		return -EINVAL;
	}
	if (plan->source.deployment != p.source_deployment ||
	    plan->target.deployment != p.target_deployment) {
		op_fail(res, 409, "%s: slots changed since the preview",
			rq->app);
		return -ESTALE;
	}
	plan->pending = p;
	return 0;
}

/* Under d->lock: has slot (index) of app a TCP endpoint? */
static bool has_tcp_endpoint(struct daemon *d, uint32_t app_id, uint32_t slot)
{
	struct st_snapshot s = {0};
	bool yes = false;
	size_t i;

	if (state_snapshot(d->st, app_id, &s))
		return true; /* cannot tell: the check itself will say */
	for (i = 0; i < s.n_endpoints && !yes; i++)
		yes = s.endpoints[i].slot == slot &&
		      s.endpoints[i].key.proto == IPPROTO_TCP;
	state_snapshot_free(&s);
	return yes;
}

int ops_swap_prepare(struct daemon *d, const struct swap_request *rq,
		     struct swap_plan *plan, struct op_result *res)
{
	const char *target = rq->target_slot ? rq->target_slot : "production";
	bool pending = rq->action == SWAP_ACTION_SWAP ||
		       rq->action == SWAP_ACTION_RESET;
	struct st_app a;
	int err;

	memset(plan, 0, sizeof(*plan));
	if (!pending && !rq->slot) {
		op_fail(res, 400, "swap: slot is required");
		return -EINVAL;
	}
	if (!pending && strcmp(rq->slot, target) == 0) {
		op_fail(res, 400, "%s/%s: cannot swap a slot with itself",
			rq->app, rq->slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	if (pending) {
		err = ops_lookup(d, rq->app, NULL, &a, NULL, false, res);
		if (!err)
			err = pending_plan(d, rq, &a, plan, res);
	} else {
		err = ops_lookup(d, rq->app, rq->slot, &a, &plan->source, true,
				 res);
		if (!err)
			err = ops_lookup(d, rq->app, target, &a, &plan->target,
					 true, res);
	}
	if (err)
		goto out;
	if (rq->only_if_source &&
	    plan->source.deployment != rq->only_if_source) {
		op_fail(res, 409, "%s/%s: a newer deployment took the slot",
			rq->app, plan->source.name);
		err = -ESTALE;
		goto out;
	}
	if (rq->only_if_source) {
		struct st_slot_config c;

		/* an auto swap turned off (or sent elsewhere) during its
		 * delay is not made */
		err = state_slot_config_get(d->st, a.id, plan->source.index,
					    &c);
		if (err) {
			op_fail(res, 500, "%s/%s: configuration: %s", rq->app,
				plan->source.name, strerror(-err));
			goto out;
		}
		if (!c.has_auto_swap ||
		    c.auto_swap_target != plan->target.index) {
			op_fail(res, 409,
				"%s/%s: its auto swap into %s was turned off or changed",
				rq->app, plan->source.name, plan->target.name);
			err = -ESTALE;
			goto out;
		}
	}
	if (!plan->source.deployment) {
		op_fail(res, 409, "%s/%s: slot has no deployment to swap",
			rq->app, plan->source.name);
		err = -ENOENT;
		goto out;
	}
	plan->kind = SWAP_SLOTS;
	plan->mode = rq->action;
	plan->action = rq->action == SWAP_ACTION_PREVIEW ? "preview"
		       : rq->action == SWAP_ACTION_RESET ? "reset"
		       : rq->history_action		 ? rq->history_action
							 : "swap";
	plan->app_id = a.id;
	snprintf(plan->app, sizeof(plan->app), "%s", rq->app);
	plan->incoming = plan->source.deployment;
	snprintf(plan->trigger, sizeof(plan->trigger), "%s", rq->trigger);
	if (rq->verify && rq->verify->for_ms) {
		if (rq->action != SWAP_ACTION_FULL &&
		    rq->action != SWAP_ACTION_SWAP) {
			op_fail(res, 400,
				"swap: verify goes with a swap or its "
				"completion, not with a %s",
				plan->action);
			err = -EINVAL;
			goto out;
		}
		plan->verify = *rq->verify;
	}
	if (rq->action == SWAP_ACTION_PREVIEW) {
		struct st_pending *p = &plan->pending;
		size_t i;

		p->app_id = a.id;
		p->source = plan->source.index;
		p->target = plan->target.index;
		p->source_deployment = plan->source.deployment;
		p->target_deployment = plan->target.deployment;
		p->timeout_s = rq->timeout_s;
		p->on_timeout_swap = rq->on_timeout_swap;
		snprintf(p->trigger, sizeof(p->trigger), "%s", rq->trigger);
		p->n_audience = rq->n_audience < SLOTLB_MAX_AUDIENCE
					? rq->n_audience
					: SLOTLB_MAX_AUDIENCE;
		for (i = 0; i < p->n_audience; i++) {
			p->audience[i] = rq->audience[i];
			p->audience[i].from_slot = (uint8_t)p->target;
			p->audience[i].to_slot = (uint8_t)p->source;
		}
		/* refused before a hook or warm-up runs: nothing changes */
		err = preview_audience_check(d, plan, res);
		if (err)
			goto out;
	}
	if (!plan->verify.for_ms && (rq->action == SWAP_ACTION_FULL ||
				     rq->action == SWAP_ACTION_SWAP)) {
		/* none asked: the target slot's stored one, whole */
		struct st_slot_config c;

		err = state_slot_verify_get(d->st, a.id, plan->target.index,
					    &c);
		if (err) {
			op_fail(res, 500, "%s: database: %s", rq->app,
				strerror(-err));
			goto out;
		}
		if (c.has_verify)
			plan->verify = c.verify;
	}
	/* the HTTP check goes to the target's first TCP endpoint: without
	 * one it could only fail, and roll back a sound swap */
	if (plan->verify.for_ms && plan->verify.http_path[0] &&
	    !has_tcp_endpoint(d, a.id, plan->target.index)) {
		op_fail(res, 400,
			"%s/%s: verify-http: the slot has no TCP endpoint to "
			"send the request to",
			rq->app, plan->target.name);
		err = -EINVAL;
		goto out;
	}
	err = plan_finish(d, plan, rq->warmup, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_rollback_prepare(struct daemon *d, const char *app, const char *slot,
			 const struct warmup_override *warmup,
			 const char *trigger, int64_t only_if,
			 struct swap_plan *plan, struct op_result *res)
{
	struct st_snapshot s = {0};
	struct st_deployment prev;
	struct st_app a;
	size_t i;
	int err;

	memset(plan, 0, sizeof(*plan));
	if (!slot)
		slot = "production";
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &plan->target, true, res);
	if (err)
		goto out;
	if (only_if && plan->target.deployment != only_if) {
		op_fail(res, 409, "%s/%s: the slot's deployment changed", app,
			slot);
		err = -ESTALE;
		goto out;
	}
	if (!plan->target.previous) {
		op_fail(res, 409,
			"%s/%s: no previous deployment to roll back to", app,
			slot);
		err = -ENOENT;
		goto out;
	}
	err = state_deployment_get(d->st, plan->target.previous, &prev, NULL,
				   NULL);
	if (err) {
		op_fail(res, 500, "%s/%s: previous deployment: %s", app, slot,
			strerror(-err));
		goto out;
	}
	plan->app_id = a.id;
	plan->action = "rollback";
	plan->mode = SWAP_ACTION_FULL;
	snprintf(plan->app, sizeof(plan->app), "%s", app);
	plan->incoming = prev.serial;
	snprintf(plan->trigger, sizeof(plan->trigger), "%s", trigger);
	if (prev.state == DEPLOYMENT_RETIRED) {
		op_fail(res, 409,
			"%s/%s: previous deployment %u (%s) is retired: its flows drained and its ids were freed; deploy it again",
			app, slot, prev.id, prev.version);
		err = -ESTALE;
		goto out;
	}
	if (prev.state == DEPLOYMENT_DRAINING) {
		plan->kind = SWAP_RESTORE;
		err = plan_finish(d, plan, warmup, res);
		goto out;
	}
	/* active: it sits in another slot now, swap the two back */
	err = state_snapshot(d->st, a.id, &s);
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	for (i = 0; i < s.n_slots; i++)
		if (s.slots[i].deployment == prev.serial)
			plan->source = s.slots[i];
	if (!plan->source.name[0] || plan->source.index == plan->target.index) {
		op_fail(res, 409,
			"%s/%s: previous deployment %u is in no other slot",
			app, slot, prev.id);
		err = -ENOENT;
		goto out;
	}
	plan->kind = SWAP_SLOTS;
	err = plan_finish(d, plan, warmup, res);
out:
	state_snapshot_free(&s);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_swap_cancel(struct daemon *d, const char *app, const char *by,
		    struct op_result *res)
{
	struct timespec until;
	struct cancel *c;
	const char *what;
	struct st_app a;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (err)
		goto out;
	what = d->busy[a.id];
	if (!d->running[a.id]) {
		op_fail(res, 409, "%s: %s%s", app,
			what ? what : "nothing to cancel",
			what ? ": cannot be cancelled" : "");
		err = what ? -EBUSY : -ENOENT;
		goto out;
	}
	c = d->running[a.id];
	cancel_request(c, by);
	log_msg("cancel %s: %s, %s", app, what, by);
	/* wait until it has put back what it changed: the answer then
	 * means "stopped", not "asked to stop" */
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += 30;
	while (d->running[a.id] == c && !err)
		err = pthread_cond_timedwait(&d->idle, &d->lock, &until) ==
				      ETIMEDOUT
			      ? -ETIMEDOUT
			      : 0;
	if (err) {
		op_fail(res, 504,
			"%s: %s: asked to stop, still putting things back after 30 s",
			app, what);
		goto out;
	}
	res->status = 200;
	snprintf(res->error, sizeof(res->error), "%s", what);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

void ops_cancel_running(struct daemon *d, uint32_t app_id, const char *by)
{
	pthread_mutex_lock(&d->lock);
	/* running is cleared under the lock before its cancel is freed */
	if (app_id < SLOTLB_MAX_APPS && d->running[app_id]) {
		cancel_request(d->running[app_id], by);
		log_msg("cancel app %u: %s, %s", app_id, d->busy[app_id], by);
	}
	pthread_mutex_unlock(&d->lock);
}
