/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of the load client's response parser and judge: the rules
 * that decide whether a request across a swap counts as ok, and which
 * failure reason it gets when it does not.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "response.h"

#define LAB_OK                                                              \
	"HTTP/1.1 200 OK\r\nX-Slotlb-Version: v1\r\nContent-Length: 19\r\n" \
	"\r\nv1 127.0.0.1:18080\n"

static int parse(const char *s, bool eof, struct lc_response *r)
{
	return lc_response_parse(s, strlen(s), eof, r);
}

static void test_complete_lab_response(void **state)
{
	struct lc_response r;

	(void)state;
	assert_int_equal(parse(LAB_OK, false, &r), 0);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.content_length, 19);
	assert_int_equal(r.consumed, strlen(LAB_OK));
	assert_string_equal(r.label, "v1");
	assert_string_equal(r.body_label, "v1");
	assert_false(r.conn_close);
	assert_int_equal(lc_response_judge(&r, 200, NULL), LC_OK);
}

/* Every proper prefix needs more bytes, and is truncated at EOF. */
static void test_every_prefix_is_incomplete(void **state)
{
	const char *s = LAB_OK;
	struct lc_response r;
	size_t i;

	(void)state;
	for (i = 0; i < strlen(s); i++) {
		assert_int_equal(lc_response_parse(s, i, false, &r), -EAGAIN);
		assert_int_equal(lc_response_parse(s, i, true, &r), -EPIPE);
	}
}

static void test_extra_bytes_not_consumed(void **state)
{
	const char *s = LAB_OK "HTTP/1.1";
	struct lc_response r;

	(void)state;
	assert_int_equal(parse(s, false, &r), 0);
	assert_int_equal(r.consumed, strlen(LAB_OK));
}

static void test_missing_content_length_is_bad(void **state)
{
	struct lc_response r;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nX-Slotlb-Version: v1\r\n"
			       "\r\nv1 a:1\n",
			       true, &r),
			 -EBADMSG);
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked"
			       "\r\n\r\n",
			       false, &r),
			 -EBADMSG);
}

static void test_malformed_heads(void **state)
{
	static const char *const bad[] = {
		"HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 2x0 OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2"
		"\r\n\r\nab",
		"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-Slotlb-Version: a\"b\r\n"
		"Content-Length: 0\r\n\r\n",
		"garbage\r\n\r\n",
	};
	struct lc_response r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], false, &r), -EBADMSG);
}

static void test_head_too_large(void **state)
{
	static char big[LC_HEAD_MAX + 64];
	struct lc_response r;

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	assert_int_equal(parse(big, false, &r), -EBADMSG);
}

static void test_connection_close(void **state)
{
	struct lc_response r;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nConnection: Close\r\n"
			       "Content-Length: 0\r\n\r\n",
			       false, &r),
			 0);
	assert_true(r.conn_close);
	/* HTTP/1.0 closes by default, unless it says keep-alive. */
	assert_int_equal(parse("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
			       false, &r),
			 0);
	assert_true(r.conn_close);
	assert_int_equal(parse("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n"
			       "Content-Length: 0\r\n\r\n",
			       false, &r),
			 0);
	assert_false(r.conn_close);
}

static void test_judge_status(void **state)
{
	struct lc_response r;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 503 Busy\r\nX-Slotlb-Version: v1\r\n"
			       "Content-Length: 0\r\n\r\n",
			       false, &r),
			 0);
	assert_int_equal(lc_response_judge(&r, 200, NULL), LC_FAIL_STATUS);
	assert_int_equal(lc_response_judge(&r, 503, NULL), LC_OK);
}

static void test_judge_versions(void **state)
{
	struct lc_labels expect;
	struct lc_response r;

	(void)state;
	assert_int_equal(lc_labels_parse("v1,v2", &expect), 0);
	assert_int_equal(expect.count, 2);
	assert_int_equal(parse(LAB_OK, false, &r), 0);
	assert_int_equal(lc_response_judge(&r, 200, &expect), LC_OK);
	assert_int_equal(lc_labels_parse("v2,v3", &expect), 0);
	assert_int_equal(lc_response_judge(&r, 200, &expect),
			 LC_FAIL_WRONG_VERSION);
}

/* The label comes from the header, else the body; both must agree. */
static void test_judge_label_sources(void **state)
{
	struct lc_response r;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"
			       "v7 a:80\r\n",
			       false, &r),
			 0);
	assert_string_equal(lc_response_version(&r), "v7");
	assert_int_equal(lc_response_judge(&r, 200, NULL), LC_OK);

	assert_int_equal(parse("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"
			       "hi",
			       false, &r),
			 0);
	assert_int_equal(lc_response_judge(&r, 200, NULL), LC_FAIL_PARSE);

	assert_int_equal(parse("HTTP/1.1 200 OK\r\nX-Slotlb-Version: v1\r\n"
			       "Content-Length: 8\r\n\r\nv2 a:80\n",
			       false, &r),
			 0);
	assert_int_equal(lc_response_judge(&r, 200, NULL), LC_FAIL_PARSE);
}

static void test_labels_parse_errors(void **state)
{
	static char many[LC_VERSIONS_MAX * 4 + 8];
	struct lc_labels l;
	size_t i, n = 0;

	(void)state;
	assert_int_equal(lc_labels_parse("", &l), -EINVAL);
	assert_int_equal(lc_labels_parse("v1,,v2", &l), -EINVAL);
	assert_int_equal(lc_labels_parse("v 1", &l), -EINVAL);
	assert_int_equal(lc_labels_parse("v1,v1", &l), 0);
	assert_int_equal(l.count, 1);
	for (i = 0; i <= LC_VERSIONS_MAX; i++)
		n += sprintf(many + n, "%sv%zu", i ? "," : "", i);
	assert_int_equal(lc_labels_parse(many, &l), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_lab_response),
		cmocka_unit_test(test_every_prefix_is_incomplete),
		cmocka_unit_test(test_extra_bytes_not_consumed),
		cmocka_unit_test(test_missing_content_length_is_bad),
		cmocka_unit_test(test_malformed_heads),
		cmocka_unit_test(test_head_too_large),
		cmocka_unit_test(test_connection_close),
		cmocka_unit_test(test_judge_status),
		cmocka_unit_test(test_judge_versions),
		cmocka_unit_test(test_judge_label_sources),
		cmocka_unit_test(test_labels_parse_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
