/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The declarative form of an app (`slotlb export`, `slotlb apply`): its
 * slots with their endpoints, warm-up, health, drain and verification
 * policies, hook, auto swap, sticky settings and the deployment each
 * holds (version, backends, swapped settings), read in one consistent
 * view. The app's event hooks are not in it: their secrets never leave
 * the daemon, and a receiver is the concern of each place. Nothing volatile
 * (ids, times, flow counts) is in it, so exporting twice gives the same text,
 * and applying it to another daemon and exporting there gives it again. Values
 * of settings are in it only when asked for; otherwise they are null ("whatever
 * is there").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "ops_int.h"

static json_t *settings_object(const struct st_app_setting *s, size_t n,
			       bool show_values)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, s[i].name,
				    show_values ? json_string(s[i].value)
						: json_null());
	return o;
}

static json_t *deployment_object(struct daemon *d, int64_t serial,
				 bool show_values, int *err)
{
	struct st_app_setting *set = NULL;
	struct st_backend *bes = NULL;
	struct st_deployment dep;
	char addr[SLOTLB_ENDPOINT_STRLEN], buf[SLOTLB_ENDPOINT_STRLEN + 16];
	json_t *list, *o;
	size_t n = 0, ns = 0, i;

	*err = state_deployment_get(d->st, serial, &dep, &bes, &n);
	if (!*err)
		*err = state_deployment_settings(d->st, serial, &set, &ns);
	if (*err) {
		free(bes);
		return NULL;
	}
	list = json_array();
	for (i = 0; i < n; i++) {
		if (slotlb_format_backend(&bes[i].be, addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "?");
		if (bes[i].weight != 1)
			snprintf(buf, sizeof(buf), "%s,weight=%u", addr,
				 bes[i].weight);
		else
			snprintf(buf, sizeof(buf), "%s", addr);
		json_array_append_new(list, json_string(buf));
	}
	o = json_pack("{s:s, s:o, s:o}", "version", dep.version, "backends",
		      list, "settings", settings_object(set, ns, show_values));
	state_app_settings_free(set, ns);
	free(bes);
	return o;
}

static json_t *slot_object(struct daemon *d, const struct st_snapshot *s,
			   const struct st_slot *sl, bool show_values, int *err)
{
	char buf[SLOTLB_ENDPOINT_STRLEN];
	struct st_app_setting *set = NULL;
	struct st_slot_config c;
	struct health_policy hp;
	const char *target = NULL;
	json_t *eps = json_array(), *o, *dep = json_null(), *health = NULL;
	size_t i, ns = 0;

	for (i = 0; i < s->n_endpoints; i++) {
		if (s->endpoints[i].slot != sl->index)
			continue;
		if (slotlb_format_endpoint(&s->endpoints[i].key, buf,
					   sizeof(buf)))
			snprintf(buf, sizeof(buf), "?");
		json_array_append_new(eps, json_string(buf));
	}
	*err = state_slot_config_get(d->st, sl->app_id, sl->index, &c);
	if (!*err) {
		*err = state_slot_health_get(d->st, sl->app_id, sl->index, &hp);
		health = *err ? json_null() : health_policy_json(&hp);
		if (*err == -ENOENT)
			*err = 0;
	}
	if (!*err)
		*err = state_slot_settings(d->st, sl->app_id, sl->index, &set,
					   &ns);
	if (!*err && sl->deployment) {
		json_decref(dep);
		dep = deployment_object(d, sl->deployment, show_values, err);
	}
	if (*err) {
		json_decref(eps);
		json_decref(dep);
		json_decref(health);
		state_app_settings_free(set, ns);
		return NULL;
	}
	for (i = 0; i < s->n_slots; i++)
		if (c.has_auto_swap && s->slots[i].index == c.auto_swap_target)
			target = s->slots[i].name;
	o = json_pack(
		"{s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "name", sl->name,
		"endpoints", eps, "warmup", warmup_policy_json(&c.warmup),
		"hook",
		c.hook.exec[0]
			? json_pack("{s:s, s:f}", "exec", c.hook.exec,
				    "timeout_s", c.hook.timeout_ms / 1000.0)
			: json_null(),
		"auto_swap",
		target ? json_pack("{s:s, s:f}", "target_slot", target,
				   "delay_s", c.auto_swap_delay_ms / 1000.0)
		       : json_null(),
		"settings", settings_object(set, ns, show_values), "deployment",
		dep);
	/* policies after the rest: files exported before them read alike */
	json_object_set_new(o, "health", health);
	json_object_set_new(o, "drain", drain_policy_json(&c.drain));
	json_object_del(json_object_get(o, "drain"), "stored");
	json_object_set_new(o, "verify", verify_policy_json(&c.verify));
	state_app_settings_free(set, ns);
	return o;
}

json_t *ops_export(struct daemon *d, const char *app, bool show_values,
		   struct op_result *res)
{
	struct st_snapshot s = {0};
	json_t *slots = NULL, *o = NULL, *slot;
	struct st_app a;
	size_t i;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (err)
		goto out;
	err = state_snapshot(d->st, a.id, &s);
	slots = json_array();
	for (i = 0; !err && i < s.n_slots; i++) {
		slot = slot_object(d, &s, &s.slots[i], show_values, &err);
		if (slot)
			json_array_append_new(slots, slot);
	}
	if (err) {
		op_fail(res, 500, "%s: database: %s", app, strerror(-err));
		goto out;
	}
	/* the mode only when not the default: NAT apps export as before */
	o = json_pack("{s:[{s:s, s:O}]}", "apps", "name", app, "slots", slots);
	if (a.mode == SLOTLB_MODE_DSR)
		json_object_set_new(
			json_array_get(json_object_get(o, "apps"), 0), "mode",
			json_string("dsr"));
	res->status = 200;
out:
	json_decref(slots);
	state_snapshot_free(&s);
	pthread_mutex_unlock(&d->lock);
	return o;
}
