/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of access control's decisions (user/slotlbd/auth.c): which
 * peer may write, read or nothing, token files as text, and bearer
 * headers against the tokens.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "auth.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The daemon runs as uid 0; socket group 100, read-only group 200. */
static const struct auth_groups groups = {
	.owner = 0, .write_gid = 100, .read_gid = 200, .has_read = true};

struct peer_case {
	const char *what;
	uid_t uid;
	gid_t gid;
	gid_t groups[3];
	size_t n_groups;
	enum access want;
};

static void test_peer_access(void **state)
{
	static const struct peer_case cases[] = {
		{"root", 0, 0, {0}, 0, ACCESS_WRITE},
		{"root whatever its groups", 0, 5, {200}, 1, ACCESS_WRITE},
		{"socket group as a supplementary group",
		 1001,
		 1001,
		 {7, 100},
		 2,
		 ACCESS_WRITE},
		{"socket group as the primary group",
		 1001,
		 100,
		 {0},
		 0,
		 ACCESS_WRITE},
		{"in both groups: the socket group wins",
		 1001,
		 1001,
		 {200, 100},
		 2,
		 ACCESS_WRITE},
		{"read-only group", 1002, 1002, {200}, 1, ACCESS_READ},
		{"read-only group as the primary group",
		 1002,
		 200,
		 {0},
		 0,
		 ACCESS_READ},
		{"stranger", 1003, 1003, {7, 8, 9}, 3, ACCESS_NONE},
		{"stranger, no groups", 1003, 1003, {0}, 0, ACCESS_NONE},
		{"nobody", 65534, 65534, {0}, 0, ACCESS_NONE},
	};
	struct auth_groups no_read = groups;
	struct peer_cred c;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		c = (struct peer_cred){.uid = cases[i].uid,
				       .gid = cases[i].gid,
				       .groups = (gid_t *)cases[i].groups,
				       .n_groups = cases[i].n_groups};
		if (auth_peer_access(&groups, &c) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].what,
				 auth_peer_access(&groups, &c), cases[i].want);
	}
	/* the daemon's own user writes; no read-only group: nobody reads */
	no_read.owner = 1002;
	no_read.has_read = false;
	c = (struct peer_cred){.uid = 1002, .gid = 1002};
	assert_int_equal(auth_peer_access(&no_read, &c), ACCESS_WRITE);
	c = (struct peer_cred){.uid = 1004, .gid = 200};
	assert_int_equal(auth_peer_access(&no_read, &c), ACCESS_NONE);
}

static const char tokens_text[] =
	"# deployers\n"
	"ci: 0123456789abcdef0123\n"
	"  \n"
	"\tgrafana:   dGhpcyBpcyBhIHRva2Vu==   read-only\r\n"
	"ops-2.x: AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+/~._-\n";

static void test_tokens_parse(void **state)
{
	struct auth_tokens t;
	const char *why;
	int line;

	(void)state;
	assert_int_equal(auth_tokens_parse(tokens_text, strlen(tokens_text), &t,
					   &line, &why),
			 0);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.t[0].name, "ci");
	assert_int_equal(t.t[0].len, 20);
	assert_int_equal(t.t[0].access, ACCESS_WRITE);
	assert_string_equal(t.t[1].name, "grafana");
	assert_memory_equal(t.t[1].token, "dGhpcyBpcyBhIHRva2Vu==", 22);
	assert_int_equal(t.t[1].access, ACCESS_READ);
	assert_string_equal(t.t[2].name, "ops-2.x");
}

static void test_tokens_bad(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *why;
	} cases[] = {
		{"", 0, "no token"},
		{"#\n\n", 0, "no token"},
		{"ci 0123456789abcdef0123\n", 1, "expected NAME: TOKEN"},
		{": 0123456789abcdef0123\n", 1,
		 "missing token name before ':'"},
		{"ci:\n", 1, "missing token after ':'"},
		{"ci: 0123456789abcde\n", 1, "token under 16 characters"},
		{"ci: 0123456789abcdef0123=x\n", 1,
		 "token may hold only letters, digits, '-._~+/' and '=' "
		 "padding"},
		{"ci: =0123456789abcdef0123\n", 1,
		 "token may hold only letters, digits, '-._~+/' and '=' "
		 "padding"},
		{"c/i: 0123456789abcdef0123\n", 1,
		 "token name may hold only letters, digits, '.', '_' and '-'"},
		{"abcdefghijabcdefghijabcdefghijabc: 0123456789abcdef0123\n", 1,
		 "token name over 32 characters"},
		{"ci: 0123456789abcdef0123 read-only x\n", 1,
		 "unexpected text after the token (only read-only)"},
		{"a: 0123456789abcdef0123\nb: 0123456789abcdef0123\n", 2,
		 "token given twice (the history could not tell who)"},
		{"a: 0123456789abcdef0123\na: 0123456789abcdef0124\n", 2,
		 "token name given twice"},
	};
	struct auth_tokens t;
	char big[300];
	const char *why;
	size_t i;
	int line;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		why = NULL;
		if (auth_tokens_parse(cases[i].text, strlen(cases[i].text), &t,
				      &line, &why) != -EINVAL)
			fail_msg("'%s' was accepted", cases[i].text);
		if (!why || strcmp(why, cases[i].why) || line != cases[i].line)
			fail_msg("'%s': got %d '%s', want %d '%s'",
				 cases[i].text, line, why ? why : "(null)",
				 cases[i].line, cases[i].why);
	}
	/* a NUL byte is not the end of the file */
	assert_int_equal(auth_tokens_parse("a: 0123456789abcdef\0"
					   "123\n",
					   24, &t, &line, &why),
			 -EINVAL);
	assert_string_equal(why, "NUL byte in the line");
	/* 257 characters */
	memset(big, 'x', sizeof(big));
	memcpy(big, "a: ", 3);
	assert_int_equal(auth_tokens_parse(big, 3 + 257, &t, &line, &why),
			 -EINVAL);
	assert_string_equal(why, "token over 256 characters");
	assert_int_equal(auth_tokens_parse(big, 3 + 256, &t, &line, &why), 0);
}

static void test_bearer(void **state)
{
	static const struct {
		const char *header;
		enum access want;
		const char *name;
	} cases[] = {
		{"Bearer 0123456789abcdef0123", ACCESS_WRITE, "ci"},
		{"bearer 0123456789abcdef0123", ACCESS_WRITE, "ci"},
		{"Bearer   0123456789abcdef0123  ", ACCESS_WRITE, "ci"},
		{"Bearer dGhpcyBpcyBhIHRva2Vu==", ACCESS_READ, "grafana"},
		{"Bearer 0123456789abcdef012", ACCESS_NONE, NULL},
		{"Bearer 0123456789abcdef01234", ACCESS_NONE, NULL},
		{"Bearer 0123456789abcdef0124", ACCESS_NONE, NULL},
		{"Bearer dGhpcyBpcyBhIHRva2Vu", ACCESS_NONE, NULL},
		{"Basic 0123456789abcdef0123", ACCESS_NONE, NULL},
		{"0123456789abcdef0123", ACCESS_NONE, NULL},
		{"Bearer ", ACCESS_NONE, NULL},
		{"Bearer", ACCESS_NONE, NULL},
		{"", ACCESS_NONE, NULL},
		{NULL, ACCESS_NONE, NULL},
	};
	struct auth_tokens t;
	const char *why, *name;
	size_t i;
	int line;

	(void)state;
	assert_int_equal(auth_tokens_parse(tokens_text, strlen(tokens_text), &t,
					   &line, &why),
			 0);
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		name = "poison";
		if (auth_bearer(&t, cases[i].header, &name) != cases[i].want)
			fail_msg("'%s': wrong access", cases[i].header);
		if (cases[i].name ? !name || strcmp(name, cases[i].name)
				  : name != NULL)
			fail_msg("'%s': name '%s'", cases[i].header,
				 name ? name : "(null)");
	}
	/* no tokens: nothing matches, not even an empty one */
	t.n = 0;
	assert_int_equal(auth_bearer(&t, "Bearer 0123456789abcdef0123", &name),
			 ACCESS_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_peer_access),
		cmocka_unit_test(test_tokens_parse),
		cmocka_unit_test(test_tokens_bad),
		cmocka_unit_test(test_bearer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
