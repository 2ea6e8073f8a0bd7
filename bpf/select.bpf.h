/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend choice for a new flow: the app's routing element and the
 * client's address choose the slot (traffic routing, below), the slot
 * names the deployment, the flow's hash picks a position in that
 * deployment's Maglev ring, the ring names the backend.
 */
#ifndef SLOTLB_SELECT_BPF_H
#define SLOTLB_SELECT_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

/* The install's Maglev hash seed (settings map): per install, so a
 * client cannot compute which backend its flows land on, and the same on
 * every node of a fleet, so they choose alike. */
static __always_inline __u32 hash_seed(void)
{
	__u32 zero = 0;
	struct slotlb_settings *s = bpf_map_lookup_elem(&settings, &zero);

	return s ? s->hash_seed : 0;
}

static __always_inline __u32 rotl32(__u32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* Murmur3-style word mixing: cheap, well spread, and the same on every
 * node given the same seed, so two slotlb nodes with one state choose
 * the same backend. */
static __always_inline __u32 hash_word(__u32 h, __u32 w)
{
	w *= 0xcc9e2d51;
	w = rotl32(w, 15);
	w *= 0x1b873593;
	h ^= w;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

static __always_inline __u32 hash_final(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

static __always_inline __u32 flow_hash(const struct slotlb_flow_key *k)
{
	__u32 h = hash_seed();

	h = hash_word(h, k->src[0]);
	h = hash_word(h, k->dst[0]);
	if (k->family == AF_INET6) {
		h = hash_word(h, k->src[1]);
		h = hash_word(h, k->src[2]);
		h = hash_word(h, k->src[3]);
		h = hash_word(h, k->dst[1]);
		h = hash_word(h, k->dst[2]);
		h = hash_word(h, k->dst[3]);
	}
	h = hash_word(h, ((__u32)k->sport << 16) | k->dport);
	h = hash_word(h, k->proto);
	return hash_final(h);
}

/* The app's element (before: the one before its last change), NULL if
 * it has none. */
static __always_inline const struct slotlb_routing *routing_ref(__u32 app,
								bool before)
{
	__u32 index;
	__u64 *ref, v;

	ref = bpf_map_lookup_elem(&app_routing, &app);
	if (!ref)
		return NULL;
	/* One load: the controller replaces the index with one store. */
	v = *(volatile __u64 *)ref;
	index = before ? SLOTLB_ROUTING_BEFORE(v) : SLOTLB_ROUTING_INDEX(v);
	if (!index)
		return NULL;
	return bpf_map_lookup_elem(&routing_pool, &index);
}

/* The app's routing element, NULL if it has none. */
static __always_inline const struct slotlb_routing *routing_element(__u32 app)
{
	return routing_ref(app, false);
}

/* The app's element before its last change, NULL if none: a hint whose
 * entry may have been rewritten since (abi.h), read only to look for a
 * half-open flow, never to route one. */
static __always_inline const struct slotlb_routing *routing_before(__u32 app)
{
	return routing_ref(app, true);
}

/* Backend id for this flow in a ring of rings (deployment_rings, or
 * ring_history for the ring before the last republish) of the
 * deployment and the flow's family, 0 if none. */
static __always_inline __u32 ring_lookup(void *rings, __u32 deployment_id,
					 __u8 family, __u32 hash)
{
	__u32 index = SLOTLB_RING_INDEX(deployment_id, family == AF_INET6);
	__u32 pos = hash % SLOTLB_RING_SIZE;
	__u32 *backend_id;
	void *ring;

	ring = bpf_map_lookup_elem(rings, &index);
	if (!ring)
		return 0;
	backend_id = bpf_map_lookup_elem(ring, &pos);
	return backend_id ? *backend_id : 0;
}

static __always_inline __u32 ring_backend(__u32 deployment_id, __u8 family,
					  __u32 hash)
{
	return ring_lookup(&deployment_rings, deployment_id, family, hash);
}

/*
 * Traffic routing: the slot whose deployment a new flow goes to. It
 * depends on the endpoint's slot and the client's source address only,
 * never on ports, so a client lands on one slot for all its connections
 * while the rules stay the same (clients behind one NAT share a slot).
 * Established flows never come here: they follow their entry.
 *
 *   1. audience prefixes of the endpoint's slot (opt-in testers, a
 *      preview audience): the longest match wins, of equal ones the
 *      first in the element;
 *   2. else the splits of the endpoint's slot: the client bucket
 *      (client_bucket() of client_hash(), a hash of its own, so the slot
 *      choice and the backend choice are independent) in [from, to);
 *   3. else the endpoint's own slot.
 * A chosen slot without a deployment falls back to the endpoint's own
 * slot, so a rule toward an emptied slot never drops clients (the flow
 * is counted under the own slot's deployment).
 */

/* Seed of the client hash. The controller predicts the data path's
 * choice with slotlb_client_hash() (user/lib/traffic.c); both must
 * change together, and a change moves clients between slots. */
#define CLIENT_HASH_SEED 0x736c6f74 /* "slot" */

/* murmur3's 32-bit finalizer: every input bit flips each output bit with
 * probability ~1/2, so sequential addresses spread evenly. */
static __always_inline __u32 client_mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* Hash of a client address: the words taken as numbers (network order
 * read as big-endian), so the value does not depend on the host. */
static __always_inline __u32 client_hash(const __be32 *addr, __u8 family)
{
	__u32 h = client_mix(CLIENT_HASH_SEED ^ bpf_ntohl(addr[0]));

	if (family == AF_INET6) {
		h = client_mix(h ^ bpf_ntohl(addr[1]));
		h = client_mix(h ^ bpf_ntohl(addr[2]));
		h = client_mix(h ^ bpf_ntohl(addr[3]));
	}
	return h;
}

/* The hash scaled to [0, SLOTLB_SHARE_SCALE) by a multiply, not a
 * division: bucket b holds the hashes in [b, b + 1) * 2^32 / SCALE. */
static __always_inline __u32 client_bucket(__u32 hash)
{
	return (__u32)(((__u64)hash * SLOTLB_SHARE_SCALE) >> 32);
}

/* Does the key's source fall in the prefix? Host bits of p->addr are
 * zero. A global function, verified once on its own: inlined into the
 * audience loop its exits multiplied the states to explore tenfold. */
__attribute__((noinline)) bool
audience_prefix_match(const struct slotlb_prefix *p,
		      const struct slotlb_flow_key *key)
{
	__u32 w, len;

	if (!p || !key)
		return false;
	len = p->len;
	for (w = 0; w < 4 && len >= 32; w++, len -= 32)
		if (key->src[w] != p->addr[w])
			return false;
	if (!len)
		return true;
	/* A length over 128 matches nothing (the controller never writes
	 * one); the check also bounds w for the verifier. */
	if (w >= 4)
		return false;
	return !((key->src[w] ^ p->addr[w]) & bpf_htonl(~0U << (32 - len)));
}

/* Slot an audience prefix sends the client to, or -1 if none matches. */
static __always_inline int audience_slot(const struct slotlb_routing *r,
					 __u32 slot,
					 const struct slotlb_flow_key *key)
{
	int to = -1, best = -1;
	__u32 i;

	for (i = 0; i < SLOTLB_MAX_AUDIENCE; i++) {
		const struct slotlb_prefix *p = &r->audience[i];

		if (i >= r->audience_count)
			break;
		if (p->from_slot != slot || p->family != key->family ||
		    (int)p->len <= best || !audience_prefix_match(p, key))
			continue;
		best = p->len;
		to = p->to_slot;
	}
	return to;
}

/* Slot the splits send the client to, or the endpoint's own. The hash
 * is taken only once a split of this slot is found. */
static __always_inline __u32 split_slot(const struct slotlb_routing *r,
					__u32 slot, const __be32 *src,
					__u8 family)
{
	__u32 i, bucket = SLOTLB_SHARE_SCALE;

	for (i = 0; i < SLOTLB_MAX_SPLITS; i++) {
		const struct slotlb_split *s = &r->split[i];

		if (i >= r->split_count)
			break;
		if (s->from_slot != slot)
			continue;
		if (bucket == SLOTLB_SHARE_SCALE)
			bucket = client_bucket(client_hash(src, family));
		if (bucket >= s->from && bucket < s->to)
			return s->to_slot;
	}
	return slot;
}

/* Slot whose deployment a new flow from this client on an endpoint of
 * slot takes (slot < SLOTLB_MAX_SLOTS): an app without rules pays two
 * byte compares for them. */
static __always_inline __u32 choose_slot(const struct slotlb_routing *r,
					 __u32 slot,
					 const struct slotlb_flow_key *key)
{
	__u64 to;
	int aud;

	if (!r->audience_count && !r->split_count)
		return slot;
	aud = r->audience_count ? audience_slot(r, slot, key) : -1;
	to = aud >= 0 ? (__u64)aud : split_slot(r, slot, key->src, key->family);
	/* One register for the bound check and the index (the verifier
	 * loses the bound across a second zero extension). */
	barrier_var(to);
	if (to >= SLOTLB_MAX_SLOTS || !r->deployment[to])
		return slot;
	return to;
}

/*
 * Deployment a client's new flow on this endpoint goes to now (0: the
 * slot is empty), and in *prev the deployment that slot held before its
 * last change (0: none), where a flow that lost its entry across a swap
 * most likely began (second chance). Only the key's source address
 * matters for the slot.
 *
 * With own_backend, the endpoint's own slot's ring is read first, at
 * position hash, into *own_backend (0: none): most new flows stay on
 * their slot, and that read, a cache miss, then overlaps the rules and
 * whatever the caller does next instead of waiting for them (with 4
 * audience prefixes a new flow cost ~200 ns more otherwise). *own is
 * the deployment that ring belongs to.
 */
static __always_inline __u32 client_deployment_ring(
	const struct slotlb_endpoint *ep, const struct slotlb_flow_key *key,
	__u32 *prev, __u32 hash, __u32 *own, __u32 *own_backend)
{
	const struct slotlb_routing *r = routing_element(ep->app_id);
	__u32 slot = ep->slot;

	*prev = 0;
	if (!r || slot >= SLOTLB_MAX_SLOTS)
		return 0;
	if (own_backend) {
		*own = r->deployment[slot];
		*own_backend = *own ? ring_backend(*own, key->family, hash) : 0;
		/* Keep the read here, ahead of the rules. */
		barrier_var(*own_backend);
	}
	slot = choose_slot(r, slot, key);
	if (slot >= SLOTLB_MAX_SLOTS)
		return 0;
	*prev = r->previous[slot];
	return r->deployment[slot];
}

/* Deployment a new flow from this client on this endpoint went to under
 * the app's element before its last change (0: none). */
static __always_inline __u32 client_deployment_before(
	const struct slotlb_endpoint *ep, const struct slotlb_flow_key *key)
{
	const struct slotlb_routing *r = routing_before(ep->app_id);
	__u32 slot = ep->slot;

	if (!r || slot >= SLOTLB_MAX_SLOTS)
		return 0;
	slot = choose_slot(r, slot, key);
	if (slot >= SLOTLB_MAX_SLOTS)
		return 0;
	return r->deployment[slot];
}

static __always_inline __u32
client_deployment(const struct slotlb_endpoint *ep,
		  const struct slotlb_flow_key *key, __u32 *prev)
{
	return client_deployment_ring(ep, key, prev, 0, NULL, NULL);
}

#endif /* SLOTLB_SELECT_BPF_H */
