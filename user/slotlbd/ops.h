/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The operations layer, as the API layer calls it: each ops_*() takes
 * the daemon lock, applies the rules (busy apps, limits), runs one
 * transaction with its map updates in the order of ops.c's rule, and
 * says how it went in a struct op_result (an HTTP status and an
 * "<object>: <cause>" text). Inputs are already parsed and checked
 * against user/lib/validate.h; the operations check what needs the state.
 *
 * To add an operation: ops_<object>_<verb>() here, in ops_<object>.c,
 * with the helpers of ops_int.h; its route calls it from api_<object>.c.
 */
#ifndef SLOTLBD_OPS_H
#define SLOTLBD_OPS_H

#include <jansson.h>
#include "daemon.h"
#include "traffic.h"
#include "traffic_parse.h"
#include "warmup.h"

/* Outcome of an operation: an HTTP status and, if it failed, the
 * "<object>: <cause>" text the API returns. */
struct op_result {
	int status;
	char error[384];
	int64_t history_id; /* history entry written, 0 if none */
	int64_t switch_us; /* swap: end of warm-up to map updated, 0 if none */
};

/* A swap, rollback or a phase of a multi-phase swap, prepared under the
 * app's busy flag; execute applies settings (the slots' hooks), warms
 * up and, if all passed, commits in one transaction. */
enum swap_kind {
	SWAP_SLOTS, /* exchange the deployments of source and target */
	SWAP_RESTORE, /* rollback: a draining deployment back into target */
};

/* What a swap request asks; see docs/slotlbd.md "Swap with preview". */
struct swap_request {
	const char *app;
	enum swap_action action; /* user/lib/validate.h */
	const char *slot; /* source; FULL and PREVIEW need it */
	const char *target_slot; /* default production */
	const struct warmup_override *warmup; /* over the target's policy */
	const char *trigger;
	const char *history_action; /* "swap" (default) or "auto-swap" */
	int64_t only_if_source; /* auto swap: the deployment it was started
				 * for must still be in slot (0: any) */
	/* preview */
	const struct slotlb_prefix *audience;
	size_t n_audience;
	uint32_t timeout_s; /* 0: none */
	bool on_timeout_swap;
	/* a swap (no action, or complete): verify it afterwards (verify.c);
	 * NULL or for_ms 0: no */
	const struct verify_policy *verify;
};

struct swap_jobs; /* hooks and cancel of a plan, ops_int.h */

struct swap_plan {
	enum swap_kind kind;
	enum swap_action mode; /* FULL, SWAP (complete), PREVIEW, RESET */
	const char *action; /* history: swap, rollback, preview, reset,
			     * auto-swap */
	uint32_t app_id;
	char app[STATE_NAME_LEN];
	struct st_slot source; /* SWAP_SLOTS only */
	struct st_slot target;
	int64_t incoming; /* serial of the deployment entering target */
	uint32_t incoming_id;
	struct warmup_policy policy;
	struct warmup_target *targets; /* backends of incoming */
	size_t n_targets;
	char trigger[160];
	struct st_pending pending; /* PREVIEW: what to store */
	struct verify_policy verify; /* after the commit; for_ms 0: none */
	struct swap_jobs *jobs;
};

/* --- ops_config.c: what a slot keeps (warm-up policy, hook, auto swap) --- */

/* ops_dry_run.c: a policy as the API shows it (the fields of its
 * "warmup" object). */
json_t *warmup_policy_json(const struct warmup_policy *p);
/* ops_config.c: a verification as a swap's "verify" object takes it;
 * null for none. */
json_t *verify_policy_json(const struct verify_policy *p);

/* The slot's configuration; target receives the auto swap's target
 * slot name ("" if none). */
int ops_config_get(struct daemon *d, const char *app, const char *slot,
		   struct st_slot_config *c, char *target, size_t target_len,
		   struct op_result *res);
/* hook NULL: remove it (404 if there is none). */
int ops_config_hook(struct daemon *d, const char *app, const char *slot,
		    const struct st_hook *hook, const char *trigger,
		    struct op_result *res);
/* target NULL: production; off: remove it (404 if there is none). */
int ops_config_auto_swap(struct daemon *d, const char *app, const char *slot,
			 const char *target, uint32_t delay_ms, bool off,
			 const char *trigger, struct op_result *res);

/* --- ops_health.c: a slot's health policy (probes: health.c) --- */

/* Some fields of a health policy, as a request gives them. */
enum health_field {
	HF_INTERVAL = 1 << 0,
	HF_UNHEALTHY_AFTER = 1 << 1,
	HF_HEALTHY_AFTER = 1 << 2,
	HF_TCP = 1 << 3,
};

struct health_override {
	struct warmup_override probe; /* mode, path, statuses, timeout,
				       * host */
	unsigned int fields; /* enum health_field bits given */
	struct health_policy p; /* their values */
};

void health_policy_apply(struct health_policy *base,
			 const struct health_override *o);
/* "GET /healthz over http, statuses any, every 5 s, ..." for people. */
void health_policy_text(const struct health_policy *p, char *buf, size_t len);
/* The policy as the API shows it (GET .../health, export). */
json_t *health_policy_json(const struct health_policy *p);
/* The slot's policy (*has false: none, p holds the defaults). */
int ops_health_get(struct daemon *d, const char *app, const char *slot,
		   struct health_policy *p, bool *has, struct op_result *res);
/* Lay o over the slot's policy (defaults if none) and store it; off:
 * remove it (404 if there is none). */
int ops_health_set(struct daemon *d, const char *app, const char *slot,
		   const struct health_override *o, bool off,
		   const char *trigger, struct op_result *res);
/* --- ops_backend.c: single backends; the drain policy's fields --- */

/* Fields of a slot's drain policy to set. */
struct drain_override {
	bool has_timeout, has_reset, has_rate;
	uint32_t timeout_ms;
	bool reset;
	uint32_t reset_rate;
};
/* What POST .../config changes, in one transaction (each part its
 * history entry), or nothing: warmup (its fields laid over the slot's
 * stored policy, Azure's defaults if none; no fields: unchanged), drain
 * (laid over the slot's drain policy; reset needs a timeout, 400; NULL:
 * unchanged), verify (set_verify: store vp, whole, as what every swap
 * into the slot without its own uses; vp NULL: remove it, 404 if there
 * is none). */
int ops_config_set(struct daemon *d, const char *app, const char *slot,
		   const struct warmup_override *warmup,
		   const struct drain_override *drain, bool set_verify,
		   const struct verify_policy *vp, const char *trigger,
		   struct op_result *res);
/* "drain: timeout 30 s, reset at 100/s" for history and logs. */
void drain_policy_text(const struct st_drain_policy *p, char *buf, size_t len);
/* {"stored", "timeout_s" (null: none), "on_timeout", "reset_rate"}. */
json_t *drain_policy_json(const struct st_drain_policy *p);

enum backend_change_kind {
	BACKEND_DRAIN, /* out of the ring; timeout_ms: then reset its flows */
	BACKEND_UNDRAIN, /* back in the ring */
	BACKEND_WEIGHT, /* weight; 0 drains (no timeout) */
};
struct backend_change {
	enum backend_change_kind kind;
	struct slotlb_backend be; /* which backend of the slot's deployment */
	uint32_t timeout_ms; /* DRAIN: 0 = leave its flows */
	uint32_t weight; /* WEIGHT */
};
/* One backend of slot's deployment (404 if it has none such); 409 if it
 * would leave no backend of its family taking new connections. */
int ops_backend_change(struct daemon *d, const char *app, const char *slot,
		       const struct backend_change *ch, const char *trigger,
		       struct op_result *res);

/* --- ops_hooks.c: event hooks of an app (events.h delivers) --- */

/* h->app_id and h->id are filled in; 201. */
int ops_hook_add(struct daemon *d, const char *app, struct st_event_hook *h,
		 const char *trigger, struct op_result *res);
/* free() *out. */
int ops_hook_list(struct daemon *d, const char *app, struct st_event_hook **out,
		  size_t *n, struct op_result *res);
/* 404 if app has no hook id; 204. */
int ops_hook_delete(struct daemon *d, const char *app, int64_t id,
		    const char *trigger, struct op_result *res);
/* "deploy,swap" of a mask of event_names bits. */
void event_mask_text(uint32_t mask, char *buf, size_t len);

/* --- ops_app.c --- */

/* Each is history too (create, delete), with the caller's trigger.
 * mode: enum slotlb_mode (a DSR app takes IPv4 endpoints only). */
int ops_app_create(struct daemon *d, const char *name, uint32_t mode,
		   const struct slotlb_endpoint_key *eps, size_t n,
		   const char *trigger, struct op_result *res);
int ops_app_delete(struct daemon *d, const char *name, const char *trigger,
		   struct op_result *res);
/* clone_from (may be NULL): a slot whose warm-up policy, hook and sticky
 * settings the new one starts with (Azure's clone settings). */
int ops_slot_create(struct daemon *d, const char *app, const char *slot,
		    const struct slotlb_endpoint_key *eps, size_t n,
		    const char *clone_from, const char *trigger,
		    struct op_result *res);
int ops_slot_delete(struct daemon *d, const char *app, const char *slot,
		    const char *trigger, struct op_result *res);
/* --- ops_deploy.c --- */

/* The auto swap a deploy starts (ops_autoswap.c). */
struct auto_swap_job {
	bool start; /* the slot auto-swaps */
	struct daemon *d;
	uint32_t app_id;
	char app[STATE_NAME_LEN];
	char slot[STATE_NAME_LEN];
	char target[STATE_NAME_LEN];
	int64_t deployment; /* serial of the deployment to swap */
	uint32_t delay_ms;
	char trigger[160];
};

/* On success *serial is the new deployment; the slot's hook applies its
 * settings to the new backends before it takes traffic (424 and nothing
 * changed if it fails). as (may be NULL) says whether the slot
 * auto-swaps; the caller starts it. */
int ops_deploy(struct daemon *d, const char *app, const char *slot,
	       const struct slotlb_backend *bes, const uint32_t *weights,
	       size_t n, const char *version, const char *trigger,
	       int64_t *serial, struct auto_swap_job *as,
	       struct op_result *res);
/* Whether slot auto-swaps, before a deploy that waits for it. */
int ops_auto_swap_of(struct daemon *d, const char *app, const char *slot,
		     struct op_result *res);

/* --- ops_autoswap.c --- */

/* Wait out the delay, then the swap (cb gets its probes); a refusal or
 * failure is recorded as a failed "auto-swap". */
int ops_auto_swap_run(struct daemon *d, const struct auto_swap_job *j,
		      warmup_progress_cb cb, void *ctx, struct op_result *res);
int ops_auto_swap_prepare(struct daemon *d, const struct auto_swap_job *j,
			  struct swap_plan *plan, struct op_result *res);
/* ops_auto_swap_run() in a thread of its own. */
void ops_auto_swap_start(struct daemon *d, const struct auto_swap_job *j);

/* --- ops_swap.c, ops_swap_exec.c, ops_preview.c --- */

/* Validate and take the busy flag; on success execute must follow. */
int ops_swap_prepare(struct daemon *d, const struct swap_request *rq,
		     struct swap_plan *plan, struct op_result *res);
/* only_if: roll back only while the slot holds that deployment (a
 * serial; 0: whatever it holds), else -ESTALE. */
int ops_rollback_prepare(struct daemon *d, const char *app, const char *slot,
			 const struct warmup_override *warmup,
			 const char *trigger, int64_t only_if,
			 struct swap_plan *plan, struct op_result *res);
/* Settings, warm-up, then the transaction; releases the busy flag. */
int ops_swap_execute(struct daemon *d, struct swap_plan *plan,
		     warmup_progress_cb cb, void *ctx, struct op_result *res);
/* Stop app's running warm-up or hook (by: who asks) and wait until it
 * has put everything back; 409 if nothing runs that can be stopped. */
int ops_swap_cancel(struct daemon *d, const char *app, const char *by,
		    struct op_result *res);
/* Cancel whatever of app_id runs now, if it can be (the API when the
 * client that asked for it goes away). */
void ops_cancel_running(struct daemon *d, uint32_t app_id, const char *by);
/* What a swap of slot into target would do, changing nothing: the
 * deployments moving each way, each side's settings diff (values only
 * if show_values), the warm-up policy, the endpoints that stay. */
json_t *ops_swap_dry_run(struct daemon *d, const char *app, const char *slot,
			 const char *target, const struct warmup_override *o,
			 bool show_values, struct op_result *res);
/* At start: timers of the pending previews that have a timeout. */
void ops_preview_timers_start(struct daemon *d);

/* --- ops_settings.c: NAME=VALUE settings, applied by the slot's hook --- */

/* One setting to set (value) or delete (value NULL). */
struct setting_change {
	const char *name;
	const char *value;
};

/* The slot's sticky settings and its deployment's swapped ones; free
 * both lists with state_app_settings_free(). */
int ops_settings_list(struct daemon *d, const char *app, const char *slot,
		      struct st_app_setting **sticky, size_t *n_sticky,
		      struct st_app_setting **swapped, size_t *n_swapped,
		      struct op_result *res);
/* Set (sticky to the slot, or swapped with its deployment) or delete
 * (wherever the name is) settings of slot: the slot's hook applies the
 * new effective settings first (424 and nothing changed if it fails). */
int ops_settings_change(struct daemon *d, const char *app, const char *slot,
			const struct setting_change *ch, size_t n, bool sticky,
			const char *trigger, struct op_result *res);

/* --- ops_export.c --- */

/* The app as `slotlb apply` takes it; setting values only if
 * show_values (else null). */
json_t *ops_export(struct daemon *d, const char *app, bool show_values,
		   struct op_result *res);

/* --- ops_traffic.c: traffic routing --- */

/*
 * A change of an app's traffic rules, as one request asks for it; it
 * applies in this order, and what it does not name stays. The shares
 * are of the new clients arriving on production's endpoints.
 */
struct traffic_change {
	bool clear; /* every share and opt-in of the app go */
	bool set_distribution; /* production's shares become dist's */
	struct slotlb_distribution dist;
	const char *slot; /* the slot the fields below are about, or NULL */
	bool clear_slot; /* its share and opt-ins go */
	bool set_share; /* its share becomes share */
	uint16_t share; /* basis points */
	struct slotlb_prefix remove[SLOTLB_MAX_AUDIENCE]; /* opt-ins out */
	size_t n_remove;
	struct slotlb_prefix add[SLOTLB_MAX_AUDIENCE]; /* opt-ins in */
	size_t n_add;
	char trigger[160];
};

/* One slot's part of an app's traffic routing. */
struct traffic_slot {
	char name[STATE_NAME_LEN];
	uint32_t index;
	uint32_t deployment; /* data-plane id, 0: empty */
	char version[SLOTLB_VERSION_LEN];
	/* basis points of production's new clients: a target's share, or
	 * for production what the others leave */
	uint32_t share;
	uint16_t range_from, range_to; /* its bucket range; equal: none */
	struct slotlb_prefix opt_in[SLOTLB_MAX_AUDIENCE]; /* toward it */
	size_t n_opt_in;
	uint64_t taken; /* new flows it took in the measured window */
};

struct traffic_view {
	char app[STATE_NAME_LEN];
	struct traffic_slot slots[SLOTLB_MAX_SLOTS]; /* by index */
	size_t n_slots;
	bool measured; /* a window exists (the app has rules) */
	struct traffic_measure m;
};

/* Apply the change in one transaction and one routing element update
 * (none when it changes nothing); the history entry names slots only. */
int ops_traffic_change(struct daemon *d, const char *app,
		       const struct traffic_change *c, struct op_result *res);
/* The app's routing now (-ENOENT if no such app). */
int ops_traffic_view(struct daemon *d, const char *app, struct traffic_view *v);
/* Where a new flow from each client would go on production's
 * endpoints, by the routing element the data path holds now
 * (slotlb_route_client()); -ENOENT for an unknown app. */
int ops_traffic_lookup(struct daemon *d, const char *app,
		       const __be32 (*addr)[4], const uint8_t *family, size_t n,
		       struct slotlb_route *out);
/* The same from a snapshot the caller holds (status, metrics). */
void traffic_view_of(struct daemon *d, const struct st_snapshot *s,
		     size_t app_index, struct traffic_view *v);

/* --- ops_read.c: reads under the lock; 0 or -errno, nothing changes --- */

/* app's snapshot (-ENOENT if unknown), or every app's with app NULL;
 * free with state_snapshot_free(). */
int ops_snapshot(struct daemon *d, const char *app, struct st_snapshot *s);
/* app's history, newest first (-ENOENT if no such app); free with
 * state_history_free(). */
int ops_history_list(struct daemon *d, const char *app, size_t limit,
		     struct st_history **out, size_t *n);
/* What runs on app_id now ("swap in progress"), or NULL. */
const char *ops_busy_of(struct daemon *d, uint32_t app_id);
/* One entry (-ENOENT if id is 0 or gone); state_history_clear() it. */
int ops_history_get(struct daemon *d, int64_t id, struct st_history *h);

/* --- ops_flows.c: the flow table, read without the lock --- */

/* Which flows of an app to list. */
struct flows_filter {
	const char *slot; /* came in on this slot's endpoints, or NULL */
	bool by_deployment;
	uint32_t deployment; /* pinned to this deployment id */
	size_t limit; /* at most this many in the list */
};

/* A pinned flow as the table holds it, with what it means now. */
struct flow_view {
	struct slotlb_flow_info info; /* as the table holds it */
	uint32_t slot; /* index of the endpoint's slot */
};

/* app's flows matching f: the first f->limit in *out (free()), all of
 * them counted in *total; s is the app's snapshot they were matched
 * with (state_snapshot_free() it, also on error). -ENOENT: no such
 * app, -ENXIO: no such slot. */
int ops_flows_list(struct daemon *d, const char *app,
		   const struct flows_filter *f, struct st_snapshot *s,
		   struct flow_view **out, size_t *n, size_t *total);

/* Where a new connection key (client -> endpoint) would go now. */
struct flow_prediction {
	uint32_t endpoint_slot; /* the slot owning the endpoint */
	struct slotlb_route route; /* route.deployment 0: dropped */
	uint32_t hash; /* flow hash; the ring position is hash % size */
	uint32_t backend_id; /* 0: the deployment has no ring of the
			      * client's family */
};
/* -ENOENT: no such app, -ESRCH: the endpoint is not the app's; s as
 * for ops_flows_list. */
int ops_flow_lookup(struct daemon *d, const char *app,
		    const struct slotlb_flow_key *key, struct st_snapshot *s,
		    struct flow_prediction *p);

/* An interface as the database wants it and as the kernel has it. */
struct iface_view {
	struct st_iface want;
	bool exists; /* the kernel knows the name */
	uint32_t prog_id; /* XDP program attached there, 0 if none */
	bool attached; /* and it is slotlb's */
	bool generic; /* skb mode as attached (as wanted if not attached) */
};

/* Every persisted interface; free() the array. */
int ops_iface_list(struct daemon *d, struct iface_view **out, size_t *n);
void ops_iface_view(const struct st_iface *want, struct iface_view *v);

/* --- ops_iface.c --- */

/* History of the daemon (app ""): interface, with the caller. */
int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     const char *trigger, struct op_result *res);
int ops_iface_detach(struct daemon *d, const char *ifname, const char *trigger,
		     struct op_result *res);

#endif /* SLOTLBD_OPS_H */
