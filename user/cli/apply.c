/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlb export and apply: an app in a declarative form (slots with
 * their endpoints, warm-up, health, drain and verification policies,
 * hook, auto swap, sticky settings and the deployment each should hold)
 * and making the daemon equal to it. Event hooks are not in it (their
 * secrets stay in the daemon).
 *
 * apply checks the whole file first (types, unknown keys, duplicates,
 * every value by the daemon's own rules), then compares it with what
 * the daemon exports and plans the fewest ordinary API calls, each of
 * which is its own history entry with the trigger "apply": nothing to
 * do means no call at all, so applying a file twice changes nothing the
 * second time. A deployment the file wants in a slot that another slot
 * holds is brought there by a warm-up-gated swap, never a redeploy
 * (ARM's targetBuildVersion); apply's own deploys start no auto swap,
 * since the file says where each deployment goes.
 *
 * In the file, a key left out means "whatever is there"; null for a
 * hook, an auto swap or a deployment means none; a setting whose value
 * is null keeps the value the daemon has (export without --show-values
 * writes them so). --prune also deletes slots and settings the file
 * does not name.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "apply.h"
#include "validate.h"

void add_step(struct plan *p, const char *method, char *path, json_t *body,
	      const char *fmt, ...)
{
	struct step *grown = realloc(p->steps, (p->n + 1) * sizeof(*grown));
	va_list ap;

	if (!grown || !path) {
		free(path);
		json_decref(body);
		p->rc = usage_err("apply: out of memory");
		return;
	}
	p->steps = grown;
	grown[p->n].method = method;
	grown[p->n].path = path;
	grown[p->n].body = body;
	va_start(ap, fmt);
	vsnprintf(grown[p->n].what, sizeof(grown[p->n].what), fmt, ap);
	va_end(ap);
	p->n++;
}

/* --- comparing with the daemon ------------------------------------- */

/* The slot of list named name, or NULL. */
static json_t *slot_named(json_t *slots, const char *name)
{
	json_t *s;
	size_t i;

	json_array_foreach(slots, i, s)
	{
		if (!strcmp(jstr(s, "name"), name))
			return s;
	}
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two lists of strings with the same members, in any order. */
static bool same_set(json_t *a, json_t *b)
{
	size_t n = json_array_size(a), i;
	const char **x, **y;
	bool same = n == json_array_size(b);

	if (!same || !n)
		return same;
	x = calloc(n, sizeof(*x));
	y = calloc(n, sizeof(*y));
	for (i = 0; x && y && i < n; i++) {
		x[i] = json_string_value(json_array_get(a, i));
		y[i] = json_string_value(json_array_get(b, i));
	}
	if (x && y) {
		qsort(x, n, sizeof(*x), cmp_str);
		qsort(y, n, sizeof(*y), cmp_str);
		for (i = 0; same && i < n; i++)
			same = x[i] && y[i] && !strcmp(x[i], y[i]);
	}
	free(x);
	free(y);
	return same;
}

/* Endpoints as the daemon writes them ("ADDR:PORT/tcp"). */
static json_t *canonical_endpoints(json_t *list)
{
	char buf[SLOTLB_ENDPOINT_STRLEN];
	struct slotlb_endpoint_key k;
	json_t *out = json_array(), *e;
	size_t i;

	json_array_foreach(list, i, e)
	{
		if (validate_endpoint(json_string_value(e), &k, NULL) ||
		    slotlb_format_endpoint(&k, buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "%s", json_string_value(e));
		json_array_append_new(out, json_string(buf));
	}
	return out;
}

/* Backends as the daemon exports them ("ADDR:PORT[,weight=W]"). */
static json_t *canonical_backends(json_t *list)
{
	char buf[SLOTLB_ENDPOINT_STRLEN], out_s[SLOTLB_ENDPOINT_STRLEN + 16];
	struct slotlb_backend be;
	json_t *out = json_array(), *e;
	uint32_t w;
	size_t i;

	json_array_foreach(list, i, e)
	{
		if (validate_backend(json_string_value(e), &be, &w, NULL) ||
		    slotlb_format_backend(&be, buf, sizeof(buf)))
			snprintf(out_s, sizeof(out_s), "%s",
				 json_string_value(e));
		else if (w != 1)
			snprintf(out_s, sizeof(out_s), "%s,weight=%u", buf, w);
		else
			snprintf(out_s, sizeof(out_s), "%s", buf);
		json_array_append_new(out, json_string(out_s));
	}
	return out;
}

/* Same version and the same backends. */
static bool same_deployment(json_t *want, json_t *have)
{
	json_t *wb;
	bool same;

	if (!json_is_object(want) || !json_is_object(have))
		return json_is_null(want) && json_is_null(have);
	if (strcmp(jstr(want, "version"), jstr(have, "version")))
		return false;
	wb = canonical_backends(json_object_get(want, "backends"));
	same = same_set(wb, json_object_get(have, "backends"));
	json_decref(wb);
	return same;
}

double num(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);

	return v ? json_number_value(v) : dflt;
}

/* A warm-up object completed with Azure's defaults, numbers as reals,
 * host "" for none: two policies compare with json_equal(). */
static json_t *full_warmup(json_t *w)
{
	struct warmup_policy d;
	json_t *st = json_object_get(w, "statuses");

	warmup_policy_default(&d);
	return json_pack("{s:s, s:s, s:o, s:f, s:f, s:f, s:f, s:s}", "mode",
			 jstr(w, "mode") ? jstr(w, "mode") : "http", "path",
			 jstr(w, "path") ? jstr(w, "path") : d.path, "statuses",
			 st ? json_deep_copy(st) : json_array(), "timeout_s",
			 num(w, "timeout_s", d.timeout_ms / 1000.0), "retries",
			 num(w, "retries", d.retries), "deadline_s",
			 num(w, "deadline_s", 0), "retry_delay_ms",
			 num(w, "retry_delay_ms", d.retry_delay_ms), "host",
			 jstr(w, "host") ? jstr(w, "host") : "");
}

/* Settings steps for one side: sticky ones of a slot, or the swapped
 * ones of its deployment. */
static void plan_settings(struct plan *p, const char *file, const char *at,
			  const char *app, const char *slot, json_t *want,
			  json_t *have, bool sticky)
{
	json_t *set = json_object(), *v, *body;
	const char *name;
	char names[400] = "";

	json_object_foreach(want, name, v)
	{
		json_t *h = json_object_get(have, name);

		if (json_is_null(v)) {
			if (!h)
				p->rc = apply_bad(
					file, at,
					"%s: its value is hidden in this file and %s/%s has none (export --show-values)",
					name, app, slot);
			continue;
		}
		if (h && json_is_string(h) &&
		    !strcmp(json_string_value(h), json_string_value(v)))
			continue;
		json_object_set(set, name, v);
		snprintf(names + strlen(names), sizeof(names) - strlen(names),
			 "%s%s", names[0] ? ", " : "", name);
	}
	if (json_object_size(set)) {
		body = json_pack("{s:O, s:b}", "settings", set, "sticky",
				 sticky);
		add_step(p, "POST", app_path(app, slot, "/settings"), body,
			 "set %s settings of %s/%s: %s",
			 sticky ? "sticky" : "swapped", app, slot, names);
	}
	json_decref(set);
	if (!p->prune)
		return;
	json_object_foreach(have, name, v)
	{
		char tail[SETTING_NAME_LEN + 16];

		if (json_object_get(want, name))
			continue;
		snprintf(tail, sizeof(tail), "/settings/%s", name);
		add_step(p, "DELETE", app_path(app, slot, tail), NULL,
			 "delete %s setting %s of %s/%s",
			 sticky ? "sticky" : "swapped", name, app, slot);
	}
}

/* The deployments the file wants: production first, then in the file's
 * order; a deployment another slot holds comes by a swap. cur is the
 * plan's model of the slots, updated as the steps would change them. */
static void plan_deployments(struct plan *p, const char *app, json_t *want,
			     json_t *cur)
{
	json_t *ws, *cs, *other, *tmp, *body;
	size_t round, i, j;

	for (round = 0; round < 2; round++) {
		json_array_foreach(want, i, ws)
		{
			const char *name = jstr(ws, "name");
			json_t *d = json_object_get(ws, "deployment");

			if ((round == 0) != !strcmp(name, "production"))
				continue;
			cs = slot_named(cur, name);
			if (!d || json_is_null(d) || !cs ||
			    same_deployment(d,
					    json_object_get(cs, "deployment")))
				continue;
			other = NULL;
			json_array_foreach(cur, j, tmp)
			{
				json_t *has = json_object_get(tmp,
							      "deployment"),
				       *keep = slot_named(want,
							  jstr(tmp, "name"));

				/* a slot the file wants to keep it is no
				 * source: the swap would empty this one */
				keep = keep ? json_object_get(keep,
							      "deployment")
					    : NULL;
				if (tmp != cs && same_deployment(d, has) &&
				    !(keep && same_deployment(keep, has)))
					other = tmp;
			}
			if (other) {
				body = json_pack("{s:s, s:s}", "slot",
						 jstr(other, "name"),
						 "target_slot", name);
				add_step(
					p, "POST",
					app_path(app, NULL, "/swap?progress=1"),
					body,
					"swap %s/%s -> %s (warm-up gated): %s is there",
					app, jstr(other, "name"), name,
					jstr(d, "version"));
				tmp = json_incref(
					json_object_get(cs, "deployment"));
				json_object_set(
					cs, "deployment",
					json_object_get(other, "deployment"));
				json_object_set_new(other, "deployment", tmp);
				continue;
			}
			body = json_pack("{s:o, s:s, s:b}", "backends",
					 canonical_backends(json_object_get(
						 d, "backends")),
					 "version", jstr(d, "version"),
					 "auto_swap", 0);
			add_step(p, "POST", app_path(app, name, "/deploy"),
				 body, "deploy %s into %s/%s",
				 jstr(d, "version"), app, name);
			/* the new one keeps the swapped settings of the old */
			tmp = json_pack(
				"{s:s, s:o, s:O}", "version",
				jstr(d, "version"), "backends",
				canonical_backends(
					json_object_get(d, "backends")),
				"settings",
				json_is_object(
					json_object_get(cs, "deployment"))
					? json_object_get(
						  json_object_get(cs,
								  "deployment"),
						  "settings")
					: json_object());
			json_object_set_new(cs, "deployment", tmp);
		}
	}
}

/* Steps that make app (as the daemon exports it in have, NULL if it
 * does not exist) what the file's app object wants. */
static void plan_app(struct plan *p, const char *file, size_t ai, json_t *want,
		     json_t *have)
{
	const char *app = jstr(want, "name");
	json_t *wslots = json_object_get(want, "slots"), *cur, *ws, *cs, *v, *e;
	char at[96];
	size_t i;

	cur = have ? json_deep_copy(json_object_get(have, "slots"))
		   : json_array();
	ws = slot_named(wslots, "production");
	if (!have &&
	    (!ws || !json_array_size(json_object_get(ws, "endpoints")))) {
		p->rc = apply_bad(
			file, "apps",
			"app %s: a new app needs its production slot with endpoints",
			app);
		goto out;
	}
	/* the mode is the app's for life */
	if (have &&
	    strcmp(json_object_get(want, "mode") ? jstr(want, "mode") : "nat",
		   json_object_get(have, "mode") ? jstr(have, "mode")
						 : "nat")) {
		p->rc = apply_bad(
			file, "apps",
			"app %s: mode %s, but the app's is %s, and an app's mode does not change (delete the app first)",
			app,
			json_object_get(want, "mode") ? jstr(want, "mode")
						      : "nat",
			json_object_get(have, "mode") ? jstr(have, "mode")
						      : "nat");
		goto out;
	}
	if (!have) {
		v = json_object_get(ws, "endpoints");
		add_step(p, "POST", strdup("/v1/apps"),
			 json_pack("{s:s, s:O, s:s}", "name", app, "endpoints",
				   v, "mode",
				   json_object_get(want, "mode")
					   ? jstr(want, "mode")
					   : "nat"),
			 "create app %s", app);
		json_array_append_new(
			cur,
			json_pack("{s:s, s:o, s:o, s:n, s:n, s:o, s:n}", "name",
				  "production", "endpoints",
				  canonical_endpoints(v), "warmup",
				  json_object(), "hook", "auto_swap",
				  "settings", json_object(), "deployment"));
	}
	/* slots: new ones created, existing ones with the same endpoints */
	json_array_foreach(wslots, i, ws)
	{
		const char *name = jstr(ws, "name");
		json_t *eps = json_object_get(ws, "endpoints");

		snprintf(at, sizeof(at), "apps[%zu].slots[%zu]", ai, i);
		cs = slot_named(cur, name);
		if (cs) {
			e = eps ? canonical_endpoints(eps) : NULL;
			if (e && !same_set(e, json_object_get(cs, "endpoints")))
				p->rc = apply_bad(
					file, at,
					"%s/%s: endpoints differ from the slot's, and a slot's endpoints do not change (delete the slot first)",
					app, name);
			json_decref(e);
			continue;
		}
		if (!eps || !json_array_size(eps)) {
			p->rc = apply_bad(file, at,
					  "%s/%s: a new slot needs endpoints",
					  app, name);
			continue;
		}
		add_step(
			p, "POST", app_path(app, NULL, "/slots"),
			json_pack("{s:s, s:O}", "name", name, "endpoints", eps),
			"create slot %s/%s", app, name);
		json_array_append_new(
			cur,
			json_pack("{s:s, s:o, s:o, s:n, s:n, s:o, s:n}", "name",
				  name, "endpoints", canonical_endpoints(eps),
				  "warmup", json_object(), "hook", "auto_swap",
				  "settings", json_object(), "deployment"));
	}
	if (p->rc)
		goto out;
	/* what each slot keeps: warm-up policy, hook, sticky settings */
	json_array_foreach(wslots, i, ws)
	{
		const char *name = jstr(ws, "name");
		json_t *a, *b;

		snprintf(at, sizeof(at), "apps[%zu].slots[%zu]", ai, i);
		cs = slot_named(cur, name);
		v = json_object_get(ws, "warmup");
		if (v) {
			a = full_warmup(v);
			b = full_warmup(json_object_get(cs, "warmup"));
			if (!json_equal(a, b))
				add_step(p, "POST",
					 app_path(app, name, "/config"),
					 json_pack("{s:O}", "warmup", a),
					 "set the warm-up policy of %s/%s", app,
					 name);
			json_decref(a);
			json_decref(b);
		}
		v = json_object_get(ws, "hook");
		e = json_object_get(cs, "hook");
		if (v && json_is_null(v) && json_is_object(e))
			add_step(p, "DELETE", app_path(app, name, "/hook"),
				 NULL, "remove the hook of %s/%s", app, name);
		else if (json_is_object(v) &&
			 (!json_is_object(e) ||
			  strcmp(jstr(v, "exec"), jstr(e, "exec")) ||
			  num(v, "timeout_s",
			      HOOK_DEFAULT_TIMEOUT_MS / 1000.0) !=
				  num(e, "timeout_s", 0)))
			add_step(p, "PUT", app_path(app, name, "/hook"),
				 json_pack(
					 "{s:s, s:f}", "exec", jstr(v, "exec"),
					 "timeout_s",
					 num(v, "timeout_s",
					     HOOK_DEFAULT_TIMEOUT_MS / 1000.0)),
				 "set the hook of %s/%s", app, name);
		plan_policies(p, app, name, ws, cs);
		v = json_object_get(ws, "settings");
		if (v)
			plan_settings(p, file, at, app, name, v,
				      json_object_get(cs, "settings"), true);
	}
	/* deployments, then their swapped settings */
	plan_deployments(p, app, wslots, cur);
	json_array_foreach(wslots, i, ws)
	{
		json_t *d = json_object_get(ws, "deployment");

		snprintf(at, sizeof(at), "apps[%zu].slots[%zu].deployment", ai,
			 i);
		cs = slot_named(cur, jstr(ws, "name"));
		if (json_is_object(d) && json_object_get(d, "settings"))
			plan_settings(p, file, at, app, jstr(ws, "name"),
				      json_object_get(d, "settings"),
				      json_object_get(
					      json_object_get(cs, "deployment"),
					      "settings"),
				      false);
	}
	/* auto swaps last (off first, so a move is never a chain) */
	for (int on = 0; on < 2; on++)
		json_array_foreach(wslots, i, ws)
		{
			const char *name = jstr(ws, "name");

			v = json_object_get(ws, "auto_swap");
			e = json_object_get(slot_named(cur, name), "auto_swap");
			if (!v)
				continue;
			if (!on && json_is_null(v) && json_is_object(e))
				add_step(p, "DELETE",
					 app_path(app, name, "/auto-swap"),
					 NULL, "auto swap of %s/%s off", app,
					 name);
			if (on && json_is_object(v) &&
			    (!json_is_object(e) ||
			     strcmp(jstr(v, "target_slot")
					    ? jstr(v, "target_slot")
					    : "production",
				    jstr(e, "target_slot")) ||
			     num(v, "delay_s", 0) != num(e, "delay_s", 0)))
				add_step(p, "PUT",
					 app_path(app, name, "/auto-swap"),
					 json_pack("{s:s, s:f}", "target_slot",
						   jstr(v, "target_slot")
							   ? jstr(v,
								  "target_slot")
							   : "production",
						   "delay_s",
						   num(v, "delay_s", 0)),
					 "auto swap of %s/%s into %s", app,
					 name,
					 jstr(v, "target_slot")
						 ? jstr(v, "target_slot")
						 : "production");
		}
	/* --prune: slots the file does not name */
	json_array_foreach(cur, i, cs)
	{
		const char *name = jstr(cs, "name");

		if (p->prune && !slot_named(wslots, name) &&
		    strcmp(name, "production"))
			add_step(p, "DELETE", app_path(app, name, NULL), NULL,
				 "delete slot %s/%s", app, name);
	}
out:
	json_decref(cur);
}

/* --- the commands --------------------------------------------------- */

/* Does the daemon have app? (-1: could not ask; said so) */
static int app_exists(json_t *list, const char *app)
{
	json_t *a;
	size_t i;

	json_array_foreach(json_object_get(list, "apps"), i, a)
	{
		if (!strcmp(jstr(a, "name"), app))
			return 1;
	}
	return 0;
}

static json_t *export_of(const char *app, bool values)
{
	struct api_reply r = {0};
	char *path = app_path(app, NULL,
			      values ? "/export?show_values=1" : "/export");
	json_t *o = NULL;

	if (path && !api_call("GET", path, NULL, &r))
		o = json_incref(
			json_array_get(json_object_get(r.body, "apps"), 0));
	json_decref(r.body);
	free(path);
	return o;
}

/* Run the steps in order, stopping at the first refusal. */
static int run_steps(struct plan *p)
{
	struct api_reply r = {0};
	struct swap_ctx c = {.action = "swap"};
	size_t i;
	int rc = 0;

	for (i = 0; i < p->n && !rc; i++) {
		struct step *s = &p->steps[i];

		if (!json_output)
			printf("%s\n", s->what);
		fflush(stdout);
		if (strstr(s->path, "?progress=1")) {
			c.app = s->what;
			rc = swap_follow(s->path, s->body, &c);
			continue;
		}
		rc = api_call(s->method, s->path, s->body, &r);
		json_decref(r.body);
		r.body = NULL;
	}
	if (rc && !json_output)
		fprintf(stderr, "apply: stopped after %zu of %zu steps\n", i,
			p->n);
	return rc;
}

static int do_apply(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "file", .has_arg = true},
		{.name = "dry-run"},
		{.name = "prune"},
		{NULL},
	};
	struct plan p = {0};
	struct api_reply list = {0};
	json_error_t jerr;
	json_t *root = NULL, *app, *have;
	const char *file, *pos[1];
	size_t np, i;
	int rc;

	/* -f is --file (parse_args knows long options only) */
	for (i = 0; i < (size_t)argc; i++)
		if (!strcmp(argv[i], "-f"))
			argv[i] = (char *)"--file";
	rc = parse_args(argc, argv, opts, pos, 0, 0, &np);
	if (rc)
		goto out;
	file = opts[0].value;
	if (!file) {
		rc = usage_err("apply: -f FILE is needed (- for stdin)");
		goto out;
	}
	root = strcmp(file, "-")
		       ? json_load_file(file, JSON_REJECT_DUPLICATES, &jerr)
		       : json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = usage_err("apply: %s: %s (line %d)", file, jerr.text,
			       jerr.line);
		goto out;
	}
	rc = apply_check_file(file, root);
	if (rc)
		goto out;
	p.prune = opts[2].given;
	rc = api_call("GET", "/v1/apps", NULL, &list);
	if (rc)
		goto out;
	json_array_foreach(json_object_get(root, "apps"), i, app)
	{
		have = NULL;
		if (app_exists(list.body, jstr(app, "name"))) {
			have = export_of(jstr(app, "name"), true);
			if (!have) {
				rc = EXIT_DAEMON;
				goto out;
			}
		}
		plan_app(&p, file, i, app, have);
		json_decref(have);
		if (p.rc) {
			rc = p.rc;
			goto out;
		}
	}
	if (opts[1].given || !p.n) {
		if (json_output) {
			json_t *a = json_array();

			for (i = 0; i < p.n; i++)
				json_array_append_new(
					a, json_string(p.steps[i].what));
			json_t *o = json_pack("{s:b, s:o}", "dry_run",
					      opts[1].given, "steps", a);

			json_dumpf(o, stdout, JSON_INDENT(2));
			json_decref(o);
			putchar('\n');
		} else if (!p.n) {
			printf("nothing to change\n");
		} else {
			for (i = 0; i < p.n; i++)
				printf("would %s\n", p.steps[i].what);
		}
		goto out;
	}
	trigger_word = "apply";
	rc = run_steps(&p);
out:
	for (i = 0; i < p.n; i++) {
		free(p.steps[i].path);
		json_decref(p.steps[i].body);
	}
	free(p.steps);
	json_decref(list.body);
	json_decref(root);
	free_opts(opts);
	return ARGS_RC(rc);
}

static int do_export(int argc, char **argv)
{
	struct opt opts[] = {
		{.name = "show-values"},
		{NULL},
	};
	const char *pos[1];
	json_t *app, *o;
	size_t np;
	int rc;

	rc = parse_args(argc, argv, opts, pos, 1, 1, &np);
	if (!rc && check_name("app", pos[0]))
		rc = EXIT_USAGE;
	if (rc)
		goto out;
	app = export_of(pos[0], opts[0].given);
	if (!app) {
		rc = EXIT_DAEMON;
		goto out;
	}
	o = json_pack("{s:[o]}", "apps", app);
	json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(o);
out:
	free_opts(opts);
	return ARGS_RC(rc);
}

const struct cmd export_cmd = {
	NULL, do_export, "APP [--show-values]",
	"Print APP in the declarative form slotlb apply takes: its slots with\n"
	"their endpoints, warm-up, health, drain and verification policies,\n"
	"hook, auto swap, sticky settings, and the deployment each holds\n"
	"(version, backends, swapped settings). Setting values are null\n"
	"unless --show-values is given. Event hooks are not exported (their\n"
	"secrets stay in the daemon): add them with slotlb hook add.\n"
	"\n"
	"  --show-values           write the settings' values\n"};

const struct cmd apply_cmd = {
	NULL, do_apply, "-f|--file FILE [--dry-run] [--prune]",
	"Make the apps of FILE (- for stdin; the form of slotlb export) what\n"
	"it describes, with the fewest operations, each its own history entry\n"
	"with the trigger \"apply\". A deployment the file wants in a slot\n"
	"that another slot holds comes by a warm-up-gated swap, not a\n"
	"redeploy; apply's deploys start no auto swap. A key left out keeps\n"
	"what is there; null hook, auto_swap, health, verify or deployment\n"
	"means none; a null setting value keeps the daemon's. The whole file\n"
	"is checked before anything changes. Applying the same file again\n"
	"changes nothing.\n"
	"\n"
	"  -f, --file FILE         the file\n"
	"  --dry-run               print the operations, change nothing\n"
	"  --prune                 also delete slots and settings the file\n"
	"                          does not name\n"};
