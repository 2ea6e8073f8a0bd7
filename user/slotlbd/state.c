/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State module: the database itself. Open, the schema as migrations,
 * transactions and the statement helpers every state_*.c uses. The
 * objects live beside it, one concern per file:
 *
 *   state_app.c         apps, slots, endpoints
 *   state_deployment.c  deployments and their backends
 *   state_snapshot.c    everything at one instant (status, reconcile)
 *   state_history.c     the history of deploys, swaps and rollbacks
 *   state_iface.c       interfaces to attach at start
 *   state_settings.c    the daemon's key/value table (schema_version)
 *   state_slot_config.c what a slot keeps: warm-up policy, hook, auto swap
 *   state_app_settings.c the app's NAME=VALUE settings, sticky or swapped
 *   state_pending.c     a pending multi-phase swap (preview) and audience
 *   state_traffic.c     traffic routing: shares (hash ranges), opt-ins
 *
 * The database is the source of truth; the maps are made equal to it at
 * start (reconcile.c), so a row here is a promise. Pure: SQLite only, no
 * libbpf, no JSON (tests/unit/test_state.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

/*
 * The schema, as migrations: each brings a database from the version
 * before it to its own, in one transaction, and schema_version in the
 * settings table records how far a database went. To add a table or a
 * column, append a migration; never edit one that shipped (a database in
 * the field already ran it). Versions ascend in the array.
 */
static const struct migration {
	int version; /* ascending; a gap is a number given to other work */
	const char *sql;
} migrations[] = {
	{1,
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
	 "CREATE INDEX IF NOT EXISTS history_app ON history(app, id);"},
	/* Issue 7, the release workflow: what a slot keeps across
	 * deployments (warm-up policy, apply-settings hook, auto swap), the
	 * app's settings (sticky ones per slot, swapped ones per
	 * deployment) and a pending multi-phase swap with its audience. */
	{2,
	 "CREATE TABLE slot_warmup("
	 " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	 " mode INTEGER NOT NULL, path TEXT NOT NULL, statuses TEXT NOT NULL,"
	 " timeout_ms INTEGER NOT NULL, retries INTEGER NOT NULL,"
	 " retry_delay_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,"
	 " host TEXT NOT NULL, PRIMARY KEY(app_id, slot),"
	 " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE);"
	 "CREATE TABLE slot_hooks("
	 " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	 " exec TEXT NOT NULL, timeout_ms INTEGER NOT NULL,"
	 " PRIMARY KEY(app_id, slot),"
	 " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE);"
	 /* deleting either slot ends the auto swap */
	 "CREATE TABLE auto_swaps("
	 " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	 " target INTEGER NOT NULL, delay_ms INTEGER NOT NULL,"
	 " PRIMARY KEY(app_id, slot),"
	 " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE,"
	 " FOREIGN KEY(app_id, target) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE);"
	 "CREATE TABLE slot_settings("
	 " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	 " name TEXT NOT NULL, value TEXT NOT NULL,"
	 " PRIMARY KEY(app_id, slot, name),"
	 " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE);"
	 "CREATE TABLE deployment_settings("
	 " deployment INTEGER NOT NULL REFERENCES deployments(serial),"
	 " name TEXT NOT NULL, value TEXT NOT NULL,"
	 " PRIMARY KEY(deployment, name));"
	 "CREATE TABLE pending_swaps("
	 " app_id INTEGER PRIMARY KEY REFERENCES apps(id) ON DELETE CASCADE,"
	 " source INTEGER NOT NULL, target INTEGER NOT NULL,"
	 " source_deployment INTEGER NOT NULL,"
	 " target_deployment INTEGER NOT NULL, started INTEGER NOT NULL,"
	 " timeout_s INTEGER NOT NULL, on_timeout_swap INTEGER NOT NULL,"
	 " trigger TEXT NOT NULL);"
	 "CREATE TABLE pending_audience("
	 " app_id INTEGER NOT NULL"
	 " REFERENCES pending_swaps(app_id) ON DELETE CASCADE,"
	 " pos INTEGER NOT NULL, family INTEGER NOT NULL,"
	 " len INTEGER NOT NULL, addr BLOB NOT NULL,"
	 " PRIMARY KEY(app_id, pos));"},
	/* Issue 8, traffic routing: the hash ranges of each share (kept,
	 * not recomputed, so a client stays where it was across restarts
	 * and changes) and the opt-in audiences. Rules leave with either
	 * slot they name. */
	{3, "CREATE TABLE traffic_splits("
	    " app_id INTEGER NOT NULL, from_slot INTEGER NOT NULL,"
	    " slot INTEGER NOT NULL,"
	    " range_from INTEGER NOT NULL, range_to INTEGER NOT NULL,"
	    " PRIMARY KEY(app_id, from_slot, slot),"
	    " FOREIGN KEY(app_id, from_slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE,"
	    " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE);"
	    /* a prefix of a from slot leads one way only */
	    "CREATE TABLE traffic_opt_in("
	    " app_id INTEGER NOT NULL, from_slot INTEGER NOT NULL,"
	    " slot INTEGER NOT NULL, family INTEGER NOT NULL,"
	    " len INTEGER NOT NULL, addr BLOB NOT NULL,"
	    " PRIMARY KEY(app_id, from_slot, family, len, addr),"
	    " FOREIGN KEY(app_id, from_slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE,"
	    " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE);"},
	/* Issue 9, health checks: a slot's health policy, and the health of
	 * each backend as its probes last changed it (rows of transitions;
	 * a backend without a row is up). Number 4: traffic routing
	 * holds 3, issue 9's drain and events 5 (versions may have gaps; see
	 * migrate()). */
	{4,
	 "CREATE TABLE slot_health("
	 " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	 " mode INTEGER NOT NULL, path TEXT NOT NULL, statuses TEXT NOT NULL,"
	 " timeout_ms INTEGER NOT NULL, host TEXT NOT NULL,"
	 " interval_ms INTEGER NOT NULL, unhealthy_after INTEGER NOT NULL,"
	 " healthy_after INTEGER NOT NULL, tcp INTEGER NOT NULL,"
	 " PRIMARY KEY(app_id, slot),"
	 " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	 " ON DELETE CASCADE);"
	 "CREATE TABLE backend_health("
	 " deployment INTEGER NOT NULL REFERENCES deployments(serial),"
	 " id INTEGER NOT NULL, down INTEGER NOT NULL,"
	 " in_ring INTEGER NOT NULL, since INTEGER NOT NULL,"
	 " error TEXT NOT NULL, PRIMARY KEY(deployment, id));"},
	/* Issue 9, drain control: a slot's drain policy, each draining
	 * deployment's deadline as it started draining, and the drain and
	 * ring edits of single backends (a row means the deployment's ring
	 * differs from its deploy-time weights, so reconcile rebuilds it). */
	{5, "CREATE TABLE slot_drain("
	    " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	    " timeout_ms INTEGER NOT NULL, reset INTEGER NOT NULL,"
	    " reset_rate INTEGER NOT NULL, PRIMARY KEY(app_id, slot),"
	    " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE);"
	    "CREATE TABLE deployment_drain("
	    " deployment INTEGER PRIMARY KEY REFERENCES deployments(serial),"
	    " since_ms INTEGER NOT NULL, deadline_ms INTEGER NOT NULL,"
	    " reset_rate INTEGER NOT NULL);"
	    "CREATE TABLE backend_drain("
	    " deployment INTEGER NOT NULL REFERENCES deployments(serial),"
	    " id INTEGER NOT NULL, drained INTEGER NOT NULL,"
	    " since_ms INTEGER NOT NULL, timeout_ms INTEGER NOT NULL,"
	    " PRIMARY KEY(deployment, id));"
	    /* Event hooks of an app: a URL (signed when it has a secret)
	     * or an executable, the events it wants (bits of event_names),
	     * its delivery counts. They go with the app. */
	    "CREATE TABLE event_hooks("
	    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
	    " app_id INTEGER NOT NULL REFERENCES apps(id) ON DELETE CASCADE,"
	    " events INTEGER NOT NULL, url TEXT NOT NULL, exec TEXT NOT NULL,"
	    " secret TEXT NOT NULL, created INTEGER NOT NULL,"
	    " delivered INTEGER NOT NULL DEFAULT 0,"
	    " failed INTEGER NOT NULL DEFAULT 0,"
	    " attempts_failed INTEGER NOT NULL DEFAULT 0,"
	    " last_error TEXT NOT NULL DEFAULT '');"},
	/* Issue 9, verification stored on a slot: every swap into it
	 * verifies the incoming deployment unless the swap brings its own.
	 * http is "PATH=STATUSES" as given ("" none); ratios in millionths,
	 * -1 none. */
	{6, "CREATE TABLE slot_verify("
	    " app_id INTEGER NOT NULL, slot INTEGER NOT NULL,"
	    " for_ms INTEGER NOT NULL, http TEXT NOT NULL,"
	    " exec TEXT NOT NULL, max_reset_ppm INTEGER NOT NULL,"
	    " max_handshake_ppm INTEGER NOT NULL,"
	    " on_failure INTEGER NOT NULL, PRIMARY KEY(app_id, slot),"
	    " FOREIGN KEY(app_id, slot) REFERENCES slots(app_id, idx)"
	    " ON DELETE CASCADE);"},
	/* Issue 12, direct server return: an app's forwarding mode (enum
	 * slotlb_mode; 0 NAT for every app that existed before). Number 7:
	 * issue 9's verification holds 6. */
	{7, "ALTER TABLE apps ADD COLUMN mode INTEGER NOT NULL DEFAULT 0;"},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
#define SCHEMA_VERSION migrations[N_MIGRATIONS - 1].version

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
	struct state *st = NULL;
	int rc, err;

	if (!stmt)
		return -EIO;
	/* With a log, a write outside any transaction is a transaction of
	 * its own, so that it reaches the log like any other. */
	if (sqlite3_get_autocommit(sqlite3_db_handle(stmt)) &&
	    !sqlite3_stmt_readonly(stmt))
		st = st_log_of(sqlite3_db_handle(stmt));
	if (st) {
		err = state_begin(st);
		if (err) {
			sqlite3_finalize(stmt);
			return err;
		}
	}
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	err = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : st_errno(rc);
	if (st && !err)
		err = state_commit(st);
	if (st && err)
		state_rollback(st);
	return err;
}

int st_read_one(sqlite3_stmt *stmt, void (*fill)(sqlite3_stmt *, void *),
		void *p)
{
	int rc;

	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && fill)
		fill(stmt, p);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : st_errno(rc);
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

int st_collect(sqlite3_stmt *stmt, void **arr, size_t *n, size_t sz,
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

/* Bring the database to SCHEMA_VERSION; a newer one is refused
 * untouched, since this build would not know what its tables mean. */
static int migrate(struct state *st)
{
	char buf[16] = "0";
	int err, from, i;

	/* the settings table holds the version, so it comes first */
	err = st_settings_create(st);
	if (err)
		return err;
	err = state_setting_get(st, "schema_version", buf, sizeof(buf));
	if (err && err != -ENOENT)
		return err;
	from = atoi(buf);
	if (from > SCHEMA_VERSION)
		return -EPROTONOSUPPORT;
	/* Versions ascend and may have gaps (numbers handed out to work
	 * merged in another order): run every one above the database's. */
	for (i = 0; i < (int)N_MIGRATIONS; i++) {
		if (migrations[i].version <= from)
			continue;
		snprintf(buf, sizeof(buf), "%d", migrations[i].version);
		err = state_begin(st);
		if (!err)
			err = st_errno(sqlite3_exec(st->db, migrations[i].sql,
						    NULL, NULL, NULL));
		if (!err)
			err = state_setting_set(st, "schema_version", buf);
		if (!err)
			err = state_commit(st);
		if (err) {
			state_rollback(st);
			return err;
		}
	}
	return 0;
}

int state_open(struct state **stp, const char *path)
{
	struct state *st;
	int rc, err;

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
	err = migrate(st);
	if (err)
		goto fail;
	*stp = st;
	return 0;
out:
	err = st_errno(rc) ? st_errno(rc) : -EIO;
fail:
	state_close(st);
	return err;
}

void state_close(struct state *st)
{
	if (!st)
		return;
	st_log_rollback(st);
	st_log_forget(st);
	sqlite3_close(st->db);
	free(st);
}

const char *state_errmsg(struct state *st)
{
	return sqlite3_errmsg(st->db);
}

int state_begin(struct state *st)
{
	if (st->has_log)
		return st_log_begin(st);
	/* IMMEDIATE: take the write lock now, not at the first write. */
	return st_errno(
		sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
}

int state_commit(struct state *st)
{
	if (st->has_log)
		return st_log_commit(st);
	return st_errno(sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
}

void state_rollback(struct state *st)
{
	if (st->has_log)
		st_log_rollback(st);
	if (!sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
}
