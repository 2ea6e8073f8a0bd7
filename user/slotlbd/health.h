/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Health checks of live backends (health.c): prober threads probe the
 * backends of every slot with a health policy (up to 8 slots at once,
 * so a slow one holds up no other), take failing ones out of their
 * deployment's ring and put recovered ones back. Status reads
 * each backend's health here, as it reads flow counts from drain.c.
 */
#ifndef SLOTLBD_HEALTH_H
#define SLOTLBD_HEALTH_H

#include <stdbool.h>
#include <stdint.h>

struct daemon;

/* A backend's health as status shows it. */
struct health_view {
	bool down; /* failed its probes */
	bool in_ring; /* down but kept in the ring (fail open) */
	int64_t since_ms; /* wall clock of the last transition, 0: none */
	uint32_t fails; /* failed probes in a row now */
	char error[160]; /* the last failed probe's, "" if passing */
};

/* Restore the database's down backends into the maps, then start the
 * planner and prober threads (after reconcile). */
int health_start(struct daemon *d);
void health_stop(struct daemon *d);
/* false if nothing probes the backend (it is up, unchecked). */
bool health_view(struct daemon *d, int64_t deployment, uint32_t backend_id,
		 struct health_view *v);

#endif /* SLOTLBD_HEALTH_H */
