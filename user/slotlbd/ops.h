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

/* A swap or rollback prepared under the app's busy flag; execute runs the
 * warm-up and, if it passes, the transaction. */
enum swap_kind {
	SWAP_SLOTS, /* exchange the deployments of source and target */
	SWAP_RESTORE, /* rollback: a draining deployment back into target */
};

struct swap_plan {
	enum swap_kind kind;
	const char *action; /* "swap" or "rollback" */
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
};

/* --- ops_app.c --- */

int ops_app_create(struct daemon *d, const char *name,
		   const struct slotlb_endpoint_key *eps, size_t n,
		   struct op_result *res);
int ops_app_delete(struct daemon *d, const char *name, struct op_result *res);
int ops_slot_create(struct daemon *d, const char *app, const char *slot,
		    const struct slotlb_endpoint_key *eps, size_t n,
		    struct op_result *res);
int ops_slot_delete(struct daemon *d, const char *app, const char *slot,
		    struct op_result *res);
/* --- ops_deploy.c --- */

/* On success *serial is the new deployment. */
int ops_deploy(struct daemon *d, const char *app, const char *slot,
	       const struct slotlb_backend *bes, const uint32_t *weights,
	       size_t n, const char *version, const char *trigger,
	       int64_t *serial, struct op_result *res);

/* --- ops_swap.c --- */

/* Validate and take the busy flag; on success execute must follow. */
int ops_swap_prepare(struct daemon *d, const char *app, const char *slot,
		     const char *target_slot,
		     const struct warmup_policy *policy, const char *trigger,
		     struct swap_plan *plan, struct op_result *res);
int ops_rollback_prepare(struct daemon *d, const char *app, const char *slot,
			 const struct warmup_policy *policy,
			 const char *trigger, struct swap_plan *plan,
			 struct op_result *res);
/* Warm up, then swap in one transaction; releases the busy flag. */
int ops_swap_execute(struct daemon *d, struct swap_plan *plan,
		     warmup_progress_cb cb, void *ctx, struct op_result *res);

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
/* One entry (-ENOENT if id is 0 or gone); state_history_clear() it. */
int ops_history_get(struct daemon *d, int64_t id, struct st_history *h);

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

int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     struct op_result *res);
int ops_iface_detach(struct daemon *d, const char *ifname,
		     struct op_result *res);

#endif /* SLOTLBD_OPS_H */
