/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Unit tests of traffic routing's pure logic: the client hash spreads,
 * the C slot choice follows the documented precedence (audience, split,
 * own, fallback), the layout keeps its promises about which clients move
 * (judged bucket by bucket here, independently of the library's own
 * judge) over hand-made ramps and 20,000 random changes, and the rules
 * of an element are checked all or nothing.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>
#include "traffic.h"

#define SCALE SLOTLB_SHARE_SCALE
#define NONE 0xff
/* A split [f, t) of from slot fs to ts, as an initializer and as a
 * compound literal. */
#define SPLIT_INIT(f, t, fs, ts)                                           \
	{                                                                  \
		.from = (f), .to = (t), .from_slot = (fs), .to_slot = (ts) \
	}
#define SPLIT(f, t, fs, ts) ((struct slotlb_split)SPLIT_INIT(f, t, fs, ts))

static void addr4(const char *text, __be32 a[4])
{
	memset(a, 0, 16);
	assert_int_equal(inet_pton(AF_INET, text, a), 1);
}

static void addr6(const char *text, __be32 a[4])
{
	assert_int_equal(inet_pton(AF_INET6, text, a), 1);
}

/* 100,000 consecutive IPv4 addresses and as many IPv6 ones fill 100
 * bins of the bucket space evenly: each within 15% of its 1,000 (the
 * binomial sd is ~31, so 150 is ~5 sd). A hash of the low bits only, or
 * a bucket taken from the hash's low bits (mod), fails this. */
static void test_client_hash_spreads(void **state)
{
	unsigned int bins[2][100] = {{0}};
	__be32 a[4];
	uint32_t i, b;
	int f;

	(void)state;
	for (i = 0; i < 100000; i++) {
		memset(a, 0, sizeof(a));
		a[0] = htonl(0x0a000000 + i);
		b = slotlb_client_bucket(a, AF_INET);
		assert_true(b < SCALE);
		bins[0][b / 100]++;
		addr6("2001:db8::", a);
		a[3] = htonl(i);
		b = slotlb_client_bucket(a, AF_INET6);
		assert_true(b < SCALE);
		bins[1][b / 100]++;
	}
	for (f = 0; f < 2; f++)
		for (b = 0; b < 100; b++)
			if (bins[f][b] < 850 || bins[f][b] > 1150)
				fail_msg("%s: bin %u holds %u of 100000",
					 f ? "IPv6" : "IPv4", b, bins[f][b]);
}

/* The hash is a contract between the data path and the controller, and
 * a change moves clients: pin a few values. IPv4 ignores words 1-3. */
static void test_client_hash_pinned(void **state)
{
	__be32 a[4], b[4];

	(void)state;
	addr4("198.51.100.7", a);
	memcpy(b, a, sizeof(b));
	b[2] = htonl(12345);
	assert_int_equal(slotlb_client_hash(a, AF_INET),
			 slotlb_client_hash(b, AF_INET));
	assert_int_not_equal(slotlb_client_hash(a, AF_INET6),
			     slotlb_client_hash(b, AF_INET6));
	assert_int_equal(slotlb_client_hash(a, AF_INET), 0x3b1195d0);
	assert_int_equal(slotlb_client_bucket(a, AF_INET), 2307);
	addr6("2001:db8::7", a);
	assert_int_equal(slotlb_client_hash(a, AF_INET6), 0xa6bb62b9);
	assert_int_equal(slotlb_client_bucket(a, AF_INET6), 6512);
}

enum { PROD = 0, STAGING = 1, QA = 2, EMPTY = 3 };

static void prefix(struct slotlb_prefix *p, int family, const char *text,
		   uint8_t len, uint8_t from, uint8_t to)
{
	memset(p, 0, sizeof(*p));
	if (family == AF_INET)
		addr4(text, p->addr);
	else
		addr6(text, p->addr);
	p->family = (uint8_t)family;
	p->len = len;
	p->from_slot = from;
	p->to_slot = to;
}

struct route_case {
	const char *desc;
	int family;
	const char *client;
	uint32_t slot; /* endpoint's slot */
	uint32_t want_slot;
	enum slotlb_route_why want_why;
	int want_rule;
};

/*
 * The element of the route cases. Splits of production: the bucket of
 * CLIENT_IN_SPLIT (computed at run time) to staging, the rest of the
 * space above it to qa; of qa: everything to staging.
 */
#define CLIENT_IN_SPLIT "203.0.113.9"
static void route_element(struct slotlb_routing *r)
{
	__be32 a[4];
	uint16_t b;

	memset(r, 0, sizeof(*r));
	r->deployment[PROD] = 10;
	r->deployment[STAGING] = 11;
	r->deployment[QA] = 12;
	addr4(CLIENT_IN_SPLIT, a);
	b = (uint16_t)slotlb_client_bucket(a, AF_INET);
	r->split[0] = SPLIT(b, (uint16_t)(b + 1), PROD, STAGING);
	r->split[1] = SPLIT((uint16_t)(b + 1), SCALE, PROD, QA);
	r->split[2] = SPLIT(0, SCALE, QA, STAGING);
	r->split[3] = SPLIT(0, SCALE, STAGING, EMPTY);
	r->split_count = 4;
	prefix(&r->audience[0], AF_INET, "10.0.0.0", 8, PROD, QA);
	prefix(&r->audience[1], AF_INET, "10.1.0.0", 16, PROD, STAGING);
	prefix(&r->audience[2], AF_INET, "10.1.0.0", 16, PROD, QA);
	prefix(&r->audience[3], AF_INET, "203.0.113.0", 24, PROD, PROD);
	prefix(&r->audience[4], AF_INET6, "2001:db8::", 32, PROD, STAGING);
	prefix(&r->audience[5], AF_INET6, "2001:db8:0:1::", 64, PROD, QA);
	prefix(&r->audience[6], AF_INET, "192.0.2.0", 24, PROD, EMPTY);
	prefix(&r->audience[7], AF_INET, "0.0.0.0", 0, QA, PROD);
	r->audience_count = 8;
}

static const struct route_case route_cases[] = {
	{"audience /8", AF_INET, "10.2.3.4", PROD, QA, SLOTLB_ROUTE_AUDIENCE,
	 0},
	{"longest prefix wins (/16 over /8)", AF_INET, "10.1.200.1", PROD,
	 STAGING, SLOTLB_ROUTE_AUDIENCE, 1},
	{"equal prefixes: the first wins", AF_INET, "10.1.0.1", PROD, STAGING,
	 SLOTLB_ROUTE_AUDIENCE, 1},
	{"audience to its own slot opts out of the split", AF_INET,
	 CLIENT_IN_SPLIT, PROD, PROD, SLOTLB_ROUTE_AUDIENCE, 3},
	{"IPv6 /32", AF_INET6, "2001:db8:5::1", PROD, STAGING,
	 SLOTLB_ROUTE_AUDIENCE, 4},
	{"IPv6 /64 beats /32", AF_INET6, "2001:db8:0:1::99", PROD, QA,
	 SLOTLB_ROUTE_AUDIENCE, 5},
	{"audience toward an empty slot falls back", AF_INET, "192.0.2.77",
	 PROD, PROD, SLOTLB_ROUTE_FALLBACK, 6},
	{"/0 of another slot's endpoints", AF_INET, "10.2.3.4", QA, PROD,
	 SLOTLB_ROUTE_AUDIENCE, 7},
	{"IPv6 /0? no: /0 is IPv4 only, qa's split applies", AF_INET6,
	 "2001:db9::1", QA, STAGING, SLOTLB_ROUTE_SPLIT, 2},
	{"split toward an empty slot falls back", AF_INET, "172.16.0.1",
	 STAGING, STAGING, SLOTLB_ROUTE_FALLBACK, 3},
	{"slot without rules", AF_INET, "10.2.3.4", 5, 5, SLOTLB_ROUTE_OWN, -1},
};

static void test_route_client(void **state)
{
	struct slotlb_routing r;
	struct slotlb_route out;
	size_t i;

	(void)state;
	route_element(&r);
	for (i = 0; i < sizeof(route_cases) / sizeof(route_cases[0]); i++) {
		const struct route_case *c = &route_cases[i];
		__be32 a[4];

		if (c->family == AF_INET)
			addr4(c->client, a);
		else
			addr6(c->client, a);
		assert_int_equal(slotlb_route_client(&r, c->slot, a,
						     (uint8_t)c->family, &out),
				 0);
		if (out.slot != c->want_slot || out.why != c->want_why ||
		    out.rule != c->want_rule)
			fail_msg(
				"%s: slot %u why %d rule %d, want slot %u why %d rule %d",
				c->desc, out.slot, out.why, out.rule,
				c->want_slot, c->want_why, c->want_rule);
		assert_int_equal(out.deployment, r.deployment[c->want_slot]);
		assert_int_equal(out.bucket,
				 slotlb_client_bucket(a, (uint8_t)c->family));
	}
}

/* The split's ranges are half open: the bucket itself goes to staging,
 * the one above to qa; outside both, production. */
static void test_route_split_edges(void **state)
{
	struct slotlb_routing r;
	struct slotlb_route out;
	__be32 a[4];
	uint32_t i, hits[3] = {0};

	(void)state;
	route_element(&r);
	r.audience_count = 0;
	addr4(CLIENT_IN_SPLIT, a);
	assert_int_equal(slotlb_route_client(&r, PROD, a, AF_INET, &out), 0);
	assert_int_equal(out.slot, STAGING);
	assert_int_equal(out.why, SLOTLB_ROUTE_SPLIT);
	for (i = 0; i < 20000; i++) {
		a[0] = htonl(0xc0a80000 + i);
		assert_int_equal(
			slotlb_route_client(&r, PROD, a, AF_INET, &out), 0);
		assert_int_equal(out.slot,
				 out.bucket == r.split[0].from	? STAGING
				 : out.bucket > r.split[0].from ? QA
								: PROD);
		hits[out.slot]++;
	}
	assert_true(hits[PROD] > 0 && hits[QA] > 0);
	assert_int_equal(
		slotlb_route_client(&r, SLOTLB_MAX_SLOTS, a, AF_INET, &out),
		-EINVAL);
	assert_int_equal(slotlb_route_client(&r, PROD, a, 0, &out), -EINVAL);
}

/* --- layout --------------------------------------------------------- */

/* Owner of every bucket under a layout of from_slot. */
static void owners(const struct slotlb_split *s, size_t n, uint8_t *own)
{
	size_t i;
	int h;

	memset(own, NONE, SCALE);
	for (i = 0; i < n; i++)
		for (h = s[i].from; h < s[i].to; h++) {
			if (own[h] != NONE)
				fail_msg("bucket %d in two ranges", h);
			own[h] = s[i].to_slot;
		}
}

static uint16_t length_of(const struct slotlb_split *s, size_t n, uint8_t slot)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i].to_slot == slot)
			return s[i].to - s[i].from;
	return 0;
}

/*
 * Lay out want[] after prev[] and check the result independently: one
 * range per target of the wanted length, ascending, no overlap, and the
 * clients that moved against the rules (counted here) match the report.
 * Returns those clients.
 */
static uint32_t layout_checked(const struct slotlb_split *prev, size_t n_prev,
			       const struct slotlb_share *want, size_t n_want,
			       struct slotlb_split *out, size_t *n_out,
			       struct slotlb_layout_report *rep)
{
	static uint8_t before[SCALE], after[SCALE];
	uint32_t against = 0, moved = 0, relocated = 0;
	size_t i, with_share = 0;
	int h;

	assert_int_equal(slotlb_split_layout(PROD, prev, n_prev, want, n_want,
					     out, n_out, rep),
			 0);
	for (i = 0; i < n_want; i++) {
		with_share += want[i].share > 0;
		assert_int_equal(length_of(out, *n_out, want[i].to_slot),
				 want[i].share);
	}
	assert_int_equal(*n_out, with_share);
	for (i = 0; i < *n_out; i++) {
		assert_int_equal(out[i].from_slot, PROD);
		assert_true(out[i].from < out[i].to && out[i].to <= SCALE);
		if (i)
			assert_true(out[i - 1].to <= out[i].from);
	}
	owners(prev, n_prev, before);
	owners(out, *n_out, after);
	for (h = 0; h < SCALE; h++) {
		uint8_t o = before[h], n = after[h];
		bool ok;

		if (o == n)
			continue;
		moved++;
		if (o == NONE)
			ok = length_of(out, *n_out, n) >
			     length_of(prev, n_prev, n);
		else if (n == NONE)
			ok = length_of(out, *n_out, o) <
			     length_of(prev, n_prev, o);
		else
			ok = false;
		if (ok)
			continue;
		against++;
		relocated |=
			(o == NONE ? 0 : 1u << o) | (n == NONE ? 0 : 1u << n);
	}
	assert_int_equal(rep->moved, moved);
	assert_int_equal(rep->against, against);
	assert_int_equal(rep->relocated, relocated);
	return against;
}

struct step {
	uint16_t share[4]; /* per target slot 1..4 (0 = none) */
	uint32_t against; /* clients expected to move against the rules */
	uint32_t relocated;
};

struct ramp_case {
	const char *desc;
	struct step steps[10];
	size_t n;
};

#define BIT(s) (1u << (s))

static const struct ramp_case ramp_cases[] = {
	{"one slot ramps 5 -> 25 -> 50 -> 100 -> 0 -> 10",
	 {{.share = {500}},
	  {.share = {2500}},
	  {.share = {5000}},
	  {.share = {10000}},
	  {.share = {0}},
	  {.share = {1000}}},
	 6},
	{"10/5, staging ramps up to 95 and back, qa untouched",
	 {{.share = {1000, 500}},
	  {.share = {2000, 500}},
	  {.share = {5000, 500}},
	  {.share = {9500, 500}},
	  {.share = {2000, 500}},
	  {.share = {10, 500}},
	  {.share = {1000, 500}}},
	 7},
	{"qa ramps 5 -> 47.5 -> 0.01 while staging shrinks",
	 {{.share = {1000, 500}},
	  {.share = {1000, 4750}},
	  {.share = {500, 4750}},
	  {.share = {500, 1}}},
	 4},
	{"two slots take turns at the whole space",
	 {{.share = {10000}},
	  {.share = {2000}},
	  {.share = {2000, 8000}},
	  {.share = {0, 8000}},
	  {.share = {0, 1000}},
	  {.share = {9000, 1000}},
	  {.share = {9000, 0}},
	  {.share = {500, 0}},
	  {.share = {500, 9500}}},
	 9},
	{"four slots appear, grow, go",
	 {{.share = {100}},
	  {.share = {100, 100}},
	  {.share = {100, 100, 100}},
	  {.share = {100, 100, 100, 100}},
	  {.share = {2000, 100, 1500, 100}},
	  {.share = {2000, 0, 1500, 0}},
	  {.share = {2500, 0, 2500, 2500}}},
	 7},
	{"staging to 60 with a third slot in its way: that one moves",
	 {{.share = {1000, 500, 500}},
	  {.share = {6000, 500, 500},
	   .against = 1000,
	   .relocated = BIT(1) | BIT(3)}},
	 2},
	{"the whole space 50/50, then 40/60: 1000 clients go staging -> qa",
	 {{.share = {5000, 5000}},
	  {.share = {4000, 6000},
	   .against = 1000,
	   .relocated = BIT(1) | BIT(2)}},
	 2},
};

/* Hand-made ramps: every step moves exactly the clients expected. */
static void test_layout_ramps(void **state)
{
	struct slotlb_split prev[SLOTLB_MAX_SPLITS], out[SLOTLB_MAX_SPLITS];
	struct slotlb_layout_report rep;
	size_t c, s, n_prev, n_out, k;

	(void)state;
	for (c = 0; c < sizeof(ramp_cases) / sizeof(ramp_cases[0]); c++) {
		const struct ramp_case *rc = &ramp_cases[c];

		n_prev = 0;
		for (s = 0; s < rc->n; s++) {
			struct slotlb_share want[4];
			uint32_t against;

			for (k = 0; k < 4; k++)
				want[k] = (struct slotlb_share){
					(uint8_t)(k + 1),
					rc->steps[s].share[k]};
			against = layout_checked(prev, n_prev, want, 4, out,
						 &n_out, &rep);
			if (against != rc->steps[s].against ||
			    rep.relocated != rc->steps[s].relocated)
				fail_msg(
					"%s: step %zu: %u clients against the rules (relocated %#x), want %u (%#x)",
					rc->desc, s, against, rep.relocated,
					rc->steps[s].against,
					rc->steps[s].relocated);
			memcpy(prev, out, sizeof(out));
			n_prev = n_out;
		}
	}
}

/* The first layout of 10/5: staging from 0 up, qa from the top down, so
 * each has room to grow; prev entries of other slots and broken ones are
 * ignored. */
static void test_layout_fresh(void **state)
{
	const struct slotlb_share want[] = {{STAGING, 1000}, {QA, 500}};
	const struct slotlb_split noise[] = {
		SPLIT_INIT(0, 5000, QA, STAGING), /* another from slot */
		SPLIT_INIT(7000, 6000, PROD, STAGING), /* backwards */
		SPLIT_INIT(9000, 10001, PROD, QA), /* past the scale */
	};
	struct slotlb_split out[2];
	struct slotlb_layout_report rep;
	size_t n;

	(void)state;
	assert_int_equal(
		slotlb_split_layout(PROD, noise, 3, want, 2, out, &n, &rep), 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].from, 0);
	assert_int_equal(out[0].to, 1000);
	assert_int_equal(out[0].to_slot, STAGING);
	assert_int_equal(out[1].from, 9500);
	assert_int_equal(out[1].to, 10000);
	assert_int_equal(out[1].to_slot, QA);
	assert_int_equal(rep.moved, 1500);
	assert_int_equal(rep.against, 0);
}

struct bad_layout {
	const char *desc;
	struct slotlb_share want[SLOTLB_MAX_SPLITS + 1];
	size_t n;
	int err;
};

static const struct bad_layout bad_layouts[] = {
	{"total over 100%", {{1, 6000}, {2, 4001}}, 2, -EINVAL},
	{"one share over 100%", {{1, 10001}}, 1, -EINVAL},
	{"a slot given twice", {{1, 100}, {1, 200}}, 2, -EINVAL},
	{"the slot itself as target", {{PROD, 100}}, 1, -EINVAL},
	{"slot out of range", {{SLOTLB_MAX_SLOTS, 100}}, 1, -EINVAL},
	{"nine targets",
	 {{1, 1},
	  {2, 1},
	  {3, 1},
	  {4, 1},
	  {5, 1},
	  {6, 1},
	  {7, 1},
	  {8, 1},
	  {9, 1}},
	 9,
	 -E2BIG},
};

static void test_layout_bad_input(void **state)
{
	struct slotlb_split out[SLOTLB_MAX_SPLITS + 1], before[9];
	size_t i, n = 77;

	(void)state;
	memset(out, 0x5a, sizeof(out));
	memcpy(before, out, sizeof(before));
	for (i = 0; i < sizeof(bad_layouts) / sizeof(bad_layouts[0]); i++) {
		const struct bad_layout *b = &bad_layouts[i];
		int err = slotlb_split_layout(PROD, NULL, 0, b->want, b->n, out,
					      &n, NULL);

		if (err != b->err)
			fail_msg("%s: %d, want %d", b->desc, err, b->err);
		assert_int_equal(n, 77);
		assert_memory_equal(out, before, sizeof(before));
	}
}

/* Is the free run of buckets around t's range (no other range in it)
 * long enough for its new share? Then growing must not need a move. */
static bool room_to_grow(const struct slotlb_split *prev, size_t n,
			 uint8_t slot, uint16_t share)
{
	uint8_t own[SCALE];
	int from = -1, to, h;
	size_t i;

	owners(prev, n, own);
	for (i = 0; i < n; i++)
		if (prev[i].to_slot == slot)
			from = prev[i].from;
	if (from < 0)
		return false;
	for (h = from; h > 0 && (own[h - 1] == NONE || own[h - 1] == slot);)
		h--;
	for (to = from; to < SCALE && (own[to] == NONE || own[to] == slot);)
		to++;
	return to - h >= share;
}

/*
 * 20,000 random changes of a distribution of up to 8 target slots, each
 * step from the layout of the previous one: every result passes the
 * independent check, and a step that changes one share moves no client
 * against the rules when it lowers it, or raises it within the free run
 * around its range.
 */
static void test_layout_random(void **state)
{
	struct slotlb_split prev[SLOTLB_MAX_SPLITS], out[SLOTLB_MAX_SPLITS];
	uint16_t share[SLOTLB_MAX_SPLITS + 1] = {0};
	struct slotlb_layout_report rep;
	unsigned int against_steps = 0, single = 0;
	size_t n_prev = 0, n_out;
	int step;

	(void)state;
	srand(5107);
	for (step = 0; step < 20000; step++) {
		struct slotlb_share want[SLOTLB_MAX_SPLITS];
		uint16_t next[SLOTLB_MAX_SPLITS + 1];
		uint32_t total = 0, against;
		int k, changes = 1 + (rand() % 4 == 0) * (rand() % 3);
		uint8_t last = 0;
		size_t n = 0;

		memcpy(next, share, sizeof(next));
		while (changes--) {
			last = (uint8_t)(1 + rand() % SLOTLB_MAX_SPLITS);
			next[last] = rand() % 3 ? (uint16_t)(rand() % 2500)
						: (uint16_t)(rand() % 200);
		}
		for (k = 1; k <= SLOTLB_MAX_SPLITS; k++)
			total += next[k];
		if (total > SCALE)
			continue;
		for (k = 1; k <= SLOTLB_MAX_SPLITS; k++)
			if (next[k] || share[k])
				want[n++] = (struct slotlb_share){(uint8_t)k,
								  next[k]};
		against = layout_checked(prev, n_prev, want, n, out, &n_out,
					 &rep);
		against_steps += against > 0;
		for (k = 1; k <= SLOTLB_MAX_SPLITS; k++)
			if (k != last && next[k] != share[k])
				break;
		if (k > SLOTLB_MAX_SPLITS && next[last] != share[last]) {
			single++;
			if (against &&
			    (next[last] < share[last] ||
			     room_to_grow(prev, n_prev, last, next[last])))
				fail_msg(
					"step %d: slot %u %u -> %u moved %u clients against the rules",
					step, last, share[last], next[last],
					against);
		}
		memcpy(share, next, sizeof(share));
		memcpy(prev, out, sizeof(out));
		n_prev = n_out;
	}
	printf("layout: %u single-share changes; %u of 20000 steps moved clients against the rules\n",
	       single, against_steps);
	assert_true(single > 10000);
}

/* Two target slots, 20,000 random single changes (any share, total up to
 * 100%): never a client moved against the rules (docs/datapath.md says
 * so: the first range grows up from 0, the second down from the top). */
static void test_layout_two_targets_never_move(void **state)
{
	struct slotlb_split prev[2], out[2];
	struct slotlb_layout_report rep;
	uint16_t share[3] = {0};
	size_t n_prev = 0, n_out;
	int step;

	(void)state;
	srand(7);
	for (step = 0; step < 20000; step++) {
		struct slotlb_share want[2];
		int k = 1 + rand() % 2;
		uint16_t v = rand() % 5 ? (uint16_t)(rand() % (SCALE + 1)) : 0;

		if (v + share[3 - k] > SCALE)
			v = (uint16_t)(SCALE - share[3 - k]);
		share[k] = v;
		want[0] = (struct slotlb_share){STAGING, share[1]};
		want[1] = (struct slotlb_share){QA, share[2]};
		if (layout_checked(prev, n_prev, want, 2, out, &n_out, &rep))
			fail_msg(
				"step %d: staging %u qa %u: %u clients moved against the rules",
				step, share[1], share[2], rep.against);
		memcpy(prev, out, sizeof(out));
		n_prev = n_out;
	}
}

/* --- rules of an element ------------------------------------------- */

static void test_set_splits(void **state)
{
	const struct slotlb_split mine[] = {SPLIT_INIT(0, 1000, PROD, STAGING),
					    SPLIT_INIT(5000, 5500, PROD, QA)};
	const struct slotlb_split bad[][2] = {
		{SPLIT_INIT(0, 1000, QA, STAGING)}, /* another from slot */
		{SPLIT_INIT(0, 1000, PROD, PROD)}, /* to itself */
		{SPLIT_INIT(1000, 1000, PROD, QA)}, /* empty */
		{SPLIT_INIT(0, 10001, PROD, QA)}, /* past the scale */
		{SPLIT_INIT(0, 10, PROD,
			    SLOTLB_MAX_SLOTS)}, /* slot out of range */
		{SPLIT_INIT(0, 1000, PROD, QA),
		 SPLIT_INIT(999, 2000, PROD, STAGING)}, /* overlap */
	};
	struct slotlb_split eight[SLOTLB_MAX_SPLITS];
	struct slotlb_routing r = {.deployment = {1, 2, 3}, .generation = 9};
	struct slotlb_routing before;
	size_t i;

	(void)state;
	assert_int_equal(slotlb_routing_set_splits(&r, QA, &mine[0], 0), 0);
	r.split[0] = SPLIT(0, 7, QA, STAGING);
	r.split_count = 1;
	assert_int_equal(slotlb_routing_set_splits(&r, PROD, mine, 2), 0);
	assert_int_equal(r.split_count, 3);
	assert_int_equal(r.split[0].from_slot, QA); /* kept */
	assert_memory_equal(&r.split[1], mine, sizeof(mine));
	assert_int_equal(r.generation, 9);
	assert_int_equal(r.deployment[1], 2);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(&before, &r, sizeof(r));
		assert_int_equal(
			slotlb_routing_set_splits(&r, PROD, bad[i],
						  bad[i][1].to ? 2 : 1),
			-EINVAL);
		assert_memory_equal(&r, &before, sizeof(r));
	}
	for (i = 0; i < SLOTLB_MAX_SPLITS; i++)
		eight[i] = SPLIT((uint16_t)i, (uint16_t)(i + 1), PROD,
				 (uint8_t)(1 + i % 3));
	memcpy(&before, &r, sizeof(r));
	assert_int_equal(slotlb_routing_set_splits(&r, PROD, eight, 8),
			 -ENOSPC);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(slotlb_routing_set_splits(&r, PROD, eight, 7), 0);
	assert_int_equal(r.split_count, 8);
	/* Clearing one slot's splits keeps the others'. */
	assert_int_equal(slotlb_routing_set_splits(&r, PROD, NULL, 0), 0);
	assert_int_equal(r.split_count, 1);
	assert_int_equal(r.split[0].from_slot, QA);
}

static void test_set_audience(void **state)
{
	struct slotlb_prefix p[SLOTLB_MAX_AUDIENCE + 1], bad;
	struct slotlb_routing r = {.deployment = {1, 2, 3}};
	struct slotlb_routing before;
	size_t i;

	(void)state;
	prefix(&p[0], AF_INET, "10.0.0.0", 8, 9, 9); /* slots set by call */
	prefix(&p[1], AF_INET6, "2001:db8::", 32, 9, 9);
	p[2] = p[0];
	assert_int_equal(slotlb_routing_set_audience(&r, PROD, STAGING, p, 3),
			 0);
	assert_int_equal(r.audience_count, 2); /* the duplicate once */
	assert_int_equal(r.audience[0].from_slot, PROD);
	assert_int_equal(r.audience[0].to_slot, STAGING);
	assert_int_equal(slotlb_routing_set_audience(&r, QA, STAGING, p, 1), 0);
	assert_int_equal(r.audience_count, 3);

	/* Each refused, element unchanged. */
	for (i = 0; i < 7; i++) {
		int err, want = -EINVAL;

		switch (i) {
		case 0: /* host bits */
			prefix(&bad, AF_INET, "10.0.0.1", 8, 0, 0);
			break;
		case 1: /* length over 32 */
			prefix(&bad, AF_INET, "10.0.0.0", 33, 0, 0);
			break;
		case 2: /* length over 128 */
			prefix(&bad, AF_INET6, "2001:db8::", 129, 0, 0);
			break;
		case 3: /* IPv6 host bits in the last word */
			prefix(&bad, AF_INET6, "2001:db8::1", 127, 0, 0);
			break;
		case 4: /* no family */
			prefix(&bad, AF_INET, "10.0.0.0", 8, 0, 0);
			bad.family = 0;
			break;
		case 5: /* IPv4 with junk in word 1 */
			prefix(&bad, AF_INET, "10.0.0.0", 8, 0, 0);
			bad.addr[1] = 1;
			break;
		case 6: /* already sends production's clients to staging */
			bad = p[0];
			want = -EEXIST;
			break;
		}
		memcpy(&before, &r, sizeof(r));
		err = slotlb_routing_set_audience(&r, PROD, QA, &bad, 1);
		if (err != want)
			fail_msg("bad prefix %zu: %d, want %d", i, err, want);
		assert_memory_equal(&r, &before, sizeof(r));
	}
	for (i = 0; i <= SLOTLB_MAX_AUDIENCE; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].family = AF_INET;
		p[i].len = 32;
		p[i].addr[0] = htonl(0xc6336400 + (uint32_t)i);
	}
	memcpy(&before, &r, sizeof(r));
	assert_int_equal(slotlb_routing_set_audience(&r, PROD, QA, p, 14),
			 -ENOSPC);
	assert_memory_equal(&r, &before, sizeof(r));
	assert_int_equal(slotlb_routing_set_audience(&r, PROD, QA, p, 13), 0);
	assert_int_equal(r.audience_count, SLOTLB_MAX_AUDIENCE);
	/* Replacing a pair's prefixes leaves room again. */
	assert_int_equal(slotlb_routing_set_audience(&r, PROD, QA, p, 1), 0);
	assert_int_equal(r.audience_count, 4);
	slotlb_routing_clear_rules(&r);
	assert_int_equal(r.audience_count, 0);
	assert_int_equal(r.split_count, 0);
	assert_int_equal(r.deployment[2], 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_hash_spreads),
		cmocka_unit_test(test_client_hash_pinned),
		cmocka_unit_test(test_route_client),
		cmocka_unit_test(test_route_split_edges),
		cmocka_unit_test(test_layout_fresh),
		cmocka_unit_test(test_layout_ramps),
		cmocka_unit_test(test_layout_bad_input),
		cmocka_unit_test(test_layout_random),
		cmocka_unit_test(test_layout_two_targets_never_move),
		cmocka_unit_test(test_set_splits),
		cmocka_unit_test(test_set_audience),
	};

	return cmocka_run_group_tests_name("traffic", tests, NULL, NULL);
}
