/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API's objects as JSON, built from one state snapshot so a status
 * of a thousand apps costs a handful of queries and no flow-table walk
 * (flow counts come from the drain thread's cache).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "api.h"
#include "traffic_parse.h"
#include "verify.h"

json_t *json_time(int64_t t)
{
	char buf[32];

	wall_format(t, false, buf, sizeof(buf));
	return json_string(buf);
}

static const char *state_name(enum deployment_state s)
{
	switch (s) {
	case DEPLOYMENT_ACTIVE:
		return "active";
	case DEPLOYMENT_DRAINING:
		return "draining";
	default:
		return "retired";
	}
}

/* A wall clock time in ms as the API writes times, or null for 0. */
static json_t *json_time_ms(int64_t ms)
{
	return ms > 0 ? json_time(ms / 1000) : json_null();
}

/* A draining deployment's drain: {"since", "deadline" (null: none, or
 * not fixed yet: within a drain tick), "on_timeout"}; null if active. */
static json_t *drain_json(const struct st_deployment *dep)
{
	if (dep->state != DEPLOYMENT_DRAINING)
		return json_null();
	/* serial: the deployment as the fleet's drain counts name it
	 * (the fleet's "drains" in a status, store_drains_json) */
	return json_pack("{s:o, s:o, s:s?, s:I}", "since",
			 json_time_ms(dep->draining_since_ms), "deadline",
			 json_time_ms(dep->drain_deadline_ms), "on_timeout",
			 dep->drain_deadline_ms < 0 ? NULL
			 : dep->drain_reset_rate    ? "reset"
						    : "leave",
			 "serial", (json_int_t)dep->serial);
}

static json_t *deployment_json(struct daemon *d, const struct st_snapshot *s,
			       const struct st_deployment *dep,
			       const char *slot)
{
	const struct st_backend *b;
	char addr[SLOTLB_ENDPOINT_STRLEN];
	json_t *bes = json_array();
	size_t i;

	for (i = 0; i < dep->backend_count; i++) {
		b = &s->backends[dep->backend_first + i];
		if (slotlb_format_backend(&b->be, addr, sizeof(addr)))
			snprintf(addr, sizeof(addr), "?");
		json_array_append_new(
			bes,
			json_pack("{s:s, s:I, s:I, s:b, s:o, s:o, s:o, s:o}",
				  "address", addr, "weight",
				  (json_int_t)b->weight, "flows",
				  (json_int_t)flows_of_backend(d, b->id),
				  "drained", b->drained, "drained_since",
				  b->drained ? json_time(b->drained_since_ms /
							 1000)
					     : json_null(),
				  "drain_timeout_s",
				  b->drained && b->drain_timeout_ms
					  ? json_real(b->drain_timeout_ms /
						      1000.0)
					  : json_null(),
				  "drain_deadline",
				  b->drained && b->drain_timeout_ms
					  ? json_time_ms(b->drained_since_ms +
							 b->drain_timeout_ms)
					  : json_null(),
				  "health",
				  backend_health_json(d, dep->serial, b->id)));
	}
	return json_pack("{s:I, s:s, s:s?, s:s, s:I, s:o, s:o, s:o}", "id",
			 (json_int_t)dep->id, "version", dep->version, "slot",
			 slot, "state", state_name(dep->state), "flows",
			 (json_int_t)flows_of_deployment(d, dep->id),
			 "backends", bes, "created", json_time(dep->created),
			 "drain", drain_json(dep));
}

/* "verifying": {"slot", "deployment", "until"} while a swap of the app
 * is being verified (verify.c). */
static void verifying_json(struct daemon *d, uint32_t app_id, json_t *app)
{
	char slot[STATE_NAME_LEN];
	uint32_t dep;
	int64_t until;

	if (!verify_status(d, app_id, slot, sizeof(slot), &dep, &until))
		return;
	json_object_set_new(app, "verifying",
			    json_pack("{s:s, s:I, s:o}", "slot", slot,
				      "deployment", (json_int_t)dep, "until",
				      json_time(until / 1000)));
}

/* The app's pending multi-phase swap, or null. */
static json_t *pending_json(const struct st_snapshot *s, uint32_t app_id)
{
	const struct st_pending *p = st_snapshot_pending(s, app_id);
	const char *source = "?", *target = "?";
	char buf[64];
	json_t *aud;
	size_t i;

	if (!p)
		return json_null();
	for (i = 0; i < s->n_slots; i++) {
		if (s->slots[i].app_id != app_id)
			continue;
		if (s->slots[i].index == p->source)
			source = s->slots[i].name;
		if (s->slots[i].index == p->target)
			target = s->slots[i].name;
	}
	aud = json_array();
	for (i = 0; i < p->n_audience; i++) {
		if (slotlb_format_prefix(&p->audience[i], buf, sizeof(buf)))
			snprintf(buf, sizeof(buf), "?");
		json_array_append_new(aud, json_string(buf));
	}
	return json_pack("{s:s, s:s, s:o, s:o, s:I, s:s?, s:o, s:s}", "slot",
			 source, "target_slot", target, "audience", aud,
			 "started", json_time(p->started), "timeout_s",
			 (json_int_t)p->timeout_s, "on_timeout",
			 p->timeout_s ? (p->on_timeout_swap ? "swap" : "reset")
				      : NULL,
			 "deadline",
			 p->timeout_s ? json_time(p->started + p->timeout_s)
				      : json_null(),
			 "trigger", p->trigger);
}

/* Apps [a, a_end) of the snapshot; slots, endpoints and deployments are
 * ordered by app so each is a moving cursor. */
json_t *apps_json(struct daemon *d, const struct st_snapshot *s)
{
	const struct st_deployment *dep;
	struct traffic_view v;
	char buf[SLOTLB_ENDPOINT_STRLEN];
	json_t *apps = json_array(), *slots, *eps, *draining, *app, *tr;
	size_t a, sl = 0, ep = 0, i;

	for (a = 0; a < s->n_apps; a++) {
		uint32_t id = s->apps[a].id;

		traffic_view_of(d, s, a, &v);
		slots = json_array();
		while (sl < s->n_slots && s->slots[sl].app_id < id)
			sl++;
		while (ep < s->n_endpoints && s->endpoints[ep].app_id < id)
			ep++;
		for (; sl < s->n_slots && s->slots[sl].app_id == id; sl++) {
			eps = json_array();
			while (ep < s->n_endpoints &&
			       s->endpoints[ep].app_id == id &&
			       s->endpoints[ep].slot < s->slots[sl].index)
				ep++;
			for (; ep < s->n_endpoints &&
			       s->endpoints[ep].app_id == id &&
			       s->endpoints[ep].slot == s->slots[sl].index;
			     ep++) {
				if (slotlb_format_endpoint(
					    &s->endpoints[ep].key, buf,
					    sizeof(buf)))
					snprintf(buf, sizeof(buf), "?");
				json_array_append_new(eps, json_string(buf));
			}
			dep = st_snapshot_deployment(s,
						     s->slots[sl].deployment);
			for (i = 0, tr = NULL; i < v.n_slots && !tr; i++)
				if (v.slots[i].index == s->slots[sl].index)
					tr = traffic_slot_json(&v, &v.slots[i]);
			json_array_append_new(
				slots,
				json_pack(
					"{s:s, s:I, s:o, s:o, s:o}", "name",
					s->slots[sl].name, "index",
					(json_int_t)s->slots[sl].index,
					"endpoints", eps, "deployment",
					dep ? deployment_json(d, s, dep,
							      s->slots[sl].name)
					    : json_null(),
					"traffic", tr ? tr : json_null()));
		}
		draining = json_array();
		/* deployments are few per app next to backends: a scan is
		 * cheaper than sorting them by app */
		for (i = 0; i < s->n_deployments; i++)
			if (s->deployments[i].state == DEPLOYMENT_DRAINING &&
			    s->deployments[i].app_id == id)
				json_array_append_new(
					draining,
					deployment_json(d, s,
							&s->deployments[i],
							NULL));
		app = json_pack(
			"{s:s, s:I, s:s, s:o, s:o, s:o, s:s?}", "name",
			s->apps[a].name, "id", (json_int_t)id, "mode",
			s->apps[a].mode == SLOTLB_MODE_DSR ? "dsr" : "nat",
			"slots", slots, "draining", draining, "pending_swap",
			pending_json(s, id), "busy", ops_busy_of(d, id));
		verifying_json(d, id, app);
		json_array_append_new(apps, app);
	}
	return apps;
}

/* Draining deployments whose app was deleted. */
json_t *orphans_json(struct daemon *d, const struct st_snapshot *s)
{
	json_t *arr = json_array();
	size_t i;

	for (i = 0; i < s->n_deployments; i++)
		if (s->deployments[i].app_id < 0)
			json_array_append_new(
				arr, deployment_json(d, s, &s->deployments[i],
						     NULL));
	return arr;
}

json_t *history_json(const struct st_history *h)
{
	json_t *deps = NULL, *warm = NULL;

	if (h->deployments)
		deps = json_loads(h->deployments, 0, NULL);
	if (h->warmup)
		warm = json_loads(h->warmup, 0, NULL);
	return json_pack(
		"{s:I, s:o, s:s, s:s, s:s, s:s?, s:o, s:s, s:s, s:s, s:o}",
		"id", (json_int_t)h->id, "time", json_time(h->time), "app",
		h->app, "action", h->action, "slot", h->slot, "target_slot",
		h->target_slot[0] ? h->target_slot : NULL, "deployments",
		deps ? deps : json_object(), "trigger", h->trigger, "outcome",
		h->outcome, "detail", h->detail ? h->detail : "", "warmup",
		warm ? warm : json_array());
}
