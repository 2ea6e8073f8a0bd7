/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Parsing and formatting of distributions, shares and audience prefixes
 * (see traffic_parse.h). Strict like addr.c: a share or prefix that is
 * almost right is refused with a message that says how, since a guess
 * sends real clients somewhere nobody asked for.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "traffic_parse.h"

static int refuse(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why && why_len) {
		va_start(ap, fmt);
		vsnprintf(why, why_len, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Whitespace anywhere is refused: it is a quoting mistake. */
static bool has_space(const char *s)
{
	for (; *s; s++)
		if (*s == ' ' || (*s >= '\t' && *s <= '\r'))
			return true;
	return false;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Why a share of len bytes at p is not one; NULL if it is (then *bp). */
static const char *share_error(const char *p, size_t len, uint16_t *bp)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, digits = 0;

	if (!len)
		return "missing percent";
	if (p[0] == '-')
		return "share must not be negative";
	if (!is_digit(p[0]))
		return "share must be a number of percent, e.g. 10 or 2.5";
	for (; i < len && is_digit(p[i]); i++)
		if (whole <= 100)
			whole = whole * 10 + (uint64_t)(p[i] - '0');
	if (i > 1 && p[0] == '0')
		return "share must not have leading zeros";
	if (i < len && p[i] == '.') {
		for (i++; i < len && is_digit(p[i]); i++, digits++)
			if (digits < 2)
				frac = frac * 10 + (uint64_t)(p[i] - '0');
		if (!digits)
			return "missing digits after '.'";
		if (digits > 2)
			return "share has more than two decimals (the unit is 0.01%)";
		if (digits == 1)
			frac *= 10;
	}
	if (i < len && p[i] == '%' && i + 1 == len)
		return "share is a plain number of percent, without '%'";
	if (i < len)
		return "share must be a number of percent, e.g. 10 or 2.5";
	if (whole * 100 + frac > SLOTLB_SHARE_SCALE)
		return "share over 100%";
	*bp = (uint16_t)(whole * 100 + frac);
	return NULL;
}

int slotlb_parse_share(const char *s, uint16_t *share, char *why,
		       size_t why_len)
{
	const char *err;
	uint16_t bp;

	if (!s || !share)
		return refuse(why, why_len, "missing percent");
	if (has_space(s))
		return refuse(why, why_len, "must not contain spaces");
	err = share_error(s, strlen(s), &bp);
	if (err)
		return refuse(why, why_len, "%s", err);
	*share = bp;
	return 0;
}

int slotlb_format_share(uint32_t share, char *buf, size_t len)
{
	uint32_t whole = share / 100, frac = share % 100;
	int n;

	if (!buf)
		return -EINVAL;
	if (!frac)
		n = snprintf(buf, len, "%u", whole);
	else if (frac % 10 == 0)
		n = snprintf(buf, len, "%u.%u", whole, frac / 10);
	else
		n = snprintf(buf, len, "%u.%02u", whole, frac);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int slotlb_parse_distribution(const char *s, struct slotlb_distribution *d,
			      char *why, size_t why_len)
{
	struct slotlb_distribution next;
	const char *entry, *end, *eq, *err;
	char total[16];
	size_t i, len;

	if (!s || !*s || !d)
		return refuse(
			why, why_len,
			"empty distribution (SLOT=PERCENT[,SLOT=PERCENT...])");
	if (has_space(s))
		return refuse(why, why_len, "must not contain spaces");
	memset(&next, 0, sizeof(next));
	for (entry = s;; entry = end + 1) {
		end = strchr(entry, ',');
		len = end ? (size_t)(end - entry) : strlen(entry);
		if (!len)
			return refuse(
				why, why_len,
				"empty entry (two commas, or one at an end)");
		eq = memchr(entry, '=', len);
		if (!eq)
			return refuse(why, why_len,
				      "%.*s: missing '=PERCENT' after the slot",
				      (int)len, entry);
		if (eq == entry)
			return refuse(why, why_len, "%.*s: missing slot name",
				      (int)len, entry);
		if ((size_t)(eq - entry) >= SLOTLB_TRAFFIC_SLOT_LEN)
			return refuse(
				why, why_len,
				"%.32s...: slot name longer than %d characters",
				entry, SLOTLB_TRAFFIC_SLOT_LEN - 1);
		if (next.n == SLOTLB_MAX_SPLITS)
			return refuse(why, why_len, "more than %d target slots",
				      SLOTLB_MAX_SPLITS);
		memcpy(next.target[next.n].slot, entry, (size_t)(eq - entry));
		for (i = 0; i < next.n; i++)
			if (!strcmp(next.target[i].slot,
				    next.target[next.n].slot))
				return refuse(why, why_len, "%s given twice",
					      next.target[i].slot);
		err = share_error(eq + 1, len - (size_t)(eq + 1 - entry),
				  &next.target[next.n].share);
		if (err)
			return refuse(why, why_len, "%.*s: %s", (int)len, entry,
				      err);
		next.total += next.target[next.n].share;
		next.n++;
		if (!end)
			break;
	}
	if (next.total > SLOTLB_SHARE_SCALE) {
		slotlb_format_share(next.total, total, sizeof(total));
		return refuse(why, why_len, "total %s%% is over 100%%", total);
	}
	*d = next;
	return 0;
}

/* Network-order mask of word w's bits fixed by a prefix of len. */
static __be32 word_mask(uint32_t len, int w)
{
	uint32_t bits = len > 32u * w ? len - 32u * w : 0;

	if (bits >= 32)
		return 0xffffffff;
	return bits ? htonl(~0U << (32 - bits)) : 0;
}

/* The 96-bit head of an IPv4-mapped IPv6 address, ::ffff:0:0/96. */
static bool v4_mapped(const __be32 a[4])
{
	return !a[0] && !a[1] && a[2] == htonl(0xffff);
}

int slotlb_parse_prefix(const char *s, struct slotlb_prefix *p, char *why,
			size_t why_len)
{
	char addr[INET6_ADDRSTRLEN], host[INET6_ADDRSTRLEN];
	char meant[SLOTLB_PREFIX_STRLEN];
	struct slotlb_prefix next;
	__be32 bits[4];
	const char *slash, *l;
	uint32_t len = 0, max;
	int w;

	if (!s || !*s || !p)
		return refuse(why, why_len, "empty prefix");
	if (has_space(s))
		return refuse(why, why_len, "must not contain spaces");
	if (s[0] == '[')
		return refuse(why, why_len,
			      "IPv6 prefix must not be in brackets");
	memset(&next, 0, sizeof(next));
	slash = strchr(s, '/');
	if (slash == s)
		return refuse(why, why_len, "missing address before '/'");
	if ((slash ? (size_t)(slash - s) : strlen(s)) >= sizeof(addr))
		return refuse(why, why_len, "bad IPv4/IPv6 address");
	snprintf(addr, sizeof(addr), "%.*s",
		 (int)(slash ? (size_t)(slash - s) : strlen(s)), s);
	if (inet_pton(AF_INET, addr, next.addr) == 1)
		next.family = AF_INET;
	else if (inet_pton(AF_INET6, addr, next.addr) == 1)
		next.family = AF_INET6;
	else
		return refuse(why, why_len, "bad IPv4/IPv6 address");
	max = next.family == AF_INET ? 32 : 128;
	if (!slash)
		return refuse(why, why_len,
			      "missing '/LENGTH' (one address is %s/%u)", addr,
			      max);
	l = slash + 1;
	if (!*l)
		return refuse(why, why_len, "missing length after '/'");
	for (; *l; l++) {
		if (!is_digit(*l))
			return refuse(why, why_len,
				      "length must be a decimal number");
		if (len <= 128)
			len = len * 10 + (uint32_t)(*l - '0');
	}
	if (slash[1] == '0' && slash[2])
		return refuse(why, why_len,
			      "length must not have leading zeros");
	if (len > max)
		return refuse(why, why_len, "length %s is over %u for %s",
			      slash + 1, max, max == 32 ? "IPv4" : "IPv6");
	next.len = (uint8_t)len;
	for (w = 0; w < 4; w++) {
		bits[w] = next.addr[w] & ~word_mask(len, w);
		next.addr[w] &= word_mask(len, w);
	}
	if (bits[0] || bits[1] || bits[2] || bits[3]) {
		inet_ntop(next.family, bits, host, sizeof(host));
		slotlb_format_prefix(&next, meant, sizeof(meant));
		return refuse(
			why, why_len,
			"host bits set: %s lies outside the /%u (the prefix is %s)",
			host, len, meant);
	}
	if (next.family == AF_INET6 && len >= 96 && v4_mapped(next.addr)) {
		next.family = AF_INET;
		next.addr[0] = next.addr[3];
		next.addr[2] = next.addr[3] = 0;
		next.len = (uint8_t)(len - 96);
		slotlb_format_prefix(&next, meant, sizeof(meant));
		return refuse(
			why, why_len,
			"IPv4-mapped prefix: IPv4 clients are matched by IPv4 prefixes (%s)",
			meant);
	}
	*p = next;
	return 0;
}

int slotlb_format_prefix(const struct slotlb_prefix *p, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (!p || !buf || (p->family != AF_INET && p->family != AF_INET6))
		return -EINVAL;
	if (!inet_ntop(p->family, p->addr, addr, sizeof(addr)))
		return -EINVAL;
	n = snprintf(buf, len, "%s/%u", addr, p->len);
	return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}

int slotlb_parse_prefixes(const char *const *list, size_t n,
			  struct slotlb_prefix *out, char *why, size_t why_len)
{
	struct slotlb_prefix next[SLOTLB_MAX_AUDIENCE];
	char inner[SLOTLB_TRAFFIC_WHY_LEN];
	size_t i, j;

	if (n > SLOTLB_MAX_AUDIENCE)
		return refuse(why, why_len, "%zu prefixes: at most %d", n,
			      SLOTLB_MAX_AUDIENCE);
	if (n && (!list || !out))
		return refuse(why, why_len, "missing prefixes");
	for (i = 0; i < n; i++) {
		if (slotlb_parse_prefix(list[i], &next[i], inner,
					sizeof(inner)))
			return refuse(why, why_len, "%.64s: %s",
				      list[i] ? list[i] : "", inner);
		for (j = 0; j < i; j++)
			if (next[j].family == next[i].family &&
			    next[j].len == next[i].len &&
			    !memcmp(next[j].addr, next[i].addr,
				    sizeof(next[i].addr)))
				return refuse(why, why_len, "%.64s given twice",
					      list[i]);
	}
	if (n)
		memcpy(out, next, n * sizeof(next[0]));
	return 0;
}
