/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Apps and their slots: /v1/apps[/APP[/slots[/SLOT]]].
 */
#include <errno.h>
#include <string.h>
#include "api.h"

json_t *api_app_object(struct daemon *d, const char *name, int *status)
{
	struct st_snapshot s;
	json_t *apps, *app = NULL;
	int err;

	err = ops_snapshot(d, name, &s);
	*status = err == -ENOENT ? 404 : err ? 500 : 200;
	if (err)
		return NULL;
	apps = apps_json(d, &s);
	app = json_incref(json_array_get(apps, 0));
	json_decref(apps);
	state_snapshot_free(&s);
	return app;
}

/* The app as JSON, or NULL after answering why not (404 or 500). */
json_t *api_app_or_reply(struct daemon *d, const char *name, struct reply *r)
{
	int status;
	json_t *o = api_app_object(d, name, &status);

	if (!o)
		reply_error(r, status, "%s: %s", name,
			    status == 404 ? "no such app" : "database error");
	return o;
}

/* POST of an app (app NULL) or of a slot of app. */
static void post_app(struct call *c, const char *app)
{
	struct daemon *d = c->d;
	const struct request *req = c->req;
	struct reply *r = c->r;
	char trigger[160];
	static const char *const app_fields[] = {"name", "endpoints", "mode",
						 NULL};
	static const char *const slot_fields[] = {"name", "endpoints",
						  "clone_from", NULL};
	struct slotlb_endpoint_key *keys = NULL;
	struct op_result res = {0};
	const char *name = NULL, *object = app ? "slot" : "app", *why;
	const char *clone_from = NULL, *mode = NULL;
	json_t *body, *obj;
	size_t n = 0;
	int status;

	body = parse_body(req, object, app ? slot_fields : app_fields, r);
	if (!body)
		return;
	if (!get_string(body, "name", object, &name, r) ||
	    !get_string(body, "clone_from", object, &clone_from, r) ||
	    !get_string(body, "mode", object, &mode, r))
		goto out;
	if (clone_from && validate_name(clone_from, &why)) {
		reply_error(r, 400, "%s: %s", clone_from, why);
		goto out;
	}
	if (validate_name(name, &why)) {
		reply_error(r, 400, "%s: %s",
			    validate_name_object(name, object), why);
		goto out;
	}
	if (mode && strcmp(mode, "nat") && strcmp(mode, "dsr")) {
		reply_error(r, 400, "%s: mode '%s': not nat or dsr", name,
			    mode);
		goto out;
	}
	if (parse_endpoints(body, name, &keys, &n, r))
		goto out;
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (app)
		ops_slot_create(d, app, name, keys, n, clone_from, trigger,
				&res);
	else
		ops_app_create(d, name,
			       mode && !strcmp(mode, "dsr") ? SLOTLB_MODE_DSR
							    : SLOTLB_MODE_NAT,
			       keys, n, trigger, &res);
	reply_op(r, &res);
	if (res.status != 201)
		goto out;
	obj = api_app_object(d, app ? app : name, &status);
	if (obj && app) {
		json_t *slots = json_object_get(obj, "slots"), *sl;
		size_t i;

		json_array_foreach(slots, i, sl) if (
			!strcmp(json_string_value(json_object_get(sl, "name")),
				name)) r->json = json_incref(sl);
		json_decref(obj);
	} else {
		r->json = obj;
	}
out:
	free(keys);
	json_decref(body);
}

void api_app_create(struct call *c)
{
	post_app(c, NULL);
}

void api_app_get(struct call *c)
{
	json_t *o = api_app_or_reply(c->d, call_param(c, "app"), c->r);

	if (o) {
		c->r->status = 200;
		c->r->json = o;
	}
}

void api_app_delete(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_app_delete(c->d, call_param(c, "app"), trigger, &res);
	reply_op(c->r, &res);
}

void api_slots_list(struct call *c)
{
	json_t *o = api_app_or_reply(c->d, call_param(c, "app"), c->r);

	if (!o)
		return;
	c->r->status = 200;
	c->r->json = json_pack("{s:O}", "slots", json_object_get(o, "slots"));
	json_decref(o);
}

void api_slot_create(struct call *c)
{
	post_app(c, call_param(c, "app"));
}

void api_slot_delete(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_slot_delete(c->d, call_param(c, "app"), call_param(c, "slot"),
			trigger, &res);
	reply_op(c->r, &res);
}
