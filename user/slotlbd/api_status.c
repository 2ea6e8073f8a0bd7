/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What runs where: /v1/status (every app, or ?app=APP, and the draining
 * deployments of deleted apps), the app list /v1/apps, and /metrics in
 * Prometheus text. One state snapshot per request, flow counts from the
 * drain thread's cache: a status never walks the flow table.
 */
#include <errno.h>
#include <string.h>
#include "api.h"

/* Every app (or one), with the deployments of deleted apps if orphans. */
static void status_reply(struct daemon *d, const char *app, bool orphans,
			 struct reply *r)
{
	struct st_snapshot s = {0};
	json_t *one;
	int err;

	if (app) {
		one = api_app_or_reply(d, app, r);
		if (!one)
			return;
		r->status = 200;
		r->json = json_pack("{s:[o]}", "apps", one);
		return;
	}
	err = ops_snapshot(d, NULL, &s);
	if (err) {
		reply_error(r, 500, "status: database: %s", strerror(-err));
		return;
	}
	r->status = 200;
	r->json = json_pack("{s:o}", "apps", apps_json(d, &s));
	if (d->store)
		json_object_set_new(r->json, "fleet", store_status_json(d));
	if (orphans)
		json_object_set_new(r->json, "draining", orphans_json(d, &s));
	state_snapshot_free(&s);
}

void api_status_get(struct call *c)
{
	status_reply(c->d, call_query(c, "app"), true, c->r);
}

void api_apps_list(struct call *c)
{
	status_reply(c->d, NULL, false, c->r);
}

void api_metrics_get(struct call *c)
{
	c->r->text = metrics_render(c->d);
	c->r->status = c->r->text ? 200 : 500;
}
