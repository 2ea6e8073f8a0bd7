/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Event hooks of an app (event_hooks): where its events go, which it
 * wants, and how their deliveries went. A hook goes with its app; its
 * secret is only ever read back by the delivery thread (events.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "util.h"

int state_event_hook_add(struct state *st, const struct st_event_hook *h,
			 int64_t *id)
{
	int err;

	err = st_exec_stmt(st_prepare(
		st,
		"INSERT INTO event_hooks(app_id, events, url, exec, secret,"
		" created) VALUES(?, ?, ?, ?, ?, ?)",
		"iittti", (int64_t)h->app_id, (int64_t)h->events, h->url,
		h->exec, h->secret, h->created ? h->created : wall_s()));
	if (!err && id)
		*id = sqlite3_last_insert_rowid(st->db);
	return err;
}

int state_event_hook_delete(struct state *st, uint32_t app_id, int64_t id)
{
	int err;

	err = st_exec_stmt(st_prepare(
		st, "DELETE FROM event_hooks WHERE app_id = ? AND id = ?", "ii",
		(int64_t)app_id, id));
	if (!err && sqlite3_changes(st->db) == 0)
		err = -ENOENT;
	return err;
}

static void fill_hook(sqlite3_stmt *stmt, void *p)
{
	struct st_event_hook *h = p;

	memset(h, 0, sizeof(*h));
	h->id = sqlite3_column_int64(stmt, 0);
	h->app_id = (uint32_t)sqlite3_column_int64(stmt, 1);
	h->events = (uint32_t)sqlite3_column_int64(stmt, 2);
	st_copy_text(h->url, sizeof(h->url), stmt, 3);
	st_copy_text(h->exec, sizeof(h->exec), stmt, 4);
	st_copy_text(h->secret, sizeof(h->secret), stmt, 5);
	h->created = sqlite3_column_int64(stmt, 6);
	h->delivered = sqlite3_column_int64(stmt, 7);
	h->failed = sqlite3_column_int64(stmt, 8);
	h->attempts_failed = sqlite3_column_int64(stmt, 9);
	st_copy_text(h->last_error, sizeof(h->last_error), stmt, 10);
}

int state_event_hooks(struct state *st, uint32_t app_id, uint32_t events,
		      struct st_event_hook **out, size_t *n)
{
	return st_collect(
		st_prepare(st,
			   "SELECT id, app_id, events, url, exec, secret,"
			   " created, delivered, failed, attempts_failed,"
			   " last_error FROM event_hooks WHERE app_id = ?"
			   " AND (? = 0 OR (events & ?) != 0) ORDER BY id",
			   "iii", (int64_t)app_id, (int64_t)events,
			   (int64_t)events),
		(void **)out, n, sizeof(**out), fill_hook);
}

int state_event_hook_note(struct state *st, int64_t id, bool ok, bool gave_up,
			  const char *error)
{
	if (ok)
		return st_exec_stmt(st_prepare(
			st,
			"UPDATE event_hooks SET delivered = delivered + 1"
			" WHERE id = ?",
			"i", id));
	return st_exec_stmt(st_prepare(
		st,
		"UPDATE event_hooks SET attempts_failed = attempts_failed + 1,"
		" failed = failed + ?, last_error = ? WHERE id = ?",
		"iti", (int64_t)gave_up, error ? error : "", id));
}
