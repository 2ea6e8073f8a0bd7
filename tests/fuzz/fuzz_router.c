/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Fuzz target: request routing (user/slotlbd/api_router.c) over the
 * daemon's route patterns. Input: "METHOD PATH". A match must name each
 * of the route's parameters with one non-empty segment; a refusal must
 * be 404, or 405 with the methods the path has.
 */
#include "api_router.h"
#include "fuzz.h"

/* The rows of api_routes.c's table without their handlers (fuzz.mk
 * writes routes.inc from it): only matching is fuzzed. */
static const struct route routes[] = {
#include "routes.inc"
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_string(data, size), *path;
	static const char *const names[] = {"app", "slot", "ifname"};
	struct route_match m;
	const char *v;
	size_t i;

	path = strchr(s, ' ');
	if (path)
		*path++ = 0;
	else
		path = s + strlen(s);
	switch (route_match(routes, N_ROUTES, s, path, &m)) {
	case ROUTE_FOUND:
		FUZZ_ASSERT(m.route && !strcmp(m.route->method, s));
		for (i = 0; i < m.n_params; i++) {
			FUZZ_ASSERT(m.value[i] && *m.value[i]);
			FUZZ_ASSERT(!strchr(m.value[i], '/'));
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			v = route_param(&m, names[i]);
			if (v)
				FUZZ_ASSERT(strstr(m.route->path, names[i]));
		}
		break;
	case ROUTE_NO_METHOD:
		FUZZ_ASSERT(m.allow[0] && strlen(m.allow) < ROUTE_ALLOW_LEN);
		break;
	case ROUTE_NOT_FOUND:
		break;
	}
	free(s);
	return 0;
}
