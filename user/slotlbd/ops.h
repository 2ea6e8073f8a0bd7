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
	struct slotlb_flow_key key; /* client -> endpoint */
	struct slotlb_flow flow; /* its forward entry */
	uint32_t slot; /* index of the endpoint's slot */
	bool live; /* still pins its backend */
	uint64_t idle_ms; /* since its last packet (1 s resolution) */
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

int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     struct op_result *res);
int ops_iface_detach(struct daemon *d, const char *ifname,
		     struct op_result *res);

#endif /* SLOTLBD_OPS_H */
