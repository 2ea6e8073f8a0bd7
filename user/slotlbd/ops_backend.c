/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drain control: single backends of the deployment in a slot taken out
 * of its ring (drain), put back (undrain) or reweighted, without a new
 * deployment. (A slot's drain policy is set with the rest of its
 * configuration, ops_config_set.)
 *
 * A backend change builds the deployment's rings again from every
 * backend's weight (a drained one weighs 0) and publishes them whole,
 * as a deploy does (slotlb_deployment_publish: a new frozen inner map,
 * then one reference update), so Maglev moves only that backend's share
 * of new flows; its pinned flows keep running and are counted (status).
 * The ring is written before the commit; a failed commit writes the old
 * weights back, and a crash in between leaves an edited ring that
 * reconcile rebuilds from the database (the backend_drain row).
 *
 * The end of a drain (its deadline, resets, retirement, the drained
 * event) is the drain thread's (drain.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

void drain_policy_text(const struct st_drain_policy *p, char *buf, size_t len)
{
	if (!p->timeout_ms)
		snprintf(buf, len, "drain: no timeout, leave");
	else if (!p->reset)
		snprintf(buf, len, "drain: timeout %g s, leave",
			 p->timeout_ms / 1000.0);
	else
		snprintf(buf, len, "drain: timeout %g s, reset at %u/s",
			 p->timeout_ms / 1000.0, p->reset_rate);
}

json_t *drain_policy_json(const struct st_drain_policy *p)
{
	return json_pack(
		"{s:b, s:o, s:s, s:i}", "stored", p->stored, "timeout_s",
		p->timeout_ms ? json_real(p->timeout_ms / 1000.0) : json_null(),
		"on_timeout", p->reset ? "reset" : "leave", "reset_rate",
		(json_int_t)p->reset_rate);
}

/* Which of dep's n backends its health checks took out of the ring
 * (down and not kept for fail open): out[i]. */
static int health_out(struct daemon *d, const struct st_deployment *dep,
		      const struct st_backend *bes, size_t n, bool *out)
{
	struct st_backend_health *rows = NULL;
	size_t i, k, nrows = 0;
	int err;

	err = state_backend_health_list(d->st, dep->serial, &rows, &nrows);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		out[i] = false;
		for (k = 0; k < nrows; k++)
			if (rows[k].id == bes[i].id)
				out[i] = rows[k].down && !rows[k].in_ring;
	}
	free(rows);
	return 0;
}

/* Weight of bes[i] in its ring: drained or taken out by its health
 * checks, 0. */
static uint32_t ring_weight(const struct st_backend *bes, const bool *out,
			    size_t i)
{
	return out[i] ? 0 : st_backend_ring_weight(&bes[i]);
}

/* Publish dep's rings with its backends' ring weights. */
static int republish(struct daemon *d, const struct st_app *a,
		     const struct st_deployment *dep,
		     const struct st_backend *bes, const bool *out)
{
	struct slotlb_deployment_info info = {0};
	uint32_t *ids, *weights;
	size_t i, n = dep->backend_count;
	int err = -ENOMEM;

	ids = calloc(n, sizeof(*ids));
	weights = calloc(n, sizeof(*weights));
	if (ids && weights) {
		for (i = 0; i < n; i++) {
			ids[i] = bes[i].id;
			weights[i] = ring_weight(bes, out, i);
		}
		info.app_id = a->id;
		info.backend_count = (uint32_t)n;
		memcpy(info.version, dep->version, sizeof(info.version));
		err = slotlb_deployment_publish(d->lb, dep->id, &info, ids,
						weights, n);
	}
	free(ids);
	free(weights);
	return err;
}

/* Would every backend of be's family weigh 0? */
static bool family_empty(const struct st_backend *bes, const bool *out,
			 size_t n, uint8_t family)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (bes[i].be.family == family && ring_weight(bes, out, i))
			return false;
	return true;
}

int ops_backend_change(struct daemon *d, const char *app, const char *slot,
		       const struct backend_change *ch, const char *trigger,
		       struct op_result *res)
{
	struct st_deployment dep;
	struct st_backend *bes = NULL, *b = NULL, old;
	bool *out = NULL;
	char addr[64], detail[256];
	struct st_app a;
	struct st_slot s;
	size_t i, n = 0;
	int err;

	slotlb_format_backend(&ch->be, addr, sizeof(addr));
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (err)
		goto out;
	if (d->busy[a.id]) {
		op_fail(res, 409, "%s: busy: %s", app, d->busy[a.id]);
		err = -EBUSY;
		goto out;
	}
	if (!s.deployment) {
		op_fail(res, 404, "%s/%s: the slot is empty", app, slot);
		err = -ENOENT;
		goto out;
	}
	err = state_deployment_get(d->st, s.deployment, &dep, &bes, &n);
	if (err) {
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	out = calloc(n + 1, sizeof(*out));
	err = out ? health_out(d, &dep, bes, n, out) : -ENOMEM;
	if (err) {
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	for (i = 0; i < n && !b; i++)
		if (!memcmp(&bes[i].be, &ch->be, sizeof(ch->be)))
			b = &bes[i];
	if (!b) {
		op_fail(res, 404, "%s: not a backend of %s/%s (deployment %u)",
			addr, app, slot, dep.id);
		err = -ENOENT;
		goto out;
	}
	old = *b;
	switch (ch->kind) {
	case BACKEND_DRAIN:
		b->drained = true;
		b->drained_since_ms =
			old.drained ? old.drained_since_ms : wall_ms();
		b->drain_timeout_ms = ch->timeout_ms;
		snprintf(detail, sizeof(detail), "drain %s", addr);
		if (ch->timeout_ms)
			snprintf(detail + strlen(detail),
				 sizeof(detail) - strlen(detail),
				 ", reset its flows after %g s",
				 ch->timeout_ms / 1000.0);
		break;
	case BACKEND_UNDRAIN:
		b->drained = false;
		b->drained_since_ms = 0;
		b->drain_timeout_ms = 0;
		snprintf(detail, sizeof(detail), "undrain %s", addr);
		break;
	default: /* BACKEND_WEIGHT; 0 drains */
		if (!ch->weight) {
			b->drained = true;
			b->drained_since_ms =
				old.drained ? old.drained_since_ms : wall_ms();
			b->drain_timeout_ms = 0;
		} else {
			b->weight = ch->weight;
			b->drained = false;
			b->drained_since_ms = 0;
			b->drain_timeout_ms = 0;
		}
		snprintf(detail, sizeof(detail), "weight %s %u%s", addr,
			 ch->weight, ch->weight ? "" : " (drained)");
		break;
	}
	if (family_empty(bes, out, n, b->be.family)) {
		op_fail(res, 409,
			"%s: the last backend of its family in %s/%s taking new connections",
			addr, app, slot);
		err = -EBUSY;
		goto out;
	}
	err = state_begin(d->st);
	if (!err && b->weight != old.weight)
		err = state_backend_weight_set(d->st, dep.serial, b->id,
					       b->weight);
	if (!err)
		err = state_backend_drain_set(d->st, dep.serial, b->id,
					      b->drained, b->drained_since_ms,
					      b->drain_timeout_ms);
	if (err) {
		state_rollback(d->st);
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	/* the ring first: nothing commits that the maps do not have */
	err = republish(d, &a, &dep, bes, out);
	if (err) {
		state_rollback(d->st);
		op_fail(res, 500, "%s/%s: map update: %s", app, slot,
			strerror(-err));
		goto out;
	}
	op_history(d, app, "backend", slot, NULL, trigger, "ok", detail, NULL,
		   &res->history_id);
	err = state_commit(d->st);
	if (err) {
		state_rollback(d->st);
		*b = old;
		republish(d, &a, &dep, bes, out);
		op_fail(res, 500, "%s/%s: database: %s", app, slot,
			strerror(-err));
		goto out;
	}
	/* back in the ring: its flows are not reset any more */
	if (!b->drained)
		slotlb_backend_drain_set(d->lb, b->id, 0);
	res->status = 200;
	log_msg("backend %s/%s: %s", app, slot, detail);
out:
	free(bes);
	free(out);
	pthread_mutex_unlock(&d->lock);
	return err;
}
