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
	/* under lock: how to stop what runs (warm-up, hooks), or NULL */
	struct cancel *running[SLOTLB_MAX_APPS];
	pthread_cond_t idle; /* with lock: an app's busy flag was released */
	atomic_int busy_count; /* apps with an operation under way */
	atomic_bool stopping;

	/* Flow counts of the last walk (drain.c), so status never walks the
	 * flow table itself. */
	pthread_mutex_t flows_lock;
	uint64_t *deployment_flows; /* [SLOTLB_MAX_DEPLOYMENTS] */
	uint64_t *backend_flows; /* [SLOTLB_MAX_BACKENDS] */
	uint64_t table_flows; /* in the flow table, live or not */
	bool flows_valid;
	uint32_t drain_interval_ms;
	pthread_t drain_thread;
	bool drain_started;
	bool verbose;
	bool metrics_backends; /* per-backend series in /metrics */
	struct health *health; /* health checks (health.c), NULL if off */
};

/* ops.c: the routing element of app_id as the snapshot describes it:
 * the deployment of each slot and, while a preview is pending, its
 * audience (ops_preview.c). Reconcile and every operation build it here
 * and nowhere else. */
void routing_from_snapshot(const struct st_snapshot *s, uint32_t app_id,
			   struct slotlb_routing *r);
/* ops_preview.c: a pending preview's audience into r (a part of the
 * element of its own, beside the deployments). */
void routing_add_preview(const struct st_pending *p, struct slotlb_routing *r);

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

/* api.c: before anything else starts, the token file, TLS files and TCP
 * listeners (which answer 503 until api_serve()); prints "Error: ..."
 * and returns EXIT_USAGE or EXIT_FAILED, or 0. */
struct api;
struct options;
int api_open(const struct options *o, struct api **api);
/* Once reconciled: the Unix socket, and every listener serves. -errno
 * (*failed names the step of the socket's permissions that failed). */
int api_serve(struct api *api, struct daemon *d, const char *socket_path,
	      const char **failed);
void api_stop(struct api *api, bool wait_for_requests);

/* metrics.c: Prometheus text, malloc'd. */
char *metrics_render(struct daemon *d);
/* metrics_ops.c: a swap or rollback ran: its warm-up took warm_us, and
 * if it succeeded the routing element was updated switch_us after the
 * warm-up ended. */
void metrics_note_swap(const char *app, const char *action, bool ok,
		       int64_t warm_us, int64_t switch_us);

#endif /* SLOTLBD_DAEMON_H */
