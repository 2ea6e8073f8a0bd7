/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The app's settings, NAME=VALUE pairs of its environment (not the
 * daemon's own key/value table of state_settings.c). A sticky setting
 * belongs to a slot (slot_settings: production's database URL stays in
 * production); a swapped one belongs to a deployment (deployment_settings)
 * and moves with it in a swap. What a deployment sees in a slot is its
 * own settings overlaid by the slot's sticky ones.
 *
 * Values are secrets as far as the state knows: they are stored here
 * (the state directory is 0700, the database 0600) and returned only to
 * the operations that ask for them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "state_int.h"

static void fill_setting(sqlite3_stmt *stmt, void *p)
{
	struct st_app_setting *s = p;
	const unsigned char *v = sqlite3_column_text(stmt, 1);

	memset(s, 0, sizeof(*s));
	st_copy_text(s->name, sizeof(s->name), stmt, 0);
	s->value = strdup(v ? (const char *)v : "");
	s->sticky = sqlite3_column_int(stmt, 2) != 0;
}

/* Rows of (name, value, sticky); a failed strdup fails the list. */
static int collect(sqlite3_stmt *stmt, struct st_app_setting **out, size_t *n)
{
	size_t i;
	int err;

	*out = NULL;
	*n = 0;
	err = st_collect(stmt, (void **)out, n, sizeof(**out), fill_setting);
	if (err)
		return err;
	for (i = 0; i < *n; i++)
		if (!(*out)[i].value) {
			state_app_settings_free(*out, *n);
			*out = NULL;
			*n = 0;
			return -ENOMEM;
		}
	return 0;
}

void state_app_settings_free(struct st_app_setting *s, size_t n)
{
	size_t i;

	for (i = 0; s && i < n; i++)
		free(s[i].value);
	free(s);
}

int state_slot_settings(struct state *st, uint32_t app_id, uint32_t slot,
			struct st_app_setting **out, size_t *n)
{
	return collect(
		st_prepare(st,
			   "SELECT name, value, 1 FROM slot_settings"
			   " WHERE app_id = ? AND slot = ? ORDER BY name",
			   "ii", (int64_t)app_id, (int64_t)slot),
		out, n);
}

int state_deployment_settings(struct state *st, int64_t deployment,
			      struct st_app_setting **out, size_t *n)
{
	return collect(
		st_prepare(st,
			   "SELECT name, value, 0 FROM deployment_settings"
			   " WHERE deployment = ? ORDER BY name",
			   "i", deployment),
		out, n);
}

int state_effective_settings(struct state *st, uint32_t app_id, uint32_t slot,
			     int64_t deployment, struct st_app_setting **out,
			     size_t *n)
{
	/* the slot's sticky ones, then the deployment's whose name the
	 * slot does not hold */
	return collect(
		st_prepare(st,
			   "SELECT name, value, 1 FROM slot_settings"
			   " WHERE app_id = ?1 AND slot = ?2"
			   " UNION ALL SELECT name, value, 0"
			   " FROM deployment_settings d WHERE deployment = ?3"
			   " AND NOT EXISTS (SELECT 1 FROM slot_settings s"
			   " WHERE s.app_id = ?1 AND s.slot = ?2"
			   " AND s.name = d.name) ORDER BY 1",
			   "iii", (int64_t)app_id, (int64_t)slot, deployment),
		out, n);
}

int state_slot_setting_put(struct state *st, uint32_t app_id, uint32_t slot,
			   const char *name, const char *value)
{
	if (validate_setting_name(name, NULL) ||
	    validate_setting_value(value, strlen(value), NULL))
		return -EINVAL;
	return st_exec_stmt(st_prepare(
		st, "INSERT OR REPLACE INTO slot_settings VALUES(?, ?, ?, ?)",
		"iitt", (int64_t)app_id, (int64_t)slot, name, value));
}

/* -ENOENT when the statement deleted nothing. */
static int deleted_one(struct state *st, sqlite3_stmt *stmt)
{
	int err = st_exec_stmt(stmt);

	if (err)
		return err;
	return sqlite3_changes(st->db) ? 0 : -ENOENT;
}

int state_slot_setting_delete(struct state *st, uint32_t app_id, uint32_t slot,
			      const char *name)
{
	return deleted_one(
		st, st_prepare(st,
			       "DELETE FROM slot_settings WHERE"
			       " app_id = ? AND slot = ? AND name = ?",
			       "iit", (int64_t)app_id, (int64_t)slot, name));
}

int state_deployment_setting_put(struct state *st, int64_t deployment,
				 const char *name, const char *value)
{
	if (validate_setting_name(name, NULL) ||
	    validate_setting_value(value, strlen(value), NULL))
		return -EINVAL;
	return st_exec_stmt(st_prepare(
		st,
		"INSERT OR REPLACE INTO deployment_settings VALUES(?, ?, ?)",
		"itt", deployment, name, value));
}

int state_deployment_setting_delete(struct state *st, int64_t deployment,
				    const char *name)
{
	return deleted_one(st, st_prepare(st,
					  "DELETE FROM deployment_settings"
					  " WHERE deployment = ? AND name = ?",
					  "it", deployment, name));
}

int state_deployment_settings_copy(struct state *st, int64_t from, int64_t to)
{
	return st_exec_stmt(
		st_prepare(st,
			   "INSERT OR REPLACE INTO deployment_settings"
			   " SELECT ?2, name, value FROM deployment_settings"
			   " WHERE deployment = ?1",
			   "ii", from, to));
}
