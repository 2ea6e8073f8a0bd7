/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb slot traffic: testing in production. Show, set or clear the
 * shares of production's new clients that go to other slots, and the
 * opt-in prefixes that always see a slot. Input is checked here with
 * slotlbd's own rules (user/lib/validate.c), so a typo fails at once
 * with exit 2 and the sentence the API would answer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "validate.h"

/* clang-format off */
const char traffic_help[] =
	"Show or change how the new clients arriving on APP's production\n"
	"endpoints are shared among its slots (Azure's \"testing in\n"
	"production\"). The choice hashes the client's address only, so a\n"
	"client gets one slot for every connection while the rules stay;\n"
	"clients behind one NAT share it. Connections already open keep\n"
	"their backend whatever changes.\n"
	"\n"
	"Without options: each slot's configured share, the measured share\n"
	"of new flows, and its opt-ins.\n"
	"\n"
	"  --distribution LIST    production's shares, e.g. staging=10,qa=2.5\n"
	"                         (percent to 0.01, total at most 100; slots\n"
	"                         not named get 0; production keeps the rest)\n"
	"  --clear                every share and opt-in go (with --slot: that\n"
	"                         slot's)\n"
	"  --slot NAME            the slot the options below change\n"
	"  --percent P            its share; 0 leaves it reachable only by its\n"
	"                         own endpoints and its opt-ins\n"
	"  --opt-in CIDR          clients that always get its deployment on\n"
	"                         production's endpoints, also at 0%; IPv4 or\n"
	"                         IPv6, repeatable or comma-separated; on\n"
	"                         production itself they stay out of the shares\n"
	"  --remove-opt-in CIDR   opt-ins to remove (repeatable, commas)\n"
	"  --lookup ADDR          where a new connection from client ADDR to\n"
	"                         production's endpoints goes now, and why\n"
	"                         (repeatable, commas; at most 64)\n"
	"\n"
	"A change is one atomic update of the data path; a swap ends the\n"
	"shares of the two slots it swaps (opt-ins stay).\n";
/* clang-format on */

enum { O_DIST, O_CLEAR, O_SLOT, O_PERCENT, O_OPT_IN, O_REMOVE, O_LOOKUP };

static const char *const lookup_headers[] = {"CLIENT", "SLOT", "DEPLOYMENT",
					     "BUCKET", "BY",   NULL};

static const char *const traffic_headers[] = {
	"SLOT",	      "SHARE",	 "MEASURED", "NEW-FLOWS",
	"DEPLOYMENT", "VERSION", "OPT-IN",   NULL};

/* Every value of a repeatable option, split at commas, as a JSON array
 * of strings checked by the opt-in rule; NULL after a usage error. */
static json_t *prefix_list(const struct opt *o, int *rc)
{
	struct slotlb_prefix p[SLOTLB_MAX_AUDIENCE];
	const char *list[SLOTLB_MAX_AUDIENCE + 1];
	char why[SLOTLB_TRAFFIC_WHY_LEN], *copy, *tok, *save;
	json_t *a = json_array();
	size_t i, n = 0;

	*rc = 0;
	for (i = 0; i < o->n_values && !*rc; i++) {
		copy = strdup(o->values[i]);
		if (!copy) {
			*rc = usage_err("opt-in: out of memory");
			break;
		}
		/* an empty piece ("a,,b", "a,") is an empty prefix */
		save = copy;
		while ((tok = strsep(&save, ",")))
			json_array_append_new(a, json_string(tok));
		free(copy);
	}
	n = json_array_size(a);
	if (!*rc && n > SLOTLB_MAX_AUDIENCE)
		*rc = usage_err("opt-in: %zu prefixes: at most %d", n,
				SLOTLB_MAX_AUDIENCE);
	for (i = 0; !*rc && i < n; i++)
		list[i] = json_string_value(json_array_get(a, i));
	if (!*rc && validate_opt_ins(list, n, p, why, sizeof(why)))
		*rc = usage_err("opt-in: %s", why);
	if (*rc) {
		json_decref(a);
		return NULL;
	}
	return a;
}

/* "?client=A,B" of --lookup's values, each checked; 0 or an exit code. */
static int lookup_query(const struct opt *o, char *buf, size_t len)
{
	char *copy, *tok, *save;
	__be32 addr[4];
	uint8_t family;
	const char *why;
	size_t i, n = 0, at;
	int rc = 0;

	at = (size_t)snprintf(buf, len, "?client=");
	for (i = 0; i < o->n_values && !rc; i++) {
		copy = strdup(o->values[i]);
		if (!copy)
			return usage_err("lookup: out of memory");
		save = copy;
		while (!rc && (tok = strsep(&save, ","))) {
			if (validate_client(tok, addr, &family, &why))
				rc = usage_err("lookup: %s: %s", tok, why);
			else if (++n > VALIDATE_LOOKUP_MAX)
				rc = usage_err("lookup: at most %d addresses",
					       VALIDATE_LOOKUP_MAX);
			else if (at < len)
				at += (size_t)snprintf(buf + at, len - at,
						       "%s%s", n > 1 ? "," : "",
						       tok);
		}
		free(copy);
	}
	if (!rc && at >= len)
		rc = usage_err("lookup: addresses too long");
	return rc;
}

/* The request the options ask for; 0, or an exit code after saying why. */
static int build_request(struct opt *o, const char **method, json_t **body)
{
	struct slotlb_distribution d;
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	bool slot_change =
		o[O_PERCENT].given || o[O_OPT_IN].given || o[O_REMOVE].given;
	json_t *list;
	uint16_t bp;
	int rc;

	*method = "GET";
	*body = NULL;
	if (o[O_LOOKUP].given &&
	    (o[O_DIST].given || o[O_CLEAR].given || o[O_SLOT].given))
		return usage_err("traffic: --lookup only shows; it goes "
				 "without changes");
	if (o[O_DIST].given && (o[O_CLEAR].given || o[O_SLOT].given))
		return usage_err("traffic: --distribution sets every share; "
				 "--clear and --slot go without it");
	if (slot_change && !o[O_SLOT].given)
		return usage_err("traffic: --percent, --opt-in and "
				 "--remove-opt-in need --slot NAME");
	if (o[O_SLOT].given && !slot_change && !o[O_CLEAR].given)
		return usage_err("traffic: --slot needs --percent, --opt-in, "
				 "--remove-opt-in or --clear");
	if (o[O_DIST].given) {
		if (validate_distribution(o[O_DIST].value, &d, why,
					  sizeof(why)))
			return usage_err("distribution: %s", why);
		*method = "PUT";
		*body = json_pack("{s:s}", "distribution", o[O_DIST].value);
		return 0;
	}
	if (o[O_CLEAR].given && !o[O_SLOT].given) {
		*method = "DELETE";
		return 0;
	}
	if (!o[O_SLOT].given)
		return 0;
	rc = check_name("slot", o[O_SLOT].value);
	if (rc)
		return rc;
	*method = "POST";
	*body = json_object();
	if (o[O_PERCENT].given) {
		if (validate_share(o[O_PERCENT].value, &bp, why, sizeof(why)))
			rc = usage_err("percent: %s: %s", o[O_PERCENT].value,
				       why);
		else if (!strcmp(o[O_SLOT].value, VALIDATE_TRAFFIC_FROM))
			rc = usage_err("percent: %s keeps what the other slots "
				       "do not take; give them their shares "
				       "instead",
				       VALIDATE_TRAFFIC_FROM);
		else
			json_object_set_new(*body, "percent",
					    json_string(o[O_PERCENT].value));
	}
	if (!rc && o[O_CLEAR].given)
		json_object_set_new(*body, "clear", json_true());
	if (!rc && o[O_REMOVE].given) {
		list = prefix_list(&o[O_REMOVE], &rc);
		if (list)
			json_object_set_new(*body, "remove_opt_in", list);
	}
	if (!rc && o[O_OPT_IN].given) {
		list = prefix_list(&o[O_OPT_IN], &rc);
		if (list)
			json_object_set_new(*body, "opt_in", list);
	}
	if (rc) {
		json_decref(*body);
		*body = NULL;
	}
	return rc;
}

/* "10%", or "-" for none. */
static void print_pct(const char *key, json_t *v)
{
	char buf[32];

	print_json(PR_JSON, key, v);
	if (json_is_string(v)) {
		snprintf(buf, sizeof(buf), "%s%%", json_string_value(v));
		print_str(PR_TABLE, NULL, buf);
	} else {
		print_str(PR_TABLE, NULL, NULL);
	}
}

static void print_traffic_slot(json_t *s)
{
	char opt[1024] = "";
	json_t *p;
	size_t i;

	open_object(NULL);
	print_str(PR_ANY, "name", jstr(s, "name"));
	print_pct("share", json_object_get(s, "share"));
	print_uint(PR_JSON, "share_bp", jint(s, "share_bp"));
	print_json(PR_JSON, "range", json_object_get(s, "range"));
	print_pct("measured", json_object_get(s, "measured"));
	print_uint(PR_ANY, "new_flows", jint(s, "new_flows"));
	print_json(PR_ANY, "deployment", json_object_get(s, "deployment"));
	print_json(PR_ANY, "version", json_object_get(s, "version"));
	print_json(PR_JSON, "opt_in", json_object_get(s, "opt_in"));
	json_array_foreach(json_object_get(s, "opt_in"), i, p)
		snprintf(opt + strlen(opt), sizeof(opt) - strlen(opt), "%s%s",
			 i ? "," : "", json_string_value(p));
	print_str(PR_TABLE, NULL, opt[0] ? opt : NULL);
	close_object();
	row_end();
}

/* The lookup of the traffic object as a table (JSON: the object). */
static int print_lookup(json_t *t)
{
	json_t *l;
	size_t i;

	if (json_output) {
		out_begin();
		print_json(PR_JSON, NULL, t);
		return out_end();
	}
	out_begin();
	table_begin(lookup_headers);
	json_array_foreach(json_object_get(t, "lookup"), i, l)
	{
		print_str(PR_TABLE, NULL, jstr(l, "client"));
		print_str(PR_TABLE, NULL, jstr(l, "slot"));
		print_json(PR_TABLE, NULL, json_object_get(l, "deployment"));
		print_uint(PR_TABLE, NULL, jint(l, "bucket"));
		print_str(PR_TABLE, NULL, jstr(l, "by"));
		row_end();
	}
	return out_end();
}

/* The traffic object as a table (a row per slot, then the window) or
 * as JSON. */
static int print_traffic(json_t *t)
{
	json_t *w = json_object_get(t, "window"), *h, *s;
	const char *detail;
	size_t i;

	out_begin();
	table_begin(traffic_headers);
	open_object(NULL);
	print_str(PR_JSON, "app", jstr(t, "app"));
	print_str(PR_JSON, "slot", jstr(t, "slot"));
	open_array("slots");
	json_array_foreach(json_object_get(t, "slots"), i, s)
		print_traffic_slot(s);
	close_array();
	print_json(PR_JSON, "window", w);
	h = json_object_get(t, "history");
	if (h)
		print_json(PR_JSON, "history", h);
	close_object();
	out_end();
	if (json_output)
		return 0;
	if (json_is_object(w) && jint(w, "new_flows"))
		printf("measured over the last %.1f s: %lld new flows on %s's "
		       "endpoints\n",
		       (double)jint(w, "ms") / 1000,
		       (long long)jint(w, "new_flows"), jstr(t, "slot"));
	else if (json_is_object(w))
		printf("measured: no new flow on %s's endpoints since the last "
		       "change (%.1f s)\n",
		       jstr(t, "slot"), (double)jint(w, "ms") / 1000);
	detail = jstr(h, "detail");
	if (detail && strstr(detail, "range moved"))
		printf("note: %s\n", detail);
	return 0;
}

int do_slot_traffic(int argc, char **argv)
{
	struct opt opts[] = {
		[O_DIST] = {.name = "distribution", .has_arg = true},
		[O_CLEAR] = {.name = "clear"},
		[O_SLOT] = {.name = "slot", .has_arg = true},
		[O_PERCENT] = {.name = "percent", .has_arg = true},
		[O_OPT_IN] = {.name = "opt-in",
			      .has_arg = true,
			      .repeat = true},
		[O_REMOVE] = {.name = "remove-opt-in",
			      .has_arg = true,
			      .repeat = true},
		[O_LOOKUP] = {.name = "lookup",
			      .has_arg = true,
			      .repeat = true},
		{NULL},
	};
	struct api_reply r;
	const char *pos[1], *method;
	char *app = NULL, *slot = NULL, path[512], query[4096] = "";
	json_t *body = NULL;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc)
		rc = check_name("app", pos[0]);
	if (!rc)
		rc = build_request(opts, &method, &body);
	if (!rc && opts[O_LOOKUP].given)
		rc = lookup_query(&opts[O_LOOKUP], query, sizeof(query));
	if (rc)
		goto out;
	app = api_escape(pos[0]);
	slot = opts[O_SLOT].value ? api_escape(opts[O_SLOT].value) : NULL;
	if (!app || (opts[O_SLOT].value && !slot)) {
		rc = usage_err("traffic: out of memory");
		goto out;
	}
	if (!strcmp(method, "POST"))
		snprintf(path, sizeof(path), "/v1/apps/%s/slots/%s/traffic",
			 app, slot);
	else
		snprintf(path, sizeof(path), "/v1/apps/%s/traffic", app);
	if (query[0]) {
		char *full;

		if (asprintf(&full, "%s%s", path, query) < 0) {
			rc = usage_err("traffic: out of memory");
			goto out;
		}
		rc = api_call(method, full, body, &r);
		free(full);
	} else {
		rc = api_call(method, path, body, &r);
	}
	if (!rc) {
		rc = query[0] ? print_lookup(r.body) : print_traffic(r.body);
		json_decref(r.body);
	}
out:
	free_opts(opts);
	json_decref(body);
	free(app);
	free(slot);
	return ARGS_RC(rc);
}
