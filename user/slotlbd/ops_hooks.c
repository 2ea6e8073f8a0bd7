/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Event hooks of an app (`slotlb hook add|list|delete`): where its events
 * go (events.c delivers them). Adding and deleting one is history
 * ("hook"), without the secret.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ops_int.h"

/* "deploy,swap" of a mask. */
void event_mask_text(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;
	int i;

	buf[0] = 0;
	for (i = 0; event_names[i] && off < len; i++)
		if (mask & (1U << i))
			off += (size_t)snprintf(buf + off, len - off, "%s%s",
						off ? "," : "", event_names[i]);
}

int ops_hook_add(struct daemon *d, const char *app, struct st_event_hook *h,
		 const char *trigger, struct op_result *res)
{
	char detail[HOOK_PATH_LEN + 512], events[256];
	struct st_app a;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (err)
		goto out;
	h->app_id = a.id;
	/* the answer is the hook as stored, its creation time too */
	h->created = wall_s();
	event_mask_text(h->events, events, sizeof(events));
	snprintf(detail, sizeof(detail), "event hook: %s -> %s%s", events,
		 h->url[0] ? h->url : h->exec, h->secret[0] ? " (signed)" : "");
	err = state_begin(d->st);
	if (!err)
		err = state_event_hook_add(d->st, h, &h->id);
	if (!err) {
		snprintf(detail + strlen(detail),
			 sizeof(detail) - strlen(detail), ", id %lld",
			 (long long)h->id);
		op_history(d, app, "hook", NULL, NULL, trigger, "ok", detail,
			   NULL, &res->history_id);
		err = state_commit(d->st);
	}
	if (err) {
		state_rollback(d->st);
		op_fail(res, 500, "%s: hook: %s", app, strerror(-err));
		goto out;
	}
	res->status = 201;
	log_msg("%s: %s", app, detail);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_hook_list(struct daemon *d, const char *app, struct st_event_hook **out,
		  size_t *n, struct op_result *res)
{
	struct st_app a;
	int err;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (!err) {
		err = state_event_hooks(d->st, a.id, 0, out, n);
		if (err)
			op_fail(res, 500, "%s: hooks: %s", app, strerror(-err));
	}
	if (!err)
		res->status = 200;
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_hook_delete(struct daemon *d, const char *app, int64_t id,
		    const char *trigger, struct op_result *res)
{
	char detail[64];
	struct st_app a;
	int err;

	pthread_mutex_lock(&d->lock);
	err = ops_lookup(d, app, NULL, &a, NULL, false, res);
	if (err)
		goto out;
	err = state_begin(d->st);
	if (!err)
		err = state_event_hook_delete(d->st, a.id, id);
	if (err == -ENOENT) {
		state_rollback(d->st);
		op_fail(res, 404, "%s: no event hook %lld", app, (long long)id);
		goto out;
	}
	snprintf(detail, sizeof(detail), "event hook %lld deleted",
		 (long long)id);
	if (!err) {
		op_history(d, app, "hook", NULL, NULL, trigger, "ok", detail,
			   NULL, &res->history_id);
		err = state_commit(d->st);
	}
	if (err) {
		state_rollback(d->st);
		op_fail(res, 500, "%s: hook: %s", app, strerror(-err));
		goto out;
	}
	res->status = 204;
	log_msg("%s: %s", app, detail);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}
