/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The interfaces the XDP program is attached to, persisted so start-up
 * attaches them again (reconcile.c). The database says what is wanted;
 * the kernel says what is attached (api_iface.c asks it).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

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
