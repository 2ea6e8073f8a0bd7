/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * State of traffic routing: the shares of a slot's new clients that go
 * to other slots, stored as the hash ranges the data path compares (the
 * layout is the controller's choice and must survive a restart as it
 * is, or clients would change slots), and the opt-in prefixes. Rows
 * leave with either slot they name (ON DELETE CASCADE).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "state_int.h"

/* Row readers, shared with the snapshot: SPLIT_COLS and OPT_IN_COLS. */
void st_fill_split(sqlite3_stmt *stmt, void *p)
{
	struct st_split *s = p;

	memset(s, 0, sizeof(*s));
	s->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	s->from_slot = (uint32_t)sqlite3_column_int64(stmt, 1);
	s->slot = (uint32_t)sqlite3_column_int64(stmt, 2);
	s->from = (uint16_t)sqlite3_column_int64(stmt, 3);
	s->to = (uint16_t)sqlite3_column_int64(stmt, 4);
}

void st_fill_opt_in(sqlite3_stmt *stmt, void *p)
{
	struct st_opt_in *o = p;
	const void *addr = sqlite3_column_blob(stmt, 5);

	memset(o, 0, sizeof(*o));
	o->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	o->from_slot = (uint32_t)sqlite3_column_int64(stmt, 1);
	o->slot = (uint32_t)sqlite3_column_int64(stmt, 2);
	o->prefix.family = (uint8_t)sqlite3_column_int64(stmt, 3);
	o->prefix.len = (uint8_t)sqlite3_column_int64(stmt, 4);
	if (addr &&
	    sqlite3_column_bytes(stmt, 5) == (int)sizeof(o->prefix.addr))
		memcpy(o->prefix.addr, addr, sizeof(o->prefix.addr));
}

int state_traffic_splits_set(struct state *st, uint32_t app_id,
			     uint32_t from_slot,
			     const struct slotlb_split *splits, size_t n)
{
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		if (splits[i].from >= splits[i].to ||
		    splits[i].to > SLOTLB_SHARE_SCALE ||
		    splits[i].to_slot == from_slot)
			return -EINVAL;
	err = st_exec_stmt(st_prepare(st,
				      "DELETE FROM traffic_splits"
				      " WHERE app_id = ? AND from_slot = ?",
				      "ii", (int64_t)app_id,
				      (int64_t)from_slot));
	for (i = 0; i < n && !err; i++)
		err = st_exec_stmt(st_prepare(
			st, "INSERT INTO traffic_splits VALUES(?, ?, ?, ?, ?)",
			"iiiii", (int64_t)app_id, (int64_t)from_slot,
			(int64_t)splits[i].to_slot, (int64_t)splits[i].from,
			(int64_t)splits[i].to));
	return err;
}

int state_traffic_split_drop(struct state *st, uint32_t app_id, uint32_t slot,
			     uint32_t *share)
{
	sqlite3_stmt *stmt;
	uint32_t sum = 0;
	int rc;

	stmt = st_prepare(st,
			  "DELETE FROM traffic_splits WHERE app_id = ?"
			  " AND slot = ? RETURNING range_to - range_from",
			  "ii", (int64_t)app_id, (int64_t)slot);
	if (!stmt)
		return -EIO;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		sum += (uint32_t)sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return st_errno(rc) ? st_errno(rc) : -EIO;
	if (share)
		*share = sum;
	return 0;
}

/* The slot an opt-in prefix of from_slot leads to: -ENOENT if none. */
static int opt_in_slot(struct state *st, uint32_t app_id, uint32_t from_slot,
		       const struct slotlb_prefix *p, uint32_t *slot)
{
	sqlite3_stmt *stmt;
	int rc;

	stmt = st_prepare(st,
			  "SELECT slot FROM traffic_opt_in WHERE app_id = ?"
			  " AND from_slot = ? AND family = ? AND len = ?"
			  " AND addr = ?",
			  "iiiib", (int64_t)app_id, (int64_t)from_slot,
			  (int64_t)p->family, (int64_t)p->len, p->addr,
			  (int)sizeof(p->addr));
	if (!stmt)
		return -EIO;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*slot = (uint32_t)sqlite3_column_int64(stmt, 0);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? -ENOENT : st_errno(rc);
	}
	sqlite3_finalize(stmt);
	return rc;
}

int state_traffic_opt_in_add(struct state *st, uint32_t app_id,
			     uint32_t from_slot, uint32_t slot,
			     const struct slotlb_prefix *p, size_t n,
			     size_t *at)
{
	uint32_t now;
	size_t i;
	int err;

	/* all checked before any is added: all or nothing, also without
	 * the caller's transaction */
	for (i = 0; i < n; i++) {
		err = opt_in_slot(st, app_id, from_slot, &p[i], &now);
		if (err == -ENOENT || (!err && now == slot))
			continue;
		if (at)
			*at = i;
		return err ? err : -EEXIST;
	}
	for (i = 0; i < n; i++) {
		err = st_exec_stmt(st_prepare(
			st,
			"INSERT OR IGNORE INTO traffic_opt_in"
			" VALUES(?, ?, ?, ?, ?, ?)",
			"iiiiib", (int64_t)app_id, (int64_t)from_slot,
			(int64_t)slot, (int64_t)p[i].family, (int64_t)p[i].len,
			p[i].addr, (int)sizeof(p[i].addr)));
		if (err)
			return err;
	}
	return 0;
}

int state_traffic_opt_in_remove(struct state *st, uint32_t app_id,
				uint32_t from_slot, uint32_t slot,
				const struct slotlb_prefix *p, size_t n,
				size_t *at)
{
	uint32_t now;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = opt_in_slot(st, app_id, from_slot, &p[i], &now);
		if (!err && now == slot)
			continue;
		if (at)
			*at = i;
		return err && err != -ENOENT ? err : -ENOENT;
	}
	for (i = 0; i < n; i++) {
		err = st_exec_stmt(st_prepare(
			st,
			"DELETE FROM traffic_opt_in WHERE app_id = ?"
			" AND from_slot = ? AND family = ? AND len = ?"
			" AND addr = ?",
			"iiiib", (int64_t)app_id, (int64_t)from_slot,
			(int64_t)p[i].family, (int64_t)p[i].len, p[i].addr,
			(int)sizeof(p[i].addr)));
		if (err)
			return err;
	}
	return 0;
}

int state_traffic_clear(struct state *st, uint32_t app_id, int64_t slot)
{
	static const char *const tables[] = {"traffic_splits",
					     "traffic_opt_in"};
	char sql[128];
	size_t i;
	int err = 0;

	for (i = 0; i < 2 && !err; i++) {
		snprintf(
			sql, sizeof(sql),
			"DELETE FROM %s WHERE app_id = ? AND (? < 0 OR slot = ?)",
			tables[i]);
		err = st_exec_stmt(st_prepare(st, sql, "iii", (int64_t)app_id,
					      slot, slot));
	}
	return err;
}
