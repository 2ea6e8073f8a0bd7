/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The pure half of the etcd client (etcd.h): the --store URL and key
 * ranges. No libcurl, so options.c and its fuzz target take it alone.
 *
 * A member is HOST:PORT, HOST a name, an IPv4 address or an [IPv6]
 * address; etcd:// speaks plain HTTP to etcd's gateway, etcds:// HTTPS
 * (the CA and client certificate are options: --store-ca, --store-cert,
 * --store-key).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "etcd.h"

int etcd_parse_url(const char *url, struct etcd *e, const char **why)
{
	const char *p, *end, *colon;
	size_t len, i;
	char *stop;
	long port;

	memset(e, 0, sizeof(*e));
	e->timeout_ms = 2000;
	if (!strncmp(url, "etcds://", 8)) {
		e->tls = true;
		url++;
	} else if (strncmp(url, "etcd://", 7)) {
		*why = "must start with etcd:// or etcds:// (etcd[s]://HOST:PORT[,HOST:PORT...])";
		return -EINVAL;
	}
	for (p = url + 7;; p = end + 1) {
		end = strchr(p, ',');
		len = end ? (size_t)(end - p) : strlen(p);
		if (!len) {
			*why = "a member is empty (expected HOST:PORT)";
			return -EINVAL;
		}
		if (e->n_members == ETCD_MAX_MEMBERS) {
			*why = "more than 8 members";
			return -EINVAL;
		}
		if (len >= ETCD_HOST_LEN) {
			*why = "a member is longer than 255 characters";
			return -EINVAL;
		}
		colon = memrchr(p, ':', len);
		if (!colon || colon == p) {
			*why = "a member is not HOST:PORT";
			return -EINVAL;
		}
		for (i = 0; p + i < colon; i++)
			if (!isalnum((unsigned char)p[i]) &&
			    !strchr(".-[]:", p[i])) {
				*why = "a host has a character other than letters, digits, '.', '-' or an [IPv6] address";
				return -EINVAL;
			}
		errno = 0;
		port = strtol(colon + 1, &stop, 10);
		if (stop != p + len || stop == colon + 1 || errno || port < 1 ||
		    port > 65535 || colon[1] == '+' || colon[1] == '-') {
			*why = "a port is not a number in 1..65535";
			return -EINVAL;
		}
		memcpy(e->members[e->n_members], p, len);
		e->n_members++;
		if (!end)
			break;
	}
	return 0;
}

void etcd_prefix_end(const char *prefix, char *end, size_t len)
{
	size_t n = strlen(prefix);

	snprintf(end, len, "%s", prefix);
	if (n && n < len)
		end[n - 1]++;
}
