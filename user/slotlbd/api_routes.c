/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The API's route table and handlers. Reads take the daemon lock too:
 * the one SQLite connection is shared, and a read must not see another
 * operation's uncommitted transaction.
 */
#include <errno.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "api.h"

/* Path components after the leading slash, at most 6. */
struct path {
	const char *part[6];
	size_t n;
	char buf[512];
};

static bool split_path(const char *url, struct path *p)
{
	char *save = NULL, *tok;

	memset(p, 0, sizeof(*p));
	if (strlen(url) >= sizeof(p->buf))
		return false;
	snprintf(p->buf, sizeof(p->buf), "%s", url);
	for (tok = strtok_r(p->buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (p->n == 6)
			return false;
		p->part[p->n++] = tok;
	}
	return true;
}

static json_t *app_object(struct daemon *d, const char *name, int *status)
{
	struct st_snapshot s = {0};
	json_t *apps, *app = NULL;
	struct st_app a;
	int err;

	pthread_mutex_lock(&d->lock);
	err = state_app_find(d->st, name, &a);
	if (!err)
		err = state_snapshot(d->st, a.id, &s);
	pthread_mutex_unlock(&d->lock);
	*status = err == -ENOENT ? 404 : err ? 500 : 200;
	if (err)
		return NULL;
	apps = apps_json(d, &s);
	app = json_incref(json_array_get(apps, 0));
	json_decref(apps);
	state_snapshot_free(&s);
	return app;
}

/* The app as JSON, or NULL after answering why not (404 or 500). */
static json_t *app_or_reply(struct daemon *d, const char *name, struct reply *r)
{
	int status;
	json_t *o = app_object(d, name, &status);

	if (!o)
		reply_error(r, status, "%s: %s", name,
			    status == 404 ? "no such app" : "database error");
	return o;
}

static void get_status(struct daemon *d, const char *app, bool orphans,
		       struct reply *r)
{
	struct st_snapshot s = {0};
	json_t *one;
	int err;

	if (app) {
		one = app_or_reply(d, app, r);
		if (!one)
			return;
		r->status = 200;
		r->json = json_pack("{s:[o]}", "apps", one);
		return;
	}
	pthread_mutex_lock(&d->lock);
	err = state_snapshot(d->st, -1, &s);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		reply_error(r, 500, "status: database: %s", strerror(-err));
		return;
	}
	r->status = 200;
	r->json = json_pack("{s:o}", "apps", apps_json(d, &s));
	if (orphans)
		json_object_set_new(r->json, "draining", orphans_json(d, &s));
	state_snapshot_free(&s);
}

static void post_app(struct daemon *d, const struct request *req,
		     const char *app, struct reply *r)
{
	static const char *const fields[] = {"name", "endpoints", NULL};
	struct slotlb_endpoint_key *keys = NULL;
	struct op_result res = {0};
	const char *name = NULL, *object = app ? "slot" : "app", *why;
	json_t *body, *obj;
	size_t n = 0;
	int status;

	body = parse_body(req, object, fields, r);
	if (!body)
		return;
	if (!get_string(body, "name", object, &name, r))
		goto out;
	if (validate_name(name, &why)) {
		reply_error(r, 400, "%s: %s",
			    validate_name_object(name, object), why);
		goto out;
	}
	if (parse_endpoints(body, name, &keys, &n, r))
		goto out;
	if (app)
		ops_slot_create(d, app, name, keys, n, &res);
	else
		ops_app_create(d, name, keys, n, &res);
	reply_op(r, &res);
	if (res.status != 201)
		goto out;
	obj = app_object(d, app ? app : name, &status);
	if (obj && app) {
		json_t *slots = json_object_get(obj, "slots"), *sl;
		size_t i;

		json_array_foreach(slots, i, sl) if (
			!strcmp(json_string_value(json_object_get(sl, "name")),
				name)) r->json = json_incref(sl);
		json_decref(obj);
	} else {
		r->json = obj;
	}
out:
	free(keys);
	json_decref(body);
}

static void post_deploy(struct daemon *d, struct MHD_Connection *conn,
			const struct request *req, const char *app,
			const char *slot, struct reply *r)
{
	static const char *const fields[] = {"backends", "version", NULL};
	struct slotlb_backend *bes = NULL;
	struct op_result res = {0};
	const char *version = NULL, *why;
	uint32_t *weights = NULL;
	char trigger[160];
	json_t *body, *list, *e, *obj;
	int64_t serial = 0;
	size_t i, j, n;
	int status;

	body = parse_body(req, "deploy", fields, r);
	if (!body)
		return;
	list = string_list(body, "backends", "deploy", true, r);
	if (!list || !get_string(body, "version", "deploy", &version, r))
		goto out;
	if (version && validate_version(version, &why)) {
		reply_error(r, 400, "%s: %s", version, why);
		goto out;
	}
	n = json_array_size(list);
	bes = calloc(n, sizeof(*bes));
	weights = calloc(n, sizeof(*weights));
	if (!bes || !weights) {
		reply_error(r, 500, "deploy: out of memory");
		goto out;
	}
	json_array_foreach(list, i, e)
	{
		if (validate_backend(json_string_value(e), &bes[i], &weights[i],
				     &why)) {
			reply_error(r, 400, "%s: %s", json_string_value(e),
				    why);
			goto out;
		}
		for (j = 0; j < i; j++)
			if (!memcmp(&bes[j], &bes[i], sizeof(bes[i]))) {
				reply_error(r, 400, "%s: backend listed twice",
					    json_string_value(e));
				goto out;
			}
	}
	trigger_of(conn, trigger, sizeof(trigger));
	ops_deploy(d, app, slot, bes, weights, n, version, trigger, &serial,
		   &res);
	reply_op(r, &res);
	if (res.status != 201)
		goto out;
	/* answer with the deployment as the slot now shows it */
	obj = app_object(d, app, &status);
	json_array_foreach(
		json_object_get(obj, "slots"), i,
		e) if (!strcmp(json_string_value(json_object_get(e, "name")),
			       slot)) r->json =
		json_incref(json_object_get(e, "deployment"));
	json_decref(obj);
out:
	free(bes);
	free(weights);
	json_decref(body);
}

static json_t *history_object(struct daemon *d, int64_t id)
{
	struct st_history h;
	json_t *o = NULL;

	pthread_mutex_lock(&d->lock);
	if (id && !state_history_get(d->st, id, &h)) {
		o = history_json(&h);
		state_history_clear(&h);
	}
	pthread_mutex_unlock(&d->lock);
	return o;
}

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
	h = history_object(s->d, res.history_id);
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
		r->stream = MHD_create_response_from_callback(
			MHD_SIZE_UNKNOWN, 4096, stream_read, s, stream_free);
		if (r->stream &&
		    !pthread_create(&tid, NULL, stream_worker, s)) {
			pthread_detach(tid);
			stream_put(s,
				   json_pack("{s:s, s:I}", "event", "warmup",
					     "backends",
					     (json_int_t)plan->n_targets),
				   false);
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
	h = history_object(d, res.history_id);
	if (!r->json)
		r->json = json_object();
	if (h)
		json_object_set_new(r->json, "history", h);
	if (res.status == 200 && res.switch_us)
		json_object_set_new(r->json, "switch_us",
				    json_integer(res.switch_us));
}

static void post_swap(struct daemon *d, struct MHD_Connection *conn,
		      const struct request *req, const char *app, bool rollback,
		      struct reply *r)
{
	static const char *const swap_fields[] = {"slot", "target_slot",
						  "warmup", NULL};
	static const char *const rollback_fields[] = {"slot", "warmup", NULL};
	struct op_result res = {0};
	struct warmup_policy policy;
	struct swap_plan plan;
	const char *slot = NULL, *target = NULL, *progress, *what;
	char trigger[160];
	json_t *body;
	int err;

	what = rollback ? "rollback" : "swap";
	body = parse_body(req, what, rollback ? rollback_fields : swap_fields,
			  r);
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
	trigger_of(conn, trigger, sizeof(trigger));
	err = rollback ? ops_rollback_prepare(d, app, slot, &policy, trigger,
					      &plan, &res)
		       : ops_swap_prepare(d, app, slot, target, &policy,
					  trigger, &plan, &res);
	if (err) {
		reply_op(r, &res);
		goto out;
	}
	progress = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
					       "progress");
	run_swap(d, &plan, progress && strcmp(progress, "0"), r);
out:
	json_decref(body);
}

static void get_history(struct daemon *d, struct MHD_Connection *conn,
			const char *app, struct reply *r)
{
	const char *lim = MHD_lookup_connection_value(
		conn, MHD_GET_ARGUMENT_KIND, "limit");
	struct st_history *list = NULL;
	size_t n = 0, i, limit = HISTORY_DEFAULT_LIMIT;
	const char *why;
	struct st_app a;
	json_t *arr;
	int err;

	if (lim && validate_history_limit(lim, &limit, &why)) {
		reply_error(r, 400, "limit: %s: %s", lim, why);
		return;
	}
	pthread_mutex_lock(&d->lock);
	err = state_app_find(d->st, app, &a);
	if (!err)
		err = state_history_list(d->st, app, limit, &list, &n);
	pthread_mutex_unlock(&d->lock);
	if (err) {
		reply_error(r, err == -ENOENT ? 404 : 500, "%s: %s", app,
			    err == -ENOENT ? "no such app" : strerror(-err));
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, history_json(&list[i]));
	state_history_free(list, n);
	r->status = 200;
	r->json = json_pack("{s:o}", "history", arr);
}

void route(struct daemon *d, struct MHD_Connection *conn, const char *url,
	   const char *method, const struct request *req, struct reply *r)
{
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST"),
	     del = !strcmp(method, "DELETE");
	struct op_result res = {0};
	struct path p;
	const char *const *c = p.part;

	if (!split_path(url, &p))
		goto not_found;
	if (p.n == 1 && !strcmp(c[0], "metrics") && get) {
		r->text = metrics_render(d);
		r->status = r->text ? 200 : 500;
		return;
	}
	if (p.n < 2 || strcmp(c[0], "v1"))
		goto not_found;
	if (p.n == 2 && !strcmp(c[1], "status") && get) {
		get_status(d,
			   MHD_lookup_connection_value(
				   conn, MHD_GET_ARGUMENT_KIND, "app"),
			   true, r);
		return;
	}
	if (!strcmp(c[1], "interfaces")) {
		route_interfaces(d, &p.part[2], p.n - 2, get, post, del, req,
				 r);
		return;
	}
	if (strcmp(c[1], "apps"))
		goto not_found;
	if (p.n == 2 && get) {
		get_status(d, NULL, false, r);
		return;
	}
	if (p.n == 2 && post) {
		post_app(d, req, NULL, r);
		return;
	}
	if (p.n == 3 && get) {
		json_t *o = app_or_reply(d, c[2], r);

		if (o) {
			r->status = 200;
			r->json = o;
		}
		return;
	}
	if (p.n == 3 && del) {
		ops_app_delete(d, c[2], &res);
		reply_op(r, &res);
		return;
	}
	if (p.n == 4 && !strcmp(c[3], "slots") && get) {
		json_t *o = app_or_reply(d, c[2], r);

		if (!o)
			return;
		r->status = 200;
		r->json = json_pack("{s:O}", "slots",
				    json_object_get(o, "slots"));
		json_decref(o);
		return;
	}
	if (p.n == 4 && !strcmp(c[3], "slots") && post) {
		post_app(d, req, c[2], r);
		return;
	}
	if (p.n == 5 && !strcmp(c[3], "slots") && del) {
		ops_slot_delete(d, c[2], c[4], &res);
		reply_op(r, &res);
		return;
	}
	if (p.n == 6 && !strcmp(c[3], "slots") && !strcmp(c[5], "deploy") &&
	    post) {
		post_deploy(d, conn, req, c[2], c[4], r);
		return;
	}
	if (p.n == 4 && !strcmp(c[3], "swap") && post) {
		post_swap(d, conn, req, c[2], false, r);
		return;
	}
	if (p.n == 4 && !strcmp(c[3], "rollback") && post) {
		post_swap(d, conn, req, c[2], true, r);
		return;
	}
	if (p.n == 4 && !strcmp(c[3], "history") && get) {
		get_history(d, conn, c[2], r);
		return;
	}
not_found:
	reply_error(r, 404, "%s %s: no such resource", method, url);
}
