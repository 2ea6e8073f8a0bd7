/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals shared by the two halves of the state module (state.c: the
 * schema and the objects, state_query.c: snapshot, deployments, history).
 */
#ifndef SLOTLBD_STATE_INT_H
#define SLOTLBD_STATE_INT_H

#include <sqlite3.h>
#include "state.h"

struct state {
	sqlite3 *db;
};

/* Prepare sql, bind the arguments described by fmt ('i' int64, 't'
 * text, 'b' blob + size, 'n' NULL), return the statement or NULL. */
sqlite3_stmt *st_prepare(struct state *st, const char *sql, const char *fmt,
			 ...);
/* Step a statement that returns no rows and finalize it. */
int st_exec_stmt(sqlite3_stmt *stmt);
int st_errno(int rc);
void st_copy_text(char *dst, size_t len, sqlite3_stmt *stmt, int col);
/* Lowest values in [lo, hi) not returned by sql (ordered ascending),
 * n of them into out. -ENOSPC when fewer are free. */
int st_free_ids(struct state *st, const char *sql, int64_t lo, int64_t hi,
		uint32_t *out, size_t n);

#endif /* SLOTLBD_STATE_INT_H */
