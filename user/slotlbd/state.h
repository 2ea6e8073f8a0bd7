/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd's desired state in SQLite: apps, slots, endpoints, deployments,
 * backends, interfaces, settings and the swap history. Pure: no libbpf,
 * no JSON, so it unit-tests against a real database file without root.
 * The one public header of the state module; the sections below follow
 * its files (state.c, state_<concern>.c), internals are in state_int.h.
 *
 * Every function returns 0 or -errno. Mutations run inside the caller's
 * transaction (state_begin .. state_commit), so one API operation is one
 * transaction whatever it touches.
 *
 * To add a table: a migration in state.c (append, never edit), its
 * structs and functions here under a section of their own, the code in a
 * state_<concern>.c, cases in tests/unit/test_state.c.
 */
#ifndef SLOTLBD_STATE_H
#define SLOTLBD_STATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>
#include "validate.h"

/* App and slot names, their rule in validate_name(). */
#define STATE_NAME_LEN VALIDATE_NAME_LEN

struct state;

enum deployment_state {
	DEPLOYMENT_ACTIVE = 0, /* sits in a slot */
	DEPLOYMENT_DRAINING = 1, /* left its slot; pinned flows finish */
	DEPLOYMENT_RETIRED = 2, /* no flows left; ids free for reuse */
};

struct st_app {
	uint32_t id; /* index into app_routing */
	char name[STATE_NAME_LEN];
	uint32_t generation; /* routing element generation */
	int64_t created; /* unix seconds */
	uint32_t mode; /* enum slotlb_mode, fixed at creation */
};

struct st_slot {
	uint32_t app_id;
	uint32_t index; /* 0 = production */
	char name[STATE_NAME_LEN];
	int64_t deployment; /* serial of the deployment in it, 0 = empty */
	int64_t previous; /* serial it held before the last change, 0 none */
};

struct st_endpoint {
	uint32_t id; /* index into endpoint_stats */
	uint32_t app_id;
	uint32_t slot; /* slot index */
	struct slotlb_endpoint_key key;
};

struct st_deployment {
	int64_t serial; /* never reused; what slots and history name */
	uint32_t id; /* data-plane id, reused once retired */
	int64_t app_id; /* -1 once its app was deleted */
	char version[SLOTLB_VERSION_LEN];
	enum deployment_state state;
	int64_t created; /* unix seconds */
	/* wall clock ms when it left its slot, for people; the drain margin
	 * runs on the monotonic clock (drain.c) */
	int64_t draining_since_ms;
	/* wall clock ms its drain ends (drain_control.c fixes it at the
	 * first tick of the drain): -1 not fixed yet, 0 no timeout */
	int64_t drain_deadline_ms;
	uint32_t drain_reset_rate; /* at the deadline; 0: leave */
	size_t backend_first; /* into the snapshot's backends */
	size_t backend_count;
};

struct st_backend {
	int64_t deployment; /* serial */
	uint32_t id; /* data-plane id, unique among live deployments */
	uint32_t weight; /* Maglev weight while not drained */
	struct slotlb_backend be;
	bool drained; /* out of the ring: takes no new flows */
	int64_t drained_since_ms; /* wall clock, when drained */
	uint32_t drain_timeout_ms; /* then its flows are reset; 0 = never */
	bool edited; /* weight or drain changed since the deploy */
};

/* A share of from_slot's new clients sent to slot's deployment: the
 * clients whose bucket lies in [from, to) (abi.h, struct slotlb_split).
 * The range is kept, never recomputed, so a client stays on its slot
 * across restarts and is moved only by a change of its own share. */
struct st_split {
	uint32_t app_id;
	uint32_t from_slot; /* slot whose endpoints the share applies to */
	uint32_t slot; /* slot whose deployment takes it */
	uint16_t from, to; /* bucket range, from < to <= SLOTLB_SHARE_SCALE */
};

/* An opt-in prefix: its clients arriving on from_slot's endpoints go to
 * slot's deployment whatever the shares (slot == from_slot keeps them
 * on from_slot: an opt-out of the shares). */
struct st_opt_in {
	uint32_t app_id;
	uint32_t from_slot;
	uint32_t slot;
	struct slotlb_prefix prefix; /* its from_slot and to_slot are 0 */
};
/* Weight of a backend in its deployment's ring. */
static inline uint32_t st_backend_ring_weight(const struct st_backend *b)
{
	return b->drained ? 0 : b->weight;
}

/* Everything at one instant, each array ordered for merging: apps by id,
 * slots and endpoints by app then slot, deployments and backends by
 * serial, splits by app, from slot and range, opt-ins by app, from
 * slot, slot and prefix. Retired deployments are left out. */
struct st_snapshot {
	struct st_app *apps;
	size_t n_apps;
	struct st_slot *slots;
	size_t n_slots;
	struct st_endpoint *endpoints;
	size_t n_endpoints;
	struct st_deployment *deployments;
	size_t n_deployments;
	struct st_backend *backends;
	size_t n_backends;
	struct st_pending *pending; /* by app id */
	size_t n_pending;
	struct st_split *splits;
	size_t n_splits;
	struct st_opt_in *opt_ins;
	size_t n_opt_ins;
};

struct st_iface {
	char ifname[IF_NAMESIZE];
	char role[16]; /* "public" or "backend" */
	bool generic; /* skb mode */
	bool force; /* replace a foreign program */
};

struct st_history {
	int64_t id;
	int64_t time; /* unix seconds */
	char app[STATE_NAME_LEN];
	char action[16]; /* deploy, swap, rollback, preview, reset, auto-swap,
			  * settings, config, health */
	char slot[STATE_NAME_LEN];
	char target_slot[STATE_NAME_LEN]; /* "" if none */
	char *deployments; /* JSON object text, slot -> deployment id */
	char trigger[160];
	char outcome[16]; /* ok, failed, cancelled */
	char *detail; /* free text */
	char *warmup; /* JSON array text or NULL */
};

/* A slot's apply-settings hook; exec "" = none. */
struct st_hook {
	char exec[HOOK_PATH_LEN];
	uint32_t timeout_ms;
};

/* What happens to a deployment that left this slot (a swap, rollback or
 * deploy replaced it): after timeout_ms its remaining pinned TCP flows
 * are reset (reset) or left to finish (leave, the default). */
struct st_drain_policy {
	bool stored; /* a row; else the defaults */
	uint32_t timeout_ms; /* 0 = none */
	bool reset; /* at the timeout: reset, else leave */
	uint32_t reset_rate; /* resets a second, for the deployment */
};

/* What a slot keeps across deployments (state_slot_config.c). */
struct st_slot_config {
	bool has_warmup; /* a stored policy; else Azure's defaults */
	struct warmup_policy warmup; /* stored or default */
	struct st_hook hook;
	bool has_auto_swap;
	uint32_t auto_swap_target; /* slot index */
	uint32_t auto_swap_delay_ms;
	struct st_drain_policy drain; /* state_drain.c */
	bool has_verify; /* a stored verification (state_verify.c) */
	struct verify_policy verify; /* stored; else for_ms 0 */
};

/* A NAME=VALUE of the app's environment (state_app_settings.c). */
struct st_app_setting {
	char name[SETTING_NAME_LEN];
	char *value; /* malloc'd */
	bool sticky; /* belongs to the slot, not to the deployment */
};

/* A multi-phase swap between its preview and its end (state_pending.c):
 * the source deployment was warmed up with the target's settings and
 * serves the audience on the target's endpoints. */
struct st_pending {
	uint32_t app_id;
	uint32_t source, target; /* slot indexes */
	int64_t source_deployment; /* serials when the preview was made */
	int64_t target_deployment; /* 0 if the target was empty */
	int64_t started; /* unix seconds */
	uint32_t timeout_s; /* 0 = none */
	bool on_timeout_swap; /* at the timeout: complete, else reset */
	char trigger[160]; /* who asked for the preview */
	struct slotlb_prefix audience[SLOTLB_MAX_AUDIENCE];
	size_t n_audience;
};

/* --- state.c: the database --- */

/* Opens (creating) and migrates to this build's schema; -EPROTONOSUPPORT,
 * database untouched, if a newer slotlbd wrote it. */
int state_open(struct state **st, const char *path);
void state_close(struct state *st);

int state_begin(struct state *st);
int state_commit(struct state *st);
void state_rollback(struct state *st);
/* Set by the last failing call, for logs: sqlite3_errmsg(). */
const char *state_errmsg(struct state *st);

/* --- state_settings.c: the daemon's own key/value table --- */

int state_setting_get(struct state *st, const char *key, char *buf, size_t len);
int state_setting_set(struct state *st, const char *key, const char *value);

/* --- state_app.c: apps, slots, endpoints --- */

/* Apps. create allocates the lowest free id (< SLOTLB_MAX_APPS, else
 * -ENOSPC) and the production slot; -EEXIST if the name is taken. */
int state_app_find(struct state *st, const char *name, struct st_app *app);
int state_app_create(struct state *st, const char *name, uint32_t *app_id);
/* An app's forwarding mode (enum slotlb_mode), set once in the
 * transaction that creates it; -EINVAL for an unknown mode. */
int state_app_set_mode(struct state *st, uint32_t app_id, uint32_t mode);
/* Bumps and returns the routing generation. */
int state_app_bump(struct state *st, uint32_t app_id, uint32_t *generation);
/* Slots and endpoints go; its deployments start draining, orphaned. */
int state_app_delete(struct state *st, uint32_t app_id, int64_t since_ms);

/* Slots. create picks the lowest free index (< SLOTLB_MAX_SLOTS). */
int state_slot_find(struct state *st, uint32_t app_id, const char *name,
		    struct st_slot *slot);
int state_slot_create(struct state *st, uint32_t app_id, const char *name,
		      uint32_t *index);
/* Its endpoints go, its deployment starts draining. */
int state_slot_delete(struct state *st, uint32_t app_id, uint32_t index,
		      int64_t since_ms);
int state_slot_set(struct state *st, uint32_t app_id, uint32_t index,
		   int64_t deployment, int64_t previous);

/* -EEXIST if any slot owns the key (owner in *app_id and *slot if not NULL). */
int state_endpoint_owner(struct state *st,
			 const struct slotlb_endpoint_key *key,
			 uint32_t *app_id, uint32_t *slot);
int state_endpoint_add(struct state *st, uint32_t app_id, uint32_t slot,
		       const struct slotlb_endpoint_key *key, uint32_t *id);

/* --- state_deployment.c: deployments and their backends --- */

/*
 * A new active deployment with the lowest free deployment id and n fresh
 * backend ids (written to backend_ids); -ENOSPC when ids run out.
 */
int state_deployment_create(struct state *st, uint32_t app_id,
			    const char *app_name, const char *version,
			    const struct slotlb_backend *bes,
			    const uint32_t *weights, size_t n,
			    struct st_deployment *out, uint32_t *backend_ids);
/* One deployment (retired ones too); *bes malloc'd, may be NULL. */
int state_deployment_get(struct state *st, int64_t serial,
			 struct st_deployment *d, struct st_backend **bes,
			 size_t *n);
int state_deployment_set_state(struct state *st, int64_t serial,
			       enum deployment_state s, int64_t since_ms);
/* Active deployments in no slot (a deploy that died between its two
 * transactions) are retired; *n says how many. */
int state_deployment_retire_orphans(struct state *st, int *n);
/* Retire deployment serial if it is an orphan (active, in no slot):
 * 0, or -ENOENT if it is not (any more). */
int state_deployment_retire_orphan(struct state *st, int64_t serial);

/* --- state_snapshot.c: everything at one instant --- */

/* app_id -1: every app, and the deployments of deleted apps. */
int state_snapshot(struct state *st, int64_t app_id, struct st_snapshot *s);
void state_snapshot_free(struct st_snapshot *s);
/* Binary search by serial; NULL if absent. */
const struct st_deployment *st_snapshot_deployment(const struct st_snapshot *s,
						   int64_t serial);

/* The pending swap of app_id in the snapshot, or NULL. */
const struct st_pending *st_snapshot_pending(const struct st_snapshot *s,
					     uint32_t app_id);

/* --- state_slot_config.c: warm-up policy, hook, auto swap of a slot --- */

/* The slot's configuration; defaults (no stored policy, no hook, no auto
 * swap) for a slot that has none. */
int state_slot_config_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct st_slot_config *c);
int state_slot_warmup_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct warmup_policy *p);
/* hook NULL or exec "": none. */
int state_slot_hook_set(struct state *st, uint32_t app_id, uint32_t slot,
			const struct st_hook *hook);
int state_auto_swap_set(struct state *st, uint32_t app_id, uint32_t slot,
			uint32_t target, uint32_t delay_ms);
int state_auto_swap_delete(struct state *st, uint32_t app_id, uint32_t slot);
/* A slot auto-swapping into target (its index in *from), or -ENOENT. */
int state_auto_swap_into(struct state *st, uint32_t app_id, uint32_t target,
			 uint32_t *from);
/* Clone: from's stored warm-up, health, drain and verification policies,
 * hook and sticky settings onto to (nothing of its deployment, no auto
 * swap). */
int state_slot_config_copy(struct state *st, uint32_t app_id, uint32_t from,
			   uint32_t to);

/* --- state_verify.c: a slot's stored post-swap verification --- */

/* The slot's stored verification into c (has_verify), or none. */
int state_slot_verify_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct st_slot_config *c);
/* p NULL or for_ms 0: remove it; -EINVAL if the rules refuse p. */
int state_slot_verify_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct verify_policy *p);

/* --- state_health.c: health policies of slots, health of backends --- */

/* A slot's stored health policy (none: the slot is not probed). */
struct st_slot_health {
	uint32_t app_id;
	uint32_t slot; /* slot index */
	struct health_policy p;
};

/* A backend's health as its last transition left it; a backend without
 * a row is up and in its ring. */
struct st_backend_health {
	int64_t deployment; /* serial */
	uint32_t id; /* backend id */
	bool down; /* failed unhealthy_after probes in a row */
	bool in_ring; /* down but kept in the ring: the last of its family
		       * (fail open) */
	int64_t since_ms; /* wall clock of the transition */
	char error[160]; /* the failing probe's error ("" when up) */
};

/* -ENOENT if the slot has no policy. */
int state_slot_health_get(struct state *st, uint32_t app_id, uint32_t slot,
			  struct health_policy *p);
/* p NULL: remove the policy. */
int state_slot_health_set(struct state *st, uint32_t app_id, uint32_t slot,
			  const struct health_policy *p);
/* Every stored policy, by app and slot; free() the array. */
int state_slot_health_list(struct state *st, struct st_slot_health **out,
			   size_t *n);
int state_backend_health_put(struct state *st,
			     const struct st_backend_health *h);
/* Rows of deployment (0: every deployment that is not retired), by
 * deployment and id; free() the array. */
int state_backend_health_list(struct state *st, int64_t deployment,
			      struct st_backend_health **out, size_t *n);
/* --- state_drain.c: drain policy, drain deadlines, single backends --- */

/* The slot's drain policy, defaults if none stored. */
int state_slot_drain_get(struct state *st, uint32_t app_id, uint32_t slot,
			 struct st_drain_policy *p);
int state_slot_drain_set(struct state *st, uint32_t app_id, uint32_t slot,
			 const struct st_drain_policy *p);

/* A draining deployment's deadline, fixed when its drain was first seen
 * (since_ms: its draining_since then); -ENOENT if none. deadline_ms 0:
 * no deadline (leave). */
struct st_deployment_drain {
	int64_t since_ms;
	int64_t deadline_ms; /* wall clock */
	uint32_t reset_rate; /* 0 = leave */
};
int state_deployment_drain_get(struct state *st, int64_t serial,
			       struct st_deployment_drain *dd);
int state_deployment_drain_put(struct state *st, int64_t serial,
			       const struct st_deployment_drain *dd);
/* A drain's deadline under policy p, the drain begun at since_ms. */
void state_drain_deadline_of(const struct st_drain_policy *p, int64_t since_ms,
			     struct st_deployment_drain *dd);
/* A deployment that left slot of app_id starts draining at since_ms,
 * with its deadline fixed from that slot's drain policy in the same
 * transaction: by the drain loop's next tick the slot may name another
 * deployment. */
int state_deployment_drain_start(struct state *st, int64_t serial,
				 int64_t since_ms, uint32_t app_id,
				 uint32_t slot);
int state_deployment_drain_delete(struct state *st, int64_t serial);

/* One backend's drain (drained, since, timeout) and weight; -ENOENT if
 * the deployment has no such backend. */
int state_backend_drain_set(struct state *st, int64_t deployment, uint32_t id,
			    bool drained, int64_t since_ms,
			    uint32_t timeout_ms);
int state_backend_weight_set(struct state *st, int64_t deployment, uint32_t id,
			     uint32_t weight);

/* --- state_events.c: event hooks of an app --- */

/* An event hook: where an app's events go (docs/slotlbd.md, Events). */
struct st_event_hook {
	int64_t id;
	uint32_t app_id;
	uint32_t events; /* bit i: event_names[i] (validate.h) */
	char url[HOOK_URL_LEN]; /* "" if exec */
	char exec[HOOK_PATH_LEN]; /* "" if url */
	char secret[HOOK_SECRET_MAX + 1]; /* "" = unsigned */
	int64_t created; /* unix seconds */
	int64_t delivered; /* events delivered */
	int64_t failed; /* events given up after every retry */
	int64_t attempts_failed; /* attempts that failed */
	char last_error[160];
};
int state_event_hook_add(struct state *st, const struct st_event_hook *h,
			 int64_t *id);
/* -ENOENT if app_id has no hook id. */
int state_event_hook_delete(struct state *st, uint32_t app_id, int64_t id);
/* app_id's hooks, by id; with events != 0 only those wanting one of
 * them. free() the array. */
int state_event_hooks(struct state *st, uint32_t app_id, uint32_t events,
		      struct st_event_hook **out, size_t *n);
/* One attempt's outcome: ok counts a delivery; else a failed attempt,
 * and gave_up a failed event. */
int state_event_hook_note(struct state *st, int64_t id, bool ok, bool gave_up,
			  const char *error);

/* --- state_app_settings.c: NAME=VALUE settings, sticky or swapped --- */

/* Lists are ordered by name; free with state_app_settings_free(). */
int state_slot_settings(struct state *st, uint32_t app_id, uint32_t slot,
			struct st_app_setting **out, size_t *n);
int state_deployment_settings(struct state *st, int64_t deployment,
			      struct st_app_setting **out, size_t *n);
/* The effective settings of deployment (0: none) in slot: its own
 * (swapped) ones overlaid by the slot's sticky ones. */
int state_effective_settings(struct state *st, uint32_t app_id, uint32_t slot,
			     int64_t deployment, struct st_app_setting **out,
			     size_t *n);
void state_app_settings_free(struct st_app_setting *s, size_t n);
int state_slot_setting_put(struct state *st, uint32_t app_id, uint32_t slot,
			   const char *name, const char *value);
/* -ENOENT if the slot has no such sticky setting. */
int state_slot_setting_delete(struct state *st, uint32_t app_id, uint32_t slot,
			      const char *name);
int state_deployment_setting_put(struct state *st, int64_t deployment,
				 const char *name, const char *value);
int state_deployment_setting_delete(struct state *st, int64_t deployment,
				    const char *name);
/* A new deployment takes the swapped settings of the one it replaces. */
int state_deployment_settings_copy(struct state *st, int64_t from, int64_t to);

/* --- state_pending.c: a pending multi-phase swap --- */

/* -ENOENT if app_id has none. */
int state_pending_get(struct state *st, uint32_t app_id, struct st_pending *p);
/* -EEXIST if app_id has one. */
int state_pending_add(struct state *st, const struct st_pending *p);
int state_pending_delete(struct state *st, uint32_t app_id);
/* Every pending swap, by app id; free() the array. */
int state_pending_list(struct state *st, struct st_pending **out, size_t *n);

/* Splits and opt-ins of app_id in the snapshot: a pointer to the first
 * (NULL if none) and their count in *n. */
const struct st_split *st_snapshot_splits(const struct st_snapshot *s,
					  uint32_t app_id, size_t *n);
const struct st_opt_in *st_snapshot_opt_ins(const struct st_snapshot *s,
					    uint32_t app_id, size_t *n);

/* --- state_traffic.c: traffic routing (shares and opt-ins) --- */

/* Replace the splits of app_id's from_slot with splits[] (each names its
 * to_slot; their from_slot is from_slot). -EINVAL for a bad range. */
int state_traffic_splits_set(struct state *st, uint32_t app_id,
			     uint32_t from_slot,
			     const struct slotlb_split *splits, size_t n);
/* Drop the shares any slot sends to slot; *share (may be NULL) gets the
 * basis points dropped, 0 if there were none. */
int state_traffic_split_drop(struct state *st, uint32_t app_id, uint32_t slot,
			     uint32_t *share);
/* Opt prefixes in toward slot on from_slot's endpoints; one already
 * there for slot stays as it is. -EEXIST if one of them already leads
 * from_slot's clients to another slot (*at: its index); nothing is then
 * added. */
int state_traffic_opt_in_add(struct state *st, uint32_t app_id,
			     uint32_t from_slot, uint32_t slot,
			     const struct slotlb_prefix *p, size_t n,
			     size_t *at);
/* Remove opt-ins; -ENOENT if one of them is not an opt-in of from_slot
 * toward slot (*at: its index), and nothing is then removed. */
int state_traffic_opt_in_remove(struct state *st, uint32_t app_id,
				uint32_t from_slot, uint32_t slot,
				const struct slotlb_prefix *p, size_t n,
				size_t *at);
/* Every share and opt-in of app_id (slot < 0), or those toward slot. */
int state_traffic_clear(struct state *st, uint32_t app_id, int64_t slot);

/* --- state_iface.c: interfaces to attach at start --- */

int state_iface_put(struct state *st, const struct st_iface *iface);
int state_iface_delete(struct state *st, const char *ifname);
int state_iface_list(struct state *st, struct st_iface **out, size_t *n);

/* --- state_history.c: deploys, swaps, rollbacks --- */

/* h->time 0: now (wall clock). */
int state_history_add(struct state *st, const struct st_history *h,
		      int64_t *id);
int state_history_get(struct state *st, int64_t id, struct st_history *h);
/* Newest first, at most limit entries. */
int state_history_list(struct state *st, const char *app, size_t limit,
		       struct st_history **out, size_t *n);
void state_history_clear(struct st_history *h);
void state_history_free(struct st_history *h, size_t n);
/* Entries per app, action and outcome, and the time of the last one
 * (metrics); free() the array. */
struct st_history_tally {
	char app[STATE_NAME_LEN];
	char action[16];
	char outcome[16];
	int64_t count;
	int64_t last; /* unix seconds */
};
int state_history_tally(struct state *st, struct st_history_tally **out,
			size_t *n);

/* --- state_log.c: the database as a copy of a shared, ordered log --- */

/*
 * With a log (slotlbd --store etcd://, store.c), the database is this
 * node's copy of a log every node applies in the same order: each
 * transaction that changes a shared table becomes one entry (an SQLite
 * changeset) appended by append() before the local COMMIT; if append
 * fails the caller's rollback undoes the transaction. Before a
 * transaction starts, catch_up() applies the entries this copy lacks.
 * Local tables (settings: where the log stands; interfaces: this
 * node's own) are never logged.
 */
struct state_log {
	/* 0, or -errno (-ENOTCONN: the log is unreachable) */
	int (*catch_up)(void *ctx);
	/* the entry after seq; 0 and the entry's number and revision, or
	 * -ECANCELED (another node appended first) or -ENOTCONN */
	int (*append)(void *ctx, const void *changes, int len, int64_t seq,
		      int64_t *rev);
	void *ctx;
};

void state_set_log(struct state *st, const struct state_log *log);
/* Where this copy stands: the number and revision of the last entry
 * applied (0, 0: none). */
int state_log_position(struct state *st, int64_t *seq, int64_t *rev);
/* Apply entry seq (revision rev), in a transaction of its own; -ESTALE
 * if seq is not the next entry. */
int state_log_apply(struct state *st, const void *changes, int len, int64_t seq,
		    int64_t rev);
/* Shared tables hold no row (a node joining a fleet must start empty). */
int state_log_is_empty(struct state *st, bool *empty);
/* The whole database as bytes (sqlite3_serialize), outside any
 * transaction: a snapshot of the copy at its position. *buf is
 * malloc'd; *schema is its schema version. */
int state_log_snapshot(struct state *st, void **buf, size_t *len, int *schema);
/* Make the shared tables what snapshot buf (of state_log_snapshot)
 * holds and the position (seq, rev), in one transaction; the local
 * tables stay. -EPROTONOSUPPORT if its schema is not this database's,
 * -EINVAL if it is no database. */
int state_log_load(struct state *st, const void *buf, size_t len, int64_t seq,
		   int64_t rev);

#endif /* SLOTLBD_STATE_H */
