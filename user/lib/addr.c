/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Parsing and formatting of endpoints and backends. Every rejection has
 * its own message because the operator sees it verbatim after
 * "Error: endpoint '...': ", and the caller quotes the input, so the
 * messages are static strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "addr.h"

/* An address and port, common to endpoints and backends. */
struct host_port {
	__be32 addr[4]; /* IPv4 in addr[0] */
	__be16 port; /* network order */
	uint8_t family; /* AF_INET or AF_INET6 */
};

/* Why parse_decimal() refused a number; the caller names the field. */
enum decimal_error {
	DECIMAL_OK = 0,
	DECIMAL_EMPTY,
	DECIMAL_NOT_NUMBER, /* sign, letter, anything but a leading digit */
	DECIMAL_TRAILING, /* digits then junk, e.g. "80x" */
	DECIMAL_LEADING_ZERO, /* "080": octal to some tools, so ambiguous */
	DECIMAL_RANGE,
};

/* Parse exactly len bytes at p as a decimal in min..max. */
static enum decimal_error parse_decimal(const char *p, size_t len, uint32_t min,
					uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0)
		return DECIMAL_EMPTY;
	if (p[0] < '0' || p[0] > '9')
		return DECIMAL_NOT_NUMBER;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return DECIMAL_TRAILING;
		/* Saturate: the range check below still refuses it. */
		if (v <= UINT32_MAX)
			v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (len > 1 && p[0] == '0')
		return DECIMAL_LEADING_ZERO;
	if (v < min || v > max)
		return DECIMAL_RANGE;
	*out = (uint32_t)v;
	return DECIMAL_OK;
}

static const char *port_error(enum decimal_error e)
{
	switch (e) {
	case DECIMAL_EMPTY:
		return "missing port";
	case DECIMAL_NOT_NUMBER:
		return "port must be a decimal number";
	case DECIMAL_TRAILING:
		return "unexpected characters after port";
	case DECIMAL_LEADING_ZERO:
		return "port must not have leading zeros";
	default:
		return "port out of range 1-65535";
	}
}

static const char *weight_error(enum decimal_error e)
{
	switch (e) {
	case DECIMAL_EMPTY:
		return "missing weight after 'weight='";
	case DECIMAL_NOT_NUMBER:
		return "weight must be a decimal number";
	case DECIMAL_TRAILING:
		return "unexpected characters after weight";
	case DECIMAL_LEADING_ZERO:
		return "weight must not have leading zeros";
	default:
		return "weight out of range 1-65535";
	}
}

/* Copy [p, p + len) into buf as a C string for inet_pton(). */
static bool copy_token(char *buf, size_t size, const char *p, size_t len)
{
	if (len >= size)
		return false;
	memcpy(buf, p, len);
	buf[len] = '\0';
	return true;
}

/*
 * Parse "A.B.C.D:PORT" or "[V6]:PORT" at the start of s, up to the first
 * character of stops or the end. Returns where the rest starts, or NULL
 * with *why set.
 */
static const char *parse_host_port(const char *s, const char *stops,
				   struct host_port *hp, const char **why)
{
	char buf[INET6_ADDRSTRLEN];
	const char *p, *colon;
	enum decimal_error de;
	uint32_t port;
	size_t len;

	memset(hp, 0, sizeof(*hp));
	if (s[0] == '[') {
		p = strchr(s, ']');
		if (!p) {
			*why = "missing ']' after IPv6 address";
			return NULL;
		}
		if (p == s + 1) {
			*why = "missing address";
			return NULL;
		}
		if (!copy_token(buf, sizeof(buf), s + 1, (size_t)(p - s - 1))) {
			*why = "bad IPv6 address";
			return NULL;
		}
		if (inet_pton(AF_INET6, buf, hp->addr) != 1) {
			*why = inet_pton(AF_INET, buf, hp->addr) == 1
				       ? "IPv4 address must not be in brackets"
				       : "bad IPv6 address";
			return NULL;
		}
		hp->family = AF_INET6;
		colon = p + 1;
		if (*colon != ':') {
			*why = "missing port";
			return NULL;
		}
	} else {
		len = strcspn(s, stops);
		colon = memchr(s, ':', len);
		if (!colon) {
			*why = len ? "missing port" : "missing address";
			return NULL;
		}
		if (memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
			*why = "IPv6 address must be in brackets";
			return NULL;
		}
		if (colon == s) {
			*why = "missing address";
			return NULL;
		}
		if (!copy_token(buf, sizeof(buf), s, (size_t)(colon - s)) ||
		    inet_pton(AF_INET, buf, hp->addr) != 1) {
			*why = "bad IPv4/IPv6 address";
			return NULL;
		}
		hp->family = AF_INET;
	}

	p = colon + 1;
	len = strcspn(p, stops);
	de = parse_decimal(p, len, 1, 65535, &port);
	if (de != DECIMAL_OK) {
		*why = port_error(de);
		return NULL;
	}
	hp->port = htons((uint16_t)port);
	return p + len;
}

/* Whitespace anywhere is refused: " 1.2.3.4:80" is a quoting mistake. */
static bool has_space(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			return true;
	return false;
}

/* Checks both parsers share; returns NULL if s may be parsed. */
static const char *precheck(const char *s)
{
	if (!s)
		return "missing string";
	if (!*s)
		return "empty string";
	if (has_space(s))
		return "must not contain spaces";
	return NULL;
}

int slotlb_parse_endpoint(const char *s, struct slotlb_endpoint_key *key,
			  const char **why)
{
	const char *unused, *rest;
	struct host_port hp;
	uint8_t proto = IPPROTO_TCP;
	int err = -EINVAL;

	if (!why)
		why = &unused;
	*why = key ? precheck(s) : "missing output";
	if (*why)
		goto out;
	rest = parse_host_port(s, "/", &hp, why);
	if (!rest)
		goto out;
	if (*rest == '/') {
		rest++;
		if (!strcmp(rest, "tcp")) {
			proto = IPPROTO_TCP;
		} else if (!strcmp(rest, "udp")) {
			proto = IPPROTO_UDP;
		} else {
			*why = *rest ? "unknown protocol (tcp or udp)"
				     : "missing protocol after '/'";
			goto out;
		}
	}

	memset(key, 0, sizeof(*key));
	memcpy(key->addr, hp.addr, sizeof(key->addr));
	key->port = hp.port;
	key->proto = proto;
	key->family = hp.family;
	err = 0;
out:
	return err;
}

int slotlb_parse_backend(const char *s, struct slotlb_backend *be,
			 uint32_t *weight, const char **why)
{
	static const char opt_weight[] = "weight=";
	const char *unused, *rest;
	enum decimal_error de;
	struct host_port hp;
	uint32_t w = 1;
	int err = -EINVAL;

	if (!why)
		why = &unused;
	*why = be && weight ? precheck(s) : "missing output";
	if (*why)
		goto out;
	rest = parse_host_port(s, ",", &hp, why);
	if (!rest)
		goto out;
	if (*rest == ',') {
		rest++;
		if (strncmp(rest, opt_weight, sizeof(opt_weight) - 1)) {
			*why = *rest ? "unknown option (only weight=W)"
				     : "missing option after ','";
			goto out;
		}
		rest += sizeof(opt_weight) - 1;
		de = parse_decimal(rest, strlen(rest), 1, 65535, &w);
		if (de != DECIMAL_OK) {
			*why = weight_error(de);
			goto out;
		}
	}

	memset(be, 0, sizeof(*be));
	memcpy(be->addr, hp.addr, sizeof(be->addr));
	be->port = hp.port;
	be->family = hp.family;
	*weight = w;
	err = 0;
out:
	return err;
}

uint32_t slotlb_parse_role(const char *s)
{
	if (!s)
		return 0;
	if (!strcmp(s, "public"))
		return SLOTLB_ROLE_PUBLIC;
	if (!strcmp(s, "backend"))
		return SLOTLB_ROLE_BACKEND;
	if (!strcmp(s, "both"))
		return SLOTLB_ROLE_PUBLIC | SLOTLB_ROLE_BACKEND;
	return 0;
}

int slotlb_parse_addr_port(const char *s, __be32 addr[4], uint8_t *family,
			   __be16 *port, const char **why)
{
	const char *unused, *rest;
	struct host_port hp;

	if (!why)
		why = &unused;
	*why = addr && family && port ? precheck(s) : "missing output";
	if (*why)
		return -EINVAL;
	rest = parse_host_port(s, "", &hp, why);
	if (!rest)
		return -EINVAL;
	memcpy(addr, hp.addr, sizeof(hp.addr));
	*family = hp.family;
	*port = hp.port;
	return 0;
}

int slotlb_format_addr(const __be32 addr[4], uint8_t family, char *buf,
		       size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int n;

	if (!addr || !buf)
		return -EINVAL;
	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	if (!inet_ntop(family, addr, tmp, sizeof(tmp)))
		return -EINVAL;
	n = snprintf(buf, len, "%s", tmp);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

/* "ADDR:PORT" with brackets around IPv6, then suffix. */
static int format_host_port(const __be32 addr[4], uint8_t family, __be16 port,
			    const char *suffix, char *buf, size_t len)
{
	char tmp[INET6_ADDRSTRLEN];
	int n, err;

	err = slotlb_format_addr(addr, family, tmp, sizeof(tmp));
	if (err)
		return err;
	if (family == AF_INET6)
		n = snprintf(buf, len, "[%s]:%u%s", tmp, ntohs(port), suffix);
	else
		n = snprintf(buf, len, "%s:%u%s", tmp, ntohs(port), suffix);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int slotlb_format_endpoint(const struct slotlb_endpoint_key *key, char *buf,
			   size_t len)
{
	const char *suffix;

	if (!key || !buf)
		return -EINVAL;
	if (key->proto == IPPROTO_TCP)
		suffix = "/tcp";
	else if (key->proto == IPPROTO_UDP)
		suffix = "/udp";
	else
		return -EINVAL;
	return format_host_port(key->addr, key->family, key->port, suffix, buf,
				len);
}

int slotlb_format_backend(const struct slotlb_backend *be, char *buf,
			  size_t len)
{
	if (!be || !buf)
		return -EINVAL;
	return format_host_port(be->addr, be->family, be->port, "", buf, len);
}
