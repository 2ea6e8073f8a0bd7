/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the API router (user/slotlbd/api_router.c) over a table
 * shaped like slotlbd's: literal and {name} segments, the first matching
 * row wins, a path without the method is 405 with every method it has,
 * and paths the old if-ladder treated alike (doubled and trailing
 * slashes, too many segments, too long) still are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "api_router.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Handlers are never called here: their addresses tell rows apart. */
static void h_status(struct call *c)
{
	(void)c;
}
static void h_apps(struct call *c)
{
	(void)c;
}
static void h_app_create(struct call *c)
{
	(void)c;
}
static void h_app(struct call *c)
{
	(void)c;
}
static void h_app_delete(struct call *c)
{
	(void)c;
}
static void h_slot_delete(struct call *c)
{
	(void)c;
}
static void h_deploy(struct call *c)
{
	(void)c;
}
static void h_swap(struct call *c)
{
	(void)c;
}
static void h_iface_detach(struct call *c)
{
	(void)c;
}

static const struct route routes[] = {
	{"GET", "/v1/status", h_status, ROUTE_READ},
	{"DELETE", "/v1/interfaces/{ifname}", h_iface_detach, ROUTE_WRITE},
	{"GET", "/v1/apps", h_apps, ROUTE_READ},
	{"POST", "/v1/apps", h_app_create, ROUTE_WRITE},
	{"GET", "/v1/apps/{app}", h_app, ROUTE_READ},
	{"DELETE", "/v1/apps/{app}", h_app_delete, ROUTE_WRITE},
	{"DELETE", "/v1/apps/{app}/slots/{slot}", h_slot_delete, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/slots/{slot}/deploy", h_deploy, ROUTE_WRITE},
	{"POST", "/v1/apps/{app}/swap", h_swap, ROUTE_WRITE},
};

struct match_case {
	const char *desc;
	const char *method;
	const char *path;
	enum route_verdict verdict;
	void (*handler)(struct call *c); /* ROUTE_FOUND */
	const char *app, *slot; /* expected parameters, NULL = none */
	const char *allow; /* ROUTE_NO_METHOD */
};

#define FOUND(d, m, p, h, a, s)                                            \
	{                                                                  \
		.desc = d, .method = m, .path = p, .verdict = ROUTE_FOUND, \
		.handler = h, .app = a, .slot = s                          \
	}
#define NO_METHOD(d, m, p, al)                                                 \
	{                                                                      \
		.desc = d, .method = m, .path = p, .verdict = ROUTE_NO_METHOD, \
		.allow = al                                                    \
	}
#define NOT_FOUND(d, m, p)                                                    \
	{                                                                     \
		.desc = d, .method = m, .path = p, .verdict = ROUTE_NOT_FOUND \
	}

static void test_match(void **state)
{
	static char long_path[ROUTE_PATH_LEN + 8];
	const struct match_case cases[] = {
		FOUND("literal", "GET", "/v1/status", h_status, NULL, NULL),
		FOUND("list", "GET", "/v1/apps", h_apps, NULL, NULL),
		FOUND("same path, other method", "POST", "/v1/apps",
		      h_app_create, NULL, NULL),
		FOUND("one parameter", "GET", "/v1/apps/web", h_app, "web",
		      NULL),
		FOUND("two parameters", "POST",
		      "/v1/apps/web/slots/staging/deploy", h_deploy, "web",
		      "staging"),
		FOUND("an app named like a literal", "GET", "/v1/apps/swap",
		      h_app, "swap", NULL),
		FOUND("literal after a parameter", "POST", "/v1/apps/web/swap",
		      h_swap, "web", NULL),
		FOUND("doubled and trailing slashes", "GET", "//v1//apps/web/",
		      h_app, "web", NULL),
		NO_METHOD("PUT on the app list", "PUT", "/v1/apps",
			  "GET, POST"),
		NO_METHOD("DELETE on status", "DELETE", "/v1/status", "GET"),
		NO_METHOD("PATCH an app", "PATCH", "/v1/apps/web",
			  "GET, DELETE"),
		NO_METHOD("GET a deploy", "GET", "/v1/apps/web/slots/qa/deploy",
			  "POST"),
		NO_METHOD("GET an interface", "GET", "/v1/interfaces/eth0",
			  "DELETE"),
		NO_METHOD("method names are exact", "get", "/v1/status", "GET"),
		NOT_FOUND("unknown path", "GET", "/v1/nope"),
		NOT_FOUND("unknown version", "GET", "/v2/status"),
		NOT_FOUND("unknown app action", "POST", "/v1/apps/web/frob"),
		NOT_FOUND("a segment too many", "POST",
			  "/v1/apps/web/slots/staging/deploy/x"),
		NOT_FOUND("more segments than any path", "GET",
			  "/a/b/c/d/e/f/g/h/i"),
		NOT_FOUND("root", "GET", "/"),
		NOT_FOUND("empty", "GET", ""),
		NOT_FOUND("prefix of a literal", "GET", "/v1/stat"),
		NOT_FOUND("longer than a literal", "GET", "/v1/statuses"),
		NOT_FOUND("too long", "GET", long_path),
	};
	struct route_match m;
	enum route_verdict v;
	size_t i;

	(void)state;
	memset(long_path, 'a', sizeof(long_path) - 1);
	memcpy(long_path, "/v1/apps/", 9);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct match_case *c = &cases[i];

		v = route_match(routes, ARRAY_SIZE(routes), c->method, c->path,
				&m);
		printf("  %-32s %-6s %.40s -> %d %s\n", c->desc, c->method,
		       c->path, v, m.allow);
		assert_int_equal(v, c->verdict);
		if (v == ROUTE_FOUND) {
			assert_ptr_equal(m.route->handler, c->handler);
			if (c->app)
				assert_string_equal(route_param(&m, "app"),
						    c->app);
			else
				assert_null(route_param(&m, "app"));
			if (c->slot)
				assert_string_equal(route_param(&m, "slot"),
						    c->slot);
			else
				assert_null(route_param(&m, "slot"));
		} else {
			assert_null(m.route);
		}
		if (v == ROUTE_NO_METHOD)
			assert_string_equal(m.allow, c->allow);
	}
}

static void test_params_and_access(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(route_match(routes, ARRAY_SIZE(routes), "DELETE",
				     "/v1/interfaces/lb-pub", &m),
			 ROUTE_FOUND);
	assert_string_equal(route_param(&m, "ifname"), "lb-pub");
	/* names match whole: no prefix, no unknown name */
	assert_null(route_param(&m, "ifnam"));
	assert_null(route_param(&m, "ifname2"));
	assert_null(route_param(&m, "app"));
	assert_int_equal(m.route->access, ROUTE_WRITE);
	assert_int_equal(route_match(routes, ARRAY_SIZE(routes), "GET",
				     "/v1/apps/web", &m),
			 ROUTE_FOUND);
	assert_int_equal(m.route->access, ROUTE_READ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_params_and_access),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
