/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Swap and rollback. prepare validates and takes the app's busy flag
 * under the lock; execute warms the incoming deployment up without the
 * lock (it may take minutes), then changes both slots, the history and
 * the routing element in one transaction: the map update is the last
 * step before the commit, so a crash before the commit leaves a database
 * wholly before the swap and reconcile writes the old element back.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

static void plan_release(struct daemon *d, struct swap_plan *plan)
{
	d->busy[plan->app_id] = NULL;
	atomic_fetch_sub(&d->busy_count, 1);
	free(plan->targets);
	plan->targets = NULL;
}

/* Under lock: warm-up targets of the incoming deployment, busy flag. */
static int plan_finish(struct daemon *d, struct swap_plan *plan,
		       struct op_result *res)
{
	struct st_backend *bes = NULL;
	struct st_deployment dep;
	size_t i, n = 0;
	int err;

	err = state_deployment_get(d->st, plan->incoming, &dep, &bes, &n);
	if (err) {
		op_fail(res, 500, "%s: deployment: %s", plan->app,
			strerror(-err));
		goto out;
	}
	plan->incoming_id = dep.id;
	plan->targets = calloc(n ? n : 1, sizeof(*plan->targets));
	if (!plan->targets) {
		err = -ENOMEM;
		op_fail(res, 500, "%s: out of memory", plan->app);
		goto out;
	}
	for (i = 0; i < n; i++)
		slotlb_format_backend(&bes[i].be, plan->targets[i].address,
				      sizeof(plan->targets[i].address));
	plan->n_targets = n;
	d->busy[plan->app_id] =
		plan->kind == SWAP_SLOTS && strcmp(plan->action, "swap") == 0
			? "swap in progress"
			: "rollback in progress";
	atomic_fetch_add(&d->busy_count, 1);
out:
	free(bes);
	return err;
}

int ops_swap_prepare(struct daemon *d, const char *app, const char *slot,
		     const char *target_slot,
		     const struct warmup_policy *policy, const char *trigger,
		     struct swap_plan *plan, struct op_result *res)
{
	struct st_app a;
	int err;

	memset(plan, 0, sizeof(*plan));
	if (!target_slot)
		target_slot = "production";
	if (strcmp(slot, target_slot) == 0) {
		op_fail(res, 400, "%s/%s: cannot swap a slot with itself", app,
			slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &plan->source, true, res);
	if (!err)
		err = ops_lookup(d, app, target_slot, &a, &plan->target, true,
				 res);
	if (err)
		goto out;
	if (!plan->source.deployment) {
		op_fail(res, 409, "%s/%s: slot has no deployment to swap", app,
			slot);
		err = -ENOENT;
		goto out;
	}
	plan->kind = SWAP_SLOTS;
	plan->action = "swap";
	plan->app_id = a.id;
	snprintf(plan->app, sizeof(plan->app), "%s", app);
	plan->incoming = plan->source.deployment;
	plan->policy = *policy;
	snprintf(plan->trigger, sizeof(plan->trigger), "%s", trigger);
	err = plan_finish(d, plan, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_rollback_prepare(struct daemon *d, const char *app, const char *slot,
			 const struct warmup_policy *policy,
			 const char *trigger, struct swap_plan *plan,
			 struct op_result *res)
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
	snprintf(plan->app, sizeof(plan->app), "%s", app);
	plan->incoming = prev.serial;
	plan->policy = *policy;
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
		err = plan_finish(d, plan, res);
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
	err = plan_finish(d, plan, res);
out:
	state_snapshot_free(&s);
	pthread_mutex_unlock(&d->lock);
	return err;
}

static char *warmup_json(const struct swap_plan *plan,
			 const struct warmup_result *r)
{
	json_t *arr = json_array();
	char *text;
	size_t i;

	for (i = 0; i < plan->n_targets; i++)
		json_array_append_new(
			arr,
			json_pack("{s:s, s:b, s:i, s:i, s:i, s:s?}", "backend",
				  plan->targets[i].address, "ok", r[i].ok,
				  "attempts", (json_int_t)r[i].attempts,
				  "status", (json_int_t)r[i].status, "ms",
				  (json_int_t)r[i].ms, "error",
				  r[i].ok ? NULL : r[i].error));
	text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

static void history_entry(const struct swap_plan *plan, const char *outcome,
			  const char *detail, char *deployments, char *warm,
			  struct st_history *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->app, sizeof(h->app), "%s", plan->app);
	snprintf(h->action, sizeof(h->action), "%s", plan->action);
	snprintf(h->slot, sizeof(h->slot), "%s",
		 plan->kind == SWAP_SLOTS && strcmp(plan->action, "swap") == 0
			 ? plan->source.name
			 : plan->target.name);
	snprintf(h->target_slot, sizeof(h->target_slot), "%s",
		 plan->kind == SWAP_RESTORE	     ? ""
		 : strcmp(plan->action, "swap") == 0 ? plan->target.name
						     : plan->source.name);
	snprintf(h->trigger, sizeof(h->trigger), "%s", plan->trigger);
	snprintf(h->outcome, sizeof(h->outcome), "%s", outcome);
	h->detail = (char *)detail;
	h->deployments = deployments;
	h->warmup = warm;
}

/* Slot -> data-plane id after the change, for the history entry. */
static char *deployments_json(struct daemon *d, const struct swap_plan *plan)
{
	struct st_deployment out = {0};
	json_t *o = json_object();
	char *text;

	if (plan->target.deployment)
		state_deployment_get(d->st, plan->target.deployment, &out, NULL,
				     NULL);
	json_object_set_new(o, plan->target.name,
			    json_integer(plan->incoming_id));
	if (plan->kind == SWAP_SLOTS)
		json_object_set_new(o, plan->source.name,
				    plan->target.deployment
					    ? json_integer(out.id)
					    : json_null());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Under lock, in the open transaction: move the deployments, and end
 * the traffic shares of the slots that get another deployment (what
 * was reset is appended to detail). */
static int apply_plan(struct daemon *d, const struct swap_plan *plan,
		      char *detail, size_t len)
{
	const struct st_slot *t = &plan->target, *s = &plan->source;
	struct st_slot now;
	int err;

	/* the busy flag kept others out; check anyway, cheaply */
	err = state_slot_find(d->st, plan->app_id, t->name, &now);
	if (err || now.deployment != t->deployment)
		return err ? err : -ESTALE;
	if (plan->kind == SWAP_RESTORE) {
		err = state_deployment_set_state(d->st, plan->incoming,
						 DEPLOYMENT_ACTIVE, 0);
		if (!err && t->deployment)
			err = state_deployment_set_state(d->st, t->deployment,
							 DEPLOYMENT_DRAINING,
							 wall_ms());
		if (!err)
			err = state_slot_set(d->st, plan->app_id, t->index,
					     plan->incoming, t->deployment);
		if (!err)
			err = traffic_reset_for_swap(d, plan->app_id, t, NULL,
						     detail, len);
		return err;
	}
	err = state_slot_find(d->st, plan->app_id, s->name, &now);
	if (err || now.deployment != plan->incoming)
		return err ? err : -ESTALE;
	err = state_slot_set(d->st, plan->app_id, t->index, plan->incoming,
			     t->deployment);
	if (!err)
		err = state_slot_set(d->st, plan->app_id, s->index,
				     t->deployment, plan->incoming);
	if (!err)
		err = traffic_reset_for_swap(d, plan->app_id, t, s, detail,
					     len);
	return err;
}

int ops_swap_execute(struct daemon *d, struct swap_plan *plan,
		     warmup_progress_cb cb, void *ctx, struct op_result *res)
{
	struct warmup_result *results;
	struct slotlb_routing old;
	char detail[384], *warm = NULL, *deps = NULL;
	struct st_history h;
	bool had_old = false, locked = false, warm_failed = false;
	int64_t warm_end_us;
	size_t i;
	int rc, err;

	results =
		calloc(plan->n_targets ? plan->n_targets : 1, sizeof(*results));
	if (!results) {
		op_fail(res, 500, "%s: out of memory", plan->app);
		err = -ENOMEM;
		goto out;
	}
	rc = warmup_run(&plan->policy, plan->targets, plan->n_targets, results,
			cb, ctx);
	/* switch_us: the daemon's promise is the time from the end of
	 * warm-up to the routing element update, on the monotonic clock */
	warm_end_us = mono_us();
	warm = warmup_json(plan, results);
	pthread_mutex_lock(&d->lock);
	locked = true;
	deps = deployments_json(d, plan);
	if (rc != 0) {
		if (rc < 0) {
			op_fail(res, 500, "%s: warm-up could not run: %s",
				plan->app, strerror(-rc));
		} else {
			for (i = 0; i < plan->n_targets && results[i].ok; i++)
				;
			op_fail(res, 412, "%s: warm-up failed: %s: %s",
				plan->app,
				i < plan->n_targets ? plan->targets[i].address
						    : "?",
				i < plan->n_targets ? results[i].error : "?");
		}
		err = rc < 0 ? rc : -EHOSTUNREACH;
		warm_failed = true;
		history_entry(plan, "failed", res->error, deps, warm, &h);
		if (state_history_add(d->st, &h, &res->history_id))
			log_msg("Error: %s: history: %s", plan->app,
				state_errmsg(d->st));
		log_msg("%s %s: %s", plan->action, plan->app, res->error);
		goto out;
	}
	snprintf(detail, sizeof(detail), "deployment %u into %s",
		 plan->incoming_id, plan->target.name);
	history_entry(plan, "ok", detail, deps, warm, &h);
	err = state_begin(d->st);
	if (!err)
		err = apply_plan(d, plan, detail, sizeof(detail));
	if (!err)
		err = state_history_add(d->st, &h, &res->history_id);
	if (err) {
		op_fail(res, err == -ESTALE ? 409 : 500, "%s: %s: %s",
			plan->app, plan->action,
			err == -ESTALE ? "slots changed meanwhile"
				       : strerror(-err));
		goto out;
	}
	/* the one map update of the swap, then the commit */
	err = publish_routing(d, plan->app_id, &old, &had_old);
	res->switch_us = mono_us() - warm_end_us;
	if (err) {
		op_fail(res, 500, "%s: routing element update: %s", plan->app,
			strerror(-err));
		goto out;
	}
	crash_point("swap-before-commit");
	err = state_commit(d->st);
	crash_point("swap-after-commit");
	if (err) {
		op_fail(res, 500, "%s: database commit: %s", plan->app,
			strerror(-err));
		restore_routing(d, plan->app_id, &old, had_old);
		goto out;
	}
	res->status = 200;
	log_msg("%s %s: %s (switch %lld us after warm-up)", plan->action,
		plan->app, detail, (long long)res->switch_us);
out:
	if (locked) {
		state_rollback(d->st);
		if (err && !warm_failed) {
			/* the failed attempt is history too; the rolled back
			 * transaction took its entry along */
			history_entry(plan, "failed", res->error, deps, warm,
				      &h);
			state_history_add(d->st, &h, &res->history_id);
		}
	} else {
		pthread_mutex_lock(&d->lock);
	}
	plan_release(d, plan);
	pthread_mutex_unlock(&d->lock);
	free(results);
	free(warm);
	free(deps);
	return err;
}
