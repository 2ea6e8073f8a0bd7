/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A slot's health policy: /v1/apps/APP/slots/SLOT/health (GET, PUT,
 * DELETE), and each backend's health as status shows it. PUT takes the
 * fields it changes, over the stored policy or the defaults, and every
 * answer is the whole policy, as GET gives it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api.h"
#include "health.h"

static void health_reply(struct call *c, int status)
{
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	struct op_result res = {0};
	struct health_policy p;
	bool has;

	if (ops_health_get(c->d, app, slot, &p, &has, &res)) {
		reply_op(c->r, &res);
		return;
	}
	c->r->status = status;
	c->r->json = json_pack("{s:s, s:o}", "slot", slot, "health",
			       has ? health_policy_json(&p) : json_null());
}

void api_health_get(struct call *c)
{
	health_reply(c, 200);
}

/* The probe's fields; each checked by its rule. */
static int parse_probe(json_t *b, struct warmup_override *o, struct reply *r)
{
	struct warmup_policy *p = &o->p;
	const char *s = NULL, *why = NULL;
	double timeout = -1;
	json_t *v;
	size_t i;

	if (!get_string(b, "mode", "health", &s, r))
		return -EINVAL;
	if (s && validate_warmup_mode(s, &p->mode, &why))
		goto bad;
	o->fields |= s ? WF_MODE : 0;
	s = NULL;
	if (!get_string(b, "path", "health", &s, r))
		return -EINVAL;
	if (s && validate_warmup_path(s, &why))
		goto bad;
	if (s) {
		snprintf(p->path, sizeof(p->path), "%s", s);
		o->fields |= WF_PATH;
	}
	s = NULL;
	if (!get_string(b, "host", "health", &s, r))
		return -EINVAL;
	if (s && validate_warmup_host(s, &why))
		goto bad;
	if (s) {
		snprintf(p->host, sizeof(p->host), "%s", s);
		o->fields |= WF_HOST;
	}
	v = json_object_get(b, "statuses");
	if (v) {
		if (!json_is_array(v) ||
		    json_array_size(v) > WARMUP_MAX_STATUSES) {
			reply_error(r, 400,
				    "health: statuses must be an array of at "
				    "most %d codes",
				    WARMUP_MAX_STATUSES);
			return -EINVAL;
		}
		p->n_statuses = 0;
		for (i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);

			if (!json_is_integer(e)) {
				reply_error(
					r, 400,
					"health: statuses must be integers");
				return -EINVAL;
			}
			if (validate_warmup_status((long)json_integer_value(e),
						   &why))
				goto bad;
			p->statuses[p->n_statuses++] =
				(int)json_integer_value(e);
		}
		o->fields |= WF_STATUSES;
	}
	if (!get_checked_number(b, "timeout_s", "health",
				validate_warmup_timeout_s, &timeout, r))
		return -EINVAL;
	if (timeout >= 0) {
		p->timeout_ms = (uint32_t)(timeout * 1000);
		o->fields |= WF_TIMEOUT;
	}
	return 0;
bad:
	reply_error(r, 400, "health: %s", why);
	return -EINVAL;
}

void api_health_set(struct call *c)
{
	static const char *const fields[] = {
		"mode", "path",	      "statuses",	 "timeout_s",
		"host", "interval_s", "unhealthy_after", "healthy_after",
		"tcp",	NULL};
	double interval = -1, unhealthy = -1, healthy = -1;
	struct health_override o = {0};
	struct op_result res = {0};
	const char *tcp = NULL, *why = NULL;
	char trigger[160];
	json_t *body;

	body = parse_body(c->req, "health", fields, c->r);
	if (!body)
		return;
	if (parse_probe(body, &o.probe, c->r) ||
	    !get_checked_number(body, "interval_s", "health",
				validate_health_interval_s, &interval, c->r) ||
	    !get_checked_number(body, "unhealthy_after", "health",
				validate_health_threshold, &unhealthy, c->r) ||
	    !get_checked_number(body, "healthy_after", "health",
				validate_health_threshold, &healthy, c->r) ||
	    !get_string(body, "tcp", "health", &tcp, c->r))
		goto out;
	if (tcp && validate_health_tcp(tcp, &o.p.tcp, &why)) {
		reply_error(c->r, 400, "health: %s", why);
		goto out;
	}
	o.fields |= tcp ? HF_TCP : 0;
	if (interval >= 0) {
		o.p.interval_ms = (uint32_t)(interval * 1000 + 0.5);
		o.fields |= HF_INTERVAL;
	}
	if (unhealthy >= 0) {
		o.p.unhealthy_after = (uint32_t)unhealthy;
		o.fields |= HF_UNHEALTHY_AFTER;
	}
	if (healthy >= 0) {
		o.p.healthy_after = (uint32_t)healthy;
		o.fields |= HF_HEALTHY_AFTER;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_health_set(c->d, call_param(c, "app"), call_param(c, "slot"),
			   &o, false, trigger, &res))
		reply_op(c->r, &res);
	else
		health_reply(c, 200);
out:
	json_decref(body);
}

void api_health_delete(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_health_set(c->d, call_param(c, "app"), call_param(c, "slot"), NULL,
		       true, trigger, &res);
	if (res.status == 200)
		res.status = 204;
	reply_op(c->r, &res);
}

json_t *backend_health_json(struct daemon *d, int64_t deployment,
			    uint32_t backend_id)
{
	struct health_view v;

	if (!health_view(d, deployment, backend_id, &v))
		return json_null();
	return json_pack(
		"{s:s, s:b, s:o, s:I, s:s?}", "state", v.down ? "down" : "up",
		"in_ring", !v.down || v.in_ring, "since",
		v.since_ms ? json_time(v.since_ms / 1000) : json_null(),
		"failed_probes", (json_int_t)v.fails, "error",
		v.error[0] ? v.error : NULL);
}
