/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Deploy: a new deployment (fresh data-plane ids, its backends and ring
 * published before anything references them) replaces the slot's
 * deployment with one routing element update; the one it replaces
 * starts draining. A deploy that fails after validation is history too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops_int.h"

/* History of a deploy that failed after validation. */
static void deploy_history(struct daemon *d, const char *app, const char *slot,
			   const char *trigger, const char *outcome,
			   const char *detail, const char *deployments,
			   int64_t *id)
{
	struct st_history h = {0};
	int err;

	snprintf(h.app, sizeof(h.app), "%s", app);
	snprintf(h.action, sizeof(h.action), "deploy");
	snprintf(h.slot, sizeof(h.slot), "%s", slot);
	snprintf(h.trigger, sizeof(h.trigger), "%s", trigger);
	snprintf(h.outcome, sizeof(h.outcome), "%s", outcome);
	h.detail = (char *)detail;
	h.deployments = (char *)deployments;
	err = state_history_add(d->st, &h, id);
	if (err)
		log_msg("Error: %s: history: %s", app, strerror(-err));
}

int ops_deploy(struct daemon *d, const char *app, const char *slot,
	       const struct slotlb_backend *bes, const uint32_t *weights,
	       size_t n, const char *version, const char *trigger,
	       int64_t *serial, struct op_result *res)
{
	struct slotlb_deployment_info info = {0};
	struct slotlb_routing old;
	struct st_deployment dep;
	uint32_t *ids = NULL;
	char detail[400], deps[96], vbuf[SLOTLB_VERSION_LEN] = {0};
	struct st_app a;
	struct st_slot sl;
	bool had_old = false, published = false;
	size_t i, set = 0;
	int err;

	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids) {
		op_fail(res, 500, "%s: out of memory", app);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &sl, true, res);
	if (err)
		goto out;
	err = state_begin(d->st);
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	/* the default version label says when it was deployed */
	if (version && *version) {
		snprintf(vbuf, sizeof(vbuf), "%s", version);
	} else {
		wall_format(wall_s(), true, vbuf, sizeof(vbuf));
	}
	err = state_deployment_create(d->st, a.id, app, vbuf, bes, weights, n,
				      &dep, ids);
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
	if (sl.deployment)
		err = state_deployment_set_state(
			d->st, sl.deployment, DEPLOYMENT_DRAINING, wall_ms());
	if (!err)
		err = state_slot_set(d->st, a.id, sl.index, dep.serial,
				     sl.deployment);
	if (err) {
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	snprintf(deps, sizeof(deps), "{\"%s\": %u}", slot, dep.id);
	snprintf(detail, sizeof(detail), "deployment %u (%s) into %s%s", dep.id,
		 vbuf, slot, sl.deployment ? ", previous draining" : "");
	deploy_history(d, app, slot, trigger, "ok", detail, deps,
		       &res->history_id);

	for (i = 0; i < n && !err; i++, set++)
		err = slotlb_backend_set(d->lb, ids[i], &bes[i]);
	info.app_id = a.id;
	info.backend_count = (uint32_t)n;
	memcpy(info.version, vbuf, sizeof(info.version));
	if (!err)
		err = slotlb_deployment_publish(d->lb, dep.id, &info, ids,
						weights, n);
	published = !err;
	if (!err)
		err = publish_routing(d, a.id, &old, &had_old);
	if (err == -ENOSPC) {
		op_fail(res, 409,
			"%s/%s: more than %d distinct backend addresses on this host",
			app, slot, SLOTLB_MAX_BACKEND_ADDRS);
		goto undo;
	}
	if (err) {
		op_fail(res, 500, "%s/%s: map update: %s", app, slot,
			strerror(-err));
		goto undo;
	}
	crash_point("deploy-before-commit");
	err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s/%s: database commit: %s", app, slot,
			strerror(-err));
		restore_routing(d, a.id, &old, had_old);
		goto undo;
	}
	*serial = dep.serial;
	res->status = 201;
	log_msg("deploy %s/%s: deployment %u (%s), %zu backends", app, slot,
		dep.id, vbuf, n);
	goto out;
undo:
	state_rollback(d->st);
	if (published)
		slotlb_deployment_remove(d->lb, dep.id);
	for (i = 0; i < set; i++)
		slotlb_backend_clear(d->lb, ids[i]);
	snprintf(detail, sizeof(detail), "%s", res->error);
	deploy_history(d, app, slot, trigger, "failed", detail, "{}",
		       &res->history_id);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	free(ids);
	return err;
}
