/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A pending multi-phase swap: between `--action preview` and its
 * completion or reset, the app is in this state, which survives a
 * restart (and a kill -9): the row says which slots, the audience rows
 * which client prefixes see the candidate on the target's endpoints,
 * and reconcile rebuilds the routing element from them. One per app.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

#define PENDING_COLS                                                    \
	"app_id, source, target, source_deployment, target_deployment," \
	" started, timeout_s, on_timeout_swap, trigger"

void st_fill_pending(sqlite3_stmt *stmt, void *p)
{
	struct st_pending *s = p;

	memset(s, 0, sizeof(*s));
	s->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	s->source = (uint32_t)sqlite3_column_int64(stmt, 1);
	s->target = (uint32_t)sqlite3_column_int64(stmt, 2);
	s->source_deployment = sqlite3_column_int64(stmt, 3);
	s->target_deployment = sqlite3_column_int64(stmt, 4);
	s->started = sqlite3_column_int64(stmt, 5);
	s->timeout_s = (uint32_t)sqlite3_column_int64(stmt, 6);
	s->on_timeout_swap = sqlite3_column_int(stmt, 7) != 0;
	st_copy_text(s->trigger, sizeof(s->trigger), stmt, 8);
}

/* The audience rows of every pending swap in *p (ordered by app). */
int st_pending_audiences(struct state *st, struct st_pending *p, size_t n)
{
	const void *blob;
	sqlite3_stmt *stmt;
	size_t i = 0;
	uint32_t app;
	int rc;

	stmt = st_prepare(st,
			  "SELECT app_id, family, len, addr FROM"
			  " pending_audience ORDER BY app_id, pos",
			  "");
	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct slotlb_prefix *a;

		app = (uint32_t)sqlite3_column_int64(stmt, 0);
		while (i < n && p[i].app_id < app)
			i++;
		if (i == n || p[i].app_id != app ||
		    p[i].n_audience == SLOTLB_MAX_AUDIENCE)
			continue;
		a = &p[i].audience[p[i].n_audience++];
		memset(a, 0, sizeof(*a));
		a->family = (uint8_t)sqlite3_column_int(stmt, 1);
		a->len = (uint8_t)sqlite3_column_int(stmt, 2);
		a->from_slot = (uint8_t)p[i].target;
		a->to_slot = (uint8_t)p[i].source;
		blob = sqlite3_column_blob(stmt, 3);
		if (blob && sqlite3_column_bytes(stmt, 3) == sizeof(a->addr))
			memcpy(a->addr, blob, sizeof(a->addr));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? 0 : st_errno(rc);
}

int state_pending_list(struct state *st, struct st_pending **out, size_t *n)
{
	int err;

	*out = NULL;
	*n = 0;
	err = st_collect(st_prepare(st,
				    "SELECT " PENDING_COLS " FROM pending_swaps"
				    " ORDER BY app_id",
				    ""),
			 (void **)out, n, sizeof(**out), st_fill_pending);
	if (!err)
		err = st_pending_audiences(st, *out, *n);
	if (err) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return err;
}

int state_pending_get(struct state *st, uint32_t app_id, struct st_pending *p)
{
	struct st_pending *all;
	size_t n, i;
	int err;

	/* few apps are ever pending at once: the list is the simple way */
	err = state_pending_list(st, &all, &n);
	if (err)
		return err;
	err = -ENOENT;
	for (i = 0; i < n; i++)
		if (all[i].app_id == app_id) {
			*p = all[i];
			err = 0;
		}
	free(all);
	return err;
}

int state_pending_add(struct state *st, const struct st_pending *p)
{
	size_t i;
	int err;

	if (p->n_audience > SLOTLB_MAX_AUDIENCE)
		return -EINVAL;
	err = st_exec_stmt(st_prepare(
		st,
		"INSERT INTO pending_swaps(" PENDING_COLS ")"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"iiiiiiiit", (int64_t)p->app_id, (int64_t)p->source,
		(int64_t)p->target, p->source_deployment, p->target_deployment,
		p->started, (int64_t)p->timeout_s, (int64_t)p->on_timeout_swap,
		p->trigger));
	for (i = 0; !err && i < p->n_audience; i++)
		err = st_exec_stmt(st_prepare(
			st,
			"INSERT INTO pending_audience VALUES(?, ?, ?, ?, ?)",
			"iiiib", (int64_t)p->app_id, (int64_t)i,
			(int64_t)p->audience[i].family,
			(int64_t)p->audience[i].len, p->audience[i].addr,
			(int)sizeof(p->audience[i].addr)));
	return err;
}

int state_pending_delete(struct state *st, uint32_t app_id)
{
	int err;

	/* the audience follows by ON DELETE CASCADE */
	err = st_exec_stmt(
		st_prepare(st, "DELETE FROM pending_swaps WHERE app_id = ?",
			   "i", (int64_t)app_id));
	if (err)
		return err;
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}
