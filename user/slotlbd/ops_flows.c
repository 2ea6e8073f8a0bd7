/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Introspection of the flow table for `slotlb flows`: the flows pinned
 * for an app (one walk of the table, outside the daemon lock: it only
 * reads maps), and the backend a new connection from a client would
 * reach now, predicted the data path's way: the routing element and
 * slotlb_route_client() choose the slot's deployment, the flow hash
 * picks the position in that deployment's Maglev ring.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "ops_int.h"
#include "traffic.h"

struct flows_walk {
	const struct st_snapshot *s;
	const struct flows_filter *f;
	uint32_t slot; /* index of f->slot */
	struct flow_view *out;
	size_t n, cap, total;
	int err;
};

/* The app's endpoint with this id, NULL if it is not the app's. */
static const struct st_endpoint *endpoint_of(const struct st_snapshot *s,
					     uint32_t id)
{
	size_t i;

	for (i = 0; i < s->n_endpoints; i++)
		if (s->endpoints[i].id == id)
			return &s->endpoints[i];
	return NULL;
}

static int walk_one(const struct slotlb_flow_info *fi, void *ctx)
{
	struct flows_walk *w = ctx;
	const struct st_endpoint *ep;
	struct flow_view *v;

	/* A promoted half-open entry lingers in its LRU until evicted: the
	 * flow is its established entry (listed once, with its age). */
	if (fi->stage == SLOTLB_STAGE_HALF_OPEN &&
	    (fi->state & SLOTLB_FLOW_PROMOTED))
		return 0;
	ep = endpoint_of(w->s, fi->endpoint_id);
	if (!ep || ep->key.family != fi->family ||
	    memcmp(ep->key.addr, fi->endpoint, sizeof(fi->endpoint)) ||
	    ep->key.port != fi->endpoint_port || ep->key.proto != fi->proto)
		return 0;
	if (w->f->slot && ep->slot != w->slot)
		return 0;
	if (w->f->by_deployment && fi->deployment_id != w->f->deployment)
		return 0;
	w->total++;
	if (w->n == w->f->limit)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 256;
		void *p = realloc(w->out, cap * sizeof(*w->out));

		if (!p) {
			w->err = -ENOMEM;
			return 1;
		}
		w->out = p;
		w->cap = cap;
	}
	v = &w->out[w->n++];
	v->info = *fi;
	v->slot = ep->slot;
	return 0;
}

int ops_flows_list(struct daemon *d, const char *app,
		   const struct flows_filter *f, struct st_snapshot *s,
		   struct flow_view **out, size_t *n, size_t *total)
{
	struct flows_walk w = {.s = s, .f = f};
	size_t i;
	int err;

	*out = NULL;
	*n = *total = 0;
	err = ops_snapshot(d, app, s);
	if (err)
		return err;
	if (f->slot) {
		for (i = 0; i < s->n_slots; i++)
			if (!strcmp(s->slots[i].name, f->slot))
				break;
		if (i == s->n_slots)
			return -ENXIO;
		w.slot = s->slots[i].index;
	}
	err = slotlb_flows_foreach(d->lb, walk_one, &w);
	if (!err)
		err = w.err;
	if (err) {
		free(w.out);
		return err;
	}
	*out = w.out;
	*n = w.n;
	*total = w.total;
	return 0;
}

int ops_flow_lookup(struct daemon *d, const char *app,
		    const struct slotlb_flow_key *key, struct st_snapshot *s,
		    struct flow_prediction *p)
{
	const struct st_endpoint *ep = NULL;
	struct slotlb_routing r;
	uint32_t seed;
	size_t i;
	int err;

	memset(p, 0, sizeof(*p));
	err = ops_snapshot(d, app, s);
	if (err)
		return err;
	for (i = 0; i < s->n_endpoints && !ep; i++)
		if (!memcmp(s->endpoints[i].key.addr, key->dst,
			    sizeof(key->dst)) &&
		    s->endpoints[i].key.port == key->dport &&
		    s->endpoints[i].key.proto == key->proto &&
		    s->endpoints[i].key.family == key->family)
			ep = &s->endpoints[i];
	if (!ep)
		return -ESRCH;
	p->endpoint_slot = ep->slot;
	err = slotlb_routing_get(d->lb, ep->app_id, &r);
	if (err == -ENOENT)
		return 0; /* no routing element: nothing is served */
	if (err)
		return err;
	err = slotlb_route_client(&r, ep->slot, key->src, key->family,
				  &p->route);
	if (err || !p->route.deployment)
		return err;
	/* the install's seed, as the data path reads it */
	err = slotlb_hash_seed_get(d->lb, &seed);
	if (err)
		return err;
	p->hash = slotlb_flow_hash(key, seed);
	err = slotlb_deployment_ring_get(
		d->lb, p->route.deployment, key->family,
		p->hash % SLOTLB_RING_SIZE, &p->backend_id);
	if (err == -ENOENT)
		return 0; /* no ring of the client's family */
	return err;
}
