/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of endpoint and backend parsing and formatting: tables of
 * good inputs (with the exact ABI bytes and the canonical form they print
 * back as) and of bad inputs (with the exact reason the operator sees).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "addr.h"

/* Fill byte of outputs, to see what a parser wrote or left alone. */
#define POISON 0xab

struct good_case {
	const char *in;
	const char *addr; /* as inet_pton would take it */
	uint16_t port; /* host order */
	uint8_t proto; /* endpoints only */
	uint32_t weight; /* backends only */
	const char *canonical; /* what formatting prints back */
};

struct bad_case {
	const char *in;
	const char *why;
};

static const struct good_case good_endpoints[] = {
	{"198.18.0.100:80/tcp", "198.18.0.100", 80, IPPROTO_TCP, 0,
	 "198.18.0.100:80/tcp"},
	{"198.18.0.100:80", "198.18.0.100", 80, IPPROTO_TCP, 0,
	 "198.18.0.100:80/tcp"},
	{"198.18.0.100:53/udp", "198.18.0.100", 53, IPPROTO_UDP, 0,
	 "198.18.0.100:53/udp"},
	{"0.0.0.0:1/tcp", "0.0.0.0", 1, IPPROTO_TCP, 0, "0.0.0.0:1/tcp"},
	{"255.255.255.255:65535/udp", "255.255.255.255", 65535, IPPROTO_UDP, 0,
	 "255.255.255.255:65535/udp"},
	{"[fd00::1]:80/udp", "fd00::1", 80, IPPROTO_UDP, 0, "[fd00::1]:80/udp"},
	{"[fd00::1]:443", "fd00::1", 443, IPPROTO_TCP, 0, "[fd00::1]:443/tcp"},
	{"[FD00:0:0::1]:443/tcp", "fd00::1", 443, IPPROTO_TCP, 0,
	 "[fd00::1]:443/tcp"},
	{"[::1]:65535/udp", "::1", 65535, IPPROTO_UDP, 0, "[::1]:65535/udp"},
	{"[::ffff:1.2.3.4]:80/tcp", "::ffff:1.2.3.4", 80, IPPROTO_TCP, 0,
	 "[::ffff:1.2.3.4]:80/tcp"},
	{"[2001:db8:1:2:3:4:5:6]:8080/tcp", "2001:db8:1:2:3:4:5:6", 8080,
	 IPPROTO_TCP, 0, "[2001:db8:1:2:3:4:5:6]:8080/tcp"},
};

static const struct good_case good_backends[] = {
	{"198.19.1.2:8080", "198.19.1.2", 8080, 0, 1, "198.19.1.2:8080"},
	{"198.19.1.2:8080,weight=3", "198.19.1.2", 8080, 0, 3,
	 "198.19.1.2:8080"},
	{"198.19.1.2:1,weight=1", "198.19.1.2", 1, 0, 1, "198.19.1.2:1"},
	{"[fd00::2]:80,weight=65535", "fd00::2", 80, 0, 65535, "[fd00::2]:80"},
	{"[fd00::2]:80", "fd00::2", 80, 0, 1, "[fd00::2]:80"},
};

/* Rejections both parsers share, from the address and port. */
static const struct bad_case bad_common[] = {
	{"", "empty string"},
	{" 1.2.3.4:80", "must not contain spaces"},
	{"1.2.3.4:80 ", "must not contain spaces"},
	{"1.2.3.4 :80", "must not contain spaces"},
	{"1.2.3.4:80\n", "must not contain spaces"},
	{"\t1.2.3.4:80", "must not contain spaces"},
	{"1.2.3.4", "missing port"},
	{"1.2.3.4:", "missing port"},
	{"[fd00::1]", "missing port"},
	{"[fd00::1]80", "missing port"},
	{"1.2.3.4:0", "port out of range 1-65535"},
	{"1.2.3.4:65536", "port out of range 1-65535"},
	{"1.2.3.4:99999999999999999999", "port out of range 1-65535"},
	{"[fd00::1]:0", "port out of range 1-65535"},
	{"1.2.3.4:080x", "unexpected characters after port"},
	{"1.2.3.4:80x", "unexpected characters after port"},
	{"1.2.3.4:80:81", "IPv6 address must be in brackets"},
	{"1.2.3.4:080", "port must not have leading zeros"},
	{"1.2.3.4:00", "port must not have leading zeros"},
	{"1.2.3.4:+80", "port must be a decimal number"},
	{"1.2.3.4:-80", "port must be a decimal number"},
	{"1.2.3.4:0x50", "unexpected characters after port"},
	{"1.2.3.4:http", "port must be a decimal number"},
	{"fd00::1:80", "IPv6 address must be in brackets"},
	{"fd00::1", "IPv6 address must be in brackets"},
	{"::1", "IPv6 address must be in brackets"},
	{"[1.2.3.4]:80", "IPv4 address must not be in brackets"},
	{"[fd00::1:80", "missing ']' after IPv6 address"},
	{"[]:80", "missing address"},
	{":80", "missing address"},
	{"[fd00::g]:80", "bad IPv6 address"},
	{"[fe80::1%eth0]:80", "bad IPv6 address"},
	{"[fd00::1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa]:80",
	 "bad IPv6 address"},
	{"1.2.3:80", "bad IPv4/IPv6 address"},
	{"1.2.3.256:80", "bad IPv4/IPv6 address"},
	{"01.2.3.4:80", "bad IPv4/IPv6 address"},
	{"example.com:80", "bad IPv4/IPv6 address"},
	{"1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20:80",
	 "bad IPv4/IPv6 address"},
};

static const struct bad_case bad_endpoints[] = {
	{"1.2.3.4:80/sctp", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/TCP", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/tcpx", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/udpx", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/tc", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/tcp/udp", "unknown protocol (tcp or udp)"},
	{"1.2.3.4:80/", "missing protocol after '/'"},
	{"[fd00::1]:80/", "missing protocol after '/'"},
	{"1.2.3.4:80,weight=2", "unexpected characters after port"},
	{"1.2.3.4/tcp", "missing port"},
	{"fd00::1/tcp", "IPv6 address must be in brackets"},
};

static const struct bad_case bad_backends[] = {
	{"1.2.3.4:80,weight=0", "weight out of range 1-65535"},
	{"1.2.3.4:80,weight=65536", "weight out of range 1-65535"},
	{"1.2.3.4:80,weight=", "missing weight after 'weight='"},
	{"1.2.3.4:80,weight=+1", "weight must be a decimal number"},
	{"1.2.3.4:80,weight=-1", "weight must be a decimal number"},
	{"1.2.3.4:80,weight=2x", "unexpected characters after weight"},
	{"1.2.3.4:80,weight=2,weight=3", "unexpected characters after weight"},
	{"1.2.3.4:80,weight=02", "weight must not have leading zeros"},
	{"1.2.3.4:80,", "missing option after ','"},
	{"1.2.3.4:80,foo=1", "unknown option (only weight=W)"},
	{"1.2.3.4:80,Weight=2", "unknown option (only weight=W)"},
	{"1.2.3.4:80,weight", "unknown option (only weight=W)"},
	{"1.2.3.4:80/tcp", "unexpected characters after port"},
	{"[fd00::1]:80/udp,weight=2", "unexpected characters after port"},
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The address bytes the ABI expects: IPv4 in addr[0], the rest zero. */
static void expect_addr(const char *s, __be32 addr[4], uint8_t *family)
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return;
	}
	assert_int_equal(inet_pton(AF_INET6, s, addr), 1);
	*family = AF_INET6;
}

static void test_good_endpoints(void **state)
{
	struct slotlb_endpoint_key key, want;
	char buf[SLOTLB_ENDPOINT_STRLEN];
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(good_endpoints); i++) {
		const struct good_case *c = &good_endpoints[i];

		memset(&want, 0, sizeof(want));
		expect_addr(c->addr, want.addr, &want.family);
		want.port = htons(c->port);
		want.proto = c->proto;
		memset(&key, POISON, sizeof(key));
		why = NULL;
		if (slotlb_parse_endpoint(c->in, &key, &why))
			fail_msg("'%s' rejected: %s", c->in, why);
		/* Whole struct, so padding and unused words are checked. */
		if (memcmp(&key, &want, sizeof(key)))
			fail_msg("'%s' parsed to the wrong bytes", c->in);
		assert_int_equal(slotlb_format_endpoint(&key, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, c->canonical);
		/* Canonical forms survive parse -> format unchanged. */
		assert_int_equal(
			slotlb_parse_endpoint(c->canonical, &key, &why), 0);
		assert_int_equal(slotlb_format_endpoint(&key, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, c->canonical);
	}
}

static void test_good_backends(void **state)
{
	struct slotlb_backend be, want;
	char buf[SLOTLB_ENDPOINT_STRLEN];
	const char *why;
	uint32_t weight;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(good_backends); i++) {
		const struct good_case *c = &good_backends[i];

		memset(&want, 0, sizeof(want));
		expect_addr(c->addr, want.addr, &want.family);
		want.port = htons(c->port);
		memset(&be, POISON, sizeof(be));
		weight = 0;
		why = NULL;
		if (slotlb_parse_backend(c->in, &be, &weight, &why))
			fail_msg("'%s' rejected: %s", c->in, why);
		if (memcmp(&be, &want, sizeof(be)))
			fail_msg("'%s' parsed to the wrong bytes", c->in);
		assert_int_equal(be.pad, 0);
		assert_int_equal(weight, c->weight);
		assert_int_equal(slotlb_format_backend(&be, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, c->canonical);
		assert_int_equal(
			slotlb_parse_backend(c->canonical, &be, &weight, &why),
			0);
		assert_int_equal(slotlb_format_backend(&be, buf, sizeof(buf)),
				 0);
		assert_string_equal(buf, c->canonical);
	}
}

static void check_bad_endpoint(const struct bad_case *c)
{
	struct slotlb_endpoint_key key;
	const char *why = NULL;
	size_t j;

	memset(&key, POISON, sizeof(key));
	if (slotlb_parse_endpoint(c->in, &key, &why) != -EINVAL)
		fail_msg("endpoint '%s' accepted", c->in);
	if (!why || strcmp(why, c->why))
		fail_msg("endpoint '%s': got '%s', want '%s'", c->in,
			 why ? why : "(null)", c->why);
	/* A failed parse leaves the caller's struct alone. */
	for (j = 0; j < sizeof(key); j++)
		assert_int_equal(((uint8_t *)&key)[j], POISON);
	/* why is optional. */
	assert_int_equal(slotlb_parse_endpoint(c->in, &key, NULL), -EINVAL);
}

static void check_bad_backend(const struct bad_case *c)
{
	struct slotlb_backend be;
	uint32_t weight = 7;
	const char *why = NULL;
	size_t j;

	memset(&be, POISON, sizeof(be));
	if (slotlb_parse_backend(c->in, &be, &weight, &why) != -EINVAL)
		fail_msg("backend '%s' accepted", c->in);
	if (!why || strcmp(why, c->why))
		fail_msg("backend '%s': got '%s', want '%s'", c->in,
			 why ? why : "(null)", c->why);
	for (j = 0; j < sizeof(be); j++)
		assert_int_equal(((uint8_t *)&be)[j], POISON);
	assert_int_equal(weight, 7);
}

static void test_bad_endpoints(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad_common); i++)
		check_bad_endpoint(&bad_common[i]);
	for (i = 0; i < ARRAY_LEN(bad_endpoints); i++)
		check_bad_endpoint(&bad_endpoints[i]);
}

static void test_bad_backends(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(bad_common); i++)
		check_bad_backend(&bad_common[i]);
	for (i = 0; i < ARRAY_LEN(bad_backends); i++)
		check_bad_backend(&bad_backends[i]);
}

static void test_null_args(void **state)
{
	struct slotlb_endpoint_key key;
	struct slotlb_backend be;
	const char *why;
	uint32_t weight;
	char buf[64];
	__be32 addr[4] = {0};

	(void)state;
	assert_int_equal(slotlb_parse_endpoint(NULL, &key, &why), -EINVAL);
	assert_string_equal(why, "missing string");
	assert_int_equal(slotlb_parse_endpoint("1.2.3.4:80", NULL, &why),
			 -EINVAL);
	assert_int_equal(slotlb_parse_backend(NULL, &be, &weight, &why),
			 -EINVAL);
	assert_int_equal(
		slotlb_parse_backend("1.2.3.4:80", NULL, &weight, &why),
		-EINVAL);
	assert_int_equal(slotlb_parse_backend("1.2.3.4:80", &be, NULL, &why),
			 -EINVAL);
	assert_int_equal(slotlb_format_endpoint(NULL, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(slotlb_format_backend(NULL, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(slotlb_format_addr(NULL, AF_INET, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(slotlb_format_addr(addr, AF_INET, NULL, 1), -EINVAL);
}

static void test_format(void **state)
{
	struct slotlb_endpoint_key key;
	struct slotlb_backend be;
	char buf[SLOTLB_ENDPOINT_STRLEN];
	const char *want = "[fd00::1]:80/udp";
	size_t len = strlen(want);

	(void)state;
	assert_int_equal(slotlb_parse_endpoint(want, &key, NULL), 0);
	/* One byte short of the NUL is too short; exactly enough is fine. */
	assert_int_equal(slotlb_format_endpoint(&key, buf, len), -ENOSPC);
	assert_int_equal(slotlb_format_endpoint(&key, buf, len + 1), 0);
	assert_string_equal(buf, want);
	assert_int_equal(slotlb_format_endpoint(&key, buf, 0), -ENOSPC);
	assert_int_equal(slotlb_format_addr(key.addr, key.family, buf, 7),
			 -ENOSPC);
	assert_int_equal(slotlb_format_addr(key.addr, key.family, buf, 8), 0);
	assert_string_equal(buf, "fd00::1");
	key.proto = IPPROTO_ICMP;
	assert_int_equal(slotlb_format_endpoint(&key, buf, sizeof(buf)),
			 -EINVAL);
	key.proto = IPPROTO_UDP;
	key.family = 0;
	assert_int_equal(slotlb_format_endpoint(&key, buf, sizeof(buf)),
			 -EINVAL);

	assert_int_equal(slotlb_parse_backend("198.18.0.1:80", &be,
					      &(uint32_t){0}, NULL),
			 0);
	assert_int_equal(slotlb_format_addr(be.addr, be.family, buf, 10),
			 -ENOSPC);
	assert_int_equal(slotlb_format_addr(be.addr, be.family, buf, 11), 0);
	assert_string_equal(buf, "198.18.0.1");
	assert_int_equal(slotlb_format_backend(&be, buf, 13), -ENOSPC);
	assert_int_equal(slotlb_format_backend(&be, buf, 14), 0);
	assert_string_equal(buf, "198.18.0.1:80");
	/* The longest endpoint fits the advertised buffer size. */
	assert_int_equal(
		slotlb_parse_endpoint(
			"[ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255]:65535/tcp",
			&key, NULL),
		0);
	assert_int_equal(slotlb_format_endpoint(&key, buf, sizeof(buf)), 0);
}

/* "ADDR:PORT" alone: listen addresses and clients. */
static void test_addr_port(void **state)
{
	static const struct good_case good[] = {
		{"127.0.0.1:9100", "127.0.0.1", 9100, 0, 0, NULL},
		{"0.0.0.0:1", "0.0.0.0", 1, 0, 0, NULL},
		{"[::1]:65535", "::1", 65535, 0, 0, NULL},
		{"[fd00::5]:80", "fd00::5", 80, 0, 0, NULL},
	};
	static const struct bad_case bad[] = {
		{"127.0.0.1:9100/tcp", "unexpected characters after port"},
		{"127.0.0.1:80,weight=2", "unexpected characters after port"},
		{"127.0.0.1", "missing port"},
		{"127.0.0.1:", "missing port"},
		{"127.0.0.1:0", "port out of range 1-65535"},
		{"127.0.0.1:65536", "port out of range 1-65535"},
		{"::1:80", "IPv6 address must be in brackets"},
		{"[::1]", "missing port"},
		{"localhost:80", "bad IPv4/IPv6 address"},
		{":80", "missing address"},
		{" 127.0.0.1:80", "must not contain spaces"},
		{"", "empty string"},
	};
	unsigned char want[16];
	uint8_t family;
	__be32 addr[4];
	__be16 port;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(good); i++) {
		memset(addr, POISON, sizeof(addr));
		memset(want, 0, sizeof(want));
		family = strchr(good[i].addr, ':') ? AF_INET6 : AF_INET;
		assert_int_equal(inet_pton(family, good[i].addr, want), 1);
		why = NULL;
		assert_int_equal(slotlb_parse_addr_port(good[i].in, addr,
							&family, &port, &why),
				 0);
		assert_null(why);
		assert_memory_equal(addr, want, sizeof(want));
		assert_int_equal(ntohs(port), good[i].port);
		assert_int_equal(family, strchr(good[i].addr, ':') ? AF_INET6
								   : AF_INET);
	}
	for (i = 0; i < ARRAY_LEN(bad); i++) {
		memset(addr, POISON, sizeof(addr));
		why = NULL;
		if (slotlb_parse_addr_port(bad[i].in, addr, &family, &port,
					   &why) != -EINVAL)
			fail_msg("'%s' was accepted", bad[i].in);
		if (!why || strcmp(why, bad[i].why))
			fail_msg("'%s': got '%s', want '%s'", bad[i].in,
				 why ? why : "(null)", bad[i].why);
		assert_int_equal(((unsigned char *)addr)[0], POISON);
	}
	assert_int_equal(slotlb_parse_addr_port("1.2.3.4:80", NULL, &family,
						&port, &why),
			 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_endpoints),
		cmocka_unit_test(test_good_backends),
		cmocka_unit_test(test_bad_endpoints),
		cmocka_unit_test(test_bad_backends),
		cmocka_unit_test(test_null_args),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_addr_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
