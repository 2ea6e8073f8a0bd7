/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State module, first half: the schema, settings, apps, slots, endpoints
 * and interfaces. The database is the source of truth; the maps are made
 * equal to it at start (reconcile.c), so a row here is a promise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "util.h"

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS settings("
	" key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS apps("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" generation INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS deployments("
	" serial INTEGER PRIMARY KEY AUTOINCREMENT, id INTEGER NOT NULL,"
	" app_id INTEGER, app_name TEXT NOT NULL, version TEXT NOT NULL,"
	" state INTEGER NOT NULL, created INTEGER NOT NULL,"
	" draining_since INTEGER NOT NULL DEFAULT 0);"
	/* A data-plane id names one live deployment at a time. */
	"CREATE UNIQUE INDEX IF NOT EXISTS deployments_live"
	" ON deployments(id) WHERE state != 2;"
	"CREATE TABLE IF NOT EXISTS slots("
	" app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
	" idx INTEGER NOT NULL, name TEXT NOT NULL,"
	" deployment INTEGER REFERENCES deployments(serial),"
	" previous INTEGER REFERENCES deployments(serial),"
	" PRIMARY KEY(app_id, idx), UNIQUE(app_id, name));"
	"CREATE TABLE IF NOT EXISTS endpoints("
	" id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL,"
	" slot INTEGER NOT NULL, key BLOB NOT NULL UNIQUE,"
	" FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	" ON DELETE CASCADE);"
	"CREATE TABLE IF NOT EXISTS backends("
	" deployment INTEGER NOT NULL REFERENCES deployments(serial),"
	" id INTEGER NOT NULL, addr BLOB NOT NULL, weight INTEGER NOT NULL,"
	" PRIMARY KEY(deployment, id));"
	"CREATE TABLE IF NOT EXISTS interfaces("
	" ifname TEXT PRIMARY KEY, role TEXT NOT NULL,"
	" generic INTEGER NOT NULL, force INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS history("
	" id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
	" app TEXT NOT NULL, action TEXT NOT NULL, slot TEXT NOT NULL,"
	" target_slot TEXT NOT NULL, deployments TEXT, trigger TEXT NOT NULL,"
	" outcome TEXT NOT NULL, detail TEXT, warmup TEXT);"
	"CREATE INDEX IF NOT EXISTS history_app ON history(app, id);"
	"INSERT OR IGNORE INTO settings VALUES('schema_version', '1');";

int st_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_READONLY:
		return -EACCES;
	default:
		return -EIO;
	}
}

sqlite3_stmt *st_prepare(struct state *st, const char *sql, const char *fmt,
			 ...)
{
	sqlite3_stmt *stmt = NULL;
	const char *text;
	const void *blob;
	va_list ap;
	int i, rc;

	if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK)
		return NULL;
	va_start(ap, fmt);
	for (i = 0, rc = SQLITE_OK; fmt[i] && rc == SQLITE_OK; i++) {
		switch (fmt[i]) {
		case 'i':
			rc = sqlite3_bind_int64(stmt, i + 1,
						va_arg(ap, int64_t));
			break;
		case 't':
			text = va_arg(ap, const char *);
			rc = sqlite3_bind_text(stmt, i + 1, text, -1,
					       SQLITE_TRANSIENT);
			break;
		case 'b':
			blob = va_arg(ap, const void *);
			rc = sqlite3_bind_blob(stmt, i + 1, blob,
					       va_arg(ap, int),
					       SQLITE_TRANSIENT);
			break;
		default:
			rc = sqlite3_bind_null(stmt, i + 1);
			break;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(stmt);
		return NULL;
	}
	return stmt;
}

int st_exec_stmt(sqlite3_stmt *stmt)
{
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : st_errno(rc);
}

void st_copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

int st_free_ids(struct state *st, const char *sql, int64_t lo, int64_t hi,
		uint32_t *out, size_t n)
{
	sqlite3_stmt *stmt = st_prepare(st, sql, "");
	size_t found = 0;
	int64_t next = lo, used;
	int rc = 0;

	if (!stmt)
		return -EIO;
	/* used ids come sorted: every gap before one is free */
	while (found < n && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		used = sqlite3_column_int64(stmt, 0);
		while (found < n && next < used && next < hi)
			out[found++] = (uint32_t)next++;
		if (used >= next)
			next = used + 1;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE && found < n) {
		rc = st_errno(rc);
		goto out;
	}
	while (found < n && next < hi)
		out[found++] = (uint32_t)next++;
	rc = found == n ? 0 : -ENOSPC;
out:
	sqlite3_finalize(stmt);
	return rc;
}

int state_open(struct state **stp, const char *path)
{
	struct state *st;
	int rc;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &st->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
				     SQLITE_OPEN_FULLMUTEX,
			     NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(st->db, 5000);
	/* FULL: a commit the API acknowledged survives power loss too. */
	rc = sqlite3_exec(st->db,
			  "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			  "PRAGMA foreign_keys=ON;",
			  NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_exec(st->db, schema, NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK) {
		rc = st_errno(rc);
		state_close(st);
		return rc ? rc : -EIO;
	}
	*stp = st;
	return 0;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	sqlite3_close(st->db);
	free(st);
}

const char *state_errmsg(struct state *st)
{
	return sqlite3_errmsg(st->db);
}

int state_begin(struct state *st)
{
	/* IMMEDIATE: take the write lock now, not at the first write. */
	return st_errno(
		sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
}

int state_commit(struct state *st)
{
	return st_errno(sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
}

void state_rollback(struct state *st)
{
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
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

int state_app_find(struct state *st, const char *name, struct st_app *app)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT id, name, generation, created FROM apps"
			  " WHERE name = ?",
			  "t", name);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		app->id = (uint32_t)sqlite3_column_int64(stmt, 0);
		st_copy_text(app->name, sizeof(app->name), stmt, 1);
		app->generation = (uint32_t)sqlite3_column_int64(stmt, 2);
		app->created = sqlite3_column_int64(stmt, 3);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_app_create(struct state *st, const char *name, uint32_t *app_id)
{
	struct st_app existing;
	uint32_t id;
	int err;

	if (validate_name(name, NULL))
		return -EINVAL;
	err = state_app_find(st, name, &existing);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	err = st_free_ids(st, "SELECT id FROM apps ORDER BY id", 0,
			  SLOTLB_MAX_APPS, &id, 1);
	if (err)
		return err;
	err = st_exec_stmt(st_prepare(st, "INSERT INTO apps VALUES(?, ?, 0, ?)",
				      "iti", (int64_t)id, name, wall_s()));
	if (err)
		return err;
	err = st_exec_stmt(st_prepare(
		st, "INSERT INTO slots VALUES(?, 0, 'production', NULL, NULL)",
		"i", (int64_t)id));
	if (err)
		return err;
	*app_id = id;
	return 0;
}

int state_app_bump(struct state *st, uint32_t app_id, uint32_t *generation)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "UPDATE apps SET generation = generation + 1"
			  " WHERE id = ? RETURNING generation",
			  "i", (int64_t)app_id);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*generation = (uint32_t)sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

/* Deployments in the app's slots (or one slot) start draining. */
static int drain_slots(struct state *st, uint32_t app_id, int64_t slot,
		       int64_t since_ms)
{
	return st_exec_stmt(st_prepare(
		st,
		"UPDATE deployments SET state = 1, draining_since = ?"
		" WHERE state = 0 AND serial IN (SELECT deployment FROM slots"
		" WHERE app_id = ? AND (? < 0 OR idx = ?))",
		"iiii", since_ms, (int64_t)app_id, slot, slot));
}

int state_app_delete(struct state *st, uint32_t app_id, int64_t since_ms)
{
	int err;

	err = drain_slots(st, app_id, -1, since_ms);
	if (err)
		return err;
	err = st_exec_stmt(st_prepare(
		st, "UPDATE deployments SET app_id = NULL WHERE app_id = ?",
		"i", (int64_t)app_id));
	if (err)
		return err;
	/* slots and endpoints follow by ON DELETE CASCADE */
	return st_exec_stmt(st_prepare(st, "DELETE FROM apps WHERE id = ?", "i",
				       (int64_t)app_id));
}

static int slot_from_row(sqlite3_stmt *stmt, struct st_slot *slot)
{
	slot->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	slot->index = (uint32_t)sqlite3_column_int64(stmt, 1);
	st_copy_text(slot->name, sizeof(slot->name), stmt, 2);
	slot->deployment = sqlite3_column_int64(stmt, 3);
	slot->previous = sqlite3_column_int64(stmt, 4);
	return 0;
}

int state_slot_find(struct state *st, uint32_t app_id, const char *name,
		    struct st_slot *slot)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT app_id, idx, name, deployment, previous"
			  " FROM slots WHERE app_id = ? AND name = ?",
			  "it", (int64_t)app_id, name);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		rc = slot_from_row(stmt, slot);
	else
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	sqlite3_finalize(stmt);
	return rc;
}

int state_slot_create(struct state *st, uint32_t app_id, const char *name,
		      uint32_t *index)
{
	struct st_slot existing;
	sqlite3_stmt *stmt;
	char sql[128];
	uint32_t idx;
	int err;

	if (validate_name(name, NULL))
		return -EINVAL;
	err = state_slot_find(st, app_id, name, &existing);
	if (err != -ENOENT)
		return err ? err : -EEXIST;
	snprintf(sql, sizeof(sql),
		 "SELECT idx FROM slots WHERE app_id = %u ORDER BY idx",
		 app_id);
	err = st_free_ids(st, sql, 0, SLOTLB_MAX_SLOTS, &idx, 1);
	if (err)
		return err;
	stmt = st_prepare(st, "INSERT INTO slots VALUES(?, ?, ?, NULL, NULL)",
			  "iit", (int64_t)app_id, (int64_t)idx, name);
	err = st_exec_stmt(stmt);
	if (err)
		return err;
	*index = idx;
	return 0;
}

int state_slot_delete(struct state *st, uint32_t app_id, uint32_t index,
		      int64_t since_ms)
{
	int err;

	err = drain_slots(st, app_id, index, since_ms);
	if (err)
		return err;
	return st_exec_stmt(
		st_prepare(st, "DELETE FROM slots WHERE app_id = ? AND idx = ?",
			   "ii", (int64_t)app_id, (int64_t)index));
}

int state_slot_set(struct state *st, uint32_t app_id, uint32_t index,
		   int64_t deployment, int64_t previous)
{
	sqlite3_stmt *stmt;

	/* 0 means none: stored as NULL so the foreign key holds */
	stmt = st_prepare(st,
			  "UPDATE slots SET deployment = NULLIF(?, 0),"
			  " previous = NULLIF(?, 0)"
			  " WHERE app_id = ? AND idx = ?",
			  "iiii", deployment, previous, (int64_t)app_id,
			  (int64_t)index);
	if (!stmt)
		return -EIO;
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		sqlite3_finalize(stmt);
		return -EIO;
	}
	sqlite3_finalize(stmt);
	return sqlite3_changes(st->db) == 1 ? 0 : -ENOENT;
}

int state_endpoint_owner(struct state *st,
			 const struct slotlb_endpoint_key *key,
			 uint32_t *app_id, uint32_t *slot)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT app_id, slot FROM endpoints WHERE key = ?",
			  "b", key, (int)sizeof(*key));
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		if (app_id)
			*app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
		if (slot)
			*slot = (uint32_t)sqlite3_column_int64(stmt, 1);
		rc = -EEXIST;
	} else {
		rc = rc == SQLITE_DONE ? 0 : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_endpoint_add(struct state *st, uint32_t app_id, uint32_t slot,
		       const struct slotlb_endpoint_key *key, uint32_t *id)
{
	int err;

	err = state_endpoint_owner(st, key, NULL, NULL);
	if (err)
		return err;
	err = st_free_ids(st, "SELECT id FROM endpoints ORDER BY id", 0,
			  SLOTLB_MAX_ENDPOINTS, id, 1);
	if (err)
		return err;
	return st_exec_stmt(
		st_prepare(st, "INSERT INTO endpoints VALUES(?, ?, ?, ?)",
			   "iiib", (int64_t)*id, (int64_t)app_id, (int64_t)slot,
			   key, (int)sizeof(*key)));
}

int state_iface_put(struct state *st, const struct st_iface *iface)
{
	return st_exec_stmt(st_prepare(
		st, "INSERT OR REPLACE INTO interfaces VALUES(?, ?, ?, ?)",
		"ttii", iface->ifname, iface->role, (int64_t)iface->generic,
		(int64_t)iface->force));
}

int state_iface_delete(struct state *st, const char *ifname)
{
	int err;

	err = st_exec_stmt(st_prepare(
		st, "DELETE FROM interfaces WHERE ifname = ?", "t", ifname));
	if (err)
		return err;
	return sqlite3_changes(st->db) == 1 ? 0 : -ENOENT;
}

int state_iface_list(struct state *st, struct st_iface **out, size_t *n)
{
	struct st_iface *list = NULL, *grown;
	size_t count = 0;
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT ifname, role, generic, force FROM interfaces"
			  " ORDER BY ifname",
			  "");
	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		grown = realloc(list, (count + 1) * sizeof(*list));
		if (!grown) {
			rc = SQLITE_NOMEM;
			break;
		}
		list = grown;
		memset(&list[count], 0, sizeof(list[count]));
		st_copy_text(list[count].ifname, sizeof(list[count].ifname),
			     stmt, 0);
		st_copy_text(list[count].role, sizeof(list[count].role), stmt,
			     1);
		list[count].generic = sqlite3_column_int(stmt, 2);
		list[count].force = sqlite3_column_int(stmt, 3);
		count++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		return st_errno(rc) ? st_errno(rc) : -EIO;
	}
	*out = list;
	*n = count;
	return 0;
}
