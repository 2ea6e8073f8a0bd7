/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of distribution, share and prefix parsing: tables of good
 * inputs with the exact result and the canonical form they print back
 * as, and of bad inputs with the exact message the operator sees; on
 * every refusal the output must be untouched.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "traffic_parse.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define POISON 0xab

struct share_case {
	const char *in;
	uint16_t bp;
	const char *canonical;
};

static const struct share_case good_shares[] = {
	{"0", 0, "0"},
	{"10", 1000, "10"},
	{"2.5", 250, "2.5"},
	{"2.50", 250, "2.5"},
	{"0.01", 1, "0.01"},
	{"0.1", 10, "0.1"},
	{"33.33", 3333, "33.33"},
	{"99.99", 9999, "99.99"},
	{"100", 10000, "100"},
	{"100.00", 10000, "100"},
};

struct bad_case {
	const char *in;
	const char *why;
};

static const struct bad_case bad_shares[] = {
	{"", "missing percent"},
	{"-5", "share must not be negative"},
	{"-0", "share must not be negative"},
	{"+5", "share must be a number of percent, e.g. 10 or 2.5"},
	{"abc", "share must be a number of percent, e.g. 10 or 2.5"},
	{".5", "share must be a number of percent, e.g. 10 or 2.5"},
	{"1e2", "share must be a number of percent, e.g. 10 or 2.5"},
	{"0x10", "share must be a number of percent, e.g. 10 or 2.5"},
	{"1.2.3", "share must be a number of percent, e.g. 10 or 2.5"},
	{"10,5", "share must be a number of percent, e.g. 10 or 2.5"},
	{"10%", "share is a plain number of percent, without '%'"},
	{"2.", "missing digits after '.'"},
	{"2.555", "share has more than two decimals (the unit is 0.01%)"},
	{"0.001", "share has more than two decimals (the unit is 0.01%)"},
	{"05", "share must not have leading zeros"},
	{"00.5", "share must not have leading zeros"},
	{"100.01", "share over 100%"},
	{"101", "share over 100%"},
	{"99999999999999999999", "share over 100%"},
	{" 10", "must not contain spaces"},
	{"10\n", "must not contain spaces"},
};

static void test_shares(void **state)
{
	char why[SLOTLB_TRAFFIC_WHY_LEN], buf[SLOTLB_SHARE_STRLEN];
	uint16_t bp;
	size_t i;

	(void)state;
	for (i = 0; i < N(good_shares); i++) {
		const struct share_case *c = &good_shares[i];

		if (slotlb_parse_share(c->in, &bp, why, sizeof(why)))
			fail_msg("'%s': refused: %s", c->in, why);
		assert_int_equal(bp, c->bp);
		assert_int_equal(slotlb_format_share(bp, buf, sizeof(buf)), 0);
		assert_string_equal(buf, c->canonical);
	}
	for (i = 0; i < N(bad_shares); i++) {
		const struct bad_case *c = &bad_shares[i];

		bp = 0x5a5a;
		if (slotlb_parse_share(c->in, &bp, why, sizeof(why)) != -EINVAL)
			fail_msg("'%s': accepted", c->in);
		if (strcmp(why, c->why))
			fail_msg("'%s': '%s', want '%s'", c->in, why, c->why);
		assert_int_equal(bp, 0x5a5a);
	}
	assert_int_equal(slotlb_format_share(10000, buf, 3), -ENOSPC);
	assert_int_equal(slotlb_format_share(12345678, buf, 8), -ENOSPC);
	assert_int_equal(slotlb_format_share(12345678, buf, 16), 0);
	assert_string_equal(buf, "123456.78");
}

struct dist_case {
	const char *in;
	size_t n;
	const char *slot[3];
	uint16_t share[3];
};

static const struct dist_case good_dists[] = {
	{"staging=10", 1, {"staging"}, {1000}},
	{"staging=10,qa=5", 2, {"staging", "qa"}, {1000, 500}},
	{"qa=2.5,staging=0", 2, {"qa", "staging"}, {250, 0}},
	{"a=33.33,b=33.33,c=33.34", 3, {"a", "b", "c"}, {3333, 3333, 3334}},
	{"staging=100", 1, {"staging"}, {10000}},
	{"s-1.x_y=0.01", 1, {"s-1.x_y"}, {1}},
};

static const struct bad_case bad_dists[] = {
	{"", "empty distribution (SLOT=PERCENT[,SLOT=PERCENT...])"},
	{"staging=10,", "empty entry (two commas, or one at an end)"},
	{",staging=10", "empty entry (two commas, or one at an end)"},
	{"staging=10,,qa=5", "empty entry (two commas, or one at an end)"},
	{"staging", "staging: missing '=PERCENT' after the slot"},
	{"staging=10,qa", "qa: missing '=PERCENT' after the slot"},
	{"=10", "=10: missing slot name"},
	{"staging=", "staging=: missing percent"},
	{"staging=-5", "staging=-5: share must not be negative"},
	{"staging=abc",
	 "staging=abc: share must be a number of percent, e.g. 10 or 2.5"},
	{"staging=10=5",
	 "staging=10=5: share must be a number of percent, e.g. 10 or 2.5"},
	{"staging=10%",
	 "staging=10%: share is a plain number of percent, without '%'"},
	{"staging=2.555",
	 "staging=2.555: share has more than two decimals (the unit is 0.01%)"},
	{"staging=101", "staging=101: share over 100%"},
	{"staging=60,qa=40.01", "total 100.01% is over 100%"},
	{"a=50,b=50,c=5", "total 105% is over 100%"},
	{"staging=10,staging=5", "staging given twice"},
	{"staging=10, qa=5", "must not contain spaces"},
	{"a=1,b=1,c=1,d=1,e=1,f=1,g=1,h=1,i=1", "more than 8 target slots"},
	{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1",
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...: slot name longer than 63 characters"},
};

static void test_distributions(void **state)
{
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	struct slotlb_distribution d, poison;
	size_t i, k;

	(void)state;
	for (i = 0; i < N(good_dists); i++) {
		const struct dist_case *c = &good_dists[i];
		uint32_t total = 0;

		if (slotlb_parse_distribution(c->in, &d, why, sizeof(why)))
			fail_msg("'%s': refused: %s", c->in, why);
		assert_int_equal(d.n, c->n);
		for (k = 0; k < c->n; k++) {
			assert_string_equal(d.target[k].slot, c->slot[k]);
			assert_int_equal(d.target[k].share, c->share[k]);
			total += c->share[k];
		}
		assert_int_equal(d.total, total);
	}
	memset(&poison, POISON, sizeof(poison));
	for (i = 0; i < N(bad_dists); i++) {
		const struct bad_case *c = &bad_dists[i];

		memcpy(&d, &poison, sizeof(d));
		if (slotlb_parse_distribution(c->in, &d, why, sizeof(why)) !=
		    -EINVAL)
			fail_msg("'%s': accepted", c->in);
		if (strcmp(why, c->why))
			fail_msg("'%s': '%s', want '%s'", c->in, why, c->why);
		assert_memory_equal(&d, &poison, sizeof(d));
	}
	assert_int_equal(slotlb_parse_distribution(NULL, &d, NULL, 0), -EINVAL);
}

struct prefix_case {
	const char *in;
	int family;
	const char *addr;
	uint8_t len;
	const char *canonical;
};

static const struct prefix_case good_prefixes[] = {
	{"10.0.0.0/8", AF_INET, "10.0.0.0", 8, "10.0.0.0/8"},
	{"198.51.100.7/32", AF_INET, "198.51.100.7", 32, "198.51.100.7/32"},
	{"0.0.0.0/0", AF_INET, "0.0.0.0", 0, "0.0.0.0/0"},
	{"172.16.0.0/12", AF_INET, "172.16.0.0", 12, "172.16.0.0/12"},
	{"2001:db8::/32", AF_INET6, "2001:db8::", 32, "2001:db8::/32"},
	{"2001:DB8:0:0::/48", AF_INET6, "2001:db8::", 48, "2001:db8::/48"},
	{"2001:db8:0:8::/61", AF_INET6, "2001:db8:0:8::", 61,
	 "2001:db8:0:8::/61"},
	{"2001:db8::1/128", AF_INET6, "2001:db8::1", 128, "2001:db8::1/128"},
	{"::/0", AF_INET6, "::", 0, "::/0"},
	{"::/80", AF_INET6, "::", 80, "::/80"},
};

static const struct bad_case bad_prefixes[] = {
	{"", "empty prefix"},
	{"10.0.0.0 /8", "must not contain spaces"},
	{"10.0.0.1", "missing '/LENGTH' (one address is 10.0.0.1/32)"},
	{"2001:db8::1", "missing '/LENGTH' (one address is 2001:db8::1/128)"},
	{"/8", "missing address before '/'"},
	{"10.0.0/8", "bad IPv4/IPv6 address"},
	{"10.0.0.256/32", "bad IPv4/IPv6 address"},
	{"example.com/24", "bad IPv4/IPv6 address"},
	{"fe80::1%eth0/64", "bad IPv4/IPv6 address"},
	{"[2001:db8::]/32", "IPv6 prefix must not be in brackets"},
	{"10.0.0.0/", "missing length after '/'"},
	{"10.0.0.0/x", "length must be a decimal number"},
	{"10.0.0.0/-8", "length must be a decimal number"},
	{"10.0.0.0/8/8", "length must be a decimal number"},
	{"10.0.0.0/08", "length must not have leading zeros"},
	{"10.0.0.1/33", "length 33 is over 32 for IPv4"},
	{"10.0.0.0/99999999999", "length 99999999999 is over 32 for IPv4"},
	{"2001:db8::/129", "length 129 is over 128 for IPv6"},
	{"10.0.0.1/8",
	 "host bits set: 0.0.0.1 lies outside the /8 (the prefix is 10.0.0.0/8)"},
	{"10.1.2.3/16",
	 "host bits set: 0.0.2.3 lies outside the /16 (the prefix is 10.1.0.0/16)"},
	{"0.0.0.1/0",
	 "host bits set: 0.0.0.1 lies outside the /0 (the prefix is 0.0.0.0/0)"},
	{"2001:db8::1/32",
	 "host bits set: ::1 lies outside the /32 (the prefix is 2001:db8::/32)"},
	{"2001:db8:0:f::/61",
	 "host bits set: 0:0:0:7:: lies outside the /61 (the prefix is 2001:db8:0:8::/61)"},
	{"::ffff:0:0/96",
	 "IPv4-mapped prefix: IPv4 clients are matched by IPv4 prefixes (0.0.0.0/0)"},
	{"::ffff:10.0.0.0/104",
	 "IPv4-mapped prefix: IPv4 clients are matched by IPv4 prefixes (10.0.0.0/8)"},
};

static void test_prefixes(void **state)
{
	char why[SLOTLB_TRAFFIC_WHY_LEN], buf[SLOTLB_PREFIX_STRLEN];
	struct slotlb_prefix p, poison;
	size_t i;

	(void)state;
	for (i = 0; i < N(good_prefixes); i++) {
		const struct prefix_case *c = &good_prefixes[i];
		__be32 want[4] = {0};

		memset(&p, POISON, sizeof(p));
		if (slotlb_parse_prefix(c->in, &p, why, sizeof(why)))
			fail_msg("'%s': refused: %s", c->in, why);
		assert_int_equal(inet_pton(c->family, c->addr, want), 1);
		assert_memory_equal(p.addr, want, sizeof(want));
		assert_int_equal(p.family, c->family);
		assert_int_equal(p.len, c->len);
		assert_int_equal(p.from_slot, 0);
		assert_int_equal(p.to_slot, 0);
		assert_int_equal(slotlb_format_prefix(&p, buf, sizeof(buf)), 0);
		assert_string_equal(buf, c->canonical);
	}
	memset(&poison, POISON, sizeof(poison));
	for (i = 0; i < N(bad_prefixes); i++) {
		const struct bad_case *c = &bad_prefixes[i];

		memcpy(&p, &poison, sizeof(p));
		if (slotlb_parse_prefix(c->in, &p, why, sizeof(why)) != -EINVAL)
			fail_msg("'%s': accepted", c->in);
		if (strcmp(why, c->why))
			fail_msg("'%s': '%s', want '%s'", c->in, why, c->why);
		assert_memory_equal(&p, &poison, sizeof(p));
	}
}

static void test_prefix_lists(void **state)
{
	const char *two[] = {"10.0.0.0/8", "2001:db8::/32"};
	const char *dup[] = {"10.0.0.0/8", "192.0.2.0/24", "10.0.0.0/8"};
	const char *bad[] = {"10.0.0.0/8", "10.0.0.1/33"};
	const char *many[SLOTLB_MAX_AUDIENCE + 1];
	struct slotlb_prefix out[SLOTLB_MAX_AUDIENCE + 1], poison[3];
	char why[SLOTLB_TRAFFIC_WHY_LEN], text[SLOTLB_MAX_AUDIENCE + 1][24];
	size_t i;

	(void)state;
	assert_int_equal(slotlb_parse_prefixes(two, 2, out, why, sizeof(why)),
			 0);
	assert_int_equal(out[0].family, AF_INET);
	assert_int_equal(out[1].family, AF_INET6);
	assert_int_equal(slotlb_parse_prefixes(NULL, 0, NULL, why, sizeof(why)),
			 0);
	memset(poison, POISON, sizeof(poison));
	memcpy(out, poison, sizeof(poison));
	assert_int_equal(slotlb_parse_prefixes(dup, 3, out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "10.0.0.0/8 given twice");
	assert_int_equal(slotlb_parse_prefixes(bad, 2, out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "10.0.0.1/33: length 33 is over 32 for IPv4");
	assert_memory_equal(out, poison, sizeof(poison));
	for (i = 0; i <= SLOTLB_MAX_AUDIENCE; i++) {
		snprintf(text[i], sizeof(text[i]), "198.51.100.%zu/32", i);
		many[i] = text[i];
	}
	assert_int_equal(slotlb_parse_prefixes(many, SLOTLB_MAX_AUDIENCE, out,
					       why, sizeof(why)),
			 0);
	assert_int_equal(slotlb_parse_prefixes(many, SLOTLB_MAX_AUDIENCE + 1,
					       out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "17 prefixes: at most 16");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_distributions),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_prefix_lists),
	};

	return cmocka_run_group_tests_name("traffic_parse", tests, NULL, NULL);
}
