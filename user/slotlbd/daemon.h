/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd's shared context and the operations the API calls. One mutex
 * guards the database and every map write, so an operation's transaction
 * and its map updates are never interleaved with another's; warm-up runs
 * outside it, under the app's busy flag.
 */
#ifndef SLOTLBD_DAEMON_H
#define SLOTLBD_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "slotlb.h"
#include "state.h"
#include "util.h"
#include "warmup.h"

struct daemon {
	struct state *st;
	struct slotlb *lb;
	pthread_mutex_t lock; /* database and map writes */
	const char *busy[SLOTLB_MAX_APPS]; /* under lock: what runs, or NULL */
	atomic_int busy_count; /* apps with an operation under way */
	atomic_bool stopping;

	/* Flow counts of the last walk (drain.c), so status never walks the
	 * flow table itself. */
	pthread_mutex_t flows_lock;
	uint64_t *deployment_flows; /* [SLOTLB_MAX_DEPLOYMENTS] */
	uint64_t *backend_flows; /* [SLOTLB_MAX_BACKENDS] */
	bool flows_valid;
	uint32_t drain_interval_ms;
	pthread_t drain_thread;
	bool drain_started;
	bool verbose;
};

/* Outcome of an operation: an HTTP status and, if it failed, the
 * "<object>: <cause>" text the API returns. */
struct op_result {
	int status;
	char error[384];
	int64_t history_id; /* history entry written, 0 if none */
	int64_t switch_us; /* swap: end of warm-up to map updated, 0 if none */
};

void op_fail(struct op_result *res, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

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

/* Routing element of app_id as the database (inside or outside a
 * transaction) describes it. */
int routing_from_state(struct state *st, uint32_t app_id,
		       struct slotlb_routing *r);

/* ops.c internals shared with swap.c, all under d->lock. */
int ops_lookup(struct daemon *d, const char *app, const char *slot,
	       struct st_app *a, struct st_slot *s, bool need_idle,
	       struct op_result *res);
int publish_routing(struct daemon *d, uint32_t app_id,
		    struct slotlb_routing *old, bool *had_old);
void restore_routing(struct daemon *d, uint32_t app_id,
		     const struct slotlb_routing *old, bool had_old);

int ops_app_create(struct daemon *d, const char *name,
		   const struct slotlb_endpoint_key *eps, size_t n,
		   struct op_result *res);
int ops_app_delete(struct daemon *d, const char *name, struct op_result *res);
int ops_slot_create(struct daemon *d, const char *app, const char *slot,
		    const struct slotlb_endpoint_key *eps, size_t n,
		    struct op_result *res);
int ops_slot_delete(struct daemon *d, const char *app, const char *slot,
		    struct op_result *res);
/* On success *serial is the new deployment. */
int ops_deploy(struct daemon *d, const char *app, const char *slot,
	       const struct slotlb_backend *bes, const uint32_t *weights,
	       size_t n, const char *version, const char *trigger,
	       int64_t *serial, struct op_result *res);

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

int ops_iface_attach(struct daemon *d, const struct st_iface *iface,
		     struct op_result *res);
int ops_iface_detach(struct daemon *d, const char *ifname,
		     struct op_result *res);

/* reconcile.c: make the pinned maps equal the database. */
int reconcile(struct daemon *d);
/* reconcile.c: attach the persisted interfaces (replacing ours). */
void reapply_interfaces(struct daemon *d);

/* drain.c */
int drain_start(struct daemon *d);
void drain_stop(struct daemon *d);
/* Copy the cached count of a deployment/backend id (0 if unknown). */
uint64_t flows_of_deployment(struct daemon *d, uint32_t id);
uint64_t flows_of_backend(struct daemon *d, uint32_t id);

/* api.c */
struct api;
int api_start(struct daemon *d, const char *socket_path, struct api **api);
void api_stop(struct api *api, bool wait_for_requests);

/* metrics.c: Prometheus text, malloc'd. */
char *metrics_render(struct daemon *d);

#endif /* SLOTLBD_DAEMON_H */
