/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Route matching for api_router.h: split the path into segments, compare
 * them with each pattern's segments, a {name} matching any one. A
 * handful of routes and segments: a linear scan reads better than a
 * trie and costs nothing next to the request.
 */
#include <stdio.h>
#include <string.h>
#include "api_router.h"

/* Segments of s (modified in place), skipping empty ones; -1 if more
 * than max. */
static int split(char *s, char **seg, int max)
{
	char *save = NULL, *tok;
	int n = 0;

	for (tok = strtok_r(s, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (n == max)
			return -1;
		seg[n++] = tok;
	}
	return n;
}

/* Does pattern match the n segments seg[]? Fills m's parameters. */
static bool path_matches(const char *pattern, char *const *seg, int n,
			 struct route_match *m)
{
	const char *p = pattern, *end;
	size_t len;
	int i;

	m->n_params = 0;
	for (i = 0; i < n; i++) {
		while (*p == '/')
			p++;
		if (!*p)
			return false;
		end = strchr(p, '/');
		len = end ? (size_t)(end - p) : strlen(p);
		if (p[0] == '{' && p[len - 1] == '}') {
			if (m->n_params == ROUTE_MAX_PARAMS)
				return false;
			m->name[m->n_params] = p + 1;
			m->name_len[m->n_params] = len - 2;
			m->value[m->n_params++] = seg[i];
		} else if (strlen(seg[i]) != len || strncmp(seg[i], p, len)) {
			return false;
		}
		p += len;
	}
	while (*p == '/')
		p++;
	return !*p;
}

/* Add method to the Allow list once. */
static void allow_add(char *allow, const char *method)
{
	size_t used = strlen(allow), l = strlen(method);
	const char *at;

	for (at = strstr(allow, method); at; at = strstr(at + 1, method))
		if ((at == allow || at[-1] == ' ') &&
		    (at[l] == ',' || at[l] == 0))
			return;
	snprintf(allow + used, ROUTE_ALLOW_LEN - used, "%s%s", used ? ", " : "",
		 method);
}

enum route_verdict route_match(const struct route *routes, size_t n,
			       const char *method, const char *path,
			       struct route_match *m)
{
	char *seg[ROUTE_MAX_SEGMENTS];
	struct route_match probe;
	size_t i;
	int nseg;

	memset(m, 0, sizeof(*m));
	if (strlen(path) >= sizeof(m->buf))
		return ROUTE_NOT_FOUND;
	snprintf(m->buf, sizeof(m->buf), "%s", path);
	nseg = split(m->buf, seg, ROUTE_MAX_SEGMENTS);
	if (nseg < 0)
		return ROUTE_NOT_FOUND;
	for (i = 0; i < n; i++) {
		if (!path_matches(routes[i].path, seg, nseg, &probe))
			continue;
		if (strcmp(routes[i].method, method)) {
			allow_add(m->allow, routes[i].method);
			continue;
		}
		memcpy(m->name, probe.name, sizeof(m->name));
		memcpy(m->name_len, probe.name_len, sizeof(m->name_len));
		memcpy(m->value, probe.value, sizeof(m->value));
		m->n_params = probe.n_params;
		m->route = &routes[i];
		m->allow[0] = 0;
		return ROUTE_FOUND;
	}
	return m->allow[0] ? ROUTE_NO_METHOD : ROUTE_NOT_FOUND;
}

const char *route_param(const struct route_match *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n_params; i++)
		if (strlen(name) == m->name_len[i] &&
		    !strncmp(m->name[i], name, m->name_len[i]))
			return m->value[i];
	return NULL;
}
