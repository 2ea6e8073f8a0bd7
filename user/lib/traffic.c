/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Traffic routing, the controller's half (see traffic.h): the client
 * hash and slot choice as the data path computes them, the stable
 * layout of a distribution's ranges, and the rules of an element.
 *
 * The layout works on an owner per bucket (10,000 of them), which makes
 * "which clients moved, and were they allowed to" an exact count rather
 * than a property of interval arithmetic: a candidate layout is built,
 * its moves are judged bucket by bucket, and of the candidates the one
 * that moves the fewest clients against the rules is kept.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include "traffic.h"

/* Must stay equal to bpf/select.bpf.h CLIENT_HASH_SEED (the BPF tests
 * compare both on many addresses). */
#define CLIENT_HASH_SEED 0x736c6f74 /* "slot" */

#define SCALE SLOTLB_SHARE_SCALE
#define NO_OWNER 0xff /* a bucket in no range: the from slot's own */

/* murmur3's 32-bit finalizer, as client_mix() in the data path. */
static uint32_t client_mix(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

uint32_t slotlb_client_hash(const __be32 addr[4], uint8_t family)
{
	uint32_t h = client_mix(CLIENT_HASH_SEED ^ ntohl(addr[0]));
	int w;

	if (family == AF_INET6)
		for (w = 1; w < 4; w++)
			h = client_mix(h ^ ntohl(addr[w]));
	return h;
}

static uint32_t rotl32(uint32_t x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* hash_word() and hash_final() of bpf/select.bpf.h, on the words as they
 * lie in the key (network order, loaded as host words). */
static uint32_t flow_word(uint32_t h, uint32_t w)
{
	w *= 0xcc9e2d51;
	w = rotl32(w, 15);
	w *= 0x1b873593;
	h ^= w;
	h = rotl32(h, 13);
	return h * 5 + 0xe6546b64;
}

uint32_t slotlb_flow_hash(const struct slotlb_flow_key *k, uint32_t seed)
{
	uint32_t h = seed;
	int w;

	h = flow_word(h, k->src[0]);
	h = flow_word(h, k->dst[0]);
	if (k->family == AF_INET6) {
		for (w = 1; w < 4; w++)
			h = flow_word(h, k->src[w]);
		for (w = 1; w < 4; w++)
			h = flow_word(h, k->dst[w]);
	}
	h = flow_word(h, ((uint32_t)k->sport << 16) | k->dport);
	h = flow_word(h, k->proto);
	return client_mix(h);
}

uint32_t slotlb_client_bucket(const __be32 addr[4], uint8_t family)
{
	return (uint32_t)(((uint64_t)slotlb_client_hash(addr, family) *
			   SCALE) >>
			  32);
}

/* Network-order mask of the bits of word w that a prefix of len fixes. */
static __be32 word_mask(uint32_t len, int w)
{
	uint32_t bits = len > 32u * w ? len - 32u * w : 0;

	if (bits >= 32)
		return 0xffffffff;
	return bits ? htonl(~0U << (32 - bits)) : 0;
}

static bool prefix_contains(const struct slotlb_prefix *p, const __be32 addr[4])
{
	int w;

	if (p->len > 128)
		return false;
	for (w = 0; w < 4; w++)
		if ((addr[w] ^ p->addr[w]) & word_mask(p->len, w))
			return false;
	return true;
}

int slotlb_route_client(const struct slotlb_routing *r, uint32_t slot,
			const __be32 addr[4], uint8_t family,
			struct slotlb_route *out)
{
	uint32_t i, to = slot;
	int best = -1;

	if (!r || !addr || !out || slot >= SLOTLB_MAX_SLOTS ||
	    (family != AF_INET && family != AF_INET6))
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->why = SLOTLB_ROUTE_OWN;
	out->rule = -1;
	out->bucket = slotlb_client_bucket(addr, family);
	for (i = 0; i < r->audience_count && i < SLOTLB_MAX_AUDIENCE; i++) {
		const struct slotlb_prefix *p = &r->audience[i];

		if (p->from_slot != slot || p->family != family ||
		    (int)p->len <= best || !prefix_contains(p, addr))
			continue;
		best = p->len;
		to = p->to_slot;
		out->why = SLOTLB_ROUTE_AUDIENCE;
		out->rule = (int)i;
	}
	for (i = 0; best < 0 && i < r->split_count && i < SLOTLB_MAX_SPLITS;
	     i++) {
		const struct slotlb_split *s = &r->split[i];

		if (s->from_slot != slot || out->bucket < s->from ||
		    out->bucket >= s->to)
			continue;
		to = s->to_slot;
		out->why = SLOTLB_ROUTE_SPLIT;
		out->rule = (int)i;
		break;
	}
	if (to != slot && (to >= SLOTLB_MAX_SLOTS || !r->deployment[to])) {
		to = slot;
		out->why = SLOTLB_ROUTE_FALLBACK;
	}
	out->slot = to;
	out->deployment = r->deployment[to];
	return 0;
}

/* --- layout ------------------------------------------------------- */

/* A target of the distribution being laid out. */
struct target {
	uint8_t slot; /* to_slot */
	uint16_t share; /* wanted length */
	int old_from, old_to; /* previous range; equal if none */
	int from, to; /* new range */
};

/* What every candidate layout starts from. */
struct layout {
	struct target t[SLOTLB_MAX_SPLITS];
	size_t n;
	uint8_t before[SCALE]; /* owner of each bucket in prev */
	uint16_t old_len[SLOTLB_MAX_SLOTS]; /* share before, per slot */
	uint16_t new_len[SLOTLB_MAX_SLOTS]; /* share wanted, per slot */
};

/* One candidate: the new owner of each bucket and the targets' ranges. */
struct candidate {
	uint8_t after[SCALE];
	struct target t[SLOTLB_MAX_SPLITS];
	bool feasible;
	uint32_t against, moved, relocated;
};

static int old_len(const struct target *t)
{
	return t->old_to - t->old_from;
}

/* May target x take bucket h: free now, and its client was either in
 * no range before or x's own (own_only), or in any range (else)? */
static bool may_take(const struct layout *l, const struct candidate *c, int h,
		     uint8_t x, bool own_only)
{
	if (c->after[h] != NO_OWNER)
		return false;
	return !own_only || l->before[h] == NO_OWNER || l->before[h] == x;
}

static void take(struct candidate *c, struct target *t, int from, int to)
{
	int h;

	for (h = from; h < to; h++)
		c->after[h] = t->slot;
	t->from = from;
	t->to = to;
}

/* Buckets in no range before, next to h going by step (+1 or -1). */
static int free_run(const struct layout *l, int h, int step)
{
	int n = 0;

	for (; h >= 0 && h < SCALE && l->before[h] == NO_OWNER; h += step)
		n++;
	return n;
}

/* Shrink t's range in place. A range at an end of the space stays
 * there (one placed at the top grows down, and must find its room
 * again); one in the middle gives up the end that faces the longer run
 * of free buckets, so free space gathers into fewer, longer runs. */
static void keep_shrunk(const struct layout *l, struct candidate *c,
			struct target *t)
{
	if (t->old_from == 0)
		take(c, t, 0, t->share);
	else if (t->old_to == SCALE ||
		 free_run(l, t->old_from - 1, -1) > free_run(l, t->old_to, 1))
		take(c, t, t->old_to - t->share, t->old_to);
	else
		take(c, t, t->old_from, t->old_from + t->share);
}

/* Grow t's range in place by need buckets: upward, then downward, first
 * through the from slot's own clients, then through any free bucket.
 * Returns the buckets still missing. */
static int grow(const struct layout *l, struct candidate *c, struct target *t,
		int need)
{
	int pass;

	for (pass = 0; pass < 2 && need; pass++) {
		bool own_only = pass == 0;

		while (need && t->to < SCALE &&
		       may_take(l, c, t->to, t->slot, own_only)) {
			c->after[t->to++] = t->slot;
			need--;
		}
		while (need && t->from > 0 &&
		       may_take(l, c, t->from - 1, t->slot, own_only)) {
			c->after[--t->from] = t->slot;
			need--;
		}
	}
	return need;
}

/*
 * Place t afresh: in the largest run of buckets it may take (own clients
 * first, then any free); at the run's start if the run starts at 0, at
 * its end if it ends at the top of the space, else in its middle. Ranges
 * grow up first, then down: the first range sits at 0 and grows up, the
 * second at the top and grows down, so two targets never get in each
 * other's way; a third in the middle shares the room on both sides.
 * False if nothing fits.
 */
static bool place(const struct layout *l, struct candidate *c, struct target *t)
{
	int pass, h, run, best_at, best_len;

	for (pass = 0; pass < 2; pass++) {
		best_at = -1;
		best_len = 0;
		for (h = 0; h < SCALE; h += run ? run : 1) {
			run = 0;
			while (h + run < SCALE &&
			       may_take(l, c, h + run, t->slot, pass == 0))
				run++;
			if (run >= t->share && run > best_len) {
				best_at = h;
				best_len = run;
			}
		}
		if (best_at < 0)
			continue;
		if (best_at + best_len == SCALE && best_at > 0)
			best_at += best_len - t->share;
		else if (best_at > 0)
			best_at += (best_len - t->share) / 2;
		take(c, t, best_at, best_at + t->share);
		return true;
	}
	return false;
}

/* Judge the candidate's moves bucket by bucket (see traffic.h). */
static void judge(const struct layout *l, struct candidate *c)
{
	int h;

	c->against = c->moved = c->relocated = 0;
	for (h = 0; h < SCALE; h++) {
		uint8_t o = l->before[h], n = c->after[h];
		bool ok;

		if (o == n)
			continue;
		c->moved++;
		if (o == NO_OWNER)
			ok = l->new_len[n] > l->old_len[n];
		else if (n == NO_OWNER)
			ok = l->new_len[o] < l->old_len[o];
		else
			ok = false;
		if (ok)
			continue;
		c->against++;
		if (o != NO_OWNER)
			c->relocated |= 1u << o;
		if (n != NO_OWNER)
			c->relocated |= 1u << n;
	}
}

/* Targets to place afresh first: bigger shares are harder to fit. */
static void order_by_share(struct target **v, size_t n)
{
	size_t i, j;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && (v[j]->share > v[j - 1]->share ||
				      (v[j]->share == v[j - 1]->share &&
				       v[j]->slot < v[j - 1]->slot));
		     j--) {
			struct target *tmp = v[j];

			v[j] = v[j - 1];
			v[j - 1] = tmp;
		}
}

/*
 * Candidate: the targets in pinned (a bit per index into l->t) keep,
 * shrink or grow their previous range in place; the others are placed
 * afresh. packed: every range laid end to end from 0 instead, which
 * always fits.
 */
static void build(const struct layout *l, struct candidate *c, uint32_t pinned,
		  bool packed)
{
	struct target *fresh[SLOTLB_MAX_SPLITS];
	size_t i, n_fresh = 0;
	int at = 0;

	memset(c->after, NO_OWNER, sizeof(c->after));
	memcpy(c->t, l->t, sizeof(c->t));
	c->feasible = true;
	for (i = 0; i < l->n; i++) {
		struct target *t = &c->t[i];

		if (packed) {
			take(c, t, at, at + t->share);
			at += t->share;
		} else if ((pinned >> i & 1) && old_len(t) &&
			   t->share < old_len(t)) {
			keep_shrunk(l, c, t);
		} else if ((pinned >> i & 1) && old_len(t)) {
			take(c, t, t->old_from, t->old_to);
		} else {
			fresh[n_fresh++] = t;
		}
	}
	for (i = 0; !packed && i < l->n; i++) {
		struct target *t = &c->t[i];

		if ((pinned >> i & 1) && old_len(t) && t->share > old_len(t) &&
		    grow(l, c, t, t->share - old_len(t)))
			c->feasible = false;
	}
	order_by_share(fresh, n_fresh);
	for (i = 0; c->feasible && i < n_fresh; i++)
		c->feasible = place(l, c, fresh[i]);
	if (c->feasible)
		judge(l, c);
}

/* Check want[] and fill l's targets and per-slot lengths. */
static int prepare(struct layout *l, uint8_t from_slot,
		   const struct slotlb_share *want, size_t n_want)
{
	uint32_t total = 0, seen = 0;
	size_t i;

	if (n_want > SLOTLB_MAX_SPLITS)
		return -E2BIG;
	if (from_slot >= SLOTLB_MAX_SLOTS || (n_want && !want))
		return -EINVAL;
	for (i = 0; i < n_want; i++) {
		const struct slotlb_share *w = &want[i];

		if (w->to_slot >= SLOTLB_MAX_SLOTS || w->to_slot == from_slot ||
		    (seen >> w->to_slot & 1) || w->share > SCALE)
			return -EINVAL;
		seen |= 1u << w->to_slot;
		total += w->share;
		l->new_len[w->to_slot] = w->share;
		if (!w->share)
			continue;
		l->t[l->n].slot = w->to_slot;
		l->t[l->n].share = w->share;
		l->n++;
	}
	return total > SCALE ? -EINVAL : 0;
}

/* The previous owner of each bucket, from prev's usable entries: those
 * of from_slot with a sane range, one per target, overlapping none. */
static void remember(struct layout *l, uint8_t from_slot,
		     const struct slotlb_split *prev, size_t n_prev)
{
	size_t i, k;
	int h;

	memset(l->before, NO_OWNER, sizeof(l->before));
	for (i = 0; prev && i < n_prev; i++) {
		const struct slotlb_split *s = &prev[i];
		bool clash = false;

		if (s->from_slot != from_slot || s->from >= s->to ||
		    s->to > SCALE || s->to_slot >= SLOTLB_MAX_SLOTS ||
		    s->to_slot == from_slot || l->old_len[s->to_slot])
			continue;
		for (h = s->from; h < s->to && !clash; h++)
			clash = l->before[h] != NO_OWNER;
		if (clash)
			continue;
		memset(l->before + s->from, s->to_slot, s->to - s->from);
		l->old_len[s->to_slot] = s->to - s->from;
		for (k = 0; k < l->n; k++)
			if (l->t[k].slot == s->to_slot) {
				l->t[k].old_from = s->from;
				l->t[k].old_to = s->to;
			}
	}
}

/* Keep c if it is the first feasible candidate or moves fewer clients
 * against the rules than the best so far. */
static void consider(struct candidate *best, const struct candidate *c)
{
	if (c->feasible && (!best->feasible || c->against < best->against))
		*best = *c;
}

int slotlb_split_layout(uint8_t from_slot, const struct slotlb_split *prev,
			size_t n_prev, const struct slotlb_share *want,
			size_t n_want, struct slotlb_split *out, size_t *n_out,
			struct slotlb_layout_report *report)
{
	struct candidate best, c;
	struct layout l;
	uint32_t all;
	size_t i, j, n;
	int err;

	if (!out || !n_out)
		return -EINVAL;
	memset(&l, 0, sizeof(l));
	err = prepare(&l, from_slot, want, n_want);
	if (err)
		return err;
	remember(&l, from_slot, prev, n_prev);

	/* Everyone in place; then each target moved out of the others'
	 * way in turn; then all afresh; then end to end. */
	all = (1u << l.n) - 1;
	best.feasible = false;
	build(&l, &best, all, false);
	for (i = 0; (!best.feasible || best.against) && i < l.n; i++) {
		build(&l, &c, all & ~(1u << i), false);
		consider(&best, &c);
	}
	if (!best.feasible || best.against) {
		build(&l, &c, 0, false);
		consider(&best, &c);
	}
	if (!best.feasible) {
		build(&l, &c, 0, true);
		consider(&best, &c);
	}

	/* Ascending by range. */
	for (n = 0; n < l.n; n++) {
		struct target *t = &best.t[n];

		for (j = n; j > 0 && out[j - 1].from > t->from; j--)
			out[j] = out[j - 1];
		memset(&out[j], 0, sizeof(out[j]));
		out[j].from = (uint16_t)t->from;
		out[j].to = (uint16_t)t->to;
		out[j].from_slot = from_slot;
		out[j].to_slot = t->slot;
	}
	*n_out = n;
	if (report) {
		report->relocated = best.relocated;
		report->moved = best.moved;
		report->against = best.against;
	}
	return 0;
}

/* --- rules of an element ------------------------------------------ */

/* Do two of one from slot's ranges overlap? */
static bool overlaps(const struct slotlb_split *a, const struct slotlb_split *b)
{
	return a->from < b->to && b->from < a->to;
}

int slotlb_routing_set_splits(struct slotlb_routing *r, uint8_t from_slot,
			      const struct slotlb_split *splits, size_t n)
{
	struct slotlb_split next[SLOTLB_MAX_SPLITS];
	size_t i, j, count = 0;

	if (!r || (n && !splits) || from_slot >= SLOTLB_MAX_SLOTS)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		const struct slotlb_split *s = &splits[i];

		if (s->from_slot != from_slot || s->to_slot == from_slot ||
		    s->to_slot >= SLOTLB_MAX_SLOTS || s->from >= s->to ||
		    s->to > SCALE)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (overlaps(s, &splits[j]))
				return -EINVAL;
	}
	for (i = 0; i < r->split_count && i < SLOTLB_MAX_SPLITS; i++)
		if (r->split[i].from_slot != from_slot) {
			if (count == SLOTLB_MAX_SPLITS)
				return -ENOSPC;
			next[count++] = r->split[i];
		}
	if (count + n > SLOTLB_MAX_SPLITS)
		return -ENOSPC;
	for (i = 0; i < n; i++) {
		next[count] = splits[i];
		memset(next[count].pad, 0, sizeof(next[count].pad));
		count++;
	}
	memset(r->split, 0, sizeof(r->split));
	memcpy(r->split, next, count * sizeof(next[0]));
	r->split_count = (uint8_t)count;
	return 0;
}

/* A prefix the data path can match as meant: known family, length within
 * it, no host bits, IPv4 in the first word only. */
static bool prefix_valid(const struct slotlb_prefix *p)
{
	int w;

	if (p->family == AF_INET) {
		if (p->len > 32 || p->addr[1] || p->addr[2] || p->addr[3])
			return false;
	} else if (p->family != AF_INET6 || p->len > 128) {
		return false;
	}
	for (w = 0; w < 4; w++)
		if (p->addr[w] & ~word_mask(p->len, w))
			return false;
	return true;
}

static bool same_prefix(const struct slotlb_prefix *a,
			const struct slotlb_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr, b->addr, sizeof(a->addr));
}

int slotlb_routing_set_audience(struct slotlb_routing *r, uint8_t from_slot,
				uint8_t to_slot,
				const struct slotlb_prefix *prefixes, size_t n)
{
	struct slotlb_prefix next[SLOTLB_MAX_AUDIENCE];
	size_t i, j, count = 0;

	if (!r || (n && !prefixes) || from_slot >= SLOTLB_MAX_SLOTS ||
	    to_slot >= SLOTLB_MAX_SLOTS)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (!prefix_valid(&prefixes[i]))
			return -EINVAL;
	for (i = 0; i < r->audience_count && i < SLOTLB_MAX_AUDIENCE; i++) {
		const struct slotlb_prefix *p = &r->audience[i];

		if (p->from_slot == from_slot && p->to_slot == to_slot)
			continue;
		next[count++] = *p;
	}
	for (i = 0; i < n; i++) {
		const struct slotlb_prefix *p = &prefixes[i];
		bool dup = false;

		/* Kept entries of the slot, then the ones added so far. */
		for (j = 0; j < count && !dup; j++) {
			if (next[j].from_slot != from_slot ||
			    !same_prefix(&next[j], p))
				continue;
			if (next[j].to_slot != to_slot)
				return -EEXIST; /* would send it two ways */
			dup = true;
		}
		if (dup)
			continue;
		if (count == SLOTLB_MAX_AUDIENCE)
			return -ENOSPC;
		next[count] = *p;
		next[count].from_slot = from_slot;
		next[count].to_slot = to_slot;
		count++;
	}
	memset(r->audience, 0, sizeof(r->audience));
	memcpy(r->audience, next, count * sizeof(next[0]));
	r->audience_count = (uint8_t)count;
	return 0;
}

void slotlb_routing_clear_rules(struct slotlb_routing *r)
{
	memset(r->split, 0, sizeof(r->split));
	memset(r->audience, 0, sizeof(r->audience));
	r->split_count = 0;
	r->audience_count = 0;
}
