/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Settings: NAME=VALUE pairs of the app's environment, sticky to a slot
 * or swapped with a deployment (state_app_settings.c), and the
 * apply-settings hook that puts them onto the backends (hook.c).
 *
 * A change of a slot's settings is applied like Azure applies it: the
 * slot's hook runs with the new effective settings on every backend of
 * the slot's deployment before the change is committed; if it fails,
 * the hook runs again with the old settings ("what was there"), nothing
 * is committed, and the history says which backend failed and how.
 * The hook runs without the daemon lock, under the app's busy flag, so
 * a slow hook delays only its app.
 *
 * The history records names only; values live in the database alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

json_t *settings_effective_json(struct daemon *d, uint32_t app_id,
				uint32_t slot, int64_t deployment)
{
	struct st_app_setting *s = NULL;
	json_t *o;
	size_t n = 0, i;

	if (state_effective_settings(d->st, app_id, slot, deployment, &s, &n))
		return NULL;
	o = json_object();
	for (i = 0; o && i < n; i++)
		json_object_set_new(o, s[i].name, json_string(s[i].value));
	state_app_settings_free(s, n);
	return o;
}

int apply_job_prepare(struct daemon *d, const char *app, uint32_t app_id,
		      const struct st_slot *slot, int64_t deployment,
		      json_t *settings, struct apply_job *job)
{
	struct st_backend *bes = NULL;
	struct st_slot_config c;
	struct st_deployment dep;
	json_t *own = NULL;
	size_t i, n = 0;
	int err;

	memset(job, 0, sizeof(*job));
	job->none = true;
	err = state_slot_config_get(d->st, app_id, slot->index, &c);
	if (err || !c.hook.exec[0] || !deployment)
		goto out;
	err = state_deployment_get(d->st, deployment, &dep, &bes, &n);
	if (err)
		goto out;
	if (!settings)
		settings = own = settings_effective_json(d, app_id, slot->index,
							 deployment);
	job->settings =
		settings ? json_dumps(settings, JSON_COMPACT | JSON_SORT_KEYS)
			 : NULL;
	job->backends = calloc(n ? n : 1, sizeof(*job->backends));
	if (!job->settings || !job->backends) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++)
		slotlb_format_backend(&bes[i].be, job->backends[i],
				      sizeof(job->backends[i]));
	job->n = n;
	job->hook = c.hook;
	snprintf(job->app, sizeof(job->app), "%s", app);
	snprintf(job->slot, sizeof(job->slot), "%s", slot->name);
	job->deployment_id = dep.id;
	snprintf(job->version, sizeof(job->version), "%s", dep.version);
	job->none = false;
out:
	json_decref(own);
	free(bes);
	if (err)
		apply_job_free(job);
	return err;
}

void apply_job_free(struct apply_job *job)
{
	free(job->backends);
	free(job->settings);
	job->backends = NULL;
	job->settings = NULL;
	job->none = true;
}

int apply_job_run(const struct apply_job *job, const char *reason,
		  struct cancel *c, char *why, size_t why_len)
{
	struct hook_env env = {
		.app = job->app,
		.slot = job->slot,
		.deployment = job->deployment_id,
		.version = job->version,
		.reason = reason,
	};
	const char **bes;
	struct hook_result res;
	size_t i;
	int rc;

	why[0] = 0;
	if (job->none)
		return 0;
	bes = calloc(job->n ? job->n : 1, sizeof(*bes));
	if (!bes)
		return -ENOMEM;
	for (i = 0; i < job->n; i++)
		bes[i] = job->backends[i];
	rc = hook_run(job->hook.exec, job->hook.timeout_ms, &env, bes, job->n,
		      job->settings, c, &res);
	free(bes);
	if (rc == 0) {
		log_msg("hook %s/%s (%s): applied to deployment %u, %zu backends in %u ms",
			job->app, job->slot, reason, job->deployment_id, job->n,
			res.ms);
		return 0;
	}
	if (rc == -ECANCELED)
		snprintf(why, why_len, "apply-settings hook of %s cancelled",
			 job->slot);
	else
		snprintf(why, why_len,
			 "apply-settings hook of %s failed on %s: %s%s%s",
			 job->slot,
			 res.failed < job->n ? job->backends[res.failed] : "?",
			 res.error, res.stderr_tail[0] ? "; stderr: " : "",
			 res.stderr_tail);
	log_msg("hook %s/%s (%s): %s", job->app, job->slot, reason, why);
	return rc < 0 ? rc : 1;
}

int ops_settings_list(struct daemon *d, const char *app, const char *slot,
		      struct st_app_setting **sticky, size_t *n_sticky,
		      struct st_app_setting **swapped, size_t *n_swapped,
		      struct op_result *res)
{
	struct st_app a;
	struct st_slot s;
	int err;

	*sticky = *swapped = NULL;
	*n_sticky = *n_swapped = 0;
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (!err)
		err = state_slot_settings(d->st, a.id, s.index, sticky,
					  n_sticky);
	if (!err && s.deployment)
		err = state_deployment_settings(d->st, s.deployment, swapped,
						n_swapped);
	if (err && !res->status)
		op_fail(res, 500, "%s/%s: settings: %s", app, slot,
			strerror(-err));
	pthread_mutex_unlock(&d->lock);
	if (err) {
		state_app_settings_free(*sticky, *n_sticky);
		*sticky = NULL;
		*n_sticky = 0;
	} else {
		res->status = 200;
	}
	return err;
}

/* In the open transaction: the changes (value NULL: delete). A name is
 * either sticky in the slot or swapped with its deployment, never both:
 * setting it one way removes it the other. */
static int change_settings(struct daemon *d, uint32_t app_id,
			   const struct st_slot *s,
			   const struct setting_change *ch, size_t n,
			   bool sticky, size_t *removed)
{
	size_t i;
	int err = 0, e1, e2;

	*removed = 0;
	for (i = 0; i < n && !err; i++) {
		if (!ch[i].value) {
			e1 = state_slot_setting_delete(d->st, app_id, s->index,
						       ch[i].name);
			e2 = s->deployment
				     ? state_deployment_setting_delete(
					       d->st, s->deployment, ch[i].name)
				     : -ENOENT;
			if ((e1 && e1 != -ENOENT) || (e2 && e2 != -ENOENT))
				err = e1 && e1 != -ENOENT ? e1 : e2;
			*removed += !e1 || !e2;
			continue;
		}
		if (sticky) {
			err = state_slot_setting_put(d->st, app_id, s->index,
						     ch[i].name, ch[i].value);
			e2 = s->deployment
				     ? state_deployment_setting_delete(
					       d->st, s->deployment, ch[i].name)
				     : 0;
		} else {
			err = state_deployment_setting_put(
				d->st, s->deployment, ch[i].name, ch[i].value);
			e2 = state_slot_setting_delete(d->st, app_id, s->index,
						       ch[i].name);
		}
		if (!err && e2 && e2 != -ENOENT)
			err = e2;
	}
	return err;
}

/* The counts after the change stay within SETTINGS_MAX. */
static int within_bounds(struct daemon *d, uint32_t app_id,
			 const struct st_slot *s)
{
	struct st_app_setting *l = NULL;
	size_t n = 0, m = 0;
	int err;

	err = state_slot_settings(d->st, app_id, s->index, &l, &n);
	state_app_settings_free(l, n);
	if (!err && s->deployment) {
		err = state_deployment_settings(d->st, s->deployment, &l, &m);
		state_app_settings_free(l, m);
	}
	if (err)
		return err;
	return n > SETTINGS_MAX || m > SETTINGS_MAX ? -E2BIG : 0;
}

/* "DB_URL, FEATURE (sticky)": names only, for the history. */
static void names_text(const struct setting_change *ch, size_t n, bool sticky,
		       char *buf, size_t len)
{
	size_t i, off;

	off = (size_t)snprintf(buf, len, "%s ",
			       ch[0].value ? "set" : "deleted");
	for (i = 0; i < n && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? ", " : "", ch[i].name);
	if (off < len && ch[0].value)
		snprintf(buf + off, len - off, " (%s)",
			 sticky ? "sticky" : "swapped");
}

int ops_settings_change(struct daemon *d, const char *app, const char *slot,
			const struct setting_change *ch, size_t n, bool sticky,
			const char *trigger, struct op_result *res)
{
	struct apply_job job = {0}, undo = {0};
	char why[HOOK_STDERR_TAIL + 512], names[1024];
	struct cancel cancel;
	struct st_app a;
	struct st_slot s;
	size_t removed = 0;
	bool busy = false;
	json_t *after = NULL;
	int err;

	cancel_init(&cancel);
	names_text(ch, n, sticky, names, sizeof(names));
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, true, res);
	if (err)
		goto out;
	if (ch[0].value && !sticky && !s.deployment) {
		op_fail(res, 409,
			"%s/%s: slot has no deployment: a swapped setting belongs to the deployment in the slot (deploy first, or use --sticky)",
			app, slot);
		err = -ENOENT;
		goto out;
	}
	/* the change in a transaction rolled back at once: what the
	 * settings would be, and whether it is allowed */
	err = state_begin(d->st);
	if (!err)
		err = change_settings(d, a.id, &s, ch, n, sticky, &removed);
	if (!err)
		err = within_bounds(d, a.id, &s);
	if (!err && s.deployment) {
		after = settings_effective_json(d, a.id, s.index, s.deployment);
		err = after ? 0 : -ENOMEM;
	}
	state_rollback(d->st);
	if (err == -E2BIG) {
		op_fail(res, 409,
			"%s/%s: at most %d settings per slot and per deployment",
			app, slot, SETTINGS_MAX);
		goto out;
	}
	if (!err && !ch[0].value && !removed) {
		op_fail(res, 404, "%s/%s: %s: no such setting", app, slot,
			ch[0].name);
		err = -ENOENT;
		goto out;
	}
	if (!err)
		err = apply_job_prepare(d, app, a.id, &s, s.deployment, after,
					&job);
	if (!err)
		err = apply_job_prepare(d, app, a.id, &s, s.deployment, NULL,
					&undo);
	if (err) {
		op_fail(res, 500, "%s/%s: settings: %s", app, slot,
			strerror(-err));
		goto out;
	}
	if (!job.none) {
		op_busy_take(d, a.id, "settings being applied", &cancel);
		busy = true;
		pthread_mutex_unlock(&d->lock);
		err = apply_job_run(&job, "settings", &cancel, why,
				    sizeof(why));
		if (err) {
			char undo_why[sizeof(why)];

			/* put back what was there, whatever it takes */
			if (apply_job_run(&undo, "revert", NULL, undo_why,
					  sizeof(undo_why)))
				str_append(
					why, sizeof(why),
					"; putting the old settings back failed too: %s",
					undo_why);
		}
		pthread_mutex_lock(&d->lock);
		if (err) {
			op_fail(res, err == -ECANCELED ? 409 : 424, "%s/%s: %s",
				app, slot, why);
			str_append(names, sizeof(names), ": %s", why);
			op_history(d, app, "settings", slot, NULL, trigger,
				   err == -ECANCELED ? "cancelled" : "failed",
				   names, NULL, &res->history_id);
			goto out;
		}
	}
	err = state_begin(d->st);
	if (!err)
		err = change_settings(d, a.id, &s, ch, n, sticky, &removed);
	if (!err)
		op_history(d, app, "settings", slot, NULL, trigger, "ok", names,
			   NULL, &res->history_id);
	if (!err)
		err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	res->status = 200;
	log_msg("settings %s/%s: %s", app, slot, names);
out:
	state_rollback(d->st);
	if (busy)
		op_busy_release(d, a.id);
	pthread_mutex_unlock(&d->lock);
	json_decref(after);
	apply_job_free(&job);
	apply_job_free(&undo);
	cancel_destroy(&cancel);
	return err;
}
