/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of the HTTP API shared by api.c (server, routes, request
 * parsing) and api_json.c (the objects as JSON).
 */
#ifndef SLOTLBD_API_H
#define SLOTLBD_API_H

#include <jansson.h>
#include "ops.h"

/* "2026-11-26T09:00:00Z" */
json_t *json_time(int64_t t);
/* {"apps": [...]} content for every app of the snapshot. */
json_t *apps_json(struct daemon *d, const struct st_snapshot *s);
/* Draining deployments whose app was deleted. */
json_t *orphans_json(struct daemon *d, const struct st_snapshot *s);
json_t *history_json(const struct st_history *h);

#define MAX_BODY (1 << 20)
#define MAX_LIST 1024 /* endpoints or backends in one request */

struct MHD_Connection;
struct MHD_Response;

/* A request body as it arrives. */
struct request {
	char *body;
	size_t len;
	bool too_big;
};

/* One answer: status plus JSON (or text) to send. */
struct reply {
	int status;
	json_t *json;
	char *text; /* metrics */
	struct MHD_Response *stream; /* ?progress=1 */
};

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
/* The optional "warmup" object onto Azure's defaults. */
int parse_warmup(json_t *body, struct warmup_policy *p, struct reply *r);
/* "uid=0 pid=1234 cli": who asked, for the history. */
void trigger_of(struct MHD_Connection *conn, char *buf, size_t len);

/* api_iface.c: /v1/interfaces[/IFNAME], parts after "interfaces". */
void route_interfaces(struct daemon *d, const char *const *parts, size_t n,
		      bool get, bool post, bool del, const struct request *req,
		      struct reply *r);

/* api_routes.c */
void route(struct daemon *d, struct MHD_Connection *conn, const char *url,
	   const char *method, const struct request *req, struct reply *r);

#endif /* SLOTLBD_API_H */
