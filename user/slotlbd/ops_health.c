/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A slot's health policy (state_health.c; the probes are health.c's).
 * Like the warm-up policy it sticks to the slot: whatever deployment
 * sits in the slot (and the slot's rollback target) is probed with it.
 * Each change is one transaction with a history entry ("config"); the
 * health thread picks the policy up within one tick. Removing it brings
 * every backend it had taken out back into its ring (health.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "ops_int.h"

void health_policy_apply(struct health_policy *base,
			 const struct health_override *o)
{
	warmup_policy_apply(&base->probe, &o->probe);
	if (o->fields & HF_INTERVAL)
		base->interval_ms = o->p.interval_ms;
	if (o->fields & HF_UNHEALTHY_AFTER)
		base->unhealthy_after = o->p.unhealthy_after;
	if (o->fields & HF_HEALTHY_AFTER)
		base->healthy_after = o->p.healthy_after;
	if (o->fields & HF_TCP)
		base->tcp = o->p.tcp;
}

void health_policy_text(const struct health_policy *p, char *buf, size_t len)
{
	char statuses[WARMUP_MAX_STATUSES * 5 + 1] = "";
	size_t i, off = 0;

	for (i = 0; i < p->probe.n_statuses && off < sizeof(statuses); i++)
		off += (size_t)snprintf(statuses + off, sizeof(statuses) - off,
					"%s%d", i ? "," : "",
					p->probe.statuses[i]);
	if (p->probe.mode == WARMUP_TCP)
		snprintf(buf, len, "TCP connect");
	else
		snprintf(buf, len, "GET %s over %s, statuses %s", p->probe.path,
			 warmup_mode_name(p->probe.mode),
			 statuses[0] ? statuses : "any");
	snprintf(buf + strlen(buf), len - strlen(buf),
		 ", every %g s, timeout %g s, down after %u, up after %u, "
		 "pinned TCP flows: %s",
		 p->interval_ms / 1000.0, p->probe.timeout_ms / 1000.0,
		 p->unhealthy_after, p->healthy_after, health_tcp_name(p->tcp));
}

json_t *health_policy_json(const struct health_policy *p)
{
	json_t *st = json_array();
	size_t i;

	for (i = 0; i < p->probe.n_statuses; i++)
		json_array_append_new(st, json_integer(p->probe.statuses[i]));
	return json_pack(
		"{s:s, s:s, s:o, s:f, s:s?, s:f, s:I, s:I, s:s}", "mode",
		warmup_mode_name(p->probe.mode), "path", p->probe.path,
		"statuses", st, "timeout_s", p->probe.timeout_ms / 1000.0,
		"host", p->probe.host[0] ? p->probe.host : NULL, "interval_s",
		p->interval_ms / 1000.0, "unhealthy_after",
		(json_int_t)p->unhealthy_after, "healthy_after",
		(json_int_t)p->healthy_after, "tcp", health_tcp_name(p->tcp));
}

int ops_health_get(struct daemon *d, const char *app, const char *slot,
		   struct health_policy *p, bool *has, struct op_result *res)
{
	struct st_app a;
	struct st_slot s;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (!err) {
		err = state_slot_health_get(d->st, a.id, s.index, p);
		*has = !err;
		if (err == -ENOENT) {
			health_policy_default(p);
			err = 0;
		}
		if (err)
			op_fail(res, 500, "%s/%s: health policy: %s", app, slot,
				strerror(-err));
	}
	if (!err)
		res->status = 200;
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_health_set(struct daemon *d, const char *app, const char *slot,
		   const struct health_override *o, bool off,
		   const char *trigger, struct op_result *res)
{
	char detail[WARMUP_PATH_LEN + 256];
	struct health_policy p;
	const char *why = NULL;
	struct st_app a;
	struct st_slot s;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, slot, &a, &s, false, res);
	if (err)
		goto out;
	err = state_slot_health_get(d->st, a.id, s.index, &p);
	if (err == -ENOENT && off) {
		op_fail(res, 404, "%s/%s: slot has no health policy", app,
			slot);
		goto out;
	}
	if (err == -ENOENT) {
		health_policy_default(&p);
		err = 0;
	}
	if (err) {
		op_fail(res, 500, "%s/%s: health policy: %s", app, slot,
			strerror(-err));
		goto out;
	}
	if (!off) {
		health_policy_apply(&p, o);
		if (validate_health_policy(&p, &why)) {
			op_fail(res, 400, "health: %s", why);
			err = -EINVAL;
			goto out;
		}
		snprintf(detail, sizeof(detail), "health policy: ");
		health_policy_text(&p, detail + strlen(detail),
				   sizeof(detail) - strlen(detail));
	} else {
		snprintf(detail, sizeof(detail), "health policy removed");
	}
	err = state_begin(d->st);
	if (!err)
		err = state_slot_health_set(d->st, a.id, s.index,
					    off ? NULL : &p);
	err = ops_config_commit(d, app, slot, "health policy", detail, trigger,
				err, res);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}
