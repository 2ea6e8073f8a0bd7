/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State of apps, their slots and the endpoints each slot owns. An app is
 * created with its production slot (index 0); deleting an app or a slot
 * takes its endpoints along (ON DELETE CASCADE) and sets its deployments
 * draining.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "state_int.h"
#include "util.h"

/* Row readers, shared with the snapshot: columns APP_COLS, SLOT_COLS and
 * ENDPOINT_COLS of state_int.h. */
void st_fill_app(sqlite3_stmt *stmt, void *p)
{
	struct st_app *a = p;

	memset(a, 0, sizeof(*a));
	a->id = (uint32_t)sqlite3_column_int64(stmt, 0);
	st_copy_text(a->name, sizeof(a->name), stmt, 1);
	a->generation = (uint32_t)sqlite3_column_int64(stmt, 2);
	a->created = sqlite3_column_int64(stmt, 3);
	a->mode = (uint32_t)sqlite3_column_int64(stmt, 4);
}

void st_fill_slot(sqlite3_stmt *stmt, void *p)
{
	struct st_slot *s = p;

	s->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	s->index = (uint32_t)sqlite3_column_int64(stmt, 1);
	st_copy_text(s->name, sizeof(s->name), stmt, 2);
	s->deployment = sqlite3_column_int64(stmt, 3);
	s->previous = sqlite3_column_int64(stmt, 4);
}

void st_fill_endpoint(sqlite3_stmt *stmt, void *p)
{
	struct st_endpoint *e = p;
	const void *blob = sqlite3_column_blob(stmt, 3);

	memset(e, 0, sizeof(*e));
	e->id = (uint32_t)sqlite3_column_int64(stmt, 0);
	e->app_id = (uint32_t)sqlite3_column_int64(stmt, 1);
	e->slot = (uint32_t)sqlite3_column_int64(stmt, 2);
	if (blob && sqlite3_column_bytes(stmt, 3) == (int)sizeof(e->key))
		memcpy(&e->key, blob, sizeof(e->key));
}

int state_app_find(struct state *st, const char *name, struct st_app *app)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT " APP_COLS " FROM apps"
			  " WHERE name = ?",
			  "t", name);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		st_fill_app(stmt, app);
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
	err = st_exec_stmt(st_prepare(st,
				      "INSERT INTO apps(id, name, generation,"
				      " created) VALUES(?, ?, 0, ?)",
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

int state_app_set_mode(struct state *st, uint32_t app_id, uint32_t mode)
{
	if (mode != SLOTLB_MODE_NAT && mode != SLOTLB_MODE_DSR)
		return -EINVAL;
	return st_exec_stmt(st_prepare(st,
				       "UPDATE apps SET mode = ? WHERE id = ?",
				       "ii", (int64_t)mode, (int64_t)app_id));
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

int state_slot_find(struct state *st, uint32_t app_id, const char *name,
		    struct st_slot *slot)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT " SLOT_COLS
			  " FROM slots WHERE app_id = ? AND name = ?",
			  "it", (int64_t)app_id, name);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		st_fill_slot(stmt, slot);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
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
