/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deploy: a new deployment (fresh data-plane ids, its backends and ring
 * published before anything references them) replaces the slot's
 * deployment with one routing element update; the one it replaces
 * starts draining. A deploy that fails after validation is history too.
 *
 * Settings: the new deployment takes the swapped settings of the one it
 * replaces (a new version of the app keeps the app's configuration, as
 * deploying new content into an Azure slot keeps its app settings). If
 * the slot has an apply-settings hook, the deploy is two transactions:
 * the first creates the deployment and publishes its ring (nothing
 * references it yet), the hook applies the slot's settings to its
 * backends without the lock, and only then the second puts it into the
 * slot; a failing (or cancelled) hook retires it and nothing else
 * changed. A crash between the two leaves an active deployment in no
 * slot, which reconcile retires at the next start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops_int.h"

/* Under the lock, in the open transaction: the new deployment into the
 * slot, the old one draining, the routing element, the history. */
static int take_slot(struct daemon *d, const struct st_app *a,
		     const struct st_slot *sl, const struct st_deployment *dep,
		     const char *trigger, struct slotlb_routing *old,
		     bool *had_old, struct op_result *res)
{
	char detail[400], deps[96];
	int err = 0;

	if (sl->deployment)
		err = state_deployment_drain_start(d->st, sl->deployment,
						   wall_ms(), a->id, sl->index);
	if (!err)
		err = state_slot_set(d->st, a->id, sl->index, dep->serial,
				     sl->deployment);
	if (err) {
		op_fail(res, 500, "%s/%s: database: %s", a->name, sl->name,
			strerror(-err));
		return err;
	}
	snprintf(deps, sizeof(deps), "{\"%s\": %u}", sl->name, dep->id);
	snprintf(detail, sizeof(detail), "deployment %u (%s) into %s%s",
		 dep->id, dep->version, sl->name,
		 sl->deployment ? ", previous draining" : "");
	op_history(d, a->name, "deploy", sl->name, NULL, trigger, "ok", detail,
		   deps, &res->history_id);
	err = publish_routing(d, a->id, old, had_old);
	if (err == -ENOSPC)
		op_fail(res, 409,
			"%s/%s: more than %d distinct backend addresses on this host",
			a->name, sl->name, SLOTLB_MAX_BACKEND_ADDRS);
	else if (err)
		op_fail(res, 500, "%s/%s: map update: %s", a->name, sl->name,
			strerror(-err));
	return err;
}

/* Backends and ring of the new deployment, before anything refers to
 * them; *set backends written. */
static int publish_deployment(struct daemon *d, const struct st_app *a,
			      const struct st_deployment *dep,
			      const struct slotlb_backend *bes,
			      const uint32_t *weights, const uint32_t *ids,
			      size_t n, size_t *set, struct op_result *res)
{
	struct slotlb_deployment_info info = {0};
	int err = 0;

	for (*set = 0; *set < n && !err; (*set)++)
		err = slotlb_backend_set(d->lb, ids[*set], &bes[*set]);
	info.app_id = a->id;
	info.backend_count = (uint32_t)n;
	memcpy(info.version, dep->version, sizeof(info.version));
	if (!err)
		err = slotlb_deployment_publish(d->lb, dep->id, &info, ids,
						weights, n);
	if (err == -ENOSPC)
		op_fail(res, 409,
			"%s: more than %d distinct backend addresses on this host",
			a->name, SLOTLB_MAX_BACKEND_ADDRS);
	else if (err)
		op_fail(res, 500, "%s: map update: %s", a->name,
			strerror(-err));
	return err;
}

/* The hook's half of a deploy: run it on the committed, unreferenced
 * deployment; then put it into the slot, or retire it. Under the lock
 * on entry and exit. */
static int deploy_with_hook(struct daemon *d, const struct st_app *a,
			    const struct st_slot *sl,
			    const struct st_deployment *dep,
			    const uint32_t *ids, size_t n, const char *trigger,
			    struct op_result *res)
{
	struct slotlb_routing old;
	struct apply_job job;
	char why[HOOK_STDERR_TAIL + 512];
	struct cancel cancel;
	bool had_old = false;
	size_t i;
	int err;

	cancel_init(&cancel);
	err = apply_job_prepare(d, a->name, a->id, sl, dep->serial, NULL, &job);
	if (err) {
		op_fail(res, 500, "%s/%s: settings: %s", a->name, sl->name,
			strerror(-err));
		snprintf(why, sizeof(why), "%s", res->error);
		goto failed;
	}
	op_busy_take(d, a->id, "deploy in progress", &cancel);
	pthread_mutex_unlock(&d->lock);
	err = apply_job_run(&job, "deploy", &cancel, why, sizeof(why));
	pthread_mutex_lock(&d->lock);
	op_busy_release(d, a->id);
	apply_job_free(&job);
	if (err) {
		op_fail(res, err == -ECANCELED ? 409 : 424, "%s/%s: %s",
			a->name, sl->name, why);
		goto failed;
	}
	err = state_begin(d->st);
	if (!err)
		err = take_slot(d, a, sl, dep, trigger, &old, &had_old, res);
	else
		op_fail(res, 500, "%s: database: %s", a->name, strerror(-err));
	if (err)
		goto failed;
	crash_point("deploy-before-commit");
	err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s/%s: database commit: %s", a->name,
			sl->name, strerror(-err));
		restore_routing(d, a->id, &old, had_old);
		snprintf(why, sizeof(why), "%s", res->error);
		goto failed;
	}
	cancel_destroy(&cancel);
	return 0;
failed:
	/* it took no traffic: retire it at once, and say why */
	state_rollback(d->st);
	if (state_begin(d->st) ||
	    state_deployment_set_state(d->st, dep->serial, DEPLOYMENT_RETIRED,
				       0)) {
		log_msg("Error: %s/%s: retiring deployment %u: %s", a->name,
			sl->name, dep->id, state_errmsg(d->st));
	} else {
		op_history(d, a->name, "deploy", sl->name, NULL, trigger,
			   err == -ECANCELED ? "cancelled" : "failed", why,
			   "{}", &res->history_id);
		if (!state_commit(d->st)) {
			slotlb_deployment_remove(d->lb, dep->id);
			for (i = 0; i < n; i++)
				slotlb_backend_clear(d->lb, ids[i]);
		}
	}
	state_rollback(d->st);
	cancel_destroy(&cancel);
	return err ? err : -EIO;
}

int ops_deploy(struct daemon *d, const char *app, const char *slot,
	       const struct slotlb_backend *bes, const uint32_t *weights,
	       size_t n, const char *version, const char *trigger,
	       int64_t *serial, struct auto_swap_job *as, struct op_result *res)
{
	struct slotlb_routing old;
	struct st_slot_config c;
	struct st_deployment dep;
	uint32_t *ids = NULL;
	char vbuf[SLOTLB_VERSION_LEN] = {0};
	struct st_app a;
	struct st_slot sl;
	bool had_old = false, published = false;
	size_t i, set = 0;
	int err;

	if (as)
		memset(as, 0, sizeof(*as));
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids) {
		op_fail(res, 500, "%s: out of memory", app);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &sl, true, res);
	if (err)
		goto out;
	err = state_slot_config_get(d->st, a.id, sl.index, &c);
	if (!err)
		err = state_begin(d->st);
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	/* the default version label says when it was deployed */
	if (version && *version)
		snprintf(vbuf, sizeof(vbuf), "%s", version);
	else
		wall_format(wall_s(), true, vbuf, sizeof(vbuf));
	err = state_deployment_create(d->st, a.id, app, vbuf, bes, weights, n,
				      &dep, ids);
	if (!err && sl.deployment)
		err = state_deployment_settings_copy(d->st, sl.deployment,
						     dep.serial);
	if (err) {
		if (err == -ENOSPC)
			op_fail(res, 409,
				"%s/%s: no free deployment or backend id (limits %u and %u)",
				app, slot, SLOTLB_MAX_DEPLOYMENTS - 1,
				SLOTLB_MAX_BACKENDS - 1);
		else
			op_fail(res, 500, "%s/%s: %s", app, slot,
				strerror(-err));
		goto out;
	}
	err = publish_deployment(d, &a, &dep, bes, weights, ids, n, &set, res);
	published = !err;
	if (err)
		goto undo;
	if (c.hook.exec[0]) {
		/* first transaction: the deployment, in no slot yet */
		err = state_commit(d->st);
		if (err) {
			op_fail(res, 500, "%s/%s: database commit: %s", app,
				slot, strerror(-err));
			goto undo;
		}
		if (d->deploying)
			d->deploying[a.id] = dep.serial;
		err = deploy_with_hook(d, &a, &sl, &dep, ids, n, trigger, res);
		if (d->deploying)
			d->deploying[a.id] = 0;
		if (err)
			goto out;
	} else {
		err = take_slot(d, &a, &sl, &dep, trigger, &old, &had_old, res);
		if (err)
			goto undo;
		crash_point("deploy-before-commit");
		err = state_commit(d->st);
		if (err) {
			op_fail(res, 500, "%s/%s: database commit: %s", app,
				slot, strerror(-err));
			restore_routing(d, a.id, &old, had_old);
			goto undo;
		}
	}
	*serial = dep.serial;
	res->status = 201;
	log_msg("deploy %s/%s: deployment %u (%s), %zu backends", app, slot,
		dep.id, vbuf, n);
	if (as && c.has_auto_swap) {
		struct st_snapshot s;

		as->start = true;
		as->app_id = a.id;
		snprintf(as->app, sizeof(as->app), "%s", app);
		snprintf(as->slot, sizeof(as->slot), "%s", slot);
		as->deployment = dep.serial;
		as->delay_ms = c.auto_swap_delay_ms;
		snprintf(as->trigger, sizeof(as->trigger), "auto-swap: %s",
			 trigger);
		if (!state_snapshot(d->st, a.id, &s)) {
			for (i = 0; i < s.n_slots; i++)
				if (s.slots[i].index == c.auto_swap_target)
					snprintf(as->target, sizeof(as->target),
						 "%s", s.slots[i].name);
			state_snapshot_free(&s);
		}
		as->start = as->target[0] != 0;
	}
	goto out;
undo:
	state_rollback(d->st);
	if (published)
		slotlb_deployment_remove(d->lb, dep.id);
	for (i = 0; i < set; i++)
		slotlb_backend_clear(d->lb, ids[i]);
	op_history(d, app, "deploy", slot, NULL, trigger, "failed", res->error,
		   "{}", &res->history_id);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	free(ids);
	return err;
}

int ops_auto_swap_of(struct daemon *d, const char *app, const char *slot,
		     struct op_result *res)
{
	struct st_slot_config c;
	struct st_app a;
	struct st_slot sl;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &sl, false, res);
	if (!err)
		err = state_slot_config_get(d->st, a.id, sl.index, &c);
	if (!err && !c.has_auto_swap) {
		op_fail(res, 409,
			"%s/%s: slot has no auto swap to wait for (slotlb slot auto-swap)",
			app, slot);
		err = -ENOENT;
	}
	if (err && !res->status)
		op_fail(res, 500, "%s/%s: %s", app, slot, strerror(-err));
	pthread_mutex_unlock(&d->lock);
	return err;
}
