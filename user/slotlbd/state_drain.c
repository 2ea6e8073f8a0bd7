/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drain control in the database: a slot's drain policy (slot_drain, goes
 * with the slot), the deadline of each draining deployment as fixed when
 * its drain began (deployment_drain: a later policy change does not move
 * a drain under way, and a restart keeps it), and single backends taken
 * out of their ring or reweighted (backend_drain; its row also tells
 * reconcile that the ring differs from the deploy-time weights).
 */
#include <errno.h>
#include <string.h>
#include "state_int.h"

static void fill_drain_policy(sqlite3_stmt *stmt, void *arg)
{
	struct st_drain_policy *p = arg;

	p->stored = true;
	p->timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 0);
	p->reset = sqlite3_column_int64(stmt, 1) != 0;
	p->reset_rate = (uint32_t)sqlite3_column_int64(stmt, 2);
}

int state_slot_drain_get(struct state *st, uint32_t app_id, uint32_t slot,
			 struct st_drain_policy *p)
{
	int err;

	memset(p, 0, sizeof(*p));
	p->reset_rate = DRAIN_DEFAULT_RESET_RATE;
	err = st_read_one(
		st_prepare(
			st,
			"SELECT timeout_ms, reset, reset_rate FROM slot_drain"
			" WHERE app_id = ? AND slot = ?",
			"ii", (int64_t)app_id, (int64_t)slot),
		fill_drain_policy, p);
	return err == -ENOENT ? 0 : err;
}

int state_slot_drain_set(struct state *st, uint32_t app_id, uint32_t slot,
			 const struct st_drain_policy *p)
{
	return st_exec_stmt(st_prepare(
		st, "INSERT OR REPLACE INTO slot_drain VALUES(?, ?, ?, ?, ?)",
		"iiiii", (int64_t)app_id, (int64_t)slot, (int64_t)p->timeout_ms,
		(int64_t)p->reset, (int64_t)p->reset_rate));
}

static void fill_deployment_drain(sqlite3_stmt *stmt, void *arg)
{
	struct st_deployment_drain *dd = arg;

	dd->since_ms = sqlite3_column_int64(stmt, 0);
	dd->deadline_ms = sqlite3_column_int64(stmt, 1);
	dd->reset_rate = (uint32_t)sqlite3_column_int64(stmt, 2);
}

int state_deployment_drain_get(struct state *st, int64_t serial,
			       struct st_deployment_drain *dd)
{
	return st_read_one(st_prepare(st,
				      "SELECT since_ms, deadline_ms, reset_rate"
				      " FROM deployment_drain"
				      " WHERE deployment = ?",
				      "i", serial),
			   fill_deployment_drain, dd);
}

int state_deployment_drain_put(struct state *st, int64_t serial,
			       const struct st_deployment_drain *dd)
{
	return st_exec_stmt(st_prepare(
		st,
		"INSERT OR REPLACE INTO deployment_drain VALUES(?, ?, ?, ?)",
		"iiii", serial, dd->since_ms, dd->deadline_ms,
		(int64_t)dd->reset_rate));
}

void state_drain_deadline_of(const struct st_drain_policy *p, int64_t since_ms,
			     struct st_deployment_drain *dd)
{
	dd->since_ms = since_ms;
	dd->deadline_ms = p->timeout_ms ? since_ms + p->timeout_ms : 0;
	dd->reset_rate = p->timeout_ms && p->reset ? p->reset_rate : 0;
}

int state_deployment_drain_start(struct state *st, int64_t serial,
				 int64_t since_ms, uint32_t app_id,
				 uint32_t slot)
{
	struct st_deployment_drain dd;
	struct st_drain_policy p;
	int err;

	err = state_deployment_set_state(st, serial, DEPLOYMENT_DRAINING,
					 since_ms);
	if (!err)
		err = state_slot_drain_get(st, app_id, slot, &p);
	if (err)
		return err;
	state_drain_deadline_of(&p, since_ms, &dd);
	return state_deployment_drain_put(st, serial, &dd);
}

int state_deployment_drain_delete(struct state *st, int64_t serial)
{
	return st_exec_stmt(st_prepare(
		st, "DELETE FROM deployment_drain WHERE deployment = ?", "i",
		serial));
}

/* -ENOENT unless deployment has backend id. */
static int backend_exists(struct state *st, int64_t deployment, uint32_t id)
{
	return st_read_one(st_prepare(st,
				      "SELECT 1 FROM backends WHERE"
				      " deployment = ? AND id = ?",
				      "ii", deployment, (int64_t)id),
			   NULL, NULL);
}

int state_backend_drain_set(struct state *st, int64_t deployment, uint32_t id,
			    bool drained, int64_t since_ms, uint32_t timeout_ms)
{
	int err;

	err = backend_exists(st, deployment, id);
	if (err)
		return err;
	return st_exec_stmt(st_prepare(
		st,
		"INSERT OR REPLACE INTO backend_drain VALUES(?, ?, ?, ?, ?)",
		"iiiii", deployment, (int64_t)id, (int64_t)drained, since_ms,
		(int64_t)timeout_ms));
}

int state_backend_weight_set(struct state *st, int64_t deployment, uint32_t id,
			     uint32_t weight)
{
	int err;

	err = backend_exists(st, deployment, id);
	if (!err)
		err = st_exec_stmt(st_prepare(
			st,
			"UPDATE backends SET weight = ? WHERE deployment = ?"
			" AND id = ?",
			"iii", (int64_t)weight, deployment, (int64_t)id));
	/* the row marks the ring as edited (reconcile rebuilds it) */
	if (!err)
		err = st_exec_stmt(
			st_prepare(st,
				   "INSERT OR IGNORE INTO backend_drain"
				   " VALUES(?, ?, 0, 0, 0)",
				   "ii", deployment, (int64_t)id));
	return err;
}
