/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A slot's configuration: /v1/apps/APP/slots/SLOT/config (the warm-up
 * policy), .../hook and .../auto-swap. Every change answers with the
 * whole configuration, as GET does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "api.h"

static void config_reply(struct call *c, int status)
{
	const char *app = call_param(c, "app"), *slot = call_param(c, "slot");
	char target[STATE_NAME_LEN];
	struct op_result res = {0};
	struct st_slot_config cfg;

	if (ops_config_get(c->d, app, slot, &cfg, target, sizeof(target),
			   &res)) {
		reply_op(c->r, &res);
		return;
	}
	c->r->status = status;
	c->r->json = json_pack(
		"{s:s, s:o, s:b, s:o, s:o, s:o}", "slot", slot, "warmup",
		warmup_policy_json(&cfg.warmup), "warmup_stored",
		cfg.has_warmup, "hook",
		cfg.hook.exec[0]
			? json_pack("{s:s, s:f}", "exec", cfg.hook.exec,
				    "timeout_s", cfg.hook.timeout_ms / 1000.0)
			: json_null(),
		"auto_swap",
		cfg.has_auto_swap
			? json_pack("{s:s, s:f}", "target_slot", target,
				    "delay_s", cfg.auto_swap_delay_ms / 1000.0)
			: json_null(),
		"drain", drain_policy_json(&cfg.drain));
	json_object_set_new(c->r->json, "verify",
			    verify_policy_json(&cfg.verify));
}

void api_config_get(struct call *c)
{
	config_reply(c, 200);
}

void api_config_set(struct call *c)
{
	static const char *const fields[] = {"warmup", "drain", "verify", NULL};
	json_t *vj;
	struct verify_policy vp;
	bool verify_off = false;
	struct warmup_override o;
	struct drain_override dr;
	struct op_result res = {0};
	char trigger[160];
	json_t *body;
	int err = 0;

	body = parse_body(c->req, "config", fields, c->r);
	if (!body)
		return;
	if (parse_warmup(body, &o, c->r) || parse_drain(body, &dr, c->r))
		goto out;
	/* "verify": {...} stores one (as a swap's), null removes it */
	vj = json_object_get(body, "verify");
	verify_off = vj && json_is_null(vj);
	verify_policy_default(&vp);
	if (!verify_off && parse_verify(body, &vp, c->r))
		goto out;
	if (!o.fields && !dr.has_timeout && !dr.has_reset && !dr.has_rate &&
	    !vj) {
		reply_error(c->r, 400, "config: no field to set");
		goto out;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	/* one transaction: a part refused changes none of the others */
	err = ops_config_set(
		c->d, call_param(c, "app"), call_param(c, "slot"), &o,
		dr.has_timeout || dr.has_reset || dr.has_rate ? &dr : NULL,
		vj != NULL, verify_off ? NULL : &vp, trigger, &res);
	if (err)
		reply_op(c->r, &res);
	else
		config_reply(c, 200);
out:
	json_decref(body);
}

void api_hook_set(struct call *c)
{
	static const char *const fields[] = {"exec", "timeout_s", NULL};
	struct st_hook hook = {.timeout_ms = HOOK_DEFAULT_TIMEOUT_MS};
	double timeout = HOOK_DEFAULT_TIMEOUT_MS / 1000.0;
	struct op_result res = {0};
	const char *exec = NULL, *why;
	char trigger[160];
	json_t *body;

	body = parse_body(c->req, "hook", fields, c->r);
	if (!body)
		return;
	if (!get_string(body, "exec", "hook", &exec, c->r) ||
	    !get_checked_number(body, "timeout_s", "hook",
				validate_hook_timeout_s, &timeout, c->r))
		goto out;
	if (!exec) {
		reply_error(c->r, 400, "hook: exec is required");
		goto out;
	}
	if (validate_hook_exec(exec, &why)) {
		reply_error(c->r, 400, "%s: %s", exec, why);
		goto out;
	}
	snprintf(hook.exec, sizeof(hook.exec), "%s", exec);
	hook.timeout_ms = (uint32_t)(timeout * 1000);
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_config_hook(c->d, call_param(c, "app"), call_param(c, "slot"),
			    &hook, trigger, &res))
		reply_op(c->r, &res);
	else
		config_reply(c, 200);
out:
	json_decref(body);
}

void api_hook_delete(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_config_hook(c->d, call_param(c, "app"), call_param(c, "slot"), NULL,
			trigger, &res);
	if (res.status == 200)
		res.status = 204;
	reply_op(c->r, &res);
}

void api_auto_swap_set(struct call *c)
{
	static const char *const fields[] = {"target_slot", "delay_s", NULL};
	struct op_result res = {0};
	const char *target = NULL, *why;
	char trigger[160];
	double delay = 0;
	json_t *body;

	body = parse_body(c->req, "auto-swap", fields, c->r);
	if (!body)
		return;
	if (!get_string(body, "target_slot", "auto-swap", &target, c->r) ||
	    !get_checked_number(body, "delay_s", "auto-swap",
				validate_auto_swap_delay_s, &delay, c->r))
		goto out;
	if (target && validate_name(target, &why)) {
		reply_error(c->r, 400, "%s: %s", target, why);
		goto out;
	}
	trigger_of(c->conn, trigger, sizeof(trigger));
	if (ops_config_auto_swap(
		    c->d, call_param(c, "app"), call_param(c, "slot"), target,
		    (uint32_t)(delay * 1000), false, trigger, &res))
		reply_op(c->r, &res);
	else
		config_reply(c, 200);
out:
	json_decref(body);
}

void api_auto_swap_delete(struct call *c)
{
	struct op_result res = {0};
	char trigger[160];

	trigger_of(c->conn, trigger, sizeof(trigger));
	ops_config_auto_swap(c->d, call_param(c, "app"), call_param(c, "slot"),
			     NULL, 0, true, trigger, &res);
	if (res.status == 200)
		res.status = 204;
	reply_op(c->r, &res);
}
