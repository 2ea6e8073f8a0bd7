/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * POST /v1/apps/APP/swap and /rollback: prepare (under the lock, taking
 * the app's busy flag), then warm up and swap (ops_swap.c). With
 * ?progress=1 the answer streams as NDJSON, a line per probe attempt,
 * from a worker thread while libmicrohttpd's connection thread reads.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

/* NDJSON progress of one swap: the worker appends, MHD's reader (in the
 * connection's own thread) waits for lines. */
struct stream {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *buf;
	size_t len, off;
	bool done;
	int refs;
	struct daemon *d;
	struct swap_plan plan;
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

static void stream_put(struct stream *s, json_t *line, bool done)
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

static void stream_progress(const struct warmup_target *t,
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
	struct op_result res = {0};
	json_t *done, *h;

	ops_swap_execute(s->d, &s->plan, stream_progress, s, &res);
	h = api_history_object(s->d, res.history_id);
	done = json_pack("{s:s, s:i}", "event", "done", "status", res.status);
	if (res.status >= 300)
		json_object_set_new(done, "error", json_string(res.error));
	if (h)
		json_object_set_new(done, "history", h);
	if (res.status == 200 && res.switch_us)
		json_object_set_new(done, "switch_us",
				    json_integer(res.switch_us));
	stream_put(s, done, true);
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

static void run_swap(struct daemon *d, struct swap_plan *plan, bool progress,
		     struct reply *r)
{
	struct op_result res = {0};
	struct stream *s;
	pthread_t tid;
	json_t *h;

	if (progress && (s = calloc(1, sizeof(*s)))) {
		pthread_mutex_init(&s->lock, NULL);
		pthread_cond_init(&s->cond, NULL);
		s->refs = 2;
		s->d = d;
		s->plan = *plan;
		/* the first line, before the worker may write a probe */
		stream_put(s,
			   json_pack("{s:s, s:I}", "event", "warmup",
				     "backends", (json_int_t)plan->n_targets),
			   false);
		r->stream = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
		if (r->stream &&
		    !pthread_create(&tid, NULL, stream_worker, s)) {
			pthread_detach(tid);
			r->status = 200;
			return;
		}
		/* no stream after all: answer plainly below */
		if (r->stream)
			MHD_destroy_response(r->stream); /* frees s once */
		else
			stream_unref(s);
		stream_unref(s);
		r->stream = NULL;
	}
	ops_swap_execute(d, plan, NULL, NULL, &res);
	reply_op(r, &res);
	h = api_history_object(d, res.history_id);
	if (!r->json)
		r->json = json_object();
	if (h)
		json_object_set_new(r->json, "history", h);
	if (res.status == 200 && res.switch_us)
		json_object_set_new(r->json, "switch_us",
				    json_integer(res.switch_us));
}

static void post_swap(struct call *c, bool rollback)
{
	static const char *const swap_fields[] = {"slot", "target_slot",
						  "warmup", NULL};
	static const char *const rollback_fields[] = {"slot", "warmup", NULL};
	const char *app = call_param(c, "app");
	struct daemon *d = c->d;
	struct reply *r = c->r;
	struct op_result res = {0};
	struct warmup_policy policy;
	struct swap_plan plan;
	const char *slot = NULL, *target = NULL, *progress, *what;
	char trigger[160];
	json_t *body;
	int err;

	what = rollback ? "rollback" : "swap";
	body = parse_body(c->req, what,
			  rollback ? rollback_fields : swap_fields, r);
	if (!body)
		return;
	if (!get_string(body, "slot", what, &slot, r) ||
	    !get_string(body, "target_slot", what, &target, r) ||
	    parse_warmup(body, &policy, r))
		goto out;
	if (!rollback && !slot) {
		reply_error(r, 400, "swap: slot is required");
		goto out;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	err = rollback ? ops_rollback_prepare(d, app, slot, &policy, trigger,
					      &plan, &res)
		       : ops_swap_prepare(d, app, slot, target, &policy,
					  trigger, &plan, &res);
	if (err) {
		reply_op(r, &res);
		goto out;
	}
	progress = call_query(c, "progress");
	run_swap(d, &plan, progress && strcmp(progress, "0"), r);
out:
	json_decref(body);
}

void api_swap(struct call *c)
{
	post_swap(c, false);
}

void api_rollback(struct call *c)
{
	post_swap(c, true);
}
