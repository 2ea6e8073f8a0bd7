/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * History: GET /v1/apps/APP/history[?limit=N], newest first, and single
 * entries as swap and rollback answer with them. Entries are JSON text
 * in the database already (deployments, warm-up results); api_json.c
 * turns a row into the object of docs/api.md.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

json_t *api_history_object(struct daemon *d, int64_t id)
{
	struct st_history h;
	json_t *o;

	if (ops_history_get(d, id, &h))
		return NULL;
	o = history_json(&h);
	state_history_clear(&h);
	return o;
}

void api_history_list(struct call *c)
{
	const char *lim = call_query(c, "limit"), *app = call_param(c, "app");
	bool daemon = !app;
	struct reply *r = c->r;
	struct st_history *list = NULL;
	size_t n = 0, i, limit = HISTORY_DEFAULT_LIMIT;
	const char *why;
	json_t *arr;
	int err;

	if (lim && validate_history_limit(lim, &limit, &why)) {
		reply_error(r, 400, "limit: %s: %s", lim, why);
		return;
	}
	/* /v1/history: the daemon's own entries (app "") */
	err = ops_history_list(c->d, daemon ? "" : app, limit, &list, &n);
	if (err == -ENOENT && daemon)
		err = 0;
	if (err) {
		reply_error(r, err == -ENOENT ? 404 : 500, "%s: %s", app,
			    err == -ENOENT ? "no such app" : strerror(-err));
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, history_json(&list[i]));
	state_history_free(list, n);
	r->status = 200;
	r->json = json_pack("{s:o}", "history", arr);
}
