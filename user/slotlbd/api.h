/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of the HTTP API layer: it parses requests and replies, and
 * calls the operations layer (ops.h) for anything that changes state.
 *
 *   api.c          the HTTP servers (Unix socket, TCP API, metrics),
 *                  access control of each request, sending replies
 *   api_listen.c   their sockets: owner, group, ACL; TCP; TLS files
 *   api_routes.c   the route table (reads like docs/api.md), dispatch
 *   api_router.c   route matching (pure, api_router.h)
 *   api_request.c  request bodies and fields, errors
 *   api_json.c     the objects as JSON
 *   api_status.c   /v1/status, the app list, /metrics
 *   api_apps.c     apps and slots
 *   api_deploy.c   deploy
 *   api_swap.c     swap and rollback, with NDJSON progress
 *   api_history.c  history
 *   api_flows.c    pinned flows, where a new connection would go
 *   api_iface.c    interfaces
 *   api_traffic.c  traffic routing: shares and opt-ins
 *
 * To add a route: a row in api_routes.c's table (method, pattern with
 * {name} parameters, handler, ROUTE_READ or ROUTE_WRITE), the handler
 * (void api_<object>_<verb>(struct call *c)) in api_<object>.c, declared
 * here, and its row in docs/api.md (tests/unit/test_api_doc.sh compares).
 */
#ifndef SLOTLBD_API_H
#define SLOTLBD_API_H

#include <jansson.h>
#include "api_router.h"
#include "ops.h"
#include "store.h"

/* "2026-11-26T09:00:00Z" */
json_t *json_time(int64_t t);
/* {"apps": [...]} content for every app of the snapshot. */
json_t *apps_json(struct daemon *d, const struct st_snapshot *s);
/* Draining deployments whose app was deleted. */
json_t *orphans_json(struct daemon *d, const struct st_snapshot *s);
json_t *history_json(const struct st_history *h);
/* api_traffic.c: an app's traffic object, and one slot's part of it as
 * status shows it (share, measured share, opt-ins). */
json_t *traffic_json(const struct traffic_view *v);
json_t *traffic_slot_json(const struct traffic_view *v,
			  const struct traffic_slot *t);

#define MAX_BODY (1 << 20)
#define MAX_LIST 1024 /* endpoints or backends in one request */

struct MHD_Connection;
struct MHD_Response;

/* A request body as it arrives. */
struct request {
	char *body;
	size_t len;
	bool too_big;
	bool refused; /* answered at once (access control) */
};

/* One answer: status plus JSON (or text) to send. */
struct reply {
	int status;
	json_t *json;
	char *text; /* metrics */
	struct MHD_Response *stream; /* ?progress=1 */
	char allow[ROUTE_ALLOW_LEN]; /* 405: the methods the path has */
	char auth[32]; /* 401: WWW-Authenticate */
};

/* One request as its handler sees it. */
struct call {
	struct daemon *d;
	struct MHD_Connection *conn; /* query, headers, peer credentials */
	const char *method;
	const char *url;
	const struct request *req;
	const struct route_match *match; /* ->route: the table's row */
	struct reply *r;
};

/* The route's {name} parameter ("app", "slot", "ifname"). */
const char *call_param(const struct call *c, const char *name);
/* A query argument (?limit=10), or NULL. */
const char *call_query(const struct call *c, const char *name);

void reply_error(struct reply *r, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void reply_op(struct reply *r, const struct op_result *res);
/* Body as a JSON object holding only the allowed fields, or NULL. */
json_t *parse_body(const struct request *req, const char *object,
		   const char *const *allowed, struct reply *r);
/* Optional string field; false (and r filled) if not a string. */
bool get_string(json_t *o, const char *field, const char *object,
		const char **out, struct reply *r);
/* Array of strings; NULL (and r filled unless absent and optional). */
json_t *string_list(json_t *o, const char *field, const char *object,
		    bool required, struct reply *r);
int parse_endpoints(json_t *o, const char *object,
		    struct slotlb_endpoint_key **keys, size_t *n,
		    struct reply *r);
/* The optional "warmup" object: the fields given, over a slot's policy. */
int parse_warmup(json_t *body, struct warmup_override *o, struct reply *r);
/* A number field checked by its rule (user/lib/validate.h); *out stays
 * when absent. */
bool get_checked_number(json_t *o, const char *field, const char *object,
			int (*rule)(double, const char **), double *out,
			struct reply *r);
/* An optional boolean field. */
bool get_bool(json_t *o, const char *field, const char *object, bool *out,
	      struct reply *r);
/* Who asked, for the history: "user=root uid=0 pid=1234 cli" on the
 * Unix socket, "token=deploy-bot addr=127.0.0.1 cli" over TCP. */
void trigger_of(struct MHD_Connection *conn, char *buf, size_t len);
/* api.c: the caller of conn as trigger_of() names it, without the
 * header's part. */
void api_caller(struct MHD_Connection *conn, char *buf, size_t len);

/* api_routes.c: match the request against the table, call its handler
 * or answer 404/405. */
void route(struct daemon *d, struct MHD_Connection *conn, const char *url,
	   const char *method, const struct request *req, struct reply *r);

/* api_routes.c: ROUTE_READ or ROUTE_WRITE for a request the table
 * routes, -1 for one it answers 404 or 405 (access control asks before
 * any work). */
int route_access_of(const char *method, const char *url);

/* Handlers, one per row of the route table, by file. */
/* api_status.c */
void api_status_get(struct call *c);
void api_apps_list(struct call *c);
void api_metrics_get(struct call *c);
/* api_apps.c */
void api_app_create(struct call *c);
void api_app_get(struct call *c);
void api_app_delete(struct call *c);
void api_slots_list(struct call *c);
void api_slot_create(struct call *c);
void api_slot_delete(struct call *c);
/* api_backend.c: drain control */
void api_backend_drain(struct call *c);
void api_backend_undrain(struct call *c);
void api_backend_weight(struct call *c);
/* The optional "drain" object of a configuration body; 0, or -EINVAL
 * with r filled. */
int parse_drain(json_t *body, struct drain_override *o, struct reply *r);
/* body's optional "verify" object into p (for_ms 0 if absent); -EINVAL
 * and r filled if not right (api_swap.c). */
int parse_verify(json_t *body, struct verify_policy *p, struct reply *r);
/* api_hooks.c: event hooks */
void api_hooks_list(struct call *c);
void api_hooks_add(struct call *c);
void api_hooks_delete(struct call *c);
/* api_deploy.c */
void api_deploy(struct call *c);
/* api_swap.c */
void api_swap(struct call *c);
void api_rollback(struct call *c);
/* --- api_stream.c: NDJSON answers, watching a client --- */

struct stream;
typedef void (*stream_work)(struct stream *s, void *arg);
/* Answer r as NDJSON: first (if not NULL) is the first line, then
 * work(s, arg) runs in a thread of its own, writes lines with
 * stream_put() and the last with done true. false (r untouched) if no
 * stream could be set up: the caller answers plainly. */
bool stream_start(struct reply *r, json_t *first, stream_work work, void *arg);
/* Append a line (taking the reference); done ends the answer. */
void stream_put(struct stream *s, json_t *line, bool done);
/* A warmup_progress_cb writing {"event": "probe", ...} to ctx. */
void stream_probe(const struct warmup_target *t,
		  const struct warmup_result *so_far, void *ctx);

/* A client whose connection closes cancels app_id's running operation. */
struct watcher {
	struct daemon *d;
	uint32_t app_id;
	int fd;
	pthread_t tid;
	atomic_bool stop;
	bool started;
};
void watch_start(struct watcher *w, struct daemon *d,
		 struct MHD_Connection *conn, uint32_t app_id);
void watch_stop(struct watcher *w);

/* api_swap.c: run a prepared swap plan and answer, plainly or as NDJSON
 * (?progress=1), the client's going away cancelling it. */
void api_run_swap(struct daemon *d, struct MHD_Connection *conn,
		  struct swap_plan *plan, bool progress, struct reply *r);
/* api_settings.c */
void api_settings_list(struct call *c);
void api_settings_set(struct call *c);
void api_settings_delete(struct call *c);
/* api_config.c */
void api_config_get(struct call *c);
void api_health_get(struct call *c);
void api_health_set(struct call *c);
void api_health_delete(struct call *c);
/* api_health.c: a backend's health for status, null if unchecked. */
json_t *backend_health_json(struct daemon *d, int64_t deployment,
			    uint32_t backend_id);
void api_config_set(struct call *c);
void api_hook_set(struct call *c);
void api_hook_delete(struct call *c);
void api_auto_swap_set(struct call *c);
void api_auto_swap_delete(struct call *c);
/* api_export.c */
void api_export(struct call *c);
/* api_history.c */
void api_history_list(struct call *c);
/* api_traffic.c */
void api_slot_traffic(struct call *c);
void api_traffic_get(struct call *c);
void api_traffic_put(struct call *c);
void api_traffic_delete(struct call *c);
/* api_flows.c */
void api_flows_list(struct call *c);
void api_flows_lookup(struct call *c);
/* api_iface.c */
void api_ifaces_list(struct call *c);
void api_iface_attach(struct call *c);
void api_iface_detach(struct call *c);

/* api_apps.c: app name as JSON (*status 200), or NULL with *status 404
 * or 500; api_app_or_reply() answers the error itself. */
json_t *api_app_object(struct daemon *d, const char *name, int *status);
json_t *api_app_or_reply(struct daemon *d, const char *name, struct reply *r);
/* api_history.c: one history entry as JSON, NULL if id is 0 or gone. */
json_t *api_history_object(struct daemon *d, int64_t id);

#endif /* SLOTLBD_API_H */
