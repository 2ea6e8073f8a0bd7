/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of slotlbd's state module against a real SQLite file in a
 * temporary directory: id allocation and its bounds, endpoint ownership,
 * transactions that roll back whole, draining on delete, history, and a
 * reopen that finds everything again. No root, no BPF.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <sqlite3.h>
#include "state.h"

struct fixture {
	char dir[64];
	char path[96];
	struct state *st;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/test_state.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/slotlb.db", f->dir);
	assert_int_equal(state_open(&f->st, f->path), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	state_close(f->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct slotlb_endpoint_key ep(uint32_t host, uint16_t port)
{
	struct slotlb_endpoint_key k = {0};

	k.addr[0] = htonl(0xc6120000 | host);
	k.port = htons(port);
	k.proto = 6;
	k.family = AF_INET;
	return k;
}

static struct slotlb_backend be(uint32_t host)
{
	struct slotlb_backend b = {0};

	b.addr[0] = htonl(0xc6130000 | host);
	b.port = htons(8080);
	b.family = AF_INET;
	return b;
}

/* The state refuses what the shared name rule (validate.c) refuses. */
static void test_names(void **state)
{
	struct fixture *f = *state;
	uint32_t id, idx;

	assert_int_equal(state_app_create(f->st, "Web", &id), -EINVAL);
	assert_int_equal(state_app_create(f->st, "", &id), -EINVAL);
	assert_int_equal(state_app_create(f->st, "a/b", &id), -EINVAL);
	assert_int_equal(state_app_create(f->st, "a-b_c.1", &id), 0);
	assert_int_equal(state_slot_create(f->st, id, "Staging", &idx),
			 -EINVAL);
	assert_int_equal(state_slot_create(f->st, id, "-staging", &idx),
			 -EINVAL);
	assert_int_equal(state_slot_create(f->st, id, "staging", &idx), 0);
}

/* One value of the database at path, read with SQLite itself. */
static void raw_query(const char *path, const char *sql, char *buf, size_t len)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *stmt = NULL;

	assert_int_equal(
		sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL),
		SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	snprintf(buf, len, "%s", (const char *)sqlite3_column_text(stmt, 0));
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

/* A new database is migrated to the newest schema; a database from a
 * newer slotlbd is refused, untouched, instead of being misread. */
static void test_schema_version(void **state)
{
	struct fixture *f = *state;
	char v[16];
	uint32_t id;

	assert_int_equal(
		state_setting_get(f->st, "schema_version", v, sizeof(v)), 0);
	assert_string_equal(v, "7");
	assert_int_equal(state_app_create(f->st, "web", &id), 0);
	/* reopening an up-to-date database keeps everything */
	state_close(f->st);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_setting_set(f->st, "schema_version", "99"), 0);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(state_open(&f->st, f->path), -EPROTONOSUPPORT);
	assert_null(f->st);
	raw_query(f->path,
		  "SELECT value FROM settings WHERE key = 'schema_version'", v,
		  sizeof(v));
	assert_string_equal(v, "99");
	raw_query(f->path, "SELECT count(*) FROM apps", v, sizeof(v));
	assert_string_equal(v, "1");
}

/* A database of the first schema (before issues 7 and 8) is brought to the
 * current one at open, keeping what it held. */
static void test_migration_from_1(void **state)
{
	struct fixture *f = *state;
	struct st_slot_config c;
	struct st_app a;
	sqlite3 *db = NULL;
	char v[16];
	uint32_t id;

	assert_int_equal(state_app_create(f->st, "web", &id), 0);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(
		sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READWRITE, NULL),
		SQLITE_OK);
	assert_int_equal(
		sqlite3_exec(
			db,
			"DROP TABLE slot_verify;"
			"DROP TABLE event_hooks; DROP TABLE backend_drain;"
			"DROP TABLE deployment_drain; DROP TABLE slot_drain;"
			"DROP TABLE backend_health; DROP TABLE slot_health;"
			"DROP TABLE pending_audience; DROP TABLE pending_swaps;"
			"DROP TABLE deployment_settings;"
			"DROP TABLE slot_settings; DROP TABLE auto_swaps;"
			"DROP TABLE slot_hooks; DROP TABLE slot_warmup;"
			"DROP TABLE traffic_splits; DROP TABLE traffic_opt_in;"
			"ALTER TABLE apps DROP COLUMN mode;"
			"UPDATE settings SET value = '1'"
			" WHERE key = 'schema_version'",
			NULL, NULL, NULL),
		SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(state_open(&f->st, f->path), 0);
	raw_query(f->path,
		  "SELECT value FROM settings WHERE key = 'schema_version'", v,
		  sizeof(v));
	assert_string_equal(v, "7");
	assert_int_equal(state_app_find(f->st, "web", &a), 0);
	assert_int_equal(a.mode, SLOTLB_MODE_NAT);
	assert_int_equal(state_slot_config_get(f->st, id, 0, &c), 0);
	assert_false(c.has_warmup);
}

static void test_app_and_slots(void **state)
{
	struct fixture *f = *state;
	struct st_app a;
	struct st_slot s;
	uint32_t id, id2, idx, i;
	char name[16];

	assert_int_equal(state_app_create(f->st, "web", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(state_app_create(f->st, "web", &id2), -EEXIST);
	assert_int_equal(state_app_create(f->st, "api", &id2), 0);
	assert_int_equal(id2, 1);
	assert_int_equal(state_app_find(f->st, "web", &a), 0);
	assert_string_equal(a.name, "web");
	assert_int_equal(state_slot_find(f->st, id, "production", &s), 0);
	assert_int_equal(s.index, 0);
	assert_int_equal(s.deployment, 0);
	/* slots fill 1..MAX-1, then the bound */
	for (i = 1; i < SLOTLB_MAX_SLOTS; i++) {
		snprintf(name, sizeof(name), "s%u", i);
		assert_int_equal(state_slot_create(f->st, id, name, &idx), 0);
		assert_int_equal(idx, i);
	}
	assert_int_equal(state_slot_create(f->st, id, "one-more", &idx),
			 -ENOSPC);
	assert_int_equal(state_slot_create(f->st, id, "s3", &idx), -EEXIST);
	/* a deleted index is reused */
	assert_int_equal(state_slot_delete(f->st, id, 7, 0), 0);
	assert_int_equal(state_slot_create(f->st, id, "again", &idx), 0);
	assert_int_equal(idx, 7);
	/* app ids are reused too, lowest first */
	assert_int_equal(state_app_delete(f->st, id, 0), 0);
	assert_int_equal(state_app_find(f->st, "web", &a), -ENOENT);
	assert_int_equal(state_app_create(f->st, "new", &id), 0);
	assert_int_equal(id, 0);
}

static void test_endpoints(void **state)
{
	struct fixture *f = *state;
	struct slotlb_endpoint_key k = ep(100, 80);
	uint32_t app, app2, idx, id, owner_app, owner_slot;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_app_create(f->st, "api", &app2), 0);
	assert_int_equal(state_slot_create(f->st, app2, "staging", &idx), 0);
	assert_int_equal(state_endpoint_add(f->st, app, 0, &k, &id), 0);
	assert_int_equal(id, 0);
	/* owned by any slot of any app: refused */
	assert_int_equal(state_endpoint_add(f->st, app2, idx, &k, &id),
			 -EEXIST);
	assert_int_equal(
		state_endpoint_owner(f->st, &k, &owner_app, &owner_slot),
		-EEXIST);
	assert_int_equal(owner_app, app);
	assert_int_equal(owner_slot, 0);
	k = ep(100, 443);
	assert_int_equal(state_endpoint_add(f->st, app2, idx, &k, &id), 0);
	assert_int_equal(id, 1);
	/* deleting the slot frees the endpoint */
	assert_int_equal(state_slot_delete(f->st, app2, idx, 0), 0);
	assert_int_equal(state_endpoint_owner(f->st, &k, NULL, NULL), 0);
}

static void test_transaction_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct st_app a;
	uint32_t id;

	assert_int_equal(state_begin(f->st), 0);
	assert_int_equal(state_app_create(f->st, "web", &id), 0);
	state_rollback(f->st);
	assert_int_equal(state_app_find(f->st, "web", &a), -ENOENT);
	assert_int_equal(state_begin(f->st), 0);
	assert_int_equal(state_app_create(f->st, "web", &id), 0);
	assert_int_equal(state_commit(f->st), 0);
	assert_int_equal(state_app_find(f->st, "web", &a), 0);
}

static void test_deployments(void **state)
{
	struct fixture *f = *state;
	struct slotlb_backend bes[3] = {be(1), be(2), be(3)};
	uint32_t w[3] = {1, 2, 3}, ids[3], ids2[3], app;
	struct st_deployment d1, d2, d3, got;
	struct st_backend *list = NULL;
	struct st_snapshot s;
	size_t n;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_deployment_create(f->st, app, "web", "v1", bes,
						 w, 3, &d1, ids),
			 0);
	assert_int_equal(d1.id, 1);
	assert_int_equal(ids[0], 1);
	assert_int_equal(ids[2], 3);
	assert_int_equal(state_deployment_create(f->st, app, "web", "v2", bes,
						 w, 2, &d2, ids2),
			 0);
	assert_int_equal(d2.id, 2);
	assert_int_equal(ids2[0], 4);
	assert_int_equal(
		state_deployment_get(f->st, d1.serial, &got, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[1].weight, 2);
	assert_memory_equal(&list[2].be, &bes[2], sizeof(bes[2]));
	free(list);

	/* slot production holds d1, d2 replaces it: d1 drains */
	assert_int_equal(state_slot_set(f->st, app, 0, d1.serial, 0), 0);
	assert_int_equal(state_deployment_set_state(f->st, d1.serial,
						    DEPLOYMENT_DRAINING, 1234),
			 0);
	assert_int_equal(state_slot_set(f->st, app, 0, d2.serial, d1.serial),
			 0);
	assert_int_equal(state_snapshot(f->st, -1, &s), 0);
	assert_int_equal(s.n_deployments, 2);
	assert_int_equal(s.n_backends, 5);
	assert_int_equal(s.deployments[0].state, DEPLOYMENT_DRAINING);
	assert_int_equal(s.deployments[0].draining_since_ms, 1234);
	assert_int_equal(s.deployments[0].backend_count, 3);
	assert_int_equal(s.deployments[1].backend_first, 3);
	assert_int_equal(s.slots[0].deployment, d2.serial);
	assert_int_equal(s.slots[0].previous, d1.serial);
	assert_ptr_equal(st_snapshot_deployment(&s, d2.serial),
			 &s.deployments[1]);
	assert_null(st_snapshot_deployment(&s, 999));
	state_snapshot_free(&s);

	/* retired: its ids are free again, lowest first */
	assert_int_equal(state_deployment_set_state(f->st, d1.serial,
						    DEPLOYMENT_RETIRED, 0),
			 0);
	assert_int_equal(state_deployment_create(f->st, app, "web", "v3", bes,
						 w, 1, &d3, ids),
			 0);
	assert_int_equal(d3.id, 1);
	assert_int_equal(ids[0], 1);
	assert_true(d3.serial > d2.serial);
	assert_int_equal(state_snapshot(f->st, -1, &s), 0);
	assert_int_equal(s.n_deployments, 2);
	state_snapshot_free(&s);
}

static void test_app_delete_orphans(void **state)
{
	struct fixture *f = *state;
	struct slotlb_backend b = be(1);
	uint32_t w = 1, bid, app;
	struct st_deployment d;
	struct st_snapshot s;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_deployment_create(f->st, app, "web", "v1", &b,
						 &w, 1, &d, &bid),
			 0);
	assert_int_equal(state_slot_set(f->st, app, 0, d.serial, 0), 0);
	assert_int_equal(state_app_delete(f->st, app, 5000), 0);
	assert_int_equal(state_snapshot(f->st, -1, &s), 0);
	assert_int_equal(s.n_apps, 0);
	assert_int_equal(s.n_slots, 0);
	assert_int_equal(s.n_deployments, 1);
	assert_int_equal(s.deployments[0].state, DEPLOYMENT_DRAINING);
	assert_int_equal(s.deployments[0].app_id, -1);
	assert_int_equal(s.deployments[0].draining_since_ms, 5000);
	state_snapshot_free(&s);
}

static void test_history_and_reopen(void **state)
{
	struct fixture *f = *state;
	struct st_history h = {0}, *list = NULL, one;
	struct st_iface ifc = {.ifname = "lb0", .role = "public"}, *ifs;
	char buf[32];
	int64_t id;
	size_t n;
	int i;

	snprintf(h.app, sizeof(h.app), "web");
	snprintf(h.action, sizeof(h.action), "swap");
	snprintf(h.slot, sizeof(h.slot), "staging");
	snprintf(h.target_slot, sizeof(h.target_slot), "production");
	snprintf(h.outcome, sizeof(h.outcome), "ok");
	h.warmup = "[{\"backend\":\"x\"}]";
	for (i = 0; i < 3; i++)
		assert_int_equal(state_history_add(f->st, &h, &id), 0);
	assert_int_equal(state_setting_set(f->st, "k", "v"), 0);
	assert_int_equal(state_iface_put(f->st, &ifc), 0);

	state_close(f->st);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_history_list(f->st, "web", 2, &list, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(list[0].id, id); /* newest first */
	assert_string_equal(list[0].warmup, "[{\"backend\":\"x\"}]");
	assert_string_equal(list[0].target_slot, "production");
	state_history_free(list, n);
	assert_int_equal(state_history_get(f->st, id, &one), 0);
	assert_string_equal(one.outcome, "ok");
	state_history_clear(&one);
	assert_int_equal(state_history_list(f->st, "api", 10, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	assert_int_equal(state_setting_get(f->st, "k", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "v");
	assert_int_equal(state_setting_get(f->st, "nope", buf, sizeof(buf)),
			 -ENOENT);
	assert_int_equal(state_iface_list(f->st, &ifs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ifs[0].role, "public");
	free(ifs);
	assert_int_equal(state_iface_delete(f->st, "lb0"), 0);
	assert_int_equal(state_iface_delete(f->st, "lb0"), -ENOENT);
}

/* A slot without configuration has Azure's defaults; what is stored
 * comes back whole, and goes with its slot. */
static void test_slot_config(void **state)
{
	struct fixture *f = *state;
	struct st_slot_config c;
	struct warmup_policy p;
	struct st_hook h = {.exec = "/usr/local/bin/apply", .timeout_ms = 5000};
	uint32_t app, staging, qa, from;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa", &qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_false(c.has_warmup);
	assert_false(c.has_auto_swap);
	assert_string_equal(c.hook.exec, "");
	assert_int_equal(c.warmup.timeout_ms, WARMUP_DEFAULT_TIMEOUT_MS);

	warmup_policy_default(&p);
	p.mode = WARMUP_HTTPS;
	strcpy(p.path, "/healthz");
	strcpy(p.host, "www.example.com");
	assert_int_equal(validate_warmup_statuses("200,202", &p, NULL), 0);
	p.timeout_ms = 2500;
	p.retries = 3;
	p.retry_delay_ms = 250;
	p.deadline_ms = 60000;
	assert_int_equal(state_slot_warmup_set(f->st, app, 0, &p), 0);
	assert_int_equal(state_slot_hook_set(f->st, app, 0, &h), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_true(c.has_warmup);
	assert_memory_equal(&c.warmup, &p, sizeof(p));
	assert_string_equal(c.hook.exec, h.exec);
	assert_int_equal(c.hook.timeout_ms, 5000);
	/* a policy the rules refuse is not stored */
	p.retries = WARMUP_MAX_RETRIES + 1;
	assert_int_equal(state_slot_warmup_set(f->st, app, 0, &p), -EINVAL);

	/* auto swap: staging -> production; deleting the target ends it */
	assert_int_equal(state_auto_swap_set(f->st, app, staging, 0, 1500), 0);
	assert_int_equal(state_auto_swap_set(f->st, app, qa, qa, 0), -EINVAL);
	assert_int_equal(state_slot_config_get(f->st, app, staging, &c), 0);
	assert_true(c.has_auto_swap);
	assert_int_equal(c.auto_swap_target, 0);
	assert_int_equal(c.auto_swap_delay_ms, 1500);
	assert_int_equal(state_auto_swap_into(f->st, app, 0, &from), 0);
	assert_int_equal(from, staging);
	assert_int_equal(state_auto_swap_into(f->st, app, qa, &from), -ENOENT);
	assert_int_equal(state_auto_swap_set(f->st, app, 0, qa, 0), 0);
	assert_int_equal(state_slot_delete(f->st, app, qa, 0), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_false(c.has_auto_swap);
	assert_int_equal(state_auto_swap_delete(f->st, app, staging), 0);
	assert_int_equal(state_slot_config_get(f->st, app, staging, &c), 0);
	assert_false(c.has_auto_swap);

	/* clone: policy, hook and sticky settings, no auto swap */
	assert_int_equal(state_auto_swap_set(f->st, app, staging, 0, 0), 0);
	assert_int_equal(state_slot_setting_put(f->st, app, staging, "DB", "s"),
			 0);
	assert_int_equal(state_slot_create(f->st, app, "qa", &qa), 0);
	assert_int_equal(state_slot_config_copy(f->st, app, 0, qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, qa, &c), 0);
	assert_true(c.has_warmup);
	assert_string_equal(c.warmup.path, "/healthz");
	assert_string_equal(c.hook.exec, h.exec);
	assert_int_equal(state_slot_config_copy(f->st, app, staging, qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, qa, &c), 0);
	assert_false(c.has_auto_swap);
	/* staging had no policy of its own: qa keeps the one it had */
	assert_true(c.has_warmup);
	/* deleting a slot takes its configuration along */
	assert_int_equal(state_slot_delete(f->st, app, qa, 0), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa2", &qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, qa, &c), 0);
	assert_false(c.has_warmup);
	assert_string_equal(c.hook.exec, "");
	assert_int_equal(state_slot_hook_set(f->st, app, 0, NULL), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_string_equal(c.hook.exec, "");
}

/* A slot's stored verification: read back as written (the HTTP check
 * with its statuses, ratios, on-failure), refused by the rules when
 * wrong, copied by a clone with the health and drain policies, removed
 * by NULL and with its slot. */
static void test_slot_verify(void **state)
{
	struct fixture *f = *state;
	struct st_drain_policy dp = {
		.timeout_ms = 30000, .reset = true, .reset_rate = 50};
	struct health_policy hp, hq;
	struct st_slot_config c;
	struct verify_policy p;
	uint32_t app, staging, qa;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_false(c.has_verify);
	assert_int_equal(c.verify.for_ms, 0);

	verify_policy_default(&p);
	p.for_ms = 60000;
	assert_int_equal(validate_verify_http("/healthz=200,204", &p, NULL), 0);
	strcpy(p.exec, "/usr/local/bin/check");
	p.max_reset_ratio = 0.05;
	p.on_failure = VERIFY_ALERT;
	assert_int_equal(state_slot_verify_set(f->st, app, 0, &p), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_true(c.has_verify);
	assert_int_equal(c.verify.for_ms, 60000);
	assert_string_equal(c.verify.http_path, "/healthz");
	assert_int_equal(c.verify.n_statuses, 2);
	assert_int_equal(c.verify.statuses[1], 204);
	assert_string_equal(c.verify.exec, "/usr/local/bin/check");
	assert_true(c.verify.max_reset_ratio > 0.0499 &&
		    c.verify.max_reset_ratio < 0.0501);
	assert_true(c.verify.max_handshake_failure_ratio < 0);
	assert_int_equal(c.verify.on_failure, VERIFY_ALERT);
	/* the rules refuse it: nothing stored, the old one stays */
	p.max_handshake_failure_ratio = 1.5;
	assert_int_equal(state_slot_verify_set(f->st, app, 0, &p), -EINVAL);
	p.max_handshake_failure_ratio = -1;
	p.for_ms = VERIFY_MAX_FOR_MS + 1000;
	assert_int_equal(state_slot_verify_set(f->st, app, 0, &p), -EINVAL);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_int_equal(c.verify.for_ms, 60000);
	assert_true(c.verify.max_handshake_failure_ratio < 0);

	/* clone carries verification, health and drain policies */
	health_policy_default(&hp);
	hp.interval_ms = 3000;
	hp.unhealthy_after = 4;
	assert_int_equal(state_slot_health_set(f->st, app, 0, &hp), 0);
	dp.stored = true;
	assert_int_equal(state_slot_drain_set(f->st, app, 0, &dp), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa", &qa), 0);
	assert_int_equal(state_slot_config_copy(f->st, app, 0, qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, qa, &c), 0);
	assert_true(c.has_verify);
	assert_string_equal(c.verify.http_path, "/healthz");
	assert_int_equal(c.verify.on_failure, VERIFY_ALERT);
	assert_true(c.drain.stored);
	assert_int_equal(c.drain.timeout_ms, 30000);
	assert_true(c.drain.reset);
	assert_int_equal(c.drain.reset_rate, 50);
	assert_int_equal(state_slot_health_get(f->st, app, qa, &hq), 0);
	assert_int_equal(hq.interval_ms, 3000);
	assert_int_equal(hq.unhealthy_after, 4);
	/* a clone of a slot without any leaves none */
	assert_int_equal(state_slot_config_get(f->st, app, staging, &c), 0);
	assert_false(c.has_verify);

	/* NULL removes; deleting the slot takes it along */
	assert_int_equal(state_slot_verify_set(f->st, app, 0, NULL), 0);
	assert_int_equal(state_slot_config_get(f->st, app, 0, &c), 0);
	assert_false(c.has_verify);
	assert_int_equal(state_slot_delete(f->st, app, qa, 0), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa2", &qa), 0);
	assert_int_equal(state_slot_config_get(f->st, app, qa, &c), 0);
	assert_false(c.has_verify);
}

static const char *value_of(const struct st_app_setting *s, size_t n,
			    const char *name, bool *sticky)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(s[i].name, name)) {
			if (sticky)
				*sticky = s[i].sticky;
			return s[i].value;
		}
	return NULL;
}

/* Sticky settings stay with the slot, swapped ones with the deployment;
 * the effective ones overlay them, sticky winning. */
static void test_app_settings(void **state)
{
	struct fixture *f = *state;
	struct slotlb_backend b = be(1);
	uint32_t w = 1, bid, app, staging;
	struct st_deployment d1, d2;
	struct st_app_setting *s;
	bool sticky = false;
	size_t n;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	assert_int_equal(state_deployment_create(f->st, app, "web", "v1", &b,
						 &w, 1, &d1, &bid),
			 0);
	assert_int_equal(
		state_slot_setting_put(f->st, app, 0, "DB_URL", "prod"), 0);
	assert_int_equal(
		state_slot_setting_put(f->st, app, staging, "DB_URL", "stage"),
		0);
	assert_int_equal(state_deployment_setting_put(f->st, d1.serial,
						      "FEATURE", "new"),
			 0);
	assert_int_equal(
		state_deployment_setting_put(f->st, d1.serial, "DB_URL", "own"),
		0);
	assert_int_equal(state_slot_setting_put(f->st, app, 0, "bad-name", "x"),
			 -EINVAL);
	assert_int_equal(state_slot_setting_put(f->st, app, 0, "X", "\xff"),
			 -EINVAL);

	/* d1 in production: DB_URL is production's, FEATURE its own */
	assert_int_equal(
		state_effective_settings(f->st, app, 0, d1.serial, &s, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(s[0].name, "DB_URL"); /* ordered by name */
	assert_string_equal(value_of(s, n, "DB_URL", &sticky), "prod");
	assert_true(sticky);
	assert_string_equal(value_of(s, n, "FEATURE", &sticky), "new");
	assert_false(sticky);
	state_app_settings_free(s, n);
	/* the same deployment seen in staging */
	assert_int_equal(state_effective_settings(f->st, app, staging,
						  d1.serial, &s, &n),
			 0);
	assert_string_equal(value_of(s, n, "DB_URL", NULL), "stage");
	assert_string_equal(value_of(s, n, "FEATURE", NULL), "new");
	state_app_settings_free(s, n);
	/* no deployment: the slot's sticky ones only */
	assert_int_equal(state_effective_settings(f->st, app, 0, 0, &s, &n), 0);
	assert_int_equal(n, 1);
	state_app_settings_free(s, n);

	/* a new deployment takes the swapped settings of the one it
	 * replaces, and each then changes alone */
	assert_int_equal(state_deployment_create(f->st, app, "web", "v2", &b,
						 &w, 1, &d2, &bid),
			 0);
	assert_int_equal(
		state_deployment_settings_copy(f->st, d1.serial, d2.serial), 0);
	assert_int_equal(
		state_deployment_setting_put(f->st, d2.serial, "FEATURE", "v2"),
		0);
	assert_int_equal(state_deployment_settings(f->st, d1.serial, &s, &n),
			 0);
	assert_string_equal(value_of(s, n, "FEATURE", NULL), "new");
	state_app_settings_free(s, n);
	assert_int_equal(state_deployment_settings(f->st, d2.serial, &s, &n),
			 0);
	assert_int_equal(n, 2);
	assert_string_equal(value_of(s, n, "FEATURE", NULL), "v2");
	state_app_settings_free(s, n);

	assert_int_equal(state_slot_setting_delete(f->st, app, 0, "DB_URL"), 0);
	assert_int_equal(state_slot_setting_delete(f->st, app, 0, "DB_URL"),
			 -ENOENT);
	assert_int_equal(
		state_deployment_setting_delete(f->st, d2.serial, "NOPE"),
		-ENOENT);
	assert_int_equal(state_slot_settings(f->st, app, 0, &s, &n), 0);
	assert_int_equal(n, 0);
	state_app_settings_free(s, n);
	/* deleting a slot takes its sticky settings along */
	assert_int_equal(state_slot_delete(f->st, app, staging, 0), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa", &staging), 0);
	assert_int_equal(state_slot_settings(f->st, app, staging, &s, &n), 0);
	assert_int_equal(n, 0);
	state_app_settings_free(s, n);
}

/* A pending swap and its audience survive a reopen, show in the
 * snapshot, and go with a reset or with their app. */
static void test_pending(void **state)
{
	struct fixture *f = *state;
	struct st_pending p = {0}, got;
	struct st_pending *list;
	struct st_snapshot s;
	uint32_t app, app2, staging;
	char v[16];
	size_t n;

	assert_int_equal(state_app_create(f->st, "web", &app2), 0);
	assert_int_equal(state_app_create(f->st, "shop", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	p.app_id = app;
	p.source = staging;
	p.target = 0;
	p.source_deployment = 7;
	p.target_deployment = 3;
	p.started = 1700000000;
	p.timeout_s = 600;
	p.on_timeout_swap = true;
	snprintf(p.trigger, sizeof(p.trigger), "uid=0 pid=1 cli");
	p.n_audience = 2;
	p.audience[0].family = AF_INET;
	p.audience[0].len = 32;
	p.audience[0].addr[0] = htonl(0xc6120003);
	p.audience[1].family = AF_INET6;
	p.audience[1].len = 64;
	p.audience[1].addr[0] = htonl(0xfd005107);
	assert_int_equal(state_pending_get(f->st, app, &got), -ENOENT);
	assert_int_equal(state_pending_add(f->st, &p), 0);
	assert_int_equal(state_pending_add(f->st, &p), -EEXIST);

	state_close(f->st);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_pending_get(f->st, app, &got), 0);
	assert_int_equal(got.source, staging);
	assert_int_equal(got.target_deployment, 3);
	assert_int_equal(got.timeout_s, 600);
	assert_true(got.on_timeout_swap);
	assert_string_equal(got.trigger, "uid=0 pid=1 cli");
	assert_int_equal(got.n_audience, 2);
	assert_memory_equal(got.audience[1].addr, p.audience[1].addr, 16);
	assert_int_equal(got.audience[1].len, 64);
	/* the audience sends the target's clients to the source */
	assert_int_equal(got.audience[0].from_slot, 0);
	assert_int_equal(got.audience[0].to_slot, staging);
	assert_int_equal(state_pending_get(f->st, app2, &got), -ENOENT);

	assert_int_equal(state_snapshot(f->st, app, &s), 0);
	assert_int_equal(s.n_pending, 1);
	assert_non_null(st_snapshot_pending(&s, app));
	assert_null(st_snapshot_pending(&s, app2));
	assert_int_equal(st_snapshot_pending(&s, app)->n_audience, 2);
	state_snapshot_free(&s);
	assert_int_equal(state_snapshot(f->st, app2, &s), 0);
	assert_int_equal(s.n_pending, 0);
	state_snapshot_free(&s);
	assert_int_equal(state_pending_list(f->st, &list, &n), 0);
	assert_int_equal(n, 1);
	free(list);

	assert_int_equal(state_pending_delete(f->st, app), 0);
	assert_int_equal(state_pending_delete(f->st, app), -ENOENT);
	assert_int_equal(state_pending_add(f->st, &p), 0);
	assert_int_equal(state_app_delete(f->st, app, 0), 0);
	assert_int_equal(state_pending_list(f->st, &list, &n), 0);
	assert_int_equal(n, 0);
	free(list);
	/* and its audience rows by cascade */
	raw_query(f->path, "SELECT count(*) FROM pending_audience", v,
		  sizeof(v));
	assert_string_equal(v, "0");
}

/* An IPv4 prefix a.b.c.0/len as the parser gives it. */
static struct slotlb_prefix pfx(uint32_t net, uint8_t len)
{
	struct slotlb_prefix p = {.family = AF_INET, .len = len};

	p.addr[0] = htonl(net);
	return p;
}

static struct slotlb_split split(uint8_t to_slot, uint16_t from, uint16_t to)
{
	struct slotlb_split s = {.from = from, .to = to, .to_slot = to_slot};

	return s;
}

/* Shares keep their ranges exactly (a restart must not move a client),
 * opt-ins lead one way per prefix, changes are all or nothing, and the
 * rules leave with a slot they name. */
static void test_traffic(void **state)
{
	struct fixture *f = *state;
	struct slotlb_split sp[2] = {split(1, 0, 1000), split(2, 9500, 10000)};
	struct slotlb_prefix in[3] = {pfx(0xc6336400, 24), pfx(0x0a000000, 8),
				      pfx(0xc0000200, 24)};
	const struct st_split *ss;
	const struct st_opt_in *oi;
	struct st_snapshot s;
	uint32_t app, other, idx, share;
	size_t n, at = 99;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &idx), 0);
	assert_int_equal(state_slot_create(f->st, app, "qa", &idx), 0);
	assert_int_equal(state_app_create(f->st, "shop", &other), 0);
	assert_int_equal(state_slot_create(f->st, other, "staging", &idx), 0);

	assert_int_equal(state_traffic_splits_set(f->st, app, 0, sp, 2), 0);
	sp[0] = split(1, 0, 0); /* empty range */
	assert_int_equal(state_traffic_splits_set(f->st, other, 0, sp, 1),
			 -EINVAL);
	sp[0] = split(0, 0, 10); /* the from slot itself */
	assert_int_equal(state_traffic_splits_set(f->st, other, 0, sp, 1),
			 -EINVAL);
	sp[0] = split(1, 20, 30);
	assert_int_equal(state_traffic_splits_set(f->st, other, 0, sp, 1), 0);

	assert_int_equal(state_traffic_opt_in_add(f->st, app, 0, 1, in, 2, &at),
			 0);
	/* again for the same slot: kept, no error */
	assert_int_equal(state_traffic_opt_in_add(f->st, app, 0, 1, in, 1, &at),
			 0);
	/* a prefix that already leads elsewhere: refused, none added */
	assert_int_equal(
		state_traffic_opt_in_add(f->st, app, 0, 2, &in[1], 2, &at),
		-EEXIST);
	assert_int_equal(at, 0);
	/* opting out (toward the from slot itself) is a rule too */
	assert_int_equal(
		state_traffic_opt_in_add(f->st, app, 0, 0, &in[2], 1, &at), 0);
	/* removal of one that is not there: refused, none removed */
	assert_int_equal(
		state_traffic_opt_in_remove(f->st, app, 0, 1, &in[1], 2, &at),
		-ENOENT);
	assert_int_equal(at, 1);

	state_close(f->st);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_snapshot(f->st, -1, &s), 0);
	ss = st_snapshot_splits(&s, app, &n);
	assert_int_equal(n, 2);
	assert_int_equal(ss[0].slot, 1);
	assert_int_equal(ss[0].from, 0);
	assert_int_equal(ss[0].to, 1000);
	assert_int_equal(ss[1].slot, 2);
	assert_int_equal(ss[1].from, 9500);
	assert_int_equal(ss[1].to, 10000);
	ss = st_snapshot_splits(&s, other, &n);
	assert_int_equal(n, 1);
	assert_int_equal(ss[0].app_id, other);
	oi = st_snapshot_opt_ins(&s, app, &n);
	assert_int_equal(n, 3);
	assert_int_equal(oi[0].slot, 0); /* ordered by slot */
	assert_memory_equal(&oi[0].prefix, &in[2], sizeof(in[2]));
	assert_int_equal(oi[1].slot, 1);
	assert_int_equal(oi[2].slot, 1);
	assert_null(st_snapshot_opt_ins(&s, other, &n));
	assert_int_equal(n, 0);
	state_snapshot_free(&s);

	/* a swap drops the shares toward a slot, and says how much */
	assert_int_equal(state_traffic_split_drop(f->st, app, 2, &share), 0);
	assert_int_equal(share, 500);
	assert_int_equal(state_traffic_split_drop(f->st, app, 2, &share), 0);
	assert_int_equal(share, 0);
	/* deleting staging takes its share and opt-ins along */
	assert_int_equal(state_slot_delete(f->st, app, 1, 0), 0);
	assert_int_equal(state_snapshot(f->st, app, &s), 0);
	assert_int_equal(s.n_splits, 0);
	assert_int_equal(s.n_opt_ins, 1);
	state_snapshot_free(&s);
	assert_int_equal(state_traffic_clear(f->st, app, -1), 0);
	assert_int_equal(state_traffic_clear(f->st, other, 1), 0);
	assert_int_equal(state_snapshot(f->st, -1, &s), 0);
	assert_int_equal(s.n_splits + s.n_opt_ins, 0);
	state_snapshot_free(&s);
}

/* A slot's health policy round-trips, is refused when invalid, goes
 * with its slot; backend health rows list only live deployments. */
static void test_health(void **state)
{
	struct fixture *f = *state;
	struct st_backend_health row = {0}, *rows;
	struct st_slot_health *pols;
	struct health_policy p, got;
	struct slotlb_backend bes[2] = {be(1), be(2)};
	uint32_t weights[2] = {1, 1}, ids[2], app, staging;
	struct st_deployment dep;
	size_t n;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	assert_int_equal(state_slot_health_get(f->st, app, 0, &got), -ENOENT);
	health_policy_default(&p);
	p.probe.mode = WARMUP_TCP;
	strcpy(p.probe.path, "/healthz");
	assert_int_equal(validate_warmup_statuses("200,204", &p.probe, NULL),
			 0);
	p.probe.timeout_ms = 400;
	p.interval_ms = 500;
	p.unhealthy_after = 2;
	p.healthy_after = 4;
	p.tcp = SLOTLB_HEALTH_TCP_LEAVE;
	assert_int_equal(state_slot_health_set(f->st, app, 0, &p), 0);
	assert_int_equal(state_slot_health_get(f->st, app, 0, &got), 0);
	assert_int_equal(got.probe.mode, WARMUP_TCP);
	assert_string_equal(got.probe.path, "/healthz");
	assert_int_equal(got.probe.n_statuses, 2);
	assert_int_equal(got.probe.statuses[1], 204);
	assert_int_equal(got.probe.timeout_ms, 400);
	assert_int_equal(got.interval_ms, 500);
	assert_int_equal(got.unhealthy_after, 2);
	assert_int_equal(got.healthy_after, 4);
	assert_int_equal(got.tcp, SLOTLB_HEALTH_TCP_LEAVE);
	/* an invalid policy is never stored */
	p.interval_ms = 100;
	assert_int_equal(state_slot_health_set(f->st, app, staging, &p),
			 -EINVAL);
	assert_int_equal(state_slot_health_set(f->st, app, staging, &got), 0);
	assert_int_equal(state_slot_health_list(f->st, &pols, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pols[1].slot, staging);
	free(pols);
	/* the policy goes with its slot, and on removal */
	assert_int_equal(state_slot_delete(f->st, app, staging, 0), 0);
	assert_int_equal(state_slot_health_list(f->st, &pols, &n), 0);
	assert_int_equal(n, 1);
	free(pols);
	assert_int_equal(state_slot_health_set(f->st, app, 0, NULL), 0);
	assert_int_equal(state_slot_health_get(f->st, app, 0, &got), -ENOENT);

	assert_int_equal(state_deployment_create(f->st, app, "web", "v1", bes,
						 weights, 2, &dep, ids),
			 0);
	row.deployment = dep.serial;
	row.id = ids[1];
	row.down = true;
	row.since_ms = 1234;
	strcpy(row.error, "connection refused");
	assert_int_equal(state_backend_health_put(f->st, &row), 0);
	assert_int_equal(state_backend_health_list(f->st, 0, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_true(rows[0].down);
	assert_false(rows[0].in_ring);
	assert_int_equal(rows[0].since_ms, 1234);
	assert_string_equal(rows[0].error, "connection refused");
	free(rows);
	row.down = false;
	assert_int_equal(state_backend_health_put(f->st, &row), 0);
	assert_int_equal(
		state_backend_health_list(f->st, dep.serial, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_false(rows[0].down);
	free(rows);
	/* a retired deployment's rows are not listed */
	assert_int_equal(state_deployment_set_state(f->st, dep.serial,
						    DEPLOYMENT_RETIRED, 0),
			 0);
	assert_int_equal(state_backend_health_list(f->st, 0, &rows, &n), 0);
	assert_int_equal(n, 0);
	free(rows);
}

/* A database of schema 2 (the release workflow's, before traffic
 * routing) gets its tables and keeps its apps and release tables. */
static void test_migration_3(void **state)
{
	struct fixture *f = *state;
	struct slotlb_split sp = split(1, 0, 100);
	uint32_t app, idx;
	sqlite3 *db;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &idx), 0);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "DROP TABLE slot_verify;"
				      "DROP TABLE traffic_splits;"
				      "DROP TABLE traffic_opt_in;"
				      "DROP TABLE slot_health;"
				      "DROP TABLE backend_health;"
				      "DROP TABLE event_hooks;"
				      "DROP TABLE backend_drain;"
				      "DROP TABLE deployment_drain;"
				      "DROP TABLE slot_drain;"
				      "ALTER TABLE apps DROP COLUMN mode;"
				      "UPDATE settings SET value = '2'"
				      " WHERE key = 'schema_version'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_traffic_splits_set(f->st, app, 0, &sp, 1), 0);
	assert_int_equal(
		state_slot_find(f->st, app, "staging", &(struct st_slot){0}),
		0);
	assert_int_equal(state_slot_setting_put(f->st, app, 0, "DB", "x"), 0);
}

/* A deployment that leaves its slot starts draining with its deadline
 * fixed from that slot's drain policy at once (reset: deadline and
 * rate; leave: no rate; no policy: no deadline), by the operation's own
 * transaction, not by a later drain tick that may no longer find the
 * slot. */
static void test_drain_start(void **state)
{
	struct fixture *f = *state;
	struct slotlb_backend bes[1] = {be(1)};
	struct st_drain_policy reset = {
		.timeout_ms = 8000, .reset = true, .reset_rate = 50};
	struct st_drain_policy leave = {.timeout_ms = 8000};
	struct st_deployment d[3], got;
	struct st_deployment_drain dd;
	uint32_t w[1] = {1}, ids[1], app, staging;
	int i;

	assert_int_equal(state_app_create(f->st, "web", &app), 0);
	assert_int_equal(state_slot_create(f->st, app, "staging", &staging), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(state_deployment_create(f->st, app, "web",
							 i ? "v2" : "v1", bes,
							 w, 1, &d[i], ids),
				 0);
	assert_int_equal(state_slot_drain_set(f->st, app, 0, &reset), 0);
	assert_int_equal(state_slot_drain_set(f->st, app, staging, &leave), 0);

	assert_int_equal(
		state_deployment_drain_start(f->st, d[0].serial, 1000, app, 0),
		0);
	assert_int_equal(
		state_deployment_get(f->st, d[0].serial, &got, NULL, NULL), 0);
	assert_int_equal(got.state, DEPLOYMENT_DRAINING);
	assert_int_equal(got.draining_since_ms, 1000);
	assert_int_equal(state_deployment_drain_get(f->st, d[0].serial, &dd),
			 0);
	assert_int_equal(dd.since_ms, 1000);
	assert_int_equal(dd.deadline_ms, 9000);
	assert_int_equal(dd.reset_rate, 50);

	assert_int_equal(state_deployment_drain_start(f->st, d[1].serial, 2000,
						      app, staging),
			 0);
	assert_int_equal(state_deployment_drain_get(f->st, d[1].serial, &dd),
			 0);
	assert_int_equal(dd.deadline_ms, 10000);
	assert_int_equal(dd.reset_rate, 0);

	/* a policy without a timeout: no deadline */
	assert_int_equal(state_slot_drain_set(
				 f->st, app, 0,
				 &(struct st_drain_policy){.reset_rate = 50}),
			 0);
	assert_int_equal(
		state_deployment_drain_start(f->st, d[2].serial, 3000, app, 0),
		0);
	assert_int_equal(state_deployment_drain_get(f->st, d[2].serial, &dd),
			 0);
	assert_int_equal(dd.since_ms, 3000);
	assert_int_equal(dd.deadline_ms, 0);
	assert_int_equal(dd.reset_rate, 0);
}

/* Migration 7: apps that existed keep forwarding in NAT mode; an app's
 * mode is stored and read back, an unknown one refused. */
static void test_app_mode(void **state)
{
	struct fixture *f = *state;
	struct st_app a;
	uint32_t web, shop;
	sqlite3 *db;

	assert_int_equal(state_app_create(f->st, "web", &web), 0);
	state_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "ALTER TABLE apps DROP COLUMN mode;"
				      "UPDATE settings SET value = '6'"
				      " WHERE key = 'schema_version'",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(state_open(&f->st, f->path), 0);
	assert_int_equal(state_app_find(f->st, "web", &a), 0);
	assert_int_equal(a.mode, SLOTLB_MODE_NAT);
	assert_int_equal(state_app_create(f->st, "shop", &shop), 0);
	assert_int_equal(state_app_set_mode(f->st, shop, SLOTLB_MODE_DSR), 0);
	assert_int_equal(state_app_set_mode(f->st, web, 7), -EINVAL);
	assert_int_equal(state_app_find(f->st, "shop", &a), 0);
	assert_int_equal(a.mode, SLOTLB_MODE_DSR);
	assert_int_equal(state_app_find(f->st, "web", &a), 0);
	assert_int_equal(a.mode, SLOTLB_MODE_NAT);
}

static void test_app_bound(void **state)
{
	struct fixture *f = *state;
	char name[16];
	uint32_t id, i;

	assert_int_equal(state_begin(f->st), 0);
	for (i = 0; i < SLOTLB_MAX_APPS; i++) {
		snprintf(name, sizeof(name), "a%u", i);
		assert_int_equal(state_app_create(f->st, name, &id), 0);
		assert_int_equal(id, i);
	}
	assert_int_equal(state_app_create(f->st, "over", &id), -ENOSPC);
	assert_int_equal(state_commit(f->st), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_migration_from_1, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_app_and_slots, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_endpoints, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_transaction_rolls_back,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_deployments, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_app_delete_orphans, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_history_and_reopen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slot_verify, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_slot_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_app_settings, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_traffic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migration_3, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drain_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_app_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_bound, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
