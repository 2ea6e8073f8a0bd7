/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API's route table, in the order of docs/api.md's endpoint table
 * (tests/unit/test_api_doc.sh keeps the two equal), and the dispatch:
 * a request matching a row's path and method goes to its handler; a
 * path that exists without that method is 405 with an Allow header; any
 * other is 404.
 *
 * access says whether a route may change the state or the maps (writes)
 * or only reads them; access control decides per route with it.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include "api.h"

/* One row per line, as docs/api.md lists them: kept by hand. */
/* clang-format off */
static const struct route routes[] = {
	{"GET", "/v1/status", api_status_get, ROUTE_READ},
	{"GET", "/v1/history", api_history_list, ROUTE_READ},
	{"GET", "/v1/interfaces", api_ifaces_list, ROUTE_READ},
	{"POST", "/v1/interfaces", api_iface_attach, ROUTE_WRITE},
	{"DELETE", "/v1/interfaces/{ifname}", api_iface_detach, ROUTE_WRITE},
	{"GET", "/v1/apps", api_apps_list, ROUTE_READ},
	{"POST", "/v1/apps", api_app_create, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}", api_app_get, ROUTE_READ},
	{"DELETE", "/v1/apps/{app}", api_app_delete, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/slots", api_slots_list, ROUTE_READ},
	{"POST", "/v1/apps/{app}/slots", api_slot_create, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}", api_slot_delete, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/deploy", api_deploy, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/slots/{slot}/config", api_config_get, ROUTE_READ},
	{"POST", "/v1/apps/{app}/slots/{slot}/config", api_config_set, ROUTE_WRITE},
	{"PUT", "/v1/apps/{app}/slots/{slot}/hook", api_hook_set, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}/hook", api_hook_delete, ROUTE_WRITE},
	{"PUT", "/v1/apps/{app}/slots/{slot}/auto-swap", api_auto_swap_set, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}/auto-swap", api_auto_swap_delete, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/slots/{slot}/health", api_health_get, ROUTE_READ},
	{"PUT", "/v1/apps/{app}/slots/{slot}/health", api_health_set, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}/health", api_health_delete, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/backends/drain", api_backend_drain, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/backends/undrain", api_backend_undrain, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/backends/weight", api_backend_weight, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/slots/{slot}/settings", api_settings_list, ROUTE_READ},
	{"POST", "/v1/apps/{app}/slots/{slot}/settings", api_settings_set, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}/settings/{name}", api_settings_delete, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/traffic", api_slot_traffic,
	 ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/traffic", api_traffic_get, ROUTE_READ},
	{"PUT", "/v1/apps/{app}/traffic", api_traffic_put, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/traffic", api_traffic_delete, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/swap", api_swap, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/rollback", api_rollback, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/history", api_history_list, ROUTE_READ},
	{"GET", "/v1/apps/{app}/hooks", api_hooks_list, ROUTE_READ},
	{"POST", "/v1/apps/{app}/hooks", api_hooks_add, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/hooks/{id}", api_hooks_delete, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}/export", api_export, ROUTE_READ},
	{"GET", "/v1/apps/{app}/flows", api_flows_list, ROUTE_READ},
	{"GET", "/v1/apps/{app}/flows/lookup", api_flows_lookup, ROUTE_READ},
	{"GET", "/metrics", api_metrics_get, ROUTE_READ},
};
/* clang-format on */

int route_access_of(const char *method, const char *url)
{
	struct route_match m;

	if (route_match(routes, sizeof(routes) / sizeof(routes[0]), method, url,
			&m) != ROUTE_FOUND)
		return -1;
	return (int)m.route->access;
}

const char *call_param(const struct call *c, const char *name)
{
	return route_param(c->match, name);
}

const char *call_query(const struct call *c, const char *name)
{
	return MHD_lookup_connection_value(c->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

/* An operation the fleet's store refused (store.h): say why, with the
 * status that tells the caller what to do, instead of a 500. */
static void store_reply(struct daemon *d, const char *method, const char *url,
			struct reply *r)
{
	char buf[512];
	int err = store_take_error();

	if (r->status != 500 || !err)
		return;
	json_decref(r->json);
	r->json = NULL;
	if (err == -ECANCELED)
		reply_error(
			r, 409,
			"%s %s: store: another node changed the fleet's state first; nothing was changed, retry",
			method, url);
	else if (store_refusal(d, buf, sizeof(buf)))
		reply_error(r, 503, "%s %s: %s", method, url, buf);
	else
		reply_error(r, 503, "%s %s: store: %s", method, url,
			    strerror(-err));
}

void route(struct daemon *d, struct MHD_Connection *conn, const char *url,
	   const char *method, const struct request *req, struct reply *r)
{
	struct route_match m;
	struct call c = {
		.d = d,
		.conn = conn,
		.method = method,
		.url = url,
		.req = req,
		.match = &m,
		.r = r,
	};

	/* the limit holds whatever the method: a handler that reads no
	 * body must not take one over it either */
	if (req->too_big) {
		reply_error(r, 413, "%s %s: request body over %d bytes", method,
			    url, MAX_BODY);
		return;
	}
	switch (route_match(routes, sizeof(routes) / sizeof(routes[0]), method,
			    url, &m)) {
	case ROUTE_FOUND:
		store_take_error();
		m.route->handler(&c);
		store_reply(d, method, url, r);
		break;
	case ROUTE_NO_METHOD:
		snprintf(r->allow, sizeof(r->allow), "%s", m.allow);
		reply_error(r, 405, "%s %s: method not allowed (allowed: %s)",
			    method, url, m.allow);
		break;
	default:
		reply_error(r, 404, "%s %s: no such resource", method, url);
		break;
	}
}
