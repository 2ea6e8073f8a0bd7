/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Swap and rollback, executed (prepared by ops_swap.c): the hooks and
 * the warm-up run without the lock, under the app's busy flag, and may
 * be cancelled (ops_swap_cancel(), or the API when the client goes
 * away); then both slots, the history and the routing element change in
 * one transaction: the map update is the last step before the commit,
 * so a crash before the commit leaves a database wholly before the swap
 * and reconcile writes the old element back.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "events.h"
#include "ops_int.h"
#include "verify.h"
#include "traffic_parse.h"

static char *warmup_json(const struct swap_plan *plan,
			 const struct warmup_result *r, bool ran)
{
	json_t *arr = json_array();
	char *text;
	size_t i;

	for (i = 0; ran && i < plan->n_targets; i++)
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
	bool rollback = !strcmp(plan->action, "rollback") ||
			!strcmp(plan->action, "auto-rollback");

	memset(h, 0, sizeof(*h));
	snprintf(h->app, sizeof(h->app), "%s", plan->app);
	snprintf(h->action, sizeof(h->action), "%s", plan->action);
	/* a swap names its source first; a rollback the slot rolled back */
	snprintf(h->slot, sizeof(h->slot), "%s",
		 rollback ? plan->target.name : plan->source.name);
	snprintf(h->target_slot, sizeof(h->target_slot), "%s",
		 plan->kind == SWAP_RESTORE ? ""
		 : rollback		    ? plan->source.name
					    : plan->target.name);
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
	bool moves = plan->mode == SWAP_ACTION_FULL ||
		     plan->mode == SWAP_ACTION_SWAP;
	char *text;

	if (plan->target.deployment)
		state_deployment_get(d->st, plan->target.deployment, &out, NULL,
				     NULL);
	json_object_set_new(o, plan->target.name,
			    json_integer(moves ? plan->incoming_id : out.id));
	if (plan->kind == SWAP_SLOTS)
		json_object_set_new(o, plan->source.name,
				    !moves ? json_integer(plan->incoming_id)
				    : plan->target.deployment
					    ? json_integer(out.id)
					    : json_null());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

/* Under lock, in the open transaction: what the plan changes in the
 * state (the routing element follows from it). A plan that moves
 * deployments ends the traffic shares of the slots that get another
 * one (ops_traffic.c; what was reset is appended to detail). */
static int apply_plan(struct daemon *d, struct swap_plan *plan, char *detail,
		      size_t len)
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
			err = state_deployment_drain_start(
				d->st, t->deployment, wall_ms(), plan->app_id,
				t->index);
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
	switch (plan->mode) {
	case SWAP_ACTION_PREVIEW:
		plan->pending.started = wall_s();
		return state_pending_add(d->st, &plan->pending);
	case SWAP_ACTION_RESET:
		return state_pending_delete(d->st, plan->app_id);
	case SWAP_ACTION_SWAP:
		err = state_pending_delete(d->st, plan->app_id);
		if (err)
			return err;
		break;
	default:
		break;
	}
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

/* What the history says a successful plan did. */
static void success_detail(const struct swap_plan *plan, char *buf, size_t len)
{
	const struct st_pending *p = &plan->pending;
	size_t i;

	switch (plan->mode) {
	case SWAP_ACTION_PREVIEW:
		snprintf(
			buf, len,
			"deployment %u previewed with %s's settings; audience of %zu prefixes on %s's endpoints",
			plan->incoming_id, plan->target.name, p->n_audience,
			plan->target.name);
		for (i = 0; i < p->n_audience; i++) {
			char pfx[64] = "?";

			slotlb_format_prefix(&p->audience[i], pfx, sizeof(pfx));
			str_append(buf, len, "%s%s", i ? ", " : ": ", pfx);
		}
		if (p->timeout_s)
			str_append(buf, len, "; %s after %u s",
				   p->on_timeout_swap ? "swap" : "reset",
				   p->timeout_s);
		break;
	case SWAP_ACTION_RESET:
		snprintf(
			buf, len,
			"preview reset: deployment %u back with %s's settings, audience cleared",
			plan->incoming_id, plan->source.name);
		break;
	default:
		snprintf(buf, len, "deployment %u into %s%s", plan->incoming_id,
			 plan->target.name,
			 plan->mode == SWAP_ACTION_SWAP ? " (preview completed)"
							: "");
	}
}

/* The transaction of a plan whose hooks and warm-up passed. */
static int commit_plan(struct daemon *d, struct swap_plan *plan,
		       struct st_history *h, char *detail, size_t len,
		       int64_t warm_end_us, struct op_result *res)
{
	struct slotlb_routing old;
	bool had_old = false;
	int err;

	err = state_begin(d->st);
	if (!err)
		err = apply_plan(d, plan, detail, len);
	if (!err)
		err = state_history_add(d->st, h, &res->history_id);
	if (!err)
		events_emit(d, res->history_id);
	if (err) {
		op_fail(res, err == -ESTALE ? 409 : 500, "%s: %s: %s",
			plan->app, plan->action,
			err == -ESTALE ? "slots changed meanwhile"
				       : strerror(-err));
		return err;
	}
	/* the one map update of the swap, then the commit */
	err = publish_routing(d, plan->app_id, &old, &had_old);
	res->switch_us = mono_us() - warm_end_us;
	if (err == -ENOSPC || err == -EEXIST) {
		/* the preview's audience and the opt-ins share audience[]:
		 * ops_swap_prepare() checked it, but opt-ins may have been
		 * added while the warm-up ran */
		op_fail(res, 409,
			err == -ENOSPC
				? "%s: audience: the preview's %zu prefixes and the app's opt-ins together exceed the %d prefixes the app's routing holds"
				: "%s: audience: a prefix of the preview's %zu is an opt-in toward another slot (%d prefixes at most in all)",
			plan->app, plan->pending.n_audience,
			SLOTLB_MAX_AUDIENCE);
		return err;
	}
	if (err) {
		op_fail(res, 500, "%s: routing element update: %s", plan->app,
			strerror(-err));
		return err;
	}
	crash_point(plan->mode == SWAP_ACTION_PREVIEW ? "preview-before-commit"
						      : "swap-before-commit");
	err = state_commit(d->st);
	crash_point(plan->mode == SWAP_ACTION_PREVIEW ? "preview-after-commit"
						      : "swap-after-commit");
	if (err) {
		op_fail(res, 500, "%s: database commit: %s", plan->app,
			strerror(-err));
		restore_routing(d, plan->app_id, &old, had_old);
	}
	return err;
}

/* A hook or warm-up stopped the plan: the incoming deployment gets back
 * what it had (not cancellable: it must finish). */
static void undo_settings(struct swap_plan *plan, char *why, size_t len)
{
	char undo_why[HOOK_STDERR_TAIL + 512];

	if (apply_job_run(&plan->jobs->undo, plan->jobs->undo_reason, NULL,
			  undo_why, sizeof(undo_why)))
		str_append(why, len,
			   "; putting its settings back failed too: %s",
			   undo_why);
}

int ops_swap_execute(struct daemon *d, struct swap_plan *plan,
		     warmup_progress_cb cb, void *ctx, struct op_result *res)
{
	struct swap_jobs *j = plan->jobs;
	struct warmup_result *results;
	char detail[HOOK_STDERR_TAIL + 1024], *warm = NULL, *deps = NULL;
	char by[160];
	struct st_history h;
	bool warmed = false, locked = false, recorded = false;
	int64_t warm_start_us = 0, warm_end_us = 0;
	int rc = 0, err = 0;
	size_t i;

	detail[0] = 0;
	results =
		calloc(plan->n_targets ? plan->n_targets : 1, sizeof(*results));
	if (!results) {
		op_fail(res, 500, "%s: out of memory", plan->app);
		err = -ENOMEM;
		goto out;
	}
	/* 1. the settings it is about to serve with */
	rc = apply_job_run(&j->apply, j->apply_reason, &j->cancel, detail,
			   sizeof(detail));
	/* 2. warm-up (a reset warms nothing up: it goes back) */
	warm_start_us = mono_us();
	if (!rc && plan->mode != SWAP_ACTION_RESET) {
		rc = warmup_run(&plan->policy, plan->targets, plan->n_targets,
				results, cb, ctx, &j->cancel);
		warmed = true;
		if (rc > 0) {
			for (i = 0; i < plan->n_targets && results[i].ok; i++)
				;
			snprintf(detail, sizeof(detail),
				 "warm-up failed: %s: %s",
				 i < plan->n_targets ? plan->targets[i].address
						     : "?",
				 i < plan->n_targets ? results[i].error : "?");
		} else if (rc == -ECANCELED) {
			snprintf(detail, sizeof(detail), "warm-up cancelled");
		} else if (rc < 0) {
			snprintf(detail, sizeof(detail),
				 "warm-up could not run: %s", strerror(-rc));
		}
	}
	/* switch_us: the daemon's promise is the time from the end of
	 * warm-up to the routing element update, on the monotonic clock */
	warm_end_us = mono_us();
	if (rc) {
		if (rc == -ECANCELED) {
			cancel_by(&j->cancel, by, sizeof(by));
			str_append(detail, sizeof(detail), " (%s)",
				   by[0] ? by : "?");
		}
		undo_settings(plan, detail, sizeof(detail));
	}
	warm = warmup_json(plan, results, warmed);
	pthread_mutex_lock(&d->lock);
	locked = true;
	deps = deployments_json(d, plan);
	if (rc) {
		bool cancelled = rc == -ECANCELED;

		op_fail(res,
			cancelled ? 409
			: !warmed ? 424
			: rc > 0  ? 412
				  : 500,
			"%s: %s", plan->app, detail);
		err = cancelled ? -ECANCELED : rc < 0 ? rc : -EHOSTUNREACH;
		history_entry(plan, cancelled ? "cancelled" : "failed", detail,
			      deps, warm, &h);
		if (state_history_add(d->st, &h, &res->history_id))
			log_msg("Error: %s: history: %s", plan->app,
				state_errmsg(d->st));
		else
			events_emit(d, res->history_id);
		recorded = true;
		log_msg("%s %s: %s", plan->action, plan->app, res->error);
		goto out;
	}
	/* 3. one transaction, one routing element update */
	success_detail(plan, detail, sizeof(detail));
	history_entry(plan, "ok", detail, deps, warm, &h);
	err = commit_plan(d, plan, &h, detail, sizeof(detail), warm_end_us,
			  res);
	if (err) {
		state_rollback(d->st);
		pthread_mutex_unlock(&d->lock);
		undo_settings(plan, detail, sizeof(detail));
		pthread_mutex_lock(&d->lock);
		goto out;
	}
	res->status = 200;
	log_msg("%s %s: %s (switch %lld us after warm-up)", plan->action,
		plan->app, detail, (long long)res->switch_us);
	if (plan->mode == SWAP_ACTION_PREVIEW && plan->pending.timeout_s)
		preview_timer_start(d, &plan->pending);
	verify_start(d, plan);
	/* 4. the deployment that left gets the settings of its new slot;
	 * the swap stands whatever this says (production already serves
	 * the warmed-up deployment) and a failure is history of its own */
	if (!j->after.none) {
		char why[HOOK_STDERR_TAIL + 512];

		pthread_mutex_unlock(&d->lock);
		rc = apply_job_run(&j->after, j->after_reason, NULL, why,
				   sizeof(why));
		pthread_mutex_lock(&d->lock);
		if (rc)
			op_history(d, plan->app, "settings", plan->source.name,
				   NULL, plan->trigger, "failed", why, NULL,
				   NULL);
	}
out:
	if (locked) {
		state_rollback(d->st);
		if (err && !recorded) {
			/* the failed attempt is history too; the rolled back
			 * transaction took its entry along */
			history_entry(plan, "failed", res->error, deps, warm,
				      &h);
			if (!state_history_add(d->st, &h, &res->history_id))
				events_emit(d, res->history_id);
		}
	} else {
		pthread_mutex_lock(&d->lock);
	}
	plan_release(d, plan);
	pthread_mutex_unlock(&d->lock);
	if (results)
		metrics_note_swap(plan->app, plan->action, !err,
				  warm_end_us - warm_start_us, res->switch_us);
	free(results);
	free(warm);
	free(deps);
	return err;
}
