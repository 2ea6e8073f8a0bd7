/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * httpd: the lab's backend HTTP server (HTTP/1.1, keep-alive, pipelining,
 * a thread per connection). Every response names the deployment version
 * and backend that served it, so a test sees what the load balancer chose;
 * /stream sends a long, paced, reproducible body so a test can hold a
 * connection across a swap and check every byte arrived. docs/lab.md.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Request line plus headers; larger gets 431, as from a real server. */
#define HDR_MAX 8192
/* A silent keep-alive connection is closed after this long (by
 * default; --idle-timeout). */
#define IDLE_TIMEOUT_S 30
#define IDLE_TIMEOUT_MAX_S 3600
/* Enough for every test; beyond it new connections are refused. */
#define CONN_MAX 1024
/* Largest /stream body: far beyond any test, small enough for u64 math. */
#define STREAM_MAX (1ULL << 40)
/* Unpaced /stream write size. */
#define STREAM_CHUNK 65536
/* How long SIGTERM waits for requests in progress. */
#define DRAIN_MS 2000

static struct {
	struct sockaddr_storage listen;
	socklen_t listen_len;
	const char *version;
	double cold_start;
	const char *cold_until; /* 503 until this file exists */
	int status;
	const char *pidfile;
	const char *settings_file; /* served at /settings */
	bool quiet;
	uint64_t idle_timeout_s; /* a silent connection is closed after */
} cfg = {.version = "v0", .idle_timeout_s = IDLE_TIMEOUT_S};

static struct timespec started;
static volatile sig_atomic_t stopping;
static atomic_int conns;
static atomic_int busy;

struct request {
	char *method;
	char *target;
	bool keep_alive;
	uint64_t content_length;
	bool chunked;
};

/*
 * The /stream body: xorshift64* seeded with the body length, each 64-bit
 * output emitted little-endian. Documented in docs/lab.md so any tool can
 * regenerate it; `httpd --gen-body N` prints it.
 */
struct body_gen {
	uint64_t state;
	uint64_t word;
	unsigned int left;
};

static void body_init(struct body_gen *g, uint64_t n)
{
	g->state = n ^ 0x9e3779b97f4a7c15ULL;
	if (!g->state)
		g->state = 0x9e3779b97f4a7c15ULL;
	g->left = 0;
}

static void body_fill(struct body_gen *g, unsigned char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!g->left) {
			uint64_t x = g->state;

			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
			g->state = x;
			g->word = x * 0x2545f4914f6cdd1dULL;
			g->left = 8;
		}
		buf[i] = g->word & 0xff;
		g->word >>= 8;
		g->left--;
	}
}

static double since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "ADDR:PORT" or "[ADDR]:PORT". */
static int parse_listen(const char *s, struct sockaddr_storage *ss,
			socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon;
	uint64_t port;
	size_t n;

	colon = strrchr(s, ':');
	if (!colon || parse_u64(colon + 1, 65535, &port))
		return -EINVAL;
	n = colon - s;
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return inet_pton(AF_INET6, host + 1, &s6->sin6_addr) == 1
			       ? 0
			       : -EINVAL;
	}
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	*len = sizeof(*s4);
	return inet_pton(AF_INET, host, &s4->sin_addr) == 1 ? 0 : -EINVAL;
}

/* "a.b.c.d:p" or "[v6]:p"; v4-mapped (dual-stack listener) as v4. */
static void format_addr(const struct sockaddr_storage *ss, char *buf,
			size_t size)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
	bool v6 = ss->ss_family == AF_INET6;
	unsigned int port = ntohs(v6 ? s6->sin6_port : s4->sin_port);
	char host[INET6_ADDRSTRLEN];

	if (v6 && !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, port);
		return;
	}
	inet_ntop(AF_INET,
		  v6 ? (const void *)&s6->sin6_addr.s6_addr[12] : &s4->sin_addr,
		  host, sizeof(host));
	snprintf(buf, size, "%s:%u", host, port);
}

static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		p += n;
		len -= n;
	}
	return 0;
}

/* Reason phrases are for people reading traces; clients ignore them. */
static const char *const reasons[600] = {
	[200] = "OK",
	[400] = "Bad Request",
	[405] = "Method Not Allowed",
	[431] = "Request Header Fields Too Large",
	[501] = "Not Implemented",
	[503] = "Service Unavailable",
	[505] = "HTTP Version Not Supported"};

static const char *reason(int status)
{
	if (reasons[status])
		return reasons[status];
	return status >= 500   ? "Server Error"
	       : status >= 400 ? "Client Error"
			       : "OK";
}

struct conn {
	int fd;
	char self[INET6_ADDRSTRLEN + 8];
	char peer[INET6_ADDRSTRLEN + 8];
};

static void log_request(const struct conn *c, const struct request *r,
			int status, unsigned long long len)
{
	if (cfg.quiet)
		return;
	fprintf(stderr, "%s %s %s %d %llu\n", c->peer,
		r && r->method ? r->method : "-",
		r && r->target ? r->target : "-", status, len);
}

/* Status line and headers; `extra` is zero or more complete lines. */
static int send_head(const struct conn *c, int status,
		     unsigned long long length, bool keep_alive,
		     const char *type, const char *extra)
{
	char head[1024];
	int n;

	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\n"
		     "Server: slotlb-httpd\r\n"
		     "Content-Type: %s\r\n"
		     "Content-Length: %llu\r\n"
		     "X-Slotlb-Version: %s\r\n"
		     "X-Slotlb-Backend: %s\r\n"
		     "%s"
		     "Connection: %s\r\n\r\n",
		     status, reason(status), type, length, cfg.version, c->self,
		     extra ? extra : "", keep_alive ? "keep-alive" : "close");
	if (n < 0 || (size_t)n >= sizeof(head))
		return -EOVERFLOW;
	return send_all(c->fd, head, n);
}

static int send_simple(const struct conn *c, const struct request *r,
		       int status, const char *body, bool keep_alive,
		       bool head_only, const char *extra)
{
	size_t len = strlen(body);
	int err;

	log_request(c, r, status, len);
	err = send_head(c, status, len, keep_alive, "text/plain", extra);
	if (!err && !head_only)
		err = send_all(c->fd, body, len);
	return err;
}

/* Pace by absolute deadlines so sleep overshoot does not add up. */
static void pace(const struct timespec *t0, uint64_t sent, uint64_t rate)
{
	uint64_t ns = t0->tv_nsec + (unsigned __int128)sent * 1000000000 / rate;
	struct timespec due = {.tv_sec = t0->tv_sec + ns / 1000000000,
			       .tv_nsec = ns % 1000000000};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) ==
	       EINTR)
		;
}

static int send_stream(const struct conn *c, const struct request *r,
		       const char *query, bool head_only)
{
	unsigned char buf[STREAM_CHUNK];
	uint64_t bytes = UINT64_MAX, rate = 0, sent = 0, chunk;
	char q[256], *tok, *save = NULL;
	bool ok = strlen(query) < sizeof(q);
	struct body_gen g;
	struct timespec t0;
	int err = 0;

	strncpy(q, query, sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	for (tok = strtok_r(q, "&", &save); ok && tok;
	     tok = strtok_r(NULL, "&", &save)) {
		if (!strncmp(tok, "bytes=", 6))
			ok = !parse_u64(tok + 6, STREAM_MAX, &bytes);
		else if (!strncmp(tok, "rate=", 5))
			ok = !parse_u64(tok + 5, STREAM_MAX, &rate);
		else
			ok = false;
	}
	if (!ok || bytes == UINT64_MAX)
		return send_simple(c, r, 400, "query: bytes=N[&rate=R]\n",
				   r->keep_alive, head_only, NULL);

	log_request(c, r, 200, bytes);
	err = send_head(c, 200, bytes, r->keep_alive,
			"application/octet-stream", NULL);
	if (err || head_only)
		return err;
	/* ~20 writes a second when paced, so the rate is smooth. */
	chunk = rate ? rate / 20 + 1 : STREAM_CHUNK;
	if (chunk > STREAM_CHUNK)
		chunk = STREAM_CHUNK;
	body_init(&g, bytes);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!err && sent < bytes) {
		size_t n = bytes - sent < chunk ? bytes - sent : chunk;

		body_fill(&g, buf, n);
		err = send_all(c->fd, buf, n);
		sent += n;
		if (rate && sent < bytes)
			pace(&t0, sent, rate);
	}
	return err;
}

/* GET /settings: the file an apply-settings hook wrote for this backend,
 * read afresh on every request, so a test sees what the backend "runs
 * with" now; 404 while there is none. */
static int send_settings(const struct conn *c, const struct request *r,
			 bool head_only)
{
	char buf[65536];
	size_t n = 0;
	FILE *f = cfg.settings_file ? fopen(cfg.settings_file, "r") : NULL;
	int err;

	if (!f)
		return send_simple(c, r, 404, "no settings\n", r->keep_alive,
				   head_only, NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	log_request(c, r, 200, n);
	err = send_head(c, 200, n, r->keep_alive, "application/json", NULL);
	if (!err && !head_only)
		err = send_all(c->fd, buf, n);
	return err;
}

static int respond(const struct conn *c, const struct request *r)
{
	bool head = !strcmp(r->method, "HEAD");
	double age = since(&started);
	char body[512], extra[64], *query;

	if (!head && strcmp(r->method, "GET"))
		return send_simple(c, r, 405, "method not allowed\n",
				   r->keep_alive, false,
				   "Allow: GET, HEAD\r\n");
	if (age < cfg.cold_start ||
	    (cfg.cold_until && access(cfg.cold_until, F_OK))) {
		snprintf(body, sizeof(body), "%s %s cold start\n", cfg.version,
			 c->self);
		snprintf(extra, sizeof(extra), "Retry-After: %d\r\n",
			 age < cfg.cold_start ? (int)(cfg.cold_start - age) + 1
					      : 1);
		return send_simple(c, r, 503, body, r->keep_alive, head, extra);
	}
	snprintf(body, sizeof(body), "%s %s\n", cfg.version, c->self);
	if (!strcmp(r->target, "/settings"))
		return send_settings(c, r, head);
	if (cfg.status && cfg.status != 200)
		return send_simple(c, r, cfg.status, body, r->keep_alive, head,
				   NULL);
	query = strchr(r->target, '?');
	if (query)
		*query++ = '\0';
	if (!strcmp(r->target, "/stream"))
		return send_stream(c, r, query ? query : "", head);
	return send_simple(c, r, 200, body, r->keep_alive, head, NULL);
}

static bool is_token(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s))
			return false;
	return true;
}

/* Split off one line ending in LF (CR optional); NULL at the end. */
static char *next_line(char **p)
{
	char *line = *p, *lf;

	lf = strchr(line, '\n');
	if (!lf)
		return NULL;
	*lf = '\0';
	if (lf > line && lf[-1] == '\r')
		lf[-1] = '\0';
	*p = lf + 1;
	return line;
}

/* Parses the NUL-terminated head in place; returns 0 or an HTTP status. */
static int parse_request(char *head, struct request *r)
{
	char *p = head, *line, *version, *name, *value, *end;
	bool close = false, keep = false, has_len = false;
	uint64_t len;
	int minor;

	memset(r, 0, sizeof(*r));
	line = next_line(&p);
	if (!line)
		return 400;
	r->method = line;
	r->target = strchr(line, ' ');
	if (!r->target)
		return 400;
	*r->target++ = '\0';
	version = strchr(r->target, ' ');
	if (!version)
		return 400;
	*version++ = '\0';
	if (!is_token(r->method) || !*r->target || strchr(version, ' ') ||
	    (r->target[0] != '/' && strcmp(r->target, "*")))
		return 400;
	if (strncmp(version, "HTTP/", 5))
		return 400;
	if (!strcmp(version + 5, "1.1"))
		minor = 1;
	else if (!strcmp(version + 5, "1.0"))
		minor = 0;
	else
		return version[5] >= '0' && version[5] <= '9' ? 505 : 400;

	while ((line = next_line(&p)) && *line) {
		value = strchr(line, ':');
		if (!value)
			return 400;
		*value++ = '\0';
		name = line;
		/* Whitespace before the colon or obs-fold: RFC 9112 400. */
		if (!is_token(name))
			return 400;
		value += strspn(value, " \t");
		end = value + strlen(value);
		while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!strcasecmp(name, "Content-Length")) {
			if (parse_u64(value, UINT64_MAX, &len) ||
			    (has_len && len != r->content_length))
				return 400;
			r->content_length = len;
			has_len = true;
		} else if (!strcasecmp(name, "Transfer-Encoding")) {
			r->chunked = true;
		} else if (!strcasecmp(name, "Connection")) {
			if (strcasestr(value, "close"))
				close = true;
			if (strcasestr(value, "keep-alive"))
				keep = true;
		}
	}
	r->keep_alive = minor ? !close : keep && !close;
	return r->chunked ? 501 : 0;
}

/* Start of the body, or NULL while the head is incomplete. */
static char *head_end(char *buf, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++)
		if (buf[i] == '\n' &&
		    (buf[i - 1] == '\n' ||
		     (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n')))
			return buf + i + 1;
	return NULL;
}

/* Reads and drops a request body, first from what is buffered. */
static int discard_body(int fd, size_t len, size_t *used, uint64_t n)
{
	size_t have = len - *used < n ? len - *used : n;
	char sink[4096];
	ssize_t got;

	*used += have;
	n -= have;
	while (n) {
		got = recv(fd, sink, n < sizeof(sink) ? n : sizeof(sink), 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -EPIPE;
		n -= got;
	}
	return 0;
}

/* Returns true when the server, not the client, ends the connection. */
static bool serve(struct conn *c)
{
	char buf[HDR_MAX + 1];
	size_t len = 0, used;
	struct request r;
	char *body;
	ssize_t n;
	int status;

	for (;;) {
		body = head_end(buf, len);
		if (!body) {
			if (len >= HDR_MAX) {
				send_simple(c, NULL, 431, "header too large\n",
					    false, false, NULL);
				break;
			}
			n = recv(c->fd, buf + len, HDR_MAX - len, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return false;
			len += n;
			continue;
		}
		body[-1] = '\0';
		used = body - buf;
		status = parse_request(buf, &r);
		if (status) {
			send_simple(c, NULL, status, "bad request\n", false,
				    false, NULL);
			break;
		}
		atomic_fetch_add(&busy, 1);
		if (discard_body(c->fd, len, &used, r.content_length) ||
		    respond(c, &r))
			r.keep_alive = false;
		atomic_fetch_sub(&busy, 1);
		if (!r.keep_alive || stopping)
			break;
		/* Pipelined requests already read move to the front. */
		memmove(buf, buf + used, len - used);
		len -= used;
	}
	return true;
}

/*
 * Closing with unread input sends a RST that can destroy the response (a
 * 400, say) unread: drain first, as Apache's lingering close does.
 */
static void linger_close(int fd)
{
	struct timeval tv = {.tv_sec = 1};
	char sink[4096];
	int i;

	shutdown(fd, SHUT_WR);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (i = 0; i < 64 && recv(fd, sink, sizeof(sink), 0) > 0; i++)
		;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;

	if (serve(c))
		linger_close(c->fd);
	close(c->fd);
	free(c);
	atomic_fetch_sub(&conns, 1);
	return NULL;
}

static int start_conn(int fd, const struct sockaddr_storage *peer)
{
	struct timeval tv = {.tv_sec = (time_t)cfg.idle_timeout_s};
	struct sockaddr_storage self;
	socklen_t len = sizeof(self);
	pthread_attr_t attr;
	struct conn *c;
	pthread_t t;
	int one = 1, err = -ENOMEM;

	if (atomic_fetch_add(&conns, 1) >= CONN_MAX) {
		err = -EMFILE;
		goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	c->fd = fd;
	getsockname(fd, (struct sockaddr *)&self, &len);
	format_addr(&self, c->self, sizeof(c->self));
	format_addr(peer, c->peer, sizeof(c->peer));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* Paced /stream chunks should leave at once, not wait for acks. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 512 * 1024);
	err = -pthread_create(&t, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (err)
		free(c);
out:
	if (err) {
		atomic_fetch_sub(&conns, 1);
		close(fd);
	}
	return err;
}

static int listen_open(void)
{
	int one = 1, zero = 0, fd, err;

	fd = socket(cfg.listen.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* [::] serves both families, so one server covers v4 and v6. */
	if (cfg.listen.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&cfg.listen, cfg.listen_len) ||
	    listen(fd, 128)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int write_pidfile(const char *path)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f)
		return -errno;
	err = fprintf(f, "%d\n", (int)getpid()) < 0 ? -EIO : 0;
	if (fclose(f) && !err)
		err = -EIO;
	return err;
}

/* Accepts until SIGTERM/SIGINT, which only ppoll may take. */
static int serve_forever(int lfd, const sigset_t *wait_mask)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};
	struct sockaddr_storage peer;
	socklen_t len;
	int fd, i;

	while (!stopping) {
		if (ppoll(&pfd, 1, NULL, wait_mask) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &len, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		start_conn(fd, &peer);
	}
	close(lfd);
	for (i = 0; atomic_load(&busy) && i < DRAIN_MS / 10; i++)
		usleep(10000);
	return 0;
}

static int bad_option(const char *name, const char *arg, const char *what)
{
	fprintf(stderr, "Error: %s: '%s' is not %s\n", name, arg, what);
	return 2;
}

static int gen_body(const char *arg)
{
	unsigned char buf[STREAM_CHUNK];
	uint64_t n, left;
	struct body_gen g;

	if (parse_u64(arg, STREAM_MAX, &n))
		return bad_option("gen-body", arg, "a byte count");
	body_init(&g, n);
	for (left = n; left;) {
		size_t k = left < sizeof(buf) ? left : sizeof(buf);

		body_fill(&g, buf, k);
		if (fwrite(buf, 1, k, stdout) != k)
			return 1;
		left -= k;
	}
	return fflush(stdout) ? 1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: httpd [--listen ADDR:PORT|[ADDR]:PORT] [--version LABEL]\n"
		"             [--cold-start SECONDS] [--cold-until FILE] [--status CODE]\n"
		"             [--pidfile FILE] [--quiet] [--idle-timeout SECONDS]\n"
		"             [--settings-file FILE]\n"
		"       httpd --gen-body BYTES\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"listen", required_argument, NULL, 'l'},
		{"version", required_argument, NULL, 'v'},
		{"cold-start", required_argument, NULL, 'c'},
		{"cold-until", required_argument, NULL, 'u'},
		{"status", required_argument, NULL, 's'},
		{"pidfile", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"settings-file", required_argument, NULL, 'S'},
		{"gen-body", required_argument, NULL, 'g'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{}};
	struct sigaction sa = {.sa_handler = on_signal};
	sigset_t block, orig;
	uint64_t status;
	char *end;
	int opt, lfd, err, rc = 1;

	parse_listen("[::]:8080", &cfg.listen, &cfg.listen_len);
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			if (parse_listen(optarg, &cfg.listen, &cfg.listen_len))
				return bad_option("listen", optarg,
						  "ADDR:PORT or [ADDR]:PORT");
			break;
		case 'v':
			if (strpbrk(optarg, "\r\n") || strlen(optarg) > 128)
				return bad_option(
					"version", optarg,
					"a label of 1 line, <= 128 bytes");
			cfg.version = optarg;
			break;
		case 'c':
			cfg.cold_start = strtod(optarg, &end);
			if (*end || !(cfg.cold_start >= 0))
				return bad_option("cold-start", optarg,
						  "a number of seconds");
			break;
		case 'u':
			cfg.cold_until = optarg;
			break;
		case 's':
			/* 204 and 304 carry no body, which every route has. */
			if (parse_u64(optarg, 599, &status) || status < 200 ||
			    status == 204 || status == 304)
				return bad_option(
					"status", optarg,
					"a status in 200-599 but 204, 304");
			cfg.status = status;
			break;
		case 'p':
			cfg.pidfile = optarg;
			break;
		case 'q':
			cfg.quiet = true;
			break;
		case 'S':
			cfg.settings_file = optarg;
			break;
		case 'g':
			return gen_body(optarg);
		case 'i':
			if (parse_u64(optarg, IDLE_TIMEOUT_MAX_S,
				      &cfg.idle_timeout_s) ||
			    !cfg.idle_timeout_s)
				return bad_option("idle-timeout", optarg,
						  "whole seconds, 1..3600");
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	clock_gettime(CLOCK_MONOTONIC, &started);
	signal(SIGPIPE, SIG_IGN);
	/* Only the accept loop sees SIGTERM, inside ppoll. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	lfd = listen_open();
	if (lfd < 0) {
		fprintf(stderr, "Error: listen: %s\n", strerror(-lfd));
		goto out;
	}
	err = cfg.pidfile ? write_pidfile(cfg.pidfile) : 0;
	if (err) {
		fprintf(stderr, "Error: pidfile %s: %s\n", cfg.pidfile,
			strerror(-err));
		close(lfd);
		cfg.pidfile = NULL;
		goto out;
	}
	err = serve_forever(lfd, &orig);
	if (err)
		fprintf(stderr, "Error: accept: %s\n", strerror(-err));
	rc = err ? 1 : 0;
out:
	if (cfg.pidfile)
		unlink(cfg.pidfile);
	return rc;
}
