/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Events (events.c): every history entry is an event named by its
 * action, delivered asynchronously to the app's event hooks (`slotlb
 * hook add`), with retries, signed when the hook has a secret. Not to be
 * confused with a slot's apply-settings hook (`slotlb slot hook set`,
 * hook.h), which runs on the backends as part of an operation.
 *
 * To send an event, write its history entry and pass the entry's id to
 * events_emit() (op_history() and drain_note() do both): e.g. health
 * checks record a transition with action "health" and the hooks that
 * asked for "health" get it. The event names are validate.h's
 * event_names.
 */
#ifndef SLOTLBD_EVENTS_H
#define SLOTLBD_EVENTS_H

#include <stdint.h>
#include "daemon.h"

/* Delivery counts since start (metrics). */
struct events_counts {
	uint64_t delivered; /* deliveries that succeeded */
	uint64_t attempts_failed; /* attempts that failed (retried or not) */
	uint64_t failed; /* deliveries given up after every attempt */
	uint64_t dropped; /* events not queued: queue full, out of memory */
};

int events_start(struct daemon *d);
void events_stop(struct daemon *d);
/* Queue history entry history_id for delivery; never blocks, never
 * fails an operation. Call it under d->lock, inside or after the
 * entry's transaction: a rolled back entry is not sent. */
void events_emit(struct daemon *d, int64_t history_id);
void events_counts(struct daemon *d, struct events_counts *c);

#endif /* SLOTLBD_EVENTS_H */
