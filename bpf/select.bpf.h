/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Backend choice for a new flow: the app's routing element names the
 * deployment in the endpoint's slot, the flow's hash picks a position in
 * that deployment's Maglev ring, the ring names the backend.
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

/* Deployment currently in the endpoint's slot, 0 if none. */
static __always_inline __u32 slot_deployment(const struct slotlb_endpoint *ep)
{
	__u32 index, slot = ep->slot;
	struct slotlb_routing *r;
	__u64 *ref;

	ref = bpf_map_lookup_elem(&app_routing, &ep->app_id);
	if (!ref)
		return 0;
	/* One load: the controller replaces the index with one store. */
	index = *(volatile __u64 *)ref;
	if (!index)
		return 0;
	r = bpf_map_lookup_elem(&routing_pool, &index);
	if (!r || slot >= SLOTLB_MAX_SLOTS)
		return 0;
	return r->deployment[slot];
}

/* Backend id for this flow in the deployment's ring of the flow's
 * family, 0 if none. */
static __always_inline __u32 ring_backend(__u32 deployment_id, __u8 family,
					  __u32 hash)
{
	__u32 index = SLOTLB_RING_INDEX(deployment_id, family == AF_INET6);
	__u32 pos = hash % SLOTLB_RING_SIZE;
	__u32 *backend_id;
	void *ring;

	ring = bpf_map_lookup_elem(&deployment_rings, &index);
	if (!ring)
		return 0;
	backend_id = bpf_map_lookup_elem(ring, &pos);
	return backend_id ? *backend_id : 0;
}

#endif /* SLOTLB_SELECT_BPF_H */
