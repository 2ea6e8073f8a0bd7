/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of the operations layer shared by ops.c and ops_<object>.c;
 * nothing above the operations includes this.
 */
#ifndef SLOTLBD_OPS_INT_H
#define SLOTLBD_OPS_INT_H

#include <jansson.h>
#include "hook.h"
#include "ops.h"

/* Fill res with status and "<object>: <cause>". */
void op_fail(struct op_result *res, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Routing element of app_id as the database (inside or outside a
 * transaction) describes it. */
int routing_from_state(struct state *st, uint32_t app_id,
		       struct slotlb_routing *r);

/* All under d->lock. Find the app and optionally a slot (filling res
 * with 404/500 if absent), refusing with 409 if busy and need_idle. */
int ops_lookup(struct daemon *d, const char *app, const char *slot,
	       struct st_app *a, struct st_slot *s, bool need_idle,
	       struct op_result *res);
/* Under d->lock: app_id's pending swap into *p (p may be NULL); 0, or
 * -ENOENT when none. */
int ops_pending_of(struct daemon *d, uint32_t app_id, struct st_pending *p);
/* Write the new routing element of app_id (bumping its generation)
 * inside the open transaction; *old receives what the map held. */
int publish_routing(struct daemon *d, uint32_t app_id,
		    struct slotlb_routing *old, bool *had_old);
/* Put *old back (or delete the element) after a failed commit. */
void restore_routing(struct daemon *d, uint32_t app_id,
		     const struct slotlb_routing *old, bool had_old);

/* Under d->lock: mark app_id busy with what (a static string), c (may be
 * NULL) being how to cancel it; release wakes those waiting for it. */
void op_busy_take(struct daemon *d, uint32_t app_id, const char *what,
		  struct cancel *c);
void op_busy_release(struct daemon *d, uint32_t app_id);

/* History entry of an operation (detail and deployments may be NULL);
 * under d->lock, inside or outside a transaction; failures are logged. */
void op_history(struct daemon *d, const char *app, const char *action,
		const char *slot, const char *target_slot, const char *trigger,
		const char *outcome, const char *detail,
		const char *deployments, int64_t *id);

/* Under d->lock, a slot configuration change whose transaction is open
 * (err: how its writes went): with its history entry ("config",
 * detail) committed, or rolled back with a 500 naming what ("health
 * policy", "configuration") in res. */
int ops_config_commit(struct daemon *d, const char *app, const char *slot,
		      const char *what, const char *detail, const char *trigger,
		      int err, struct op_result *res);
/* Under d->lock: app, its slot and the slot's configuration, or the
 * error in res (404 for an unknown app or slot, 500 otherwise). */
int ops_config_lookup(struct daemon *d, const char *app, const char *slot,
		      struct st_app *a, struct st_slot *s,
		      struct st_slot_config *c, struct op_result *res);

/* --- ops_settings.c: the apply-settings hook around operations --- */

/* One call of a slot's hook on the backends of a deployment, gathered
 * under the lock and run outside it. none: the slot has no hook. */
struct apply_job {
	bool none;
	struct st_hook hook;
	char app[STATE_NAME_LEN];
	char slot[STATE_NAME_LEN];
	uint32_t deployment_id;
	char version[SLOTLB_VERSION_LEN];
	char (*backends)[64]; /* "ADDR:PORT" */
	size_t n;
	char *settings; /* JSON object text */
};

/* The effective settings of deployment (serial, 0: none) in slot as a
 * JSON object {"NAME": "VALUE"}; NULL on error. Under d->lock. */
json_t *settings_effective_json(struct daemon *d, uint32_t app_id,
				uint32_t slot, int64_t deployment);
/* Under d->lock: deployment in slot with the slot's hook; settings NULL
 * means its effective settings there (else these, borrowed). */
int apply_job_prepare(struct daemon *d, const char *app, uint32_t app_id,
		      const struct st_slot *slot, int64_t deployment,
		      json_t *settings, struct apply_job *job);
/* Outside the lock: 0 (also when there is no hook), 1 failed (*why
 * says so for the history and the answer), -ECANCELED, -errno. */
int apply_job_run(const struct apply_job *job, const char *reason,
		  struct cancel *c, char *why, size_t why_len);
void apply_job_free(struct apply_job *job);

/* --- ops_swap.c: what a swap plan runs besides warm-up --- */

/* The hooks around a swap and how to cancel it: apply before warm-up
 * (the incoming deployment gets the settings it is about to serve
 * with), undo if anything fails before the commit (it gets back what it
 * had), after once committed (the deployment that left gets the
 * settings of the slot it went to). */
struct swap_jobs {
	struct cancel cancel;
	struct apply_job apply, undo, after;
	const char *apply_reason, *undo_reason, *after_reason;
};

/* ops_swap.c: free the plan's jobs and targets and release its busy
 * flag; under d->lock. */
void plan_release(struct daemon *d, struct swap_plan *plan);

/* ops_preview.c: after a preview with a timeout is committed. */
void preview_timer_start(struct daemon *d, const struct st_pending *p);

/* ops_preview.c: under d->lock, before a preview's hooks and warm-up:
 * 0 if its audience fits beside the app's opt-ins in the routing
 * element (SLOTLB_MAX_AUDIENCE prefixes in all, no prefix led to two
 * slots), else -ENOSPC or -EEXIST with a 409 in res naming what
 * overflowed or collided. */
int preview_audience_check(struct daemon *d, const struct swap_plan *plan,
			   struct op_result *res);

/* ops_traffic.c: a swap or rollback ends the traffic shares toward
 * the slots whose deployment it changes (a, and b if not NULL), inside
 * its transaction, so they do not send clients to the deployment that
 * just left (docs/slotlbd.md, Traffic routing); opt-ins stay. Appends
 * "; traffic share of SLOT (P%) reset" to detail for each. */
int traffic_reset_for_swap(struct daemon *d, uint32_t app_id,
			   const struct st_slot *a, const struct st_slot *b,
			   char *detail, size_t len);

#endif /* SLOTLBD_OPS_INT_H */
