/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The transactional operations on apps, slots, deployments and
 * interfaces (swap and rollback are in swap.c).
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
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "addr.h"
#include "daemon.h"

void op_fail(struct op_result *res, int status, const char *fmt, ...)
{
	va_list ap;

	res->status = status;
	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
}

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int routing_from_state(struct state *st, uint32_t app_id,
		       struct slotlb_routing *r)
{
	const struct st_deployment *dep;
	struct st_snapshot s;
	size_t i;
	int err;

	err = state_snapshot(st, app_id, &s);
	if (err)
		return err;
	memset(r, 0, sizeof(*r));
	if (s.n_apps != 1) {
		err = -ENOENT;
		goto out;
	}
	r->generation = s.apps[0].generation;
	for (i = 0; i < s.n_slots; i++) {
		if (s.slots[i].index >= SLOTLB_MAX_SLOTS)
			continue;
		dep = st_snapshot_deployment(&s, s.slots[i].deployment);
		if (dep)
			r->deployment[s.slots[i].index] = dep->id;
		/* second chance for flows that lost their entry */
		dep = st_snapshot_deployment(&s, s.slots[i].previous);
		if (dep && dep->state != DEPLOYMENT_RETIRED)
			r->previous[s.slots[i].index] = dep->id;
	}
out:
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
	return 0;
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
			   uint32_t slot, const struct slotlb_endpoint_key *eps,
			   size_t n, uint32_t *ids, struct op_result *res)
{
	char buf[SLOTLB_ENDPOINT_STRLEN];
	uint32_t owner_app, owner_slot;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
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
		err = slot < 0 ? state_app_delete(d->st, app_id, now_ms())
			       : state_slot_delete(d->st, app_id,
						   (uint32_t)slot, now_ms());
	if (!err)
		err = state_commit(d->st);
	if (err) {
		state_rollback(d->st);
		log_msg("Error: app %u: undoing a failed create: %s", app_id,
			strerror(-err));
	}
}

int ops_app_create(struct daemon *d, const char *name,
		   const struct slotlb_endpoint_key *eps, size_t n,
		   struct op_result *res)
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
	err = claim_endpoints(d, name, app_id, 0, eps, n, ids, res);
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
	log_msg("app %s created (id %u)", name, app_id);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_slot_create(struct daemon *d, const char *app, const char *slot,
		    const struct slotlb_endpoint_key *eps, size_t n,
		    struct op_result *res)
{
	uint32_t index, ids[64];
	struct st_app a;
	int err;

	if (n > 64) {
		op_fail(res, 400, "%s: at most 64 endpoints per request", slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, true, res);
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
	err = claim_endpoints(d, app, a.id, index, eps, n, ids, res);
	if (err)
		goto out;
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
	log_msg("slot %s/%s created (index %u)", app, slot, index);
out:
	state_rollback(d->st);
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* Delete an app (slot == NULL) or one slot. Endpoints leave the maps
 * before the commit; their deployments start draining. */
static int delete_common(struct daemon *d, const char *app, const char *slot,
			 struct op_result *res)
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
		err = slot ? state_slot_delete(d->st, a.id, sl.index, now_ms())
			   : state_app_delete(d->st, a.id, now_ms());
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

int ops_app_delete(struct daemon *d, const char *name, struct op_result *res)
{
	return delete_common(d, name, NULL, res);
}

int ops_slot_delete(struct daemon *d, const char *app, const char *slot,
		    struct op_result *res)
{
	return delete_common(d, app, slot, res);
}

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
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(vbuf, sizeof(vbuf), "%Y%m%dT%H%M%SZ", &tm);
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
		err = state_deployment_set_state(d->st, sl.deployment,
						 DEPLOYMENT_DRAINING, now_ms());
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

int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     struct op_result *res)
{
	unsigned int ifindex = if_nametoindex(iface->ifname);
	int err;

	if (!ifindex) {
		op_fail(res, 404, "%s: no such interface", iface->ifname);
		return -ENODEV;
	}
	pthread_mutex_lock(&d->lock);
	/* persisted first: if we die before attaching, start-up attaches */
	err = state_iface_put(d->st, iface);
	if (err) {
		op_fail(res, 500, "%s: database: %s", iface->ifname,
			strerror(-err));
		goto out;
	}
	err = slotlb_attach(d->lb, (int)ifindex,
			    iface->generic ? SLOTLB_XDP_GENERIC
					   : SLOTLB_XDP_NATIVE,
			    iface->force, slotlb_parse_role(iface->role));
	if (err) {
		if (err == -EBUSY || err == -EEXIST)
			op_fail(res, 409,
				"%s: another XDP program is attached (force replaces it)",
				iface->ifname);
		else
			op_fail(res, 500, "%s: attach: %s", iface->ifname,
				strerror(-err));
		state_iface_delete(d->st, iface->ifname);
		goto out;
	}
	res->status = 201;
	log_msg("interface %s attached (%s, %s)", iface->ifname, iface->role,
		iface->generic ? "generic" : "native");
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_iface_detach(struct daemon *d, const char *ifname,
		     struct op_result *res)
{
	unsigned int ifindex = if_nametoindex(ifname);
	int err = 0, derr;

	pthread_mutex_lock(&d->lock);
	/* detached first: if we die before forgetting it, start-up
	 * attaches it again, as the database still says */
	if (ifindex) {
		err = slotlb_detach((int)ifindex);
		if (err == -EBUSY) {
			op_fail(res, 409,
				"%s: the XDP program there is not slotlb's",
				ifname);
			goto out;
		}
		if (err && err != -ENOENT) {
			op_fail(res, 500, "%s: detach: %s", ifname,
				strerror(-err));
			goto out;
		}
	}
	derr = state_iface_delete(d->st, ifname);
	if (derr == -ENOENT && (err == -ENOENT || !ifindex)) {
		op_fail(res, 404, "%s: %s", ifname,
			ifindex ? "not attached" : "no such interface");
		err = -ENOENT;
		goto out;
	}
	if (derr && derr != -ENOENT) {
		op_fail(res, 500, "%s: database: %s", ifname, strerror(-derr));
		err = derr;
		goto out;
	}
	err = 0;
	res->status = 204;
	log_msg("interface %s detached", ifname);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}
