/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb status and history: what each slot serves now, which old
 * deployments still drain pinned flows, and what was done when, by whom,
 * with which warm-up result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Table-only cells before the deployment columns of a status row. */
#define STATUS_LEAD 5

static const char *const status_headers[] = {
	"APP",		 "SLOT",    "ENDPOINTS", "SHARE",   "MEASURED",
	"DEPLOYMENT",	 "VERSION", "FLOWS",	 "BACKEND", "WEIGHT",
	"BACKEND-FLOWS", "HEALTH",  NULL};
static const char *const history_headers[] = {
	"TIME",	   "ACTION", "SLOTS",  "DEPLOYMENTS", "TRIGGER",
	"OUTCOME", "WARMUP", "DETAIL", NULL};

static void blank_cells(int n)
{
	while (n-- > 0)
		print_str(PR_TABLE, NULL, "");
}

/* A backend's health: "-" unchecked, "up", "down since T (error)", or
 * "down, in ring (fail open)". */
static void print_health_cell(json_t *h)
{
	char cell[256];

	print_json(PR_JSON, "health", h);
	if (!json_is_object(h))
		snprintf(cell, sizeof(cell), "-");
	else if (!strcmp(jstr(h, "state"), "up"))
		snprintf(cell, sizeof(cell), "up%s%s",
			 jstr(h, "since") ? " since " : "",
			 jstr(h, "since") ? jstr(h, "since") : "");
	else
		snprintf(cell, sizeof(cell), "down since %s%s (%s)",
			 jstr(h, "since") ? jstr(h, "since") : "?",
			 json_is_true(json_object_get(h, "in_ring"))
				 ? ", in ring: last backend (fail open)"
				 : "",
			 jstr(h, "error") ? jstr(h, "error") : "failing");
	print_str(PR_TABLE, NULL, cell);
}

/* Deployment columns (and one row per backend); the caller opened the
 * JSON object and filled lead_cols table cells before. */
void print_deployment_rows(json_t *d, int lead_cols)
{
	char addr[128];
	json_t *b;
	size_t i;

	print_uint(PR_ANY, "id", jint(d, "id"));
	print_str(PR_ANY, "version", jstr(d, "version"));
	print_json(PR_JSON, "slot", json_object_get(d, "slot"));
	print_str(PR_JSON, "state", jstr(d, "state"));
	print_uint(PR_ANY, "flows", jint(d, "flows"));
	print_str(PR_JSON, "created", jstr(d, "created"));
	print_json(PR_JSON, "drain", json_object_get(d, "drain"));
	open_array("backends");
	json_array_foreach(json_object_get(d, "backends"), i, b)
	{
		if (i) {
			row_end();
			blank_cells(lead_cols + 3);
		}
		open_object(NULL);
		print_str(PR_JSON, "address", jstr(b, "address"));
		/* a drained backend takes no new flows; its own flows run on
		 * (until its deadline, if it has one) */
		if (!json_is_true(json_object_get(b, "drained")))
			snprintf(addr, sizeof(addr), "%s", jstr(b, "address"));
		else if (jstr(b, "drain_deadline"))
			snprintf(addr, sizeof(addr),
				 "%s (drained, reset at %s)",
				 jstr(b, "address"), jstr(b, "drain_deadline"));
		else
			snprintf(addr, sizeof(addr), "%s (drained)",
				 jstr(b, "address"));
		print_str(PR_TABLE, "address", addr);
		print_json(PR_JSON, "drained", json_object_get(b, "drained"));
		print_json(PR_JSON, "drained_since",
			   json_object_get(b, "drained_since"));
		print_json(PR_JSON, "drain_timeout_s",
			   json_object_get(b, "drain_timeout_s"));
		print_json(PR_JSON, "drain_deadline",
			   json_object_get(b, "drain_deadline"));
		print_uint(PR_ANY, "weight", jint(b, "weight"));
		print_uint(PR_ANY, "flows", jint(b, "flows"));
		print_health_cell(json_object_get(b, "health"));
		close_object();
	}
	close_array();
	row_end();
}

/* Where a draining deployment's drain ends: "reset at T", "timeout at
 * T" (leave: its flows run on), "no timeout", or "deadline not fixed
 * yet" (slotlbd fixes it within a drain tick). */
static void print_drain_cell(json_t *drain)
{
	char cell[96];

	if (!jstr(drain, "on_timeout"))
		snprintf(cell, sizeof(cell), "deadline not fixed yet");
	else if (!jstr(drain, "deadline"))
		snprintf(cell, sizeof(cell), "no timeout");
	else
		snprintf(cell, sizeof(cell), "%s at %s",
			 strcmp(jstr(drain, "on_timeout")
					? jstr(drain, "on_timeout")
					: "",
				"reset")
				 ? "timeout"
				 : "reset",
			 jstr(drain, "deadline"));
	print_str(PR_TABLE, NULL, cell);
}

/* A slot's share of production's new clients, configured and
 * measured: "10%", or "-". */
static void print_share(json_t *traffic)
{
	const char *keys[] = {"share", "measured"};
	char buf[32];
	size_t i;

	print_json(PR_JSON, "traffic", traffic);
	for (i = 0; i < 2; i++) {
		const char *v = jstr(traffic, keys[i]);

		if (v)
			snprintf(buf, sizeof(buf), "%s%%", v);
		print_str(PR_TABLE, NULL, v ? buf : NULL);
	}
}

/* A pending multi-phase swap: one row "(swap pending)". */
static void print_pending(json_t *app, const char *name)
{
	json_t *p = json_object_get(app, "pending_swap"), *a;
	char text[512];
	size_t i;

	print_json(PR_JSON, "pending_swap", p);
	if (!json_is_object(p))
		return;
	snprintf(text, sizeof(text), "%s -> %s, audience", jstr(p, "slot"),
		 jstr(p, "target_slot"));
	json_array_foreach(json_object_get(p, "audience"), i, a)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 "%s%s", i ? "," : " ", json_string_value(a));
	if (!json_array_size(json_object_get(p, "audience")))
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 " none");
	if (jstr(p, "on_timeout"))
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
			 ", %s at %s", jstr(p, "on_timeout"),
			 jstr(p, "deadline"));
	print_str(PR_TABLE, NULL, name);
	print_str(PR_TABLE, NULL, "(swap pending)");
	print_str(PR_TABLE, NULL, text);
	row_end();
}

/* A swap being verified: one row "(verifying)". */
static void print_verifying(json_t *app, const char *name)
{
	json_t *v = json_object_get(app, "verifying");
	char text[256];

	if (!json_is_object(v))
		return;
	print_json(PR_JSON, "verifying", v);
	snprintf(text, sizeof(text), "%s: deployment %lld until %s",
		 jstr(v, "slot"), (long long)jint(v, "deployment"),
		 jstr(v, "until"));
	print_str(PR_TABLE, NULL, name);
	print_str(PR_TABLE, NULL, "(verifying)");
	print_str(PR_TABLE, NULL, text);
	row_end();
}

/* One app as status rows: a row per slot and backend, then draining. */
void print_app(json_t *app)
{
	const char *name = jstr(app, "name");
	json_t *s, *d;
	size_t i;

	open_object(NULL);
	/* A DSR app says so beside its name; NAT, the default, does not. */
	if (!strcmp(jstr(app, "mode"), "dsr")) {
		char cell[128];

		snprintf(cell, sizeof(cell), "%s [dsr]", name);
		print_str(PR_JSON, "name", name);
		print_str(PR_TABLE, NULL, cell);
	} else {
		print_str(PR_ANY, "name", name);
	}
	print_str(PR_JSON, "mode", jstr(app, "mode"));
	print_uint(PR_JSON, "id", jint(app, "id"));
	open_array("slots");
	json_array_foreach(json_object_get(app, "slots"), i, s)
	{
		if (i)
			print_str(PR_TABLE, NULL, name);
		open_object(NULL);
		print_str(PR_ANY, "name", jstr(s, "name"));
		print_uint(PR_JSON, "index", jint(s, "index"));
		print_endpoints(s);
		print_share(json_object_get(s, "traffic"));
		d = json_object_get(s, "deployment");
		if (json_is_object(d)) {
			open_object("deployment");
			print_deployment_rows(d, STATUS_LEAD);
			close_object();
		} else {
			print_json(PR_JSON, "deployment", NULL);
			print_str(PR_TABLE, NULL, "(empty)");
			row_end();
		}
		close_object();
	}
	close_array();
	open_array("draining");
	json_array_foreach(json_object_get(app, "draining"), i, d)
	{
		print_str(PR_TABLE, NULL, name);
		print_str(PR_TABLE, NULL, "(draining)");
		print_drain_cell(json_object_get(d, "drain"));
		blank_cells(STATUS_LEAD - 3);
		open_object(NULL);
		print_deployment_rows(d, STATUS_LEAD);
		close_object();
	}
	close_array();
	print_pending(app, name);
	print_verifying(app, name);
	close_object();
	if (!json_array_size(json_object_get(app, "slots")))
		row_end();
}

void print_app_table(json_t *app)
{
	table_begin(status_headers);
	print_app(app);
}

static bool is_drain_of(json_t *d, json_int_t serial)
{
	return json_integer_value(json_object_get(json_object_get(d, "drain"),
						  "serial")) == serial;
}

/* The app and version of the draining deployment with this serial in
 * a status (body; a deleted app's: "(deleted app)"), or NULL. */
static const char *draining_name(json_t *body, json_int_t serial,
				 const char **app)
{
	json_t *a, *d;
	size_t i, j;

	json_array_foreach(json_object_get(body, "apps"), i, a)
	{
		json_array_foreach(json_object_get(a, "draining"), j, d)
		{
			if (is_drain_of(d, serial)) {
				*app = jstr(a, "name");
				return jstr(d, "version");
			}
		}
	}
	json_array_foreach(json_object_get(body, "draining"), j, d)
	{
		if (is_drain_of(d, serial)) {
			*app = "(deleted app)";
			return jstr(d, "version");
		}
	}
	return NULL;
}

/* Each node's count of flows pinned to each draining deployment: a
 * drain retires only when every live node's is 0
 * (docs/fleet-store.md). */
static void print_fleet_drains(json_t *f, json_t *body)
{
	const char *app = "?", *version;
	json_t *dr;
	size_t i;

	json_array_foreach(json_object_get(f, "drains"), i, dr)
	{
		json_int_t serial =
			json_integer_value(json_object_get(dr, "deployment"));
		json_int_t flows =
			json_integer_value(json_object_get(dr, "flows"));

		version = draining_name(body, serial, &app);
		printf("node %s: %lld flow%s pinned to ", jstr(dr, "node"),
		       (long long)flows, flows == 1 ? "" : "s");
		if (version)
			printf("%s %s (draining)\n", app, version);
		else
			printf("deployment serial %lld (draining)\n",
			       (long long)serial);
	}
}

/* After the table: the store, the log's head and how far each node
 * applied it (docs/fleet-store.md). */
static void print_fleet(json_t *f)
{
	json_t *head = json_object_get(f, "head"), *n;
	json_t *mine = json_object_get(f, "applied");
	size_t i;

	printf("\nfleet %s: %s", jstr(f, "store"),
	       json_is_true(json_object_get(f, "reachable")) ? "reachable"
							     : "UNREACHABLE");
	if (head)
		printf(", log at entry %lld (revision %lld)",
		       (long long)json_integer_value(
			       json_object_get(head, "entry")),
		       (long long)json_integer_value(
			       json_object_get(head, "revision")));
	printf("\nthis node %s: applied entry %lld (revision %lld)\n",
	       jstr(f, "node"),
	       (long long)json_integer_value(json_object_get(mine, "entry")),
	       (long long)json_integer_value(
		       json_object_get(mine, "revision")));
	json_array_foreach(json_object_get(f, "nodes"), i, n) printf(
		"node %s: applied entry %lld (revision %lld)\n",
		jstr(n, "node"),
		(long long)json_integer_value(json_object_get(n, "seq")),
		(long long)json_integer_value(json_object_get(n, "revision")));
}

int do_status(int argc, char **argv)
{
	struct api_reply r;
	json_t *fleet, *app;
	size_t i;
	const char *pos[1];
	char path[256], *esc = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 1, 0, &np);
	if (rc)
		return ARGS_RC(rc);
	if (np && check_name("app", pos[0]))
		return EXIT_USAGE;
	if (np)
		esc = api_escape(pos[0]);
	snprintf(path, sizeof(path), "/v1/status%s%s", esc ? "?app=" : "",
		 esc ? esc : "");
	free(esc);
	rc = api_call("GET", path, NULL, &r);
	if (rc)
		return rc;
	fleet = json_incref(json_object_get(r.body, "fleet"));
	if (!fleet)
		return out_list(status_headers, r.body, "apps", print_app);
	/* a node of a fleet: the apps, then the fleet's log and nodes */
	out_begin();
	table_begin(status_headers);
	open_object(NULL);
	open_array("apps");
	json_array_foreach(json_object_get(r.body, "apps"), i, app)
		print_app(app);
	close_array();
	print_json(PR_JSON, "fleet", fleet);
	close_object();
	rc = out_end();
	if (!json_output) {
		print_fleet(fleet);
		print_fleet_drains(fleet, r.body);
	}
	json_decref(r.body);
	json_decref(fleet);
	return rc;
}

/* "2/3 ok", or "-" when the action had no warm-up. */
static void print_warmup(json_t *h, char *detail, size_t len)
{
	json_t *w = json_object_get(h, "warmup"), *p;
	size_t i, ok = 0;
	char sum[32];

	json_array_foreach(w, i, p)
	{
		if (json_is_true(json_object_get(p, "ok"))) {
			ok++;
			continue;
		}
		/* The failed backends are what an operator looks for. */
		snprintf(detail + strlen(detail), len - strlen(detail),
			 "%s%s: %s after %lld attempts", detail[0] ? "; " : "",
			 jstr(p, "backend"),
			 jstr(p, "error") ? jstr(p, "error") : "failed",
			 (long long)jint(p, "attempts"));
	}
	snprintf(sum, sizeof(sum), "%zu/%zu ok", ok, json_array_size(w));
	print_str(PR_TABLE, NULL, json_array_size(w) ? sum : NULL);
	print_json(PR_JSON, "warmup", w);
}

static void print_history(json_t *h)
{
	const char *target = jstr(h, "target_slot");
	char slots[160], deps[256] = "", detail[1024];
	const char *slot;
	json_t *v;

	snprintf(slots, sizeof(slots), "%s%s%s",
		 jstr(h, "slot") ? jstr(h, "slot") : "-", target ? "->" : "",
		 target ? target : "");
	json_object_foreach(json_object_get(h, "deployments"), slot, v)
	{
		snprintf(deps + strlen(deps), sizeof(deps) - strlen(deps),
			 "%s%s=%lld", deps[0] ? "," : "", slot,
			 (long long)json_integer_value(v));
	}
	snprintf(detail, sizeof(detail), "%s",
		 jstr(h, "detail") ? jstr(h, "detail") : "");

	open_object(NULL);
	print_uint(PR_JSON, "id", jint(h, "id"));
	print_str(PR_ANY, "time", jstr(h, "time"));
	print_str(PR_ANY, "action", jstr(h, "action"));
	print_str(PR_TABLE, NULL, slots);
	print_str(PR_JSON, "slot", jstr(h, "slot"));
	print_json(PR_JSON, "target_slot", json_object_get(h, "target_slot"));
	print_str(PR_TABLE, NULL, deps[0] ? deps : NULL);
	print_json(PR_JSON, "deployments", json_object_get(h, "deployments"));
	print_str(PR_ANY, "trigger", jstr(h, "trigger"));
	print_str(PR_ANY, "outcome", jstr(h, "outcome"));
	print_str(PR_JSON, "detail", jstr(h, "detail"));
	print_warmup(h, detail, sizeof(detail));
	print_str(PR_TABLE, NULL, detail[0] ? detail : NULL);
	close_object();
	row_end();
}

int do_history(int argc, char **argv)
{
	struct api_reply r;
	const char *pos[1];
	char path[256], *esc;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, NULL, pos, 1, 0, &np);
	if (rc)
		return ARGS_RC(rc);
	if (np && check_name("app", pos[0]))
		return EXIT_USAGE;
	if (np) {
		esc = api_escape(pos[0]);
		snprintf(path, sizeof(path), "/v1/apps/%s/history",
			 esc ? esc : "");
		free(esc);
	} else {
		snprintf(path, sizeof(path), "/v1/history");
	}
	rc = api_call("GET", path, NULL, &r);
	if (rc)
		return rc;
	return out_list(history_headers, r.body, "history", print_history);
}

const struct cmd status_cmd = {
	NULL, do_status, "[APP]",
	"Show every app (or APP): each slot's endpoints, its share of\n"
	"production's new clients (configured and measured), deployment id\n"
	"and version, backends with weight and pinned flows (drained ones\n"
	"marked, with the time their flows are reset if drained with a\n"
	"timeout), and the draining deployments with the flows still pinned\n"
	"to them and when their drain ends.\n"};

const struct cmd history_cmd = {
	NULL, do_history, "[APP]",
	"Show APP's history: every change of it (create, deploy, swap,\n"
	"rollback, traffic, settings, config, health, backend, hook,\n"
	"delete, ...) and what slotlbd did by itself (drained,\n"
	"drain-timeout, retire, auto-rollback, health transitions): time,\n"
	"action, slots, deployments, who triggered it (the caller's\n"
	"identity), outcome and warm-up result (the failed backends and\n"
	"why). A deleted app's history stays readable. Without APP, the\n"
	"daemon's own history (interfaces).\n"};
