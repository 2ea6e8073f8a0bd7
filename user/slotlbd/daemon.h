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

	/* Measured shares of new flows (traffic_measure.c). */
	struct traffic_windows *traffic;
	bool metrics_backends; /* per-backend series in /metrics */
	struct events *events; /* events.c: delivery to event hooks */
	struct health *health; /* health checks (health.c), NULL if off */
	struct store *store; /* the fleet's shared log (store.c), or NULL */
	/* under lock: the deployment a deploy with a hook made in its first
	 * transaction, until its second (ops_deploy.c); 0 = none. The
	 * drain thread tells the fleet (store_drain.c) */
	int64_t *deploying; /* [SLOTLB_MAX_APPS] */
};

/* ops.c: the routing element of app_id as the snapshot describes it,
 * whole: the deployment of each slot, the previous one (second chance),
 * a pending preview's audience (ops_preview.c), then the traffic shares
 * and opt-ins (ops_traffic.c). Reconcile and every operation build it
 * here and nowhere else. The preview's prefixes and the opt-ins share
 * the element's audience[SLOTLB_MAX_AUDIENCE], the preview's first.
 * Returns 0, or the error of a rule the element cannot hold (-ENOSPC:
 * more audience prefixes than it holds; r then holds the deployments
 * and every rule that fits). */
int routing_from_snapshot(const struct st_snapshot *s, uint32_t app_id,
			  struct slotlb_routing *r);
/* ops_preview.c: a pending preview's audience into r (a part of the
 * element of its own, beside the deployments). */
void routing_add_preview(const struct st_pending *p, struct slotlb_routing *r);
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
/* The ids the last reconcile_since() left in the maps: the next one
 * removes what left the database among them only, instead of sweeping
 * every id (65536 backend writes), so a fleet node applies another's
 * change in milliseconds (store.c). */
struct reconcile_known {
	bool valid;
	uint8_t apps[SLOTLB_MAX_APPS];
	uint8_t deployments[SLOTLB_MAX_DEPLOYMENTS];
	uint8_t backends[SLOTLB_MAX_BACKENDS];
};
int reconcile_since(struct daemon *d, struct reconcile_known *k);
/* Add what the database holds now to k (this node's own operations
 * wrote it to the maps themselves). */
int reconcile_note_known(struct daemon *d, struct reconcile_known *k);
/* reconcile.c: attach the persisted interfaces (replacing ours). */
void reapply_interfaces(struct daemon *d);

/* drain.c */
int drain_start(struct daemon *d);
void drain_stop(struct daemon *d);
/* Copy the cached count of a deployment/backend id (0 if unknown). */
uint64_t flows_of_deployment(struct daemon *d, uint32_t id);
uint64_t flows_of_backend(struct daemon *d, uint32_t id);

/* drain_control.c: the end of drains, each drain tick under d->lock
 * (started: when the tick's flow walk began, monotonic ms). */
/* Readers may still hold an old routing element or ring this long. */
#define DRAIN_MARGIN_MS 1000
struct drain_control;
struct drain_control *drain_control_new(void);
void drain_control_free(struct drain_control *c);
void drain_control_tick(struct daemon *d, struct drain_control *c,
			const struct st_snapshot *s, int64_t started);
/* A history entry of slotlbd's own (trigger "slotlbd"), under d->lock. */
void drain_note(struct daemon *d, const char *app, const char *slot,
		const char *action, const char *detail);
/* The name of app_id in s, or NULL (deleted). */
const char *snapshot_app_name(const struct st_snapshot *s, int64_t app_id);

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
