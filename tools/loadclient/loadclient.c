/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * loadclient: the lab's HTTP/1.1 load client. Tests use it to prove that a
 * swap drops nothing: K keep-alive connections send GETs back to back while
 * R new connections per second each send one GET, and every answer is
 * checked for status, framing and version label. One thread, one epoll,
 * non-blocking sockets; the run ends at --duration whatever the server does.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "loadclient.h"

#define NS_PER_MS ((uint64_t)1000000)
#define NS_PER_S ((uint64_t)1000000000)
/* A keep-alive slot whose connect failed waits this long to retry. */
#define KA_RETRY_NS (20 * NS_PER_MS)
/* How long a new connection waits for the server to close first. */
#define LINGER_MAX_NS (1000 * NS_PER_MS)
/* Most new connections opened in one loop turn, so a stall cannot burst. */
#define SPAWN_BURST 256
#define RX_INITIAL 4096
#define RX_MAX (LC_HEAD_MAX + LC_BODY_MAX)

enum conn_state {
	CONN_IDLE, /* no socket: free, or a keep-alive slot waiting */
	CONN_CONNECTING, /* connect() in progress */
	CONN_SENDING, /* request partly written */
	CONN_READING, /* waiting for the complete response */
	CONN_LINGER, /* new connection answered; wait for server's FIN */
};

struct conn {
	int fd;
	uint32_t gen; /* bumped per socket: drops stale epoll events */
	enum lc_kind kind;
	int source; /* index of its --source address, -1: none */
	enum conn_state state;
	bool was_up; /* keep-alive slot had a connection before */
	uint64_t deadline_ns; /* connect, request or linger deadline */
	uint64_t retry_ns; /* keep-alive reconnect time while idle */
	size_t tx_off;
	char *rx;
	size_t rx_len;
	size_t rx_cap;
};

struct run {
	const struct lc_opts *o;
	int epfd;
	struct conn *conns; /* keep-alive slots first, then new connections */
	int nconns;
	int *free_new; /* stack of idle new-connection indexes */
	int nfree;
	char req_ka[2048];
	size_t req_ka_len;
	char req_new[2048];
	size_t req_new_len;
	uint64_t start_ns;
	uint64_t timeout_ns;
	int next_source; /* of the next new connection */
	struct lc_stats stats;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void record(struct run *run, struct conn *c, uint64_t now,
		   enum lc_reason reason, const char *version)
{
	lc_stats_record(&run->stats, now - run->start_ns, c->kind, c->source,
			reason, version);
}

static void conn_drop_fd(struct run *run, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(run->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = CONN_IDLE;
}

static int conn_connect(struct run *run, struct conn *c, uint64_t now);

/* A connection is over: a keep-alive slot reconnects, a new one is freed. */
static void conn_end(struct run *run, struct conn *c, uint64_t now,
		     uint64_t retry_delay)
{
	conn_drop_fd(run, c);
	if (c->kind == LC_NEW) {
		run->free_new[run->nfree++] = c - run->conns;
		return;
	}
	c->retry_ns = now + retry_delay;
	if (!retry_delay)
		conn_connect(run, c, now);
}

/* --log-errors: name a connect error on stderr, so a test that sees one
 * can say which connection failed how, and when (ms since the start). */
static void log_connect_error(const struct run *run, const struct conn *c,
			      uint64_t now, int err)
{
	struct sockaddr_storage local;
	socklen_t len = sizeof(local);
	int port = 0;

	if (c->fd >= 0 && !getsockname(c->fd, (struct sockaddr *)&local, &len))
		port = ntohs(
			local.ss_family == AF_INET6
				? ((struct sockaddr_in6 *)&local)->sin6_port
				: ((struct sockaddr_in *)&local)->sin_port);
	fprintf(stderr,
		"connect error at %" PRIu64 " ms: %s connection, "
		"local port %d: %s\n",
		(now - run->start_ns) / NS_PER_MS,
		c->kind == LC_NEW ? "new" : "keep-alive", port, strerror(err));
}

static void connect_failed(struct run *run, struct conn *c, uint64_t now,
			   int err)
{
	if (run->o->log_errors)
		log_connect_error(run, c, now, err);
	run->stats.connect_errors++;
	conn_end(run, c, now, KA_RETRY_NS);
}

/* The connection broke under a request or between requests. */
static void conn_broken(struct run *run, struct conn *c, uint64_t now, int err)
{
	if (err == ECONNRESET)
		run->stats.resets++;
	else if (err)
		run->stats.io_errors++;
	if (c->state == CONN_SENDING || c->state == CONN_READING)
		record(run, c, now, LC_FAIL_TRUNCATED, "");
	conn_end(run, c, now, 0);
}

static int conn_connect(struct run *run, struct conn *c, uint64_t now)
{
	const struct lc_opts *o = run->o;
	struct epoll_event ev = {0};
	int one = 1;
	int err = 0;

	c->fd = socket(o->addr.ss_family,
		       SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (c->source >= 0) {
		/* the port is picked at connect, per destination: many
		 * connections from one address need no port of their own */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
			   sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)&o->source[c->source],
			 o->source[c->source].ss_family == AF_INET
				 ? sizeof(struct sockaddr_in)
				 : sizeof(struct sockaddr_in6))) {
			err = -errno;
			goto out;
		}
	}
	c->gen++;
	c->state = CONN_CONNECTING;
	c->deadline_ns = now + run->timeout_ns;
	/* A connect that completes at once still reports EPOLLOUT below. */
	if (connect(c->fd, (const struct sockaddr *)&o->addr, o->addrlen) &&
	    errno != EINPROGRESS) {
		err = -errno;
		goto out;
	}
	ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
	ev.data.u64 = ((uint64_t)c->gen << 32) | (uint32_t)(c - run->conns);
	if (epoll_ctl(run->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		err = -errno;
out:
	if (err)
		connect_failed(run, c, now, -err);
	return err;
}

static void conn_send(struct run *run, struct conn *c, uint64_t now)
{
	const char *req = c->kind == LC_NEW ? run->req_new : run->req_ka;
	size_t len = c->kind == LC_NEW ? run->req_new_len : run->req_ka_len;
	ssize_t n;

	while (c->tx_off < len) {
		n = send(c->fd, req + c->tx_off, len - c->tx_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			conn_broken(run, c, now, errno);
			return;
		}
		c->tx_off += n;
	}
	c->state = CONN_READING;
}

static void start_request(struct run *run, struct conn *c, uint64_t now)
{
	c->state = CONN_SENDING;
	c->tx_off = 0;
	c->rx_len = 0;
	c->deadline_ns = now + run->timeout_ns;
	conn_send(run, c, now);
}

static void conn_established(struct run *run, struct conn *c, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		connect_failed(run, c, now, err);
		return;
	}
	if (c->kind == LC_KEEPALIVE) {
		if (c->was_up)
			run->stats.keepalive_reconnects++;
		c->was_up = true;
	}
	start_request(run, c, now);
}

/* A complete (or definitely failed) response; decide the next step. */
static void finish_response(struct run *run, struct conn *c, uint64_t now,
			    int parse_err, const struct lc_response *r,
			    bool eof)
{
	enum lc_reason reason;
	bool reuse;

	if (parse_err == -EPIPE)
		reason = LC_FAIL_TRUNCATED;
	else if (parse_err)
		reason = LC_FAIL_PARSE;
	else
		reason = lc_response_judge(r, run->o->expect_status,
					   &run->o->expect);
	record(run, c, now, reason, parse_err ? "" : lc_response_version(r));

	if (c->kind == LC_NEW) {
		if (eof || parse_err) {
			conn_end(run, c, now, 0);
			return;
		}
		/* Let the server close first so TIME_WAIT stays on its side. */
		c->state = CONN_LINGER;
		c->deadline_ns =
			now + (run->timeout_ns < LINGER_MAX_NS ? run->timeout_ns
							       : LINGER_MAX_NS);
		return;
	}
	/* Bytes past the response mean the stream is out of step. */
	reuse = !parse_err && !eof && !r->conn_close &&
		r->consumed == c->rx_len;
	if (!reuse) {
		conn_end(run, c, now, 0);
		return;
	}
	start_request(run, c, now);
}

static int rx_room(struct conn *c)
{
	size_t cap;
	char *p;

	if (c->rx_cap - c->rx_len > 0)
		return 0;
	if (c->rx_cap >= RX_MAX)
		return -EMSGSIZE;
	cap = c->rx_cap ? c->rx_cap * 2 : RX_INITIAL;
	if (cap > RX_MAX)
		cap = RX_MAX;
	p = realloc(c->rx, cap);
	if (!p)
		return -ENOMEM;
	c->rx = p;
	c->rx_cap = cap;
	return 0;
}

static void conn_read(struct run *run, struct conn *c, uint64_t now)
{
	struct lc_response r;
	bool eof = false;
	char sink[512];
	ssize_t n;
	int err;

	if (c->state == CONN_LINGER) {
		/* Drain until the server's FIN; anything else ends it too. */
		for (;;) {
			n = recv(c->fd, sink, sizeof(sink), 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0)
				break;
		}
		conn_end(run, c, now, 0);
		return;
	}
	/* Edge-triggered: read until EAGAIN or the next edge never comes. */
	for (;;) {
		err = rx_room(c);
		if (err) {
			finish_response(run, c, now, -EBADMSG, NULL, false);
			return;
		}
		n = recv(c->fd, c->rx + c->rx_len, c->rx_cap - c->rx_len, 0);
		if (n > 0) {
			c->rx_len += n;
			continue;
		}
		if (n == 0) {
			eof = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			break;
		conn_broken(run, c, now, errno);
		return;
	}
	err = lc_response_parse(c->rx, c->rx_len, eof, &r);
	if (err == -EAGAIN)
		return;
	finish_response(run, c, now, err, &r, eof);
}

static void conn_event(struct run *run, struct conn *c, uint32_t events,
		       uint64_t now)
{
	if (c->state == CONN_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		conn_established(run, c, now);
		/* An answer may already wait behind a fast send. */
		if (c->state == CONN_READING)
			conn_read(run, c, now);
		return;
	}
	if (c->state == CONN_SENDING) {
		conn_send(run, c, now);
		if (c->state == CONN_READING)
			conn_read(run, c, now);
		return;
	}
	/* Skip the EPOLLOUT edges that every ACK brings while reading. */
	if ((c->state == CONN_READING || c->state == CONN_LINGER) &&
	    (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)))
		conn_read(run, c, now);
}

static void spawn_new(struct run *run, uint64_t now)
{
	struct conn *c;

	if (!run->nfree) {
		run->stats.new_skipped++;
		return;
	}
	c = &run->conns[run->free_new[--run->nfree]];
	if (run->o->nsource) {
		c->source = run->next_source;
		run->next_source = (run->next_source + 1) % run->o->nsource;
	}
	conn_connect(run, c, now);
}

/* Deadlines and keep-alive retries; a linear scan at a coarse tick. */
static void scan_timers(struct run *run, uint64_t now)
{
	struct conn *c;
	int i;

	for (i = 0; i < run->nconns; i++) {
		c = &run->conns[i];
		switch (c->state) {
		case CONN_IDLE:
			if (c->kind == LC_KEEPALIVE && now >= c->retry_ns)
				conn_connect(run, c, now);
			break;
		case CONN_CONNECTING:
			if (now >= c->deadline_ns)
				connect_failed(run, c, now, ETIMEDOUT);
			break;
		case CONN_SENDING:
		case CONN_READING:
			if (now < c->deadline_ns)
				break;
			record(run, c, now, LC_FAIL_TIMEOUT, "");
			conn_end(run, c, now, 0);
			break;
		case CONN_LINGER:
			if (now >= c->deadline_ns)
				conn_end(run, c, now, 0);
			break;
		}
	}
}

static int run_loop(struct run *run)
{
	const struct lc_opts *o = run->o;
	uint64_t end, now, next_new, next_scan, tick, wake;
	uint64_t spawned = 0, gen;
	struct epoll_event evs[256];
	struct timespec wall;
	struct conn *c;
	int i, n, burst, wait_ms;

	tick = run->timeout_ns / 4 < 5 * NS_PER_MS ? run->timeout_ns / 4
						   : 5 * NS_PER_MS;
	run->start_ns = now_ns();
	clock_gettime(CLOCK_REALTIME, &wall);
	run->stats.start_wall_ms =
		(uint64_t)wall.tv_sec * 1000 + wall.tv_nsec / NS_PER_MS;
	end = run->start_ns + (uint64_t)(o->duration_s * NS_PER_S);
	next_new = o->new_rate > 0 ? run->start_ns : UINT64_MAX;
	next_scan = run->start_ns + tick;
	for (i = 0; i < o->keepalive; i++)
		conn_connect(run, &run->conns[i], run->start_ns);

	for (;;) {
		now = now_ns();
		if (now >= end || stop_requested)
			break;
		for (burst = 0; now >= next_new && burst < SPAWN_BURST;
		     burst++) {
			spawn_new(run, now);
			spawned++;
			/* Spread evenly: the i-th connection is due at i/R. */
			next_new =
				run->start_ns +
				(uint64_t)(spawned * (NS_PER_S / o->new_rate));
		}
		if (now >= next_scan) {
			scan_timers(run, now);
			next_scan = now + tick;
		}
		wake = end < next_new ? end : next_new;
		wake = wake < next_scan ? wake : next_scan;
		wait_ms = wake > now ? (int)((wake - now + NS_PER_MS - 1) /
					     NS_PER_MS)
				     : 0;
		n = epoll_wait(run->epfd, evs, 256, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		now = now_ns();
		for (i = 0; i < n; i++) {
			c = &run->conns[(uint32_t)evs[i].data.u64];
			gen = evs[i].data.u64 >> 32;
			if (c->fd < 0 || gen != c->gen)
				continue;
			conn_event(run, c, evs[i].events, now);
		}
	}

	now = now_ns();
	for (i = 0; i < run->nconns; i++) {
		c = &run->conns[i];
		if (c->state == CONN_CONNECTING || c->state == CONN_SENDING ||
		    c->state == CONN_READING)
			run->stats.abandoned++;
		conn_drop_fd(run, c);
	}
	lc_stats_finish(&run->stats, now - run->start_ns);
	return 0;
}

/* Room for every connection the options can have open at once. */
static int run_init(struct run *run, const struct lc_opts *o)
{
	uint64_t life_ms = o->timeout_ms * 2ULL + LINGER_MAX_NS / NS_PER_MS;
	int nnew = (int)ceil(o->new_rate * life_ms / 1000.0) + 64;
	struct rlimit rl;
	int i;

	memset(run, 0, sizeof(*run));
	run->epfd = -1;
	run->o = o;
	run->timeout_ns = o->timeout_ms * NS_PER_MS;
	/* Each connection is an fd: take the hard limit, cap the pool by it. */
	if (!getrlimit(RLIMIT_NOFILE, &rl)) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < (rlim_t)o->keepalive + 32)
			return -EMFILE;
		if (!o->new_rate)
			nnew = 0;
		else if ((rlim_t)(o->keepalive + nnew + 32) > rl.rlim_cur)
			nnew = (int)(rl.rlim_cur - o->keepalive - 32);
	}
	run->nconns = o->keepalive + nnew;
	run->conns = calloc(run->nconns, sizeof(*run->conns));
	run->free_new = calloc(nnew ? nnew : 1, sizeof(int));
	if (!run->conns || !run->free_new)
		return -ENOMEM;
	for (i = 0; i < run->nconns; i++) {
		run->conns[i].fd = -1;
		run->conns[i].kind = i < o->keepalive ? LC_KEEPALIVE : LC_NEW;
		/* a keep-alive slot keeps its address across reconnects */
		run->conns[i].source =
			o->nsource && i < o->keepalive ? i % o->nsource : -1;
	}
	for (i = run->nconns - 1; i >= o->keepalive; i--)
		run->free_new[run->nfree++] = i;
	run->req_ka_len = snprintf(run->req_ka, sizeof(run->req_ka),
				   "GET %s HTTP/1.1\r\nHost: %s\r\n"
				   "User-Agent: slotlb-loadclient\r\n\r\n",
				   o->path, o->target);
	run->req_new_len = snprintf(run->req_new, sizeof(run->req_new),
				    "GET %s HTTP/1.1\r\nHost: %s\r\n"
				    "User-Agent: slotlb-loadclient\r\n"
				    "Connection: close\r\n\r\n",
				    o->path, o->target);
	run->epfd = epoll_create1(EPOLL_CLOEXEC);
	return run->epfd < 0 ? -errno : 0;
}

static void run_free(struct run *run)
{
	int i;

	for (i = 0; i < run->nconns; i++)
		free(run->conns[i].rx);
	free(run->conns);
	free(run->free_new);
	if (run->epfd >= 0)
		close(run->epfd);
}

int main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_signal};
	struct lc_report_info info;
	FILE *events = NULL, *out = stdout;
	struct run run = {.epfd = -1};
	struct lc_opts o;
	int ret, err;

	ret = lc_parse_args(argc, argv, &o);
	if (ret)
		return ret;
	if (o.events_path) {
		events = fopen(o.events_path, "w");
		if (!events)
			return lc_usage_error("cannot open --events file: %s",
					      strerror(errno));
	}
	if (o.json_path) {
		out = fopen(o.json_path, "w");
		if (!out) {
			ret = lc_usage_error("cannot open --json file: %s",
					     strerror(errno));
			goto out;
		}
	}
	ret = 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	err = run_init(&run, &o);
	if (!err)
		err = lc_stats_init(&run.stats,
				    (uint64_t)(o.duration_s * NS_PER_S),
				    o.interval_ms * NS_PER_MS, events,
				    o.nsource, o.source_name);
	if (!err)
		err = run_loop(&run);
	if (err) {
		fprintf(stderr, "Error: loadclient: %s\n", strerror(-err));
		goto out;
	}
	info = (struct lc_report_info){
		.target = o.target,
		.path = o.path,
		.keepalive = o.keepalive,
		.new_rate = o.new_rate,
		.timeout_ms = o.timeout_ms,
		.max_gap = o.max_gap,
	};
	err = lc_stats_write_json(&run.stats, &info, out);
	if (events && (fflush(events) || ferror(events)))
		err = -EIO;
	if (err)
		fprintf(stderr, "Error: loadclient: writing results: %s\n",
			strerror(-err));
	else
		ret = 0;
out:
	run_free(&run);
	lc_stats_free(&run.stats);
	if (events)
		fclose(events);
	if (out != stdout && out)
		fclose(out);
	return ret;
}
