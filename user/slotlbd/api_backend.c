/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drain control: single backends of a slot's deployment,
 * /v1/apps/APP/slots/SLOT/backends/drain, .../undrain and .../weight
 * (POST {"backend": "ADDR:PORT", ...}), answering the backend as status
 * shows it; and the "drain" object of a slot's configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "addr.h"
#include "api.h"

int parse_drain(json_t *body, struct drain_override *o, struct reply *r)
{
	static const char *const fields[] = {"timeout_s", "on_timeout",
					     "reset_rate", NULL};
	json_t *dr = json_object_get(body, "drain"), *v;
	const char *key, *s = NULL, *why = NULL;
	double timeout = 0, rate = 0;
	size_t i;

	memset(o, 0, sizeof(*o));
	if (!dr)
		return 0;
	if (!json_is_object(dr)) {
		reply_error(r, 400, "config: drain must be an object");
		return -EINVAL;
	}
	json_object_foreach(dr, key, v)
	{
		for (i = 0; fields[i] && strcmp(fields[i], key); i++)
			;
		if (!fields[i]) {
			reply_error(r, 400, "config: drain: unknown field %s",
				    key);
			return -EINVAL;
		}
	}
	/* "timeout_s": null takes a stored timeout away */
	v = json_object_get(dr, "timeout_s");
	if ((!json_is_null(v) &&
	     !get_checked_number(dr, "timeout_s", "drain",
				 validate_drain_timeout_s, &timeout, r)) ||
	    !get_string(dr, "on_timeout", "drain", &s, r))
		return -EINVAL;
	if (v) {
		o->has_timeout = true;
		o->timeout_ms = (uint32_t)(timeout * 1000);
	}
	if (s) {
		if (validate_on_drain_timeout(s, &o->reset, &why)) {
			reply_error(r, 400, "drain: %s", why);
			return -EINVAL;
		}
		o->has_reset = true;
	}
	v = json_object_get(dr, "reset_rate");
	if (v) {
		rate = json_number_value(v);
		if (!json_is_integer(v) || rate < 1 ||
		    rate > DRAIN_MAX_RESET_RATE) {
			validate_reset_rate("", NULL, &why);
			reply_error(r, 400, "drain: %s", why);
			return -EINVAL;
		}
		o->has_rate = true;
		o->reset_rate = (uint32_t)rate;
	}
	return 0;
}

/* POST body {"backend": ..., more fields} into ch->be; false and r
 * filled if not right. */
static json_t *backend_body(struct call *c, const char *const *fields,
			    struct backend_change *ch)
{
	const char *addr = NULL, *why = NULL;
	json_t *body;

	body = parse_body(c->req, "backend", fields, c->r);
	if (!body)
		return NULL;
	if (!get_string(body, "backend", "backend", &addr, c->r))
		goto bad;
	if (!addr) {
		reply_error(c->r, 400,
			    "backend: backend (ADDR:PORT) is required");
		goto bad;
	}
	if (validate_backend_address(addr, &ch->be, &why)) {
		reply_error(c->r, 400, "backend: %s: %s", addr, why);
		goto bad;
	}
	return body;
bad:
	json_decref(body);
	return NULL;
}

static void backend_run(struct call *c, const struct backend_change *ch)
{
	struct op_result res = {0};
	char trigger[160], addr[64];

	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_backend_change(c->d, call_param(c, "app"),
			       call_param(c, "slot"), ch, trigger, &res)) {
		reply_op(c->r, &res);
		return;
	}
	slotlb_format_backend(&ch->be, addr, sizeof(addr));
	c->r->status = 200;
	c->r->json =
		json_pack("{s:s, s:s, s:s, s:I}", "app", call_param(c, "app"),
			  "slot", call_param(c, "slot"), "backend", addr,
			  "history_id", (json_int_t)res.history_id);
}

void api_backend_drain(struct call *c)
{
	static const char *const fields[] = {"backend", "timeout_s", NULL};
	struct backend_change ch = {.kind = BACKEND_DRAIN};
	double timeout = 0;
	json_t *body;

	body = backend_body(c, fields, &ch);
	if (!body)
		return;
	if (get_checked_number(body, "timeout_s", "backend",
			       validate_drain_timeout_s, &timeout, c->r)) {
		ch.timeout_ms = (uint32_t)(timeout * 1000);
		backend_run(c, &ch);
	}
	json_decref(body);
}

void api_backend_undrain(struct call *c)
{
	static const char *const fields[] = {"backend", NULL};
	struct backend_change ch = {.kind = BACKEND_UNDRAIN};
	json_t *body;

	body = backend_body(c, fields, &ch);
	if (!body)
		return;
	backend_run(c, &ch);
	json_decref(body);
}

void api_backend_weight(struct call *c)
{
	static const char *const fields[] = {"backend", "weight", NULL};
	struct backend_change ch = {.kind = BACKEND_WEIGHT};
	double weight = -1;
	json_t *body;

	body = backend_body(c, fields, &ch);
	if (!body)
		return;
	if (!get_checked_number(body, "weight", "backend",
				validate_backend_weight, &weight, c->r))
		goto out;
	if (weight < 0) {
		reply_error(c->r, 400, "backend: weight is required");
		goto out;
	}
	ch.weight = (uint32_t)weight;
	backend_run(c, &ch);
out:
	json_decref(body);
}
