/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * What a slot keeps across deployments: its stored warm-up policy, its
 * apply-settings hook and its auto swap. Each is a row of its own table
 * keyed by (app, slot index) and goes with the slot (ON DELETE CASCADE);
 * an auto swap also goes with its target slot. A slot without a row has
 * Azure's warm-up defaults, no hook and no auto swap.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "state_int.h"

/* "200,202" for the statuses column; "" = any status. */
static void statuses_text(const struct warmup_policy *p, char *buf, size_t len)
{
	size_t i, off = 0;

	buf[0] = 0;
	for (i = 0; i < p->n_statuses && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d",
					i ? "," : "", p->statuses[i]);
}

static void fill_warmup(sqlite3_stmt *stmt, void *arg)
{
	char statuses[WARMUP_MAX_STATUSES * 4 + 1];
	struct st_slot_config *c = arg;
	struct warmup_policy *p = &c->warmup;

	c->has_warmup = true;
	p->mode = (enum warmup_mode)sqlite3_column_int(stmt, 0);
	st_copy_text(p->path, sizeof(p->path), stmt, 1);
	st_copy_text(statuses, sizeof(statuses), stmt, 2);
	p->n_statuses = 0;
	/* written from a checked list; an unreadable one means any */
	if (statuses[0])
		validate_warmup_statuses(statuses, p, NULL);
	p->timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 3);
	p->retries = (uint32_t)sqlite3_column_int64(stmt, 4);
	p->retry_delay_ms = (uint32_t)sqlite3_column_int64(stmt, 5);
	p->deadline_ms = (uint32_t)sqlite3_column_int64(stmt, 6);
	st_copy_text(p->host, sizeof(p->host), stmt, 7);
}

static void fill_hook(sqlite3_stmt *stmt, void *arg)
{
	struct st_slot_config *c = arg;

	st_copy_text(c->hook.exec, sizeof(c->hook.exec), stmt, 0);
	c->hook.timeout_ms = (uint32_t)sqlite3_column_int64(stmt, 1);
}

static void fill_auto_swap(sqlite3_stmt *stmt, void *arg)
{
	struct st_slot_config *c = arg;

	c->has_auto_swap = true;
	c->auto_swap_target = (uint32_t)sqlite3_column_int64(stmt, 0);
	c->auto_swap_delay_ms = (uint32_t)sqlite3_column_int64(stmt, 1);
}

/* One row of the slot's (absent: the defaults stay) read by fill. */
static int read_row(struct state *st, const char *sql, uint32_t app_id,
		    uint32_t slot, void (*fill)(sqlite3_stmt *, void *),
		    struct st_slot_config *c)
{
	int err = st_read_one(
		st_prepare(st, sql, "ii", (int64_t)app_id, (int64_t)slot), fill,
		c);

	return err == -ENOENT ? 0 : err;
}

int state_slot_config_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct st_slot_config *c)
{
	int err;

	memset(c, 0, sizeof(*c));
	warmup_policy_default(&c->warmup);
	err = read_row(st,
		       "SELECT mode, path, statuses, timeout_ms, retries,"
		       " retry_delay_ms, deadline_ms, host FROM slot_warmup"
		       " WHERE app_id = ? AND slot = ?",
		       app_id, slot, fill_warmup, c);
	if (!err)
		err = state_slot_drain_get(st, app_id, slot, &c->drain);
	if (!err)
		err = state_slot_verify_get(st, app_id, slot, c);
	if (!err)
		err = read_row(st,
			       "SELECT exec, timeout_ms FROM slot_hooks"
			       " WHERE app_id = ? AND slot = ?",
			       app_id, slot, fill_hook, c);
	if (!err)
		err = read_row(st,
			       "SELECT target, delay_ms FROM auto_swaps"
			       " WHERE app_id = ? AND slot = ?",
			       app_id, slot, fill_auto_swap, c);
	return err;
}

int state_slot_warmup_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct warmup_policy *p)
{
	char statuses[WARMUP_MAX_STATUSES * 4 + 1];

	if (validate_warmup_policy(p, NULL))
		return -EINVAL;
	statuses_text(p, statuses, sizeof(statuses));
	return st_exec_stmt(st_prepare(
		st,
		"INSERT OR REPLACE INTO slot_warmup VALUES"
		"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		"iiittiiiit", (int64_t)app_id, (int64_t)slot, (int64_t)p->mode,
		p->path, statuses, (int64_t)p->timeout_ms, (int64_t)p->retries,
		(int64_t)p->retry_delay_ms, (int64_t)p->deadline_ms, p->host));
}

int state_slot_hook_set(struct state *st, uint32_t app_id, uint32_t slot,
			const struct st_hook *hook)
{
	if (!hook || !hook->exec[0])
		return st_exec_stmt(st_prepare(
			st,
			"DELETE FROM slot_hooks WHERE app_id = ? AND slot = ?",
			"ii", (int64_t)app_id, (int64_t)slot));
	return st_exec_stmt(st_prepare(
		st, "INSERT OR REPLACE INTO slot_hooks VALUES(?, ?, ?, ?)",
		"iiti", (int64_t)app_id, (int64_t)slot, hook->exec,
		(int64_t)hook->timeout_ms));
}

int state_auto_swap_set(struct state *st, uint32_t app_id, uint32_t slot,
			uint32_t target, uint32_t delay_ms)
{
	if (slot == target)
		return -EINVAL;
	return st_exec_stmt(st_prepare(
		st, "INSERT OR REPLACE INTO auto_swaps VALUES(?, ?, ?, ?)",
		"iiii", (int64_t)app_id, (int64_t)slot, (int64_t)target,
		(int64_t)delay_ms));
}

int state_auto_swap_delete(struct state *st, uint32_t app_id, uint32_t slot)
{
	return st_exec_stmt(st_prepare(
		st, "DELETE FROM auto_swaps WHERE app_id = ? AND slot = ?",
		"ii", (int64_t)app_id, (int64_t)slot));
}

static void fill_slot_index(sqlite3_stmt *stmt, void *arg)
{
	*(uint32_t *)arg = (uint32_t)sqlite3_column_int64(stmt, 0);
}

int state_auto_swap_into(struct state *st, uint32_t app_id, uint32_t target,
			 uint32_t *from)
{
	return st_read_one(st_prepare(st,
				      "SELECT slot FROM auto_swaps WHERE"
				      " app_id = ? AND target = ?"
				      " ORDER BY slot LIMIT 1",
				      "ii", (int64_t)app_id, (int64_t)target),
			   fill_slot_index, from);
}

int state_slot_config_copy(struct state *st, uint32_t app_id, uint32_t from,
			   uint32_t to)
{
	static const char *const copies[] = {
		"INSERT OR REPLACE INTO slot_warmup SELECT app_id, ?3, mode,"
		" path, statuses, timeout_ms, retries, retry_delay_ms,"
		" deadline_ms, host FROM slot_warmup"
		" WHERE app_id = ?1 AND slot = ?2",
		"INSERT OR REPLACE INTO slot_hooks SELECT app_id, ?3, exec,"
		" timeout_ms FROM slot_hooks WHERE app_id = ?1 AND slot = ?2",
		"INSERT OR REPLACE INTO slot_settings SELECT app_id, ?3, name,"
		" value FROM slot_settings WHERE app_id = ?1 AND slot = ?2",
		"INSERT OR REPLACE INTO slot_health SELECT app_id, ?3, mode,"
		" path, statuses, timeout_ms, host, interval_ms,"
		" unhealthy_after, healthy_after, tcp FROM slot_health"
		" WHERE app_id = ?1 AND slot = ?2",
		"INSERT OR REPLACE INTO slot_drain SELECT app_id, ?3,"
		" timeout_ms, reset, reset_rate FROM slot_drain"
		" WHERE app_id = ?1 AND slot = ?2",
		"INSERT OR REPLACE INTO slot_verify SELECT app_id, ?3, for_ms,"
		" http, exec, max_reset_ppm, max_handshake_ppm, on_failure"
		" FROM slot_verify WHERE app_id = ?1 AND slot = ?2",
	};
	size_t i;
	int err = 0;

	for (i = 0; i < sizeof(copies) / sizeof(copies[0]) && !err; i++)
		err = st_exec_stmt(st_prepare(st, copies[i], "iii",
					      (int64_t)app_id, (int64_t)from,
					      (int64_t)to));
	return err;
}
