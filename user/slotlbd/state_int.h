/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals shared by the files of the state module (state.c and one
 * state_<concern>.c per table group); nothing outside them includes this.
 */
#ifndef SLOTLBD_STATE_INT_H
#define SLOTLBD_STATE_INT_H

#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>
#include "state.h"

struct state {
	sqlite3 *db;
	bool has_log; /* state_log.c */
	struct state_log log;
	struct sqlite3_session *session; /* the open transaction's changes */
};

/* state_log.c, from state.c's transactions */
int st_log_begin(struct state *st);
int st_log_commit(struct state *st);
void st_log_rollback(struct state *st);
/* The state of db if it has a log, else NULL; and its removal. */
struct state *st_log_of(sqlite3 *db);
void st_log_forget(struct state *st);

/* state.c: statements. */

/* Prepare sql, bind the arguments described by fmt ('i' int64, 't'
 * text, 'b' blob + size, 'n' NULL), return the statement or NULL. */
sqlite3_stmt *st_prepare(struct state *st, const char *sql, const char *fmt,
			 ...);
/* Step a statement that returns no rows and finalize it. */
int st_exec_stmt(sqlite3_stmt *stmt);
int st_errno(int rc);
/* Run a query (finalized here) for at most one row and read it with
 * fill (may be NULL) into p: 0, -ENOENT if there was none, or -errno. */
int st_read_one(sqlite3_stmt *stmt, void (*fill)(sqlite3_stmt *, void *),
		void *p);
void st_copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col);
/* Lowest values in [lo, hi) not returned by sql (ordered ascending),
 * n of them into out. -ENOSPC when fewer are free. */
int st_free_ids(struct state *st, const char *sql, int64_t lo, int64_t hi,
		uint32_t *out, size_t n);
/* Run a query (finalized here) and append each row, of size sz, read by
 * fill, to the malloc'd *arr. */
int st_collect(sqlite3_stmt *stmt, void **arr, size_t *n, size_t sz,
	       void (*fill)(sqlite3_stmt *, void *));

/* Row readers (fill functions for st_collect), each for the columns its
 * file's SELECTs name, in this order. */
#define APP_COLS "id, name, generation, created, mode"
#define SLOT_COLS "app_id, idx, name, deployment, previous"
#define ENDPOINT_COLS "id, app_id, slot, key"
/* then the deadline its drain got (-1: not fixed yet, 0: none) and
 * the reset rate at it (0: leave), from deployment_drain */
#define DEPLOYMENT_COLS                                                  \
	"serial, id, app_id, version, state, created, draining_since,"   \
	" COALESCE((SELECT x.deadline_ms FROM deployment_drain x"        \
	" WHERE x.deployment = serial AND x.since_ms = draining_since)," \
	" -1), COALESCE((SELECT x.reset_rate FROM deployment_drain x"    \
	" WHERE x.deployment = serial AND x.since_ms = draining_since), 0)"
#define BACKEND_COLS                                                    \
	"b.deployment, b.id, b.addr, b.weight, COALESCE(x.drained, 0)," \
	" COALESCE(x.since_ms, 0), COALESCE(x.timeout_ms, 0),"          \
	" x.deployment IS NOT NULL"
/* Backends with their drain state (state_backend.c). */
#define BACKEND_FROM                           \
	"backends b LEFT JOIN backend_drain x" \
	" ON x.deployment = b.deployment AND x.id = b.id"
/* state_app.c: struct st_app, st_slot, st_endpoint */
void st_fill_app(sqlite3_stmt *stmt, void *p);
void st_fill_slot(sqlite3_stmt *stmt, void *p);
void st_fill_endpoint(sqlite3_stmt *stmt, void *p);
/* state_deployment.c: struct st_deployment, st_backend */
void st_fill_deployment(sqlite3_stmt *stmt, void *p);
void st_fill_backend(sqlite3_stmt *stmt, void *p);

/* state_pending.c: struct st_pending (PENDING_COLS there), and the
 * audience rows of a list of them ordered by app. */
void st_fill_pending(sqlite3_stmt *stmt, void *p);
int st_pending_audiences(struct state *st, struct st_pending *p, size_t n);

#define SPLIT_COLS "app_id, from_slot, slot, range_from, range_to"
#define OPT_IN_COLS "app_id, from_slot, slot, family, len, addr"
/* state_traffic.c: struct st_split, st_opt_in */
void st_fill_split(sqlite3_stmt *stmt, void *p);
void st_fill_opt_in(sqlite3_stmt *stmt, void *p);

/* state_settings.c: the table schema_version lives in, created before
 * any migration. */
int st_settings_create(struct state *st);

#endif /* SLOTLBD_STATE_INT_H */
