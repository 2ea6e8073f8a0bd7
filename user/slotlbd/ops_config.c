/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Slot configuration: what a slot keeps across deployments
 * (state_slot_config.c). Its warm-up policy, its apply-settings hook and
 * its auto swap are sticky to the slot, like Azure's slot-specific
 * settings: the policy describes what a deployment must show before it
 * takes this slot's traffic, so a swap, rollback, preview or auto swap
 * into a slot uses that slot's (the target's) policy, never one the
 * candidate brings along; a call may still override fields for itself.
 *
 * Each request is one transaction, with a history entry ("config") per
 * part it changes (warm-up, drain, verification): a part refused changes
 * none of the others. An
 * auto swap that would chain (its target auto-swaps on, or another slot
 * auto-swaps into it) or loop is refused with 409: one deploy moves one
 * deployment, once.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ops_int.h"

int ops_config_get(struct daemon *d, const char *app, const char *slot,
		   struct st_slot_config *c, char *target, size_t target_len,
		   struct op_result *res)
{
	struct st_snapshot s = {0};
	struct st_app a;
	struct st_slot sl;
	size_t i;
	int err;

	target[0] = 0;
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &sl, false, res);
	if (!err)
		err = state_slot_config_get(d->st, a.id, sl.index, c);
	if (!err && c->has_auto_swap)
		err = state_snapshot(d->st, a.id, &s);
	for (i = 0; !err && i < s.n_slots; i++)
		if (s.slots[i].index == c->auto_swap_target)
			snprintf(target, target_len, "%s", s.slots[i].name);
	if (err && !res->status)
		op_fail(res, 500, "%s/%s: configuration: %s", app, slot,
			strerror(-err));
	if (!err)
		res->status = 200;
	state_snapshot_free(&s);
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* Under the lock: -ENOENT with a 404 when the slot has no what to
 * remove. */
static int none_to_remove(const char *app, const char *slot, const char *what,
			  struct op_result *res)
{
	op_fail(res, 404, "%s/%s: slot has no %s", app, slot, what);
	return -ENOENT;
}

int ops_config_hook(struct daemon *d, const char *app, const char *slot,
		    const struct st_hook *hook, const char *trigger,
		    struct op_result *res)
{
	char detail[HOOK_PATH_LEN + 64];
	struct st_slot_config c;
	struct st_app a;
	struct st_slot s;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_config_lookup(d, app, slot, &a, &s, &c, res);
	if (!err && !hook && !c.hook.exec[0])
		err = none_to_remove(app, slot, "hook", res);
	if (err)
		goto out;
	if (hook)
		snprintf(detail, sizeof(detail), "hook: %s, timeout %g s",
			 hook->exec, hook->timeout_ms / 1000.0);
	else
		snprintf(detail, sizeof(detail), "hook removed");
	err = state_begin(d->st);
	if (!err)
		err = state_slot_hook_set(d->st, a.id, s.index, hook);
	err = ops_config_commit(d, app, slot, "configuration", detail, trigger,
				err, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

/* The chain and loop rule, under the lock. */
static int auto_swap_allowed(struct daemon *d, const char *app, uint32_t app_id,
			     const struct st_slot *s, const struct st_slot *t,
			     struct op_result *res)
{
	struct st_snapshot snap = {0};
	struct st_slot_config tc;
	const char *other = "?";
	uint32_t from;
	size_t i;
	int err;

	err = state_slot_config_get(d->st, app_id, t->index, &tc);
	if (!err && tc.has_auto_swap) {
		op_fail(res, 409,
			"%s/%s: %s auto-swaps itself: an auto swap into it would chain (or loop)",
			app, s->name, t->name);
		return -ELOOP;
	}
	if (!err)
		err = state_auto_swap_into(d->st, app_id, s->index, &from);
	if (err == -ENOENT)
		return 0;
	if (!err)
		err = state_snapshot(d->st, app_id, &snap);
	for (i = 0; !err && i < snap.n_slots; i++)
		if (snap.slots[i].index == from)
			other = snap.slots[i].name;
	if (!err)
		op_fail(res, 409,
			"%s/%s: %s auto-swaps into %s: auto swap from it would chain (or loop)",
			app, s->name, other, s->name);
	else
		op_fail(res, 500, "%s/%s: configuration: %s", app, s->name,
			strerror(-err));
	state_snapshot_free(&snap);
	return err ? err : -ELOOP;
}

int ops_config_auto_swap(struct daemon *d, const char *app, const char *slot,
			 const char *target, uint32_t delay_ms, bool off,
			 const char *trigger, struct op_result *res)
{
	struct st_slot_config c;
	char detail[256];
	struct st_app a;
	struct st_slot s, t;
	int err;

	if (!target)
		target = "production";
	if (!off && !strcmp(slot, target)) {
		op_fail(res, 400, "%s/%s: a slot cannot auto-swap into itself",
			app, slot);
		return -EINVAL;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_config_lookup(d, app, slot, &a, &s, &c, res);
	if (!err && !off)
		err = ops_lookup(d, app, target, &a, &t, true, res);
	if (!err && off && !c.has_auto_swap)
		err = none_to_remove(app, slot, "auto swap", res);
	if (!err && !off)
		err = auto_swap_allowed(d, app, a.id, &s, &t, res);
	if (err) {
		if (!res->status)
			op_fail(res, 500, "%s/%s: configuration: %s", app, slot,
				strerror(-err));
		goto out;
	}
	if (off)
		snprintf(detail, sizeof(detail), "auto swap off");
	else
		snprintf(detail, sizeof(detail),
			 "auto swap into %s, %g s after a deploy", target,
			 delay_ms / 1000.0);
	err = state_begin(d->st);
	if (!err)
		err = off ? state_auto_swap_delete(d->st, a.id, s.index)
			  : state_auto_swap_set(d->st, a.id, s.index, t.index,
						delay_ms);
	err = ops_config_commit(d, app, slot, "configuration", detail, trigger,
				err, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

json_t *verify_policy_json(const struct verify_policy *p)
{
	char http[WARMUP_PATH_LEN + WARMUP_MAX_STATUSES * 4 + 2];
	size_t i, off;
	json_t *v;

	if (!p->for_ms)
		return json_null();
	v = json_pack("{s:f, s:s}", "for_s", p->for_ms / 1000.0, "on_failure",
		      p->on_failure == VERIFY_ALERT ? "alert" : "rollback");
	if (p->http_path[0]) {
		off = (size_t)snprintf(http, sizeof(http), "%s", p->http_path);
		for (i = 0; i < p->n_statuses && off < sizeof(http); i++)
			off += (size_t)snprintf(http + off, sizeof(http) - off,
						"%s%d", i ? "," : "=",
						p->statuses[i]);
		json_object_set_new(v, "http", json_string(http));
	}
	if (p->exec[0])
		json_object_set_new(v, "exec", json_string(p->exec));
	if (p->max_reset_ratio >= 0)
		json_object_set_new(v, "max_reset_ratio",
				    json_real(p->max_reset_ratio));
	if (p->max_handshake_failure_ratio >= 0)
		json_object_set_new(v, "max_handshake_failure_ratio",
				    json_real(p->max_handshake_failure_ratio));
	return v;
}

/* "verify 60 s, http /healthz, exec /x, resets <= 0.1, rollback" */
static void verify_text(const struct verify_policy *p, char *buf, size_t len)
{
	size_t off;

	off = (size_t)snprintf(buf, len, "verification: %g s",
			       p->for_ms / 1000.0);
	if (p->http_path[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, ", http %s",
					p->http_path);
	if (p->exec[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, ", exec %s",
					p->exec);
	if (p->max_reset_ratio >= 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off,
					", reset ratio <= %g",
					p->max_reset_ratio);
	if (p->max_handshake_failure_ratio >= 0 && off < len)
		off += (size_t)snprintf(buf + off, len - off,
					", handshake failure ratio <= %g",
					p->max_handshake_failure_ratio);
	if (off < len)
		snprintf(buf + off, len - off, ", then %s",
			 p->on_failure == VERIFY_ALERT ? "alert" : "rollback");
}

int ops_config_set(struct daemon *d, const char *app, const char *slot,
		   const struct warmup_override *warmup,
		   const struct drain_override *drain, bool set_verify,
		   const struct verify_policy *vp, const char *trigger,
		   struct op_result *res)
{
	char wdetail[WARMUP_PATH_LEN + WARMUP_HOST_LEN + 256];
	char vdetail[WARMUP_PATH_LEN + 512], ddetail[160];
	bool set_warmup = warmup && warmup->fields;
	struct st_drain_policy p;
	struct st_slot_config c;
	const char *why = NULL;
	struct st_app a;
	struct st_slot s;
	int err;

	pthread_mutex_lock(&d->lock);
	/* the warm-up policy and the verification wait for a busy or
	 * pending app; the drain policy does not */
	if (set_warmup || set_verify)
		err = ops_config_lookup(d, app, slot, &a, &s, &c, res);
	else
		err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (!err && drain)
		err = state_slot_drain_get(d->st, a.id, s.index, &p);
	if (err) {
		if (!res->status)
			op_fail(res, 500, "%s/%s: configuration: %s", app, slot,
				strerror(-err));
		goto out;
	}
	/* every part is checked before anything is written */
	if (set_warmup) {
		warmup_policy_apply(&c.warmup, warmup);
		if (validate_warmup_policy(&c.warmup, &why)) {
			op_fail(res, 400, "warmup: %s", why);
			err = -EINVAL;
			goto out;
		}
		snprintf(wdetail, sizeof(wdetail), "warm-up policy: ");
		warmup_policy_text(&c.warmup, wdetail + strlen(wdetail),
				   sizeof(wdetail) - strlen(wdetail));
	}
	if (drain) {
		if (drain->has_timeout)
			p.timeout_ms = drain->timeout_ms;
		if (drain->has_reset)
			p.reset = drain->reset;
		if (drain->has_rate)
			p.reset_rate = drain->reset_rate;
		if (p.reset && !p.timeout_ms) {
			op_fail(res, 400,
				"%s/%s: drain: reset needs a drain timeout (--drain-timeout)",
				app, slot);
			err = -EINVAL;
			goto out;
		}
		drain_policy_text(&p, ddetail, sizeof(ddetail));
	}
	if (set_verify && !vp && !c.has_verify) {
		err = none_to_remove(app, slot, "verification", res);
		goto out;
	}
	if (set_verify && vp)
		verify_text(vp, vdetail, sizeof(vdetail));
	else if (set_verify)
		snprintf(vdetail, sizeof(vdetail), "verification removed");
	err = state_begin(d->st);
	if (!err && set_warmup)
		err = state_slot_warmup_set(d->st, a.id, s.index, &c.warmup);
	if (!err && drain)
		err = state_slot_drain_set(d->st, a.id, s.index, &p);
	if (!err && set_verify)
		err = state_slot_verify_set(d->st, a.id, s.index, vp);
	if (!err && set_warmup && (drain || set_verify))
		op_history(d, app, "config", slot, NULL, trigger, "ok", wdetail,
			   NULL, &res->history_id);
	if (!err && drain && set_verify)
		op_history(d, app, "config", slot, NULL, trigger, "ok", ddetail,
			   NULL, &res->history_id);
	/* the last part's entry, and the commit */
	err = ops_config_commit(d, app, slot, "configuration",
				set_verify ? vdetail
				: drain	   ? ddetail
					   : wdetail,
				trigger, err, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}
