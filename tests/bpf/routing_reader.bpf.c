// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Test-only reader of one app's routing element, run through
 * BPF_PROG_TEST_RUN by test_swap_atomicity while another thread replaces
 * the element. It reaches the element as the data path does (one load of
 * the app's index, then the pool entry through a pointer, inside one XDP
 * run) and checks that
 *  - the element is one the test wrote whole: every slot's deployment
 *    and previous deployment agree with the generation (the test writes
 *    element n with deployment[s] = dep_a when n + s is odd, else dep_b,
 *    and previous[s] = the other one);
 *  - the elements the run holds (the last HOLDS distinct ones it took,
 *    each re-read at every step) do not change, as no entry may be
 *    rewritten before every run that could hold it has ended.
 * Fields are read from the top of the element down, against the
 * direction of a memcpy, so a write in progress shows as a mixed
 * element rather than slipping past. Counts and the first bad element
 * land in .bss for the test to read.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <slotlb/abi.h>
#include "routing_reader.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The lab's pinned maps are put in place of these before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, SLOTLB_MAX_APPS);
} app_routing SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct slotlb_routing);
	__uint(max_entries, SLOTLB_ROUTING_POOL);
} routing_pool SEC(".maps");

/* Set before load. */
const volatile __u32 app_id;
const volatile __u32 dep_a, dep_b;
const volatile __u32 steps_per_run = 2048;

/* A run holds the last HOLDS distinct elements it took. */
#define HOLDS 16

/* Results, summed over runs. */
__u64 reads; /* elements taken and found whole */
__u64 rereads; /* reads of a held element */
__u64 torn; /* elements that were not written whole when taken */
__u64 changed; /* held elements that changed */
__u64 missing; /* no element referenced */
__u64 generation_changes; /* elements taken of another generation */
__u64 replaced_in_run; /* elements taken after another in the same run:
			* the writer was at work while a run held one */
__u32 last_generation;

/* The first bad element of each kind: where, and what was read. */
struct reader_bad first_torn, first_changed;

/* Elements the run holds: pool index (0: none) and generation. */
struct holds {
	__u32 index[HOLDS];
	__u32 generation[HOLDS];
	__u32 next; /* slot the next element taken goes to */
	__u32 newest; /* index of the element taken last */
};

#define READ(x) (*(volatile __u32 *)&(x))
#define WRITE(x, v) (*(volatile __u32 *)&(x) = (v))

static __always_inline void note(struct reader_bad *b, __u32 index, __u32 gen,
				 __u32 slot, __u32 dep, __u32 prev, __u32 held)
{
	if (__sync_val_compare_and_swap(&b->seen, 0, 1))
		return;
	b->index = index;
	b->generation = gen;
	b->slot = slot;
	b->deployment = dep;
	b->previous = prev;
	b->held_generation = held;
}

/* Read r from the top down. SLOTLB_MAX_SLOTS if it is element *gen
 * written whole, else the slot where it is not (and what it holds). */
static __always_inline __u32 check(const struct slotlb_routing *r, __u32 *gen,
				   __u32 *dep, __u32 *prev)
{
	__u32 k, s, want;

	*gen = READ(r->generation);
	for (k = 0; k < SLOTLB_MAX_SLOTS; k++) {
		s = SLOTLB_MAX_SLOTS - 1 - k;
		want = (*gen + s) & 1 ? dep_a : dep_b;
		*prev = READ(r->previous[s]);
		*dep = READ(r->deployment[s]);
		if (*dep != want || *prev != (want == dep_a ? dep_b : dep_a))
			return s;
	}
	return SLOTLB_MAX_SLOTS;
}

/* Every held element must still read as it did when it was taken. */
static long recheck(__u32 j, void *data)
{
	struct holds *h = data;
	__u32 index, gen, dep = 0, prev = 0, slot;
	struct slotlb_routing *r;

	if (j >= HOLDS || !h->index[j])
		return 0;
	index = h->index[j];
	r = bpf_map_lookup_elem(&routing_pool, &index);
	if (!r)
		return 1;
	slot = check(r, &gen, &dep, &prev);
	__sync_fetch_and_add(&rereads, 1);
	if (gen != h->generation[j] || slot < SLOTLB_MAX_SLOTS) {
		__sync_fetch_and_add(&changed, 1);
		note(&first_changed, index, gen, slot, dep, prev,
		     h->generation[j]);
		h->index[j] = 0;
	}
	return 0;
}

/* Take the app's current element, as the data path does, then recheck
 * what is held. */
static long step(__u32 i, void *data)
{
	struct holds *h = data;
	__u32 key = app_id, index, gen, dep = 0, prev = 0, slot, j;
	struct slotlb_routing *r;
	__u64 *ref;

	(void)i;
	ref = bpf_map_lookup_elem(&app_routing, &key);
	if (!ref)
		return 1;
	/* One load: the controller replaces the index with one store. */
	index = *(volatile __u64 *)ref;
	r = index ? bpf_map_lookup_elem(&routing_pool, &index) : NULL;
	if (!r) {
		__sync_fetch_and_add(&missing, 1);
	} else if ((slot = check(r, &gen, &dep, &prev)) < SLOTLB_MAX_SLOTS) {
		__sync_fetch_and_add(&torn, 1);
		note(&first_torn, index, gen, slot, dep, prev, gen);
	} else if (index != h->newest) {
		__sync_fetch_and_add(&reads, 1);
		if (h->newest)
			__sync_fetch_and_add(&replaced_in_run, 1);
		if (gen != last_generation) {
			last_generation = gen;
			__sync_fetch_and_add(&generation_changes, 1);
		}
		j = h->next % HOLDS;
		h->index[j] = index;
		h->generation[j] = gen;
		h->next = j + 1;
		h->newest = index;
	}
	bpf_loop(HOLDS, recheck, h, 0);
	return 0;
}

/* All inside one XDP run, so every element held is one an RCU grace
 * period protects: the controller may not rewrite it meanwhile. */
SEC("xdp")
int read_routing(struct xdp_md *ctx)
{
	struct holds h = {};

	(void)ctx;
	bpf_loop(steps_per_run, step, &h, 0);
	return XDP_PASS;
}

/*
 * hold_routing: one long run of the same steps, until the test sets
 * hold_stop (or hold_max_ns passes, or a held element changed). No entry
 * replaced after the run began may be written again before it ends, so
 * a writer must block at its first reclaim of pool entries (within two
 * turns of the pool); the test counts the updates that complete
 * meanwhile, and the run sees any entry it holds being rewritten.
 */
const volatile __u64 hold_max_ns = 2000000000ULL;
__u32 hold_stop; /* set by the test */
__u32 hold_state; /* 1 while holding, 2 once done */

struct hold_run {
	struct holds h;
	__u64 start;
};

static long hold_round(__u32 i, void *data)
{
	struct hold_run *c = data;

	(void)i;
	if (READ(hold_stop) || bpf_ktime_get_ns() - c->start > hold_max_ns)
		return 1;
	bpf_loop(64, step, &c->h, 0);
	if (!i)
		WRITE(hold_state, 1);
	return changed ? 1 : 0;
}

SEC("xdp")
int hold_routing(struct xdp_md *ctx)
{
	struct hold_run c = {.start = bpf_ktime_get_ns()};

	(void)ctx;
	bpf_loop(1 << 20, hold_round, &c, 0);
	WRITE(hold_state, 2);
	return XDP_PASS;
}
