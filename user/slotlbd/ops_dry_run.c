/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * `slot swap --dry-run`: what a swap would do, read under the lock for a
 * moment (one consistent view) and changing nothing; it does not take
 * the app's busy flag, so it answers even while a swap runs. The portal
 * of Azure shows the same before a swap with preview: which deployment
 * goes where, and the settings each side would change (names; values
 * only when asked for), plus the warm-up policy that gates it and the
 * endpoints, which stay with their slots.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

json_t *warmup_policy_json(const struct warmup_policy *p)
{
	json_t *st = json_array();
	size_t i;

	for (i = 0; i < p->n_statuses; i++)
		json_array_append_new(st, json_integer(p->statuses[i]));
	return json_pack("{s:s, s:s, s:o, s:f, s:I, s:f, s:I, s:s?}", "mode",
			 warmup_mode_name(p->mode), "path", p->path, "statuses",
			 st, "timeout_s", p->timeout_ms / 1000.0, "retries",
			 (json_int_t)p->retries, "deadline_s",
			 p->deadline_ms / 1000.0, "retry_delay_ms",
			 (json_int_t)p->retry_delay_ms, "host",
			 p->host[0] ? p->host : NULL);
}

/* Changes from before to after (both ordered by name): added, removed,
 * changed; what stays the same is left out. */
static json_t *settings_diff(const struct st_app_setting *b, size_t nb,
			     const struct st_app_setting *a, size_t na,
			     bool show_values)
{
	json_t *out = json_array(), *e;
	size_t i = 0, j = 0;
	int c;

	while (i < nb || j < na) {
		c = i == nb ? 1 : j == na ? -1 : strcmp(b[i].name, a[j].name);
		/* the same value from the other side changes nothing the
		 * app sees */
		if (c == 0 && !strcmp(b[i].value, a[j].value)) {
			i++, j++;
			continue;
		}
		e = json_pack("{s:s, s:s}", "name",
			      c <= 0 ? b[i].name : a[j].name, "change",
			      c < 0   ? "removed"
			      : c > 0 ? "added"
				      : "changed");
		if (c <= 0)
			json_object_set_new(e, "before_sticky",
					    json_boolean(b[i].sticky));
		if (c >= 0)
			json_object_set_new(e, "after_sticky",
					    json_boolean(a[j].sticky));
		if (show_values && c <= 0)
			json_object_set_new(e, "before",
					    json_string(b[i].value));
		if (show_values && c >= 0)
			json_object_set_new(e, "after",
					    json_string(a[j].value));
		json_array_append_new(out, e);
		i += c <= 0;
		j += c >= 0;
	}
	return out;
}

/* The settings of deployment in slot now and in slot after. */
static json_t *side_diff(struct daemon *d, uint32_t app_id, int64_t dep,
			 uint32_t now, uint32_t after, bool show_values,
			 int *err)
{
	struct st_app_setting *b = NULL, *a = NULL;
	size_t nb = 0, na = 0;
	json_t *o = NULL;

	if (!dep)
		return json_array();
	*err = state_effective_settings(d->st, app_id, now, dep, &b, &nb);
	if (!*err)
		*err = state_effective_settings(d->st, app_id, after, dep, &a,
						&na);
	if (!*err)
		o = settings_diff(b, nb, a, na, show_values);
	state_app_settings_free(b, nb);
	state_app_settings_free(a, na);
	return o;
}

static json_t *move_json(struct daemon *d, int64_t serial, const char *from,
			 const char *to)
{
	struct st_deployment dep;

	if (!serial || state_deployment_get(d->st, serial, &dep, NULL, NULL))
		return json_null();
	return json_pack("{s:I, s:s, s:s, s:s}", "deployment",
			 (json_int_t)dep.id, "version", dep.version, "from",
			 from, "to", to);
}

static json_t *endpoints_json(const struct st_snapshot *s, uint32_t slot)
{
	char buf[SLOTLB_ENDPOINT_STRLEN];
	json_t *a = json_array();
	size_t i;

	for (i = 0; i < s->n_endpoints; i++) {
		if (s->endpoints[i].slot != slot)
			continue;
		if (slotlb_format_endpoint(&s->endpoints[i].key, buf,
					   sizeof(buf)))
			snprintf(buf, sizeof(buf), "?");
		json_array_append_new(a, json_string(buf));
	}
	return a;
}

json_t *ops_swap_dry_run(struct daemon *d, const char *app, const char *slot,
			 const char *target, const struct warmup_override *o,
			 bool show_values, struct op_result *res)
{
	struct st_slot_config tc, sc;
	struct st_snapshot snap = {0};
	struct warmup_policy p;
	struct st_app a;
	struct st_slot s, t;
	char text[WARMUP_PATH_LEN + WARMUP_HOST_LEN + 256];
	const char *why = NULL;
	json_t *out = NULL, *src = NULL, *tgt = NULL;
	int err;

	if (!target)
		target = "production";
	if (!strcmp(slot, target)) {
		op_fail(res, 400, "%s/%s: cannot swap a slot with itself", app,
			slot);
		return NULL;
	}
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (!err)
		err = ops_lookup(d, app, target, &a, &t, false, res);
	if (err)
		goto out;
	if (!s.deployment) {
		op_fail(res, 409, "%s/%s: slot has no deployment to swap", app,
			slot);
		goto out;
	}
	err = state_slot_config_get(d->st, a.id, t.index, &tc);
	if (!err)
		err = state_slot_config_get(d->st, a.id, s.index, &sc);
	if (!err)
		err = state_snapshot(d->st, a.id, &snap);
	if (!err)
		src = side_diff(d, a.id, s.deployment, s.index, t.index,
				show_values, &err);
	if (!err)
		tgt = side_diff(d, a.id, t.deployment, t.index, s.index,
				show_values, &err);
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	p = tc.warmup;
	if (o)
		warmup_policy_apply(&p, o);
	if (validate_warmup_policy(&p, &why)) {
		op_fail(res, 400, "warmup: %s", why);
		goto out;
	}
	warmup_policy_text(&p, text, sizeof(text));
	out = json_pack(
		"{s:b, s:s, s:s, s:[o, o], s:{s:o, s:o}, s:o, s:s, s:{s:s?, s:s?}, s:{s:o, s:o}, s:b}",
		"dry_run", 1, "slot", slot, "target_slot", target, "moves",
		move_json(d, s.deployment, slot, target),
		move_json(d, t.deployment, target, slot), "settings", "source",
		src, "target", tgt, "warmup", warmup_policy_json(&p),
		"warmup_text", text, "hooks", "source",
		sc.hook.exec[0] ? sc.hook.exec : NULL, "target",
		tc.hook.exec[0] ? tc.hook.exec : NULL, "endpoints", slot,
		endpoints_json(&snap, s.index), target,
		endpoints_json(&snap, t.index), "pending",
		ops_pending_of(d, a.id, NULL) == 0);
	src = tgt = NULL;
	res->status = 200;
out:
	json_decref(src);
	json_decref(tgt);
	state_snapshot_free(&snap);
	pthread_mutex_unlock(&d->lock);
	return out;
}
