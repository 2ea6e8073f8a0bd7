/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The apply-settings hook runner (user/slotlbd/hook.c) against real
 * shell scripts in a temporary directory: what a hook receives (stdin,
 * environment, nothing of ours), one run per backend at once, exit
 * statuses, the tail of stderr, the timeout and cancel killing the whole
 * process group, and a hook that does not read its stdin.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "hook.h"

static char dir[] = "/tmp/test_hook.XXXXXX";

static const struct hook_env env = {
	.app = "web",
	.slot = "staging",
	.deployment = 7,
	.version = "v2",
	.reason = "swap",
};

/* A script named name with body after "#!/bin/sh\n"; its path in out. */
static void script(const char *name, const char *body, char *out, size_t len)
{
	FILE *f;

	snprintf(out, len, "%s/%s", dir, name);
	f = fopen(out, "w");
	assert_non_null(f);
	fprintf(f, "#!/bin/sh\n%s", body);
	fclose(f);
	assert_int_equal(chmod(out, 0700), 0);
}

static void slurp(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

static int64_t now_ms(void)
{
	return mono_ms();
}

/* Is pid alive and not a zombie? */
static bool running(pid_t pid)
{
	char path[64], buf[256], *paren;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	paren = strrchr(buf, ')');
	return paren && paren[1] == ' ' && paren[2] != 'Z';
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(dir));
	/* the daemon's state when it runs hooks */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	char cmd[64];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* stdin is the settings, the environment ours and nothing else. */
static void test_stdin_and_env(void **state)
{
	const char *bes[] = {"198.19.1.2:8080"};
	char path[128], body[512], out[1024], want[256];
	struct hook_result res;
	sigset_t block;

	(void)state;
	snprintf(body, sizeof(body),
		 "cat > %s/stdin.$SLOTLB_BACKEND\n"
		 "env | sort > %s/env\n"
		 "trap - TERM\n",
		 dir, dir);
	script("apply", body, path, sizeof(path));
	setenv("SECRET_OF_THE_DAEMON", "x", 1);
	/* a blocked signal of the daemon must not reach the hook blocked */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	assert_int_equal(hook_run(path, 5000, &env, bes, 1,
				  "{\"DB_URL\": \"prod\"}", NULL, &res),
			 0);
	pthread_sigmask(SIG_UNBLOCK, &block, NULL);
	snprintf(want, sizeof(want), "%s/stdin.198.19.1.2:8080", dir);
	slurp(want, out, sizeof(out));
	assert_string_equal(out, "{\"DB_URL\": \"prod\"}");
	snprintf(want, sizeof(want), "%s/env", dir);
	slurp(want, out, sizeof(out));
	printf("%s", out);
	assert_non_null(strstr(out, "SLOTLB_APP=web\n"));
	assert_non_null(strstr(out, "SLOTLB_SLOT=staging\n"));
	assert_non_null(strstr(out, "SLOTLB_DEPLOYMENT=7\n"));
	assert_non_null(strstr(out, "SLOTLB_VERSION=v2\n"));
	assert_non_null(strstr(out, "SLOTLB_BACKEND=198.19.1.2:8080\n"));
	assert_non_null(strstr(out, "SLOTLB_REASON=swap\n"));
	assert_null(strstr(out, "SECRET_OF_THE_DAEMON"));
}

/* One run per backend, all at once: three of 500 ms take about 500. */
static void test_concurrent(void **state)
{
	const char *bes[] = {"a:1", "b:2", "c:3"};
	char path[128], body[256], file[128], out[64];
	struct hook_result res;
	int64_t t0, took;
	size_t i;

	(void)state;
	snprintf(body, sizeof(body),
		 "sleep 0.5\necho done > %s/done.$SLOTLB_BACKEND\n", dir);
	script("slow", body, path, sizeof(path));
	t0 = now_ms();
	assert_int_equal(hook_run(path, 10000, &env, bes, 3, "{}", NULL, &res),
			 0);
	took = now_ms() - t0;
	printf("# 3 runs of 500 ms took %lld ms\n", (long long)took);
	assert_true(took >= 500 && took < 1400);
	for (i = 0; i < 3; i++) {
		snprintf(file, sizeof(file), "%s/done.%s", dir, bes[i]);
		slurp(file, out, sizeof(out));
		assert_string_equal(out, "done\n");
	}
}

/* A failing run: which backend, its exit status and the end of what it
 * said on stderr. */
static void test_failure(void **state)
{
	const char *bes[] = {"198.19.1.2:8080", "198.19.2.2:8080"};
	char path[128];
	struct hook_result res;

	(void)state;
	script("fail",
	       "cat > /dev/null\n"
	       "[ \"$SLOTLB_BACKEND\" = 198.19.2.2:8080 ] || exit 0\n"
	       "i=0; while [ $i -lt 300 ]; do echo \"noise $i\" >&2; "
	       "i=$((i + 1)); done\n"
	       "echo 'cannot reach 198.19.2.2: no route' >&2\n"
	       "exit 3\n",
	       path, sizeof(path));
	assert_int_equal(hook_run(path, 5000, &env, bes, 2, "{}", NULL, &res),
			 1);
	assert_int_equal(res.failed, 1);
	assert_int_equal(res.exit_status, 3);
	assert_string_equal(res.error, "exit status 3");
	printf("# stderr tail of %zu bytes ends: %s", strlen(res.stderr_tail),
	       strstr(res.stderr_tail, "cannot"));
	/* the tail, not the head: the last line, and not the first */
	assert_non_null(
		strstr(res.stderr_tail, "cannot reach 198.19.2.2: no route"));
	assert_null(strstr(res.stderr_tail, "noise 0\n"));
	assert_true(strlen(res.stderr_tail) <= HOOK_STDERR_TAIL);

	/* killed by a signal */
	script("kill", "kill -9 $$\n", path, sizeof(path));
	assert_int_equal(hook_run(path, 5000, &env, bes, 1, "{}", NULL, &res),
			 1);
	assert_string_equal(res.error, "killed by signal 9");
	/* cannot run at all */
	assert_int_equal(hook_run("/nonexistent/hook", 5000, &env, bes, 1, "{}",
				  NULL, &res),
			 -ENOENT);
	assert_string_equal(
		res.error,
		"cannot run /nonexistent/hook: No such file or directory");
}

/* The timeout kills the run and what it started (its process group). */
static void test_timeout(void **state)
{
	const char *bes[] = {"a:1"};
	char path[128], body[256], pidfile[128], out[32];
	struct hook_result res;
	int64_t t0, took;
	pid_t child;
	int i;

	(void)state;
	snprintf(body, sizeof(body), "sleep 30 &\necho $! > %s/child\nwait\n",
		 dir);
	script("hang", body, path, sizeof(path));
	t0 = now_ms();
	assert_int_equal(hook_run(path, 300, &env, bes, 1, "{}", NULL, &res),
			 1);
	took = now_ms() - t0;
	assert_true(took >= 300 && took < 1500);
	assert_string_equal(res.error, "timed out after 300 ms");
	snprintf(pidfile, sizeof(pidfile), "%s/child", dir);
	slurp(pidfile, out, sizeof(out));
	child = (pid_t)atoi(out);
	assert_true(child > 0);
	/* gone, or a zombie waiting for its new parent: not running (a
	 * SIGKILL takes effect when the process next runs: wait for it) */
	for (i = 0; i < 200 && running(child); i++)
		usleep(10000);
	assert_false(running(child));
}

struct canceller {
	struct cancel *c;
	int after_ms;
};

static void *cancel_later(void *arg)
{
	struct canceller *k = arg;

	usleep((useconds_t)k->after_ms * 1000);
	cancel_request(k->c, "test");
	return NULL;
}

static void test_cancel(void **state)
{
	const char *bes[] = {"a:1", "b:2"};
	struct canceller k;
	struct hook_result res;
	struct cancel c;
	char path[128];
	int64_t t0, took;
	pthread_t tid;

	(void)state;
	script("long", "sleep 30\n", path, sizeof(path));
	cancel_init(&c);
	k.c = &c;
	k.after_ms = 200;
	t0 = now_ms();
	assert_int_equal(pthread_create(&tid, NULL, cancel_later, &k), 0);
	assert_int_equal(hook_run(path, 30000, &env, bes, 2, "{}", &c, &res),
			 -ECANCELED);
	took = now_ms() - t0;
	pthread_join(tid, NULL);
	printf("# cancelled after 200 ms, returned after %lld ms\n",
	       (long long)took);
	assert_true(took >= 200 && took < 1000);
	assert_string_equal(res.error, "cancelled");
	cancel_destroy(&c);
}

/* A hook that ignores a large stdin still runs to its exit 0. */
static void test_ignores_stdin(void **state)
{
	const char *bes[] = {"a:1"};
	struct hook_result res;
	char path[128], *big;

	(void)state;
	big = malloc(1 << 20);
	assert_non_null(big);
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = 0;
	script("deaf", "exit 0\n", path, sizeof(path));
	assert_int_equal(hook_run(path, 5000, &env, bes, 1, big, NULL, &res),
			 0);
	script("reads", "wc -c > /dev/null\n", path, sizeof(path));
	assert_int_equal(hook_run(path, 5000, &env, bes, 1, big, NULL, &res),
			 0);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stdin_and_env),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_ignores_stdin),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
