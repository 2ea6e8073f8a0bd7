/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State of deployments and their backends. A deployment is one version
 * of an app: a serial that is never reused (what slots and history
 * name), and a data-plane id with backend ids that are reused once it is
 * retired, so the maps stay small. Its lifetime: active (in a slot),
 * draining (left its slot, pinned flows finish), retired.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "util.h"

#define LIVE_BACKEND_IDS                                 \
	"SELECT b.id FROM backends b JOIN deployments d" \
	" ON b.deployment = d.serial WHERE d.state != 2 ORDER BY b.id"

int state_deployment_create(struct state *st, uint32_t app_id,
			    const char *app_name, const char *version,
			    const struct slotlb_backend *bes,
			    const uint32_t *weights, size_t n,
			    struct st_deployment *out, uint32_t *backend_ids)
{
	uint32_t id;
	size_t i;
	int err;

	if (n == 0 || strlen(version) >= SLOTLB_VERSION_LEN)
		return -EINVAL;
	err = st_free_ids(st,
			  "SELECT id FROM deployments WHERE state != 2"
			  " ORDER BY id",
			  1, SLOTLB_MAX_DEPLOYMENTS, &id, 1);
	if (err)
		return err;
	err = st_free_ids(st, LIVE_BACKEND_IDS, 1, SLOTLB_MAX_BACKENDS,
			  backend_ids, n);
	if (err)
		return err;
	memset(out, 0, sizeof(*out));
	out->id = id;
	out->app_id = app_id;
	out->created = wall_s();
	snprintf(out->version, sizeof(out->version), "%s", version);
	err = st_exec_stmt(st_prepare(
		st,
		"INSERT INTO deployments(id, app_id, app_name, version, state,"
		" created) VALUES(?, ?, ?, ?, 0, ?)",
		"iitti", (int64_t)id, (int64_t)app_id, app_name, version,
		out->created));
	if (err)
		return err;
	out->serial = sqlite3_last_insert_rowid(st->db);
	for (i = 0; i < n; i++) {
		err = st_exec_stmt(st_prepare(
			st, "INSERT INTO backends VALUES(?, ?, ?, ?)", "iibi",
			out->serial, (int64_t)backend_ids[i], &bes[i],
			(int)sizeof(bes[i]), (int64_t)weights[i]));
		if (err)
			return err;
	}
	out->backend_count = n;
	return 0;
}

/* Row readers, shared with the snapshot: columns DEPLOYMENT_COLS and
 * BACKEND_COLS of state_int.h. */
void st_fill_deployment(sqlite3_stmt *stmt, void *p)
{
	struct st_deployment *d = p;

	memset(d, 0, sizeof(*d));
	d->serial = sqlite3_column_int64(stmt, 0);
	d->id = (uint32_t)sqlite3_column_int64(stmt, 1);
	d->app_id = sqlite3_column_type(stmt, 2) == SQLITE_NULL
			    ? -1
			    : sqlite3_column_int64(stmt, 2);
	st_copy_text(d->version, sizeof(d->version), stmt, 3);
	d->state = (enum deployment_state)sqlite3_column_int(stmt, 4);
	d->created = sqlite3_column_int64(stmt, 5);
	d->draining_since_ms = sqlite3_column_int64(stmt, 6);
	d->drain_deadline_ms = sqlite3_column_int64(stmt, 7);
	d->drain_reset_rate = (uint32_t)sqlite3_column_int64(stmt, 8);
}

void st_fill_backend(sqlite3_stmt *stmt, void *p)
{
	struct st_backend *b = p;
	const void *blob = sqlite3_column_blob(stmt, 2);

	memset(b, 0, sizeof(*b));
	b->deployment = sqlite3_column_int64(stmt, 0);
	b->id = (uint32_t)sqlite3_column_int64(stmt, 1);
	if (blob && sqlite3_column_bytes(stmt, 2) == (int)sizeof(b->be))
		memcpy(&b->be, blob, sizeof(b->be));
	b->weight = (uint32_t)sqlite3_column_int64(stmt, 3);
	b->drained = sqlite3_column_int64(stmt, 4) != 0;
	b->drained_since_ms = sqlite3_column_int64(stmt, 5);
	b->drain_timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 6);
	b->edited = sqlite3_column_int64(stmt, 7) != 0;
}

int state_deployment_get(struct state *st, int64_t serial,
			 struct st_deployment *d, struct st_backend **bes,
			 size_t *n)
{
	sqlite3_stmt *stmt;
	void *list = NULL;
	size_t count = 0;
	int rc;

	stmt = st_prepare(st,
			  "SELECT " DEPLOYMENT_COLS
			  " FROM deployments WHERE serial = ?",
			  "i", serial);
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		st_fill_deployment(stmt, d);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	rc = st_collect(st_prepare(st,
				   "SELECT " BACKEND_COLS " FROM " BACKEND_FROM
				   " WHERE b.deployment = ? ORDER BY b.id",
				   "i", serial),
			&list, &count, sizeof(struct st_backend),
			st_fill_backend);
	if (rc)
		return rc;
	d->backend_first = 0;
	d->backend_count = count;
	if (bes)
		*bes = list;
	else
		free(list);
	if (n)
		*n = count;
	return 0;
}

int state_deployment_set_state(struct state *st, int64_t serial,
			       enum deployment_state s, int64_t since_ms)
{
	int err;

	/* draining_since only moves when the deployment starts draining */
	err = st_exec_stmt(
		st_prepare(st,
			   "UPDATE deployments SET state = ?, draining_since ="
			   " CASE WHEN ? = 1 THEN ? ELSE draining_since END"
			   " WHERE serial = ?",
			   "iiii", (int64_t)s, (int64_t)s, since_ms, serial));
	if (err)
		return err == -EEXIST ? -EADDRINUSE : err;
	return sqlite3_changes(st->db) == 1 ? 0 : -ENOENT;
}

/* Active deployments in no slot (serial 0: all of them) -> retired;
 * how many. */
static int retire_orphans(struct state *st, int64_t serial, int *n)
{
	int err;

	*n = 0;
	err = st_exec_stmt(st_prepare(
		st,
		"UPDATE deployments SET state = 2 WHERE state = 0 AND"
		" (? = 0 OR serial = ?) AND serial NOT IN (SELECT deployment"
		" FROM slots WHERE deployment IS NOT NULL)",
		"ii", serial, serial));
	if (!err)
		*n = sqlite3_changes(st->db);
	return err;
}

int state_deployment_retire_orphan(struct state *st, int64_t serial)
{
	int n, err = retire_orphans(st, serial, &n);

	return !err && n != 1 ? -ENOENT : err;
}

int state_deployment_retire_orphans(struct state *st, int *n)
{
	return retire_orphans(st, 0, n);
}
