/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The input rules of validate.h. Each message is the <cause> of an
 * "Error: <object>: <cause>" and holds its bound in words, so an
 * operator reading it knows what would have been accepted; the unit
 * test checks every bound at its edges, so text and macro agree.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include "addr.h"
#include "validate.h"

/* The one exit of every rule. */
static int verdict(const char *msg, const char **why)
{
	if (msg && why)
		*why = msg;
	return msg ? -EINVAL : 0;
}

int validate_name(const char *name, const char **why)
{
	size_t i, len = name ? strnlen(name, VALIDATE_NAME_LEN) : 0;
	bool ok = len > 0 && len < VALIDATE_NAME_LEN;

	for (i = 0; ok && i < len; i++) {
		char c = name[i];

		ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		     (i > 0 && (c == '-' || c == '_' || c == '.'));
	}
	return verdict(
		ok ? NULL
		   : "name must match [a-z0-9][a-z0-9._-]* and be at most 63 characters",
		why);
}

const char *validate_name_object(const char *name, const char *what)
{
	return name && *name ? name : what;
}

int validate_version(const char *label, const char **why)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				      "0123456789._+:-";
	size_t len = strnlen(label, SLOTLB_VERSION_LEN);

	if (len >= SLOTLB_VERSION_LEN)
		return verdict("version must be at most 31 characters", why);
	if (strspn(label, allowed) != len)
		return verdict(
			"version may hold letters, digits and ._+:- only", why);
	return 0;
}

/* Address classes NAT cannot serve, as an endpoint (0) or a backend (1).
 * Unspecified, multicast and broadcast are never a connection's
 * destination. Loopback never crosses an interface, so XDP never sees
 * it: as an endpoint no client reaches it, as a backend the host would
 * have to be its own gateway. Link-local needs a zone (an interface) to
 * mean anything, and neither a key nor a route carries one. */
enum addr_class {
	ADDR_OK = 0,
	ADDR_UNSPEC,
	ADDR_MCAST,
	ADDR_BCAST,
	ADDR_LOOP,
	ADDR_LINK,
};

static const char *const addr_class_why[][2] = {
	[ADDR_UNSPEC] =
		{"an unspecified address (0.0.0.0/8, ::) cannot be an endpoint",
		 "an unspecified address (0.0.0.0/8, ::) cannot be a backend"},
	[ADDR_MCAST] = {"a multicast address cannot be an endpoint",
			"a multicast address cannot be a backend"},
	[ADDR_BCAST] = {"the broadcast address cannot be an endpoint",
			"the broadcast address cannot be a backend"},
	[ADDR_LOOP] =
		{"a loopback address (127.0.0.0/8, ::1) cannot be an endpoint: its packets never reach an interface",
		 "a loopback address (127.0.0.0/8, ::1) cannot be a backend: the host itself is not behind the data path"},
	[ADDR_LINK] =
		{"a link-local address (169.254.0.0/16, fe80::/10) cannot be an endpoint: it has no zone here",
		 "a link-local address (169.254.0.0/16, fe80::/10) cannot be a backend: a route to it needs a zone"},
};

static enum addr_class addr_class_of(const __be32 addr[4], uint8_t family)
{
	const uint8_t *b = (const uint8_t *)addr;
	static const uint8_t zero[16];

	if (family == AF_INET) {
		if (b[0] == 0)
			return ADDR_UNSPEC;
		if (b[0] == 127)
			return ADDR_LOOP;
		if (b[0] == 169 && b[1] == 254)
			return ADDR_LINK;
		if (addr[0] == htonl(0xffffffff))
			return ADDR_BCAST;
		if (b[0] >= 224 && b[0] <= 239)
			return ADDR_MCAST;
		return ADDR_OK;
	}
	/* ::ffff:a.b.c.d is judged as a.b.c.d */
	if (!memcmp(b, zero, 10) && b[10] == 0xff && b[11] == 0xff) {
		const __be32 v4[4] = {addr[3]};

		return addr_class_of(v4, AF_INET);
	}
	if (!memcmp(b, zero, 16))
		return ADDR_UNSPEC;
	if (!memcmp(b, zero, 15) && b[15] == 1)
		return ADDR_LOOP;
	if (b[0] == 0xff)
		return ADDR_MCAST;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return ADDR_LINK;
	return ADDR_OK;
}

int validate_endpoint(const char *s, struct slotlb_endpoint_key *key,
		      const char **why)
{
	struct slotlb_endpoint_key scratch;
	const char *msg = NULL;
	enum addr_class c;

	if (slotlb_parse_endpoint(s, &scratch, &msg))
		return verdict(msg ? msg : "malformed endpoint", why);
	c = addr_class_of(scratch.addr, scratch.family);
	if (c != ADDR_OK)
		return verdict(addr_class_why[c][0], why);
	if (key)
		*key = scratch;
	return 0;
}

int validate_backend(const char *s, struct slotlb_backend *be, uint32_t *weight,
		     const char **why)
{
	struct slotlb_backend scratch;
	const char *msg = NULL;
	enum addr_class c;
	uint32_t w;

	if (slotlb_parse_backend(s, &scratch, &w, &msg))
		return verdict(msg ? msg : "malformed backend", why);
	c = addr_class_of(scratch.addr, scratch.family);
	if (c != ADDR_OK)
		return verdict(addr_class_why[c][1], why);
	if (be)
		*be = scratch;
	if (weight)
		*weight = w;
	return 0;
}

int validate_backend_address(const char *s, struct slotlb_backend *be,
			     const char **why)
{
	/* a weight here would be parsed and dropped: the caller names one
	 * backend, and its weight has a field of its own */
	if (s && strchr(s, ','))
		return verdict(
			"must be ADDR:PORT, without a ',weight=' (a weight is set with backend weight)",
			why);
	return validate_backend(s, be, NULL, why);
}

void warmup_policy_default(struct warmup_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->mode = WARMUP_HTTP;
	strcpy(p->path, "/");
	p->timeout_ms = WARMUP_DEFAULT_TIMEOUT_MS;
	p->retries = WARMUP_DEFAULT_RETRIES;
	p->retry_delay_ms = WARMUP_DEFAULT_RETRY_DELAY_MS;
}

#define MODE_RULE "mode must be \"http\", \"https\" or \"tcp\""

int validate_warmup_mode(const char *s, enum warmup_mode *mode,
			 const char **why)
{
	if (s && !strcmp(s, "http"))
		*mode = WARMUP_HTTP;
	else if (s && !strcmp(s, "https"))
		*mode = WARMUP_HTTPS;
	else if (s && !strcmp(s, "tcp"))
		*mode = WARMUP_TCP;
	else
		return verdict(MODE_RULE, why);
	return 0;
}

const char *warmup_mode_name(enum warmup_mode mode)
{
	return mode == WARMUP_TCP     ? "tcp"
	       : mode == WARMUP_HTTPS ? "https"
				      : "http";
}

int validate_warmup_path(const char *path, const char **why)
{
	size_t i, len = strnlen(path, WARMUP_PATH_LEN);

	if (len == WARMUP_PATH_LEN)
		return verdict("path must be at most 255 characters", why);
	if (path[0] != '/')
		return verdict("path must start with '/'", why);
	/* The path goes verbatim into the request line. */
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)path[i]) || path[i] == '#')
			return verdict(
				"path must be printable, without spaces or '#'",
				why);
	return 0;
}

int validate_warmup_status(long status, const char **why)
{
	return verdict(status < 100 || status > 599 ? "status must be 100..599"
						    : NULL,
		       why);
}

int validate_warmup_statuses(const char *s, struct warmup_policy *p,
			     const char **why)
{
	int statuses[WARMUP_MAX_STATUSES];
	const char *c = s;
	size_t n = 0;
	char *end;
	long v;

	if (!*s)
		return verdict("empty status list", why);
	while (*c) {
		if (!isdigit((unsigned char)*c))
			return verdict(
				"status list must be numbers separated by ','",
				why);
		errno = 0;
		v = strtol(c, &end, 10);
		if (errno)
			v = 0; /* out of range as a status too */
		if (validate_warmup_status(v, why))
			return -EINVAL;
		if (n == WARMUP_MAX_STATUSES)
			return verdict("too many statuses (at most 16)", why);
		statuses[n++] = (int)v;
		c = end;
		if (*c == ',' && !c[1])
			return verdict("status list ends with ','", why);
		if (*c == ',')
			c++;
		else if (*c)
			return verdict(
				"status list must be numbers separated by ','",
				why);
	}
	memcpy(p->statuses, statuses, n * sizeof(statuses[0]));
	p->n_statuses = n;
	return 0;
}

/* lo <= v <= hi, NaN refused. */
static bool within(double v, double lo, double hi)
{
	return v >= lo && v <= hi;
}

int validate_warmup_timeout_s(double s, const char **why)
{
	return verdict(within(s, 0.001, WARMUP_MAX_TIMEOUT_MS / 1000.0)
			       ? NULL
			       : "timeout must be 0.001..3600 seconds",
		       why);
}

int validate_warmup_retries(double n, const char **why)
{
	return verdict(!within(n, 0, WARMUP_MAX_RETRIES)
			       ? "retries must be 0..100"
		       : n != (long)n ? "retries must be a whole number"
				      : NULL,
		       why);
}

int validate_warmup_deadline_s(double s, const char **why)
{
	return verdict(within(s, 0, WARMUP_MAX_DEADLINE_MS / 1000.0)
			       ? NULL
			       : "deadline must be 0..86400 seconds (0: none)",
		       why);
}

int validate_warmup_retry_delay_ms(double ms, const char **why)
{
	return verdict(!within(ms, 0, WARMUP_MAX_RETRY_DELAY_MS)
			       ? "retry delay must be 0..600000 ms"
		       : ms != (long)ms
			       ? "retry delay must be a whole number of ms"
			       : NULL,
		       why);
}

int validate_warmup_policy(const struct warmup_policy *p, const char **why)
{
	size_t i;

	if (p->mode != WARMUP_HTTP && p->mode != WARMUP_TCP &&
	    p->mode != WARMUP_HTTPS)
		return verdict(MODE_RULE, why);
	if (strnlen(p->host, WARMUP_HOST_LEN) == WARMUP_HOST_LEN)
		return verdict("host must be at most 253 characters", why);
	if (validate_warmup_path(p->path, why) ||
	    validate_warmup_host(p->host, why) ||
	    validate_warmup_timeout_s(p->timeout_ms / 1000.0, why) ||
	    validate_warmup_retries(p->retries, why) ||
	    validate_warmup_deadline_s(p->deadline_ms / 1000.0, why) ||
	    validate_warmup_retry_delay_ms(p->retry_delay_ms, why))
		return -EINVAL;
	if (p->n_statuses > WARMUP_MAX_STATUSES)
		return verdict("too many statuses (at most 16)", why);
	for (i = 0; i < p->n_statuses; i++)
		if (validate_warmup_status(p->statuses[i], why))
			return -EINVAL;
	return 0;
}

int validate_distribution(const char *s, struct slotlb_distribution *d,
			  char *why, size_t why_len)
{
	struct slotlb_distribution next;
	const char *bad;
	size_t i;
	int err;

	err = slotlb_parse_distribution(s, &next, why, why_len);
	if (err)
		return err;
	for (i = 0; i < next.n; i++) {
		const char *slot = next.target[i].slot;

		if (validate_name(slot, &bad)) {
			snprintf(why, why_len, "%s: %s", slot, bad);
			return -EINVAL;
		}
		if (!strcmp(slot, VALIDATE_TRAFFIC_FROM)) {
			snprintf(
				why, why_len,
				"%s: the shares divide %s's own clients, it keeps what the other slots do not take",
				slot, VALIDATE_TRAFFIC_FROM);
			return -EINVAL;
		}
	}
	*d = next;
	return 0;
}

int validate_share(const char *s, uint16_t *share, char *why, size_t why_len)
{
	return slotlb_parse_share(s, share, why, why_len);
}

int validate_opt_ins(const char *const *list, size_t n,
		     struct slotlb_prefix *out, char *why, size_t why_len)
{
	return slotlb_parse_prefixes(list, n, out, why, why_len);
}

int validate_client(const char *s, __be32 addr[4], uint8_t *family,
		    const char **why)
{
	__be32 a[4] = {0};

	if (s && inet_pton(AF_INET, s, a) == 1)
		*family = AF_INET;
	else if (s && inet_pton(AF_INET6, s, a) == 1)
		*family = AF_INET6;
	else
		return verdict("bad IPv4/IPv6 address", why);
	memcpy(addr, a, sizeof(a));
	return 0;
}

int validate_warmup_host(const char *host, const char **why)
{
	size_t i, len = strnlen(host, WARMUP_HOST_LEN), label = 0;

	if (len >= WARMUP_HOST_LEN)
		return verdict("host must be at most 253 characters", why);
	for (i = 0; i < len; i++) {
		char c = host[i];

		if (c == '.') {
			if (!label || host[i - 1] == '-')
				break;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)c) && c != '-')
			break;
		if (c == '-' && !label)
			break;
		if (++label > 63)
			break;
	}
	if (i < len || (len && (host[len - 1] == '-' || host[len - 1] == '.')))
		return verdict(
			"host must be a DNS name: letters, digits, '-' and '.', labels of 1..63",
			why);
	return 0;
}

int validate_setting_name(const char *name, const char **why)
{
	size_t i, len = name ? strnlen(name, SETTING_NAME_LEN) : 0;
	bool ok = len > 0 && len < SETTING_NAME_LEN &&
		  (isalpha((unsigned char)name[0]) || name[0] == '_');

	for (i = 1; ok && i < len; i++)
		ok = isalnum((unsigned char)name[i]) || name[i] == '_';
	return verdict(
		ok ? NULL
		   : "setting name must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters)",
		why);
}

/* Well-formed UTF-8 (no overlong forms, no surrogates, <= U+10FFFF). */
static bool utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((s[i] & 0xe0) == 0xc0)
			n = 1, cp = s[i] & 0x1f;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 2, cp = s[i] & 0x0f;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 3, cp = s[i] & 0x07;
		else
			return false;
		if (i + n >= len)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int validate_setting_value(const char *value, size_t len, const char **why)
{
	if (len > SETTING_VALUE_MAX)
		return verdict("setting value must be at most 4096 bytes", why);
	if (memchr(value, 0, len))
		return verdict("setting value must not hold a NUL byte", why);
	if (!utf8_ok((const unsigned char *)value, len))
		return verdict("setting value must be UTF-8 text", why);
	return 0;
}

int validate_setting_pair(const char *s, size_t *name_len, const char **value,
			  const char **why)
{
	const char *eq = strchr(s, '=');
	char name[SETTING_NAME_LEN];
	size_t n;

	if (!eq)
		return verdict("setting must be NAME=VALUE", why);
	n = (size_t)(eq - s);
	/* too long for the buffer is too long for the rule: its sentence */
	if (n >= sizeof(name))
		return validate_setting_name("", why);
	memcpy(name, s, n);
	name[n] = 0;
	if (validate_setting_name(name, why) ||
	    validate_setting_value(eq + 1, strlen(eq + 1), why))
		return -EINVAL;
	*name_len = n;
	*value = eq + 1;
	return 0;
}

int validate_hook_exec(const char *path, const char **why)
{
	struct stat st;
	size_t len = strnlen(path, HOOK_PATH_LEN);

	if (len == HOOK_PATH_LEN)
		return verdict("hook must be a path of at most 4095 characters",
			       why);
	if (path[0] != '/')
		return verdict("hook must be an absolute path", why);
	if (stat(path, &st))
		return verdict(errno == ENOENT ? "hook: no such file"
					       : "hook: cannot stat the file",
			       why);
	if (!S_ISREG(st.st_mode))
		return verdict("hook must be a regular file", why);
	if (!(st.st_mode & 0111))
		return verdict("hook must be executable", why);
	return 0;
}

int validate_hook_timeout_s(double s, const char **why)
{
	return verdict(within(s, 0.001, HOOK_MAX_TIMEOUT_MS / 1000.0)
			       ? NULL
			       : "hook timeout must be 0.001..3600 seconds",
		       why);
}

int validate_auto_swap_delay_s(double s, const char **why)
{
	return verdict(within(s, 0, AUTO_SWAP_MAX_DELAY_MS / 1000.0)
			       ? NULL
			       : "delay must be 0..86400 seconds",
		       why);
}

int validate_swap_action(const char *s, enum swap_action *action,
			 const char **why)
{
	static const char *const names[] = {
		[SWAP_ACTION_SWAP] = "swap",
		[SWAP_ACTION_PREVIEW] = "preview",
		[SWAP_ACTION_RESET] = "reset",
		[SWAP_ACTION_CANCEL] = "cancel",
	};
	size_t i;

	for (i = SWAP_ACTION_SWAP; s && i <= SWAP_ACTION_CANCEL; i++)
		if (!strcmp(s, names[i])) {
			*action = (enum swap_action)i;
			return 0;
		}
	return verdict(
		"action must be \"swap\", \"preview\", \"reset\" or \"cancel\"",
		why);
}

int validate_preview_timeout_s(double s, const char **why)
{
	return verdict(within(s, 1, PREVIEW_MAX_TIMEOUT_S)
			       ? NULL
			       : "timeout must be 1 second..7 days",
		       why);
}

int validate_on_timeout(const char *s, bool *swap, const char **why)
{
	if (s && (!strcmp(s, "reset") || !strcmp(s, "swap"))) {
		*swap = !strcmp(s, "swap");
		return 0;
	}
	return verdict("on-timeout must be \"reset\" or \"swap\"", why);
}

int validate_duration(const char *s, double *seconds, const char **why)
{
	unsigned long v;
	double unit = 1;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno || v > 100000000)
		goto bad;
	if (*end == 'm')
		unit = 60;
	else if (*end == 'h')
		unit = 3600;
	else if (*end && *end != 's')
		goto bad;
	if (*end && end[1])
		goto bad;
	*seconds = (double)v * unit;
	return 0;
bad:
	return verdict("duration must be a whole number of seconds, "
		       "or of minutes or hours with m or h (90, 90s, 15m, 2h)",
		       why);
}

int validate_drain_timeout_s(double s, const char **why)
{
	if (!(s >= 1 && s <= DRAIN_MAX_TIMEOUT_S))
		return verdict("drain timeout must be 1 s .. 7 days", why);
	return 0;
}

int validate_on_drain_timeout(const char *s, bool *reset, const char **why)
{
	if (s && (!strcmp(s, "reset") || !strcmp(s, "leave"))) {
		*reset = !strcmp(s, "reset");
		return 0;
	}
	return verdict("on-drain-timeout must be \"reset\" or \"leave\"", why);
}

int validate_reset_rate(const char *s, uint32_t *rate, const char **why)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = s ? strtoul(s, &end, 10) : 0;
	if (!s || !isdigit((unsigned char)*s) || errno || v == 0 ||
	    v > DRAIN_MAX_RESET_RATE || (*end && strcmp(end, "/s")))
		return verdict("reset rate must be 1..1000000 a second (100 "
			       "or 100/s)",
			       why);
	*rate = (uint32_t)v;
	return 0;
}

int validate_backend_weight(double w, const char **why)
{
	if (!(w >= 0 && w <= BACKEND_MAX_WEIGHT) || w != (double)(long)w)
		return verdict("weight must be a whole number 0..65535 "
			       "(0 drains the backend)",
			       why);
	return 0;
}

const char *const verify_policy_keys[] = {
	"for_s",
	"http",
	"exec",
	"max_reset_ratio",
	"max_handshake_failure_ratio",
	"on_failure",
	NULL,
};

/* One a line: history actions that are events (order = mask bits). */
const char *const event_names[] = {
	"deploy",	 "swap",     "rollback", "auto-rollback",
	"health",	 "drained",  "preview",	 "reset",
	"auto-swap",	 "settings", "config",	 "backend",
	"drain-timeout", "retire",   "hook",	 "create",
	"delete",	 NULL,
};

int validate_event_list(const char *s, uint32_t *mask, const char **why)
{
	char name[EVENT_NAME_LEN];
	const char *p = s, *comma;
	size_t len, i;
	uint32_t m = 0;

	if (!s || !*s)
		return verdict("events: at least one event is needed", why);
	for (;;) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (!len || len >= sizeof(name))
			goto bad;
		memcpy(name, p, len);
		name[len] = 0;
		for (i = 0; event_names[i]; i++)
			if (!strcmp(event_names[i], name))
				break;
		if (!event_names[i] || (m & (1U << i)))
			goto bad;
		m |= 1U << i;
		if (!comma)
			break;
		p = comma + 1;
	}
	*mask = m;
	return 0;
bad:
	return verdict("events must be a comma-separated list of distinct "
		       "events: deploy, swap, rollback, auto-rollback, health, "
		       "drained, preview, reset, auto-swap, settings, config, "
		       "backend, drain-timeout, retire, hook, create, delete",
		       why);
}

int validate_hook_url(const char *url, const char **why)
{
	size_t i, len = url ? strnlen(url, HOOK_URL_LEN) : 0;
	const char *host;

	if (!url || len >= HOOK_URL_LEN)
		goto bad;
	if (!strncmp(url, "http://", 7))
		host = url + 7;
	else if (!strncmp(url, "https://", 8))
		host = url + 8;
	else
		goto bad;
	if (!*host || *host == '/' || *host == ':')
		goto bad;
	for (i = 0; i < len; i++)
		if (url[i] <= ' ' || url[i] > '~')
			goto bad;
	return 0;
bad:
	return verdict("URL must be http:// or https:// with a host, printable "
		       "ASCII, shorter than 1024 characters",
		       why);
}

int validate_hook_secret(const char *secret, size_t len, const char **why)
{
	size_t i;

	if (!secret || len < HOOK_SECRET_MIN || len > HOOK_SECRET_MAX)
		goto bad;
	for (i = 0; i < len; i++)
		if (secret[i] <= ' ' || secret[i] > '~')
			goto bad;
	return 0;
bad:
	return verdict("secret must be 16..1024 printable ASCII characters "
		       "without spaces",
		       why);
}

int validate_history_limit(const char *s, size_t *limit, const char **why)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v == 0 ||
	    v > HISTORY_MAX_LIMIT)
		return verdict("limit must be a number in 1..100000", why);
	*limit = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 if it is not one
 * (overlong, surrogate, above U+10FFFF, cut short). */
static size_t utf8_len(const unsigned char *s)
{
	unsigned int c = s[0], cp, n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void validate_text_clean(char *s, size_t max)
{
	unsigned char *p = (unsigned char *)s;
	size_t in = 0, out = 0, n;

	while (p[in] && out < max) {
		n = utf8_len(p + in);
		if (!n) {
			p[out++] = '?';
			in++;
			continue;
		}
		if (out + n > max)
			break; /* never cut a character in two */
		if (n == 1 && (p[in] < 0x20 || p[in] == 0x7f)) {
			p[out++] = ' ';
			in++;
			continue;
		}
		if (n == 2 && p[in] == 0xc2 && p[in + 1] < 0xa0) {
			p[out++] = ' '; /* C1 control (U+0080..U+009F) */
			in += 2;
			continue;
		}
		memmove(p + out, p + in, n);
		out += n;
		in += n;
	}
	p[out] = 0;
}

void validate_trigger_clean(char *s)
{
	validate_text_clean(s, TRIGGER_MAX_LEN);
}

void health_policy_default(struct health_policy *p)
{
	memset(p, 0, sizeof(*p));
	warmup_policy_default(&p->probe);
	p->probe.timeout_ms = HEALTH_DEFAULT_TIMEOUT_MS;
	p->probe.retries = 0;
	p->interval_ms = HEALTH_DEFAULT_INTERVAL_MS;
	p->unhealthy_after = HEALTH_DEFAULT_UNHEALTHY_AFTER;
	p->healthy_after = HEALTH_DEFAULT_HEALTHY_AFTER;
	p->tcp = SLOTLB_HEALTH_TCP_RESET;
}

int validate_health_interval_s(double s, const char **why)
{
	return verdict(within(s, HEALTH_MIN_INTERVAL_MS / 1000.0,
			      HEALTH_MAX_INTERVAL_MS / 1000.0)
			       ? NULL
			       : "interval must be 0.1..3600 seconds",
		       why);
}

int validate_health_threshold(double n, const char **why)
{
	return verdict(within(n, 1, HEALTH_MAX_THRESHOLD) && n == (int)n
			       ? NULL
			       : "threshold must be a whole number 1..100",
		       why);
}

int validate_health_tcp(const char *s, uint8_t *tcp, const char **why)
{
	if (s && !strcmp(s, "reset"))
		*tcp = SLOTLB_HEALTH_TCP_RESET;
	else if (s && !strcmp(s, "leave"))
		*tcp = SLOTLB_HEALTH_TCP_LEAVE;
	else
		return verdict("pinned TCP flows: must be reset or leave", why);
	return 0;
}

const char *health_tcp_name(uint8_t tcp)
{
	return tcp == SLOTLB_HEALTH_TCP_RESET ? "reset" : "leave";
}

int validate_health_policy(const struct health_policy *p, const char **why)
{
	if (validate_warmup_policy(&p->probe, why) ||
	    validate_health_interval_s(p->interval_ms / 1000.0, why) ||
	    validate_health_threshold(p->unhealthy_after, why) ||
	    validate_health_threshold(p->healthy_after, why))
		return -EINVAL;
	if (p->probe.timeout_ms > p->interval_ms)
		return verdict("interval must not be shorter than the timeout",
			       why);
	if (p->tcp != SLOTLB_HEALTH_TCP_RESET &&
	    p->tcp != SLOTLB_HEALTH_TCP_LEAVE)
		return verdict("pinned TCP flows: must be reset or leave", why);
	return 0;
}

void verify_policy_default(struct verify_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->max_reset_ratio = -1;
	p->max_handshake_failure_ratio = -1;
	p->on_failure = VERIFY_ROLLBACK;
}

int validate_verify_for_s(double s, const char **why)
{
	return verdict(s > 0 && s <= VERIFY_MAX_FOR_MS / 1000.0
			       ? NULL
			       : "verification must last 0..86400 seconds "
				 "(more than 0)",
		       why);
}

int validate_verify_ratio(double r, const char **why)
{
	return verdict(within(r, 0, 1) ? NULL : "ratio must be 0..1", why);
}

int validate_verify_on_failure(const char *s, enum verify_on_failure *f,
			       const char **why)
{
	if (s && !strcmp(s, "rollback"))
		*f = VERIFY_ROLLBACK;
	else if (s && !strcmp(s, "alert"))
		*f = VERIFY_ALERT;
	else
		return verdict("on failure: must be rollback or alert", why);
	return 0;
}

int validate_verify_http(const char *s, struct verify_policy *p,
			 const char **why)
{
	struct warmup_policy w;
	const char *eq;
	char path[WARMUP_PATH_LEN];
	size_t len;

	if (!s)
		return verdict("verify http: must be PATH or PATH=STATUSES",
			       why);
	eq = strchr(s, '=');
	len = eq ? (size_t)(eq - s) : strlen(s);
	if (len >= sizeof(path))
		return verdict("path must be at most 255 characters", why);
	memcpy(path, s, len);
	path[len] = 0;
	if (validate_warmup_path(path, why))
		return -EINVAL;
	warmup_policy_default(&w);
	if (eq && validate_warmup_statuses(eq + 1, &w, why))
		return -EINVAL;
	snprintf(p->http_path, sizeof(p->http_path), "%s", path);
	memcpy(p->statuses, w.statuses, sizeof(p->statuses));
	p->n_statuses = w.n_statuses;
	return 0;
}

int validate_verify_exec(const char *path, const char **why)
{
	if (!path || strlen(path) >= sizeof(((struct verify_policy *)0)->exec))
		return verdict("exec path must be at most 255 characters", why);
	return validate_hook_exec(path, why);
}
