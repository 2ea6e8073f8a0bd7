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
	if (!err)
		err = st_errno(
			sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
	if (err)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
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
	if (!err)
		err = st_errno(
			sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL));
	if (err)
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return err;
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
