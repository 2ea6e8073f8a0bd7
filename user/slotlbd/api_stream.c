/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * NDJSON answers (?progress=1) and the watch on a client's connection.
 *
 * A stream: a worker thread appends lines while libmicrohttpd's
 * connection thread reads them out (its reader callback waits for the
 * next line); both hold a reference, the last one frees it.
 *
 * A watch: while an operation that can be cancelled runs for a client,
 * a thread looks at the client's connection every 100 ms; if the client
 * went away (its end closed: POLLRDHUP/POLLHUP), the operation is
 * cancelled, since nobody waits for its outcome any more.
 */
#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *buf;
	size_t len, off;
	bool done;
	int refs;
	stream_work work;
	void *arg;
};

static void stream_unref(struct stream *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	free(s->buf);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s);
}

void stream_put(struct stream *s, json_t *line, bool done)
{
	char *text = json_dumps(line, JSON_COMPACT);
	size_t l = text ? strlen(text) : 0;
	char *grown;

	json_decref(line);
	pthread_mutex_lock(&s->lock);
	grown = text ? realloc(s->buf, s->len + l + 1) : NULL;
	if (grown) {
		s->buf = grown;
		memcpy(s->buf + s->len, text, l);
		s->buf[s->len + l] = '\n';
		s->len += l + 1;
	}
	s->done = s->done || done;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	free(text);
}

void stream_probe(const struct warmup_target *t,
		  const struct warmup_result *so_far, void *ctx)
{
	stream_put(ctx,
		   json_pack("{s:s, s:s, s:I, s:b, s:I, s:I, s:s?}", "event",
			     "probe", "backend", t->address, "attempt",
			     (json_int_t)so_far->attempts, "ok", so_far->ok,
			     "status", (json_int_t)so_far->status, "ms",
			     (json_int_t)so_far->ms, "error",
			     so_far->error[0] ? so_far->error : NULL),
		   false);
}

static void *stream_worker(void *arg)
{
	struct stream *s = arg;

	s->work(s, s->arg);
	/* a worker that forgot its last line must not hang the reader */
	stream_put(s, NULL, true);
	stream_unref(s);
	return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *s = cls;
	ssize_t n;

	(void)pos;
	pthread_mutex_lock(&s->lock);
	while (s->off == s->len && !s->done)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->off == s->len) {
		pthread_mutex_unlock(&s->lock);
		return MHD_CONTENT_READER_END_OF_STREAM;
	}
	n = (ssize_t)(s->len - s->off < max ? s->len - s->off : max);
	memcpy(buf, s->buf + s->off, (size_t)n);
	s->off += (size_t)n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static void stream_free(void *cls)
{
	stream_unref(cls);
}

bool stream_start(struct reply *r, json_t *first, stream_work work, void *arg)
{
	struct stream *s = calloc(1, sizeof(*s));
	pthread_t tid;

	if (!s)
		return false;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->refs = 2;
	s->work = work;
	s->arg = arg;
	/* the first line, before the worker may write one */
	if (first)
		stream_put(s, json_incref(first), false);
	r->stream = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
	if (!r->stream) {
		stream_unref(s);
		stream_unref(s);
		return false;
	}
	if (pthread_create(&tid, NULL, stream_worker, s)) {
		MHD_destroy_response(r->stream); /* drops one reference */
		stream_unref(s);
		r->stream = NULL;
		return false;
	}
	pthread_detach(tid);
	r->status = 200;
	return true;
}

static void *watch(void *arg)
{
	struct watcher *w = arg;
	struct pollfd pfd = {.fd = w->fd, .events = POLLRDHUP};

	while (!atomic_load(&w->stop)) {
		if (poll(&pfd, 1, 100) <= 0)
			continue;
		if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) {
			ops_cancel_running(w->d, w->app_id,
					   "client disconnected");
			break;
		}
	}
	return NULL;
}

void watch_start(struct watcher *w, struct daemon *d,
		 struct MHD_Connection *conn, uint32_t app_id)
{
	const union MHD_ConnectionInfo *ci;

	memset(w, 0, sizeof(*w));
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return;
	w->d = d;
	w->app_id = app_id;
	w->fd = ci->connect_fd;
	atomic_init(&w->stop, false);
	w->started = !pthread_create(&w->tid, NULL, watch, w);
}

void watch_stop(struct watcher *w)
{
	if (!w->started)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->tid, NULL);
	w->started = false;
}
