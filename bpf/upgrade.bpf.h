/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The previous layout's flow table, read while an upgrade runs.
 *
 * An upgrade converts layout 1's flows into this layout's tables before
 * the new program replaces the old one, and again right after
 * (user/lib/upgrade.c): flows the old program pinned in between are not
 * in them yet when the new program meets their first packets. A
 * client's packet finds its backend anyway (second chance, with layout
 * 1's hash seed kept); a backend's reply has no mapping to its endpoint,
 * and passed untranslated it would reach the client from the backend's
 * own address, which resets the connection. So while the upgrade runs,
 * element 0 of legacy_flows holds layout 1's table and a backend's
 * packet that matches no flow of ours is looked up there: a reply entry
 * names the endpoint it goes back from. The other way round, a flow the
 * new program pins while the old one still runs on some interface
 * leaves its reply entry there too, for the old program. The upgrade
 * empties the element once every flow is converted; nothing else ever
 * sets it.
 *
 * An upgrade from layout 2 (user/lib/upgrade_v2.c) keeps the reply
 * index, but a flow the old program pinned meanwhile has no entry of
 * ours for it to name yet. Its half-open entry in layout 2's flows_new
 * (keyed by the reply 5-tuple, as ours) names its endpoint, and lingers
 * after the flow is established: element 0 of legacy_new holds
 * that table while the upgrade runs, and a backend's packet that
 * matches nothing of ours is looked up there too.
 */
#ifndef SLOTLB_UPGRADE_BPF_H
#define SLOTLB_UPGRADE_BPF_H

#include "maps.bpf.h"
#include "parse.bpf.h"

/* Layout 1's flow entry (release 69017f1), frozen: its key is laid out
 * as struct slotlb_flow_key. user/lib/upgrade_v1.c reads the same. */
struct legacy_flow {
	__be32 addr[4]; /* forward: backend; reply: endpoint */
	__be16 port; /* of addr */
	__u8 direction; /* LEGACY_FORWARD or a reply */
	__u8 state;
	__u32 backend_id, deployment_id, endpoint_id;
	__u64 last_seen_ns;
	__u32 nh_ifindex;
	__u8 nh_dmac[6], nh_smac[6];
	__u64 nh_time_ns;
};
_Static_assert(sizeof(struct legacy_flow) == 64, "layout 1 flow");

#define LEGACY_FORWARD 0
#define LEGACY_REPLY 1

/* A reply entry being written (in the program's scratch: the stack has
 * no room left for it). */
struct legacy_note {
	struct slotlb_flow_key key;
	struct legacy_flow flow;
};

/* Layout 1's `flows` (LRU hash, no flags; any size fits the slot). */
struct legacy_flows_table {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	/* by size: typed, the inner map would need BTF, which the
	 * replacement table (created by the old build) has none of */
	__uint(key_size, sizeof(struct slotlb_flow_key));
	__uint(value_size, sizeof(struct legacy_flow));
	__uint(max_entries, 64);
};

/* Element 0: layout 1's flow table while an upgrade from it runs, else
 * empty. Not pinned: it lives and dies with this program. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct legacy_flows_table);
} legacy_flows SEC(".maps");

/* Layout 2's half-open entry (main at 821e6af), frozen: keyed by the
 * reply 5-tuple. user/lib/upgrade_v2.c reads the same. */
struct legacy_flow_new {
	__be32 endpoint[4]; /* endpoint the flow came in on */
	__be16 endpoint_port;
	__u16 backend_id, deployment_id, endpoint_id;
	__u32 state, seen;
	__u32 client_seq, client_ack, backend_isn, backend_ack;
};
_Static_assert(sizeof(struct legacy_flow_new) == 48, "layout 2 flow new");

/* Layout 2's `flows_new` (LRU hash, no common LRU; any size fits). */
struct legacy_flows_new_table {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__uint(key_size, sizeof(struct slotlb_flow_key));
	__uint(value_size, sizeof(struct legacy_flow_new));
	__uint(max_entries, 64);
};

/* Element 0: layout 2's half-open table while an upgrade from it runs,
 * else empty. Not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 1);
	__array(values, struct legacy_flows_new_table);
} legacy_new SEC(".maps");

/* Where a backend's packet of an unconverted flow goes back from. */
struct legacy_route {
	__be32 endpoint[4];
	__be16 port;
	__u32 endpoint_id, deployment_id, backend_id;
};

/* The reply entry of a backend's packet (its 5-tuple key) in layout 1's
 * table, or NULL (no upgrade running, or no such flow). */
static __always_inline const struct legacy_flow *
legacy_reply(const struct slotlb_flow_key *key)
{
	const struct legacy_flow *f;
	__u32 zero = 0;
	void *table;

	table = bpf_map_lookup_elem(&legacy_flows, &zero);
	if (!table)
		return NULL;
	f = bpf_map_lookup_elem(table, key);
	if (!f || f->direction == LEGACY_FORWARD)
		return NULL;
	return f;
}

/* The route back of a backend's packet (its 5-tuple key) of a flow the
 * previous layout's program pinned: from layout 1's reply entry or
 * layout 2's half-open entry. False: no upgrade running, or no such
 * flow. */
static __always_inline bool legacy_route_of(const struct slotlb_flow_key *key,
					    struct legacy_route *to)
{
	const struct legacy_flow_new *h;
	const struct legacy_flow *f;
	__u32 zero = 0;
	void *table;

	f = legacy_reply(key);
	if (f) {
		__builtin_memcpy(to->endpoint, f->addr, sizeof(to->endpoint));
		to->port = f->port;
		to->endpoint_id = f->endpoint_id;
		to->deployment_id = f->deployment_id;
		to->backend_id = f->backend_id;
		return true;
	}
	table = bpf_map_lookup_elem(&legacy_new, &zero);
	if (!table)
		return false;
	h = bpf_map_lookup_elem(table, key);
	if (!h)
		return false;
	__builtin_memcpy(to->endpoint, h->endpoint, sizeof(to->endpoint));
	to->port = h->endpoint_port;
	to->endpoint_id = h->endpoint_id;
	to->deployment_id = h->deployment_id;
	to->backend_id = h->backend_id;
	return true;
}

/*
 * A new flow while the upgrade replaces the old program interface by
 * interface: its replies may still meet the old program (on a backend
 * interface not replaced yet), which knows only its own table. So the
 * flow's reply entry goes there too, as the old program writes it.
 */
static __always_inline void
legacy_note_reply(struct legacy_note *n, const struct packet *pkt,
		  const __be32 *backend, __be16 backend_port, __u32 endpoint_id,
		  __u32 deployment_id, __u32 backend_id)
{
	struct slotlb_flow_key *k = &n->key;
	struct legacy_flow *f = &n->flow;
	__u32 zero = 0;
	void *table;

	table = bpf_map_lookup_elem(&legacy_flows, &zero);
	if (!table)
		return;
	__builtin_memset(n, 0, sizeof(*n));
	k->src[0] = backend[0];
	if (pkt->key.family == AF_INET6) {
		k->src[1] = backend[1];
		k->src[2] = backend[2];
		k->src[3] = backend[3];
	}
	__builtin_memcpy(k->dst, pkt->key.src, 16);
	k->sport = backend_port;
	k->dport = pkt->key.sport;
	k->proto = pkt->key.proto;
	k->family = pkt->key.family;
	__builtin_memcpy(f->addr, pkt->key.dst, 16);
	f->port = pkt->key.dport;
	f->direction = LEGACY_REPLY;
	f->backend_id = backend_id;
	f->deployment_id = deployment_id;
	f->endpoint_id = endpoint_id;
	f->last_seen_ns = bpf_ktime_get_coarse_ns();
	bpf_map_update_elem(table, k, f, BPF_ANY);
}

#endif /* SLOTLB_UPGRADE_BPF_H */
