/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The input rules of issue 9 (user/lib/validate.c), tables of inputs
 * and verdicts: drain policy, backend weight, event lists, webhook
 * URLs and secrets, and the cleaner of text from outside (valid UTF-8,
 * no control characters, never a character cut in two).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "validate.h"

struct str_case {
	const char *in;
	int rc; /* 0 or -EINVAL */
};

static void test_drain_policy(void **state)
{
	static const struct {
		double s;
		int rc;
	} timeouts[] = {{1, 0},	    {900, 0},	   {604800, 0}, {0, -22},
			{0.5, -22}, {604801, -22}, {-1, -22}};
	static const struct str_case on[] = {{"reset", 0},
					     {"leave", 0},
					     {"kill", -22},
					     {"", -22},
					     {"Reset", -22}};
	static const struct {
		const char *in;
		int rc;
		uint32_t rate;
	} rates[] = {{"100", 0, 100},  {"100/s", 0, 100},
		     {"1", 0, 1},      {"1000000/s", 0, 1000000},
		     {"0", -22, 0},    {"1000001", -22, 0},
		     {"10/m", -22, 0}, {"/s", -22, 0},
		     {"-5", -22, 0},   {"5 /s", -22, 0}};
	const char *why;
	uint32_t rate;
	bool reset;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++)
		assert_int_equal(validate_drain_timeout_s(timeouts[i].s, &why),
				 timeouts[i].rc);
	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++)
		assert_int_equal(
			validate_on_drain_timeout(on[i].in, &reset, &why),
			on[i].rc);
	assert_int_equal(validate_on_drain_timeout("reset", &reset, NULL), 0);
	assert_true(reset);
	for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		rate = 0;
		assert_int_equal(validate_reset_rate(rates[i].in, &rate, &why),
				 rates[i].rc);
		if (!rates[i].rc)
			assert_int_equal(rate, rates[i].rate);
	}
}

static void test_weight(void **state)
{
	static const struct {
		double w;
		int rc;
	} cases[] = {{0, 0},	{1, 0},	    {65535, 0},	 {65536, -22},
		     {-1, -22}, {1.5, -22}, {70000, -22}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(validate_backend_weight(cases[i].w, NULL),
				 cases[i].rc);
}

static void test_events(void **state)
{
	static const struct str_case cases[] = {{"deploy", 0},
						{"deploy,swap,drained", 0},
						{"auto-rollback,health", 0},
						{"create,delete,hook", 0},
						{"", -22},
						{"deploy,", -22},
						{",deploy", -22},
						{"deploy,deploy", -22},
						{"explode", -22},
						{"Deploy", -22},
						{"deploy swap", -22}};
	uint32_t mask;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(validate_event_list(cases[i].in, &mask, NULL),
				 cases[i].rc);
	assert_int_equal(validate_event_list("swap,deploy", &mask, NULL), 0);
	assert_int_equal(mask, 0x3);
}

static void test_url_secret(void **state)
{
	static const struct str_case urls[] = {
		{"http://127.0.0.1:8080/hook", 0},
		{"https://ci.example/slotlb", 0},
		{"ftp://ci.example/", -22},
		{"http://", -22},
		{"http:///path", -22},
		{"https://ci.example/a b", -22},
		{"https://ci.example/\x1b[31m", -22},
		{"ci.example/hook", -22}};
	static const struct str_case secrets[] = {
		{"0123456789abcdef", 0},
		{"s3cret-for-the-hook-test", 0},
		{"short", -22},
		{"0123456789 abcdef", -22},
		{"0123456789abcdef\x7f", -22}};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		assert_int_equal(validate_hook_url(urls[i].in, NULL),
				 urls[i].rc);
	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
		assert_int_equal(validate_hook_secret(secrets[i].in,
						      strlen(secrets[i].in),
						      NULL),
				 secrets[i].rc);
}

static void test_text_clean(void **state)
{
	static const struct {
		const char *in;
		size_t max;
		const char *out;
	} cases[] = {
		{"plain", 100, "plain"},
		{"tab\tnewline\r\n", 100, "tab newline  "},
		{"esc\x1b[31mred", 100, "esc [31mred"},
		{"bad\xff\xfe", 100, "bad??"},
		{"c1\xc2\x85", 100, "c1 "},
		{"caf\xc3\xa9", 100, "caf\xc3\xa9"},
		{"caf\xc3\xa9", 4, "caf"}, /* never half a character */
		{"\xe2\x82", 100, "??"}, /* cut short */
		{"\xc0\xaf", 100, "??"}, /* overlong */
		{"\xed\xa0\x80", 100, "???"}, /* surrogate */
		{"\xf0\x9f\x98\x80!", 100, "\xf0\x9f\x98\x80!"},
		{"abcdef", 3, "abc"},
	};
	char buf[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		validate_text_clean(buf, cases[i].max);
		assert_string_equal(buf, cases[i].out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drain_policy),
		cmocka_unit_test(test_weight),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_url_secret),
		cmocka_unit_test(test_text_clean),
	};

	return cmocka_run_group_tests_name("validate_drain", tests, NULL, NULL);
}
