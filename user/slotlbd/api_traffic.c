/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing: /v1/apps/APP/traffic (the distribution of
 * production's new clients: show, replace, clear) and
 * /v1/apps/APP/slots/SLOT/traffic (one slot's share and opt-ins). Input
 * goes through the rules the CLI applies too (user/lib/validate.c), so
 * both refuse the same input with the same sentence; every answer of a
 * change is the traffic object after it, with its history entry.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include "api.h"

/* A share in basis points as the percent operators type: "2.5". */
static json_t *share_json(uint32_t bp)
{
	char buf[SLOTLB_SHARE_STRLEN];

	if (slotlb_format_share(bp, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

json_t *traffic_slot_json(const struct traffic_view *v,
			  const struct traffic_slot *t)
{
	char p[SLOTLB_PREFIX_STRLEN];
	json_t *opt = json_array(), *o;
	uint32_t bp;
	size_t i;

	for (i = 0; i < t->n_opt_in; i++)
		if (!slotlb_format_prefix(&t->opt_in[i], p, sizeof(p)))
			json_array_append_new(opt, json_string(p));
	o = json_pack("{s:o, s:I, s:o}", "share", share_json(t->share),
		      "share_bp", (json_int_t)t->share, "opt_in", opt);
	json_object_set_new(o, "range",
			    t->range_to > t->range_from
				    ? json_pack("[I, I]",
						(json_int_t)t->range_from,
						(json_int_t)t->range_to)
				    : json_null());
	/* the measured share: of the new flows on production's endpoints
	 * in the window, the part this slot's deployment took */
	if (v->measured && v->m.total) {
		bp = (uint32_t)((t->taken * SLOTLB_SHARE_SCALE * 2 +
				 v->m.total) /
				(v->m.total * 2));
		json_object_set_new(o, "measured",
				    share_json(bp > SLOTLB_SHARE_SCALE
						       ? SLOTLB_SHARE_SCALE
						       : bp));
	} else {
		json_object_set_new(o, "measured", json_null());
	}
	json_object_set_new(
		o, "new_flows",
		json_integer(v->measured ? (json_int_t)t->taken : 0));
	return o;
}

json_t *traffic_json(const struct traffic_view *v)
{
	json_t *slots = json_array(), *o;
	size_t i;

	for (i = 0; i < v->n_slots; i++) {
		const struct traffic_slot *t = &v->slots[i];

		o = traffic_slot_json(v, t);
		json_object_set_new(o, "name", json_string(t->name));
		json_object_set_new(o, "index", json_integer(t->index));
		json_object_set_new(o, "deployment",
				    t->deployment ? json_integer(t->deployment)
						  : json_null());
		json_object_set_new(o, "version",
				    t->deployment ? json_string(t->version)
						  : json_null());
		json_array_append_new(slots, o);
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "app", v->app, "slot",
			 VALIDATE_TRAFFIC_FROM, "slots", slots, "window",
			 v->measured ? json_pack("{s:I, s:I}", "ms",
						 (json_int_t)v->m.window_ms,
						 "new_flows",
						 (json_int_t)v->m.total)
				     : json_null());
}

/* Answer with the app's traffic object (and the change's history). */
static void reply_traffic(struct call *c, const struct op_result *res)
{
	struct traffic_view v;
	const char *app = call_param(c, "app");
	json_t *h;
	int err;

	err = ops_traffic_view(c->d, app, &v);
	if (err) {
		reply_error(c->r, err == -ENOENT ? 404 : 500, "%s: %s", app,
			    err == -ENOENT ? "no such app" : strerror(-err));
		return;
	}
	c->r->status = 200;
	c->r->json = traffic_json(&v);
	h = res ? api_history_object(c->d, res->history_id) : NULL;
	if (res)
		json_object_set_new(c->r->json, "history", h ? h : json_null());
}

/* Run the change; answer its error or the traffic object after it. */
static void change(struct call *c, struct traffic_change *tc)
{
	struct op_result res = {0};

	trigger_of(c->conn, tc->trigger, sizeof(tc->trigger));
	ops_traffic_change(c->d, call_param(c, "app"), tc, &res);
	if (res.status != 200) {
		reply_op(c->r, &res);
		return;
	}
	reply_traffic(c, &res);
}

/* Clients of ?client=ADDR[,ADDR...] and where each would land. */
struct lookup {
	size_t n;
	char text[VALIDATE_LOOKUP_MAX][INET6_ADDRSTRLEN];
	__be32 addr[VALIDATE_LOOKUP_MAX][4];
	uint8_t family[VALIDATE_LOOKUP_MAX];
	struct slotlb_route route[VALIDATE_LOOKUP_MAX];
};

/* Parse and look the clients up; false after answering why not. */
static bool lookup(struct call *c, const char *list, struct lookup *l)
{
	const char *p = list, *end, *why;
	size_t len;
	int err;

	for (l->n = 0;; p = end + 1) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (l->n == VALIDATE_LOOKUP_MAX) {
			reply_error(c->r, 400, "client: at most %d addresses",
				    VALIDATE_LOOKUP_MAX);
			return false;
		}
		if (len >= sizeof(l->text[0])) {
			reply_error(c->r, 400, "client: %.64s...: too long", p);
			return false;
		}
		snprintf(l->text[l->n], sizeof(l->text[0]), "%.*s", (int)len,
			 p);
		if (validate_client(l->text[l->n], l->addr[l->n],
				    &l->family[l->n], &why)) {
			reply_error(c->r, 400, "client: %s: %s", l->text[l->n],
				    why);
			return false;
		}
		l->n++;
		if (!end)
			break;
	}
	err = ops_traffic_lookup(c->d, call_param(c, "app"),
				 (const __be32(*)[4])l->addr, l->family, l->n,
				 l->route);
	if (err)
		reply_error(c->r, err == -ENOENT ? 404 : 500, "%s: %s",
			    call_param(c, "app"),
			    err == -ENOENT ? "no such app" : strerror(-err));
	return !err;
}

static const char *const route_why[] = {
	[SLOTLB_ROUTE_OWN] = "own slot",
	[SLOTLB_ROUTE_AUDIENCE] = "opt-in",
	[SLOTLB_ROUTE_SPLIT] = "share",
	[SLOTLB_ROUTE_FALLBACK] = "own slot (the rule's slot is empty)",
};

/* "lookup": [{client, slot, deployment, bucket, by}] into the reply. */
static void lookup_json(struct call *c, const struct lookup *l)
{
	json_t *arr = json_array(), *slots, *s;
	const char *slot;
	size_t i, k;

	slots = json_object_get(c->r->json, "slots");
	for (i = 0; i < l->n; i++) {
		slot = NULL;
		json_array_foreach(slots, k, s)
		{
			if (json_integer_value(json_object_get(s, "index")) ==
			    (json_int_t)l->route[i].slot)
				slot = json_string_value(
					json_object_get(s, "name"));
		}
		json_array_append_new(
			arr,
			json_pack("{s:s, s:s?, s:o, s:I, s:s}", "client",
				  l->text[i], "slot", slot, "deployment",
				  l->route[i].deployment
					  ? json_integer(l->route[i].deployment)
					  : json_null(),
				  "bucket", (json_int_t)l->route[i].bucket,
				  "by", route_why[l->route[i].why]));
	}
	json_object_set_new(c->r->json, "lookup", arr);
}

void api_traffic_get(struct call *c)
{
	const char *clients = call_query(c, "client");
	struct lookup l;

	if (clients && !lookup(c, clients, &l))
		return;
	reply_traffic(c, NULL);
	if (clients && c->r->status == 200)
		lookup_json(c, &l);
}

void api_traffic_put(struct call *c)
{
	static const char *const fields[] = {"distribution", NULL};
	struct traffic_change tc = {0};
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	const char *dist;
	json_t *body;

	body = parse_body(c->req, "distribution", fields, c->r);
	if (!body)
		return;
	if (!get_string(body, "distribution", "distribution", &dist, c->r))
		goto out;
	if (!dist) {
		reply_error(
			c->r, 400,
			"distribution: distribution is required (\"SLOT=PERCENT[,SLOT=PERCENT...]\")");
		goto out;
	}
	if (validate_distribution(dist, &tc.dist, why, sizeof(why))) {
		reply_error(c->r, 400, "distribution: %s", why);
		goto out;
	}
	tc.set_distribution = true;
	change(c, &tc);
out:
	json_decref(body);
}

void api_traffic_delete(struct call *c)
{
	struct traffic_change tc = {.clear = true};

	change(c, &tc);
}

/* "opt_in" / "remove_opt_in": at most SLOTLB_MAX_AUDIENCE prefixes. */
static bool get_prefixes(json_t *body, const char *field,
			 struct slotlb_prefix *out, size_t *n, struct reply *r)
{
	const char *list[SLOTLB_MAX_AUDIENCE + 1];
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	json_t *v = string_list(body, field, "opt-in", false, r), *e;
	size_t i;

	*n = 0;
	if (!v)
		return !json_object_get(body, field);
	if (json_array_size(v) > SLOTLB_MAX_AUDIENCE) {
		reply_error(r, 400, "opt-in: %zu prefixes: at most %d",
			    json_array_size(v), SLOTLB_MAX_AUDIENCE);
		return false;
	}
	json_array_foreach(v, i, e) list[i] = json_string_value(e);
	if (validate_opt_ins(list, json_array_size(v), out, why, sizeof(why))) {
		reply_error(r, 400, "opt-in: %s", why);
		return false;
	}
	*n = json_array_size(v);
	return true;
}

void api_slot_traffic(struct call *c)
{
	static const char *const fields[] = {"percent", "opt_in",
					     "remove_opt_in", "clear", NULL};
	struct traffic_change tc = {0};
	char why[SLOTLB_TRAFFIC_WHY_LEN], num[32];
	const char *pct = NULL;
	json_t *body, *v;

	body = parse_body(c->req, "traffic", fields, c->r);
	if (!body)
		return;
	tc.slot = call_param(c, "slot");
	v = json_object_get(body, "percent");
	if (json_is_number(v)) {
		/* 2.5 as typed; the share rule refuses what is not */
		snprintf(num, sizeof(num), "%.10g", json_number_value(v));
		pct = num;
	} else if (v && !get_string(body, "percent", "percent", &pct, c->r)) {
		goto out;
	}
	if (pct) {
		if (validate_share(pct, &tc.share, why, sizeof(why))) {
			reply_error(c->r, 400, "percent: %s: %s", pct, why);
			goto out;
		}
		tc.set_share = true;
	}
	v = json_object_get(body, "clear");
	if (v && !json_is_boolean(v)) {
		reply_error(c->r, 400, "traffic: clear must be true or false");
		goto out;
	}
	tc.clear_slot = json_is_true(v);
	if (!get_prefixes(body, "remove_opt_in", tc.remove, &tc.n_remove,
			  c->r) ||
	    !get_prefixes(body, "opt_in", tc.add, &tc.n_add, c->r))
		goto out;
	if (!tc.set_share && !tc.clear_slot && !tc.n_add && !tc.n_remove) {
		reply_error(
			c->r, 400,
			"traffic: nothing to change (percent, opt_in, remove_opt_in or clear)");
		goto out;
	}
	change(c, &tc);
out:
	json_decref(body);
}
