/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb app, slot (create, list, delete) and deploy: the objects that
 * describe what is served where. Swap and rollback live in swap.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const app_headers[] = {"APP", "ID", "SLOTS", "DRAINING",
					  NULL};
static const char *const slot_headers[] = {"SLOT",	 "INDEX",   "ENDPOINTS",
					   "DEPLOYMENT", "VERSION", "BACKENDS",
					   NULL};
static const char *const deployment_headers[] = {
	"DEPLOYMENT", "VERSION",       "FLOWS", "BACKEND",
	"WEIGHT",     "BACKEND-FLOWS", NULL};

/* "/v1/apps/APP" + suffix, each name escaped; NULL on no memory. */
static char *app_path(const char *app, const char *slot, const char *tail)
{
	char *a = api_escape(app), *s = slot ? api_escape(slot) : NULL;
	char *p = NULL;

	if (a && (!slot || s) &&
	    asprintf(&p, "/v1/apps/%s%s%s%s", a, slot ? "/slots/" : "",
		     slot ? s : "", tail ? tail : "") < 0)
		p = NULL;
	free(a);
	free(s);
	return p;
}

static json_t *endpoints_json(const struct opt *o, int *rc)
{
	json_t *a = json_array();
	size_t i;

	*rc = 0;
	if (!o->n_values)
		*rc = usage_err("%s: at least one --endpoint is needed",
				cur_object);
	for (i = 0; !*rc && i < o->n_values; i++) {
		*rc = check_endpoint(o->values[i]);
		json_array_append_new(a, json_string(o->values[i]));
	}
	if (*rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

static int do_app_create(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "endpoint", .has_arg = true, .repeat = true},
		{NULL},
	};
	struct api_reply r;
	json_t *eps = NULL, *body;
	const char *pos[1];
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && !(rc = check_name("app", pos[0])))
		eps = endpoints_json(&opts[0], &rc);
	free_opts(opts);
	if (rc)
		return ARGS_RC(rc);
	body = json_pack("{s:s,s:o}", "name", pos[0], "endpoints", eps);
	rc = api_call("POST", "/v1/apps", body, &r);
	json_decref(body);
	if (rc)
		return rc;
	out_begin();
	print_app_table(r.body);
	json_decref(r.body);
	return out_end();
}

static int do_app_list(int argc, char **argv)
{
	struct api_reply r;
	const char *pos[1];
	json_t *app, *s;
	size_t np, i, j;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 0, 0, &np);
	if (rc)
		return ARGS_RC(rc);
	rc = api_call("GET", "/v1/apps", NULL, &r);
	if (rc)
		return rc;
	out_begin();
	table_begin(app_headers);
	open_object(NULL);
	open_array("apps");
	json_array_foreach(json_object_get(r.body, "apps"), i, app)
	{
		char slots[512] = "";

		open_object(NULL);
		print_str(PR_ANY, "name", jstr(app, "name"));
		print_uint(PR_ANY, "id", jint(app, "id"));
		open_array("slots");
		json_array_foreach(json_object_get(app, "slots"), j, s)
		{
			print_str(PR_JSON, NULL, jstr(s, "name"));
			snprintf(slots + strlen(slots),
				 sizeof(slots) - strlen(slots), "%s%s",
				 j ? "," : "", jstr(s, "name"));
		}
		close_array();
		print_str(PR_TABLE, NULL, slots);
		print_uint(PR_ANY, "draining",
			   (json_int_t)json_array_size(
				   json_object_get(app, "draining")));
		close_object();
		row_end();
	}
	close_array();
	close_object();
	json_decref(r.body);
	return out_end();
}

/* GET or DELETE of one app, or one of its slots. */
static int app_request(int argc, char **argv, const char *method,
		       bool want_slot)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{NULL},
	};
	struct api_reply r;
	const char *pos[1];
	char *path;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, want_slot ? opts : NULL, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	if (check_name("app", pos[0]))
		return EXIT_USAGE;
	if (want_slot) {
		if (!opts[0].value)
			return usage_err("slot: --slot NAME is needed");
		if (check_name("slot", opts[0].value))
			return EXIT_USAGE;
		if (!strcmp(opts[0].value, "production"))
			return usage_err("slot: production is deleted only "
					 "with its app (slotlb app delete)");
	}
	path = app_path(pos[0], want_slot ? opts[0].value : NULL, NULL);
	if (!path)
		return usage_err("%s: out of memory", cur_object);
	rc = api_call(method, path, NULL, &r);
	free(path);
	if (rc || !strcmp(method, "DELETE")) {
		json_decref(r.body);
		return rc;
	}
	out_begin();
	print_app_table(r.body);
	json_decref(r.body);
	return out_end();
}

static int do_app_show(int argc, char **argv)
{
	return app_request(argc, argv, "GET", false);
}

static int do_app_delete(int argc, char **argv)
{
	return app_request(argc, argv, "DELETE", false);
}

static int do_slot_delete(int argc, char **argv)
{
	return app_request(argc, argv, "DELETE", true);
}

static void print_slot(json_t *s)
{
	json_t *d = json_object_get(s, "deployment");

	open_object(NULL);
	print_str(PR_ANY, "name", jstr(s, "name"));
	print_uint(PR_ANY, "index", jint(s, "index"));
	print_endpoints(s);
	if (json_is_object(d)) {
		print_json(PR_JSON, "deployment", d);
		print_uint(PR_TABLE, NULL, jint(d, "id"));
		print_str(PR_TABLE, NULL, jstr(d, "version"));
		print_uint(PR_TABLE, NULL,
			   (json_int_t)json_array_size(
				   json_object_get(d, "backends")));
	} else {
		print_json(PR_ANY, "deployment", NULL);
		print_str(PR_TABLE, NULL, NULL);
		print_str(PR_TABLE, NULL, NULL);
	}
	close_object();
	row_end();
}

static int do_slot_create(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "endpoint", .has_arg = true, .repeat = true},
		{NULL},
	};
	struct api_reply r;
	json_t *eps = NULL, *body;
	const char *pos[1];
	char *path = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && !(rc = check_name("app", pos[0]))) {
		if (!opts[0].value)
			rc = usage_err("slot: --slot NAME is needed");
		else if (!(rc = check_name("slot", opts[0].value)))
			eps = endpoints_json(&opts[1], &rc);
	}
	free_opts(opts);
	if (rc)
		return ARGS_RC(rc);
	body = json_pack("{s:s,s:o}", "name", opts[0].value, "endpoints", eps);
	path = app_path(pos[0], NULL, "/slots");
	rc = path ? api_call("POST", path, body, &r)
		  : usage_err("slot: out of memory");
	json_decref(body);
	free(path);
	if (rc)
		return rc;
	out_begin();
	table_begin(slot_headers);
	print_slot(r.body);
	json_decref(r.body);
	return out_end();
}

static int do_slot_list(int argc, char **argv)
{
	struct api_reply r;
	const char *pos[1];
	char *path;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	if (check_name("app", pos[0]))
		return EXIT_USAGE;
	path = app_path(pos[0], NULL, "/slots");
	rc = path ? api_call("GET", path, NULL, &r)
		  : usage_err("slot: out of memory");
	free(path);
	if (rc)
		return rc;
	return out_list(slot_headers, r.body, "slots", print_slot);
}

int do_deploy(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "backend", .has_arg = true, .repeat = true},
		{.name = "version", .has_arg = true},
		{NULL},
	};
	json_t *bes = json_array(), *body;
	struct api_reply r;
	const char *pos[1];
	char *path = NULL;
	size_t np, i;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = check_name("app", pos[0]);
	if (!rc && !opts[0].value)
		rc = usage_err("deploy: --slot NAME is needed");
	if (!rc)
		rc = check_name("slot", opts[0].value);
	if (!rc && !opts[1].n_values)
		rc = usage_err("deploy: at least one --backend is needed");
	for (i = 0; !rc && i < opts[1].n_values; i++) {
		rc = check_backend(opts[1].values[i]);
		json_array_append_new(bes, json_string(opts[1].values[i]));
	}
	if (!rc && opts[2].value)
		rc = check_version(opts[2].value);
	free_opts(opts);
	if (rc) {
		json_decref(bes);
		return ARGS_RC(rc);
	}
	body = json_pack("{s:o}", "backends", bes);
	if (opts[2].value)
		json_object_set_new(body, "version",
				    json_string(opts[2].value));
	path = app_path(pos[0], opts[0].value, "/deploy");
	rc = path ? api_call("POST", path, body, &r)
		  : usage_err("deploy: out of memory");
	json_decref(body);
	free(path);
	if (rc)
		return rc;
	out_begin();
	table_begin(deployment_headers);
	open_object(NULL);
	print_deployment_rows(r.body, 0);
	close_object();
	json_decref(r.body);
	return out_end();
}

const struct cmd app_cmds[] = {
	{"create", do_app_create,
	 "APP --endpoint ADDR:PORT[/tcp|/udp] [--endpoint ...]",
	 "Create APP with its production slot, which owns the endpoints.\n"
	 "IPv6 endpoints are written [ADDR]:PORT; the protocol defaults to "
	 "tcp.\n"},
	{"list", do_app_list, "", "List apps with their slots.\n"},
	{"show", do_app_show, "APP",
	 "Show APP's slots, deployments, backends and draining "
	 "deployments.\n"},
	{"delete", do_app_delete, "APP",
	 "Delete APP, its slots and endpoints.\n"},
	{NULL, NULL, NULL, NULL},
};

const struct cmd slot_cmds[] = {
	{"create", do_slot_create,
	 "APP --slot NAME --endpoint ADDR:PORT[/tcp|/udp] [--endpoint ...]",
	 "Create slot NAME of APP. Its endpoints stay with the slot across\n"
	 "swaps, as a custom domain stays with an Azure slot.\n"},
	{"list", do_slot_list, "APP",
	 "List APP's slots, their endpoints and deployments.\n"},
	{"delete", do_slot_delete, "APP --slot NAME",
	 "Delete slot NAME of APP (never production).\n"},
	{"swap", do_slot_swap,
	 "APP --slot SOURCE [--target-slot TARGET] " WARMUP_USAGE, swap_help},
	{"rollback", do_slot_rollback, "APP [--slot SLOT] " WARMUP_USAGE,
	 rollback_help},
	{"traffic", do_slot_traffic,
	 "APP [--distribution LIST | --clear] [--slot NAME [--percent P] "
	 "[--opt-in CIDR]... [--remove-opt-in CIDR]... [--clear]] "
	 "[--lookup ADDR]...",
	 traffic_help},
	{NULL, NULL, NULL, NULL},
};

const struct cmd deploy_cmd = {
	NULL, do_deploy,
	"APP --slot NAME --backend ADDR:PORT[,weight=W] [--backend ...] "
	"[--version LABEL]",
	"Deploy a new set of backends into slot NAME of APP. The slot's\n"
	"previous deployment drains: its pinned flows finish on it.\n"
	"\n"
	"  --backend ADDR:PORT[,weight=W]  a backend; weight 1..65535, "
	"default 1\n"
	"  --version LABEL                 version label, at most 31 "
	"characters\n"};
