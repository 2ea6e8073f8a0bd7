/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The history of an app: every deploy, swap and rollback, successful or
 * not, with who triggered it and each backend's warm-up result. An entry
 * outlives its app (it names the app, it does not reference it), so a
 * deleted app's history still explains what happened.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "validate.h"
#include "util.h"

int state_history_add(struct state *st, const struct st_history *in,
		      int64_t *id)
{
	struct st_history copy = *in, *h = &copy;
	char *detail = NULL;
	int err;

	/* what callers and hooks wrote: valid UTF-8, no control characters */
	validate_text_clean(copy.trigger, sizeof(copy.trigger) - 1);
	if (in->detail) {
		detail = strdup(in->detail);
		if (!detail)
			return -ENOMEM;
		validate_text_clean(detail, strlen(detail));
		copy.detail = detail;
	}
	err = st_exec_stmt(st_prepare(
		st,
		"INSERT INTO history(time, app, action, slot, target_slot,"
		" deployments, trigger, outcome, detail, warmup)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"ittttttttt", h->time ? h->time : wall_s(), h->app, h->action,
		h->slot, h->target_slot, h->deployments ? h->deployments : "{}",
		h->trigger, h->outcome, h->detail ? h->detail : "",
		h->warmup ? h->warmup : "[]"));
	free(detail);
	if (err)
		return err;
	if (id)
		*id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

static char *dup_col(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t ? strdup((const char *)t) : NULL;
}

static void fill_history(sqlite3_stmt *stmt, void *p)
{
	struct st_history *h = p;

	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(stmt, 0);
	h->time = sqlite3_column_int64(stmt, 1);
	st_copy_text(h->app, sizeof(h->app), stmt, 2);
	st_copy_text(h->action, sizeof(h->action), stmt, 3);
	st_copy_text(h->slot, sizeof(h->slot), stmt, 4);
	st_copy_text(h->target_slot, sizeof(h->target_slot), stmt, 5);
	h->deployments = dup_col(stmt, 6);
	st_copy_text(h->trigger, sizeof(h->trigger), stmt, 7);
	st_copy_text(h->outcome, sizeof(h->outcome), stmt, 8);
	h->detail = dup_col(stmt, 9);
	h->warmup = dup_col(stmt, 10);
}

#define HISTORY_COLS                                                    \
	"SELECT id, time, app, action, slot, target_slot, deployments," \
	" trigger, outcome, detail, warmup FROM history"

int state_history_get(struct state *st, int64_t id, struct st_history *h)
{
	struct st_history *list = NULL;
	size_t n = 0;
	int err;

	err = st_collect(st_prepare(st, HISTORY_COLS " WHERE id = ?", "i", id),
			 (void **)&list, &n, sizeof(*list), fill_history);
	if (err)
		return err;
	if (n != 1) {
		state_history_free(list, n);
		return -ENOENT;
	}
	*h = list[0];
	free(list);
	return 0;
}

int state_history_list(struct state *st, const char *app, size_t limit,
		       struct st_history **out, size_t *n)
{
	return st_collect(st_prepare(st,
				     HISTORY_COLS
				     " WHERE app = ? ORDER BY id DESC LIMIT ?",
				     "ti", app, (int64_t)limit),
			  (void **)out, n, sizeof(**out), fill_history);
}

void state_history_clear(struct st_history *h)
{
	free(h->deployments);
	free(h->detail);
	free(h->warmup);
	h->deployments = h->detail = h->warmup = NULL;
}

void state_history_free(struct st_history *h, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		state_history_clear(&h[i]);
	free(h);
}

static void fill_tally(sqlite3_stmt *stmt, void *p)
{
	struct st_history_tally *t = p;

	memset(t, 0, sizeof(*t));
	st_copy_text(t->app, sizeof(t->app), stmt, 0);
	st_copy_text(t->action, sizeof(t->action), stmt, 1);
	st_copy_text(t->outcome, sizeof(t->outcome), stmt, 2);
	t->count = sqlite3_column_int64(stmt, 3);
	t->last = sqlite3_column_int64(stmt, 4);
}

int state_history_tally(struct state *st, struct st_history_tally **out,
			size_t *n)
{
	return st_collect(st_prepare(st,
				     "SELECT app, action, outcome, count(*),"
				     " max(time) FROM history"
				     " GROUP BY app, action, outcome"
				     " ORDER BY app, action, outcome",
				     ""),
			  (void **)out, n, sizeof(**out), fill_tally);
}
