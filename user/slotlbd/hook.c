/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Running the apply-settings hook (hook.h): posix_spawn (vfork-fast, no
 * code of ours between fork and exec in a threaded daemon) with a clean
 * environment, default signal dispositions and an empty signal mask (the
 * daemon blocks SIGTERM and ignores SIGPIPE; a hook must not inherit
 * that), its own process group so a timeout kills whatever it started,
 * and only its three standard descriptors. One poll loop feeds every
 * run's stdin, keeps the tail of its stderr, reaps it, and watches the
 * clock and the cancel flag (at most 100 ms between looks).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "hook.h"

#define HOOK_POLL_MS 100

struct run {
	pid_t pid; /* 0: not started */
	int in; /* write end of its stdin, -1 once closed */
	int err; /* read end of its stderr, -1 once at EOF */
	size_t fed; /* bytes of the settings written */
	bool exited;
	int status; /* waitpid's */
	char tail[HOOK_STDERR_TAIL]; /* ring of the last stderr bytes */
	size_t tail_len, tail_pos;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void keep_tail(struct run *r, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		r->tail[r->tail_pos] = buf[i];
		r->tail_pos = (r->tail_pos + 1) % sizeof(r->tail);
		if (r->tail_len < sizeof(r->tail))
			r->tail_len++;
	}
}

/* The ring in order, control characters but newline and tab as '?'. */
static void tail_text(const struct run *r, char *out, size_t len)
{
	size_t start =
		(r->tail_pos + sizeof(r->tail) - r->tail_len) % sizeof(r->tail);
	size_t i, n = r->tail_len < len - 1 ? r->tail_len : len - 1;

	start = (start + r->tail_len - n) % sizeof(r->tail);
	for (i = 0; i < n; i++) {
		unsigned char c =
			(unsigned char)r->tail[(start + i) % sizeof(r->tail)];

		out[i] = c < 0x20 && c != '\n' && c != '\t' ? '?' : (char)c;
	}
	/* a last newline says nothing in a sentence it is put into */
	while (n && out[n - 1] == '\n')
		n--;
	out[n] = 0;
}

/* "NAME=value" strings of the child's environment. */
static char **make_env(const struct hook_env *env, const char *backend)
{
	char **e = calloc(8, sizeof(*e));
	int k = 0;

	if (!e)
		return NULL;
	if (asprintf(&e[k++], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			      "/usr/bin:/sbin:/bin") < 0 ||
	    asprintf(&e[k++], "SLOTLB_APP=%s", env->app) < 0 ||
	    asprintf(&e[k++], "SLOTLB_SLOT=%s", env->slot) < 0 ||
	    asprintf(&e[k++], "SLOTLB_DEPLOYMENT=%u", env->deployment) < 0 ||
	    asprintf(&e[k++], "SLOTLB_VERSION=%s", env->version) < 0 ||
	    asprintf(&e[k++], "SLOTLB_BACKEND=%s", backend) < 0 ||
	    asprintf(&e[k++], "SLOTLB_REASON=%s", env->reason) < 0) {
		e[k - 1] = NULL;
		for (k = 0; e[k]; k++)
			free(e[k]);
		free(e);
		return NULL;
	}
	return e;
}

static void free_env(char **e)
{
	int k;

	for (k = 0; e && e[k]; k++)
		free(e[k]);
	free(e);
}

static int spawn(const char *exec, const struct hook_env *env,
		 const char *backend, struct run *r)
{
	int in[2] = {-1, -1}, err[2] = {-1, -1}, rc;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char *argv[] = {(char *)exec, NULL};
	char **envp = make_env(env, backend);
	sigset_t none, defaults;

	if (!envp)
		return -ENOMEM;
	if (pipe2(in, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
		rc = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGHUP);
	sigaddset(&defaults, SIGQUIT);
	sigaddset(&defaults, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	rc = -posix_spawn(&r->pid, exec, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc) {
		r->pid = 0;
		goto out;
	}
	r->in = in[1];
	r->err = err[0];
	in[1] = err[0] = -1;
	fcntl(r->in, F_SETFL, O_NONBLOCK);
	fcntl(r->err, F_SETFL, O_NONBLOCK);
out:
	close_fd(&in[0]);
	close_fd(&in[1]);
	close_fd(&err[0]);
	close_fd(&err[1]);
	free_env(envp);
	return rc;
}

static void feed(struct run *r, const char *data, size_t len)
{
	ssize_t w;

	while (r->in >= 0 && r->fed < len) {
		w = write(r->in, data + r->fed, len - r->fed);
		if (w > 0) {
			r->fed += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EAGAIN)
			return;
		/* EPIPE: it does not read its stdin; that is its business */
		break;
	}
	close_fd(&r->in);
}

static void drain(struct run *r)
{
	char buf[4096];
	ssize_t n;

	while (r->err >= 0) {
		n = read(r->err, buf, sizeof(buf));
		if (n > 0) {
			keep_tail(r, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			return;
		close_fd(&r->err);
	}
}

static void kill_all(struct run *runs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (runs[i].pid && !runs[i].exited)
			kill(-runs[i].pid, SIGKILL);
}

/* Poll every open descriptor for up to ms, feed and drain, reap. Returns
 * how many runs are still going. */
static size_t step(struct run *runs, size_t n, const char *data, size_t len,
		   int ms)
{
	struct pollfd pfd[2 * n + 1];
	size_t i, k = 0, going = 0;
	int status;

	for (i = 0; i < n; i++) {
		if (runs[i].in >= 0)
			pfd[k++] = (struct pollfd){.fd = runs[i].in,
						   .events = POLLOUT};
		if (runs[i].err >= 0)
			pfd[k++] = (struct pollfd){.fd = runs[i].err,
						   .events = POLLIN};
	}
	poll(pfd, k, ms);
	for (i = 0; i < n; i++) {
		struct run *r = &runs[i];

		feed(r, data, len);
		drain(r);
		if (!r->exited && waitpid(r->pid, &status, WNOHANG) == r->pid) {
			r->exited = true;
			r->status = status;
			/* what it wrote before exiting; a child it left
			 * behind may hold stderr open, so no waiting for EOF */
			drain(r);
			close_fd(&r->err);
			close_fd(&r->in);
		}
		going += !r->exited;
	}
	return going;
}

static bool run_failed(const struct run *r)
{
	return !r->exited || !WIFEXITED(r->status) || WEXITSTATUS(r->status);
}

static void describe(const struct run *r, uint32_t timeout_ms, bool timed_out,
		     size_t i, struct hook_result *res)
{
	res->failed = i;
	res->exit_status =
		r->exited && WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1;
	if (timed_out && (!r->exited || WIFSIGNALED(r->status)))
		snprintf(res->error, sizeof(res->error),
			 "timed out after %u ms", timeout_ms);
	else if (r->exited && WIFSIGNALED(r->status))
		snprintf(res->error, sizeof(res->error), "killed by signal %d",
			 WTERMSIG(r->status));
	else
		snprintf(res->error, sizeof(res->error), "exit status %d",
			 res->exit_status);
	tail_text(r, res->stderr_tail, sizeof(res->stderr_tail));
}

int hook_run(const char *exec, uint32_t timeout_ms, const struct hook_env *env,
	     const char *const *backends, size_t n, const char *settings,
	     struct cancel *cancel, struct hook_result *res)
{
	size_t len = strlen(settings), i, going = n;
	int64_t start = mono_ms(), left;
	bool timed_out = false;
	struct run *runs;
	int err = 0, status;

	memset(res, 0, sizeof(*res));
	res->exit_status = -1;
	if (!n)
		return 0;
	runs = calloc(n, sizeof(*runs));
	if (!runs)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		runs[i].in = runs[i].err = -1;
	for (i = 0; i < n && !err; i++) {
		err = spawn(exec, env, backends[i], &runs[i]);
		if (err) {
			res->failed = i;
			snprintf(res->error, sizeof(res->error),
				 "cannot run %s: %s", exec, strerror(-err));
		}
	}
	while (!err && going) {
		left = start + timeout_ms - mono_ms();
		if (cancel_requested(cancel)) {
			err = -ECANCELED;
			snprintf(res->error, sizeof(res->error), "cancelled");
			break;
		}
		if (left <= 0) {
			timed_out = true;
			break;
		}
		going = step(runs, n, settings, len,
			     left < HOOK_POLL_MS ? (int)left : HOOK_POLL_MS);
	}
	/* a timeout, a cancel or a failed start: nothing is left running */
	kill_all(runs, n);
	for (i = 0; i < n; i++) {
		if (runs[i].pid && !runs[i].exited &&
		    waitpid(runs[i].pid, &status, 0) == runs[i].pid) {
			runs[i].exited = true;
			runs[i].status = status;
		}
		drain(&runs[i]);
		close_fd(&runs[i].in);
		close_fd(&runs[i].err);
	}
	res->ms = (uint32_t)(mono_ms() - start);
	if (!err) {
		for (i = 0; i < n && !run_failed(&runs[i]); i++)
			;
		if (i < n) {
			describe(&runs[i], timeout_ms, timed_out, i, res);
			err = 1;
		}
	}
	free(runs);
	return err;
}
