/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside GET /metrics (docs/slotlbd.md, "Metrics"): the text buffer the
 * sections write to and the sections, each a function of its own so the
 * series of one concern stay together:
 *
 *   metrics.c      the buffer, the snapshot, the order of the sections
 *   metrics_dp.c   the data path: packets, bytes, flows, the flow table
 *   metrics_ops.c  operations: deploys, swaps, rollbacks, warm-up and
 *                  switch times, routing generations, build info
 *   metrics_events.c  event hooks: delivered, failed, dropped
 *   metrics_health.c  health checks: each probed backend up or down
 *
 * Each family is written as one group (HELP, TYPE, then every sample),
 * as the text format wants; promtool check metrics passes on the output
 * (tests/integration/test_metrics.sh).
 */
#ifndef SLOTLBD_METRICS_H
#define SLOTLBD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include "daemon.h"

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

void put(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "# HELP name help\n# TYPE name type\n" */
void family(struct buf *b, const char *name, const char *type,
	    const char *help);
/* s as a label value (backslash, quote and newline escaped) in buf. */
const char *label_value(const char *s, char *buf, size_t len);

/* metrics_dp.c */
void metrics_datapath(struct buf *b, struct daemon *d,
		      const struct st_snapshot *s);
/* metrics_ops.c */
void metrics_operations(struct buf *b, struct daemon *d,
			const struct st_snapshot *s,
			const struct st_history_tally *t, size_t n);
/* metrics_events.c (takes d->lock to read the hooks) */
void metrics_events(struct buf *b, struct daemon *d,
		    const struct st_snapshot *s);

/* metrics_health.c (health.c's view of each probed backend) */
void metrics_health(struct buf *b, struct daemon *d,
		    const struct st_snapshot *s);

#endif /* SLOTLBD_METRICS_H */
