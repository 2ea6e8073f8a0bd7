/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A slot's settings: /v1/apps/APP/slots/SLOT/settings[/NAME]. Values are
 * returned only with ?show_values=1; a change answers with the names.
 * The rules of names and values are user/lib/validate.c's, shared with
 * the CLI.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

/* Does ?show_values ask for values? */
static bool show_values(struct call *c)
{
	const char *v = call_query(c, "show_values");

	return v && strcmp(v, "0") && strcmp(v, "false");
}

/* name sticky in the slot? */
static bool sticky_has(const struct st_app_setting *s, size_t n,
		       const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s[i].name, name))
			return true;
	return false;
}

static void settings_reply(struct call *c, bool values)
{
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	struct st_app_setting *sticky, *swapped;
	struct op_result res = {0};
	size_t ns, nw, i;
	json_t *list, *e;

	if (ops_settings_list(c->d, app, slot, &sticky, &ns, &swapped, &nw,
			      &res)) {
		reply_op(c->r, &res);
		return;
	}
	list = json_array();
	for (i = 0; i < ns + nw; i++) {
		const struct st_app_setting *s =
			i < ns ? &sticky[i] : &swapped[i - ns];

		e = json_pack("{s:s, s:b, s:b}", "name", s->name, "sticky",
			      s->sticky, "effective",
			      s->sticky || !sticky_has(sticky, ns, s->name));
		if (values)
			json_object_set_new(e, "value", json_string(s->value));
		json_array_append_new(list, e);
	}
	state_app_settings_free(sticky, ns);
	state_app_settings_free(swapped, nw);
	c->r->status = 200;
	c->r->json = json_pack("{s:s, s:o}", "slot", slot, "settings", list);
}

void api_settings_list(struct call *c)
{
	settings_reply(c, show_values(c));
}

void api_settings_set(struct call *c)
{
	static const char *const fields[] = {"settings", "sticky", NULL};
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	struct setting_change *ch = NULL;
	struct op_result res = {0};
	const char *name, *why;
	bool sticky = false;
	char trigger[160];
	json_t *body, *obj, *v;
	size_t n = 0;

	body = parse_body(c->req, "settings", fields, c->r);
	if (!body)
		return;
	if (!get_bool(body, "sticky", "settings", &sticky, c->r))
		goto out;
	obj = json_object_get(body, "settings");
	if (!json_is_object(obj) || !json_object_size(obj) ||
	    json_object_size(obj) > SETTINGS_MAX) {
		reply_error(
			c->r, 400,
			"settings: settings must be an object of 1..%d NAME: VALUE strings",
			SETTINGS_MAX);
		goto out;
	}
	ch = calloc(json_object_size(obj), sizeof(*ch));
	if (!ch) {
		reply_error(c->r, 500, "settings: out of memory");
		goto out;
	}
	json_object_foreach(obj, name, v)
	{
		if (validate_setting_name(name, &why)) {
			reply_error(c->r, 400, "%s: %s",
				    validate_name_object(name, "setting"), why);
			goto out;
		}
		if (!json_is_string(v)) {
			reply_error(c->r, 400, "%s: value must be a string",
				    name);
			goto out;
		}
		if (validate_setting_value(json_string_value(v),
					   json_string_length(v), &why)) {
			reply_error(c->r, 400, "%s: %s", name, why);
			goto out;
		}
		ch[n].name = name;
		ch[n++].value = json_string_value(v);
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_settings_change(c->d, app, slot, ch, n, sticky, trigger,
				&res)) {
		reply_op(c->r, &res);
		goto out;
	}
	settings_reply(c, false);
out:
	free(ch);
	json_decref(body);
}

void api_settings_delete(struct call *c)
{
	const char *name = call_param(c, "name"), *why;
	struct setting_change ch = {.name = name};
	struct op_result res = {0};
	char trigger[160];

	if (validate_setting_name(name, &why)) {
		reply_error(c->r, 400, "%s: %s", name, why);
		return;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_settings_change(c->d, call_param(c, "app"), call_param(c, "slot"),
			    &ch, 1, false, trigger, &res);
	if (res.status == 200)
		res.status = 204;
	reply_op(c->r, &res);
}
