/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State module, second half: deployments and their backends, the
 * whole-state snapshot that status and reconcile read (a fixed handful of
 * queries whatever the number of apps, never one per object), and the
 * swap history.
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

static void deployment_from_row(sqlite3_stmt *stmt, struct st_deployment *d)
{
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
}

static void backend_from_row(sqlite3_stmt *stmt, struct st_backend *b)
{
	const void *blob = sqlite3_column_blob(stmt, 2);

	memset(b, 0, sizeof(*b));
	b->deployment = sqlite3_column_int64(stmt, 0);
	b->id = (uint32_t)sqlite3_column_int64(stmt, 1);
	if (blob && sqlite3_column_bytes(stmt, 2) == (int)sizeof(b->be))
		memcpy(&b->be, blob, sizeof(b->be));
	b->weight = (uint32_t)sqlite3_column_int64(stmt, 3);
}

#define DEPLOYMENT_COLS \
	"serial, id, app_id, version, state, created, draining_since"

/* Run a query and append each row (of size sz, via fill) to *arr. */
static int collect(sqlite3_stmt *stmt, void **arr, size_t *n, size_t sz,
		   void (*fill)(sqlite3_stmt *, void *))
{
	size_t cap = 0, count = 0;
	char *list = NULL, *grown;
	int rc;

	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			grown = realloc(list, cap * sz);
			if (!grown) {
				rc = SQLITE_NOMEM;
				break;
			}
			list = grown;
		}
		fill(stmt, list + count * sz);
		count++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		free(list);
		return st_errno(rc) ? st_errno(rc) : -EIO;
	}
	*arr = list;
	*n = count;
	return 0;
}

static void fill_deployment(sqlite3_stmt *stmt, void *p)
{
	deployment_from_row(stmt, p);
}

static void fill_backend(sqlite3_stmt *stmt, void *p)
{
	backend_from_row(stmt, p);
}

static void fill_app(sqlite3_stmt *stmt, void *p)
{
	struct st_app *a = p;

	memset(a, 0, sizeof(*a));
	a->id = (uint32_t)sqlite3_column_int64(stmt, 0);
	st_copy_text(a->name, sizeof(a->name), stmt, 1);
	a->generation = (uint32_t)sqlite3_column_int64(stmt, 2);
	a->created = sqlite3_column_int64(stmt, 3);
}

static void fill_slot(sqlite3_stmt *stmt, void *p)
{
	struct st_slot *s = p;

	s->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	s->index = (uint32_t)sqlite3_column_int64(stmt, 1);
	st_copy_text(s->name, sizeof(s->name), stmt, 2);
	s->deployment = sqlite3_column_int64(stmt, 3);
	s->previous = sqlite3_column_int64(stmt, 4);
}

static void fill_endpoint(sqlite3_stmt *stmt, void *p)
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
		deployment_from_row(stmt, d);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	rc = collect(st_prepare(st,
				"SELECT deployment, id, addr, weight FROM"
				" backends WHERE deployment = ? ORDER BY id",
				"i", serial),
		     &list, &count, sizeof(struct st_backend), fill_backend);
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

int state_snapshot(struct state *st, int64_t app_id, struct st_snapshot *s)
{
	const char *where = app_id < 0 ? "" : " WHERE app_id = ?";
	const char *fmt = app_id < 0 ? "" : "i";
	char sql[256];
	size_t i, b;
	int err;

	memset(s, 0, sizeof(*s));
	snprintf(sql, sizeof(sql),
		 "SELECT id, name, generation, created FROM apps%s ORDER BY id",
		 app_id < 0 ? "" : " WHERE id = ?");
	err = collect(st_prepare(st, sql, fmt, app_id), (void **)&s->apps,
		      &s->n_apps, sizeof(*s->apps), fill_app);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT app_id, idx, name, deployment, previous FROM slots%s"
		 " ORDER BY app_id, idx",
		 where);
	err = collect(st_prepare(st, sql, fmt, app_id), (void **)&s->slots,
		      &s->n_slots, sizeof(*s->slots), fill_slot);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT id, app_id, slot, key FROM endpoints%s"
		 " ORDER BY app_id, slot, id",
		 where);
	err = collect(st_prepare(st, sql, fmt, app_id), (void **)&s->endpoints,
		      &s->n_endpoints, sizeof(*s->endpoints), fill_endpoint);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT " DEPLOYMENT_COLS " FROM deployments"
		 " WHERE state != 2%s ORDER BY serial",
		 app_id < 0 ? "" : " AND app_id = ?");
	err = collect(st_prepare(st, sql, fmt, app_id),
		      (void **)&s->deployments, &s->n_deployments,
		      sizeof(*s->deployments), fill_deployment);
	if (err)
		goto out;
	snprintf(sql, sizeof(sql),
		 "SELECT b.deployment, b.id, b.addr, b.weight FROM backends b"
		 " JOIN deployments d ON b.deployment = d.serial"
		 " WHERE d.state != 2%s ORDER BY b.deployment, b.id",
		 app_id < 0 ? "" : " AND d.app_id = ?");
	err = collect(st_prepare(st, sql, fmt, app_id), (void **)&s->backends,
		      &s->n_backends, sizeof(*s->backends), fill_backend);
	if (err)
		goto out;
	/* both ordered by serial: one merge pass links them */
	for (i = 0, b = 0; i < s->n_deployments; i++) {
		while (b < s->n_backends &&
		       s->backends[b].deployment < s->deployments[i].serial)
			b++;
		s->deployments[i].backend_first = b;
		while (b < s->n_backends &&
		       s->backends[b].deployment == s->deployments[i].serial)
			b++;
		s->deployments[i].backend_count =
			b - s->deployments[i].backend_first;
	}
out:
	if (err)
		state_snapshot_free(s);
	return err;
}

void state_snapshot_free(struct st_snapshot *s)
{
	free(s->apps);
	free(s->slots);
	free(s->endpoints);
	free(s->deployments);
	free(s->backends);
	memset(s, 0, sizeof(*s));
}

const struct st_deployment *st_snapshot_deployment(const struct st_snapshot *s,
						   int64_t serial)
{
	size_t lo = 0, hi = s->n_deployments, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->deployments[mid].serial == serial)
			return &s->deployments[mid];
		if (s->deployments[mid].serial < serial)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int state_history_add(struct state *st, const struct st_history *h, int64_t *id)
{
	int err;

	err = st_exec_stmt(st_prepare(
		st,
		"INSERT INTO history(time, app, action, slot, target_slot,"
		" deployments, trigger, outcome, detail, warmup)"
		" VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"ittttttttt", h->time ? h->time : wall_s(), h->app, h->action,
		h->slot, h->target_slot, h->deployments ? h->deployments : "{}",
		h->trigger, h->outcome, h->detail ? h->detail : "",
		h->warmup ? h->warmup : "[]"));
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

	err = collect(st_prepare(st, HISTORY_COLS " WHERE id = ?", "i", id),
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
	return collect(st_prepare(st,
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
