/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * POST /v1/apps/APP/slots/SLOT/deploy: backends and a version label,
 * checked with the rules the CLI shares (user/lib/validate.c), then one
 * ops_deploy(); the answer is the deployment as the slot now shows it.
 * If the slot auto-swaps, the auto swap starts in the background; with
 * ?wait=1 the answer is NDJSON instead, the deployment first, then the
 * auto swap's probes and its outcome (`slotlb deploy --wait`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"

/* The deployment the slot holds now. */
static json_t *slot_deployment(struct daemon *d, const char *app,
			       const char *slot)
{
	json_t *obj, *e, *dep = NULL;
	int status;
	size_t i;

	obj = api_app_object(d, app, &status);
	json_array_foreach(json_object_get(obj, "slots"), i, e)
	{
		if (!strcmp(json_string_value(json_object_get(e, "name")),
			    slot))
			dep = json_incref(json_object_get(e, "deployment"));
	}
	json_decref(obj);
	return dep;
}

struct wait_stream {
	struct daemon *d;
	struct auto_swap_job job;
	struct watcher watch;
};

static void wait_work(struct stream *s, void *arg)
{
	struct wait_stream *w = arg;
	struct op_result res = {0};
	json_t *done, *h;

	stream_put(s,
		   json_pack("{s:s, s:s, s:s, s:f}", "event", "auto-swap",
			     "slot", w->job.slot, "target_slot", w->job.target,
			     "delay_s", w->job.delay_ms / 1000.0),
		   false);
	ops_auto_swap_run(w->d, &w->job, stream_probe, s, &res);
	watch_stop(&w->watch);
	done = json_pack("{s:s, s:i}", "event", "done", "status", res.status);
	if (res.status >= 300)
		json_object_set_new(done, "error", json_string(res.error));
	h = api_history_object(w->d, res.history_id);
	if (h)
		json_object_set_new(done, "history", h);
	stream_put(s, done, true);
	free(w);
}

/* After the deploy: its auto swap, in the background or (wait) in this
 * answer. */
static void answer_deploy(struct call *c, struct auto_swap_job *as, bool wait)
{
	struct reply *r = c->r;
	struct wait_stream *w;
	json_t *dep, *first;

	dep = slot_deployment(c->d, call_param(c, "app"),
			      call_param(c, "slot"));
	if (!as->start) {
		r->json = dep;
		return;
	}
	if (wait && (w = calloc(1, sizeof(*w)))) {
		w->d = c->d;
		w->job = *as;
		first = json_pack("{s:s, s:o}", "event", "deployed",
				  "deployment", dep ? dep : json_null());
		watch_start(&w->watch, c->d, c->conn, as->app_id);
		if (stream_start(r, first, wait_work, w)) {
			json_decref(first);
			return;
		}
		json_decref(first);
		watch_stop(&w->watch);
		free(w);
		dep = slot_deployment(c->d, call_param(c, "app"),
				      call_param(c, "slot"));
	}
	ops_auto_swap_start(c->d, as);
	r->json = dep ? dep : json_object();
	if (json_is_object(r->json))
		json_object_set_new(r->json, "auto_swap",
				    json_pack("{s:s, s:f}", "target_slot",
					      as->target, "delay_s",
					      as->delay_ms / 1000.0));
}

void api_deploy(struct call *c)
{
	static const char *const fields[] = {"backends", "version", "auto_swap",
					     NULL};
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	struct daemon *d = c->d;
	struct reply *r = c->r;
	struct slotlb_backend *bes = NULL;
	struct op_result res = {0};
	const char *version = NULL, *why, *wait;
	bool auto_swap = true;
	struct auto_swap_job as;
	uint32_t *weights = NULL;
	char trigger[160];
	json_t *body, *list, *e;
	int64_t serial = 0;
	size_t i, j, n;

	body = parse_body(c->req, "deploy", fields, r);
	if (!body)
		return;
	list = string_list(body, "backends", "deploy", true, r);
	if (!list || !get_string(body, "version", "deploy", &version, r) ||
	    !get_bool(body, "auto_swap", "deploy", &auto_swap, r))
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
	wait = call_query(c, "wait");
	if (wait && strcmp(wait, "0") && !auto_swap) {
		reply_error(
			r, 400,
			"deploy: ?wait=1 waits for the auto swap that auto_swap false turns off");
		goto out;
	}
	if (wait && strcmp(wait, "0") && ops_auto_swap_of(d, app, slot, &res)) {
		reply_op(r, &res);
		goto out;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_deploy(d, app, slot, bes, weights, n, version, trigger, &serial,
		   auto_swap ? &as : NULL, &res);
	if (!auto_swap)
		memset(&as, 0, sizeof(as));
	reply_op(r, &res);
	if (res.status != 201)
		goto out;
	answer_deploy(c, &as, wait && strcmp(wait, "0"));
out:
	free(bes);
	free(weights);
	json_decref(body);
}
