/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb flows: the flows pinned on an app's endpoints (client, backend,
 * age, idle time, state), and with --lookup, the backend a new connection
 * from a client would reach now.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

static const char *const flow_headers[] = {
	"CLIENT",  "ENDPOINT", "SLOT", "BACKEND", "DEPLOYMENT",
	"VERSION", "AGE",      "IDLE", "STATE",	  NULL};
static const char *const lookup_headers[] = {
	"CLIENT",     "ENDPOINT", "SLOT",    "ROUTED-SLOT", "WHY",
	"DEPLOYMENT", "VERSION",  "BACKEND", NULL};

/* A duration in ms as a table cell: seconds, then minutes and hours
 * for the long-lived flows of a keep-alive pool. */
static void print_duration(const char *key, json_int_t ms)
{
	long long s = (long long)(ms / 1000);
	char buf[32];

	if (s < 60)
		snprintf(buf, sizeof(buf), "%llds", s);
	else if (s < 3600)
		snprintf(buf, sizeof(buf), "%lldm%02llds", s / 60, s % 60);
	else
		snprintf(buf, sizeof(buf), "%lldh%02lldm", s / 3600,
			 s / 60 % 60);
	print_str(PR_TABLE, NULL, buf);
	print_uint(PR_JSON, key, ms);
}

static void print_flow(json_t *f)
{
	open_object(NULL);
	print_str(PR_ANY, "client", jstr(f, "client"));
	print_str(PR_ANY, "endpoint", jstr(f, "endpoint"));
	print_str(PR_ANY, "slot", jstr(f, "slot"));
	print_str(PR_ANY, "backend", jstr(f, "backend"));
	print_uint(PR_ANY, "deployment", jint(f, "deployment"));
	print_str(PR_ANY, "version", jstr(f, "version"));
	print_duration("age_ms", jint(f, "age_ms"));
	print_duration("idle_ms", jint(f, "idle_ms"));
	print_str(PR_ANY, "state", jstr(f, "state"));
	print_bool(PR_JSON, "live", json_is_true(json_object_get(f, "live")));
	close_object();
	row_end();
}

static int flows_list(const char *path, json_t *body)
{
	json_int_t total = jint(body, "total");
	size_t shown = json_array_size(json_object_get(body, "flows"));
	json_t *f;
	size_t i;
	int rc;

	(void)path;
	out_begin();
	table_begin(flow_headers);
	open_object(NULL);
	open_array("flows");
	json_array_foreach(json_object_get(body, "flows"), i, f) print_flow(f);
	close_array();
	print_uint(PR_JSON, "total", total);
	close_object();
	json_decref(body);
	rc = out_end();
	if (!json_output && (json_int_t)shown < total)
		printf("(%zu of %lld flows; --limit N shows more)\n", shown,
		       (long long)total);
	return rc;
}

static int flows_lookup(json_t *body)
{
	json_t *dep = json_object_get(body, "deployment");

	out_begin();
	table_begin(lookup_headers);
	open_object(NULL);
	print_str(PR_ANY, "client", jstr(body, "client"));
	print_str(PR_ANY, "endpoint", jstr(body, "endpoint"));
	print_str(PR_ANY, "slot", jstr(body, "slot"));
	print_str(PR_ANY, "routed_slot", jstr(body, "routed_slot"));
	print_str(PR_ANY, "why", jstr(body, "why"));
	if (json_is_integer(dep))
		print_uint(PR_ANY, "deployment", json_integer_value(dep));
	else
		print_str(PR_ANY, "deployment", "none (dropped)");
	print_str(PR_ANY, "version", jstr(body, "version"));
	print_str(PR_ANY, "backend",
		  json_is_string(json_object_get(body, "backend"))
			  ? jstr(body, "backend")
			  : "none");
	print_uint(PR_JSON, "bucket", jint(body, "bucket"));
	print_uint(PR_JSON, "hash", jint(body, "hash"));
	close_object();
	row_end();
	json_decref(body);
	return out_end();
}

/* "?a=b&c=d" of the given options, escaped. */
static void add_query(char *buf, size_t len, const char *name,
		      const char *value)
{
	char *esc;

	if (!value)
		return;
	esc = api_escape(value);
	snprintf(buf + strlen(buf), len - strlen(buf), "%c%s=%s",
		 strchr(buf, '?') ? '&' : '?', name, esc ? esc : "");
	free(esc);
}

int do_flows(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "slot", .has_arg = true},
		{.name = "deployment", .has_arg = true},
		{.name = "limit", .has_arg = true},
		{.name = "lookup", .has_arg = true},
		{.name = "endpoint", .has_arg = true},
		{NULL},
	};
	const char *slot = NULL, *dep, *limit, *lookup, *endpoint, *why;
	struct api_reply r;
	const char *pos[1];
	char path[1024], *esc;
	size_t np, n;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (rc)
		return ARGS_RC(rc);
	slot = opts[0].value;
	dep = opts[1].value;
	limit = opts[2].value;
	lookup = opts[3].value;
	endpoint = opts[4].value;
	if (check_name("app", pos[0]) || (slot && check_name("slot", slot)))
		return EXIT_USAGE;
	if (slot && dep)
		return usage_err("flows: --slot or --deployment, not both");
	if (lookup && (slot || dep || limit))
		return usage_err("flows: --lookup takes only --endpoint");
	if (endpoint && !lookup)
		return usage_err("flows: --endpoint goes with --lookup");
	if (limit && validate_history_limit(limit, &n, &why))
		return usage_err("flows: --limit %s: %s", limit, why);
	if (endpoint && check_endpoint(endpoint))
		return EXIT_USAGE;
	esc = api_escape(pos[0]);
	snprintf(path, sizeof(path), "/v1/apps/%s/flows%s", esc ? esc : "",
		 lookup ? "/lookup" : "");
	free(esc);
	add_query(path, sizeof(path), "client", lookup);
	add_query(path, sizeof(path), "endpoint", endpoint);
	add_query(path, sizeof(path), "slot", slot);
	add_query(path, sizeof(path), "deployment", dep);
	add_query(path, sizeof(path), "limit", limit);
	rc = api_call("GET", path, NULL, &r);
	if (rc)
		return rc;
	return lookup ? flows_lookup(r.body) : flows_list(path, r.body);
}

const struct cmd flows_cmd = {
	NULL, do_flows,
	"APP [--slot SLOT | --deployment ID] [--limit N] | APP --lookup "
	"CLIENT:PORT [--endpoint ENDPOINT]",
	"List the flows pinned on APP's endpoints: client, endpoint, slot,\n"
	"backend, deployment, version, age (since its first packet), idle\n"
	"time (since its last) and state (open, fin-client, fin-backend,\n"
	"closed, reset). --slot: only those that came in on SLOT's\n"
	"endpoints; --deployment: only those pinned to deployment ID;\n"
	"--limit: at most N (default 100; the total is said).\n"
	"With --lookup: the backend a new connection from CLIENT:PORT to\n"
	"ENDPOINT (default: production's endpoint of the client's family)\n"
	"would reach now, chosen as the data path does (traffic rules, then\n"
	"the deployment's Maglev ring).\n"};
