/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * slotlbd's shared context, and the entry points main.c starts. One
 * mutex guards the database and every map write, so an operation's
 * transaction and its map updates are never interleaved with another's;
 * warm-up runs outside it, under the app's busy flag. The operations
 * themselves are in ops.h.
 *
 * Layers call down only: api_*.c (parse, reply) -> ops_*.c (lock,
 * rules) -> state_*.c and libslotlb -> util.c (log, clocks).
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

	/* Measured shares of new flows (traffic_measure.c). */
	struct traffic_windows *traffic;
};

/* ops.c: the routing element of app_id as the snapshot describes it:
 * the deployment of each slot and its traffic rules (ops_traffic.c).
 * Reconcile and every operation build it here and nowhere else.
 * Returns 0, or the error of a rule the element cannot hold (r then
 * holds the deployments and every rule that fits). */
int routing_from_snapshot(const struct st_snapshot *s, uint32_t app_id,
			  struct slotlb_routing *r);
/* ops_traffic.c: the shares and opt-ins of app_id into r, beside the
 * deployments: splits per from slot; opt-ins merged with any audience
 * r already holds for the same pair of slots (a preview's), since the
 * element keeps one list per pair. 0, -ENOSPC (more prefixes than the
 * element holds), -EEXIST (a prefix led two ways) or -EINVAL. */
int routing_add_traffic(const struct st_snapshot *s, uint32_t app_id,
			struct slotlb_routing *r);

/* traffic_measure.c: the measured share of the new flows that arrive
 * on the endpoints of an app's production slot, per slot that took
 * them, over a window that starts at the app's last routing change (or
 * 30-60 s ago, whichever is later). Counted from the per-endpoint and
 * per-deployment new_flows counters by the drain thread, every drain
 * interval, for apps with traffic rules. */
struct traffic_measure {
	int64_t window_ms; /* length of the window; 0: none yet */
	uint64_t total; /* new flows on production's endpoints */
	uint64_t taken[SLOTLB_MAX_SLOTS]; /* of them, by each slot */
};

int traffic_measure_init(struct daemon *d);
void traffic_measure_free(struct daemon *d);
/* Under d->lock with a snapshot of every app: one sample per app. */
void traffic_measure_tick(struct daemon *d, const struct st_snapshot *s);
/* Under d->lock, after a change of app_id's rules: a new window. */
void traffic_measure_reset(struct daemon *d, const struct st_snapshot *s,
			   uint32_t app_id);
/* The app's window now; -ENOENT if it has none (no rules). */
int traffic_measure_get(struct daemon *d, uint32_t app_id,
			struct traffic_measure *m);

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
