/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Swap atomicity. A routing element is 552 bytes: no store writes it at
 * once, so a reader is only safe because a change writes a fresh pool
 * entry and then replaces the app's 8-byte index (user/lib/routing.c).
 *
 * test_every_update_moves_to_a_new_entry: every routing_set leaves the
 * app on another pool entry holding exactly what was written, and the
 * entry it left still holds the element before (a reader that took it
 * keeps reading that one whole). Across two full turns of the pool.
 *
 * test_swap_is_atomic: one thread replaces web4's element in a tight
 * loop with elements whose fields all change at each generation (slot
 * 0 alternates A and B, every other slot and every previous[] too, the
 * generation counts), but only while the BPF reader below is inside a
 * run, so that every change happens under its eyes. Meanwhile
 *  - a BPF reader (routing_reader.bpf.c) takes the element as the data
 *    path does, inside XDP runs, checks each one was written whole, and
 *    holds the last 16 it took, re-reading them at every step: none may
 *    change (an entry is rewritten only a grace period after it was
 *    replaced);
 *  - a thread calling slotlb_routing_get checks each element the same;
 *  - this thread runs new-flow SYNs through the program: every one must
 *    go to a backend of A or of B, never be dropped or go elsewhere.
 * The readers must see many generations go by and the BPF reader's runs
 * many elements replaced while they held others, or the loops did not
 * really interleave.
 *
 * test_replaced_entries_wait_for_readers: one XDP run takes and holds
 * elements for as long as the writer makes progress; the writer must
 * block within two turns of the pool (the grace period), and no held
 * element may change meanwhile.
 *
 * Rewriting the live entry in place (no new entry, no flip) fails the
 * first test at once and the second through torn elements; freeing a
 * replaced entry at once, or reclaiming entries without the grace
 * period, fails the third (and mostly the second) through a held
 * element that changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>
#include <bpf/bpf.h>
#include "lab.h"
#include "routing_reader.h"
#include "routing_reader.skel.h"

/* Bounds of the run: whichever comes first of MAX_SECONDS and
 * MAX_PACKETS, once MIN_SWAPS swaps were made (the pool turned over 4
 * times, so entries were reused after grace periods while readers held
 * others), the SYNs saw 10 changes of deployment and the BPF reader saw
 * MIN_OVERLAP elements replaced while its run was holding another
 * (writer and readers really ran at once); a loaded machine gets up to
 * HARD_SECONDS for that. */
#define MAX_PACKETS 200000
#define MAX_SECONDS 3.0
#define MIN_SWAPS (4 * SLOTLB_ROUTING_POOL)
#define MIN_OVERLAP 1000
#define HARD_SECONDS 20.0
/* Userspace reader threads (the BPF reader is one more). */
#define USER_READERS 1

static struct lab lab;
static int pool_fd = -1, index_fd = -1;

/* Element n: every field a function of n, every field changing with n. */
static void element(struct slotlb_routing *r, uint32_t n)
{
	uint32_t s;

	memset(r, 0, sizeof(*r));
	r->generation = n;
	for (s = 0; s < SLOTLB_MAX_SLOTS; s++) {
		r->deployment[s] = (n + s) & 1 ? DEP_A4 : DEP_B4;
		r->previous[s] = (n + s) & 1 ? DEP_B4 : DEP_A4;
	}
}

/* Does r read as element r->generation, written whole? Slot of the
 * first field that does not, else -1. */
static int torn_at(const struct slotlb_routing *r)
{
	struct slotlb_routing want;
	uint32_t s;

	element(&want, r->generation);
	for (s = 0; s < SLOTLB_MAX_SLOTS; s++)
		if (r->deployment[s] != want.deployment[s] ||
		    r->previous[s] != want.previous[s])
			return (int)s;
	return memcmp(r, &want, sizeof(want)) ? SLOTLB_MAX_SLOTS : -1;
}

static uint32_t app_index(uint32_t app)
{
	uint64_t index = 0;

	if (bpf_map_lookup_elem(index_fd, &app, &index))
		fail_msg("app_routing[%u]: %s", app, strerror(errno));
	return (uint32_t)index;
}

static void pool_read(uint32_t index, struct slotlb_routing *r)
{
	if (bpf_map_lookup_elem(pool_fd, &index, r))
		fail_msg("routing_pool[%u]: %s", index, strerror(errno));
}

static void test_every_update_moves_to_a_new_entry(void **state)
{
	struct slotlb_routing before, want, got;
	uint32_t n, from, to, updates = 2 * SLOTLB_ROUTING_POOL + 64;
	int err;

	(void)state;
	from = app_index(APP_WEB4);
	assert_true(from > 0 && from < SLOTLB_ROUTING_POOL);
	pool_read(from, &before);
	for (n = 1; n <= updates; n++) {
		element(&want, n);
		err = slotlb_routing_set(lab.lb, APP_WEB4, &want);
		if (err)
			fail_msg("update %u: routing_set: %s", n,
				 strerror(-err));
		to = app_index(APP_WEB4);
		if (to == from)
			fail_msg(
				"update %u left web4 on pool entry %u: the live element was rewritten in place",
				n, to);
		if (!to || to >= SLOTLB_ROUTING_POOL)
			fail_msg("update %u: web4 points at %u", n, to);
		pool_read(to, &got);
		if (memcmp(&got, &want, sizeof(got)))
			fail_msg(
				"update %u: entry %u holds generation %u, not what was written (%u)",
				n, to, got.generation, n);
		pool_read(from, &got);
		if (memcmp(&got, &before, sizeof(got)))
			fail_msg(
				"update %u: entry %u, just replaced, changed (generation %u, was %u)",
				n, from, got.generation, before.generation);
		before = want;
		from = to;
	}
	printf("swap: %u updates, each to a new entry, the replaced one intact\n",
	       updates);
}

/* Set while the BPF reader's thread is inside a run: the writer changes
 * the element only then, so every change, and every reuse of a pool
 * entry, happens while a run may hold the entries it replaces. */
static atomic_bool reader_in_run;

struct swapper {
	atomic_bool stop;
	atomic_ulong swaps; /* routing elements replaced */
	int err; /* of the failed replacement */
};

/* Writer and BPF reader on CPUs of their own (the first and second this
 * process may use), so a busy machine cannot serialise them on one CPU,
 * which would hide what the test looks for. */
static void pin_to_cpu(int nth)
{
	cpu_set_t allowed, set;
	int cpu;

	if (sched_getaffinity(0, sizeof(allowed), &allowed) ||
	    CPU_COUNT(&allowed) < 2)
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed) || nth--)
			continue;
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
		return;
	}
}

static void *swap_loop(void *arg)
{
	struct swapper *sw = arg;
	struct slotlb_routing r;

	pin_to_cpu(0);
	while (!atomic_load(&sw->stop)) {
		if (!atomic_load(&reader_in_run)) {
			sched_yield();
			continue;
		}
		/* generation 0 would be a reader's "not yet"; start at 1 */
		element(&r, (uint32_t)atomic_load(&sw->swaps) + 1);
		sw->err = slotlb_routing_set(lab.lb, APP_WEB4, &r);
		if (sw->err)
			break;
		atomic_fetch_add(&sw->swaps, 1);
	}
	return NULL;
}

struct bpf_reader {
	struct routing_reader_bpf *skel;
	atomic_bool stop;
	unsigned long runs;
	int err;
};

static void *bpf_read_loop(void *arg)
{
	struct bpf_reader *br = arg;
	uint8_t frame[64] = {0};
	struct xdp_md ctx = {.data_end = sizeof(frame)};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = sizeof(frame), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);
	int fd = bpf_program__fd(br->skel->progs.read_routing);

	pin_to_cpu(1);
	while (!atomic_load(&br->stop)) {
		atomic_store(&reader_in_run, true);
		br->err = bpf_prog_test_run_opts(fd, &o);
		atomic_store(&reader_in_run, false);
		if (br->err)
			break;
		br->runs++;
	}
	return NULL;
}

struct user_reader {
	atomic_bool *stop;
	unsigned long reads, torn, generation_changes;
	struct slotlb_routing bad;
	int bad_slot;
	int err;
};

static void *user_read_loop(void *arg)
{
	struct user_reader *ur = arg;
	struct slotlb_routing r;
	uint32_t last = 0;
	int at;

	while (!atomic_load(ur->stop)) {
		ur->err = slotlb_routing_get(lab.lb, APP_WEB4, &r);
		if (ur->err)
			break;
		at = torn_at(&r);
		if (at >= 0) {
			if (!ur->torn++) {
				ur->bad = r;
				ur->bad_slot = at;
			}
			continue;
		}
		ur->reads++;
		ur->generation_changes += r.generation != last;
		last = r.generation;
	}
	return NULL;
}

/* The test-only reader, on the lab's pinned app_routing and pool. */
static struct routing_reader_bpf *reader_open(void)
{
	struct routing_reader_bpf *skel;
	int err;

	skel = routing_reader_bpf__open();
	if (!skel)
		fail_msg("routing_reader: open: %s", strerror(errno));
	skel->rodata->app_id = APP_WEB4;
	skel->rodata->dep_a = DEP_A4;
	skel->rodata->dep_b = DEP_B4;
	err = bpf_map__reuse_fd(skel->maps.app_routing, index_fd);
	if (!err)
		err = bpf_map__reuse_fd(skel->maps.routing_pool, pool_fd);
	if (!err)
		err = routing_reader_bpf__load(skel);
	if (err) {
		routing_reader_bpf__destroy(skel);
		fail_msg("routing_reader: load: %s", strerror(-err));
	}
	return skel;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_swap_is_atomic(void **state)
{
	struct slotlb_reason_counter before[SLOTLB_REASON_MAX];
	struct slotlb_reason_counter after[SLOTLB_REASON_MAX];
	unsigned long sent = 0, to_a = 0, to_b = 0, changes = 0, swaps;
	struct swapper sw = {.stop = false};
	struct bpf_reader br = {.stop = false};
	struct user_reader ur[USER_READERS];
	atomic_bool ur_stop = false;
	int last = 0, r, i;
	struct pkt_spec s = {
		.family = AF_INET,
		.proto = IPPROTO_TCP,
		.dst = VIP4,
		.dport = PORT_HTTP,
		.flags = F_SYN,
		.tcp_optlen = 1,
		.smac = lab_client_mac(AF_INET, CLIENT4),
		.dmac = lab_pub_mac,
	};
	static struct xdp_out out;
	uint8_t in[PKT_MAX];
	char src[INET_ADDRSTRLEN];
	pthread_t swapper, bpf_reader, user_readers[USER_READERS];
	double start, elapsed;
	const char *bad = NULL;
	typeof(br.skel->bss) res;

	(void)state;
	br.skel = reader_open();
	res = br.skel->bss;
	memset(ur, 0, sizeof(ur));
	assert_int_equal(slotlb_reasons_read(lab.lb, before), 0);
	assert_int_equal(pthread_create(&swapper, NULL, swap_loop, &sw), 0);
	assert_int_equal(pthread_create(&bpf_reader, NULL, bpf_read_loop, &br),
			 0);
	for (i = 0; i < USER_READERS; i++) {
		ur[i].stop = &ur_stop;
		assert_int_equal(pthread_create(&user_readers[i], NULL,
						user_read_loop, &ur[i]),
				 0);
	}
	start = now_s();
	for (;;) {
		double t = now_s() - start;
		const struct lab_backend *be;
		struct pkt_info pi;
		const char *why;
		size_t len;
		int dep;

		if (t >= HARD_SECONDS ||
		    ((t >= MAX_SECONDS || sent >= MAX_PACKETS) &&
		     atomic_load(&sw.swaps) >= MIN_SWAPS && changes >= 10 &&
		     __atomic_load_n(&res->replaced_in_run, __ATOMIC_RELAXED) >=
			     MIN_OVERLAP))
			break;
		/* A distinct 5-tuple per packet: 60000 ports per source,
		 * 250 sources, far more than a run sends. */
		snprintf(src, sizeof(src), "198.18.128.%u",
			 1 + (unsigned int)(sent / 60000 % 250));
		s.src = src;
		s.sport = (uint16_t)(1024 + sent % 60000);
		s.seed = s.sport;
		len = pkt_build(in, &s);
		if (lab_run_fast(&lab, lab_pub_ifindex, in, len, &out)) {
			bad = "test_run failed";
			break;
		}
		sent++;
		if (out.verdict != XDP_REDIRECT) {
			bad = "not forwarded";
			break;
		}
		if (!pkt_parse(out.data, out.len, &pi)) {
			bad = "output not a TCP frame";
			break;
		}
		be = lab_backend_by_dst(&pi);
		dep = lab_in_deployment(be, DEP_A4)   ? DEP_A4
		      : lab_in_deployment(be, DEP_B4) ? DEP_B4
						      : 0;
		if (!dep) {
			bad = "sent to a backend of neither A nor B";
			break;
		}
		if (!pkt_csum_ok(out.data, out.len, &why)) {
			bad = why;
			break;
		}
		if (dep == DEP_A4)
			to_a++;
		else
			to_b++;
		changes += last && dep != last;
		last = dep;
	}
	elapsed = now_s() - start;
	atomic_store(&sw.stop, true);
	atomic_store(&br.stop, true);
	atomic_store(&ur_stop, true);
	pthread_join(swapper, NULL);
	pthread_join(bpf_reader, NULL);
	for (i = 0; i < USER_READERS; i++)
		pthread_join(user_readers[i], NULL);
	assert_int_equal(slotlb_reasons_read(lab.lb, after), 0);
	swaps = atomic_load(&sw.swaps);

	printf("swap: %lu SYNs in %.2f s during %lu swaps: %lu to A, %lu to B, %lu changes of deployment, %lu elsewhere\n",
	       sent, elapsed, swaps, to_a, to_b, changes, sent - to_a - to_b);
	printf("swap: BPF reader: %llu elements taken in %lu runs (%llu replaced during a run) and re-read %llu times while held, %llu generation changes, %llu torn, %llu changed while held, %llu missing\n",
	       (unsigned long long)res->reads, br.runs,
	       (unsigned long long)res->replaced_in_run,
	       (unsigned long long)res->rereads,
	       (unsigned long long)res->generation_changes,
	       (unsigned long long)res->torn, (unsigned long long)res->changed,
	       (unsigned long long)res->missing);
	for (i = 0; i < USER_READERS; i++)
		printf("swap: routing_get reader %d: %lu elements, %lu generation changes, %lu torn\n",
		       i, ur[i].reads, ur[i].generation_changes, ur[i].torn);

	if (sw.err)
		fail_msg("routing_set failed: %s", strerror(-sw.err));
	if (br.err)
		fail_msg("BPF reader: test_run: %s", strerror(-br.err));
	if (res->torn)
		fail_msg(
			"BPF reader: %llu of %llu elements torn; first: pool entry %u reads generation %u but slot %u holds deployment %u previous %u",
			(unsigned long long)res->torn,
			(unsigned long long)(res->reads + res->torn),
			res->first_torn.index, res->first_torn.generation,
			res->first_torn.slot, res->first_torn.deployment,
			res->first_torn.previous);
	if (res->changed) {
		const struct reader_bad *b = &res->first_changed;
		char what[96] = "written whole";

		if (b->slot < SLOTLB_MAX_SLOTS)
			snprintf(
				what, sizeof(what),
				"torn: slot %u holds deployment %u previous %u",
				b->slot, b->deployment, b->previous);
		fail_msg(
			"BPF reader: %llu held elements changed under it; first: pool entry %u, taken as generation %u, later read as generation %u (%s)",
			(unsigned long long)res->changed, b->index,
			b->held_generation, b->generation, what);
	}
	for (i = 0; i < USER_READERS; i++) {
		if (ur[i].err)
			fail_msg("routing_get: %s", strerror(-ur[i].err));
		if (ur[i].torn)
			fail_msg(
				"routing_get: %lu torn elements of %lu; first: generation %u, slot %d holds deployment %u previous %u",
				ur[i].torn, ur[i].torn + ur[i].reads,
				ur[i].bad.generation, ur[i].bad_slot,
				ur[i].bad_slot < SLOTLB_MAX_SLOTS
					? ur[i].bad.deployment[ur[i].bad_slot]
					: 0,
				ur[i].bad_slot < SLOTLB_MAX_SLOTS
					? ur[i].bad.previous[ur[i].bad_slot]
					: 0);
	}
	if (bad)
		fail_msg("SYN %lu: %s (verdict %s)", sent, bad,
			 lab_verdict_name(out.verdict));
	for (r = 0; r < SLOTLB_REASON_MAX; r++) {
		uint64_t d = after[r].packets - before[r].packets;

		if (r != SLOTLB_REASON_FORWARD && d)
			fail_msg("%llu SYNs counted under %s",
				 (unsigned long long)d, slotlb_reason_name(r));
	}
	if (after[SLOTLB_REASON_FORWARD].packets -
		    before[SLOTLB_REASON_FORWARD].packets !=
	    sent)
		fail_msg("forward counter does not match the SYNs sent");
	/* Proof that writer and readers ran at the same time: the BPF
	 * reader's runs saw elements replaced while they held others, each
	 * reader saw many generations go by, the SYNs many changes of
	 * deployment. */
	if (!to_a || !to_b || changes < 10 || swaps < MIN_SWAPS ||
	    res->replaced_in_run < MIN_OVERLAP ||
	    res->generation_changes < 10 || ur[0].generation_changes < 10)
		fail_msg(
			"the loops did not interleave in %.0f s (A %lu, B %lu, %lu changes, %lu swaps, BPF reader %llu replaced during a run, %llu and routing_get %lu generation changes)",
			elapsed, to_a, to_b, changes, swaps,
			(unsigned long long)res->replaced_in_run,
			(unsigned long long)res->generation_changes,
			ur[0].generation_changes);
	routing_reader_bpf__destroy(br.skel);
}

struct hold_writer {
	atomic_bool stop;
	atomic_ulong swaps;
	int err;
};

static void *hold_write_loop(void *arg)
{
	struct hold_writer *hw = arg;
	struct slotlb_routing r;

	pin_to_cpu(0);
	while (!atomic_load(&hw->stop)) {
		element(&r, (uint32_t)atomic_load(&hw->swaps) + 1);
		hw->err = slotlb_routing_set(lab.lb, APP_WEB4, &r);
		if (hw->err)
			break;
		atomic_fetch_add(&hw->swaps, 1);
	}
	return NULL;
}

struct hold_reader {
	struct routing_reader_bpf *skel;
	int err, verdict;
};

static void *hold_read(void *arg)
{
	struct hold_reader *hr = arg;
	uint8_t frame[64] = {0};
	struct xdp_md ctx = {.data_end = sizeof(frame)};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame,
		    .data_size_in = sizeof(frame), .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx), .repeat = 1);

	pin_to_cpu(1);
	hr->err = bpf_prog_test_run_opts(
		bpf_program__fd(hr->skel->progs.hold_routing), &o);
	hr->verdict = (int)o.retval;
	return NULL;
}

/* One hold: start hold_routing, wait until it holds, let the running
 * writer go on until it makes no progress for 300 ms (blocked, as it
 * must be) or passes bound, end the hold. Updates completed meanwhile. */
static unsigned long hold_once(struct hold_reader *hr, struct hold_writer *hw,
			       unsigned long bound)
{
	typeof(hr->skel->bss) res = hr->skel->bss;
	unsigned long first, last;
	pthread_t reader;
	double t0, still;

	res->hold_stop = 0;
	res->hold_state = 0;
	assert_int_equal(pthread_create(&reader, NULL, hold_read, hr), 0);
	for (t0 = now_s();
	     !__atomic_load_n(&res->hold_state, __ATOMIC_ACQUIRE);)
		if (now_s() - t0 > 5 || hr->err) {
			res->hold_stop = 1;
			pthread_join(reader, NULL);
			fail_msg(
				"hold_routing did not start (err %d, verdict %d)",
				hr->err, hr->verdict);
		}
	first = last = atomic_load(&hw->swaps);
	for (still = now_s();; usleep(10000)) {
		unsigned long n = atomic_load(&hw->swaps);

		if (n != last)
			still = now_s();
		last = n;
		if (n - first > bound || now_s() - still > 0.3 || hw->err ||
		    __atomic_load_n(&res->hold_state, __ATOMIC_ACQUIRE) != 1)
			break;
	}
	last = atomic_load(&hw->swaps) - first;
	__atomic_store_n(&res->hold_stop, 1, __ATOMIC_RELEASE);
	pthread_join(reader, NULL);
	return last;
}

/*
 * While one XDP run holds elements (taking each new one and re-reading
 * the last 16, as in test_swap_is_atomic), the writer must block: an
 * entry it replaced may be written again only after every run that could
 * hold it has ended. Over one run it can complete at most two turns of the pool
 * (the free entries, and those a grace period already under way when the
 * run began frees); one more update means some entry was written twice
 * within the run, i.e. replaced and rewritten while a reader could hold
 * it. A hold that began with the free list empty sees the writer block
 * at once, which tests nothing, so up to forty holds are made until one
 * saw 1000 updates. (The writer empties the free list in a few ms and
 * then waits out a grace period of ~15 ms: most holds that begin at a
 * random moment begin in that wait, so three were too few, and the
 * start of each hold is staggered by a few ms. Twenty ran out once in
 * CI, every hold with 0 updates; starting holds as the writer resumed
 * did no better here than the stagger.)
 */
#define HOLDS 40

static void test_replaced_entries_wait_for_readers(void **state)
{
	const unsigned long bound = 2 * SLOTLB_ROUTING_POOL;
	struct hold_writer hw = {.stop = false};
	struct hold_reader hr = {0};
	unsigned long during = 0;
	typeof(hr.skel->bss) res;
	pthread_t writer;
	int holds;

	(void)state;
	hr.skel = reader_open();
	res = hr.skel->bss;
	assert_int_equal(pthread_create(&writer, NULL, hold_write_loop, &hw),
			 0);
	for (holds = 1; holds <= HOLDS; holds++) {
		/* Let the writer run free first: a grace period that the last
		 * hold delayed ends only once its CPU passes a quiescent state
		 * outside any run, so a hold started at once would find the
		 * writer still blocked. */
		unsigned long mark = atomic_load(&hw.swaps);
		double t0 = now_s();

		while (atomic_load(&hw.swaps) < mark + 100 && !hw.err &&
		       now_s() - t0 < 5)
			usleep(1000);
		usleep(1000 * (holds % 7));
		during = hold_once(&hr, &hw, bound);
		printf("swap: hold %d: %lu updates completed while one XDP run held elements (bound %lu); it took %llu, re-read them %llu times, %llu torn, %llu changed\n",
		       holds, during, bound, (unsigned long long)res->reads,
		       (unsigned long long)res->rereads,
		       (unsigned long long)res->torn,
		       (unsigned long long)res->changed);
		if (hr.err || hr.verdict != XDP_PASS || hw.err || res->torn ||
		    res->changed || during > bound || during >= 1000)
			break;
	}
	atomic_store(&hw.stop, true);
	pthread_join(writer, NULL);

	if (hr.err || hr.verdict != XDP_PASS)
		fail_msg("hold_routing: test_run %d, verdict %d", hr.err,
			 hr.verdict);
	if (hw.err)
		fail_msg("routing_set: %s", strerror(-hw.err));
	if (res->torn || res->changed) {
		const struct reader_bad *b =
			res->changed ? &res->first_changed : &res->first_torn;
		char what[96] = "written whole";

		if (b->slot < SLOTLB_MAX_SLOTS)
			snprintf(
				what, sizeof(what),
				"torn: slot %u holds deployment %u previous %u",
				b->slot, b->deployment, b->previous);
		fail_msg(
			"an element one XDP run held changed under it while the writer went on: pool entry %u, taken as generation %u, read as generation %u (%s)",
			b->index, b->held_generation, b->generation, what);
	}
	if (during > bound)
		fail_msg(
			"%lu routing updates completed while one XDP run held an element; at most %lu can without rewriting an entry a reader may hold (no grace period waited for)",
			during, bound);
	if (during < 1000)
		fail_msg(
			"the writer made only %lu updates during each of %d holds: nothing was tested",
			during, HOLDS);
	routing_reader_bpf__destroy(hr.skel);
}

static int group_setup(void **state)
{
	struct slotlb_opts opts = {.flow_capacity = 4096};
	char path[160];

	(void)state;
	if (lab_open(&lab, "swap", &opts, true))
		return -1;
	snprintf(path, sizeof(path), "%s/routing_pool", lab.pin_root);
	pool_fd = bpf_obj_get(path);
	snprintf(path, sizeof(path), "%s/app_routing", lab.pin_root);
	index_fd = bpf_obj_get(path);
	return pool_fd < 0 || index_fd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	close(pool_fd);
	close(index_fd);
	lab_close(&lab);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_update_moves_to_a_new_entry),
		cmocka_unit_test(test_swap_is_atomic),
		cmocka_unit_test(test_replaced_entries_wait_for_readers),
	};
	int rc = lab_enter_netns();

	if (rc)
		return rc;
	return cmocka_run_group_tests_name("bpf_swap_atomicity", tests,
					   group_setup, group_teardown);
}
