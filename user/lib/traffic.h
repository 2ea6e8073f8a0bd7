/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing, the controller's half: the data path's slot choice
 * reproduced in C (to predict where a client lands), the stable layout
 * of a distribution's hash ranges, and the rules of a routing element.
 * Pure C, no libbpf: slotlbd, the CLI and tools link it, unit tests run
 * it without root, and the BPF tests hold it against the data path.
 *
 * Vocabulary: a new flow arrives on an endpoint of a slot (the "from"
 * slot). Its client's bucket, a hash of the source address scaled to
 * [0, SLOTLB_SHARE_SCALE), is what the split ranges of that slot cut
 * into shares; an audience prefix overrides the shares.
 */
#ifndef SLOTLB_TRAFFIC_H
#define SLOTLB_TRAFFIC_H

#include <stddef.h>
#include <stdint.h>
#include <slotlb/abi.h>

/* Hash of a client address, as bpf/select.bpf.h client_hash() computes
 * it (IPv4 in addr[0], network order). */
uint32_t slotlb_client_hash(const __be32 addr[4], uint8_t family);
/* The client's bucket in [0, SLOTLB_SHARE_SCALE): client_bucket(). */
uint32_t slotlb_client_bucket(const __be32 addr[4], uint8_t family);

/* The data path's hash of a new flow's 5-tuple (bpf/select.bpf.h
 * flow_hash()), whose value modulo SLOTLB_RING_SIZE is the position in
 * the deployment's Maglev ring; seed is SLOTLB_FLOW_HASH_SEED. */
#define SLOTLB_FLOW_HASH_SEED 0x5107b1a5 /* select.bpf.h HASH_SEED */
uint32_t slotlb_flow_hash(const struct slotlb_flow_key *k, uint32_t seed);

/* Why a client lands on the slot it lands on. */
enum slotlb_route_why {
	SLOTLB_ROUTE_OWN = 0, /* no rule applies: the endpoint's slot */
	SLOTLB_ROUTE_AUDIENCE, /* an audience prefix */
	SLOTLB_ROUTE_SPLIT, /* a split range holds the client's bucket */
	SLOTLB_ROUTE_FALLBACK, /* a rule chose a slot without deployment:
				* the endpoint's own slot instead */
};

/* Where a new flow from one client goes. */
struct slotlb_route {
	uint32_t slot; /* slot whose deployment gets the flow */
	uint32_t deployment; /* that deployment; 0: none, the flow drops */
	enum slotlb_route_why why;
	int rule; /* index of the deciding audience[] or split[] entry
		   * (also for FALLBACK); -1 for OWN */
	uint32_t bucket; /* the client's bucket */
};

/*
 * The data path's choice (choose_slot()) for a new flow from addr
 * arriving on an endpoint of slot: audience prefixes of the slot first
 * (longest match, of equal ones the first), then its split ranges, else
 * the slot itself; a chosen slot without deployment falls back to the
 * endpoint's own. Returns 0, or -EINVAL (slot out of range, bad family).
 */
int slotlb_route_client(const struct slotlb_routing *r, uint32_t slot,
			const __be32 addr[4], uint8_t family,
			struct slotlb_route *out);

/* A target slot and its share of a slot's new clients. */
struct slotlb_share {
	uint8_t to_slot; /* slot whose deployment receives the share */
	uint16_t share; /* basis points, 0..SLOTLB_SHARE_SCALE */
};

/* What a layout did beyond the rules below. */
struct slotlb_layout_report {
	uint32_t relocated; /* bit per to_slot some of whose clients moved
			     * against the rules (0 = none did) */
	uint32_t moved; /* buckets whose slot changed (a bucket is
			 * 1/SLOTLB_SHARE_SCALE of the clients) */
	uint32_t against; /* of those, moved against the rules */
};

/*
 * Lay out the hash ranges of from_slot's distribution want[] given its
 * previous layout (prev[]: entries of other from slots are ignored, so
 * a routing element's split[] can be passed as it is). The rules, for
 * each target t, share(t) = its range's length:
 *  - t's share raised: its range grows; only clients of from_slot itself
 *    (in no range before) join it, none leaves it;
 *  - t's share lowered: its range shrinks; clients only leave it, back
 *    to from_slot;
 *  - t's share unchanged: its range, and so its clients, stay.
 * No client moves from one target to another. Ranges stay contiguous,
 * one per target; where that makes the rules impossible (a target
 * hemmed in by others), the layout that moves the fewest clients
 * against them is taken and report->relocated names the targets
 * concerned, so the controller can say so. A share of 0 gives no range.
 *
 * out[] receives one split per target with a share (at most n_want, in
 * ascending order of range), *n_out their count. Returns 0, -EINVAL (a
 * to_slot out of range or equal to from_slot, a duplicate to_slot, a
 * share over SLOTLB_SHARE_SCALE or a total over it) or -E2BIG (more
 * than SLOTLB_MAX_SPLITS targets); on error out is untouched.
 */
int slotlb_split_layout(uint8_t from_slot, const struct slotlb_split *prev,
			size_t n_prev, const struct slotlb_share *want,
			size_t n_want, struct slotlb_split *out, size_t *n_out,
			struct slotlb_layout_report *report);

/*
 * Rules of a routing element, all or nothing (on error r is unchanged).
 *
 * set_splits replaces from_slot's splits with splits[] (each must have
 * that from_slot, another to_slot, from < to <= SLOTLB_SHARE_SCALE, and
 * not overlap another); others' are kept. -EINVAL if one is not so,
 * -ENOSPC if the element would hold more than SLOTLB_MAX_SPLITS.
 *
 * set_audience replaces the prefixes that send from_slot's clients to
 * to_slot with prefixes[] (from/to fields are set here; a prefix given
 * twice counts once). -EINVAL for a bad family, a length over the
 * family's, host bits set, or a slot out of range; -EEXIST if one of
 * them already sends from_slot's clients to another slot; -ENOSPC past
 * SLOTLB_MAX_AUDIENCE prefixes in the element.
 *
 * clear_rules drops every split and prefix. None of them touches the
 * deployments or the generation.
 */
int slotlb_routing_set_splits(struct slotlb_routing *r, uint8_t from_slot,
			      const struct slotlb_split *splits, size_t n);
int slotlb_routing_set_audience(struct slotlb_routing *r, uint8_t from_slot,
				uint8_t to_slot,
				const struct slotlb_prefix *prefixes, size_t n);
void slotlb_routing_clear_rules(struct slotlb_routing *r);

#endif /* SLOTLB_TRAFFIC_H */
