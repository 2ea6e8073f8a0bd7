/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Flows: GET /v1/apps/APP/flows[?slot=S|deployment=ID][&limit=N], the
 * flows pinned for the app's endpoints, and GET
 * /v1/apps/APP/flows/lookup?client=ADDR:PORT[&endpoint=EP], the backend
 * a new connection from that client would reach now.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "addr.h"
#include "api.h"

#define FLOWS_DEFAULT_LIMIT 100

/* A word for where the flow stands; slotlb_format_flow_state() says
 * every bit. */
static const char *flow_state(uint32_t st)
{
	const uint32_t both = SLOTLB_FLOW_FIN_CLIENT | SLOTLB_FLOW_FIN_BACKEND;

	if (st & SLOTLB_FLOW_RST)
		return "reset";
	if ((st & both) == both)
		return "closed";
	if (st & SLOTLB_FLOW_FIN_CLIENT)
		return "fin-client";
	if (st & SLOTLB_FLOW_FIN_BACKEND)
		return "fin-backend";
	return "open";
}

static const char *slot_name(const struct st_snapshot *s, uint32_t index)
{
	size_t i;

	for (i = 0; i < s->n_slots; i++)
		if (s->slots[i].index == index)
			return s->slots[i].name;
	return NULL;
}

/* The deployment with data-plane id among the app's, NULL if none. */
static const struct st_deployment *deployment_of(const struct st_snapshot *s,
						 uint32_t id)
{
	size_t i;

	for (i = 0; i < s->n_deployments; i++)
		if (s->deployments[i].id == id)
			return &s->deployments[i];
	return NULL;
}

static json_t *host_port(const __be32 addr[4], uint8_t family, __be16 port)
{
	struct slotlb_backend be = {.port = port, .family = family};
	char buf[SLOTLB_ENDPOINT_STRLEN];

	memcpy(be.addr, addr, sizeof(be.addr));
	if (slotlb_format_backend(&be, buf, sizeof(buf)))
		return json_null();
	return json_string(buf);
}

static json_t *flow_json(const struct st_snapshot *s, const struct flow_view *v)
{
	const struct slotlb_flow_info *fi = &v->info;
	const struct st_deployment *dep = deployment_of(s, fi->deployment_id);
	struct slotlb_endpoint_key ep = {.port = fi->endpoint_port,
					 .proto = fi->proto,
					 .family = fi->family};
	char eps[SLOTLB_ENDPOINT_STRLEN] = "", bits[160];

	memcpy(ep.addr, fi->endpoint, sizeof(ep.addr));
	slotlb_format_endpoint(&ep, eps, sizeof(eps));
	slotlb_format_flow_state(fi->state, bits, sizeof(bits));
	return json_pack(
		"{s:o, s:s, s:s?, s:o, s:i, s:s?, s:I, s:I, s:s, s:s, s:s, s:b}",
		"client", host_port(fi->client, fi->family, fi->client_port),
		"endpoint", eps, "slot", slot_name(s, v->slot), "backend",
		host_port(fi->backend, fi->family, fi->backend_port),
		"deployment", (json_int_t)fi->deployment_id, "version",
		dep ? dep->version : NULL, "age_ms", (json_int_t)fi->age_ms,
		"idle_ms", (json_int_t)fi->idle_ms, "stage",
		fi->stage == SLOTLB_STAGE_ESTABLISHED ? "established"
		: fi->stage == SLOTLB_STAGE_DSR	      ? "dsr"
						      : "half-open",
		"state", flow_state(fi->state), "bits", bits, "live", fi->live);
}

void api_flows_list(struct call *c)
{
	const char *app = call_param(c, "app"), *lim = call_query(c, "limit"),
		   *dep = call_query(c, "deployment"), *why;
	struct flows_filter f = {.slot = call_query(c, "slot"),
				 .limit = FLOWS_DEFAULT_LIMIT};
	struct st_snapshot s = {0};
	struct flow_view *flows = NULL;
	size_t n = 0, total = 0, i;
	struct reply *r = c->r;
	unsigned long id;
	char *end;
	json_t *arr;
	int err;

	if (lim && validate_history_limit(lim, &f.limit, &why)) {
		reply_error(r, 400, "limit: %s: %s", lim, why);
		return;
	}
	if (dep) {
		id = strtoul(dep, &end, 10);
		if (*dep < '1' || *dep > '9' || *end || id == 0 ||
		    id >= SLOTLB_MAX_DEPLOYMENTS) {
			reply_error(r, 400,
				    "deployment: %s: not a deployment id "
				    "1..%d",
				    dep, SLOTLB_MAX_DEPLOYMENTS - 1);
			return;
		}
		f.by_deployment = true;
		f.deployment = (uint32_t)id;
	}
	if (dep && f.slot) {
		reply_error(r, 400, "flows: slot or deployment, not both");
		return;
	}
	err = ops_flows_list(c->d, app, &f, &s, &flows, &n, &total);
	if (err) {
		reply_error(r, err == -ENOENT || err == -ENXIO ? 404 : 500,
			    "%s%s%s: %s", app, err == -ENXIO ? "/" : "",
			    err == -ENXIO ? f.slot : "",
			    err == -ENOENT  ? "no such app"
			    : err == -ENXIO ? "no such slot"
					    : strerror(-err));
		goto out;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, flow_json(&s, &flows[i]));
	r->status = 200;
	r->json = json_pack("{s:o, s:I}", "flows", arr, "total",
			    (json_int_t)total);
out:
	free(flows);
	state_snapshot_free(&s);
}

/* The endpoint a lookup is about: given, or the app's only production
 * endpoint of the client's family. */
static bool lookup_endpoint(struct call *c, const char *app, uint8_t family,
			    struct slotlb_endpoint_key *ep)
{
	const char *given = call_query(c, "endpoint"), *why;
	struct st_snapshot s = {0};
	size_t i, found = 0;
	int err;

	if (given) {
		if (validate_endpoint(given, ep, &why)) {
			reply_error(c->r, 400, "endpoint: %s: %s", given, why);
			return false;
		}
		return true;
	}
	err = ops_snapshot(c->d, app, &s);
	if (err) {
		reply_error(c->r, err == -ENOENT ? 404 : 500, "%s: %s", app,
			    err == -ENOENT ? "no such app" : strerror(-err));
		return false;
	}
	for (i = 0; i < s.n_endpoints; i++)
		if (s.endpoints[i].slot == 0 &&
		    s.endpoints[i].key.family == family && found++ == 0)
			*ep = s.endpoints[i].key;
	state_snapshot_free(&s);
	if (found != 1)
		reply_error(c->r, 400,
			    "%s: production has %zu endpoints of the client's "
			    "family: give endpoint",
			    app, found);
	return found == 1;
}

static const char *const route_why[] = {
	[SLOTLB_ROUTE_OWN] = "own",
	[SLOTLB_ROUTE_AUDIENCE] = "audience",
	[SLOTLB_ROUTE_SPLIT] = "split",
	[SLOTLB_ROUTE_FALLBACK] = "fallback",
};

void api_flows_lookup(struct call *c)
{
	const char *app = call_param(c, "app"),
		   *client = call_query(c, "client"), *why;
	struct slotlb_endpoint_key ep;
	struct slotlb_flow_key key = {0};
	const struct st_deployment *dep;
	struct st_snapshot s = {0};
	struct flow_prediction p;
	char eps[SLOTLB_ENDPOINT_STRLEN] = "";
	struct reply *r = c->r;
	json_t *backend = json_null();
	size_t i;
	int err;

	if (!client) {
		reply_error(r, 400, "lookup: client=ADDR:PORT is needed");
		return;
	}
	if (slotlb_parse_addr_port(client, key.src, &key.family, &key.sport,
				   &why)) {
		reply_error(r, 400, "client: %s: %s", client, why);
		return;
	}
	if (!lookup_endpoint(c, app, key.family, &ep))
		return;
	if (ep.family != key.family) {
		reply_error(r, 400, "endpoint: not of the client's family");
		return;
	}
	memcpy(key.dst, ep.addr, sizeof(key.dst));
	key.dport = ep.port;
	key.proto = ep.proto;
	slotlb_format_endpoint(&ep, eps, sizeof(eps));
	err = ops_flow_lookup(c->d, app, &key, &s, &p);
	if (err) {
		reply_error(r, err == -ENOENT || err == -ESRCH ? 404 : 500,
			    "%s: %s", err == -ESRCH ? eps : app,
			    err == -ENOENT  ? "no such app"
			    : err == -ESRCH ? "not an endpoint of this app"
					    : strerror(-err));
		goto out;
	}
	dep = p.route.deployment ? deployment_of(&s, p.route.deployment) : NULL;
	for (i = 0; dep && p.backend_id && i < dep->backend_count; i++)
		if (s.backends[dep->backend_first + i].id == p.backend_id) {
			json_decref(backend);
			backend = host_port(
				s.backends[dep->backend_first + i].be.addr,
				key.family,
				s.backends[dep->backend_first + i].be.port);
		}
	r->status = 200;
	r->json = json_pack(
		"{s:s, s:s, s:s?, s:s?, s:s, s:i, s:o, s:s?, s:o, s:I}",
		"client", client, "endpoint", eps, "slot",
		slot_name(&s, p.endpoint_slot), "routed_slot",
		p.route.deployment ? slot_name(&s, p.route.slot) : NULL, "why",
		route_why[p.route.why], "bucket", (json_int_t)p.route.bucket,
		"deployment",
		p.route.deployment ? json_integer(p.route.deployment)
				   : json_null(),
		"version", dep ? dep->version : NULL, "backend", backend,
		"hash", (json_int_t)p.hash);
	backend = NULL;
out:
	json_decref(backend);
	state_snapshot_free(&s);
}
