/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API's router: a table of routes, each a method and a path pattern
 * whose {name} segments match any one segment and are handed to the
 * handler by name ("/v1/apps/{app}/slots/{slot}/deploy"). Pure (no HTTP
 * library, no JSON), so tests/unit/test_router.c checks the matching
 * alone. The table itself is api_routes.c's.
 */
#ifndef SLOTLBD_API_ROUTER_H
#define SLOTLBD_API_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_MAX_SEGMENTS 8 /* of a path; more is no route */
#define ROUTE_MAX_PARAMS 4 /* {name} segments of one pattern */
#define ROUTE_PATH_LEN 512 /* longest path routed; longer is no route */
#define ROUTE_ALLOW_LEN 64 /* "GET, POST, DELETE" */

struct call;

/* Reads change nothing; writes may change the state or the maps. Access
 * control decides per route with this. */
enum route_access {
	ROUTE_READ,
	ROUTE_WRITE,
};

struct route {
	const char *method; /* "GET", "POST", "DELETE" */
	const char *path; /* pattern, e.g. "/v1/apps/{app}" */
	void (*handler)(struct call *c);
	enum route_access access;
};

enum route_verdict {
	ROUTE_FOUND, /* path and method match: call m->route->handler */
	ROUTE_NO_METHOD, /* the path exists, not with this method: 405 */
	ROUTE_NOT_FOUND, /* no such path: 404 */
};

/* What matching a request found. Parameter values point into buf. */
struct route_match {
	const struct route *route;
	const char *name[ROUTE_MAX_PARAMS]; /* "app" (into the pattern) */
	size_t name_len[ROUTE_MAX_PARAMS];
	const char *value[ROUTE_MAX_PARAMS]; /* "web" */
	size_t n_params;
	char allow[ROUTE_ALLOW_LEN]; /* ROUTE_NO_METHOD: "GET, POST" */
	char buf[ROUTE_PATH_LEN];
};

/* The first route of routes[0..n) whose pattern and method match; empty
 * segments of path ("//", a trailing '/') are ignored, as before. */
enum route_verdict route_match(const struct route *routes, size_t n,
			       const char *method, const char *path,
			       struct route_match *m);
/* Value of the {name} parameter of a match, or NULL. */
const char *route_param(const struct route_match *m, const char *name);

#endif /* SLOTLBD_API_ROUTER_H */
