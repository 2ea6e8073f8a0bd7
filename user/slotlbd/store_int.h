/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Inside the fleet store (store.c, store_drain.c): its keys in etcd and
 * the state every part of it shares. Nothing outside store*.c includes
 * this.
 */
#ifndef SLOTLBD_STORE_INT_H
#define SLOTLBD_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "daemon.h"
#include "etcd.h"

#define PREFIX "/slotlb/"
#define LOG_PREFIX PREFIX "log/"
#define HEAD_KEY PREFIX "head"
#define NODES_PREFIX PREFIX "nodes/"
/* each live node's own flow counts of draining deployments, with a
 * lease (store_drain.c) */
#define DRAINS_PREFIX PREFIX "drains/"
/* the Maglev flow hash seed of the fleet: the same 5-tuple picks the
 * same backend whichever node ECMP sends it to */
#define SEED_KEY PREFIX "hash_seed"
/* entries read per range request while catching up */
#define CATCH_UP_BATCH 256
/* between two attempts to reach etcd */
#define RETRY_MS 200

struct store {
	struct daemon *d;
	char url[512];
	char node[64];
	struct etcd ops; /* under d->lock */
	struct etcd watch; /* the watch thread's */
	struct etcd aux; /* the watch thread's puts */
	struct etcd drain; /* the drain thread's (store_drain.c) */
	int64_t lease; /* drain thread: drains/NAME's lease, 0 = none */
	int64_t lease_renewed_ms; /* drain thread: monotonic */
	char drains_put[1024]; /* drain thread: drains/NAME as last put */
	int64_t drains_rev; /* drain thread: drains/NAME's mod_revision
			     * as this node last put it, 0: none */
	bool name_clash_logged; /* drain thread: another node holds NAME */
	char node_id[33]; /* hex, from the state directory's node-id:
			   * which node put drains/NAME */
	pthread_t thread;
	bool started;
	atomic_bool stop;
	atomic_bool reachable;
	atomic_bool dirty; /* the copy changed under the maps: reconcile */
	atomic_llong down_since_ms; /* wall clock, 0 while reachable */
	int64_t published_seq; /* watch thread: last nodes/NAME put */
	bool seed_synced; /* under d->lock: the Maglev seed is the fleet's */
	uint32_t fleet_seed; /* under d->lock: that seed, once synced */
	struct reconcile_known known; /* under d->lock */
	bool own_changes; /* under d->lock: appended since the last apply */
	uint32_t snapshot_every; /* K: entries between snapshots, 0: none */
	int64_t snapshot_due; /* under d->lock: entry this node appended
			       * that a snapshot should follow, 0: none */
};

/* store_snapshot.c. Store the copy's snapshot (buf, of
 * state_log_snapshot) at entry seq, then compact the log; the watch
 * thread, outside d->lock. */
void store_snapshot_put(struct store *s, const void *buf, size_t len,
			int schema, int64_t seq, int64_t rev);
/* The copy stands at entry have, older than the log's oldest: load the
 * newest snapshot. Under d->lock. -ESTALE if none covers it. */
int store_snapshot_load(struct store *s, struct etcd *e, int64_t have);

/* Claim drains/NAME for this node at start (store_drain.c): 0 (also
 * when etcd does not answer: the drain thread claims it later), or
 * -EADDRINUSE when another live node holds the name. */
int store_claim_name(struct store *s);

/* Each live node's drain counts, for a status: [{"node", "deployment"
 * (serial), "flows"}] from drains/NAME (store_drain.c). */
json_t *store_drains_json(struct etcd *e, int *err);

/* Put key = val whatever its revision (under lease, unless 0). */
static inline int store_put(struct etcd *e, const char *key, const void *val,
			    size_t len, int64_t lease)
{
	struct etcd_put put = {key, val, len, lease};

	/* mod_revision 0 of a key that cannot exist: unconditional */
	return etcd_txn_puts(e, PREFIX "none", 0, &put, 1, NULL);
}

#endif /* SLOTLBD_STORE_INT_H */
