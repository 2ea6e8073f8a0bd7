/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Internals of the operations layer shared by ops.c and ops_<object>.c;
 * nothing above the operations includes this.
 */
#ifndef SLOTLBD_OPS_INT_H
#define SLOTLBD_OPS_INT_H

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
/* Write the new routing element of app_id (bumping its generation)
 * inside the open transaction; *old receives what the map held. */
int publish_routing(struct daemon *d, uint32_t app_id,
		    struct slotlb_routing *old, bool *had_old);
/* Put *old back (or delete the element) after a failed commit. */
void restore_routing(struct daemon *d, uint32_t app_id,
		     const struct slotlb_routing *old, bool had_old);

/* ops_traffic.c: a swap or rollback ends the traffic shares toward
 * the slots whose deployment it changes (a, and b if not NULL), inside
 * its transaction, so they do not send clients to the deployment that
 * just left (docs/slotlbd.md, Traffic routing); opt-ins stay. Appends
 * "; traffic share of SLOT (P%) reset" to detail for each. */
int traffic_reset_for_swap(struct daemon *d, uint32_t app_id,
			   const struct st_slot *a, const struct st_slot *b,
			   char *detail, size_t len);

#endif /* SLOTLBD_OPS_INT_H */
