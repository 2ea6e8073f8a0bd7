/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot health: show, set or remove a slot's health policy (live
 * probes of the backends of the deployment in the slot and of its
 * rollback target; a failing backend leaves its deployment's ring).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

/* clang-format off */
const char health_help[] =
	"Show slot SLOT's health policy, set it (the options given replace\n"
	"the stored ones, or the defaults), or remove it with --off. slotlbd\n"
	"probes each backend of the deployment in the slot, and of the\n"
	"deployment a rollback would put back, every interval with the\n"
	"warm-up prober. After N failed probes in a row a backend leaves\n"
	"its deployment's ring (new connections go to the others); after M\n"
	"passed ones it comes back. The last backend of a deployment never\n"
	"leaves (fail open: status and history say so). Flows pinned to a\n"
	"backend that left: UDP flows choose another backend; TCP flows get\n"
	"a reset from the endpoint (so the client reconnects at once) or are\n"
	"left alone, as --on-down-tcp says. Removing the policy brings every\n"
	"backend back.\n"
	"\n"
	"  --mode http|https|tcp   GET PATH, over TLS, or a TCP connect\n"
	"                          (default http)\n"
	"  --path PATH             HTTP path to GET (default /)\n"
	"  --status LIST           accepted statuses, e.g. 200,204 (default\n"
	"                          any status)\n"
	"  --host NAME             Host header (and TLS name) of the probes\n"
	"  --interval S            seconds between probes of a backend\n"
	"                          (default 5, at least the timeout)\n"
	"  --timeout S             seconds a probe may take (default 2)\n"
	"  --unhealthy-after N     failed probes in a row to leave (default 3)\n"
	"  --healthy-after M       passed probes in a row to return (default 2)\n"
	"  --on-down-tcp reset|leave\n"
	"                          pinned TCP flows of a backend that left\n"
	"                          (default reset)\n"
	"  --off                   remove the policy\n";
/* clang-format on */

static void print_health(json_t *c)
{
	json_t *h = json_object_get(c, "health"), *v;
	char statuses[128] = "";
	size_t i;

	if (json_output) {
		json_dumpf(c, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		return;
	}
	printf("slot %s\n", jstr(c, "slot"));
	if (!json_is_object(h)) {
		printf("health checks: off\n");
		return;
	}
	json_array_foreach(json_object_get(h, "statuses"), i, v)
		snprintf(statuses + strlen(statuses),
			 sizeof(statuses) - strlen(statuses), "%s%lld",
			 i ? "," : "", (long long)json_integer_value(v));
	printf("health checks: mode %s, path %s, statuses %s, host %s, "
	       "interval %g s, timeout %g s, unhealthy after %lld, healthy "
	       "after %lld, pinned TCP flows of a down backend: %s\n",
	       jstr(h, "mode"), jstr(h, "path"), statuses[0] ? statuses : "any",
	       jstr(h, "host") ? jstr(h, "host") : "-",
	       json_number_value(json_object_get(h, "interval_s")),
	       json_number_value(json_object_get(h, "timeout_s")),
	       (long long)jint(h, "unhealthy_after"),
	       (long long)jint(h, "healthy_after"), jstr(h, "tcp"));
}

/* A number option checked by its rule; the option's name in the error. */
static int number_opt(const struct opt *o, int (*rule)(double, const char **),
		      json_t *body, const char *field)
{
	const char *why = NULL;
	char *end;
	double v;

	if (!o->value)
		return 0;
	errno = 0;
	v = strtod(o->value, &end);
	if (errno || end == o->value || *end || rule(v, &why))
		return usage_err("slot: --%s: %s", o->name,
				 why ? why : "must be a number");
	json_object_set_new(body, field, json_real(v));
	return 0;
}

int do_slot_health(int argc, char **argv)
{
	enum {
		O_SLOT,
		O_MODE,
		O_PATH,
		O_STATUS,
		O_HOST,
		O_INTERVAL,
		O_TIMEOUT,
		O_UNHEALTHY,
		O_HEALTHY,
		O_TCP,
		O_OFF
	};
	struct opt opts[] = {
		[O_SLOT] = {.name = "slot", .has_arg = true},
		[O_MODE] = {.name = "mode", .has_arg = true},
		[O_PATH] = {.name = "path", .has_arg = true},
		[O_STATUS] = {.name = "status", .has_arg = true},
		[O_HOST] = {.name = "host", .has_arg = true},
		[O_INTERVAL] = {.name = "interval", .has_arg = true},
		[O_TIMEOUT] = {.name = "timeout", .has_arg = true},
		[O_UNHEALTHY] = {.name = "unhealthy-after", .has_arg = true},
		[O_HEALTHY] = {.name = "healthy-after", .has_arg = true},
		[O_TCP] = {.name = "on-down-tcp", .has_arg = true},
		[O_OFF] = {.name = "off"},
		{NULL},
	};
	struct warmup_policy scratch;
	struct api_reply r = {0};
	const char *pos[1], *why = NULL;
	json_t *body = json_object(), *st;
	enum warmup_mode mode;
	char *path = NULL;
	bool any = false;
	uint8_t tcp;
	size_t np, i;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (rc)
		goto out;
	if (check_name("app", pos[0])) {
		rc = EXIT_USAGE;
		goto out;
	}
	if (!opts[O_SLOT].value) {
		rc = usage_err("slot: --slot NAME is needed");
		goto out;
	}
	if (check_name("slot", opts[O_SLOT].value)) {
		rc = EXIT_USAGE;
		goto out;
	}
	for (i = O_MODE; i < O_OFF; i++)
		any |= opts[i].given;
	if (opts[O_OFF].given && any) {
		rc = usage_err("slot: --off takes no other health option");
		goto out;
	}
	if (opts[O_MODE].value &&
	    validate_warmup_mode(opts[O_MODE].value, &mode, &why))
		rc = usage_err("slot: --mode: %s", why);
	else if (opts[O_PATH].value &&
		 validate_warmup_path(opts[O_PATH].value, &why))
		rc = usage_err("slot: --path: %s", why);
	else if (opts[O_HOST].value &&
		 validate_warmup_host(opts[O_HOST].value, &why))
		rc = usage_err("slot: --host: %s", why);
	else if (opts[O_STATUS].value &&
		 validate_warmup_statuses(opts[O_STATUS].value, &scratch, &why))
		rc = usage_err("slot: --status: %s", why);
	else if (opts[O_TCP].value &&
		 validate_health_tcp(opts[O_TCP].value, &tcp, &why))
		rc = usage_err("slot: --on-down-tcp: %s", why);
	if (!rc)
		rc = number_opt(&opts[O_INTERVAL], validate_health_interval_s,
				body, "interval_s");
	if (!rc)
		rc = number_opt(&opts[O_TIMEOUT], validate_warmup_timeout_s,
				body, "timeout_s");
	if (!rc)
		rc = number_opt(&opts[O_UNHEALTHY], validate_health_threshold,
				body, "unhealthy_after");
	if (!rc)
		rc = number_opt(&opts[O_HEALTHY], validate_health_threshold,
				body, "healthy_after");
	if (rc)
		goto out;
	if (opts[O_MODE].value)
		json_object_set_new(body, "mode",
				    json_string(opts[O_MODE].value));
	if (opts[O_PATH].value)
		json_object_set_new(body, "path",
				    json_string(opts[O_PATH].value));
	if (opts[O_HOST].value)
		json_object_set_new(body, "host",
				    json_string(opts[O_HOST].value));
	if (opts[O_TCP].value)
		json_object_set_new(body, "tcp",
				    json_string(opts[O_TCP].value));
	if (opts[O_STATUS].value) {
		st = json_array();
		for (i = 0; i < scratch.n_statuses; i++)
			json_array_append_new(
				st, json_integer(scratch.statuses[i]));
		json_object_set_new(body, "statuses", st);
	}
	path = app_path(pos[0], opts[O_SLOT].value, "/health");
	if (!path) {
		rc = usage_err("slot: out of memory");
		goto out;
	}
	if (opts[O_OFF].given) {
		rc = api_call("DELETE", path, NULL, &r);
		json_decref(r.body);
		r.body = NULL;
	}
	if (!rc)
		rc = api_call(any ? "PUT" : "GET", path, any ? body : NULL, &r);
	if (!rc)
		print_health(r.body);
	json_decref(r.body);
out:
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}
