/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The fleet's shared state (slotlbd --store etcd://...): the database
 * is this node's copy of a log kept in etcd (state.h, state_log.c), and
 * this module is the log's other end: it appends each transaction as
 * one compare-on-revision etcd transaction, catches the copy up before
 * each transaction, and watches the log to apply what other nodes
 * wrote, then makes the maps equal to it (reconcile). docs/fleet-store.md.
 *
 * Keys, under /slotlb/:
 *   log/NNNNNNNNNNNNNNNNNNNN  entry N (20 digits: key order is log
 *                             order), an SQLite changeset
 *   head                      N of the last entry; its mod_revision is
 *                             what every append compares
 *   nodes/NAME                {"seq","revision","time"}: how far NAME
 *                             applied, for `slotlb status`
 *   snapshot, snap/...        the newest snapshot of the copy, and its
 *                             chunks (store_snapshot.c)
 *   drains/NAME               NAME's own flow counts of the draining
 *                             deployments, under a lease that NAME's
 *                             drain thread keeps alive (store_drain.c)
 */
#ifndef SLOTLBD_STORE_H
#define SLOTLBD_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct daemon;

/* Open the store of c->url for d, named c->node ("" = the host name),
 * with its TLS files, a snapshot of the copy every c->snapshot_every
 * entries (0: never), and
 * give d->st its log. Refuses (-EEXIST) a database that holds a state
 * of its own (made without the log), and (-EADDRINUSE) a name that
 * another live node holds (store_drain.c), changing nothing in etcd.
 * Prints nothing: *why says what was wrong. */
struct store_config {
	const char *url, *node;
	const char *ca, *cert, *key; /* etcds://, "" = none */
	uint32_t snapshot_every;
	const char *state_dir; /* holds the node's id (node-id) */
};
int store_open(struct daemon *d, const struct store_config *c,
	       const char **why);
/* Before the maps are reconciled at start: apply what the log holds
 * beyond the copy; unreachable is no error (the copy serves). */
void store_catch_up_at_start(struct daemon *d);
/* The watch thread. */
int store_start(struct daemon *d);
void store_stop(struct daemon *d);
void store_close(struct daemon *d);

/* Under d->lock, every drain tick: put the data path's Maglev seed back
 * to the fleet's if it changed (`dpctl seed` on one node would make it
 * choose other backends than the rest for the same 5-tuple). */
void store_seed_check(struct daemon *d);

/* etcd answered the last time it was asked. */
bool store_reachable(struct daemon *d);
/* Why a write cannot run now, for a 503, or NULL if it can. */
const char *store_refusal(struct daemon *d, char *buf, size_t len);
/* The error the calling thread's last append met: 0, -ECANCELED (another
 * node came first) or -ENOTCONN; cleared by the call. */
int store_take_error(void);
/* The fleet for GET /v1/status: store, this node, the log's head, each
 * node's applied revision. New reference. */
json_t *store_status_json(struct daemon *d);

/* One drain as this node's drain thread counts it. */
struct store_drain {
	int64_t serial; /* the deployment */
	int64_t since_ms; /* its draining_since: which drain */
	uint64_t flows; /* this node's flows pinned to it */
	bool fleet_idle; /* out: every live node counts 0 of this drain */
};

/* Orphans: deployments left active in no slot by a deploy that died
 * between its two transactions, and the deploys under way on this node
 * (their deployments are no orphans yet). */
struct store_fleet {
	struct store_drain *orphans; /* serial, since_ms = created;
				      * fleet_idle out: no live node
				      * deploys it */
	size_t n_orphans;
	int64_t *deploying; /* serials */
	size_t n_deploying;
};

/* The drain thread, each tick, outside d->lock: publish this node's
 * counts of the drains it has proven and its deploys under way
 * (drains/NAME, under a lease of STORE_DRAIN_TTL_S kept alive here),
 * read every live node's, and set each drain's and orphan's
 * fleet_idle. *decides: this node is the live node whose name sorts
 * first, the one that notes and retires drained deployments and
 * orphans. 0, or -errno (nothing known: decide nothing). */
#define STORE_DRAIN_TTL_S 10
/* An orphan is retired once seen that long with no live node deploying
 * it: more than a deploying node takes to say so. */
#define ORPHAN_GRACE_MS (STORE_DRAIN_TTL_S * 1000)
/* The longest --drain-interval with a store: under a third of the
 * lease, so a tick renews it in time (options.c refuses longer). */
#define STORE_MAX_DRAIN_INTERVAL_MS 3000u
_Static_assert(STORE_MAX_DRAIN_INTERVAL_MS * 3 <= STORE_DRAIN_TTL_S * 1000,
	       "a drain tick must renew the drain lease in time");
int store_drain_exchange(struct daemon *d, struct store_drain *drains, size_t n,
			 struct store_fleet *f, bool *decides);

#endif /* SLOTLBD_STORE_H */
