/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The database as this node's copy of a shared log (state.h, "state_log.c"):
 * each transaction that changes a shared table is recorded by SQLite's
 * session extension and handed to the log as a changeset before the
 * local COMMIT; entries of other nodes are applied in order, in
 * transactions of their own. Where the copy stands (the last entry's
 * number and revision) is kept in the local settings table, in the same
 * transaction as the changes, so a crash never applies an entry twice
 * or skips one.
 *
 * Every node applies the same entries in the same order to the same
 * start (an empty database of the same schema), so every copy holds the
 * same rows: the node that wrote an entry produced it against the
 * state the log had then (its append compares the log's head). Rows that
 * an entry's ON DELETE CASCADE already removed are not found when the
 * entry deletes them again: skipped.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"
#include "util.h"

/* The states that have a log, for st_exec_stmt(), which has only the
 * statement's connection. */
#define MAX_LOGGED 8
static pthread_mutex_t logged_lock = PTHREAD_MUTEX_INITIALIZER;
static struct state *logged[MAX_LOGGED];

void state_set_log(struct state *st, const struct state_log *log)
{
	size_t i;

	st->log = *log;
	st->has_log = true;
	pthread_mutex_lock(&logged_lock);
	for (i = 0; i < MAX_LOGGED; i++)
		if (!logged[i] || logged[i] == st) {
			logged[i] = st;
			break;
		}
	pthread_mutex_unlock(&logged_lock);
}

struct state *st_log_of(sqlite3 *db)
{
	struct state *st = NULL;
	size_t i;

	pthread_mutex_lock(&logged_lock);
	for (i = 0; i < MAX_LOGGED && !st; i++)
		if (logged[i] && logged[i]->db == db)
			st = logged[i];
	pthread_mutex_unlock(&logged_lock);
	return st;
}

void st_log_forget(struct state *st)
{
	size_t i;

	pthread_mutex_lock(&logged_lock);
	for (i = 0; i < MAX_LOGGED; i++)
		if (logged[i] == st)
			logged[i] = NULL;
	pthread_mutex_unlock(&logged_lock);
}

/* Tables of this node alone: where its copy stands, its interfaces. */
static int shared_table(void *ctx, const char *table)
{
	(void)ctx;
	return strcmp(table, "settings") && strcmp(table, "interfaces");
}

int state_log_position(struct state *st, int64_t *seq, int64_t *rev)
{
	char buf[32];
	int err;

	*seq = 0;
	*rev = 0;
	err = state_setting_get(st, "log_seq", buf, sizeof(buf));
	if (!err)
		*seq = strtoll(buf, NULL, 10);
	if (!err)
		err = state_setting_get(st, "log_revision", buf, sizeof(buf));
	if (!err)
		*rev = strtoll(buf, NULL, 10);
	return err == -ENOENT ? 0 : err;
}

static int set_position(struct state *st, int64_t seq, int64_t rev)
{
	char buf[32];
	int err;

	snprintf(buf, sizeof(buf), "%" PRId64, seq);
	err = state_setting_set(st, "log_seq", buf);
	snprintf(buf, sizeof(buf), "%" PRId64, rev);
	if (!err)
		err = state_setting_set(st, "log_revision", buf);
	return err;
}

/* End the open transaction: COMMIT if err is 0 and the commit works,
 * else ROLLBACK. Returns the first error. */
static int commit_or_rollback(struct state *st, int err)
{
	if (!err)
		err = st_errno(
			sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
	if (err)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
}

int st_log_begin(struct state *st)
{
	int err;

	/* Unreachable: the transaction may still read or change this
	 * node's own tables; a shared change fails at the commit. */
	err = st->log.catch_up(st->log.ctx);
	if (err)
		log_debug("state: log not caught up: %s", strerror(-err));
	err = st_errno(
		sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	if (err)
		return err;
	if (sqlite3session_create(st->db, "main", &st->session) != SQLITE_OK) {
		st->session = NULL;
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -ENOMEM;
	}
	sqlite3session_table_filter(st->session, shared_table, NULL);
	if (sqlite3session_attach(st->session, NULL) != SQLITE_OK) {
		st_log_rollback(st);
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
		return -EIO;
	}
	return 0;
}

int st_log_commit(struct state *st)
{
	int64_t seq, rev;
	void *changes = NULL;
	int len = 0, err = 0;

	if (st->session && !sqlite3session_isempty(st->session)) {
		err = st_errno(
			sqlite3session_changeset(st->session, &len, &changes));
		if (!err)
			err = state_log_position(st, &seq, &rev);
		if (!err && len)
			err = st->log.append(st->log.ctx, changes, len, seq,
					     &rev);
		if (!err && len)
			err = set_position(st, seq + 1, rev);
		sqlite3_free(changes);
	}
	st_log_rollback(st);
	return commit_or_rollback(st, err);
}

void st_log_rollback(struct state *st)
{
	if (st->session)
		sqlite3session_delete(st->session);
	st->session = NULL;
}

/* The copy of every node takes what the log says. */
static int on_conflict(void *ctx, int kind, sqlite3_changeset_iter *it)
{
	(void)ctx;
	(void)it;
	switch (kind) {
	case SQLITE_CHANGESET_DATA:
	case SQLITE_CHANGESET_CONFLICT:
		return SQLITE_CHANGESET_REPLACE;
	default: /* NOTFOUND (a cascade came first), CONSTRAINT, FK */
		return SQLITE_CHANGESET_OMIT;
	}
}

int state_log_apply(struct state *st, const void *changes, int len, int64_t seq,
		    int64_t rev)
{
	int64_t have, have_rev;
	int err;

	err = state_log_position(st, &have, &have_rev);
	if (err)
		return err;
	if (seq <= have)
		return 0;
	if (seq != have + 1)
		return -ESTALE;
	err = st_errno(
		sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
	if (err)
		return err;
	err = st_errno(sqlite3changeset_apply(st->db, len, (void *)changes,
					      NULL, on_conflict, NULL));
	if (!err)
		err = set_position(st, seq, rev);
	return commit_or_rollback(st, err);
}

int state_log_is_empty(struct state *st, bool *empty)
{
	int err = st_read_one(
		st_prepare(st,
			   "SELECT 1 WHERE EXISTS(SELECT 1 FROM apps) OR"
			   " EXISTS(SELECT 1 FROM deployments) OR"
			   " EXISTS(SELECT 1 FROM history)",
			   ""),
		NULL, NULL);

	*empty = err == -ENOENT;
	return err == -ENOENT ? 0 : err;
}

int state_log_snapshot(struct state *st, void **buf, size_t *len, int *schema)
{
	sqlite3_int64 size = 0;
	unsigned char *bytes;
	char v[16];
	int err;

	err = state_setting_get(st, "schema_version", v, sizeof(v));
	if (err)
		return err;
	*schema = atoi(v);
	bytes = sqlite3_serialize(st->db, "main", &size, 0);
	if (!bytes)
		return -ENOMEM;
	*buf = size >= 100 ? malloc((size_t)size) : NULL;
	if (*buf) {
		memcpy(*buf, bytes, (size_t)size);
		/* file format versions: 2 (WAL) to 1 (rollback journal),
		 * since a database deserialized into memory has no WAL */
		((unsigned char *)*buf)[18] = 1;
		((unsigned char *)*buf)[19] = 1;
	}
	sqlite3_free(bytes);
	*len = (size_t)size;
	return *buf ? 0 : -ENOMEM;
}

/* Copy table name (a shared one) from snap into main: its columns by
 * name, so column order never matters. */
static int copy_table(struct state *st, const char *name)
{
	sqlite3_stmt *stmt;
	char cols[2048] = "", sql[4096];
	size_t used = 0;
	int rc;

	stmt = st_prepare(st, "SELECT name FROM pragma_table_info(?)", "t",
			  name);
	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && used < sizeof(cols))
		used += (size_t)snprintf(cols + used, sizeof(cols) - used,
					 "%s\"%s\"", used ? "," : "",
					 sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE || used >= sizeof(cols) || !used)
		return -EIO;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO main.\"%s\"(%s) SELECT %s FROM snap.\"%s\"", name,
		 cols, cols, name);
	return st_errno(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
}

static int load_tables(struct state *st, int64_t seq, int64_t rev)
{
	char **names = NULL, sql[256];
	sqlite3_stmt *stmt;
	size_t n = 0, i;
	int rc, err = 0;

	/* parents before children (creation order), checked at COMMIT */
	stmt = st_prepare(st,
			  "SELECT name FROM main.sqlite_master WHERE type ="
			  " 'table' AND name NOT LIKE 'sqlite_%'"
			  " AND name NOT IN ('settings', 'interfaces')"
			  " ORDER BY rowid",
			  "");
	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW && !err) {
		char **grown = realloc(names, (n + 1) * sizeof(*names));

		if (!grown ||
		    !(grown[n] = strdup(
			      (const char *)sqlite3_column_text(stmt, 0))))
			err = -ENOMEM;
		if (grown)
			names = grown;
		if (!err)
			n++;
	}
	sqlite3_finalize(stmt);
	if (!err && rc != SQLITE_DONE)
		err = st_errno(rc);
	if (!err)
		err = st_errno(sqlite3_exec(st->db,
					    "PRAGMA defer_foreign_keys = ON",
					    NULL, NULL, NULL));
	/* children first, so no cascade reaches a table already filled */
	for (i = n; i-- > 0 && !err;) {
		snprintf(sql, sizeof(sql), "DELETE FROM main.\"%s\"", names[i]);
		err = st_errno(sqlite3_exec(st->db, sql, NULL, NULL, NULL));
	}
	for (i = 0; i < n && !err; i++)
		err = copy_table(st, names[i]);
	/* AUTOINCREMENT's high marks, so ids go on as on the other nodes */
	if (!err)
		err = st_errno(
			sqlite3_exec(st->db,
				     "DELETE FROM main.sqlite_sequence;"
				     " INSERT INTO main.sqlite_sequence"
				     " SELECT * FROM snap.sqlite_sequence",
				     NULL, NULL, NULL));
	if (!err)
		err = set_position(st, seq, rev);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int state_log_load(struct state *st, const void *buf, size_t len, int64_t seq,
		   int64_t rev)
{
	unsigned char *copy;
	char mine[16];
	int err;

	err = st_errno(sqlite3_exec(st->db, "ATTACH ':memory:' AS snap", NULL,
				    NULL, NULL));
	if (err)
		return err;
	copy = sqlite3_malloc64(len);
	err = copy ? 0 : -ENOMEM;
	if (!err)
		memcpy(copy, buf, len);
	/* FREEONCLOSE: SQLite owns the copy from here, even on failure */
	if (!err && sqlite3_deserialize(
			    st->db, "snap", copy, (sqlite3_int64)len,
			    (sqlite3_int64)len,
			    SQLITE_DESERIALIZE_FREEONCLOSE |
				    SQLITE_DESERIALIZE_RESIZEABLE) != SQLITE_OK)
		err = -EINVAL;
	if (!err)
		err = state_setting_get(st, "schema_version", mine,
					sizeof(mine));
	if (!err &&
	    st_read_one(st_prepare(st,
				   "SELECT value FROM snap.settings WHERE"
				   " key = 'schema_version' AND value = ?",
				   "t", mine),
			NULL, NULL))
		err = -EPROTONOSUPPORT;
	if (!err)
		err = st_errno(sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL,
					    NULL, NULL));
	if (!err) {
		err = load_tables(st, seq, rev);
		err = commit_or_rollback(st, err);
	}
	sqlite3_exec(st->db, "DETACH snap", NULL, NULL, NULL);
	return err;
}
