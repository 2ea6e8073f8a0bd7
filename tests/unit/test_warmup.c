/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Warm-up against real sockets: small HTTP servers on 127.0.0.1 (and ::1
 * when the host has it), each an accept loop with a thread per connection,
 * answer with a canned status, answer late, or never answer. Checks every
 * failure sentence, retries, the overall deadline, and that backends are
 * probed concurrently.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "warmup.h"

#define MAX_CONNS 64

enum behaviour {
	ANSWER, /* status after delay_ms; 503 for the first fail_first */
	SILENT, /* accept, read, never answer */
};

struct server {
	int fd;
	int port;
	enum behaviour behaviour;
	int status;
	int delay_ms;
	int fail_first;
	atomic_int hits;
	atomic_bool stop;
	char request_line[256];
	char host[256]; /* the Host header's value */
	pthread_mutex_t lock;
	pthread_t acceptor;
	pthread_t conns[MAX_CONNS];
	int conn_fds[MAX_CONNS];
	int n_conns;
};

struct conn {
	struct server *srv;
	int fd;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleeps up to ms, returning early once the server is told to stop. */
static void nap(struct server *s, int ms)
{
	while (ms > 0 && !atomic_load(&s->stop)) {
		usleep(10000);
		ms -= 10;
	}
}

static void *serve_conn(void *arg)
{
	struct server *s = ((struct conn *)arg)->srv;
	int fd = ((struct conn *)arg)->fd;
	char buf[2048] = "", out[256], *host;
	size_t len = 0;
	int hit, status;

	free(arg);
	while (len < sizeof(buf) - 1 && !strstr(buf, "\r\n\r\n")) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (atomic_load(&s->stop))
			return NULL;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			return NULL; /* TCP probes close without a request */
		len += (size_t)r;
		buf[len] = '\0';
	}
	hit = atomic_fetch_add(&s->hits, 1) + 1;
	pthread_mutex_lock(&s->lock);
	snprintf(s->request_line, sizeof(s->request_line), "%.*s",
		 (int)strcspn(buf, "\r\n"), buf);
	host = strstr(buf, "\r\nHost: ");
	if (host) {
		host += strlen("\r\nHost: ");
		snprintf(s->host, sizeof(s->host), "%.*s",
			 (int)strcspn(host, "\r\n"), host);
	}
	pthread_mutex_unlock(&s->lock);
	if (s->behaviour == SILENT) {
		nap(s, 60000);
		return NULL;
	}
	nap(s, s->delay_ms);
	status = hit <= s->fail_first ? 503 : s->status;
	snprintf(out, sizeof(out),
		 "HTTP/1.1 %d Canned\r\nContent-Length: 2\r\n"
		 "Location: /elsewhere\r\nConnection: close\r\n\r\nok",
		 status);
	if (write(fd, out, strlen(out)) < 0)
		return NULL;
	return NULL;
}

static void *accept_loop(void *arg)
{
	struct server *s = arg;

	while (!atomic_load(&s->stop)) {
		struct pollfd pfd = {.fd = s->fd, .events = POLLIN};
		struct conn *c;
		int fd;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fd = accept(s->fd, NULL, NULL);
		if (fd < 0)
			continue;
		c = malloc(sizeof(*c));
		if (!c || s->n_conns == MAX_CONNS) {
			free(c);
			close(fd);
			continue;
		}
		c->srv = s;
		c->fd = fd;
		s->conn_fds[s->n_conns] = fd;
		if (pthread_create(&s->conns[s->n_conns], NULL, serve_conn,
				   c)) {
			free(c);
			close(fd);
			continue;
		}
		s->n_conns++;
	}
	return NULL;
}

/* Binds an ephemeral port on the loopback address of family; -1 if the
 * family is unavailable. */
static int listen_loopback(int family, int *port)
{
	struct sockaddr_storage ss = {0};
	socklen_t len = sizeof(ss);
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	}
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64) ||
	    getsockname(fd, (struct sockaddr *)&ss, &len)) {
		close(fd);
		return -1;
	}
	*port = ntohs(family == AF_INET
			      ? ((struct sockaddr_in *)&ss)->sin_port
			      : ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

static struct server *server_start(int family, enum behaviour b, int status,
				   int delay_ms, int fail_first)
{
	struct server *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->fd = listen_loopback(family, &s->port);
	if (s->fd < 0) {
		free(s);
		return NULL;
	}
	s->behaviour = b;
	s->status = status;
	s->delay_ms = delay_ms;
	s->fail_first = fail_first;
	pthread_mutex_init(&s->lock, NULL);
	assert_int_equal(pthread_create(&s->acceptor, NULL, accept_loop, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	int i;

	atomic_store(&s->stop, true);
	pthread_join(s->acceptor, NULL);
	for (i = 0; i < s->n_conns; i++) {
		pthread_join(s->conns[i], NULL);
		close(s->conn_fds[i]);
	}
	close(s->fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void target_of(struct warmup_target *t, int family, int port)
{
	snprintf(t->address, sizeof(t->address),
		 family == AF_INET ? "127.0.0.1:%d" : "[::1]:%d", port);
}

/* A port nobody listens on: bound to learn a free number, then closed. */
static int closed_port(void)
{
	int port, fd = listen_loopback(AF_INET, &port);

	assert_true(fd >= 0);
	close(fd);
	return port;
}

static void fast_policy(struct warmup_policy *p)
{
	warmup_policy_default(p);
	p->timeout_ms = 2000;
	p->retries = 0;
	p->retry_delay_ms = 50;
}

/* Runs one target and returns its result. */
static int run_one(const struct warmup_policy *p, int family, int port,
		   struct warmup_result *r)
{
	struct warmup_target t;

	target_of(&t, family, port);
	return warmup_run(p, &t, 1, r, NULL, NULL, NULL);
}

static void test_defaults_are_azures(void **state)
{
	struct warmup_policy p;

	(void)state;
	warmup_policy_default(&p);
	assert_int_equal(p.mode, WARMUP_HTTP);
	assert_string_equal(p.path, "/");
	assert_int_equal(p.n_statuses, 0);
	assert_int_equal(p.timeout_ms, 90000);
	assert_int_equal(p.retries, 5);
	assert_int_equal(p.retry_delay_ms, 1000);
	assert_int_equal(validate_warmup_policy(&p, NULL), 0);
	/* No list: any status counts, redirects and errors included. */
	assert_true(warmup_status_accepted(&p, 200));
	assert_true(warmup_status_accepted(&p, 302));
	assert_true(warmup_status_accepted(&p, 503));
}

/* The policy's rules are test_validate.c's; warm-up refuses a policy
 * they refuse before probing anything. */
static void test_run_refuses_bad_policy(void **state)
{
	struct warmup_policy p;

	(void)state;
	warmup_policy_default(&p);
	p.mode = 7;
	assert_int_equal(warmup_run(&p, NULL, 0, NULL, NULL, NULL, NULL),
			 -EINVAL);
	warmup_policy_default(&p);
	p.timeout_ms = 0;
	assert_int_equal(warmup_run(&p, NULL, 0, NULL, NULL, NULL, NULL),
			 -EINVAL);
}

static void test_http_ok_sends_path(void **state)
{
	struct server *s = server_start(AF_INET, ANSWER, 200, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	fast_policy(&p);
	strcpy(p.path, "/healthz?deep=1");
	assert_int_equal(validate_warmup_statuses("200", &p, NULL), 0);
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.error, "");
	assert_string_equal(s->request_line, "GET /healthz?deep=1 HTTP/1.1");
	server_stop(s);
}

static void test_status_not_listed(void **state)
{
	struct server *s = server_start(AF_INET, ANSWER, 503, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	fast_policy(&p);
	p.retries = 2;
	assert_int_equal(validate_warmup_statuses("200", &p, NULL), 0);
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 1);
	assert_false(r.ok);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(atomic_load(&s->hits), 3);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.error, "status 503 not in 200");

	/* Azure's default: any status means the backend is up. */
	p.n_statuses = 0;
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.status, 503);
	server_stop(s);
}

static void test_redirect_is_a_status(void **state)
{
	struct server *s = server_start(AF_INET, ANSWER, 302, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	fast_policy(&p);
	assert_int_equal(validate_warmup_statuses("200,202", &p, NULL), 0);
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 1);
	assert_int_equal(r.status, 302);
	assert_string_equal(r.error, "status 302 not in 200,202");
	/* Not followed: one request reached the server. */
	assert_int_equal(atomic_load(&s->hits), 1);
	assert_string_equal(s->request_line, "GET / HTTP/1.1");

	assert_int_equal(validate_warmup_statuses("302", &p, NULL), 0);
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_int_equal(atomic_load(&s->hits), 2);
	server_stop(s);
}

static void test_connection_refused(void **state)
{
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	fast_policy(&p);
	assert_int_equal(run_one(&p, AF_INET, closed_port(), &r), 1);
	assert_false(r.ok);
	assert_int_equal(r.attempts, 1);
	assert_int_equal(r.status, 0);
	assert_string_equal(r.error, "connection refused");

	p.mode = WARMUP_TCP;
	assert_int_equal(run_one(&p, AF_INET, closed_port(), &r), 1);
	assert_string_equal(r.error, "connection refused");
}

static void test_timeout(void **state)
{
	struct server *s = server_start(AF_INET, SILENT, 0, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;
	uint64_t t0;

	(void)state;
	fast_policy(&p);
	p.timeout_ms = 300;
	p.retries = 1;
	p.retry_delay_ms = 100;
	t0 = now_ms();
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 1);
	assert_int_equal(r.attempts, 2);
	assert_string_equal(r.error, "timed out after 300 ms");
	/* Two attempts of 300 ms and one pause of 100 ms. */
	assert_true(now_ms() - t0 >= 650);
	assert_true(now_ms() - t0 < 2000);
	assert_true(r.ms >= 650);

	/* A listener that never answers still passes a TCP probe. */
	p.mode = WARMUP_TCP;
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.attempts, 1);
	server_stop(s);
}

static void test_retry_until_ok(void **state)
{
	struct server *s = server_start(AF_INET, ANSWER, 200, 0, 2);
	struct warmup_policy p;
	struct warmup_result r;
	uint64_t t0;

	(void)state;
	fast_policy(&p);
	p.retries = 5;
	p.retry_delay_ms = 200;
	assert_int_equal(validate_warmup_statuses("200", &p, NULL), 0);
	t0 = now_ms();
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(r.ok);
	assert_int_equal(r.attempts, 3);
	assert_int_equal(r.status, 200);
	/* The delay separates attempts: two pauses before the third. */
	assert_true(now_ms() - t0 >= 400);
	server_stop(s);
}

static void test_deadline(void **state)
{
	struct server *s = server_start(AF_INET, SILENT, 0, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;
	uint64_t t0, took;

	(void)state;
	fast_policy(&p);
	p.timeout_ms = 5000;
	p.retries = 5;
	p.deadline_ms = 500;
	t0 = now_ms();
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 1);
	took = now_ms() - t0;
	assert_true(took >= 450 && took < 1500);
	assert_int_equal(r.attempts, 1);
	assert_string_equal(r.error, "deadline of 500 ms reached");
	server_stop(s);
}

static void count_progress(const struct warmup_target *t,
			   const struct warmup_result *r, void *ctx)
{
	(void)t;
	assert_true(r->attempts >= 1);
	(*(int *)ctx)++;
}

static void test_concurrent(void **state)
{
	enum { N = 10 };
	struct server *s[N];
	struct warmup_target t[N];
	struct warmup_result r[N];
	struct warmup_policy p;
	uint64_t t0, took;
	int i, calls = 0;

	(void)state;
	for (i = 0; i < N; i++) {
		s[i] = server_start(AF_INET, ANSWER, 200, 1000, 0);
		target_of(&t[i], AF_INET, s[i]->port);
	}
	fast_policy(&p);
	p.timeout_ms = 5000;
	t0 = now_ms();
	assert_int_equal(warmup_run(&p, t, N, r, count_progress, &calls, NULL),
			 0);
	took = now_ms() - t0;
	printf("# %d backends answering after 1 s warmed up in %llu ms\n", N,
	       (unsigned long long)took);
	assert_true(took >= 1000 && took < 3000);
	assert_int_equal(calls, N);
	for (i = 0; i < N; i++) {
		assert_true(r[i].ok);
		assert_true(r[i].ms >= 1000);
		server_stop(s[i]);
	}
}

static void test_one_bad_backend_fails_all(void **state)
{
	struct server *good = server_start(AF_INET, ANSWER, 200, 0, 0);
	struct warmup_target t[2];
	struct warmup_result r[2];
	struct warmup_policy p;
	int calls = 0;

	(void)state;
	fast_policy(&p);
	p.retries = 1;
	target_of(&t[0], AF_INET, good->port);
	target_of(&t[1], AF_INET, closed_port());
	assert_int_equal(warmup_run(&p, t, 2, r, count_progress, &calls, NULL),
			 1);
	assert_true(r[0].ok);
	assert_false(r[1].ok);
	assert_int_equal(r[1].attempts, 2);
	assert_string_equal(r[1].error, "connection refused");
	assert_int_equal(calls, 3);
	server_stop(good);
}

/* A host name goes out as Host, while the probe still connects to the
 * backend's own address. */
static void test_host_header(void **state)
{
	struct server *s = server_start(AF_INET, ANSWER, 200, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	fast_policy(&p);
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(strncmp(s->host, "127.0.0.1:", 10) == 0);
	strcpy(p.host, "www.example.com");
	strcpy(p.path, "/ready");
	assert_int_equal(run_one(&p, AF_INET, s->port, &r), 0);
	assert_true(r.ok);
	assert_string_equal(s->host, "www.example.com");
	assert_string_equal(s->request_line, "GET /ready HTTP/1.1");
	server_stop(s);
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

/* A cancel request cuts an attempt that would wait 30 s at once. */
static void test_cancel(void **state)
{
	struct server *s = server_start(AF_INET, SILENT, 0, 0, 0);
	struct server *good = server_start(AF_INET, ANSWER, 200, 0, 0);
	struct warmup_target t[2];
	struct warmup_result r[2];
	struct warmup_policy p;
	struct canceller k;
	struct cancel c;
	pthread_t tid;
	uint64_t t0, took;
	char by[32];

	(void)state;
	fast_policy(&p);
	p.timeout_ms = 30000;
	p.retries = 3;
	target_of(&t[0], AF_INET, good->port);
	target_of(&t[1], AF_INET, s->port);
	cancel_init(&c);
	k.c = &c;
	k.after_ms = 300;
	t0 = now_ms();
	assert_int_equal(pthread_create(&tid, NULL, cancel_later, &k), 0);
	assert_int_equal(warmup_run(&p, t, 2, r, NULL, NULL, &c), -ECANCELED);
	took = now_ms() - t0;
	pthread_join(tid, NULL);
	printf("# cancelled after 300 ms, returned after %llu ms\n",
	       (unsigned long long)took);
	assert_true(took >= 300 && took < 1000);
	assert_true(r[0].ok);
	assert_false(r[1].ok);
	assert_string_equal(r[1].error, "cancelled");
	cancel_by(&c, by, sizeof(by));
	assert_string_equal(by, "test");
	/* cancelled before it starts: nothing is probed */
	assert_int_equal(warmup_run(&p, t, 2, r, NULL, NULL, &c), -ECANCELED);
	cancel_destroy(&c);
	server_stop(s);
	server_stop(good);
}

/* HTTPS: a plain HTTP backend fails the TLS handshake; a TLS one
 * (openssl s_server, when the host has openssl) passes, its self-signed
 * certificate not being verified. */
static void test_https(void **state)
{
	struct server *plain = server_start(AF_INET, ANSWER, 200, 0, 0);
	char dir[] = "/tmp/test_warmup.XXXXXX", cmd[512];
	struct warmup_policy p;
	struct warmup_result r;
	int port, i, rc = 1;
	pid_t pid;

	(void)state;
	fast_policy(&p);
	p.mode = WARMUP_HTTPS;
	assert_int_equal(run_one(&p, AF_INET, plain->port, &r), 1);
	assert_false(r.ok);
	assert_int_equal(r.status, 0);
	printf("# https against a plain server: %s\n", r.error);
	assert_true(r.error[0] != 0);
	server_stop(plain);

	if (system("command -v openssl >/dev/null 2>&1"))
		skip();
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt "
		 "ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=test "
		 "-keyout %s/key -out %s/cert 2>/dev/null",
		 dir, dir);
	assert_int_equal(system(cmd), 0);
	port = closed_port();
	fflush(stdout);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char acc[16], cert[64], key[64];

		snprintf(acc, sizeof(acc), "%d", port);
		snprintf(cert, sizeof(cert), "%s/cert", dir);
		snprintf(key, sizeof(key), "%s/key", dir);
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execlp("openssl", "openssl", "s_server", "-quiet", "-www",
		       "-accept", acc, "-cert", cert, "-key", key,
		       (char *)NULL);
		_exit(127);
	}
	p.n_statuses = 0;
	assert_int_equal(validate_warmup_statuses("200", &p, NULL), 0);
	strcpy(p.host, "www.example.com");
	/* s_server takes a moment to listen */
	for (i = 0; i < 50 && rc; i++) {
		rc = run_one(&p, AF_INET, port, &r);
		if (rc)
			usleep(100000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	printf("# https against openssl s_server: %s, status %d\n",
	       rc ? r.error : "ok", r.status);
	assert_int_equal(rc, 0);
	assert_int_equal(r.status, 200);
}

static void test_ipv6(void **state)
{
	struct server *s = server_start(AF_INET6, ANSWER, 204, 0, 0);
	struct warmup_policy p;
	struct warmup_result r;

	(void)state;
	if (!s)
		skip();
	fast_policy(&p);
	assert_int_equal(run_one(&p, AF_INET6, s->port, &r), 0);
	assert_int_equal(r.status, 204);
	p.mode = WARMUP_TCP;
	assert_int_equal(run_one(&p, AF_INET6, s->port, &r), 0);
	server_stop(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_azures),
		cmocka_unit_test(test_run_refuses_bad_policy),
		cmocka_unit_test(test_http_ok_sends_path),
		cmocka_unit_test(test_status_not_listed),
		cmocka_unit_test(test_redirect_is_a_status),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_retry_until_ok),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_one_bad_backend_fails_all),
		cmocka_unit_test(test_host_header),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_https),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
