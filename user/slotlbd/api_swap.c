/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * POST /v1/apps/APP/swap and /rollback: prepare (under the lock, taking
 * the app's busy flag), then settings, warm-up and swap (ops_swap*.c).
 * With ?progress=1 the answer streams as NDJSON (api_stream.c), a line
 * per probe attempt. The swap request also carries the multi-phase
 * actions (preview, swap = complete, reset), cancel, and a dry run. A
 * client that disconnects while its swap runs cancels it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "traffic_parse.h"

/* A swap answered as NDJSON, run by the stream's worker. */
struct swap_stream {
	struct daemon *d;
	struct swap_plan plan;
	struct watcher watch;
};

/* The "done" line (or the plain answer's members) of a finished swap. */
static json_t *outcome_json(struct daemon *d, const struct op_result *res,
			    json_t *o)
{
	json_t *h = api_history_object(d, res->history_id);

	if (res->status >= 300 && !json_object_get(o, "error"))
		json_object_set_new(o, "error", json_string(res->error));
	if (h)
		json_object_set_new(o, "history", h);
	if (res->status == 200 && res->switch_us)
		json_object_set_new(o, "switch_us",
				    json_integer(res->switch_us));
	return o;
}

static void swap_work(struct stream *s, void *arg)
{
	struct swap_stream *w = arg;
	struct op_result res = {0};

	ops_swap_execute(w->d, &w->plan, stream_probe, s, &res);
	watch_stop(&w->watch);
	stream_put(s,
		   outcome_json(w->d, &res,
				json_pack("{s:s, s:i}", "event", "done",
					  "status", res.status)),
		   true);
	free(w);
}

void api_run_swap(struct daemon *d, struct MHD_Connection *conn,
		  struct swap_plan *plan, bool progress, struct reply *r)
{
	struct op_result res = {0};
	struct swap_stream *w;
	struct watcher watch;
	json_t *first;

	if (progress && (w = calloc(1, sizeof(*w)))) {
		w->d = d;
		w->plan = *plan;
		first = json_pack("{s:s, s:I}", "event", "warmup", "backends",
				  (json_int_t)plan->n_targets);
		watch_start(&w->watch, d, conn, plan->app_id);
		if (stream_start(r, first, swap_work, w)) {
			json_decref(first);
			return;
		}
		json_decref(first);
		watch_stop(&w->watch);
		*plan = w->plan;
		free(w);
	}
	watch_start(&watch, d, conn, plan->app_id);
	ops_swap_execute(d, plan, NULL, NULL, &res);
	watch_stop(&watch);
	reply_op(r, &res);
	if (!r->json)
		r->json = json_object();
	outcome_json(d, &res, r->json);
}

/* "audience": client prefixes, at most SLOTLB_MAX_AUDIENCE, by the
 * parser the CLI uses too (user/lib/traffic_parse.c). */
static int parse_audience(json_t *list, struct slotlb_prefix *out, size_t *n,
			  struct reply *r)
{
	const char *strs[SLOTLB_MAX_AUDIENCE + 1];
	char why[SLOTLB_TRAFFIC_WHY_LEN];
	json_t *e;
	size_t i;

	*n = json_array_size(list);
	if (*n > SLOTLB_MAX_AUDIENCE) {
		reply_error(r, 400, "swap: audience: %zu prefixes: at most %d",
			    *n, SLOTLB_MAX_AUDIENCE);
		return -EINVAL;
	}
	json_array_foreach(list, i, e) strs[i] = json_string_value(e);
	if (slotlb_parse_prefixes(strs, *n, out, why, sizeof(why))) {
		reply_error(r, 400, "swap: audience: %s", why);
		return -EINVAL;
	}
	return 0;
}

/* The preview fields of a swap request. */
static int parse_preview(json_t *body, struct swap_request *rq,
			 struct slotlb_prefix *audience, struct reply *r)
{
	const char *on_timeout = NULL, *why;
	double timeout = 0;
	json_t *list;

	list = string_list(body, "audience", "swap", false, r);
	if (!list && json_object_get(body, "audience"))
		return -EINVAL;
	if (!get_checked_number(body, "timeout_s", "swap",
				validate_preview_timeout_s, &timeout, r) ||
	    !get_string(body, "on_timeout", "swap", &on_timeout, r))
		return -EINVAL;
	if ((list || timeout || on_timeout) &&
	    rq->action != SWAP_ACTION_PREVIEW) {
		reply_error(
			r, 400,
			"swap: audience, timeout_s and on_timeout go with action \"preview\"");
		return -EINVAL;
	}
	if (on_timeout &&
	    validate_on_timeout(on_timeout, &rq->on_timeout_swap, &why)) {
		reply_error(r, 400, "swap: %s", why);
		return -EINVAL;
	}
	if (on_timeout && !timeout) {
		reply_error(r, 400, "swap: on_timeout needs timeout_s");
		return -EINVAL;
	}
	rq->timeout_s = (uint32_t)timeout;
	if (list && parse_audience(list, audience, &rq->n_audience, r))
		return -EINVAL;
	rq->audience = audience;
	return 0;
}

/* The optional "verify" object of a swap: {"for_s", "http"?: "PATH" or
 * "PATH=STATUSES", "exec"?, "max_reset_ratio"?,
 * "max_handshake_failure_ratio"?, "on_failure"?: "rollback"|"alert"}. */
int parse_verify(json_t *body, struct verify_policy *p, struct reply *r)
{
	json_t *v = json_object_get(body, "verify");
	const char *http = NULL, *exec = NULL, *on = NULL, *why = NULL, *key;
	double for_s = -1;
	json_t *x;
	size_t i;

	verify_policy_default(p);
	if (!v)
		return 0;
	if (!json_is_object(v)) {
		reply_error(r, 400, "verify: must be an object");
		return -EINVAL;
	}
	json_object_foreach(v, key, x)
	{
		for (i = 0; verify_policy_keys[i] &&
			    strcmp(verify_policy_keys[i], key);
		     i++)
			;
		if (!verify_policy_keys[i]) {
			reply_error(r, 400, "verify: unknown field \"%s\"",
				    key);
			return -EINVAL;
		}
	}
	if (!get_checked_number(v, "for_s", "verify", validate_verify_for_s,
				&for_s, r) ||
	    !get_checked_number(v, "max_reset_ratio", "verify",
				validate_verify_ratio, &p->max_reset_ratio,
				r) ||
	    !get_checked_number(v, "max_handshake_failure_ratio", "verify",
				validate_verify_ratio,
				&p->max_handshake_failure_ratio, r) ||
	    !get_string(v, "http", "verify", &http, r) ||
	    !get_string(v, "exec", "verify", &exec, r) ||
	    !get_string(v, "on_failure", "verify", &on, r))
		return -EINVAL;
	if (for_s < 0) {
		reply_error(r, 400, "verify: for_s is required");
		return -EINVAL;
	}
	if ((http && validate_verify_http(http, p, &why)) ||
	    (exec && validate_verify_exec(exec, &why)) ||
	    (on && validate_verify_on_failure(on, &p->on_failure, &why))) {
		reply_error(r, 400, "verify: %s", why);
		return -EINVAL;
	}
	if (exec)
		snprintf(p->exec, sizeof(p->exec), "%s", exec);
	p->for_ms = (uint32_t)(for_s * 1000);
	return 0;
}

static void post_swap(struct call *c, bool rollback)
{
	static const char *const swap_fields[] = {
		"slot",	       "target_slot", "warmup",	    "action",
		"audience",    "timeout_s",   "on_timeout", "dry_run",
		"show_values", "verify",      NULL};
	static const char *const rollback_fields[] = {"slot", "warmup", NULL};
	struct slotlb_prefix audience[SLOTLB_MAX_AUDIENCE];
	const char *app = call_param(c, "app");
	struct swap_request rq = {.app = app};
	struct daemon *d = c->d;
	struct reply *r = c->r;
	struct op_result res = {0};
	struct warmup_override warmup;
	struct verify_policy verify;
	struct swap_plan plan;
	const char *action = NULL, *progress, *what, *why;
	bool dry_run = false, show_values = false;
	char trigger[160];
	json_t *body, *o;
	int err;

	what = rollback ? "rollback" : "swap";
	body = parse_body(c->req, what,
			  rollback ? rollback_fields : swap_fields, r);
	if (!body)
		return;
	if (!get_string(body, "slot", what, &rq.slot, r) ||
	    !get_string(body, "target_slot", what, &rq.target_slot, r) ||
	    !get_string(body, "action", what, &action, r) ||
	    !get_bool(body, "dry_run", what, &dry_run, r) ||
	    !get_bool(body, "show_values", what, &show_values, r) ||
	    parse_warmup(body, &warmup, r))
		goto out;
	if (action && validate_swap_action(action, &rq.action, &why)) {
		reply_error(r, 400, "swap: %s", why);
		goto out;
	}
	if (!rollback && parse_preview(body, &rq, audience, r))
		goto out;
	if (!rollback && parse_verify(body, &verify, r))
		goto out;
	rq.verify = &verify;
	trigger_of(c->conn, trigger, sizeof(trigger));
	rq.trigger = trigger;
	rq.warmup = &warmup;
	if (rq.action == SWAP_ACTION_CANCEL) {
		char by[sizeof(trigger) + 16];

		snprintf(by, sizeof(by), "asked by %s", trigger);
		ops_swap_cancel(d, app, by, &res);
		reply_op(r, &res);
		if (res.status == 200)
			r->json = json_pack("{s:s}", "cancelled", res.error);
		goto out;
	}
	if (dry_run) {
		if (rq.action != SWAP_ACTION_FULL || !rq.slot) {
			reply_error(
				r, 400,
				"swap: dry_run goes with a swap of a slot (no action)");
			goto out;
		}
		o = ops_swap_dry_run(d, app, rq.slot, rq.target_slot, &warmup,
				     show_values, &res);
		reply_op(r, &res);
		if (o)
			r->json = o;
		goto out;
	}
	err = rollback ? ops_rollback_prepare(d, app, rq.slot, &warmup, trigger,
					      0, &plan, &res)
		       : ops_swap_prepare(d, &rq, &plan, &res);
	if (err) {
		reply_op(r, &res);
		goto out;
	}
	progress = call_query(c, "progress");
	api_run_swap(d, c->conn, &plan, progress && strcmp(progress, "0"), r);
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
