/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A slot's stored post-swap verification (slot_verify, goes with the
 * slot): the policy a swap into the slot uses when it brings none of its
 * own. The HTTP check is kept as the "PATH=STATUSES" text it was given
 * and read back through the same rule; ratios in millionths, -1 none.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "state_int.h"

static int64_t ppm_of(double r)
{
	return r < 0 ? -1 : (int64_t)(r * 1e6 + 0.5);
}

static double ratio_of(int64_t ppm)
{
	return ppm < 0 ? -1 : ppm / 1e6;
}

/* "PATH=200,204", "PATH" (any status) or "" (no HTTP check). */
static void http_text(const struct verify_policy *p, char *buf, size_t len)
{
	size_t i, off;

	off = (size_t)snprintf(buf, len, "%s", p->http_path);
	for (i = 0; p->http_path[0] && i < p->n_statuses && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d",
					i ? "," : "=", p->statuses[i]);
}

static void fill_verify(sqlite3_stmt *stmt, void *arg)
{
	char http[WARMUP_PATH_LEN + WARMUP_MAX_STATUSES * 4 + 2];
	struct st_slot_config *c = arg;
	struct verify_policy *p = &c->verify;

	c->has_verify = true;
	p->for_ms = (uint32_t)sqlite3_column_int64(stmt, 0);
	st_copy_text(http, sizeof(http), stmt, 1);
	/* written from a checked policy */
	if (http[0])
		validate_verify_http(http, p, NULL);
	st_copy_text(p->exec, sizeof(p->exec), stmt, 2);
	p->max_reset_ratio = ratio_of(sqlite3_column_int64(stmt, 3));
	p->max_handshake_failure_ratio =
		ratio_of(sqlite3_column_int64(stmt, 4));
	p->on_failure = sqlite3_column_int(stmt, 5) == VERIFY_ALERT
				? VERIFY_ALERT
				: VERIFY_ROLLBACK;
}

int state_slot_verify_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct st_slot_config *c)
{
	int err;

	c->has_verify = false;
	verify_policy_default(&c->verify);
	err = st_read_one(
		st_prepare(st,
			   "SELECT for_ms, http, exec, max_reset_ppm,"
			   " max_handshake_ppm, on_failure FROM slot_verify"
			   " WHERE app_id = ? AND slot = ?",
			   "ii", (int64_t)app_id, (int64_t)slot),
		fill_verify, c);
	return err == -ENOENT ? 0 : err;
}

int state_slot_verify_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct verify_policy *p)
{
	char http[WARMUP_PATH_LEN + WARMUP_MAX_STATUSES * 4 + 2];

	if (!p || !p->for_ms)
		return st_exec_stmt(st_prepare(
			st,
			"DELETE FROM slot_verify WHERE app_id = ? AND slot = ?",
			"ii", (int64_t)app_id, (int64_t)slot));
	/* a policy the rules refuse is not stored */
	if (validate_verify_for_s(p->for_ms / 1000.0, NULL) ||
	    (p->max_reset_ratio >= 0 &&
	     validate_verify_ratio(p->max_reset_ratio, NULL)) ||
	    (p->max_handshake_failure_ratio >= 0 &&
	     validate_verify_ratio(p->max_handshake_failure_ratio, NULL)))
		return -EINVAL;
	http_text(p, http, sizeof(http));
	return st_exec_stmt(st_prepare(st,
				       "INSERT OR REPLACE INTO slot_verify"
				       " VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
				       "iiittiii", (int64_t)app_id,
				       (int64_t)slot, (int64_t)p->for_ms, http,
				       p->exec, ppm_of(p->max_reset_ratio),
				       ppm_of(p->max_handshake_failure_ratio),
				       (int64_t)p->on_failure));
}
