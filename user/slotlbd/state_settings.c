/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The daemon's own key/value table, `settings`: what slotlbd keeps about
 * itself rather than about an app. Today it holds schema_version, which
 * state.c's migrations read and advance; so this one table is created
 * before any migration runs, here, and never by one.
 *
 * Not the place for an app's settings (NAME=VALUE of issue 7's release
 * workflow, sticky to a slot or moving with a deployment): those belong
 * to slots and deployments and get their own tables through a migration
 * in state.c, with their functions in a file of their own.
 */
#include <errno.h>
#include "state_int.h"

int st_settings_create(struct state *st)
{
	return st_errno(sqlite3_exec(st->db,
				     "CREATE TABLE IF NOT EXISTS settings("
				     " key TEXT PRIMARY KEY,"
				     " value TEXT NOT NULL)",
				     NULL, NULL, NULL));
}

int state_setting_get(struct state *st, const char *key, char *buf, size_t len)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st, "SELECT value FROM settings WHERE key = ?", "t",
			  key);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		st_copy_text(buf, len, stmt, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_setting_set(struct state *st, const char *key, const char *value)
{
	return st_exec_stmt(
		st_prepare(st, "INSERT OR REPLACE INTO settings VALUES(?, ?)",
			   "tt", key, value));
}
