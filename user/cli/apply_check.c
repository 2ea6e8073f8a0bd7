/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb apply's check of a whole file before anything is asked of the
 * daemon: the shape (an object of apps, each with slots), no unknown
 * key, no app or slot twice, and every value (policies whole) by the
 * rules slotlbd applies itself (user/lib/validate.c), so a file that
 * would fail half way fails at once, with the path of what is wrong in it
 * ("apps[0].slots[1].warmup: retries must be a number") and exit 2.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "validate.h"

int apply_bad(const char *file, const char *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return usage_err("apply: %s: %s: %s", file, at, msg);
}

/* "AT.KEY" into buf, cut short if long. */
static void sub_at(char *buf, size_t len, const char *at, const char *key)
{
	if (snprintf(buf, len, "%s.%s", at, key) >= (int)len)
		buf[len - 1] = 0;
}

/* Only the keys of allowed (NULL-terminated); o must be an object. */
static int check_keys(const char *file, const char *at, json_t *o,
		      const char *const *allowed)
{
	const char *key;
	json_t *v;
	size_t i;

	if (!json_is_object(o))
		return apply_bad(file, at, "must be an object");
	json_object_foreach(o, key, v)
	{
		for (i = 0; allowed[i] && strcmp(allowed[i], key); i++)
			;
		if (!allowed[i])
			return apply_bad(file, at, "unknown key \"%s\"", key);
	}
	return 0;
}

static int check_number(const char *file, const char *at, json_t *o,
			const char *key, int (*rule)(double, const char **))
{
	json_t *v = json_object_get(o, key);
	const char *why;

	if (!v)
		return 0;
	if (!json_is_number(v))
		return apply_bad(file, at, "%s must be a number", key);
	if (rule && rule(json_number_value(v), &why))
		return apply_bad(file, at, "%s: %s", key, why);
	return 0;
}

/* A number's key and rule. */
struct number_rule {
	const char *key;
	int (*rule)(double, const char **);
};

/* Each of the n numbers of o that is there, by its rule. */
static int check_numbers(const char *file, const char *at, json_t *o,
			 const struct number_rule *r, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && !rc; i++)
		rc = check_number(file, at, o, r[i].key, r[i].rule);
	return rc;
}

/* The probe fields a warm-up and a health policy share: mode, path,
 * host, statuses. */
static int check_probe(const char *file, const char *at, json_t *w)
{
	enum warmup_mode mode;
	const char *why;
	json_t *v;
	size_t i;

	v = json_object_get(w, "mode");
	if (v && validate_warmup_mode(json_string_value(v), &mode, &why))
		return apply_bad(file, at, "%s", why);
	v = json_object_get(w, "path");
	if (v && (!json_is_string(v) ||
		  validate_warmup_path(json_string_value(v), &why)))
		return apply_bad(file, at, "path: %s",
				 json_is_string(v) ? why : "must be a string");
	v = json_object_get(w, "host");
	if (v && !json_is_null(v) &&
	    (!json_is_string(v) ||
	     validate_warmup_host(json_string_value(v), &why)))
		return apply_bad(file, at, "host: %s",
				 json_is_string(v) ? why : "must be a string");
	v = json_object_get(w, "statuses");
	if (v &&
	    (!json_is_array(v) || json_array_size(v) > WARMUP_MAX_STATUSES))
		return apply_bad(
			file, at,
			"statuses must be an array of at most %d codes",
			WARMUP_MAX_STATUSES);
	for (i = 0; v && i < json_array_size(v); i++)
		if (!json_is_integer(json_array_get(v, i)) ||
		    validate_warmup_status(
			    (long)json_integer_value(json_array_get(v, i)),
			    &why))
			return apply_bad(file, at, "statuses: %s",
					 json_is_integer(json_array_get(v, i))
						 ? why
						 : "must be integers");
	return 0;
}

static int check_warmup(const char *file, const char *at, json_t *w)
{
	static const char *const keys[] = {
		"mode",		  "path",    "statuses",
		"timeout_s",	  "retries", "deadline_s",
		"retry_delay_ms", "host",    NULL};
	static const struct number_rule numbers[] = {
		{"timeout_s", validate_warmup_timeout_s},
		{"retries", validate_warmup_retries},
		{"deadline_s", validate_warmup_deadline_s},
		{"retry_delay_ms", validate_warmup_retry_delay_ms},
	};
	int rc;

	rc = check_keys(file, at, w, keys);
	if (!rc)
		rc = check_probe(file, at, w);
	if (!rc)
		rc = check_numbers(file, at, w, numbers,
				   sizeof(numbers) / sizeof(numbers[0]));
	return rc;
}

/* null, or a health policy (PUT .../health's fields), whole: an
 * interval shorter than the timeout is refused here as there. */
static int check_health(const char *file, const char *at, json_t *h)
{
	static const char *const keys[] = {
		"mode", "path",	      "statuses",	 "timeout_s",
		"host", "interval_s", "unhealthy_after", "healthy_after",
		"tcp",	NULL};
	static const struct number_rule numbers[] = {
		{"timeout_s", validate_warmup_timeout_s},
		{"interval_s", validate_health_interval_s},
		{"unhealthy_after", validate_health_threshold},
		{"healthy_after", validate_health_threshold},
	};
	struct health_policy p;
	const char *why;
	json_t *v;
	int rc;

	if (json_is_null(h))
		return 0;
	rc = check_keys(file, at, h, keys);
	if (!rc)
		rc = check_probe(file, at, h);
	if (!rc)
		rc = check_numbers(file, at, h, numbers,
				   sizeof(numbers) / sizeof(numbers[0]));
	if (rc)
		return rc;
	health_policy_default(&p);
	v = json_object_get(h, "tcp");
	if (v && (!json_is_string(v) ||
		  validate_health_tcp(json_string_value(v), &p.tcp, &why)))
		return apply_bad(file, at, "tcp: %s",
				 json_is_string(v) ? why : "must be a string");
	p.probe.timeout_ms =
		(uint32_t)(num(h, "timeout_s", p.probe.timeout_ms / 1000.0) *
			   1000);
	p.interval_ms =
		(uint32_t)(num(h, "interval_s", p.interval_ms / 1000.0) * 1000 +
			   0.5);
	p.unhealthy_after =
		(uint32_t)num(h, "unhealthy_after", p.unhealthy_after);
	p.healthy_after = (uint32_t)num(h, "healthy_after", p.healthy_after);
	if (validate_health_policy(&p, &why))
		return apply_bad(file, at, "%s", why);
	return 0;
}

/* null (no timeout, leave), or {"timeout_s": N or null, "on_timeout":
 * "reset"|"leave", "reset_rate": N}; reset needs a timeout. */
static int check_drain(const char *file, const char *at, json_t *dr)
{
	static const char *const keys[] = {"timeout_s", "on_timeout",
					   "reset_rate", NULL};
	json_t *t, *v;
	const char *why;
	bool reset = false;
	int rc;

	if (json_is_null(dr))
		return 0;
	rc = check_keys(file, at, dr, keys);
	if (rc)
		return rc;
	t = json_object_get(dr, "timeout_s");
	if (t && !json_is_null(t) &&
	    (rc = check_number(file, at, dr, "timeout_s",
			       validate_drain_timeout_s)))
		return rc;
	v = json_object_get(dr, "on_timeout");
	if (v &&
	    (!json_is_string(v) ||
	     validate_on_drain_timeout(json_string_value(v), &reset, &why)))
		return apply_bad(file, at, "on_timeout: %s",
				 json_is_string(v) ? why : "must be a string");
	v = json_object_get(dr, "reset_rate");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > DRAIN_MAX_RESET_RATE)) {
		validate_reset_rate("", NULL, &why);
		return apply_bad(file, at, "reset_rate: %s", why);
	}
	if (reset && !json_is_number(t))
		return apply_bad(file, at,
				 "on_timeout reset needs a timeout_s");
	return 0;
}

/* null, or a swap's "verify" object: for_s required. */
static int check_verify(const char *file, const char *at, json_t *v)
{
	static const char *const strings[] = {"http", "exec", "on_failure"};
	static const struct number_rule numbers[] = {
		{"for_s", validate_verify_for_s},
		{"max_reset_ratio", validate_verify_ratio},
		{"max_handshake_failure_ratio", validate_verify_ratio},
	};
	struct verify_policy p;
	enum verify_on_failure f;
	const char *why = NULL, *s;
	size_t i;
	int rc;

	if (json_is_null(v))
		return 0;
	rc = check_keys(file, at, v, verify_policy_keys);
	if (!rc && !json_object_get(v, "for_s"))
		rc = apply_bad(file, at, "for_s is required");
	if (!rc)
		rc = check_numbers(file, at, v, numbers,
				   sizeof(numbers) / sizeof(numbers[0]));
	for (i = 0; !rc && i < sizeof(strings) / sizeof(strings[0]); i++) {
		json_t *x = json_object_get(v, strings[i]);

		if (!x)
			continue;
		s = json_string_value(x);
		verify_policy_default(&p);
		if (!s)
			why = "must be a string";
		else if ((i == 0 && validate_verify_http(s, &p, &why)) ||
			 (i == 1 && validate_verify_exec(s, &why)) ||
			 (i == 2 && validate_verify_on_failure(s, &f, &why)))
			;
		else
			continue;
		rc = apply_bad(file, at, "%s: %s", strings[i], why);
	}
	return rc;
}

/* {"NAME": "VALUE" | null} */
static int check_settings(const char *file, const char *at, json_t *s)
{
	const char *name, *why;
	json_t *v;

	if (!json_is_object(s))
		return apply_bad(file, at, "settings must be an object");
	if (json_object_size(s) > SETTINGS_MAX)
		return apply_bad(file, at, "at most %d settings", SETTINGS_MAX);
	json_object_foreach(s, name, v)
	{
		if (validate_setting_name(name, &why))
			return apply_bad(file, at, "%s: %s", name, why);
		if (!json_is_string(v) && !json_is_null(v))
			return apply_bad(file, at,
					 "%s: value must be a string or null",
					 name);
		if (json_is_string(v) &&
		    validate_setting_value(json_string_value(v),
					   json_string_length(v), &why))
			return apply_bad(file, at, "%s: %s", name, why);
	}
	return 0;
}

static int check_deployment(const char *file, const char *at, json_t *d)
{
	static const char *const keys[] = {"version", "backends", "settings",
					   NULL};
	json_t *v, *b;
	const char *why;
	char sub[256];
	size_t i;
	int rc;

	if (json_is_null(d))
		return 0;
	rc = check_keys(file, at, d, keys);
	if (rc)
		return rc;
	v = json_object_get(d, "version");
	if (!json_is_string(v) || validate_version(json_string_value(v), &why))
		return apply_bad(file, at, "version: %s",
				 json_is_string(v) ? why
						   : "a string is required");
	v = json_object_get(d, "backends");
	if (!json_is_array(v) || !json_array_size(v))
		return apply_bad(file, at,
				 "backends must be a non-empty array");
	json_array_foreach(v, i, b)
	{
		if (!json_is_string(b) ||
		    validate_backend(json_string_value(b), NULL, NULL, &why))
			return apply_bad(
				file, at, "backends[%zu]: %s", i,
				json_is_string(b) ? why : "must be a string");
	}
	v = json_object_get(d, "settings");
	sub_at(sub, sizeof(sub), at, "settings");
	return v ? check_settings(file, sub, v) : 0;
}

static int check_slot(const char *file, const char *at, json_t *s)
{
	static const char *const keys[] = {
		"name",	     "endpoints", "warmup",	"hook",
		"auto_swap", "settings",  "deployment", "health",
		"drain",     "verify",	  NULL};
	static const struct {
		const char *key;
		int (*check)(const char *, const char *, json_t *);
	} policies[] = {{"health", check_health},
			{"drain", check_drain},
			{"verify", check_verify}};
	static const char *const hook_keys[] = {"exec", "timeout_s", NULL};
	static const char *const auto_keys[] = {"target_slot", "delay_s", NULL};
	json_t *v, *e;
	const char *why;
	char sub[256];
	size_t i;
	int rc;

	rc = check_keys(file, at, s, keys);
	if (rc)
		return rc;
	v = json_object_get(s, "name");
	if (!json_is_string(v) || validate_name(json_string_value(v), &why))
		return apply_bad(file, at, "name: %s",
				 json_is_string(v) ? why
						   : "a string is required");
	v = json_object_get(s, "endpoints");
	if (v && !json_is_array(v))
		return apply_bad(file, at, "endpoints must be an array");
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) ||
		    validate_endpoint(json_string_value(e), NULL, &why))
			return apply_bad(
				file, at, "endpoints[%zu]: %s", i,
				json_is_string(e) ? why : "must be a string");
	}
	sub_at(sub, sizeof(sub), at, "warmup");
	v = json_object_get(s, "warmup");
	if (v && (rc = check_warmup(file, sub, v)))
		return rc;
	sub_at(sub, sizeof(sub), at, "hook");
	v = json_object_get(s, "hook");
	if (v && !json_is_null(v)) {
		rc = check_keys(file, sub, v, hook_keys);
		if (!rc && (!json_is_string(json_object_get(v, "exec")) ||
			    validate_hook_exec(jstr(v, "exec"), &why)))
			rc = apply_bad(
				file, sub, "exec: %s",
				jstr(v, "exec") ? why : "a string is required");
		if (!rc)
			rc = check_number(file, sub, v, "timeout_s",
					  validate_hook_timeout_s);
		if (rc)
			return rc;
	}
	sub_at(sub, sizeof(sub), at, "auto_swap");
	v = json_object_get(s, "auto_swap");
	if (v && !json_is_null(v)) {
		rc = check_keys(file, sub, v, auto_keys);
		e = json_object_get(v, "target_slot");
		if (!rc && e &&
		    (!json_is_string(e) ||
		     validate_name(json_string_value(e), &why)))
			rc = apply_bad(file, sub, "target_slot: %s",
				       json_is_string(e) ? why
							 : "must be a string");
		if (!rc)
			rc = check_number(file, sub, v, "delay_s",
					  validate_auto_swap_delay_s);
		if (rc)
			return rc;
	}
	sub_at(sub, sizeof(sub), at, "settings");
	v = json_object_get(s, "settings");
	if (v && (rc = check_settings(file, sub, v)))
		return rc;
	for (i = 0; i < sizeof(policies) / sizeof(policies[0]); i++) {
		sub_at(sub, sizeof(sub), at, policies[i].key);
		v = json_object_get(s, policies[i].key);
		if (v && (rc = policies[i].check(file, sub, v)))
			return rc;
	}
	sub_at(sub, sizeof(sub), at, "deployment");
	v = json_object_get(s, "deployment");
	return v ? check_deployment(file, sub, v) : 0;
}

/* Each endpoint once in the whole file: slotlbd refuses an endpoint
 * that another slot owns, and would do so half way through the steps,
 * after the apps and slots before it were made. Called once every
 * endpoint is known to be well formed. */
static int check_endpoints_once(const char *file, json_t *apps)
{
	struct slotlb_endpoint_key *keys = NULL, *grown;
	json_t *app, *s, *e;
	size_t i, j, k, m, n = 0;
	char at[96];
	int rc = 0;

	json_array_foreach(apps, i, app)
	{
		json_array_foreach(json_object_get(app, "slots"), j, s)
		{
			json_array_foreach(json_object_get(s, "endpoints"), k,
					   e)
			{
				grown = realloc(keys, (n + 1) * sizeof(*keys));
				if (!grown) {
					rc = apply_bad(file, "apps",
						       "out of memory");
					goto out;
				}
				keys = grown;
				memset(&keys[n], 0, sizeof(keys[n]));
				validate_endpoint(json_string_value(e),
						  &keys[n], NULL);
				for (m = 0; m < n; m++)
					if (!memcmp(&keys[m], &keys[n],
						    sizeof(keys[n])))
						break;
				if (m < n) {
					snprintf(at, sizeof(at),
						 "apps[%zu].slots[%zu]", i, j);
					rc = apply_bad(
						file, at,
						"endpoints[%zu]: %s: listed twice in the file",
						k, json_string_value(e));
					goto out;
				}
				n++;
			}
		}
	}
out:
	free(keys);
	return rc;
}

/* The auto swaps the file gives an app must neither chain nor loop
 * (slotlbd's rule): apply sets them last, one by one, and slotlbd would
 * refuse one after the app and its slots were made. */
static int check_auto_swaps(const char *file, size_t ai, json_t *slots)
{
	json_t *s, *t, *as;
	const char *target;
	char at[96];
	size_t j, k;

	json_array_foreach(slots, j, s)
	{
		as = json_object_get(s, "auto_swap");
		if (!json_is_object(as))
			continue;
		target = json_object_get(as, "target_slot")
				 ? jstr(as, "target_slot")
				 : "production";
		snprintf(at, sizeof(at), "apps[%zu].slots[%zu].auto_swap", ai,
			 j);
		if (!strcmp(target, jstr(s, "name")))
			return apply_bad(file, at,
					 "%s: cannot auto-swap into itself",
					 target);
		json_array_foreach(slots, k, t)
		{
			if (!strcmp(jstr(t, "name"), target) &&
			    json_is_object(json_object_get(t, "auto_swap")))
				return apply_bad(
					file, at,
					"%s auto-swaps itself: an auto swap into it would chain (or loop)",
					target);
		}
	}
	return 0;
}

int apply_check_file(const char *file, json_t *root)
{
	static const char *const root_keys[] = {"apps", NULL};
	static const char *const app_keys[] = {"name", "mode", "slots", NULL};
	json_t *apps, *app, *slots, *s, *other;
	char at[96];
	size_t i, j, k;
	int rc;

	rc = check_keys(file, "top level", root, root_keys);
	if (rc)
		return rc;
	apps = json_object_get(root, "apps");
	if (!json_is_array(apps))
		return apply_bad(file, "apps", "an array is required");
	json_array_foreach(apps, i, app)
	{
		snprintf(at, sizeof(at), "apps[%zu]", i);
		rc = check_keys(file, at, app, app_keys);
		if (rc)
			return rc;
		if (!json_is_string(json_object_get(app, "name")) ||
		    check_name("app", jstr(app, "name")))
			return json_is_string(json_object_get(app, "name"))
				       ? EXIT_USAGE
				       : apply_bad(
						 file, at,
						 "name: a string is required");
		for (k = 0; k < i; k++)
			if (!strcmp(jstr(json_array_get(apps, k), "name"),
				    jstr(app, "name")))
				return apply_bad(file, at,
						 "app %s listed twice",
						 jstr(app, "name"));
		other = json_object_get(app, "mode");
		if (other && (!json_is_string(other) ||
			      (strcmp(json_string_value(other), "nat") &&
			       strcmp(json_string_value(other), "dsr"))))
			return apply_bad(file, at, "mode: nat or dsr");
		slots = json_object_get(app, "slots");
		if (!json_is_array(slots))
			return apply_bad(file, at,
					 "slots: an array is required");
		json_array_foreach(slots, j, s)
		{
			snprintf(at, sizeof(at), "apps[%zu].slots[%zu]", i, j);
			rc = check_slot(file, at, s);
			if (rc)
				return rc;
			for (k = 0; k < j; k++) {
				other = json_array_get(slots, k);
				if (!strcmp(jstr(other, "name"),
					    jstr(s, "name")))
					return apply_bad(file, at,
							 "slot %s listed twice",
							 jstr(s, "name"));
			}
		}
		rc = check_auto_swaps(file, i, slots);
		if (rc)
			return rc;
	}
	return check_endpoints_once(file, apps);
}
