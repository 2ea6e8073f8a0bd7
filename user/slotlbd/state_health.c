/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health checks in the database: a slot's health policy (a row of
 * slot_health, gone with its slot) and the health of backends as their
 * last transition left it (backend_health, one row per backend that
 * ever went down). The probes' counts in between live in slotlbd's
 * memory only (health.c): a restart starts them over, and keeps every
 * backend that was out of its ring out until it passes again.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

#define HEALTH_COLS                                             \
	"app_id, slot, mode, path, statuses, timeout_ms, host," \
	" interval_ms, unhealthy_after, healthy_after, tcp"

static void fill_slot_health(sqlite3_stmt *stmt, void *out)
{
	struct st_slot_health *h = out;
	char statuses[WARMUP_MAX_STATUSES * 4 + 1];
	struct health_policy *p = &h->p;

	health_policy_default(p);
	h->app_id = (uint32_t)sqlite3_column_int64(stmt, 0);
	h->slot = (uint32_t)sqlite3_column_int64(stmt, 1);
	p->probe.mode = (enum warmup_mode)sqlite3_column_int(stmt, 2);
	st_copy_text(p->probe.path, sizeof(p->probe.path), stmt, 3);
	st_copy_text(statuses, sizeof(statuses), stmt, 4);
	/* written from a checked list; an unreadable one means any */
	if (statuses[0])
		validate_warmup_statuses(statuses, &p->probe, NULL);
	p->probe.timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 5);
	st_copy_text(p->probe.host, sizeof(p->probe.host), stmt, 6);
	p->interval_ms = (uint32_t)sqlite3_column_int64(stmt, 7);
	p->unhealthy_after = (uint32_t)sqlite3_column_int64(stmt, 8);
	p->healthy_after = (uint32_t)sqlite3_column_int64(stmt, 9);
	p->tcp = (uint8_t)sqlite3_column_int(stmt, 10);
}

int state_slot_health_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct health_policy *p)
{
	struct st_slot_health *rows = NULL;
	size_t n = 0;
	int err;

	err = st_collect(st_prepare(st,
				    "SELECT " HEALTH_COLS " FROM slot_health"
				    " WHERE app_id = ? AND slot = ?",
				    "ii", (int64_t)app_id, (int64_t)slot),
			 (void **)&rows, &n, sizeof(*rows), fill_slot_health);
	if (!err && !n)
		err = -ENOENT;
	if (!err)
		*p = rows[0].p;
	free(rows);
	return err;
}

int state_slot_health_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct health_policy *p)
{
	char statuses[WARMUP_MAX_STATUSES * 4 + 1] = "";
	size_t i, off = 0;

	if (!p)
		return st_exec_stmt(st_prepare(
			st,
			"DELETE FROM slot_health WHERE app_id = ? AND slot = ?",
			"ii", (int64_t)app_id, (int64_t)slot));
	if (validate_health_policy(p, NULL))
		return -EINVAL;
	for (i = 0; i < p->probe.n_statuses && off < sizeof(statuses); i++)
		off += (size_t)snprintf(statuses + off, sizeof(statuses) - off,
					"%s%d", i ? "," : "",
					p->probe.statuses[i]);
	return st_exec_stmt(
		st_prepare(st,
			   "INSERT OR REPLACE INTO slot_health(" HEALTH_COLS
			   ") VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			   "iiittitiiii", (int64_t)app_id, (int64_t)slot,
			   (int64_t)p->probe.mode, p->probe.path, statuses,
			   (int64_t)p->probe.timeout_ms, p->probe.host,
			   (int64_t)p->interval_ms, (int64_t)p->unhealthy_after,
			   (int64_t)p->healthy_after, (int64_t)p->tcp));
}

int state_slot_health_list(struct state *st, struct st_slot_health **out,
			   size_t *n)
{
	*out = NULL;
	*n = 0;
	return st_collect(st_prepare(st,
				     "SELECT " HEALTH_COLS " FROM slot_health"
				     " ORDER BY app_id, slot",
				     ""),
			  (void **)out, n, sizeof(**out), fill_slot_health);
}

int state_backend_health_put(struct state *st,
			     const struct st_backend_health *h)
{
	return st_exec_stmt(st_prepare(
		st,
		"INSERT OR REPLACE INTO backend_health VALUES(?, ?, ?, ?, ?, ?)",
		"iiiiit", h->deployment, (int64_t)h->id, (int64_t)h->down,
		(int64_t)h->in_ring, h->since_ms, h->error));
}

static void fill_backend_health(sqlite3_stmt *stmt, void *out)
{
	struct st_backend_health *h = out;

	h->deployment = sqlite3_column_int64(stmt, 0);
	h->id = (uint32_t)sqlite3_column_int64(stmt, 1);
	h->down = sqlite3_column_int(stmt, 2) != 0;
	h->in_ring = sqlite3_column_int(stmt, 3) != 0;
	h->since_ms = sqlite3_column_int64(stmt, 4);
	st_copy_text(h->error, sizeof(h->error), stmt, 5);
}

int state_backend_health_list(struct state *st, int64_t deployment,
			      struct st_backend_health **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (deployment)
		return st_collect(
			st_prepare(
				st,
				"SELECT deployment, id, down, in_ring, since,"
				" error FROM backend_health"
				" WHERE deployment = ? ORDER BY id",
				"i", deployment),
			(void **)out, n, sizeof(**out), fill_backend_health);
	return st_collect(st_prepare(st,
				     "SELECT h.deployment, h.id, h.down,"
				     " h.in_ring, h.since, h.error"
				     " FROM backend_health h JOIN deployments d"
				     " ON d.serial = h.deployment"
				     " WHERE d.state != 2"
				     " ORDER BY h.deployment, h.id",
				     ""),
			  (void **)out, n, sizeof(**out), fill_backend_health);
}
