/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb backend drain|undrain|weight: one backend of the deployment in
 * a slot, without a new deployment. The deployment's ring is built again
 * and published whole, so only that backend's share of new connections
 * moves; its pinned connections keep running (status counts them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

/* APP --slot SLOT --backend ADDR:PORT, checked; body gets "backend". */
static int backend_target(const char *app, const struct opt *o,
			  const char *verb, char **path, json_t **body)
{
	struct slotlb_backend be;
	const char *why = NULL;
	char tail[32];

	*path = NULL;
	*body = NULL;
	if (check_name("app", app))
		return EXIT_USAGE;
	if (!o[0].value)
		return usage_err("backend: --slot NAME is needed");
	if (check_name("slot", o[0].value))
		return EXIT_USAGE;
	if (!o[1].value)
		return usage_err("backend: --backend ADDR:PORT is needed");
	if (validate_backend(o[1].value, &be, NULL, &why))
		return usage_err("%s: %s", o[1].value, why);
	if (strchr(o[1].value, ','))
		return usage_err("%s: weights are set with backend weight",
				 o[1].value);
	snprintf(tail, sizeof(tail), "/backends/%s", verb);
	*path = app_path(app, o[0].value, tail);
	if (!*path)
		return usage_err("backend: out of memory");
	*body = json_pack("{s:s}", "backend", o[1].value);
	return 0;
}

static int send_change(const char *path, json_t *body)
{
	struct api_reply r = {0};
	int rc;

	rc = api_call("POST", path, body, &r);
	if (rc)
		return rc;
	if (json_output) {
		json_dumpf(r.body, stdout,
			   JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
	} else {
		printf("%s/%s: %s: done (history %lld)\n", jstr(r.body, "app"),
		       jstr(r.body, "slot"), jstr(r.body, "backend"),
		       (long long)jint(r.body, "history_id"));
	}
	json_decref(r.body);
	return 0;
}

static int do_backend_drain(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "backend", .has_arg = true},
		{.name = "timeout", .has_arg = true},
		{NULL},
	};
	const char *pos[1], *why = NULL;
	json_t *body = NULL;
	char *path = NULL;
	double timeout;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = backend_target(pos[0], opts, "drain", &path, &body);
	if (!rc && opts[2].value &&
	    (validate_duration(opts[2].value, &timeout, &why) ||
	     validate_drain_timeout_s(timeout, &why)))
		rc = usage_err("backend: --timeout: %s", why);
	if (!rc && opts[2].value)
		json_object_set_new(body, "timeout_s", json_real(timeout));
	if (!rc)
		rc = send_change(path, body);
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_backend_undrain(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "backend", .has_arg = true},
		{NULL},
	};
	const char *pos[1];
	json_t *body = NULL;
	char *path = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = backend_target(pos[0], opts, "undrain", &path, &body);
	if (!rc)
		rc = send_change(path, body);
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_backend_weight(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "backend", .has_arg = true},
		{.name = "weight", .has_arg = true},
		{NULL},
	};
	const char *pos[1], *why = NULL;
	json_t *body = NULL;
	char *path = NULL, *end;
	double weight = 0;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = backend_target(pos[0], opts, "weight", &path, &body);
	if (!rc && !opts[2].value)
		rc = usage_err("backend: --weight W is needed");
	if (!rc) {
		weight = strtod(opts[2].value, &end);
		if (end == opts[2].value || *end ||
		    validate_backend_weight(weight, &why))
			rc = usage_err("backend: --weight: %s",
				       why ? why
					   : "weight must be a whole number "
					     "0..65535 (0 drains the backend)");
	}
	if (!rc) {
		json_object_set_new(body, "weight", json_integer((long)weight));
		rc = send_change(path, body);
	}
	json_decref(body);
	free(path);
	free_opts(opts);
	return ARGS_RC(rc);
}

const struct cmd backend_cmds[] = {
	{"drain", do_backend_drain,
	 "APP --slot SLOT --backend ADDR:PORT [--timeout DURATION]",
	 "Take a backend of slot SLOT's deployment out of its ring: it takes\n"
	 "no new connections (Maglev moves only its share to the others);\n"
	 "its pinned connections keep running and status counts them. When\n"
	 "the last one ends, a \"drained\" entry is written to the history\n"
	 "(and sent to hooks on the drained event).\n"
	 "\n"
	 "  --slot SLOT             the slot whose deployment has it\n"
	 "  --backend ADDR:PORT     the backend, as deployed\n"
	 "  --timeout DURATION      then reset its remaining TCP connections\n"
	 "                          at the slot's reset rate (90, 90s, 15m,\n"
	 "                          2h; default: leave them)\n"
	 "\n"
	 "The last backend of its address family taking new connections\n"
	 "cannot be drained.\n"},
	{"undrain", do_backend_undrain, "APP --slot SLOT --backend ADDR:PORT",
	 "Put a drained backend back into its ring with its weight.\n"
	 "\n"
	 "  --slot SLOT             the slot whose deployment has it\n"
	 "  --backend ADDR:PORT     the backend, as deployed\n"},
	{"weight", do_backend_weight,
	 "APP --slot SLOT --backend ADDR:PORT --weight W",
	 "Set a backend's Maglev weight (1..65535): its share of new\n"
	 "connections follows W over the sum of its deployment's weights.\n"
	 "0 drains it (as backend drain, keeping its weight for undrain).\n"
	 "\n"
	 "  --slot SLOT             the slot whose deployment has it\n"
	 "  --backend ADDR:PORT     the backend, as deployed\n"
	 "  --weight W              0..65535\n"},
	{NULL, NULL, NULL, NULL},
};
