/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The read side of the operations: what ROUTE_READ routes, metrics and
 * the CLI's listings see. Reads take the daemon lock too: the one SQLite
 * connection is shared, and a read must not see another operation's
 * uncommitted transaction. They change nothing and return 0 or -errno
 * (-ENOENT for an unknown app); the caller words the error.
 *
 * What they return is the state's own structs; the caller frees them
 * with state_snapshot_free(), state_history_free() and
 * state_history_clear(), or free() for interface views.
 */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include "ops_int.h"

int ops_snapshot(struct daemon *d, const char *app, struct st_snapshot *s)
{
	struct st_app a;
	int err = 0;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&d->lock);
	if (app)
		err = state_app_find(d->st, app, &a);
	if (!err)
		err = state_snapshot(d->st, app ? (int64_t)a.id : -1, s);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_history_list(struct daemon *d, const char *app, size_t limit,
		     struct st_history **out, size_t *n)
{
	struct st_app a;
	int err;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&d->lock);
	err = state_history_list(d->st, app, limit, out, n);
	/* a deleted app's history stays readable; no entry and no app:
	 * no such app */
	if (!err && !*n && state_app_find(d->st, app, &a) == -ENOENT)
		err = -ENOENT;
	pthread_mutex_unlock(&d->lock);
	return err;
}

int ops_history_get(struct daemon *d, int64_t id, struct st_history *h)
{
	int err = -ENOENT;

	if (!id)
		return err;
	pthread_mutex_lock(&d->lock);
	err = state_history_get(d->st, id, h);
	pthread_mutex_unlock(&d->lock);
	return err;
}

void ops_iface_view(const struct st_iface *want, struct iface_view *v)
{
	unsigned int ifindex = if_nametoindex(want->ifname);
	bool ours = false, generic = want->generic;
	uint32_t prog_id = 0;

	if (ifindex && slotlb_query((int)ifindex, &prog_id, &ours, &generic))
		prog_id = 0;
	v->want = *want;
	v->exists = ifindex != 0;
	v->prog_id = prog_id;
	v->attached = prog_id != 0 && ours;
	v->generic = prog_id ? generic : want->generic;
}

int ops_iface_list(struct daemon *d, struct iface_view **out, size_t *n)
{
	struct st_iface *list = NULL;
	struct iface_view *views;
	size_t count = 0, i;
	int err;

	*out = NULL;
	*n = 0;
	pthread_mutex_lock(&d->lock);
	err = state_iface_list(d->st, &list, &count);
	pthread_mutex_unlock(&d->lock);
	if (err)
		return err;
	views = calloc(count ? count : 1, sizeof(*views));
	if (!views) {
		free(list);
		return -ENOMEM;
	}
	/* the kernel is asked outside the lock: it is not the database */
	for (i = 0; i < count; i++)
		ops_iface_view(&list[i], &views[i]);
	free(list);
	*out = views;
	*n = count;
	return 0;
}

const char *ops_busy_of(struct daemon *d, uint32_t app_id)
{
	const char *what;

	if (app_id >= SLOTLB_MAX_APPS)
		return NULL;
	pthread_mutex_lock(&d->lock);
	/* busy strings are static: the pointer outlives the lock */
	what = d->busy[app_id];
	pthread_mutex_unlock(&d->lock);
	return what;
}
