/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Event hooks of an app: GET and POST /v1/apps/APP/hooks, DELETE
 * /v1/apps/APP/hooks/ID. A hook is {"events": "deploy,swap" or
 * ["deploy", "swap"], "url": ... or "exec": ..., "secret": ...}; the
 * secret is never answered back ("signed": true).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "events.h"

static json_t *hook_json(const struct st_event_hook *h)
{
	char events[256];

	event_mask_text(h->events, events, sizeof(events));
	return json_pack(
		"{s:I, s:s, s:s?, s:s?, s:b, s:o, s:I, s:I, s:I, s:s}", "id",
		(json_int_t)h->id, "events", events, "url",
		h->url[0] ? h->url : NULL, "exec", h->exec[0] ? h->exec : NULL,
		"signed", h->secret[0] != 0, "created", json_time(h->created),
		"delivered", (json_int_t)h->delivered, "failed",
		(json_int_t)h->failed, "attempts_failed",
		(json_int_t)h->attempts_failed, "last_error", h->last_error);
}

/* "events" as a string "a,b" or an array of names into a mask. */
static bool parse_events(json_t *body, uint32_t *mask, struct reply *r)
{
	json_t *v = json_object_get(body, "events"), *e;
	char list[512] = "";
	const char *why = NULL;
	size_t i;

	if (json_is_string(v)) {
		snprintf(list, sizeof(list), "%s", json_string_value(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
		{
			if (!json_is_string(e)) {
				reply_error(r, 400,
					    "hook: events must be event names");
				return false;
			}
			snprintf(list + strlen(list),
				 sizeof(list) - strlen(list), "%s%s",
				 i ? "," : "", json_string_value(e));
		}
	} else {
		reply_error(r, 400, "hook: events is required");
		return false;
	}
	if (validate_event_list(list, mask, &why)) {
		reply_error(r, 400, "hook: %s: %s", list, why);
		return false;
	}
	return true;
}

void api_hooks_add(struct call *c)
{
	static const char *const fields[] = {"events", "url", "exec", "secret",
					     NULL};
	const char *url = NULL, *exec = NULL, *secret = NULL, *why = NULL;
	struct op_result res = {0};
	struct st_event_hook *h;
	char trigger[160];
	json_t *body;

	h = calloc(1, sizeof(*h));
	if (!h) {
		reply_error(c->r, 500, "hook: out of memory");
		return;
	}
	body = parse_body(c->req, "hook", fields, c->r);
	if (!body)
		goto out;
	if (!parse_events(body, &h->events, c->r) ||
	    !get_string(body, "url", "hook", &url, c->r) ||
	    !get_string(body, "exec", "hook", &exec, c->r) ||
	    !get_string(body, "secret", "hook", &secret, c->r))
		goto out;
	if (!url == !exec) {
		reply_error(c->r, 400, "hook: give either url or exec");
		goto out;
	}
	if (url && validate_hook_url(url, &why)) {
		reply_error(c->r, 400, "%s: %s", url, why);
		goto out;
	}
	if (exec && validate_hook_exec(exec, &why)) {
		reply_error(c->r, 400, "%s: %s", exec, why);
		goto out;
	}
	if (secret &&
	    (exec || validate_hook_secret(secret, strlen(secret), &why))) {
		reply_error(c->r, 400, "hook: secret: %s",
			    exec ? "only a url hook is signed" : why);
		goto out;
	}
	snprintf(h->url, sizeof(h->url), "%s", url ? url : "");
	snprintf(h->exec, sizeof(h->exec), "%s", exec ? exec : "");
	snprintf(h->secret, sizeof(h->secret), "%s", secret ? secret : "");
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_hook_add(c->d, call_param(c, "app"), h, trigger, &res)) {
		reply_op(c->r, &res);
		goto out;
	}
	c->r->status = 201;
	c->r->json = hook_json(h);
out:
	json_decref(body);
	free(h);
}

void api_hooks_list(struct call *c)
{
	struct st_event_hook *list = NULL;
	struct op_result res = {0};
	struct events_counts ec;
	json_t *arr;
	size_t n = 0, i;

	if (ops_hook_list(c->d, call_param(c, "app"), &list, &n, &res)) {
		reply_op(c->r, &res);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, hook_json(&list[i]));
	free(list);
	events_counts(c->d, &ec);
	c->r->status = 200;
	c->r->json = json_pack(
		"{s:o, s:{s:I, s:I, s:I, s:I}}", "hooks", arr, "daemon",
		"delivered", (json_int_t)ec.delivered, "attempts_failed",
		(json_int_t)ec.attempts_failed, "failed", (json_int_t)ec.failed,
		"dropped", (json_int_t)ec.dropped);
}

void api_hooks_delete(struct call *c)
{
	const char *ids = call_param(c, "id");
	struct op_result res = {0};
	char trigger[160], *end;
	long long id;

	id = strtoll(ids, &end, 10);
	if (!*ids || *end || id <= 0) {
		reply_error(c->r, 400, "hook: %s: id must be a positive number",
			    ids);
		return;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_hook_delete(c->d, call_param(c, "app"), (int64_t)id, trigger, &res);
	reply_op(c->r, &res);
}
