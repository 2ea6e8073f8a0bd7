/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Post-swap verification (verify.c): after a swap that asked for it, a
 * thread checks the target slot's new deployment for a while and rolls
 * the slot back (or records an alert) when it fails.
 */
#ifndef SLOTLBD_VERIFY_H
#define SLOTLBD_VERIFY_H

#include "ops.h"

/* Under d->lock, after the swap's commit: start verifying plan's
 * incoming deployment in its target slot if plan->verify asks. */
void verify_start(struct daemon *d, const struct swap_plan *plan);
/* Under d->lock: whether app_id is verifying a swap, and which slot,
 * deployment and until when (wall clock ms). */
bool verify_status(struct daemon *d, uint32_t app_id, char *slot,
		   size_t slot_len, uint32_t *deployment_id, int64_t *until_ms);
/* At stop (d->stopping set, the lock free): wait for the verifications
 * to end (each notices within a check). */
void verify_stop(struct daemon *d);

#endif /* SLOTLBD_VERIFY_H */
