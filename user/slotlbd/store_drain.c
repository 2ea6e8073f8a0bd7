/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Drains across the fleet (store.h): a draining deployment retires only
 * when every live node's own count of flows pinned to it is zero.
 *
 * Each node's drain thread puts /slotlb/drains/NAME when it changes:
 *   {"drains": [{"deployment": SERIAL, "since": MS, "flows": N}, ...],
 *    "deploying": [SERIAL, ...]}
 * one item per drain whose count this node has proven (its walk began
 * after the drain plus the margin, drain.c), the key under a lease of
 * STORE_DRAIN_TTL_S that the same thread keeps alive (a keepalive
 * makes no revision in etcd; a put does, hence only on a change). A node that
 * dies or loses etcd stops renewing it: its key goes with the lease, and it
 * holds no drain back longer than that. A live node whose item for a
 * drain is missing (it has not applied the drain yet, or not proven its
 * count) holds it back like a node with flows.
 *
 * "deploying": the deployments its deploys with a hook made in their
 * first transaction and have not put into their slot yet. Every other
 * node sees them active in no slot (orphans); an orphan is retired when
 * no live node deploys it (its deploy died with its node) for
 * ORPHAN_GRACE_MS.
 *
 * The live node whose name sorts first decides: it notes "drained" and
 * retires, one logged operation each, so the fleet's history has one of
 * each per drain.
 *
 * A name is one node's: two nodes under one name would overwrite each
 * other's counts (a drain would retire under the other's pinned flows).
 * The value carries "id", the node's own (node-id in its state
 * directory), and every put is made only if drains/NAME is still as
 * this node last put it (or absent). A key that exists with another id
 * is a live node's (its lease is kept alive): a node is refused at
 * start (store_claim_name), or later, after etcd came back, publishes
 * nothing and says so in its log. A key with this node's own id was
 * left by this node before a crash or a restart: it is taken over.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "store.h"
#include "store_int.h"

/* Keep drains/NAME's lease alive (every third of its TTL), or get one. */
static int keep_lease(struct store *s)
{
	int64_t now = mono_ms();
	int err;

	if (s->lease &&
	    now - s->lease_renewed_ms < STORE_DRAIN_TTL_S * 1000 / 3)
		return 0;
	if (s->lease) {
		err = etcd_lease_keepalive(&s->drain, s->lease);
		if (!err) {
			s->lease_renewed_ms = now;
			return 0;
		}
		if (err != -ENOENT)
			return err;
		log_msg("store: drain counts: lease expired, taking another");
		s->lease = 0;
		s->drains_put[0] = 0;
	}
	err = etcd_lease_grant(&s->drain, STORE_DRAIN_TTL_S, &s->lease);
	s->drains_put[0] = 0;
	if (err) {
		s->lease = 0;
		return err;
	}
	s->lease_renewed_ms = now;
	return 0;
}

/* Who holds drains/NAME: 0 with *rev its mod_revision if this node
 * does (its id), 0 with *rev 0 if nobody does, -EADDRINUSE if another
 * node does. Reads only. */
static int name_holder(struct store *s, struct etcd *e, int64_t *rev)
{
	struct etcd_kv *kvs;
	const char *id;
	char key[128];
	json_t *v;
	size_t n;
	int err;

	snprintf(key, sizeof(key), DRAINS_PREFIX "%s", s->node);
	err = etcd_range(e, key, NULL, 1, &kvs, &n, NULL, NULL);
	if (err)
		return err;
	*rev = 0;
	if (n) {
		v = json_loadb((const char *)kvs[0].value, kvs[0].len, 0, NULL);
		id = json_string_value(json_object_get(v, "id"));
		/* no id: put by a slotlbd before ids, live until it goes */
		if (!id || strcmp(id, s->node_id))
			err = -EADDRINUSE;
		else
			*rev = kvs[0].mod_revision;
		json_decref(v);
	}
	etcd_kvs_free(kvs, n);
	return err;
}

/* Put drains/NAME if it is still as this node left it: after a lease
 * that expired (the key went) or a restart (the key is this node's, under
 * its old lease) once more, as whoever holds it now allows. */
static int put_own(struct store *s, const char *text)
{
	struct etcd_put put = {NULL, text, strlen(text), s->lease};
	char key[128];
	int64_t rev;
	int err, tries;

	snprintf(key, sizeof(key), DRAINS_PREFIX "%s", s->node);
	put.key = key;
	for (tries = 0; tries < 2; tries++) {
		err = etcd_txn_puts(&s->drain, key, s->drains_rev, &put, 1,
				    &rev);
		if (!err) {
			s->drains_rev = rev;
			s->name_clash_logged = false;
			return 0;
		}
		if (err != -ECANCELED)
			return err;
		err = name_holder(s, &s->drain, &s->drains_rev);
		if (err)
			break;
		/* changed again between the read and the put: next tick */
		err = -ECANCELED;
	}
	if (err == -EADDRINUSE && !s->name_clash_logged) {
		log_msg("Error: store: node name %s is held by another live node (%s%s under its lease): this node's drain counts are not published; give it its own --node-name",
			s->node, DRAINS_PREFIX, s->node);
		s->name_clash_logged = true;
	}
	return err;
}

static int publish(struct store *s, const struct store_drain *drains, size_t n,
		   const struct store_fleet *f)
{
	json_t *o, *dep, *arr = json_array();
	char *text;
	size_t i;
	int err;

	for (i = 0; i < n; i++)
		json_array_append_new(
			arr, json_pack("{s:I,s:I,s:I}", "deployment",
				       (json_int_t)drains[i].serial, "since",
				       (json_int_t)drains[i].since_ms, "flows",
				       (json_int_t)drains[i].flows));
	dep = json_array();
	for (i = 0; i < f->n_deploying; i++)
		json_array_append_new(dep, json_integer(f->deploying[i]));
	o = json_pack("{s:s,s:o,s:o}", "id", s->node_id, "drains", arr,
		      "deploying", dep);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	if (!strcmp(text, s->drains_put)) {
		free(text);
		return 0;
	}
	err = put_own(s, text);
	/* what does not fit is put every tick */
	if (!err && strlen(text) < sizeof(s->drains_put))
		snprintf(s->drains_put, sizeof(s->drains_put), "%s", text);
	else
		s->drains_put[0] = 0;
	free(text);
	/* a lease etcd no longer knows fails the put: take another */
	if (err == -EPROTO)
		s->lease = 0;
	return err;
}

int store_claim_name(struct store *s)
{
	struct store_fleet none = {0};
	int err;

	/* a name held by another node: refused before etcd is changed */
	err = name_holder(s, &s->drain, &s->drains_rev);
	if (!err)
		err = keep_lease(s);
	if (!err)
		err = publish(s, NULL, 0, &none);
	if (err && err != -EADDRINUSE)
		log_msg("Error: store: %s: node name %s: %s; claimed once etcd answers",
			s->url, s->node, strerror(-err));
	return err == -EADDRINUSE ? err : 0;
}

json_t *store_drains_json(struct etcd *e, int *err)
{
	struct etcd_kv *kvs;
	json_t *arr = json_array(), *v, *item;
	char end[64];
	size_t i, j, n;

	etcd_prefix_end(DRAINS_PREFIX, end, sizeof(end));
	*err = etcd_range(e, DRAINS_PREFIX, end, 0, &kvs, &n, NULL, NULL);
	if (*err)
		return arr;
	for (i = 0; i < n; i++) {
		v = json_loadb((const char *)kvs[i].value, kvs[i].len, 0, NULL);
		json_array_foreach(json_object_get(v, "drains"), j, item)
		{
			json_array_append_new(
				arr,
				json_pack("{s:s,s:I,s:I}", "node",
					  kvs[i].key + strlen(DRAINS_PREFIX),
					  "deployment",
					  json_integer_value(json_object_get(
						  item, "deployment")),
					  "flows",
					  json_integer_value(json_object_get(
						  item, "flows"))));
		}
		json_decref(v);
	}
	etcd_kvs_free(kvs, n);
	return arr;
}

/* Does node's value say it counts 0 flows of this drain? */
static bool node_idle(json_t *node, const struct store_drain *dr)
{
	json_t *item;
	size_t i;

	json_array_foreach(json_object_get(node, "drains"), i, item)
	{
		if (json_integer_value(json_object_get(item, "deployment")) ==
			    dr->serial &&
		    json_integer_value(json_object_get(item, "since")) ==
			    dr->since_ms)
			return json_integer_value(
				       json_object_get(item, "flows")) == 0;
	}
	return false;
}

/* Does node's value say it deploys serial? */
static bool node_deploys(json_t *node, int64_t serial)
{
	json_t *v;
	size_t i;

	json_array_foreach(json_object_get(node, "deploying"), i, v)
	{
		if (json_integer_value(v) == serial)
			return true;
	}
	return false;
}

int store_drain_exchange(struct daemon *d, struct store_drain *drains, size_t n,
			 struct store_fleet *f, bool *decides)
{
	struct store *s = d->store;
	struct etcd_kv *kvs;
	char end[64];
	json_t *v;
	size_t i, j, nk;
	int err;

	*decides = false;
	for (j = 0; j < n; j++)
		drains[j].fleet_idle = false;
	for (j = 0; j < f->n_orphans; j++)
		f->orphans[j].fleet_idle = false;
	err = keep_lease(s);
	if (!err)
		err = publish(s, drains, n, f);
	if (err)
		return err;
	for (j = 0; j < n && drains[j].flows; j++)
		;
	/* nothing to decide here: no need to know the others */
	if (j == n && !f->n_orphans)
		return 0;
	etcd_prefix_end(DRAINS_PREFIX, end, sizeof(end));
	err = etcd_range(&s->drain, DRAINS_PREFIX, end, 0, &kvs, &nk, NULL,
			 NULL);
	if (err)
		return err;
	/* keys in name order; this node's own is among them (just put) */
	*decides = nk && !strcmp(kvs[0].key + strlen(DRAINS_PREFIX), s->node);
	for (j = 0; j < n; j++)
		drains[j].fleet_idle = drains[j].flows == 0;
	for (j = 0; j < f->n_orphans; j++)
		f->orphans[j].fleet_idle = true;
	for (i = 0; i < nk; i++) {
		v = json_loadb((const char *)kvs[i].value, kvs[i].len, 0, NULL);
		for (j = 0; j < n; j++)
			if (!json_is_object(v) || !node_idle(v, &drains[j]))
				drains[j].fleet_idle = false;
		/* a value that does not parse may deploy anything */
		for (j = 0; j < f->n_orphans; j++)
			if (!json_is_object(v) ||
			    node_deploys(v, f->orphans[j].serial))
				f->orphans[j].fleet_idle = false;
		json_decref(v);
	}
	etcd_kvs_free(kvs, nk);
	return 0;
}
