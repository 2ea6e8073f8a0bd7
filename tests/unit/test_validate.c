/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the input rules the CLI and slotlbd share
 * (user/lib/validate.c): a table of good and bad inputs per rule, each
 * bound at its edges, and the exact sentence a bad input gets, since the
 * CLI prints it and the API answers it verbatim.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "validate.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* One input of a string rule: NULL why = accepted. */
struct str_case {
	const char *desc;
	const char *in;
	const char *why;
};

/* One input of a number rule. */
struct num_case {
	const char *desc;
	double in;
	const char *why;
};

static char long_name[VALIDATE_NAME_LEN + 1], max_name[VALIDATE_NAME_LEN];
static char long_label[SLOTLB_VERSION_LEN + 1], max_label[SLOTLB_VERSION_LEN];
static char long_path[WARMUP_PATH_LEN + 1], max_path[WARMUP_PATH_LEN];
static char long_host[WARMUP_HOST_LEN + 1], max_host[WARMUP_HOST_LEN];
static char long_label63[65], max_label63[64];
static char long_setting_name[SETTING_NAME_LEN + 1];
static char max_setting_name[SETTING_NAME_LEN];
static char long_value[SETTING_VALUE_MAX + 2], max_value[SETTING_VALUE_MAX + 1];

static void fill(char *s, size_t len, char first, char c)
{
	memset(s, c, len - 1);
	s[0] = first;
	s[len - 1] = 0;
}

static int setup(void **state)
{
	(void)state;
	fill(long_name, sizeof(long_name), 'a', 'b');
	fill(max_name, sizeof(max_name), 'a', 'b');
	fill(long_label, sizeof(long_label), 'v', '1');
	fill(max_label, sizeof(max_label), 'v', '1');
	fill(long_path, sizeof(long_path), '/', 'p');
	fill(max_path, sizeof(max_path), '/', 'p');
	fill(long_label63, sizeof(long_label63), 'a', 'b');
	fill(max_label63, sizeof(max_label63), 'a', 'b');
	/* 253 = 63 + '.' + 63 + '.' + 63 + '.' + 61; one more is 254 */
	fill(max_host, sizeof(max_host), 'a', 'b');
	max_host[63] = max_host[127] = max_host[191] = '.';
	fill(long_host, sizeof(long_host), 'a', 'b');
	long_host[63] = long_host[127] = long_host[191] = '.';
	fill(long_setting_name, sizeof(long_setting_name), 'A', '_');
	fill(max_setting_name, sizeof(max_setting_name), 'A', '_');
	fill(long_value, sizeof(long_value), 'v', 'x');
	fill(max_value, sizeof(max_value), 'v', 'x');
	return 0;
}

/* why by address: C does not order the evaluation of arguments, so the
 * rule's call must be done before *why is read. */
static void check_str(const struct str_case *c, int rc, const char *const *whyp)
{
	const char *why = *whyp;

	printf("  %-40s %-12.12s -> %s\n", c->desc, c->in ? c->in : "(null)",
	       rc ? why : "ok");
	if (!c->why) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	assert_non_null(why);
	assert_string_equal(why, c->why);
}

static void check_num(const struct num_case *c, int rc, const char *const *whyp)
{
	const char *why = *whyp;

	printf("  %-40s %-12g -> %s\n", c->desc, c->in, rc ? why : "ok");
	if (!c->why) {
		assert_int_equal(rc, 0);
		return;
	}
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(why, c->why);
}

#define NAME_WHY \
	"name must match [a-z0-9][a-z0-9._-]* and be at most 63 characters"

static void test_name(void **state)
{
	const struct str_case cases[] = {
		{"lower case", "web", NULL},
		{"digits, dot, dash, underscore", "w3b-2.x_y", NULL},
		{"63 characters", max_name, NULL},
		{"one digit", "7", NULL},
		/* the CLI used to pass it and the daemon refused it */
		{"upper case", "Web", NAME_WHY},
		{"all upper case", "WEB", NAME_WHY},
		{"empty", "", NAME_WHY},
		{"64 characters", long_name, NAME_WHY},
		{"leading dash", "-web", NAME_WHY},
		{"leading dot", ".web", NAME_WHY},
		{"leading underscore", "_web", NAME_WHY},
		{"space", "my app", NAME_WHY},
		{"slash (a path segment)", "a/b", NAME_WHY},
		{"percent (URL escape)", "a%2f", NAME_WHY},
		{"non-ASCII",
		 "w\xc3\xa9"
		 "b",
		 NAME_WHY},
		{"missing", NULL, NAME_WHY},
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		check_str(&cases[i], validate_name(cases[i].in, &why), &why);
	}
	/* why is optional */
	assert_int_equal(validate_name("Web", NULL), -EINVAL);
	/* the error names the name, or what it is when there is none */
	assert_string_equal(validate_name_object("Web", "app"), "Web");
	assert_string_equal(validate_name_object("", "app"), "app");
	assert_string_equal(validate_name_object(NULL, "slot"), "slot");
}

static void test_version(void **state)
{
	const struct str_case cases[] = {
		{"empty: the default label", "", NULL},
		{"plain", "v1", NULL},
		{"every allowed class", "Release-1.2.3+build:7_x", NULL},
		{"31 characters", max_label, NULL},
		{"32 characters", long_label,
		 "version must be at most 31 characters"},
		{"space", "v 1",
		 "version may hold letters, digits and ._+:- only"},
		{"slash", "v/1",
		 "version may hold letters, digits and ._+:- only"},
		{"newline", "v1\n",
		 "version may hold letters, digits and ._+:- only"},
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		check_str(&cases[i], validate_version(cases[i].in, &why), &why);
	}
}

#define EP_UNSPEC "an unspecified address (0.0.0.0/8, ::) cannot be an endpoint"
#define EP_MCAST "a multicast address cannot be an endpoint"
#define EP_BCAST "the broadcast address cannot be an endpoint"
#define EP_LOOP \
	"a loopback address (127.0.0.0/8, ::1) cannot be an endpoint: its packets never reach an interface"
#define EP_LINK \
	"a link-local address (169.254.0.0/16, fe80::/10) cannot be an endpoint: it has no zone here"
#define BE_UNSPEC "an unspecified address (0.0.0.0/8, ::) cannot be a backend"
#define BE_MCAST "a multicast address cannot be a backend"
#define BE_BCAST "the broadcast address cannot be a backend"
#define BE_LOOP \
	"a loopback address (127.0.0.0/8, ::1) cannot be a backend: the host itself is not behind the data path"
#define BE_LINK \
	"a link-local address (169.254.0.0/16, fe80::/10) cannot be a backend: a route to it needs a zone"

static void test_endpoint_and_backend(void **state)
{
	const struct str_case endpoints[] = {
		{"IPv4, default tcp", "198.18.0.1:80", NULL},
		{"IPv6 udp", "[fd00::1]:53/udp", NULL},
		{"3 groups", "1.2.3:80", "bad IPv4/IPv6 address"},
		{"port 0", "198.18.0.1:0", "port out of range 1-65535"},
		{"sctp", "198.18.0.1:80/sctp", "unknown protocol (tcp or udp)"},
		/* addresses no client can send a connection to */
		{"IPv4 unspecified", "0.0.0.0:80", EP_UNSPEC},
		{"IPv4 this network", "0.1.2.3:80", EP_UNSPEC},
		{"IPv6 unspecified", "[::]:80", EP_UNSPEC},
		{"IPv4 multicast", "224.0.0.1:80", EP_MCAST},
		{"IPv4 multicast, top", "239.255.255.255:80/udp", EP_MCAST},
		{"IPv6 multicast", "[ff02::1]:80", EP_MCAST},
		{"broadcast", "255.255.255.255:80/udp", EP_BCAST},
		{"IPv4 loopback", "127.0.0.1:80", EP_LOOP},
		{"IPv4 loopback, any of /8", "127.9.8.7:80", EP_LOOP},
		{"IPv6 loopback", "[::1]:80", EP_LOOP},
		{"IPv4 link-local", "169.254.1.1:80", EP_LINK},
		{"IPv6 link-local", "[fe80::1]:80", EP_LINK},
		/* their neighbours stay allowed */
		{"just below multicast", "223.255.255.255:80", NULL},
		{"just above loopback", "128.0.0.1:80", NULL},
		{"just below link-local", "169.253.255.255:80", NULL},
		{"IPv6 ::2", "[::2]:80", NULL},
		{"IPv6 fec0::", "[fec0::1]:80", NULL},
	};
	const struct str_case backends[] = {
		{"default weight", "198.19.1.2:8080", NULL},
		{"weight 65535", "198.19.1.2:8080,weight=65535", NULL},
		{"IPv6", "[fd00::2]:8080,weight=1", NULL},
		{"weight 0", "198.19.1.2:8080,weight=0",
		 "weight out of range 1-65535"},
		{"weight 65536", "198.19.1.2:8080,weight=65536",
		 "weight out of range 1-65535"},
		{"port 65536", "198.19.1.2:65536", "port out of range 1-65535"},
		{"IPv4 unspecified", "0.0.0.0:8080", BE_UNSPEC},
		{"IPv6 unspecified", "[::]:8080,weight=2", BE_UNSPEC},
		{"IPv4 multicast", "224.0.0.1:8080", BE_MCAST},
		{"IPv6 multicast", "[ff02::1]:8080", BE_MCAST},
		{"broadcast", "255.255.255.255:8080", BE_BCAST},
		{"IPv4 loopback", "127.0.0.1:8080", BE_LOOP},
		{"IPv6 loopback", "[::1]:8080", BE_LOOP},
		{"IPv4 link-local", "169.254.169.254:80", BE_LINK},
		{"IPv6 link-local", "[fe80::2]:8080", BE_LINK},
		{"private", "10.0.0.1:8080", NULL},
		{"IPv4-mapped loopback", "[::ffff:127.0.0.1]:8080", BE_LOOP},
	};
	const struct str_case named[] = {
		/* one backend named (drain, undrain, weight): the same rule */
		{"plain", "198.19.1.2:8080", NULL},
		{"loopback", "127.0.0.1:8080", BE_LOOP},
		{"multicast", "[ff02::1]:8080", BE_MCAST},
	};
	struct slotlb_endpoint_key key = {0};
	struct slotlb_backend be = {0};
	uint32_t weight = 0;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(endpoints); i++) {
		why = NULL;
		check_str(&endpoints[i],
			  validate_endpoint(endpoints[i].in, NULL, &why), &why);
	}
	for (i = 0; i < ARRAY_SIZE(backends); i++) {
		why = NULL;
		check_str(&backends[i],
			  validate_backend(backends[i].in, NULL, NULL, &why),
			  &why);
	}
	for (i = 0; i < ARRAY_SIZE(named); i++) {
		why = NULL;
		check_str(&named[i],
			  validate_backend_address(named[i].in, NULL, &why),
			  &why);
	}
	/* the parsed value comes back when asked for */
	assert_int_equal(validate_endpoint("[fd00::1]:53/udp", &key, NULL), 0);
	assert_int_equal(key.proto, 17);
	assert_int_equal(validate_backend("198.19.1.2:8080,weight=7", &be,
					  &weight, NULL),
			 0);
	assert_int_equal(weight, 7);
}

#define MODE_WHY "mode must be \"http\", \"https\" or \"tcp\""
#define HOST_WHY \
	"host must be a DNS name: letters, digits, '-' and '.', labels of 1..63"

static void test_warmup_fields(void **state)
{
	const struct str_case paths[] = {
		{"root", "/", NULL},
		{"query", "/healthz?full=1", NULL},
		{"255 characters", max_path, NULL},
		{"256 characters", long_path,
		 "path must be at most 255 characters"},
		{"relative", "health", "path must start with '/'"},
		{"empty", "", "path must start with '/'"},
		{"space", "/a b",
		 "path must be printable, without spaces or '#'"},
		{"fragment", "/a#b",
		 "path must be printable, without spaces or '#'"},
		{"newline", "/a\n",
		 "path must be printable, without spaces or '#'"},
	};
	const struct str_case modes[] = {
		{"http", "http", NULL},
		{"https", "https", NULL},
		{"tcp", "tcp", NULL},
		{"udp", "udp", MODE_WHY},
		{"upper case", "HTTP", MODE_WHY},
		{"missing (not a string)", NULL, MODE_WHY},
	};
	const struct str_case hosts[] = {
		{"none", "", NULL},
		{"a name", "www.example.com", NULL},
		{"dashes inside", "a-b.c-d", NULL},
		{"63-character label", max_label63, NULL},
		{"64-character label", long_label63, HOST_WHY},
		{"253 characters", max_host, NULL},
		{"254 characters", long_host,
		 "host must be at most 253 characters"},
		{"leading dash", "-a.b", HOST_WHY},
		{"trailing dash", "a-.b", HOST_WHY},
		{"empty label", "a..b", HOST_WHY},
		{"trailing dot", "a.b.", HOST_WHY},
		{"port", "a.b:80", HOST_WHY},
		{"space", "a b", HOST_WHY},
		{"newline (a header injection)", "a\r\nX: y", HOST_WHY},
	};
	const struct num_case timeouts[] = {
		{"1 ms", 0.001, NULL},
		{"an hour", 3600, NULL},
		{"0", 0, "timeout must be 0.001..3600 seconds"},
		{"under 1 ms", 0.0009, "timeout must be 0.001..3600 seconds"},
		{"over an hour", 3600.001,
		 "timeout must be 0.001..3600 seconds"},
		{"negative", -1, "timeout must be 0.001..3600 seconds"},
		{"NaN", NAN, "timeout must be 0.001..3600 seconds"},
	};
	const struct num_case retries[] = {
		{"none", 0, NULL},
		{"100", 100, NULL},
		{"101", 101, "retries must be 0..100"},
		{"negative", -1, "retries must be 0..100"},
		{"a fraction", 1.5, "retries must be a whole number"},
	};
	const struct num_case deadlines[] = {
		{"0: none", 0, NULL},
		{"a day", 86400, NULL},
		{"over a day", 86400.5,
		 "deadline must be 0..86400 seconds (0: none)"},
		{"negative", -0.5,
		 "deadline must be 0..86400 seconds (0: none)"},
	};
	const struct num_case delays[] = {
		{"0", 0, NULL},
		{"10 minutes", 600000, NULL},
		{"over 10 minutes", 600001, "retry delay must be 0..600000 ms"},
		{"negative", -1, "retry delay must be 0..600000 ms"},
		{"a fraction", 0.5, "retry delay must be a whole number of ms"},
	};
	enum warmup_mode mode = WARMUP_HTTP;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(paths); i++)
		check_str(&paths[i], validate_warmup_path(paths[i].in, &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(modes); i++)
		check_str(&modes[i],
			  validate_warmup_mode(modes[i].in, &mode, &why), &why);
	assert_int_equal(validate_warmup_mode("tcp", &mode, NULL), 0);
	assert_int_equal(mode, WARMUP_TCP);
	assert_int_equal(validate_warmup_mode("https", &mode, NULL), 0);
	assert_int_equal(mode, WARMUP_HTTPS);
	assert_string_equal(warmup_mode_name(WARMUP_HTTPS), "https");
	assert_string_equal(warmup_mode_name(WARMUP_TCP), "tcp");
	assert_string_equal(warmup_mode_name(WARMUP_HTTP), "http");
	for (i = 0; i < ARRAY_SIZE(hosts); i++)
		check_str(&hosts[i], validate_warmup_host(hosts[i].in, &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(timeouts); i++)
		check_num(&timeouts[i],
			  validate_warmup_timeout_s(timeouts[i].in, &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(retries); i++)
		check_num(&retries[i],
			  validate_warmup_retries(retries[i].in, &why), &why);
	for (i = 0; i < ARRAY_SIZE(deadlines); i++)
		check_num(&deadlines[i],
			  validate_warmup_deadline_s(deadlines[i].in, &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(delays); i++)
		check_num(&delays[i],
			  validate_warmup_retry_delay_ms(delays[i].in, &why),
			  &why);
}

static void test_warmup_statuses(void **state)
{
	const struct str_case cases[] = {
		{"empty", "", "empty status list"},
		{"letters", "abc",
		 "status list must be numbers separated by ','"},
		{"trailing comma", "200,", "status list ends with ','"},
		{"leading comma", ",200",
		 "status list must be numbers separated by ','"},
		{"double comma", "200,,202",
		 "status list must be numbers separated by ','"},
		{"99", "99", "status must be 100..599"},
		{"600", "600", "status must be 100..599"},
		{"space", "200 202",
		 "status list must be numbers separated by ','"},
		{"negative", "-200",
		 "status list must be numbers separated by ','"},
		{"suffix", "200x",
		 "status list must be numbers separated by ','"},
		{"overflow", "2000000000000000000000",
		 "status must be 100..599"},
		{"17 statuses",
		 "200,201,202,203,204,205,206,207,208,209,210,211,212,213,214,"
		 "215,216",
		 "too many statuses (at most 16)"},
	};
	struct warmup_policy p;
	const char *why;
	size_t i;

	(void)state;
	warmup_policy_default(&p);
	assert_int_equal(validate_warmup_statuses("200,202", &p, &why), 0);
	assert_int_equal(p.n_statuses, 2);
	assert_int_equal(p.statuses[0], 200);
	assert_int_equal(p.statuses[1], 202);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		why = NULL;
		check_str(&cases[i],
			  validate_warmup_statuses(cases[i].in, &p, &why),
			  &why);
		/* a refused list leaves the previous one in place */
		assert_int_equal(p.n_statuses, 2);
	}
	assert_int_equal(validate_warmup_statuses("100,599", &p, NULL), 0);
	assert_int_equal(p.statuses[1], 599);
	assert_int_equal(validate_warmup_status(100, NULL), 0);
	assert_int_equal(validate_warmup_status(600, NULL), -EINVAL);
}

/* One field of a default policy changed, and what the whole-policy rule
 * says about it. */
struct policy_case {
	const char *desc;
	void (*change)(struct warmup_policy *p);
	const char *why;
};

static void p_timeout_1ms(struct warmup_policy *p)
{
	p->timeout_ms = 1;
}
static void p_timeout_0(struct warmup_policy *p)
{
	p->timeout_ms = 0;
}
static void p_timeout_max(struct warmup_policy *p)
{
	p->timeout_ms = WARMUP_MAX_TIMEOUT_MS;
}
static void p_timeout_over(struct warmup_policy *p)
{
	p->timeout_ms = WARMUP_MAX_TIMEOUT_MS + 1;
}
static void p_retries_over(struct warmup_policy *p)
{
	p->retries = WARMUP_MAX_RETRIES + 1;
}
static void p_deadline_max(struct warmup_policy *p)
{
	p->deadline_ms = WARMUP_MAX_DEADLINE_MS;
}
static void p_deadline_over(struct warmup_policy *p)
{
	p->deadline_ms = WARMUP_MAX_DEADLINE_MS + 1;
}
static void p_delay_over(struct warmup_policy *p)
{
	p->retry_delay_ms = WARMUP_MAX_RETRY_DELAY_MS + 1;
}
static void p_mode(struct warmup_policy *p)
{
	p->mode = 7;
}
static void p_path(struct warmup_policy *p)
{
	strcpy(p->path, "health");
}
static void p_status(struct warmup_policy *p)
{
	p->n_statuses = 1;
	p->statuses[0] = 700;
}
static void p_statuses(struct warmup_policy *p)
{
	p->n_statuses = WARMUP_MAX_STATUSES + 1;
}
static void p_host(struct warmup_policy *p)
{
	strcpy(p->host, "a b");
}
static void p_none(struct warmup_policy *p)
{
	(void)p;
}

static void test_warmup_policy(void **state)
{
	const struct policy_case cases[] = {
		{"Azure's defaults", p_none, NULL},
		{"timeout 1 ms", p_timeout_1ms, NULL},
		{"timeout an hour", p_timeout_max, NULL},
		{"deadline a day", p_deadline_max, NULL},
		{"timeout 0", p_timeout_0,
		 "timeout must be 0.001..3600 seconds"},
		{"timeout over an hour", p_timeout_over,
		 "timeout must be 0.001..3600 seconds"},
		{"101 retries", p_retries_over, "retries must be 0..100"},
		{"deadline over a day", p_deadline_over,
		 "deadline must be 0..86400 seconds (0: none)"},
		{"retry delay over 10 min", p_delay_over,
		 "retry delay must be 0..600000 ms"},
		{"unknown mode", p_mode, MODE_WHY},
		{"host with a space", p_host, HOST_WHY},
		{"relative path", p_path, "path must start with '/'"},
		{"status 700", p_status, "status must be 100..599"},
		{"17 statuses", p_statuses, "too many statuses (at most 16)"},
	};
	struct warmup_policy p;
	const char *why;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		warmup_policy_default(&p);
		cases[i].change(&p);
		why = NULL;
		rc = validate_warmup_policy(&p, &why);
		printf("  %-40s -> %s\n", cases[i].desc, rc ? why : "ok");
		if (!cases[i].why) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, -EINVAL);
		assert_string_equal(why, cases[i].why);
	}
	/* Azure's defaults, as docs/api.md promises */
	warmup_policy_default(&p);
	assert_int_equal(p.mode, WARMUP_HTTP);
	assert_string_equal(p.path, "/");
	assert_int_equal(p.n_statuses, 0);
	assert_int_equal(p.timeout_ms, 90000);
	assert_int_equal(p.retries, 5);
	assert_int_equal(p.retry_delay_ms, 1000);
	assert_int_equal(p.deadline_ms, 0);
}

static void test_history_limit(void **state)
{
	const struct str_case cases[] = {
		{"1", "1", NULL},
		{"100000", "100000", NULL},
		{"0", "0", "limit must be a number in 1..100000"},
		{"100001", "100001", "limit must be a number in 1..100000"},
		{"empty", "", "limit must be a number in 1..100000"},
		{"letters", "ten", "limit must be a number in 1..100000"},
		{"suffix", "5x", "limit must be a number in 1..100000"},
		{"negative", "-1", "limit must be a number in 1..100000"},
		{"overflow", "99999999999999999999999",
		 "limit must be a number in 1..100000"},
	};
	size_t i, limit = 0;
	const char *why;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_str(&cases[i],
			  validate_history_limit(cases[i].in, &limit, &why),
			  &why);
	assert_int_equal(validate_history_limit("42", &limit, NULL), 0);
	assert_int_equal(limit, 42);
	assert_int_equal(HISTORY_DEFAULT_LIMIT, 100);
}

/* The traffic rules: the parser's sentences (test_traffic_parse covers
 * them at length) plus what only the controller knows: a target must be
 * a slot name and not production, whose clients the shares divide. */
static void test_traffic(void **state)
{
	const struct str_case dist[] = {
		{"two targets", "staging=10,qa=2.5", NULL},
		{"total 100", "staging=60,qa=40", NULL},
		{"total over 100", "staging=60,qa=40.01",
		 "total 100.01% is over 100%"},
		{"negative", "staging=-5",
		 "staging=-5: share must not be negative"},
		{"non-numeric", "staging=ten",
		 "staging=ten: share must be a number of percent, e.g. 10 or 2.5"},
		{"production itself", "production=10",
		 "production: the shares divide production's own clients, it keeps what the other slots do not take"},
		{"bad slot name", "Staging=10",
		 "Staging: name must match [a-z0-9][a-z0-9._-]* and be at most 63 characters"},
		{"empty", "",
		 "empty distribution (SLOT=PERCENT[,SLOT=PERCENT...])"},
	};
	const struct str_case share[] = {
		{"0", "0", NULL},
		{"basis points", "2.5", NULL},
		{"over 100", "100.5", "share over 100%"},
		{"percent sign", "5%",
		 "share is a plain number of percent, without '%'"},
	};
	const char *const bad_len[] = {"10.0.0.1/33"};
	const char *const host_bits[] = {"10.0.0.0/8", "10.0.0.1/8"};
	const char *const good[] = {"198.51.100.0/24", "2001:db8::/48"};
	const char *too_many[SLOTLB_MAX_AUDIENCE + 1];
	struct slotlb_prefix out[SLOTLB_MAX_AUDIENCE + 1];
	struct slotlb_distribution d;
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	const char *w = why;
	uint16_t bp;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(dist); i++) {
		why[0] = 0;
		check_str(
			&dist[i],
			validate_distribution(dist[i].in, &d, why, sizeof(why)),
			&w);
	}
	assert_int_equal(validate_distribution("staging=10,qa=2.5", &d, why,
					       sizeof(why)),
			 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.target[1].share, 250);
	assert_int_equal(d.total, 1250);
	for (i = 0; i < ARRAY_SIZE(share); i++) {
		why[0] = 0;
		check_str(&share[i],
			  validate_share(share[i].in, &bp, why, sizeof(why)),
			  &w);
	}
	assert_int_equal(validate_opt_ins(good, 2, out, why, sizeof(why)), 0);
	assert_int_equal(out[1].family, AF_INET6);
	assert_int_equal(out[1].len, 48);
	assert_int_equal(validate_opt_ins(bad_len, 1, out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "10.0.0.1/33: length 33 is over 32 for IPv4");
	assert_int_equal(validate_opt_ins(host_bits, 2, out, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(
		why,
		"10.0.0.1/8: host bits set: 0.0.0.1 lies outside the /8 (the prefix is 10.0.0.0/8)");
	for (i = 0; i < ARRAY_SIZE(too_many); i++)
		too_many[i] = "10.0.0.0/8";
	assert_int_equal(validate_opt_ins(too_many, ARRAY_SIZE(too_many), out,
					  why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "17 prefixes: at most 16");
}

static void test_client(void **state)
{
	const struct str_case cases[] = {
		{"IPv4", "198.51.100.7", NULL},
		{"IPv6", "2001:db8::7", NULL},
		{"a prefix", "198.51.100.0/24", "bad IPv4/IPv6 address"},
		{"brackets", "[2001:db8::7]", "bad IPv4/IPv6 address"},
		{"empty", "", "bad IPv4/IPv6 address"},
		{"3 groups", "1.2.3", "bad IPv4/IPv6 address"},
	};
	__be32 addr[4];
	uint8_t family;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		check_str(&cases[i],
			  validate_client(cases[i].in, addr, &family, &why),
			  &why);
	assert_int_equal(validate_client("198.51.100.7", addr, &family, NULL),
			 0);
	assert_int_equal(family, AF_INET);
	assert_int_equal(addr[0], htonl(0xc6336407));
	assert_int_equal(addr[1] | addr[2] | addr[3], 0);
}

static void test_trigger(void **state)
{
	char s[2 * TRIGGER_MAX_LEN];

	(void)state;
	snprintf(s, sizeof(s), "cli\r\ngithub-actions:\tdeploy");
	validate_trigger_clean(s);
	assert_string_equal(s, "cli  github-actions: deploy");
	memset(s, 'x', sizeof(s) - 1);
	s[sizeof(s) - 1] = 0;
	validate_trigger_clean(s);
	assert_int_equal(strlen(s), TRIGGER_MAX_LEN);
	s[0] = 0;
	validate_trigger_clean(s);
	assert_string_equal(s, "");
}

#define SNAME_WHY \
	"setting name must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters)"

static void test_settings(void **state)
{
	const struct str_case names[] = {
		{"upper case", "DB_URL", NULL},
		{"leading underscore", "_X", NULL},
		{"lower case and digits", "feature2", NULL},
		{"128 characters", max_setting_name, NULL},
		{"129 characters", long_setting_name, SNAME_WHY},
		{"empty", "", SNAME_WHY},
		{"leading digit", "1X", SNAME_WHY},
		{"dash", "DB-URL", SNAME_WHY},
		{"dot", "a.b", SNAME_WHY},
		{"equals", "A=B", SNAME_WHY},
		{"space", "A B", SNAME_WHY},
		{"missing", NULL, SNAME_WHY},
	};
	const struct str_case values[] = {
		{"empty", "", NULL},
		{"URL", "postgres://db/prod?x=1", NULL},
		{"newline (a PEM)", "a\nb", NULL},
		{"UTF-8", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", NULL},
		{"4096 bytes", max_value, NULL},
		{"4097 bytes", long_value,
		 "setting value must be at most 4096 bytes"},
		{"Latin-1 byte", "caf\xe9", "setting value must be UTF-8 text"},
		{"overlong '/'", "\xc0\xaf",
		 "setting value must be UTF-8 text"},
		{"surrogate", "\xed\xa0\x80",
		 "setting value must be UTF-8 text"},
		{"truncated sequence", "\xe2\x82",
		 "setting value must be UTF-8 text"},
		{"over U+10FFFF", "\xf4\x90\x80\x80",
		 "setting value must be UTF-8 text"},
	};
	const struct str_case pairs[] = {
		{"plain", "DB_URL=prod", NULL},
		{"empty value", "X=", NULL},
		{"'=' in the value", "Q=a=b", NULL},
		{"no '='", "DB_URL", "setting must be NAME=VALUE"},
		{"empty name", "=x", SNAME_WHY},
		{"bad name", "DB-URL=x", SNAME_WHY},
		{"bad value", "X=\xff", "setting value must be UTF-8 text"},
	};
	const char *why, *value = NULL;
	size_t i, name_len = 0;
	char pair[SETTING_NAME_LEN + 8];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		check_str(&names[i], validate_setting_name(names[i].in, &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(values); i++)
		check_str(&values[i],
			  validate_setting_value(values[i].in,
						 strlen(values[i].in), &why),
			  &why);
	for (i = 0; i < ARRAY_SIZE(pairs); i++)
		check_str(&pairs[i],
			  validate_setting_pair(pairs[i].in, &name_len, &value,
						&why),
			  &why);
	assert_int_equal(
		validate_setting_pair("Q=a=b", &name_len, &value, NULL), 0);
	assert_int_equal(name_len, 1);
	assert_string_equal(value, "a=b");
	/* a JSON string may carry a NUL: refused, not cut short */
	assert_int_equal(validate_setting_value("a\0b", 3, &why), -EINVAL);
	assert_string_equal(why, "setting value must not hold a NUL byte");
	/* a name too long for any buffer gets the name's sentence */
	snprintf(pair, sizeof(pair), "%s=1", long_setting_name);
	assert_int_equal(validate_setting_pair(pair, &name_len, &value, &why),
			 -EINVAL);
	assert_string_equal(why, SNAME_WHY);
}

static void test_hook(void **state)
{
	char dir[] = "/tmp/test_validate.XXXXXX", path[64],
	     longp[HOOK_PATH_LEN + 2];
	const char *why;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/hook", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("#!/bin/sh\n", f);
	fclose(f);
	assert_int_equal(validate_hook_exec(path, &why), -EINVAL);
	assert_string_equal(why, "hook must be executable");
	assert_int_equal(chmod(path, 0700), 0);
	assert_int_equal(validate_hook_exec(path, &why), 0);
	assert_int_equal(validate_hook_exec(dir, &why), -EINVAL);
	assert_string_equal(why, "hook must be a regular file");
	assert_int_equal(validate_hook_exec("hook", &why), -EINVAL);
	assert_string_equal(why, "hook must be an absolute path");
	assert_int_equal(validate_hook_exec("/nonexistent/hook", &why),
			 -EINVAL);
	assert_string_equal(why, "hook: no such file");
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	assert_int_equal(validate_hook_exec(longp, &why), -EINVAL);
	assert_string_equal(why,
			    "hook must be a path of at most 4095 characters");
	unlink(path);
	rmdir(dir);
	assert_int_equal(validate_hook_timeout_s(0.001, NULL), 0);
	assert_int_equal(validate_hook_timeout_s(3600, NULL), 0);
	assert_int_equal(validate_hook_timeout_s(0, &why), -EINVAL);
	assert_string_equal(why, "hook timeout must be 0.001..3600 seconds");
	assert_int_equal(validate_hook_timeout_s(3601, NULL), -EINVAL);
	assert_int_equal(validate_auto_swap_delay_s(0, NULL), 0);
	assert_int_equal(validate_auto_swap_delay_s(86400, NULL), 0);
	assert_int_equal(validate_auto_swap_delay_s(86401, &why), -EINVAL);
	assert_string_equal(why, "delay must be 0..86400 seconds");
	assert_int_equal(validate_auto_swap_delay_s(-1, NULL), -EINVAL);
}

#define DURATION_WHY                                                          \
	"duration must be a whole number of seconds, or of minutes or hours " \
	"with m or h (90, 90s, 15m, 2h)"

/* Health policy: each field's rule, and the whole policy's (interval at
 * least the timeout). */
static void test_health(void **state)
{
	static const struct {
		const char *desc;
		double interval_s, unhealthy, healthy;
		uint32_t timeout_ms;
		const char *why; /* NULL: accepted */
	} rows[] = {
		{"defaults", 5, 3, 2, 2000, NULL},
		{"fastest", 0.1, 1, 1, 100, NULL},
		{"slowest", 3600, 100, 100, 2000, NULL},
		{"interval 0", 0, 3, 2, 2000,
		 "interval must be 0.1..3600 seconds"},
		{"interval negative", -1, 3, 2, 2000,
		 "interval must be 0.1..3600 seconds"},
		{"interval over an hour", 3601, 3, 2, 2000,
		 "interval must be 0.1..3600 seconds"},
		{"interval below the timeout", 1, 3, 2, 2000,
		 "interval must not be shorter than the timeout"},
		{"unhealthy-after 0", 5, 0, 2, 2000,
		 "threshold must be a whole number 1..100"},
		{"healthy-after 0", 5, 3, 0, 2000,
		 "threshold must be a whole number 1..100"},
		{"threshold 101", 5, 101, 2, 2000,
		 "threshold must be a whole number 1..100"},
		{"threshold 1.5", 5, 1.5, 2, 2000,
		 "threshold must be a whole number 1..100"},
	};
	struct health_policy p;
	const char *why;
	uint8_t tcp = 9;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		why = NULL;
		rc = validate_health_interval_s(rows[i].interval_s, &why);
		if (!rc)
			rc = validate_health_threshold(rows[i].unhealthy, &why);
		if (!rc)
			rc = validate_health_threshold(rows[i].healthy, &why);
		if (!rc) {
			health_policy_default(&p);
			p.interval_ms = (uint32_t)(rows[i].interval_s * 1000);
			p.unhealthy_after = (uint32_t)rows[i].unhealthy;
			p.healthy_after = (uint32_t)rows[i].healthy;
			p.probe.timeout_ms = rows[i].timeout_ms;
			rc = validate_health_policy(&p, &why);
		}
		if (rows[i].why) {
			if (rc != -EINVAL || !why || strcmp(why, rows[i].why))
				fail_msg("%s: got %d \"%s\", want \"%s\"",
					 rows[i].desc, rc, why ? why : "",
					 rows[i].why);
		} else if (rc) {
			fail_msg("%s: refused: %s", rows[i].desc, why);
		}
	}
	health_policy_default(&p);
	assert_int_equal(validate_health_policy(&p, NULL), 0);
	assert_int_equal(p.tcp, SLOTLB_HEALTH_TCP_RESET);
	assert_int_equal(validate_health_tcp("leave", &tcp, NULL), 0);
	assert_int_equal(tcp, SLOTLB_HEALTH_TCP_LEAVE);
	assert_int_equal(validate_health_tcp("reset", &tcp, NULL), 0);
	assert_int_equal(tcp, SLOTLB_HEALTH_TCP_RESET);
	assert_int_equal(validate_health_tcp("drop", &tcp, &why), -EINVAL);
	assert_string_equal(why, "pinned TCP flows: must be reset or leave");
	assert_int_equal(validate_health_tcp(NULL, &tcp, NULL), -EINVAL);
	p.tcp = 7;
	assert_int_equal(validate_health_policy(&p, NULL), -EINVAL);
}

/* Verification: the window, the ratios, the failure action, the HTTP
 * check's PATH=STATUSES. */
static void test_verify(void **state)
{
	struct verify_policy p;
	enum verify_on_failure f = VERIFY_ALERT;
	const char *why = NULL;

	(void)state;
	verify_policy_default(&p);
	assert_true(p.max_reset_ratio < 0);
	assert_int_equal(p.on_failure, VERIFY_ROLLBACK);
	assert_int_equal(validate_verify_for_s(0.5, NULL), 0);
	assert_int_equal(validate_verify_for_s(86400, NULL), 0);
	assert_int_equal(validate_verify_for_s(0, &why), -EINVAL);
	assert_int_equal(validate_verify_for_s(86401, NULL), -EINVAL);
	assert_int_equal(validate_verify_ratio(0, NULL), 0);
	assert_int_equal(validate_verify_ratio(1, NULL), 0);
	assert_int_equal(validate_verify_ratio(1.01, &why), -EINVAL);
	assert_string_equal(why, "ratio must be 0..1");
	assert_int_equal(validate_verify_ratio(-0.01, NULL), -EINVAL);
	assert_int_equal(validate_verify_on_failure("rollback", &f, NULL), 0);
	assert_int_equal(f, VERIFY_ROLLBACK);
	assert_int_equal(validate_verify_on_failure("alert", &f, NULL), 0);
	assert_int_equal(f, VERIFY_ALERT);
	assert_int_equal(validate_verify_on_failure("retry", &f, &why),
			 -EINVAL);
	assert_int_equal(validate_verify_on_failure(NULL, &f, NULL), -EINVAL);
	assert_int_equal(validate_verify_http("/healthz=200,204", &p, NULL), 0);
	assert_string_equal(p.http_path, "/healthz");
	assert_int_equal(p.n_statuses, 2);
	assert_int_equal(p.statuses[1], 204);
	assert_int_equal(validate_verify_http("/", &p, NULL), 0);
	assert_int_equal(p.n_statuses, 0);
	assert_int_equal(validate_verify_http("healthz=200", &p, &why),
			 -EINVAL);
	assert_int_equal(validate_verify_http("/=700", &p, NULL), -EINVAL);
	assert_int_equal(validate_verify_exec("relative", &why), -EINVAL);
}

static void test_swap_actions(void **state)
{
	const struct str_case actions[] = {
		{"swap", "swap", NULL},
		{"preview", "preview", NULL},
		{"reset", "reset", NULL},
		{"cancel", "cancel", NULL},
		{"complete (Azure says swap)", "complete",
		 "action must be \"swap\", \"preview\", \"reset\" or \"cancel\""},
		{"upper case", "SWAP",
		 "action must be \"swap\", \"preview\", \"reset\" or \"cancel\""},
		{"missing", NULL,
		 "action must be \"swap\", \"preview\", \"reset\" or \"cancel\""},
	};
	const struct str_case durations[] = {
		{"seconds", "90", NULL},
		{"seconds with s", "90s", NULL},
		{"minutes", "15m", NULL},
		{"hours", "2h", NULL},
		{"empty", "", DURATION_WHY},
		{"fraction", "1.5", DURATION_WHY},
		{"unit only", "m", DURATION_WHY},
		{"days", "1d", DURATION_WHY},
		{"two units", "1mm", DURATION_WHY},
		{"negative", "-5", DURATION_WHY},
		{"huge", "999999999999", DURATION_WHY},
	};
	enum swap_action a = SWAP_ACTION_FULL;
	double secs = 0;
	bool swap = false;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(actions); i++)
		check_str(&actions[i],
			  validate_swap_action(actions[i].in, &a, &why), &why);
	assert_int_equal(validate_swap_action("reset", &a, NULL), 0);
	assert_int_equal(a, SWAP_ACTION_RESET);
	for (i = 0; i < ARRAY_SIZE(durations); i++)
		check_str(&durations[i],
			  validate_duration(durations[i].in, &secs, &why),
			  &why);
	assert_int_equal(validate_duration("15m", &secs, NULL), 0);
	assert_true(secs == 900);
	assert_int_equal(validate_duration("2h", &secs, NULL), 0);
	assert_true(secs == 7200);
	assert_int_equal(validate_preview_timeout_s(1, NULL), 0);
	assert_int_equal(validate_preview_timeout_s(604800, NULL), 0);
	assert_int_equal(validate_preview_timeout_s(0, &why), -EINVAL);
	assert_string_equal(why, "timeout must be 1 second..7 days");
	assert_int_equal(validate_preview_timeout_s(604801, NULL), -EINVAL);
	assert_int_equal(validate_on_timeout("swap", &swap, NULL), 0);
	assert_true(swap);
	assert_int_equal(validate_on_timeout("reset", &swap, NULL), 0);
	assert_false(swap);
	assert_int_equal(validate_on_timeout("rollback", &swap, &why), -EINVAL);
	assert_string_equal(why, "on-timeout must be \"reset\" or \"swap\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_endpoint_and_backend),
		cmocka_unit_test(test_warmup_fields),
		cmocka_unit_test(test_warmup_statuses),
		cmocka_unit_test(test_warmup_policy),
		cmocka_unit_test(test_history_limit),
		cmocka_unit_test(test_traffic),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_trigger),
		cmocka_unit_test(test_settings),
		cmocka_unit_test(test_hook),
		cmocka_unit_test(test_swap_actions),
		cmocka_unit_test(test_health),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
