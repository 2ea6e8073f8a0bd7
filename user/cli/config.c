/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot config, slot hook set|delete, slot auto-swap: what a slot
 * keeps across deployments. Each prints the slot's whole configuration
 * afterwards, as `slot config APP --slot S` alone shows it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

/* clang-format off */
const char config_help[] =
	"Show slot SLOT's configuration (warm-up policy, apply-settings hook,\n"
	"auto swap), or with warm-up options store its warm-up policy: the\n"
	"fields given replace the stored ones. The policy sticks to the slot:\n"
	"every swap, rollback, preview and auto swap INTO the slot uses it\n"
	"(their own --warmup-* options override it for that call).\n"
	"\n"
	"  --warmup-path PATH      HTTP path to GET (default /)\n"
	"  --warmup-status LIST    accepted statuses, e.g. 200,202 (default\n"
	"                          any status)\n"
	"  --warmup-timeout S      seconds per attempt (default 90)\n"
	"  --warmup-retries N      attempts after the first (default 5)\n"
	"  --warmup-deadline S     seconds for the whole warm-up (0: none)\n"
	"  --warmup-retry-delay MS pause between attempts (default 1000)\n"
	"  --warmup-mode http|https|tcp\n"
	"                          GET PATH, over TLS, or a TCP connect\n"
	"  --warmup-host NAME      Host header (and TLS name) of the probes\n"
	"\n"
	"With drain options, store the slot's drain policy: what happens to a\n"
	"deployment that leaves the slot (swapped, rolled back or replaced by\n"
	"a deploy). It takes no new connections; its pinned ones run on.\n"
	"\n"
	"  --drain-timeout DURATION  how long its pinned connections may run\n"
	"                          (90, 90s, 15m, 2h; 1 s .. 7 days)\n"
	"  --on-drain-timeout reset|leave\n"
	"                          at the timeout, reset the remaining TCP\n"
	"                          connections (the client's next packet is\n"
	"                          answered with a RST by the data path) so\n"
	"                          the deployment retires, or leave them to\n"
	"                          finish (default: leave, no timeout)\n"
	"  --reset-rate N/s        resets a second for the deployment, shared\n"
	"                          by its backends (default 100)\n";

const char hook_set_help[] =
	"Set slot SLOT's apply-settings hook: an executable that slotlbd runs\n"
	"once per backend, with the effective settings as a JSON object on\n"
	"stdin and SLOTLB_APP, SLOTLB_SLOT, SLOTLB_DEPLOYMENT, SLOTLB_VERSION,\n"
	"SLOTLB_BACKEND and SLOTLB_REASON in its environment, whenever the\n"
	"settings of a deployment in this slot change: deploy, both sides of a\n"
	"swap, preview, reset, setting changes. Exit 0 means applied; anything\n"
	"else aborts the operation and the old settings are applied again.\n"
	"\n"
	"  --exec PATH             absolute path of an executable file\n"
	"  --timeout S             seconds a run may take (default 30)\n";

const char auto_swap_help[] =
	"Make every successful deploy into slot SLOT warm up and swap into\n"
	"TARGET (default production) by itself, after DELAY seconds, with\n"
	"TARGET's warm-up policy; or stop it with --off. A failed auto swap\n"
	"leaves TARGET untouched and is in the history (auto-swap, failed).\n"
	"Chains and loops (TARGET auto-swapping on, or a slot auto-swapping\n"
	"into SLOT) are refused.\n"
	"\n"
	"  --target-slot TARGET    slot to swap into (default production)\n"
	"  --delay S               seconds between the deploy and the warm-up\n"
	"                          (default 0)\n"
	"  --off                   no auto swap any more\n";
/* clang-format on */

static void print_config(json_t *c)
{
	json_t *w = json_object_get(c, "warmup"), *h, *a, *st, *v;
	char statuses[128] = "";
	size_t i;

	if (json_output) {
		json_dumpf(c, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	json_array_foreach(json_object_get(w, "statuses"), i, v)
		snprintf(statuses + strlen(statuses),
			 sizeof(statuses) - strlen(statuses), "%s%lld",
			 i ? "," : "", (long long)json_integer_value(v));
	st = json_object_get(c, "warmup_stored");
	printf("slot %s\n", jstr(c, "slot"));
	printf("warm-up (%s): mode %s, path %s, statuses %s, timeout %g s, "
	       "retries %lld, retry delay %lld ms, deadline %g s, host %s\n",
	       json_is_true(st) ? "stored" : "defaults", jstr(w, "mode"),
	       jstr(w, "path"), statuses[0] ? statuses : "any",
	       json_number_value(json_object_get(w, "timeout_s")),
	       (long long)jint(w, "retries"),
	       (long long)jint(w, "retry_delay_ms"),
	       json_number_value(json_object_get(w, "deadline_s")),
	       jstr(w, "host") ? jstr(w, "host") : "-");
	h = json_object_get(c, "drain");
	if (json_is_object(h) &&
	    json_is_number(json_object_get(h, "timeout_s")))
		printf("drain: timeout %g s, then %s (%lld/s)\n",
		       json_number_value(json_object_get(h, "timeout_s")),
		       jstr(h, "on_timeout"), (long long)jint(h, "reset_rate"));
	else if (json_is_object(h))
		printf("drain: no timeout (leave)\n");
	h = json_object_get(c, "hook");
	if (json_is_object(h))
		printf("hook: %s, timeout %g s\n", jstr(h, "exec"),
		       json_number_value(json_object_get(h, "timeout_s")));
	else
		printf("hook: none\n");
	a = json_object_get(c, "auto_swap");
	if (json_is_object(a))
		printf("auto swap: into %s, %g s after a deploy\n",
		       jstr(a, "target_slot"),
		       json_number_value(json_object_get(a, "delay_s")));
	else
		printf("auto swap: off\n");
}

/* --drain-timeout, --on-drain-timeout, --reset-rate (o[0..2]) as the
 * "drain" object, NULL if none given; checked by the shared rules. */
static int drain_json(const struct opt *o, json_t **out)
{
	const char *why = NULL;
	double timeout;
	uint32_t rate;
	bool reset;

	*out = NULL;
	if (!o[0].value && !o[1].value && !o[2].value)
		return 0;
	if (o[0].value && (validate_duration(o[0].value, &timeout, &why) ||
			   validate_drain_timeout_s(timeout, &why)))
		return usage_err("slot: --drain-timeout: %s", why);
	if (o[1].value && validate_on_drain_timeout(o[1].value, &reset, &why))
		return usage_err("slot: --on-drain-timeout: %s", why);
	if (o[2].value && validate_reset_rate(o[2].value, &rate, &why))
		return usage_err("slot: --reset-rate: %s", why);
	*out = json_object();
	if (o[0].value)
		json_object_set_new(*out, "timeout_s", json_real(timeout));
	if (o[1].value)
		json_object_set_new(*out, "on_timeout",
				    json_string(o[1].value));
	if (o[2].value)
		json_object_set_new(*out, "reset_rate", json_integer(rate));
	return 0;
}

/* APP --slot SLOT of o[0], checked; the path of tail. */
static int slot_target(const char *app, const struct opt *slot,
		       const char *tail, char **path)
{
	*path = NULL;
	if (check_name("app", app))
		return EXIT_USAGE;
	if (!slot->value)
		return usage_err("%s: --slot NAME is needed", cur_object);
	if (check_name("slot", slot->value))
		return EXIT_USAGE;
	*path = app_path(app, slot->value, tail);
	return *path ? 0 : usage_err("%s: out of memory", cur_object);
}

/* method path body, then print the configuration the daemon answers
 * (a 204 answers nothing: fetch it). */
static int change_and_show(const char *method, const char *path, json_t *body,
			   const char *app, const char *slot)
{
	struct api_reply r = {0};
	char *cpath;
	int rc;

	rc = api_call(method, path, body, &r);
	if (rc)
		return rc;
	if (!r.body) {
		cpath = app_path(app, slot, "/config");
		rc = cpath ? api_call("GET", cpath, NULL, &r)
			   : usage_err("%s: out of memory", cur_object);
		free(cpath);
		if (rc)
			return rc;
	}
	print_config(r.body);
	json_decref(r.body);
	return 0;
}

int do_slot_config(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		WARMUP_OPTS(1),
		{.name = "drain-timeout", .has_arg = true},
		{.name = "on-drain-timeout", .has_arg = true},
		{.name = "reset-rate", .has_arg = true},
		{NULL},
	};
	json_t *warmup = NULL, *drain = NULL, *body;
	const char *pos[1];
	char *path = NULL;
	size_t np, d0 = sizeof(opts) / sizeof(opts[0]) - 4;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = slot_target(pos[0], &opts[0], "/config", &path);
	if (!rc)
		rc = warmup_json(&opts[1], &warmup);
	if (!rc)
		rc = drain_json(&opts[d0], &drain);
	if (rc)
		goto out;
	if (!warmup && !drain) {
		rc = change_and_show("GET", path, NULL, pos[0], opts[0].value);
		goto out;
	}
	body = json_object();
	if (warmup)
		json_object_set_new(body, "warmup", warmup);
	if (drain)
		json_object_set_new(body, "drain", drain);
	rc = change_and_show("POST", path, body, pos[0], opts[0].value);
	json_decref(body);
out:
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

int do_slot_hook_set(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "exec", .has_arg = true},
		{.name = "timeout", .has_arg = true},
		{NULL},
	};
	const char *pos[1], *why = NULL;
	char *path = NULL, *end;
	json_t *body = NULL;
	double timeout = 0;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = slot_target(pos[0], &opts[0], "/hook", &path);
	if (!rc && !opts[1].value)
		rc = usage_err("slot: --exec PATH is needed");
	if (!rc && validate_hook_exec(opts[1].value, &why))
		rc = usage_err("%s: %s", opts[1].value, why);
	if (!rc && opts[2].value) {
		errno = 0;
		timeout = strtod(opts[2].value, &end);
		if (errno || end == opts[2].value || *end ||
		    validate_hook_timeout_s(timeout, &why))
			rc = usage_err(
				"slot: --timeout: %s",
				why ? why
				    : "hook timeout must be a number of seconds");
	}
	if (rc)
		goto out;
	body = json_pack("{s:s}", "exec", opts[1].value);
	if (opts[2].value)
		json_object_set_new(body, "timeout_s", json_real(timeout));
	rc = change_and_show("PUT", path, body, pos[0], opts[0].value);
out:
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

int do_slot_hook_delete(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{NULL},
	};
	const char *pos[1];
	char *path = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = slot_target(pos[0], &opts[0], "/hook", &path);
	if (!rc)
		rc = change_and_show("DELETE", path, NULL, pos[0],
				     opts[0].value);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

int do_slot_auto_swap(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "target-slot", .has_arg = true},
		{.name = "delay", .has_arg = true},
		{.name = "off"},
		{NULL},
	};
	const char *pos[1], *why = NULL;
	char *path = NULL, *end;
	json_t *body = NULL;
	double delay = 0;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = slot_target(pos[0], &opts[0], "/auto-swap", &path);
	if (!rc && opts[3].given && (opts[1].given || opts[2].given))
		rc = usage_err("slot: --off takes no --target-slot or --delay");
	if (!rc && opts[1].value && check_name("slot", opts[1].value))
		rc = EXIT_USAGE;
	if (!rc && opts[1].value && !strcmp(opts[1].value, opts[0].value))
		rc = usage_err("slot: a slot cannot auto-swap into itself");
	if (!rc && opts[2].value) {
		errno = 0;
		delay = strtod(opts[2].value, &end);
		if (errno || end == opts[2].value || *end ||
		    validate_auto_swap_delay_s(delay, &why))
			rc = usage_err(
				"slot: --delay: %s",
				why ? why
				    : "delay must be a number of seconds");
	}
	if (rc)
		goto out;
	if (opts[3].given) {
		rc = change_and_show("DELETE", path, NULL, pos[0],
				     opts[0].value);
		goto out;
	}
	body = json_object();
	if (opts[1].value)
		json_object_set_new(body, "target_slot",
				    json_string(opts[1].value));
	if (opts[2].value)
		json_object_set_new(body, "delay_s", json_real(delay));
	rc = change_and_show("PUT", path, body, pos[0], opts[0].value);
out:
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}
