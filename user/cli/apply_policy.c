/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb apply: a slot's health, drain and verification policies. Each
 * side is completed with the defaults the daemon uses (numbers as
 * reals), so a file and the daemon's export compare with json_equal(),
 * and a policy that differs is sent whole: PUT .../health (DELETE for
 * null), POST .../config {"drain": ...} or {"verify": ...}.
 */
#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "validate.h"

/* A health policy with every field; null for none. */
static json_t *full_health(json_t *h)
{
	struct health_policy d;
	json_t *st;

	if (!json_is_object(h))
		return json_null();
	health_policy_default(&d);
	st = json_object_get(h, "statuses");
	if (!st) {
		size_t i;

		st = json_array();
		for (i = 0; i < d.probe.n_statuses; i++)
			json_array_append_new(
				st, json_integer(d.probe.statuses[i]));
	} else {
		st = json_deep_copy(st);
	}
	return json_pack(
		"{s:s, s:s, s:o, s:f, s:s, s:f, s:f, s:f, s:s}", "mode",
		jstr(h, "mode") ? jstr(h, "mode")
				: warmup_mode_name(d.probe.mode),
		"path", jstr(h, "path") ? jstr(h, "path") : d.probe.path,
		"statuses", st, "timeout_s",
		num(h, "timeout_s", d.probe.timeout_ms / 1000.0), "host",
		jstr(h, "host") ? jstr(h, "host") : "", "interval_s",
		num(h, "interval_s", d.interval_ms / 1000.0), "unhealthy_after",
		num(h, "unhealthy_after", d.unhealthy_after), "healthy_after",
		num(h, "healthy_after", d.healthy_after), "tcp",
		jstr(h, "tcp") ? jstr(h, "tcp") : health_tcp_name(d.tcp));
}

/* A drain policy with every field (no timeout: null; the rate a whole
 * number, as the API takes it); the default for none. */
static json_t *full_drain(json_t *dr)
{
	json_t *t = json_object_get(dr, "timeout_s");

	return json_pack(
		"{s:o, s:s, s:I}", "timeout_s",
		json_is_number(t) ? json_real(json_number_value(t))
				  : json_null(),
		"on_timeout",
		jstr(dr, "on_timeout") ? jstr(dr, "on_timeout") : "leave",
		"reset_rate",
		(json_int_t)num(dr, "reset_rate", DRAIN_DEFAULT_RESET_RATE));
}

/* A verification with every field ("" and -1 for the checks it does
 * not make); null for none. */
static json_t *full_verify(json_t *v)
{
	if (!json_is_object(v))
		return json_null();
	return json_pack(
		"{s:f, s:s, s:s, s:s, s:f, s:f}", "for_s", num(v, "for_s", 0),
		"on_failure",
		jstr(v, "on_failure") ? jstr(v, "on_failure") : "rollback",
		"http", jstr(v, "http") ? jstr(v, "http") : "", "exec",
		jstr(v, "exec") ? jstr(v, "exec") : "", "max_reset_ratio",
		num(v, "max_reset_ratio", -1), "max_handshake_failure_ratio",
		num(v, "max_handshake_failure_ratio", -1));
}

/* Do want[key] and have[key], completed by full(), differ? */
static bool differs(json_t *want, json_t *have, const char *key,
		    json_t *(*full)(json_t *))
{
	json_t *a = full(json_object_get(want, key));
	json_t *b = full(json_object_get(have, key));
	bool diff = !json_equal(a, b);

	json_decref(a);
	json_decref(b);
	return diff;
}

void plan_policies(struct plan *p, const char *app, const char *slot,
		   json_t *want, json_t *have)
{
	json_t *v;

	v = json_object_get(want, "health");
	if (v && differs(want, have, "health", full_health)) {
		if (json_is_null(v))
			add_step(p, "DELETE", app_path(app, slot, "/health"),
				 NULL, "health checks of %s/%s off", app, slot);
		else
			add_step(p, "PUT", app_path(app, slot, "/health"),
				 full_health(v),
				 "set the health policy of %s/%s", app, slot);
	}
	v = json_object_get(want, "drain");
	if (v && differs(want, have, "drain", full_drain))
		add_step(p, "POST", app_path(app, slot, "/config"),
			 json_pack("{s:o}", "drain", full_drain(v)),
			 "set the drain policy of %s/%s", app, slot);
	v = json_object_get(want, "verify");
	if (v && differs(want, have, "verify", full_verify))
		add_step(p, "POST", app_path(app, slot, "/config"),
			 json_pack("{s:O}", "verify", v),
			 json_is_null(v) ? "verification of %s/%s off"
					 : "set the verification of %s/%s",
			 app, slot);
}
