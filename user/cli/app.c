/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb app, slot (create, list, delete) and deploy: the objects that
 * describe what is served where. Swap and rollback live in swap.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *const app_headers[] = {"APP",      "ID",   "SLOTS",
					  "DRAINING", "MODE", NULL};
static const char *const slot_headers[] = {"SLOT",	 "INDEX",   "ENDPOINTS",
					   "DEPLOYMENT", "VERSION", "BACKENDS",
					   NULL};
static const char *const deployment_headers[] = {
	"DEPLOYMENT", "VERSION",       "FLOWS", "BACKEND",
	"WEIGHT",     "BACKEND-FLOWS", NULL};

char *app_path(const char *app, const char *slot, const char *tail)
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
		{.name = "mode", .has_arg = true},
		{NULL},
	};
	struct api_reply r;
	json_t *eps = NULL, *body = NULL;
	const char *pos[1], *mode;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	mode = opts[1].value ? opts[1].value : "nat";
	if (!rc && strcmp(mode, "nat") && strcmp(mode, "dsr"))
		rc = usage_err("app: --mode '%s': not nat or dsr", mode);
	if (!rc && !(rc = check_name("app", pos[0])))
		eps = endpoints_json(&opts[0], &rc);
	if (!rc)
		body = json_pack("{s:s,s:o,s:s}", "name", pos[0], "endpoints",
				 eps, "mode", mode);
	free_opts(opts);
	if (rc)
		return ARGS_RC(rc);
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
		print_str(PR_ANY, "mode", jstr(app, "mode"));
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
		{.name = "clone-from", .has_arg = true},
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
		if (!rc && opts[2].value &&
		    !(rc = check_name("slot", opts[2].value)) &&
		    !strcmp(opts[2].value, opts[0].value))
			rc = usage_err("slot: --clone-from names the new slot");
	}
	free_opts(opts);
	if (rc) {
		json_decref(eps);
		return ARGS_RC(rc);
	}
	body = json_pack("{s:s,s:o}", "name", opts[0].value, "endpoints", eps);
	if (opts[2].value)
		json_object_set_new(body, "clone_from",
				    json_string(opts[2].value));
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
		{.name = "wait"},
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
	if (opts[3].given) {
		/* the auto swap's outcome: exit 0 only if the target changed */
		struct swap_ctx c = {.action = "auto-swap", .app = pos[0]};

		path = app_path(pos[0], opts[0].value, "/deploy?wait=1");
		rc = path ? swap_follow(path, body, &c)
			  : usage_err("deploy: out of memory");
		json_decref(body);
		free(path);
		return rc;
	}
	path = app_path(pos[0], opts[0].value, "/deploy");
	rc = path ? api_call("POST", path, body, &r)
		  : usage_err("deploy: out of memory");
	json_decref(body);
	free(path);
	if (rc)
		return rc;
	if (!json_output &&
	    json_is_object(json_object_get(r.body, "auto_swap")))
		fprintf(stderr,
			"auto swap into %s starts in %g s (see slotlb history %s)\n",
			jstr(json_object_get(r.body, "auto_swap"),
			     "target_slot"),
			json_number_value(json_object_get(
				json_object_get(r.body, "auto_swap"),
				"delay_s")),
			pos[0]);
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
	 "APP --endpoint ADDR:PORT[/tcp|/udp] [--endpoint ...] [--mode nat|dsr]",
	 "Create APP with its production slot, which owns the endpoints.\n"
	 "IPv6 endpoints are written [ADDR]:PORT; the protocol defaults to "
	 "tcp.\n"
	 "\n"
	 "  --mode nat|dsr   forwarding mode, fixed for the app's life\n"
	 "                   (default nat); dsr: direct server return, the\n"
	 "                   backends answer clients themselves and run\n"
	 "                   slotlb backend-agent (IPv4 endpoints only)\n"},
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
	 "APP --slot NAME --endpoint ADDR:PORT[/tcp|/udp] [--endpoint ...] "
	 "[--clone-from SLOT]",
	 "Create slot NAME of APP. Its endpoints stay with the slot across\n"
	 "swaps, as a custom domain stays with an Azure slot.\n"
	 "\n"
	 "  --clone-from SLOT       start with SLOT's sticky settings, warm-up\n"
	 "                          policy and hook (no deployment, no auto\n"
	 "                          swap), as Azure's clone settings\n"},
	{"list", do_slot_list, "APP",
	 "List APP's slots, their endpoints and deployments.\n"},
	{"delete", do_slot_delete, "APP --slot NAME",
	 "Delete slot NAME of APP (never production).\n"},
	{"swap", do_slot_swap,
	 "APP [--slot SOURCE] [--target-slot TARGET] "
	 "[--action swap|preview|reset|cancel] [--audience CIDR ...] "
	 "[--timeout DURATION] [--on-timeout reset|swap] [--dry-run] "
	 "[--show-values] " VERIFY_USAGE " " WARMUP_USAGE,
	 swap_help},
	{"rollback", do_slot_rollback, "APP [--slot SLOT] " WARMUP_USAGE,
	 rollback_help},
	{"traffic", do_slot_traffic,
	 "APP [--distribution LIST | --clear] [--slot NAME [--percent P] "
	 "[--opt-in CIDR]... [--remove-opt-in CIDR]... [--clear]] "
	 "[--lookup ADDR]...",
	 traffic_help},
	{"config", do_slot_config,
	 "APP --slot SLOT " WARMUP_USAGE
	 " [--drain-timeout DURATION] [--on-drain-timeout reset|leave]"
	 " [--reset-rate N/s] " VERIFY_USAGE " [--verify-off]",
	 config_help},
	{"setting set", do_setting_set,
	 "APP --slot SLOT NAME=VALUE [NAME=VALUE ...] [--sticky]",
	 "Set settings of slot SLOT. Sticky ones stay with the slot (a\n"
	 "deployment slot setting: production's database URL stays in\n"
	 "production); the others belong to the deployment in the slot and\n"
	 "move with it in a swap. What a deployment sees is its own settings\n"
	 "overlaid by its slot's sticky ones. The slot's hook applies them to\n"
	 "its backends first; if it fails, nothing changes.\n"
	 "\n"
	 "  --sticky                the settings stick to the slot\n"
	 "\n"
	 "NAME is an environment variable name, VALUE at most 4096 bytes of\n"
	 "UTF-8. Values are never printed unless asked for.\n"},
	{"setting list", do_setting_list, "APP --slot SLOT [--show-values]",
	 "List the settings of slot SLOT: its sticky ones and those of its\n"
	 "deployment, and which are in effect.\n"
	 "\n"
	 "  --show-values           print the values too\n"},
	{"setting delete", do_setting_delete, "APP --slot SLOT NAME",
	 "Delete setting NAME of slot SLOT, sticky or of its deployment.\n"},
	{"hook set", do_slot_hook_set,
	 "APP --slot SLOT --exec PATH [--timeout S]", hook_set_help},
	{"hook delete", do_slot_hook_delete, "APP --slot SLOT",
	 "Remove slot SLOT's apply-settings hook.\n"},
	{"auto-swap", do_slot_auto_swap,
	 "APP --slot SLOT [--target-slot TARGET] [--delay S] [--off]",
	 auto_swap_help},
	{"health", do_slot_health,
	 "APP --slot SLOT [--mode http|https|tcp] [--path PATH] "
	 "[--status LIST] [--host NAME] [--interval S] [--timeout S] "
	 "[--unhealthy-after N] [--healthy-after M] "
	 "[--on-down-tcp reset|leave] [--off]",
	 health_help},
	{NULL, NULL, NULL, NULL},
};

const struct cmd swap_cmd = {
	NULL, do_slot_swap,
	"APP [--slot SOURCE] [--target-slot TARGET] "
	"[--action swap|preview|reset|cancel] [--audience CIDR ...] "
	"[--timeout DURATION] [--on-timeout reset|swap] [--dry-run] "
	"[--show-values] " VERIFY_USAGE " " WARMUP_USAGE,
	swap_help};

const struct cmd deploy_cmd = {
	NULL, do_deploy,
	"APP --slot NAME --backend ADDR:PORT[,weight=W] [--backend ...] "
	"[--version LABEL] [--wait]",
	"Deploy a new set of backends into slot NAME of APP. The slot's\n"
	"previous deployment drains: its pinned flows finish on it. The new\n"
	"deployment keeps the swapped settings of the one it replaces; the\n"
	"slot's hook applies its settings before it takes traffic. If the\n"
	"slot auto-swaps, the auto swap starts by itself.\n"
	"\n"
	"  --backend ADDR:PORT[,weight=W]  a backend; weight 1..65535, "
	"default 1\n"
	"  --version LABEL                 version label, at most 31 "
	"characters\n"
	"  --wait                          follow the slot's auto swap and "
	"exit 0\n"
	"                                  only if its target changed\n"};
