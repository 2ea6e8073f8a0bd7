/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Operations on apps and slots: create (with the endpoints they own) and
 * delete (their endpoints leave, their deployments drain). An app comes
 * with its production slot, which is deleted only with the app.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

/* Endpoints of a new app or slot, after its commit. */
static int add_endpoints(struct daemon *d, uint32_t app_id, uint32_t slot,
			 const struct slotlb_endpoint_key *eps,
			 const uint32_t *ids, size_t n)
{
	struct slotlb_endpoint ep = {.app_id = app_id, .slot = slot};
	size_t i;
	int err = 0;

	for (i = 0; i < n && !err; i++) {
		ep.endpoint_id = ids[i];
		err = slotlb_endpoint_set(d->lb, &eps[i], &ep);
	}
	if (err)
		while (i-- > 0)
			slotlb_endpoint_delete(d->lb, &eps[i]);
	return err;
}

/* Claim endpoints for a slot inside the open transaction. */
static int claim_endpoints(struct daemon *d, const char *app, uint32_t app_id,
			   uint32_t mode, uint32_t slot,
			   const struct slotlb_endpoint_key *eps, size_t n,
			   uint32_t *ids, struct op_result *res)
{
	char buf[SLOTLB_ENDPOINT_STRLEN];
	uint32_t owner_app, owner_slot;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		/* the GUE tunnel of DSR is IPv4 only (docs/dsr.md) */
		if (mode == SLOTLB_MODE_DSR && eps[i].family != AF_INET) {
			if (slotlb_format_endpoint(&eps[i], buf, sizeof(buf)))
				snprintf(buf, sizeof(buf), "endpoint");
			op_fail(res, 400,
				"%s: a dsr app has IPv4 endpoints only", buf);
			return -EINVAL;
		}
		err = state_endpoint_owner(d->st, &eps[i], &owner_app,
					   &owner_slot);
		if (!err)
			err = state_endpoint_add(d->st, app_id, slot, &eps[i],
						 &ids[i]);
		if (!err)
			continue;
		if (slotlb_format_endpoint(&eps[i], buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "endpoint");
		if (err == -EEXIST)
			op_fail(res, 409,
				"%s: endpoint already owned by app id %u slot %u",
				buf, owner_app, owner_slot);
		else if (err == -ENOSPC)
			op_fail(res, 409, "%s: endpoint limit (%u) reached",
				buf, SLOTLB_MAX_ENDPOINTS);
		else
			op_fail(res, 500, "%s: %s", app, strerror(-err));
		return err;
	}
	return 0;
}

/* Remove a committed app or slot again when its map writes failed. */
static void undo_create(struct daemon *d, uint32_t app_id, int64_t slot)
{
	int err = state_begin(d->st);

	if (!err)
		err = slot < 0 ? state_app_delete(d->st, app_id, wall_ms())
			       : state_slot_delete(d->st, app_id,
						   (uint32_t)slot, wall_ms());
	if (!err)
		err = state_commit(d->st);
	if (err) {
		state_rollback(d->st);
		log_msg("Error: app %u: undoing a failed create: %s", app_id,
			strerror(-err));
	}
}

int ops_app_create(struct daemon *d, const char *name, uint32_t mode,
		   const struct slotlb_endpoint_key *eps, size_t n,
		   const char *trigger, struct op_result *res)
{
	struct slotlb_routing r;
	uint32_t app_id, ids[64];
	int err;

	if (n > 64) {
		op_fail(res, 400, "%s: at most 64 endpoints per request", name);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	err = state_begin(d->st);
	if (err) {
		op_fail(res, 500, "%s: database: %s", name, strerror(-err));
		goto out;
	}
	err = state_app_create(d->st, name, &app_id);
	if (err) {
		if (err == -EEXIST)
			op_fail(res, 409, "%s: app already exists", name);
		else if (err == -ENOSPC)
			op_fail(res, 409, "%s: app limit (%u) reached", name,
				SLOTLB_MAX_APPS);
		else if (err == -EINVAL)
			op_fail(res, 400, "%s: invalid app name", name);
		else
			op_fail(res, 500, "%s: %s", name, strerror(-err));
		goto out;
	}
	err = state_app_set_mode(d->st, app_id, mode);
	if (err) {
		op_fail(res, 500, "%s: %s", name, strerror(-err));
		goto out;
	}
	err = claim_endpoints(d, name, app_id, mode, 0, eps, n, ids, res);
	if (err)
		goto out;
	err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s: database commit: %s", name,
			strerror(-err));
		goto out;
	}
	err = routing_from_state(d->st, app_id, &r);
	if (!err)
		err = slotlb_routing_set(d->lb, app_id, &r);
	if (!err)
		err = add_endpoints(d, app_id, 0, eps, ids, n);
	if (err) {
		op_fail(res, 500, "%s: map update: %s", name, strerror(-err));
		slotlb_routing_delete(d->lb, app_id);
		undo_create(d, app_id, -1);
		goto out;
	}
	res->status = 201;
	op_history(d, name, "create", "production", NULL, trigger, "ok",
		   "app created", NULL, &res->history_id);
	log_msg("app %s created (id %u)", name, app_id);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_slot_create(struct daemon *d, const char *app, const char *slot,
		    const struct slotlb_endpoint_key *eps, size_t n,
		    const char *clone_from, const char *trigger,
		    struct op_result *res)
{
	uint32_t index, ids[64];
	struct st_slot from;
	struct st_app a;
	int err;

	if (n > 64) {
		op_fail(res, 400, "%s: at most 64 endpoints per request", slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, clone_from, &a, &from, true, res);
	if (err)
		goto out;
	err = state_begin(d->st);
	if (!err)
		err = state_slot_create(d->st, a.id, slot, &index);
	if (err) {
		if (err == -EEXIST)
			op_fail(res, 409, "%s/%s: slot already exists", app,
				slot);
		else if (err == -ENOSPC)
			op_fail(res, 409, "%s/%s: an app has at most %u slots",
				app, slot, SLOTLB_MAX_SLOTS);
		else if (err == -EINVAL)
			op_fail(res, 400, "%s: invalid slot name", slot);
		else
			op_fail(res, 500, "%s/%s: %s", app, slot,
				strerror(-err));
		goto out;
	}
	err = claim_endpoints(d, app, a.id, a.mode, index, eps, n, ids, res);
	if (err)
		goto out;
	if (clone_from)
		err = state_slot_config_copy(d->st, a.id, from.index, index);
	if (!err)
		err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s/%s: database commit: %s", app, slot,
			strerror(-err));
		goto out;
	}
	err = add_endpoints(d, a.id, index, eps, ids, n);
	if (err) {
		op_fail(res, 500, "%s/%s: map update: %s", app, slot,
			strerror(-err));
		undo_create(d, a.id, index);
		goto out;
	}
	res->status = 201;
	op_history(d, app, "create", slot, NULL, trigger, "ok",
		   clone_from ? "slot created, configuration cloned"
			      : "slot created",
		   NULL, &res->history_id);
	log_msg("slot %s/%s created (index %u)%s%s", app, slot, index,
		clone_from ? ", settings cloned from " : "",
		clone_from ? clone_from : "");
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* Delete an app (slot == NULL) or one slot. Endpoints leave the maps
 * before the commit; their deployments start draining. */
static int delete_common(struct daemon *d, const char *app, const char *slot,
			 const char *trigger, struct op_result *res)
{
	struct slotlb_routing old;
	struct st_snapshot s = {0};
	struct st_app a;
	struct st_slot sl;
	bool had_old = false;
	size_t i, removed = 0;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &sl, true, res);
	if (err)
		goto out;
	if (slot && sl.index == 0) {
		op_fail(res, 400,
			"%s/%s: the production slot cannot be deleted", app,
			slot);
		err = -EINVAL;
		goto out;
	}
	err = state_snapshot(d->st, a.id, &s);
	if (!err)
		err = state_begin(d->st);
	if (!err)
		err = slot ? state_slot_delete(d->st, a.id, sl.index, wall_ms())
			   : state_app_delete(d->st, a.id, wall_ms());
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	if (slot)
		err = publish_routing(d, a.id, &old, &had_old);
	else if (slotlb_routing_get(d->lb, a.id, &old) == 0)
		had_old = true;
	for (i = 0; i < s.n_endpoints && !err; i++) {
		if (slot && s.endpoints[i].slot != sl.index)
			continue;
		err = slotlb_endpoint_delete(d->lb, &s.endpoints[i].key);
		if (err == -ENOENT)
			err = 0;
		removed = i + 1;
	}
	if (!err && !slot) {
		err = slotlb_routing_delete(d->lb, a.id);
		if (err == -ENOENT)
			err = 0;
	}
	/* the app's history stays readable once it is gone */
	if (!err)
		op_history(d, app, "delete", slot, NULL, trigger, "ok",
			   slot ? "slot deleted" : "app deleted", NULL,
			   &res->history_id);
	if (!err)
		err = state_commit(d->st);
	if (err) {
		op_fail(res, 500, "%s: map update: %s", app, strerror(-err));
		for (i = 0; i < removed; i++) {
			struct slotlb_endpoint ep = {
				.app_id = a.id,
				.slot = s.endpoints[i].slot,
				.endpoint_id = s.endpoints[i].id,
			};

			if (!slot || s.endpoints[i].slot == sl.index)
				slotlb_endpoint_set(d->lb, &s.endpoints[i].key,
						    &ep);
		}
		restore_routing(d, a.id, &old, had_old);
		goto out;
	}
	res->status = 204;
	log_msg("%s%s%s deleted", app, slot ? "/" : "", slot ? slot : "");
out:
	state_rollback(d->st);
	state_snapshot_free(&s);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_app_delete(struct daemon *d, const char *name, const char *trigger,
		   struct op_result *res)
{
	return delete_common(d, name, NULL, trigger, res);
}

int ops_slot_delete(struct daemon *d, const char *app, const char *slot,
		    const char *trigger, struct op_result *res)
{
	return delete_common(d, app, slot, trigger, res);
}
